//! The journal's clock: events collected with monotonic instants while the run goes on,
//! turned into signed offsets from `t = 0` once it is known.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Event, EventKind};

/// Collects timeline events with monotonic instants while the run goes on. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder {
    events: Arc<Mutex<Vec<(Instant, EventKind)>>>,
}

/// Turns instants into offsets from `t = 0`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeBase {
    pub(crate) t0: Instant,
}

// === impl Recorder ===

impl Recorder {
    /// Records `kind` as happening now.
    pub(crate) fn record(&self, kind: EventKind) {
        self.record_at(Instant::now(), kind);
    }

    /// Records `kind` as happening at `at`.
    pub(crate) fn record_at(&self, at: Instant, kind: EventKind) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((at, kind));
    }

    /// A lifecycle step, now.
    pub(crate) fn step(&self, step: impl Into<String>, detail: impl Into<String>) {
        self.record(EventKind::Step {
            step: step.into(),
            detail: detail.into(),
        });
    }

    /// Every event so far, sorted by time, as offsets from `base`.
    pub(crate) fn timeline(&self, base: TimeBase) -> Vec<Event> {
        let mut events: Vec<Event> = self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(at, kind)| Event {
                at_us: base.offset(*at),
                kind: kind.clone(),
            })
            .collect();
        // Stable: events recorded at the same microsecond keep their order.
        events.sort_by_key(|e| e.at_us);
        events
    }
}

// === impl TimeBase ===

impl TimeBase {
    /// Signed microseconds from `t = 0` to `at`.
    pub(crate) fn offset(self, at: Instant) -> i64 {
        match at.checked_duration_since(self.t0) {
            Some(after) => micros(after),
            None => -micros(self.t0.saturating_duration_since(at)),
        }
    }
}

/// Microseconds of `d`, saturating.
pub(crate) fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_base_offsets_are_signed_microseconds() {
        let t0 = Instant::now();
        let base = TimeBase { t0 };
        assert_eq!(base.offset(t0), 0);
        assert_eq!(base.offset(t0 + Duration::from_millis(5)), 5_000);
        if let Some(before) = t0.checked_sub(Duration::from_micros(1_500)) {
            assert_eq!(base.offset(before), -1_500);
        }
    }

    #[test]
    fn recorder_timeline_is_sorted_and_tagged() {
        let recorder = Recorder::default();
        let t0 = Instant::now();
        recorder.record_at(
            t0 + Duration::from_millis(2),
            EventKind::Stop {
                reason: "guard".into(),
            },
        );
        recorder.record_at(
            t0,
            EventKind::Step {
                step: "gateway ready".into(),
                detail: "127.0.0.1:1".into(),
            },
        );
        let timeline = recorder.timeline(TimeBase { t0 });
        assert_eq!(timeline.len(), 2);
        assert_eq!(timeline[0].at_us, 0);
        let json = serde_json::to_value(&timeline).unwrap();
        assert_eq!(json[0]["event"], "step");
        assert_eq!(json[0]["step"], "gateway ready");
        assert_eq!(json[1]["event"], "stop");
        assert_eq!(json[1]["at_us"], 2_000);
    }
}
