//! The steady-state gate (Chaos Toolkit's rule): a drill on a system that is not steady
//! proves nothing, so when a scenario has `steady_state.before`, the requests due before the
//! first fault are judged against it just before that fault, and a violation stops the drill
//! with no fault applied, as a guard named `steady_state.before` would (exit 1).
//!
//! The gate sees the requests finished by the time it is judged ([`LEAD`] ahead of the
//! fault, on the guards' 100 ms tick), which is the `before` window of the verdict less the
//! last requests still in flight. Too few of them (fewer than the verdict needs) leave the
//! gate open: the verdict then calls the objective inconclusive.

use std::time::Duration;

use crate::journal::{BreachRecord, GuardRecord, TimeBase};
use crate::load::RequestRecord;
use crate::scenario::{ClientThresholds, Objective, Plan};
use crate::verdict::client;

/// How long before the first fault the gate is judged: one guard tick plus a margin, so the
/// drill is stopped before the timeline applies anything.
pub(crate) const LEAD: Duration = Duration::from_millis(150);

/// The gate of one run.
#[derive(Debug)]
pub(crate) struct Gate {
    thresholds: ClientThresholds,
    /// The first fault's planned start: requests due before it count.
    first_fault: Duration,
    records: Vec<RequestRecord>,
    judged: Option<Judged>,
}

/// What the gate found.
#[derive(Debug, Clone)]
struct Judged {
    at: std::time::Instant,
    measured: String,
    samples: u64,
    met: bool,
}

// === impl Gate ===

impl Gate {
    /// The gate of `plan`: `None` without faults or without `steady_state.before`.
    pub(crate) fn of(plan: &Plan) -> Option<Gate> {
        let first_fault = plan.faults.iter().map(|f| f.at).min()?;
        let thresholds = plan.objectives.iter().find_map(|o| match o {
            Objective::SteadyState(s) => s.before.clone(),
            _ => None,
        })?;
        Some(Gate {
            thresholds,
            first_fault,
            records: Vec::new(),
            judged: None,
        })
    }

    /// Whether the gate still waits to be judged.
    pub(crate) fn pending(&self) -> bool {
        self.judged.is_none()
    }

    /// Keeps `record` if it was due before the first fault.
    pub(crate) fn observe(&mut self, record: &RequestRecord) {
        if self.pending() && record.intended < self.first_fault {
            self.records.push(record.clone());
        }
    }

    /// Judges the gate once `elapsed` reaches [`LEAD`] before the first fault; `Some(text)`
    /// when the system was not steady.
    pub(crate) fn check(&mut self, elapsed: Duration, now: std::time::Instant) -> Option<String> {
        if !self.pending() || elapsed + LEAD < self.first_fault {
            return None;
        }
        let records = std::mem::take(&mut self.records);
        let mut violations = Vec::new();
        let mut measured = Vec::new();
        let mut enough = true;
        if let Some(threshold) = &self.thresholds.errors {
            let tally = client::Tally::of(&records);
            enough &= records.len() >= client::MIN_RATE_SAMPLES;
            let rate = tally.error_rate();
            let text = format!("error rate {} ({})", percent(rate), tally.describe_errors());
            if enough && !threshold.holds_ratio(rate) {
                violations.push(format!("{text}, expected {threshold}"));
            }
            measured.push(text);
        }
        if let Some(threshold) = &self.thresholds.latency {
            let latencies = client::latencies(&records);
            enough &= latencies.len() >= client::needed(threshold.stat);
            if let Some(value) = client::statistic(&latencies, threshold.stat) {
                let text = format!("{} {value:?}", threshold.stat);
                if enough && !threshold.holds(value) {
                    violations.push(format!("{text}, expected {threshold}"));
                }
                measured.push(text);
            }
        }
        let met = violations.is_empty();
        let text = if met {
            measured.join("; ")
        } else {
            violations.join("; ")
        };
        self.judged = Some(Judged {
            at: now,
            measured: if enough {
                text.clone()
            } else {
                format!("{text} (too few requests to judge)")
            },
            samples: records.len() as u64,
            met,
        });
        (!met).then_some(text)
    }

    /// The journal's record, listed with the guards.
    pub(crate) fn record(&self, base: TimeBase) -> GuardRecord {
        let mut condition = Vec::new();
        if let Some(t) = &self.thresholds.errors {
            condition.push(format!("errors {t}"));
        }
        if let Some(t) = &self.thresholds.latency {
            condition.push(format!("latency {t}"));
        }
        GuardRecord {
            name: NAME.to_owned(),
            condition: condition.join("; "),
            window_ms: u64::try_from(self.first_fault.as_millis()).unwrap_or(u64::MAX),
            after_ms: 0,
            checks: u64::from(self.judged.is_some()),
            worst: self.judged.as_ref().map(|j| j.measured.clone()),
            breach: self
                .judged
                .as_ref()
                .filter(|j| !j.met)
                .map(|j| BreachRecord {
                    at_us: base.offset(j.at),
                    measured: j.measured.clone(),
                    samples: j.samples,
                }),
        }
    }
}

/// The gate's name, as a guard's.
pub(crate) const NAME: &str = "steady_state.before";

fn percent(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}
