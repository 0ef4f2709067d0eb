//! Guards: abort conditions judged every 100 ms while the load runs, over a sliding window
//! of the requests that finished in it (error rate, or a latency statistic), from `after` on.
//!
//! The samples come from the load generator's live record stream, keyed by the time each
//! request finished (`intended + latency`; a dropped request at its intended time), so a
//! window holds what clients saw in those last seconds. A window with fewer than
//! [`MIN_SAMPLES`] finished requests is not judged: a rate of one or two requests says
//! nothing, and the first failed request would otherwise abort a drill at a low rate.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::Stop;
use super::steady::{self, Gate};
use crate::journal::{BreachRecord, EventKind, GuardRecord, Recorder, TimeBase};
use crate::load::RequestRecord;
use crate::scenario::{Guard, GuardCondition};
use crate::verdict::client;

/// How often guards are judged.
pub(crate) const CHECK_EVERY: Duration = Duration::from_millis(100);
/// Fewest finished requests a window needs to be judged.
pub(crate) const MIN_SAMPLES: usize = 5;

/// One finished request, as guards see it.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// When it finished, from `t0`.
    finished: Duration,
    success: bool,
    /// Intended start to the end (sent requests only).
    latency: Option<Duration>,
}

/// A guard's running tally.
#[derive(Debug)]
pub(crate) struct GuardState {
    guard: Guard,
    checks: u64,
    highest: Option<f64>,
    breach: Option<(Instant, String, u64)>,
}

/// Judges `guards` (and the steady-state `gate`, once) until the record stream ends (the
/// load finished) or one is breached, which stops the run.
pub(crate) async fn watch(
    guards: Vec<Guard>,
    mut gate: Option<Gate>,
    mut records: mpsc::UnboundedReceiver<RequestRecord>,
    t0: Instant,
    stop: Arc<Stop>,
    recorder: Recorder,
) -> (Vec<GuardState>, Option<Gate>) {
    let mut states: Vec<GuardState> = guards
        .into_iter()
        .map(|guard| GuardState {
            guard,
            checks: 0,
            highest: None,
            breach: None,
        })
        .collect();
    if states.is_empty() && gate.is_none() {
        return (states, gate);
    }
    let longest = states
        .iter()
        .map(|s| s.guard.window)
        .max()
        .unwrap_or_default();
    let mut window: VecDeque<Sample> = VecDeque::new();
    let mut tick = tokio::time::interval_at((t0 + CHECK_EVERY).into(), CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut open = true;
    while open {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.token().cancelled() => break,
        }
        loop {
            match records.try_recv() {
                Ok(record) => {
                    if let Some(gate) = &mut gate {
                        gate.observe(&record);
                    }
                    window.push_back(sample(&record));
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(t0);
        let horizon = elapsed.saturating_sub(longest);
        // Samples arrive roughly in finishing order; a late straggler is kept until the
        // front passes, which only delays pruning.
        while window.front().is_some_and(|s| s.finished < horizon) {
            window.pop_front();
        }
        if let Some(text) = gate.as_mut().and_then(|g| g.check(elapsed, now)) {
            recorder.record_at(
                now,
                EventKind::Guard {
                    guard: steady::NAME.to_owned(),
                    measured: text.clone(),
                },
            );
            tracing::warn!(measured = %text, "Not in steady state before the first fault; stopping the drill");
            stop.guard(steady::NAME, text);
            return (states, gate);
        }
        for state in &mut states {
            if let Some((measured, samples)) = state.check(&window, elapsed) {
                let text = state.describe(measured);
                recorder.record_at(
                    now,
                    EventKind::Guard {
                        guard: state.guard.name.clone(),
                        measured: text.clone(),
                    },
                );
                tracing::warn!(guard = %state.guard.name, measured = %text, "Guard breached; stopping the drill");
                state.breach = Some((now, text.clone(), samples));
                stop.guard(&state.guard.name, text);
                return (states, gate);
            }
        }
    }
    (states, gate)
}

fn sample(record: &RequestRecord) -> Sample {
    let finished = record
        .latency_to_end
        .map_or(record.intended, |latency| record.intended + latency);
    Sample {
        finished,
        success: record.is_success(),
        latency: record.sent.and(record.latency_to_end),
    }
}

// === impl GuardState ===

impl GuardState {
    /// Judges the window ending at `elapsed`; `Some((measured, samples))` on a breach.
    fn check(&mut self, samples: &VecDeque<Sample>, elapsed: Duration) -> Option<(f64, u64)> {
        if elapsed < self.guard.after {
            return None;
        }
        let from = elapsed.saturating_sub(self.guard.window);
        let inside: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.finished >= from && s.finished <= elapsed)
            .collect();
        if inside.len() < MIN_SAMPLES {
            return None;
        }
        self.checks += 1;
        let count = inside.len() as u64;
        let (measured, breached) = match &self.guard.condition {
            GuardCondition::Errors(threshold) => {
                let failed = inside.iter().filter(|s| !s.success).count();
                let ratio = failed as f64 / inside.len() as f64;
                (ratio, threshold.holds_ratio(ratio))
            }
            GuardCondition::Latency(threshold) => {
                let mut latencies: Vec<Duration> =
                    inside.iter().filter_map(|s| s.latency).collect();
                if latencies.is_empty() {
                    return None;
                }
                latencies.sort_unstable();
                let value = client::statistic(&latencies, threshold.stat).unwrap_or_default();
                (value.as_secs_f64(), threshold.holds(value))
            }
        };
        self.highest = Some(self.highest.map_or(measured, |h| h.max(measured)));
        breached.then_some((measured, count))
    }

    fn describe(&self, measured: f64) -> String {
        match &self.guard.condition {
            GuardCondition::Errors(_) => format!("error rate {:.1}%", measured * 100.0),
            GuardCondition::Latency(threshold) => format!(
                "{} = {:?}",
                threshold.stat,
                Duration::from_secs_f64(measured.max(0.0))
            ),
        }
    }

    /// The journal's record.
    pub(crate) fn record(&self, base: TimeBase) -> GuardRecord {
        let condition = match &self.guard.condition {
            GuardCondition::Errors(threshold) => format!("errors {threshold}"),
            GuardCondition::Latency(threshold) => format!("latency {threshold}"),
        };
        GuardRecord {
            name: self.guard.name.clone(),
            condition,
            window_ms: millis(self.guard.window),
            after_ms: millis(self.guard.after),
            checks: self.checks,
            worst: self.highest.map(|h| self.describe(h)),
            breach: self
                .breach
                .as_ref()
                .map(|(at, measured, samples)| BreachRecord {
                    at_us: base.offset(*at),
                    measured: measured.clone(),
                    samples: *samples,
                }),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(condition: &str, window_ms: u64, after_ms: u64) -> Guard {
        let condition = match condition.strip_prefix("errors ") {
            Some(t) => GuardCondition::Errors(t.parse().unwrap()),
            None => {
                GuardCondition::Latency(condition.trim_start_matches("latency ").parse().unwrap())
            }
        };
        Guard {
            name: "g".into(),
            condition,
            window: Duration::from_millis(window_ms),
            after: Duration::from_millis(after_ms),
        }
    }

    fn samples(spec: &[(u64, bool, u64)]) -> VecDeque<Sample> {
        spec.iter()
            .map(|&(at, success, latency)| Sample {
                finished: Duration::from_millis(at),
                success,
                latency: Some(Duration::from_millis(latency)),
            })
            .collect()
    }

    fn state(guard: Guard) -> GuardState {
        GuardState {
            guard,
            checks: 0,
            highest: None,
            breach: None,
        }
    }

    #[test]
    fn error_guard_breaches_on_the_window_only() {
        let mut s = state(guard("errors > 50%", 1_000, 0));
        // Old failures fall out of the window; the last second is 2 of 6 failed.
        let window = samples(&[
            (100, false, 1),
            (200, false, 1),
            (300, false, 1),
            (1_500, true, 1),
            (1_600, false, 1),
            (1_700, true, 1),
            (1_800, false, 1),
            (1_900, true, 1),
            (2_000, true, 1),
        ]);
        assert_eq!(s.check(&window, Duration::from_millis(2_000)), None);
        assert_eq!(s.checks, 1);
        let highest = s.highest.unwrap();
        assert!((highest - 2.0 / 6.0).abs() < 1e-9, "{highest}");
        // At 400 ms the window holds 3 failures of 3: too few samples to judge.
        assert_eq!(s.check(&window, Duration::from_millis(400)), None);
        let all_failed = samples(&[
            (100, false, 1),
            (150, false, 1),
            (200, false, 1),
            (250, false, 1),
            (300, false, 1),
        ]);
        assert_eq!(
            s.check(&all_failed, Duration::from_millis(400)),
            Some((1.0, 5))
        );
    }

    #[test]
    fn guard_is_not_judged_before_after() {
        let mut s = state(guard("errors > 10%", 1_000, 2_000));
        let failing = samples(&[
            (100, false, 1),
            (150, false, 1),
            (200, false, 1),
            (250, false, 1),
            (300, false, 1),
        ]);
        assert_eq!(s.check(&failing, Duration::from_millis(500)), None);
        assert_eq!(s.checks, 0);
    }

    #[test]
    fn latency_guard_uses_the_statistic() {
        let mut s = state(guard("latency p(99) > 100ms", 1_000, 0));
        let window = samples(&[
            (100, true, 10),
            (200, true, 20),
            (300, true, 30),
            (400, true, 40),
            (500, true, 150),
        ]);
        let (measured, count) = s.check(&window, Duration::from_millis(600)).unwrap();
        assert_eq!(count, 5);
        assert!((measured - 0.150).abs() < 1e-9);
        let mut avg = state(guard("latency avg > 100ms", 1_000, 0));
        assert_eq!(avg.check(&window, Duration::from_millis(600)), None);
        assert!((avg.highest.unwrap() - 0.050).abs() < 1e-9);
    }
}
