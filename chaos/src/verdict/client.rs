//! Client-side figures over a window: error rate and latency statistics from the load
//! generator's records, with the minimum sample rules.
//!
//! - A record belongs to a window by its **intended** start (as the load report's intervals),
//!   so a stall counts where the affected requests were due.
//! - Success is a complete 2xx/3xx response (k6's `http_req_failed` rule); everything else,
//!   dropped requests included, is an error.
//! - Latency is intended start to the end of the body, over every request that was sent and
//!   ended (failures included at their time to failure, like k6's `http_req_duration`):
//!   leaving timeouts out would hide the very stall a drill looks for.
//! - Percentiles are nearest-rank: `p(N)` is the smallest sample with at least N% of the
//!   samples at or below it, so a threshold is met or missed by a real sample.
//!
//! Minimum samples (below them the check is inconclusive, with the figure still reported):
//! a rate needs [`MIN_RATE_SAMPLES`] records; `p(N)` needs `ceil(100 / (100 - N))` samples
//! (at least [`MIN_RATE_SAMPLES`]), so it is not just the maximum of a handful (`p(99)` needs
//! 100, `p(99.9)` 1000); `avg` and `max` need [`MIN_RATE_SAMPLES`].

use std::collections::BTreeMap;
use std::time::Duration;

use config_yaml::units::Percent;
use serde_json::{Value, json};

use crate::load::{Outcome, RequestRecord, StatusClass};
use crate::scenario::{Interval, StatThreshold, Statistic, Threshold};

use super::figures;
use super::missing::MissingEvidence;
use super::outcome::{Check, Measured};

/// Records a rate (or an `avg`/`max`) needs before it decides anything.
pub(crate) const MIN_RATE_SAMPLES: usize = 10;

/// Counts over a set of records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Records.
    pub(crate) count: usize,
    /// Complete 2xx/3xx responses.
    pub(crate) successes: usize,
    /// Responses with a 5xx status (complete or not).
    pub(crate) status_5xx: usize,
    /// Responses carrying the fallback header.
    pub(crate) fallbacks: usize,
    /// Errors by kind: `refused`, `timeout`, ..., or `http_503` for a complete non-2xx/3xx.
    pub(crate) errors: BTreeMap<String, usize>,
}

// === impl Tally ===

impl Tally {
    /// Counts `records`.
    pub(crate) fn of<'r>(records: impl IntoIterator<Item = &'r RequestRecord>) -> Tally {
        let mut tally = Tally::default();
        for r in records {
            tally.count += 1;
            if r.is_success() {
                tally.successes += 1;
            }
            if r.fallback.is_some() {
                tally.fallbacks += 1;
            }
            if r.outcome
                .status()
                .is_some_and(|s| StatusClass::of(s) == StatusClass::ServerError)
            {
                tally.status_5xx += 1;
            }
            let error = match r.outcome {
                Outcome::Response(status) if !r.is_success() => {
                    Some(format!("http_{}", status.as_u16()))
                }
                Outcome::Response(_) => None,
                Outcome::Failed { kind, .. } => Some(kind.as_str().to_owned()),
            };
            if let Some(error) = error {
                *tally.errors.entry(error).or_default() += 1;
            }
        }
        tally
    }

    /// Errors (records that did not succeed).
    pub(crate) fn failures(&self) -> usize {
        self.count - self.successes
    }

    /// Failures over records; 0 when there are none.
    pub(crate) fn error_rate(&self) -> f64 {
        ratio(self.failures(), self.count)
    }

    /// `{ "requests", "successes", "errors": { kind: n } }`.
    pub(crate) fn evidence(&self) -> Value {
        json!({
            "requests": self.count,
            "successes": self.successes,
            "errors": self.errors,
            "status_5xx": self.status_5xx,
            "fallbacks": self.fallbacks,
        })
    }

    /// `3 of 200 failed (refused 2, http_503 1)`.
    pub(crate) fn describe_errors(&self) -> String {
        let mut text = format!("{} of {} requests failed", self.failures(), self.count);
        if !self.errors.is_empty() {
            let kinds: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            text.push_str(&format!(" ({})", kinds.join(", ")));
        }
        text
    }
}

/// `part / whole`, 0 for an empty whole.
pub(crate) fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Records due in `interval` (by intended start).
pub(crate) fn within(records: &[RequestRecord], interval: Interval) -> Vec<&RequestRecord> {
    records
        .iter()
        .filter(|r| r.intended >= interval.start && r.intended < interval.end)
        .collect()
}

/// The latencies of the records that were sent and ended, sorted.
pub(crate) fn latencies<'r>(records: impl IntoIterator<Item = &'r RequestRecord>) -> Vec<Duration> {
    let mut out: Vec<Duration> = records
        .into_iter()
        .filter(|r| r.sent.is_some())
        .filter_map(|r| r.latency_to_end)
        .collect();
    out.sort_unstable();
    out
}

/// Samples a statistic needs (see the module docs).
pub(crate) fn needed(stat: Statistic) -> usize {
    match stat {
        Statistic::Percentile(n) if n < 100.0 => {
            // The small epsilon keeps `100 / 0.1` (1000.000…02 in floating point) at 1000.
            let raw = (100.0 / (100.0 - n) - 1e-9).ceil();
            let raw = if raw.is_finite() && raw > 0.0 {
                raw as usize
            } else {
                usize::MAX
            };
            raw.max(MIN_RATE_SAMPLES)
        }
        Statistic::Percentile(_) | Statistic::Avg | Statistic::Max => MIN_RATE_SAMPLES,
    }
}

/// The statistic over sorted samples; `None` when empty.
pub(crate) fn statistic(sorted: &[Duration], stat: Statistic) -> Option<Duration> {
    let last = sorted.last()?;
    match stat {
        Statistic::Max => Some(*last),
        Statistic::Avg => {
            let total: u128 = sorted.iter().map(Duration::as_nanos).sum();
            let avg = total / sorted.len() as u128;
            Some(Duration::from_nanos(u64::try_from(avg).unwrap_or(u64::MAX)))
        }
        Statistic::Percentile(n) => {
            // Nearest rank: the ceil(N% of n)-th sample (1-based), at least the first.
            let rank = ((n / 100.0) * sorted.len() as f64 - 1e-9).ceil();
            let rank = if rank < 1.0 { 1 } else { rank as usize };
            sorted.get(rank.min(sorted.len()) - 1).copied()
        }
    }
}

/// Judges a client error rate over `records`.
pub(crate) fn errors_check(
    name: &str,
    window: &str,
    records: &[&RequestRecord],
    threshold: &Threshold<Percent>,
) -> Check {
    let tally = Tally::of(records.iter().copied());
    let rate = tally.error_rate();
    let value = Measured::Ratio(rate);
    let evidence = tally.evidence();
    if tally.count < MIN_RATE_SAMPLES {
        let missing = MissingEvidence::TooFewRecords {
            window: window.to_owned(),
            found: tally.count,
            needed: MIN_RATE_SAMPLES,
        };
        return Check::inconclusive(name, threshold.to_string(), &missing, Some(value), evidence);
    }
    Check::judged(
        name,
        threshold.holds_ratio(rate),
        value,
        threshold.to_string(),
        format!(
            "error rate {}: {}",
            figures::ratio(rate),
            tally.describe_errors()
        ),
        evidence,
    )
}

/// Judges a client latency statistic over `records`.
pub(crate) fn latency_check(
    name: &str,
    window: &str,
    records: &[&RequestRecord],
    threshold: &StatThreshold,
) -> Check {
    let samples = latencies(records.iter().copied());
    let value = statistic(&samples, threshold.stat);
    let need = needed(threshold.stat);
    let evidence = latency_evidence(&samples);
    match value {
        Some(measured) if samples.len() >= need => Check::judged(
            name,
            threshold.holds(measured),
            Measured::Seconds(measured),
            threshold.to_string(),
            format!(
                "{} {} over {} requests",
                threshold.stat,
                figures::duration(measured),
                samples.len()
            ),
            evidence,
        ),
        _ => {
            let missing = MissingEvidence::TooFewRecords {
                window: window.to_owned(),
                found: samples.len(),
                needed: need,
            };
            Check::inconclusive(
                name,
                threshold.to_string(),
                &missing,
                value.map(Measured::Seconds),
                evidence,
            )
        }
    }
}

/// `{ "samples", "p50", "p90", "p99", "max" }` in seconds.
pub(crate) fn latency_evidence(sorted: &[Duration]) -> Value {
    let at = |stat| statistic(sorted, stat).map(figures::secs);
    json!({
        "samples": sorted.len(),
        "p50_s": at(Statistic::Percentile(50.0)),
        "p90_s": at(Statistic::Percentile(90.0)),
        "p99_s": at(Statistic::Percentile(99.0)),
        "max_s": at(Statistic::Max),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(
            statistic(&samples, Statistic::Percentile(99.0)),
            Some(ms(99))
        );
        assert_eq!(
            statistic(&samples, Statistic::Percentile(50.0)),
            Some(ms(50))
        );
        assert_eq!(
            statistic(&samples, Statistic::Percentile(100.0)),
            Some(ms(100))
        );
        assert_eq!(statistic(&samples, Statistic::Percentile(0.5)), Some(ms(1)));
        assert_eq!(statistic(&samples, Statistic::Max), Some(ms(100)));
        assert_eq!(
            statistic(&samples, Statistic::Avg),
            Some(Duration::from_micros(50_500))
        );
        assert_eq!(statistic(&[], Statistic::Max), None);
    }

    #[test]
    fn needed_grows_with_the_percentile() {
        assert_eq!(needed(Statistic::Percentile(99.0)), 100);
        assert_eq!(needed(Statistic::Percentile(99.9)), 1000);
        assert_eq!(needed(Statistic::Percentile(95.0)), 20);
        assert_eq!(needed(Statistic::Percentile(50.0)), MIN_RATE_SAMPLES);
        assert_eq!(needed(Statistic::Percentile(100.0)), MIN_RATE_SAMPLES);
        assert_eq!(needed(Statistic::Avg), MIN_RATE_SAMPLES);
    }
}
