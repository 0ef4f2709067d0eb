//! Time on the drill's timeline: references (`crash.start + 1s`), the windows objectives are
//! judged over, and their resolution to intervals from the start of the load.
//!
//! Every time in a scenario is planned relative to the load's start, so every window resolves
//! before the run; the validator rejects windows that would be empty or reach outside the load.

use std::fmt;
use std::time::Duration;

use config_yaml::units;

/// The start or end of the load or of a fault.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Anchor {
    /// `load.start`: time 0.
    LoadStart,
    /// `load.end`: the load's duration.
    LoadEnd,
    /// `FAULT.start`: when the fault is applied.
    FaultStart(String),
    /// `FAULT.end`: when the fault's window ends.
    FaultEnd(String),
}

/// A signed offset from an anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offset {
    /// `+ DURATION` (also no offset: `Later(0)`).
    Later(Duration),
    /// `- DURATION`.
    Earlier(Duration),
}

/// A point on the timeline: `REF [+|- DURATION]`, e.g. `crash.start + 1s`, `load.end - 2s`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeRef {
    /// What it is relative to.
    pub anchor: Anchor,
    /// How far from the anchor.
    pub offset: Offset,
}

/// The part of the run an objective is judged over.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Window {
    /// From the load's start to the first fault's start (the whole load without faults).
    Before,
    /// From the last fault window's end to the load's end (the whole load without faults).
    After,
    /// The whole load.
    Whole,
    /// The named fault's window.
    During(String),
    /// `window: { from, to }`.
    Range {
        /// Where it starts.
        from: TimeRef,
        /// Where it ends.
        to: TimeRef,
    },
}

/// A resolved window: `[start, end)` from the load's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    /// Start, from the load's start.
    pub start: Duration,
    /// End (exclusive), from the load's start.
    pub end: Duration,
}

/// Why a time reference did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct TimeRefError {
    /// What is wrong.
    pub problem: String,
    /// How to fix it, when obvious.
    pub hint: Option<String>,
}

// === impl TimeRef ===

impl TimeRef {
    /// What a time reference looks like, for messages.
    pub const EXPECTED: &'static str =
        "`FAULT.start`, `FAULT.end`, `load.start` or `load.end`, optionally `+ 1s` or `- 1s`";

    /// A reference without offset.
    pub fn at(anchor: Anchor) -> TimeRef {
        TimeRef {
            anchor,
            offset: Offset::Later(Duration::ZERO),
        }
    }

    /// Parses `NAME.start|NAME.end [+|- DURATION]`.
    pub fn parse(text: &str) -> Result<TimeRef, TimeRefError> {
        let text = text.trim();
        // A `-` inside a fault name (`users-a.end`) is not an offset: offsets follow the
        // `.start`/`.end` suffix. `at` comes from `match_indices`, so it is a char boundary.
        let split = text.match_indices(['+', '-']).map(|(at, _)| at).find(|at| {
            let head = text[..*at].trim_end();
            head.ends_with(".start") || head.ends_with(".end")
        });
        let (reference, offset) = match split {
            Some(at) => (text[..at].trim_end(), Some(&text[at..])),
            None => (text, None),
        };
        let anchor = match reference.rsplit_once('.') {
            Some(("load", "start")) => Anchor::LoadStart,
            Some(("load", "end")) => Anchor::LoadEnd,
            Some((name, "start")) if !name.is_empty() => Anchor::FaultStart(name.to_owned()),
            Some((name, "end")) if !name.is_empty() => Anchor::FaultEnd(name.to_owned()),
            Some((name, _)) if !name.is_empty() => {
                return Err(TimeRefError {
                    problem: format!("invalid time reference `{reference}`"),
                    hint: Some(format!("write `{name}.start` or `{name}.end`")),
                });
            }
            _ => {
                return Err(TimeRefError {
                    problem: format!("invalid time reference `{reference}`"),
                    hint: Some(format!("write `{reference}.start` or `{reference}.end`")),
                });
            }
        };
        let offset = match offset {
            None => Offset::Later(Duration::ZERO),
            Some(offset) => {
                let (later, amount) = match offset.split_at(1) {
                    ("+", amount) => (true, amount.trim()),
                    (_, amount) => (false, amount.trim()),
                };
                let amount = amount
                    .parse::<units::Duration>()
                    .map_err(|e| TimeRefError {
                        problem: format!("invalid offset `{amount}`: {}", e.problem()),
                        hint: e.hint().map(str::to_owned),
                    })?;
                if later {
                    Offset::Later(amount.get())
                } else {
                    Offset::Earlier(amount.get())
                }
            }
        };
        Ok(TimeRef { anchor, offset })
    }

    /// The fault it refers to, if any.
    pub fn fault(&self) -> Option<&str> {
        match &self.anchor {
            Anchor::FaultStart(name) | Anchor::FaultEnd(name) => Some(name),
            Anchor::LoadStart | Anchor::LoadEnd => None,
        }
    }

    /// The time it names, given where its anchor is; `None` before the load's start.
    pub fn resolve(&self, anchor_at: Duration) -> Option<Duration> {
        match self.offset {
            Offset::Later(d) => anchor_at.checked_add(d),
            Offset::Earlier(d) => anchor_at.checked_sub(d),
        }
    }
}

impl fmt::Display for TimeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.anchor {
            Anchor::LoadStart => f.write_str("load.start")?,
            Anchor::LoadEnd => f.write_str("load.end")?,
            Anchor::FaultStart(name) => write!(f, "{name}.start")?,
            Anchor::FaultEnd(name) => write!(f, "{name}.end")?,
        }
        match self.offset {
            Offset::Later(d) if d.is_zero() => Ok(()),
            Offset::Later(d) => write!(f, " + {}", units::Duration::new(d)),
            Offset::Earlier(d) => write!(f, " - {}", units::Duration::new(d)),
        }
    }
}

// === impl Window ===

impl Window {
    /// The faults it refers to.
    pub fn faults(&self) -> Vec<&str> {
        match self {
            Window::During(name) => vec![name.as_str()],
            Window::Range { from, to } => from.fault().into_iter().chain(to.fault()).collect(),
            Window::Before | Window::After | Window::Whole => Vec::new(),
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Before => f.write_str("before"),
            Window::After => f.write_str("after"),
            Window::Whole => f.write_str("whole"),
            Window::During(name) => write!(f, "during {name}"),
            Window::Range { from, to } => write!(f, "{from} .. {to}"),
        }
    }
}

// === impl Interval ===

impl Interval {
    /// How long it lasts.
    pub fn len(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }

    /// Whether it holds no time.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether the two share some time.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (start, end) = (
            units::Duration::new(self.start),
            units::Duration::new(self.end),
        );
        write!(f, "{start}..{end}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ref_parses_anchors_and_offsets() {
        let r = TimeRef::parse("crash.start + 1s").unwrap();
        assert_eq!(r.anchor, Anchor::FaultStart("crash".into()));
        assert_eq!(r.offset, Offset::Later(Duration::from_secs(1)));
        let r = TimeRef::parse("load.end-500ms").unwrap();
        assert_eq!(r.anchor, Anchor::LoadEnd);
        assert_eq!(r.offset, Offset::Earlier(Duration::from_millis(500)));
        let r = TimeRef::parse("users-a.end - 1s").unwrap();
        assert_eq!(r.anchor, Anchor::FaultEnd("users-a".into()));
        let r = TimeRef::parse("users-a-down.end").unwrap();
        assert_eq!(r.anchor, Anchor::FaultEnd("users-a-down".into()));
        assert_eq!(r.to_string(), "users-a-down.end");
        assert_eq!(
            TimeRef::parse("cut.end - 2s").unwrap().to_string(),
            "cut.end - 2s"
        );
    }

    #[test]
    fn time_ref_without_start_or_end_is_rejected_with_a_hint() {
        let e = TimeRef::parse("crash").unwrap_err();
        assert_eq!(e.problem, "invalid time reference `crash`");
        assert_eq!(
            e.hint.as_deref(),
            Some("write `crash.start` or `crash.end`")
        );
        let e = TimeRef::parse("crash.begin").unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("write `crash.start` or `crash.end`")
        );
        let e = TimeRef::parse("crash.start + 1").unwrap_err();
        assert_eq!(e.problem, "invalid offset `1`: missing unit");
    }

    #[test]
    fn time_ref_resolves_offsets_and_refuses_negative_times() {
        let r = TimeRef::parse("x.start - 2s").unwrap();
        assert_eq!(
            r.resolve(Duration::from_secs(5)),
            Some(Duration::from_secs(3))
        );
        assert_eq!(r.resolve(Duration::from_secs(1)), None);
    }

    #[test]
    fn interval_overlap_is_half_open() {
        let a = Interval {
            start: Duration::from_secs(0),
            end: Duration::from_secs(5),
        };
        let b = Interval {
            start: Duration::from_secs(5),
            end: Duration::from_secs(6),
        };
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&Interval {
            start: Duration::from_secs(4),
            end: Duration::from_secs(6)
        }));
    }
}
