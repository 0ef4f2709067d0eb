//! Windows and time references resolved against what actually happened: the faults' real
//! application and undo times from the evidence, not the planned ones.
//!
//! - `FAULT.start` is when the fault was applied; `FAULT.end` when it was undone, or the
//!   load's end when it lasted to the end (or undoing failed). A fault the run never applied
//!   makes every window and reference naming it unresolvable (inconclusive).
//! - `before` ends at the first fault's start and `after` starts at the last fault's end;
//!   faults the run never applied (e.g. skipped after a failing steady state) count at their
//!   planned times, so `before` and `after` still resolve. Without faults both are the
//!   whole load.
//! - Every window is clipped to `[0, load end)` of the load as it ran; a window left empty is
//!   unresolvable.

use std::time::Duration;

use crate::evidence::Evidence;
use crate::scenario::{Anchor, Interval, Plan, TimeRef, Window};

use super::missing::MissingEvidence;
use super::outcome::VerdictWindow;

/// A window with its name, resolved against the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// How the scenario names it.
    pub(crate) name: String,
    /// Its interval, from the load's start.
    pub(crate) interval: Interval,
}

/// The drill's actual timeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeline<'a> {
    plan: &'a Plan,
    evidence: &'a Evidence,
}

// === impl Resolved ===

impl Resolved {
    /// The window for a verdict.
    pub(crate) fn verdict_window(&self) -> VerdictWindow {
        VerdictWindow::new(self.name.clone(), self.interval)
    }

    /// `during crash [5s..15s)`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("{} [{}]", self.name, self.interval)
    }
}

// === impl Timeline ===

impl<'a> Timeline<'a> {
    /// The timeline of `evidence` for `plan`'s faults.
    pub(crate) fn new(plan: &'a Plan, evidence: &'a Evidence) -> Self {
        Timeline { plan, evidence }
    }

    /// The load's end as it ran.
    pub(crate) fn end(&self) -> Duration {
        self.evidence.load_duration
    }

    /// The fault's actual window.
    pub(crate) fn fault(&self, name: &str) -> Result<Interval, MissingEvidence> {
        let window =
            self.evidence
                .faults
                .get(name)
                .ok_or_else(|| MissingEvidence::FaultNotApplied {
                    fault: name.to_owned(),
                })?;
        let end = window.undone.unwrap_or(self.end()).max(window.applied);
        Ok(Interval {
            start: window.applied,
            end,
        })
    }

    /// The fault's actual window, named `during NAME`.
    pub(crate) fn during(&self, name: &str) -> Result<Resolved, MissingEvidence> {
        self.window(&Window::During(name.to_owned()))
    }

    /// Where a time reference falls.
    pub(crate) fn time(&self, at: &TimeRef) -> Result<Duration, MissingEvidence> {
        let anchor = match &at.anchor {
            Anchor::LoadStart => Duration::ZERO,
            Anchor::LoadEnd => self.end(),
            Anchor::FaultStart(name) => self.fault(name)?.start,
            Anchor::FaultEnd(name) => self.fault(name)?.end,
        };
        at.resolve(anchor)
            .ok_or_else(|| MissingEvidence::BeforeLoadStart {
                reference: at.to_string(),
            })
    }

    /// A window's actual interval, clipped to the load.
    pub(crate) fn window(&self, window: &Window) -> Result<Resolved, MissingEvidence> {
        let end = self.end();
        let (start, stop) = match window {
            Window::Whole => (Duration::ZERO, end),
            Window::Before => (Duration::ZERO, self.starts().min().unwrap_or(end)),
            Window::After => (self.ends().max().unwrap_or(Duration::ZERO), end),
            Window::During(name) => {
                let fault = self.fault(name)?;
                (fault.start, fault.end)
            }
            Window::Range { from, to } => (self.time(from)?, self.time(to)?),
        };
        let interval = Interval {
            start: start.min(end),
            end: stop.min(end),
        };
        let name = window.to_string();
        if interval.is_empty() {
            return Err(MissingEvidence::EmptyWindow { window: name });
        }
        Ok(Resolved { name, interval })
    }

    /// Each planned fault's start: actual when applied, else planned.
    fn starts(&self) -> impl Iterator<Item = Duration> + '_ {
        self.plan.faults.iter().map(|f| match self.fault(&f.name) {
            Ok(actual) => actual.start,
            Err(_) => f.at,
        })
    }

    /// Each planned fault's end: actual when applied, else planned.
    fn ends(&self) -> impl Iterator<Item = Duration> + '_ {
        self.plan.faults.iter().map(|f| match self.fault(&f.name) {
            Ok(actual) => actual.end,
            Err(_) => f.end(self.plan.duration()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::time::SystemTime;

    use super::*;
    use crate::evidence::{FaultWindow, MetricsEvidence};

    fn plan() -> Plan {
        let text = r#"
name: t
description: timeline
system:
  gateway: { url: "http://127.0.0.1:8080", admin: "http://127.0.0.1:9901" }
  upstreams:
    users: { builtin: {}, via: proxy }
load: { rate: 10/s, duration: 30s, requests: [{ get: /x }] }
faults:
  - { name: crash, at: 5s, for: 10s, latency: { target: users, latency: 1ms } }
  - { name: cut, at: 18s, for: 5s, latency: { target: users, latency: 1ms } }
"#;
        crate::scenario::load_str(Path::new("t.yaml"), text).unwrap()
    }

    fn evidence(faults: &[(&str, u64, Option<u64>)]) -> Evidence {
        Evidence {
            load_started_at: SystemTime::UNIX_EPOCH,
            load_duration: Duration::from_secs(30),
            records: Vec::new(),
            faults: faults
                .iter()
                .map(|(n, a, u)| {
                    let window = FaultWindow {
                        applied: Duration::from_millis(*a),
                        undone: u.map(Duration::from_millis),
                    };
                    ((*n).to_owned(), window)
                })
                .collect(),
            traces: None,
            metrics: MetricsEvidence::default(),
            endpoints: BTreeMap::new(),
            gateway_config: None,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn windows_use_actual_fault_times() {
        let plan = plan();
        let ev = evidence(&[
            ("crash", 5_120, Some(15_340)),
            ("cut", 18_050, Some(23_010)),
        ]);
        let t = Timeline::new(&plan, &ev);
        let during = t.during("crash").unwrap();
        assert_eq!(
            during.interval,
            Interval {
                start: ms(5_120),
                end: ms(15_340)
            }
        );
        assert_eq!(during.name, "during crash");
        let before = t.window(&Window::Before).unwrap().interval;
        assert_eq!((before.start, before.end), (ms(0), ms(5_120)));
        let after = t.window(&Window::After).unwrap().interval;
        assert_eq!((after.start, after.end), (ms(23_010), ms(30_000)));
        let at = TimeRef::parse("crash.end + 1s").unwrap();
        assert_eq!(t.time(&at).unwrap(), ms(16_340));
    }

    #[test]
    fn fault_never_applied_makes_its_windows_unresolvable() {
        let plan = plan();
        let ev = evidence(&[("crash", 5_000, Some(15_000))]);
        let t = Timeline::new(&plan, &ev);
        let err = t.during("cut").unwrap_err();
        assert_eq!(err.code(), "fault_not_applied");
        assert_eq!(err.to_string(), "fault `cut` was not applied in this run");
        // `after` falls back to the planned end of the missing fault (23s).
        let after = t.window(&Window::After).unwrap().interval;
        assert_eq!(after.start, ms(23_000));
    }

    #[test]
    fn fault_not_undone_lasts_to_the_load_end_and_windows_are_clipped() {
        let plan = plan();
        let mut ev = evidence(&[("crash", 5_000, None), ("cut", 18_000, Some(23_000))]);
        ev.load_duration = ms(20_000);
        let t = Timeline::new(&plan, &ev);
        assert_eq!(t.fault("crash").unwrap().end, ms(20_000));
        let cut = t.during("cut").unwrap().interval;
        assert_eq!((cut.start, cut.end), (ms(18_000), ms(20_000)));
        // `after` starts at the cut's end (23s), past the load's end: empty.
        assert_eq!(t.window(&Window::After).unwrap_err().code(), "empty_window");
        let early = TimeRef::parse("crash.start - 6s").unwrap();
        assert_eq!(t.time(&early).unwrap_err().code(), "before_load_start");
    }
}
