//! What judging an objective yields: a [`Verdict`] made of [`Check`]s, each pass, fail or
//! inconclusive, with the measured value, the threshold and the evidence behind it.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::scenario::Interval;

use super::figures;
use super::missing::MissingEvidence;

/// How an objective (or one of its checks) came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The evidence shows the objective held.
    Pass,
    /// The evidence shows the objective did not hold.
    Fail,
    /// The harness could not judge: evidence was missing or too thin. Never a pass.
    Inconclusive,
}

/// A measured value with its kind kept, for machines; [`Verdict::measured`] is the text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measured {
    /// A ratio, 0.0 to 1.0 (error rate, success ratio, fallback share).
    Ratio(f64),
    /// A duration, serialized as seconds.
    Seconds(#[serde(serialize_with = "seconds")] Duration),
    /// A count (spans, attempts).
    Count(u64),
    /// A plain number (a metric value).
    Number(f64),
}

/// The time an objective was judged over, from the load's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictWindow {
    /// How the scenario names it (`during crash`, `crash.end .. load.end`).
    pub name: String,
    /// Start, from the load's start (seconds in JSON).
    #[serde(serialize_with = "seconds")]
    pub start: Duration,
    /// End (exclusive), from the load's start (seconds in JSON).
    #[serde(serialize_with = "seconds")]
    pub end: Duration,
}

/// One judged part of an objective (`errors`, `opens_within`, `client`, `spans`, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Which part, e.g. `before.errors` or `spans`.
    pub name: String,
    /// Its outcome.
    pub status: Status,
    /// The measured value as text, e.g. `0.44%`, `1.3s`; `-` when nothing was measured.
    pub measured: String,
    /// The measured value, typed.
    pub value: Option<Measured>,
    /// What it had to be, e.g. `< 1%`.
    pub threshold: String,
    /// One sentence explaining the outcome (for a failure: what was seen).
    pub message: String,
    /// Figures, samples and ids behind it.
    pub evidence: Value,
}

/// The judgement of one objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Position in the scenario's `expect` list (reports name it `expect[i]`).
    pub index: usize,
    /// The objective's key, e.g. `rto`.
    pub kind: &'static str,
    /// A short name, e.g. `rto from crash.end`.
    pub label: String,
    /// Fail if any check failed, else inconclusive if any was, else pass.
    pub status: Status,
    /// The measured values as text (check names prefixed when there are several).
    pub measured: String,
    /// The primary measured value, typed (the first check's).
    pub value: Option<Measured>,
    /// The thresholds as text.
    pub threshold: String,
    /// The window judged, when it could be resolved.
    pub window: Option<VerdictWindow>,
    /// Why it came out this way, in one or a few sentences.
    pub message: String,
    /// `{ "checks": [...], ... }`: every check with its evidence, plus objective-wide
    /// figures.
    pub evidence: Value,
    /// The checks, in the order they were made.
    #[serde(skip)]
    pub checks: Vec<Check>,
}

// === impl Status ===

impl Status {
    /// `pass`, `fail` or `inconclusive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Inconclusive => "inconclusive",
        }
    }

    /// The combined status of several checks: a definite failure wins over missing
    /// evidence, which wins over a pass. No checks at all is inconclusive.
    pub fn combine(statuses: impl IntoIterator<Item = Status>) -> Status {
        let mut any = false;
        let mut inconclusive = false;
        for status in statuses {
            any = true;
            match status {
                Status::Fail => return Status::Fail,
                Status::Inconclusive => inconclusive = true,
                Status::Pass => {}
            }
        }
        if inconclusive || !any {
            Status::Inconclusive
        } else {
            Status::Pass
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === impl Measured ===

impl fmt::Display for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measured::Ratio(r) => f.write_str(&figures::ratio(*r)),
            Measured::Seconds(d) => f.write_str(&figures::duration(*d)),
            Measured::Count(n) => write!(f, "{n}"),
            Measured::Number(x) => f.write_str(&figures::number(*x)),
        }
    }
}

// === impl VerdictWindow ===

impl VerdictWindow {
    /// A named interval.
    pub(crate) fn new(name: impl Into<String>, interval: Interval) -> Self {
        VerdictWindow {
            name: name.into(),
            start: interval.start,
            end: interval.end,
        }
    }
}

// === impl Check ===

impl Check {
    /// A check whose value was measured and compared.
    pub(crate) fn judged(
        name: impl Into<String>,
        holds: bool,
        value: Measured,
        threshold: impl Into<String>,
        message: impl Into<String>,
        evidence: Value,
    ) -> Check {
        Check {
            name: name.into(),
            status: if holds { Status::Pass } else { Status::Fail },
            measured: value.to_string(),
            value: Some(value),
            threshold: threshold.into(),
            message: message.into(),
            evidence,
        }
    }

    /// A check the harness could not judge; `value` is whatever was measured anyway.
    pub(crate) fn inconclusive(
        name: impl Into<String>,
        threshold: impl Into<String>,
        missing: &MissingEvidence,
        value: Option<Measured>,
        evidence: Value,
    ) -> Check {
        Check {
            name: name.into(),
            status: Status::Inconclusive,
            measured: value.map_or_else(|| "-".to_owned(), |v| v.to_string()),
            value,
            threshold: threshold.into(),
            message: missing.to_string(),
            evidence: merge(evidence, json!({ "missing": missing.code() })),
        }
    }

    /// Replaces the status (a definite failure found without a comparable value).
    pub(crate) fn with_status(mut self, status: Status) -> Check {
        self.status = status;
        self
    }

    /// Replaces the measured text.
    pub(crate) fn with_measured(mut self, measured: impl Into<String>) -> Check {
        self.measured = measured.into();
        self
    }
}

// === impl Verdict ===

impl Verdict {
    /// The verdict of an objective from its checks.
    pub(crate) fn from_checks(
        index: usize,
        kind: &'static str,
        label: String,
        window: Option<VerdictWindow>,
        checks: Vec<Check>,
        extra: Value,
    ) -> Verdict {
        let status = Status::combine(checks.iter().map(|c| c.status));
        let several = checks.len() > 1;
        let join = |part: fn(&Check) -> &str| {
            let parts: Vec<String> = checks
                .iter()
                .map(|c| {
                    if several {
                        format!("{} {}", c.name, part(c))
                    } else {
                        part(c).to_owned()
                    }
                })
                .collect();
            parts.join("; ")
        };
        let measured = join(|c| &c.measured);
        let threshold = join(|c| &c.threshold);
        // Explain what decided the status: the failing checks, else the inconclusive
        // ones, else every check.
        let deciding: Vec<&Check> = match status {
            Status::Pass => checks.iter().collect(),
            other => checks.iter().filter(|c| c.status == other).collect(),
        };
        let message = deciding
            .iter()
            .map(|c| {
                if several {
                    format!("{}: {}", c.name, c.message)
                } else {
                    c.message.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        let value = checks.first().and_then(|c| c.value);
        let mut evidence = json!({ "checks": checks });
        evidence = merge(evidence, extra);
        Verdict {
            index,
            kind,
            label,
            status,
            measured,
            value,
            threshold,
            window,
            message,
            evidence,
            checks,
        }
    }

    /// An objective that could not be judged at all (e.g. its window did not resolve).
    pub(crate) fn unjudged(
        index: usize,
        kind: &'static str,
        label: String,
        threshold: String,
        missing: &MissingEvidence,
    ) -> Verdict {
        let check = Check::inconclusive(kind, threshold, missing, None, Value::Null);
        Verdict::from_checks(index, kind, label, None, vec![check], Value::Null)
    }

    /// `expect[i]`.
    pub fn reference(&self) -> String {
        format!("expect[{}]", self.index)
    }
}

/// `a` with `b`'s keys added (both objects), else `a` (or `b` when `a` is null).
pub(crate) fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut a), Value::Object(b)) => {
            a.extend(b);
            Value::Object(a)
        }
        (Value::Null, b) => b,
        (a, _) => a,
    }
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_combine_prefers_fail_then_inconclusive() {
        use Status::*;
        assert_eq!(Status::combine([Pass, Pass]), Pass);
        assert_eq!(Status::combine([Pass, Inconclusive]), Inconclusive);
        assert_eq!(Status::combine([Inconclusive, Fail, Pass]), Fail);
        assert_eq!(Status::combine([]), Inconclusive);
    }

    #[test]
    fn measured_serializes_with_its_unit() {
        let v = serde_json::to_value(Measured::Seconds(Duration::from_millis(1500))).unwrap();
        assert_eq!(v, json!({ "seconds": 1.5 }));
        let v = serde_json::to_value(Measured::Ratio(0.25)).unwrap();
        assert_eq!(v, json!({ "ratio": 0.25 }));
        assert_eq!(Measured::Ratio(0.0044).to_string(), "0.44%");
        assert_eq!(Measured::Count(3).to_string(), "3");
    }

    #[test]
    fn verdict_from_checks_names_the_deciding_check() {
        let pass = Check::judged("a", true, Measured::Count(0), "== 0", "none", Value::Null);
        let fail = Check::judged("b", false, Measured::Count(2), "== 0", "two", Value::Null);
        let v = Verdict::from_checks(3, "trace", "x".into(), None, vec![pass, fail], Value::Null);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.measured, "a 0; b 2");
        assert_eq!(v.threshold, "a == 0; b == 0");
        assert_eq!(v.message, "b: two");
        assert_eq!(v.reference(), "expect[3]");
        assert_eq!(v.evidence["checks"][1]["status"], "fail");
    }
}
