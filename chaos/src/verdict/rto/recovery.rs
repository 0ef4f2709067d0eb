//! The recovery search: steps every 10 ms from the reference, each judging the samples due
//! in the sliding window that starts there (rules in the `verdict` docs).

use std::time::Duration;

use config_yaml::units::Percent;

use crate::scenario::{StatThreshold, Threshold};
use crate::verdict::client::{self, MIN_RATE_SAMPLES};

/// Distance between two evaluation steps: the resolution of the recovery instant.
pub(crate) const STEP: Duration = Duration::from_millis(10);

/// One request as the RTO sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// When it was due (client) or started (span), from the load's start.
    pub(crate) at: Duration,
    /// Whether it succeeded.
    pub(crate) success: bool,
    /// Its latency, when known.
    pub(crate) latency: Option<Duration>,
}

/// What the recovery search is asked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a> {
    /// The reference (fault end or start).
    pub(crate) reference: Duration,
    /// Sliding window length.
    pub(crate) window: Duration,
    /// Hold time.
    pub(crate) hold: Duration,
    /// The objective.
    pub(crate) max: Duration,
    /// Success ratio threshold.
    pub(crate) success: &'a Threshold<Percent>,
    /// Latency threshold, if any.
    pub(crate) latency: Option<&'a StatThreshold>,
    /// The load's end: the last window must end by then.
    pub(crate) end: Duration,
}

/// How one step's window fared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StepState {
    /// Enough samples, thresholds met.
    Good,
    /// Enough samples, a threshold missed.
    Bad,
    /// Too few samples to tell.
    Undecided,
}

/// One evaluation step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Step {
    /// The window's start.
    pub(crate) at: Duration,
    /// Samples in `[at, at + W)`.
    pub(crate) samples: usize,
    /// Their success ratio.
    pub(crate) ratio: f64,
    /// Their latency statistic, if a latency threshold is set.
    pub(crate) latency: Option<Duration>,
    /// The verdict on it.
    pub(crate) state: StepState,
}

/// The outcome of the recovery search.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recovery {
    /// Every step evaluated, from the reference.
    pub(crate) steps: Vec<Step>,
    /// The recovery step `t`, if found.
    pub(crate) recovered_at: Option<Duration>,
}

// === impl Recovery ===

impl Recovery {
    /// Searches recovery over `samples` (any order): steps from the reference while their
    /// window ends by the load's end.
    pub(crate) fn search(samples: &[Sample], p: &Params<'_>) -> Recovery {
        let mut samples = samples.to_vec();
        samples.sort_by_key(|s| s.at);
        let mut steps = Vec::new();
        let (mut lo, mut hi) = (0, 0);
        let mut run_start: Option<Duration> = None;
        let mut recovered_at = None;
        let mut s = p.reference;
        while s + p.window <= p.end {
            let until = s + p.window;
            while samples.get(lo).is_some_and(|x| x.at < s) {
                lo += 1;
            }
            while samples.get(hi).is_some_and(|x| x.at < until) {
                hi += 1;
            }
            let in_window = samples.get(lo..hi.max(lo)).unwrap_or_default();
            let step = judge_step(s, in_window, p);
            steps.push(step);
            if step.state == StepState::Good {
                let start = *run_start.get_or_insert(s);
                if s - start >= p.hold {
                    recovered_at = Some(start);
                    break;
                }
            } else {
                run_start = None;
            }
            s += STEP;
        }
        Recovery {
            steps,
            recovered_at,
        }
    }

    /// `t - ref`, if recovered.
    pub(crate) fn rto(&self, reference: Duration) -> Option<Duration> {
        self.recovered_at.map(|t| t.saturating_sub(reference))
    }

    /// Undecided steps at or before `deadline`.
    pub(crate) fn undecided_until(&self, deadline: Duration) -> usize {
        self.steps
            .iter()
            .filter(|s| s.at <= deadline && s.state == StepState::Undecided)
            .count()
    }

    /// The longest run of good steps: (start, length).
    pub(crate) fn longest_good(&self) -> Option<(Duration, Duration)> {
        let mut best: Option<(Duration, Duration)> = None;
        let mut start = None;
        for step in &self.steps {
            if step.state == StepState::Good {
                let first = *start.get_or_insert(step.at);
                let len = step.at - first;
                if best.is_none_or(|(_, b)| len > b) {
                    best = Some((first, len));
                }
            } else {
                start = None;
            }
        }
        best
    }

    /// The first decided step with the best success ratio.
    pub(crate) fn best_ratio(&self) -> Option<&Step> {
        let mut best: Option<&Step> = None;
        for step in self
            .steps
            .iter()
            .filter(|s| s.state != StepState::Undecided)
        {
            if best.is_none_or(|b| step.ratio > b.ratio) {
                best = Some(step);
            }
        }
        best
    }
}

fn judge_step(at: Duration, window: &[Sample], p: &Params<'_>) -> Step {
    let successes = window.iter().filter(|s| s.success).count();
    let ratio = client::ratio(successes, window.len());
    let mut latency = None;
    let mut enough = window.len() >= MIN_RATE_SAMPLES;
    let mut good = p.success.holds_ratio(ratio);
    if let Some(t) = p.latency {
        let mut lat: Vec<Duration> = window.iter().filter_map(|s| s.latency).collect();
        lat.sort_unstable();
        latency = client::statistic(&lat, t.stat);
        enough &= lat.len() >= client::needed(t.stat);
        good &= latency.is_some_and(|l| t.holds(l));
    }
    let state = match (enough, good) {
        (false, _) => StepState::Undecided,
        (true, true) => StepState::Good,
        (true, false) => StepState::Bad,
    };
    Step {
        at,
        samples: window.len(),
        ratio,
        latency,
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// 100 samples a second from 0 to `end`, failing before `switch`.
    fn switching(switch: Duration, end: Duration) -> Vec<Sample> {
        (0..end.as_millis() as u64 / 10)
            .map(|i| {
                let at = ms(i * 10);
                Sample {
                    at,
                    success: at >= switch,
                    latency: Some(ms(5)),
                }
            })
            .collect()
    }

    fn params<'a>(
        success: &'a Threshold<Percent>,
        reference: Duration,
        end: Duration,
    ) -> Params<'a> {
        Params {
            reference,
            window: ms(1000),
            hold: ms(2000),
            max: ms(3000),
            success,
            latency: None,
            end,
        }
    }

    #[test]
    fn recovery_is_found_at_the_switch_within_one_step() {
        let success: Threshold<Percent> = ">= 100%".parse().unwrap();
        let samples = switching(ms(12_345), ms(30_000));
        let p = params(&success, ms(10_000), ms(30_000));
        let r = Recovery::search(&samples, &p);
        // The first sample at or after the switch is due at 12.35s; windows starting there
        // (on the 10ms grid from 10s) hold only successes.
        assert_eq!(r.recovered_at, Some(ms(12_350)));
        assert_eq!(r.rto(p.reference), Some(ms(2_350)));
    }

    #[test]
    fn a_tolerated_failure_moves_recovery_at_most_its_share_of_the_window_early() {
        let success: Threshold<Percent> = ">= 99%".parse().unwrap();
        let samples = switching(ms(12_340), ms(30_000));
        let p = params(&success, ms(10_000), ms(30_000));
        let r = Recovery::search(&samples, &p);
        // 100 samples per window, one failure allowed: the window from 12.33s holds the last
        // failure and 99 successes.
        assert_eq!(r.recovered_at, Some(ms(12_330)));
    }

    #[test]
    fn no_window_is_judged_past_the_load_end() {
        let success: Threshold<Percent> = ">= 99%".parse().unwrap();
        let samples = switching(ms(0), ms(12_000));
        let p = params(&success, ms(10_000), ms(12_000));
        let r = Recovery::search(&samples, &p);
        // Windows of 1s from 10s..=11s fit; the 2s hold does not.
        assert_eq!(r.recovered_at, None);
        assert_eq!(r.steps.last().map(|s| s.at), Some(ms(11_000)));
    }

    #[test]
    fn sparse_windows_are_undecided() {
        let success: Threshold<Percent> = ">= 99%".parse().unwrap();
        let samples: Vec<Sample> = (0..30)
            .map(|i| Sample {
                at: ms(i * 1000),
                success: true,
                latency: None,
            })
            .collect();
        let p = params(&success, ms(10_000), ms(30_000));
        let r = Recovery::search(&samples, &p);
        assert_eq!(r.recovered_at, None);
        assert!(r.undecided_until(ms(15_000)) > 0);
    }
}
