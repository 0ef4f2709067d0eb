//! Live counters of a running load, read as [`LoadProgress`] snapshots for a progress bar.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The window of the "current" rates.
const WINDOW: Duration = Duration::from_secs(1);

/// A run's state at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadProgress {
    /// Time since the run started (zero before).
    pub elapsed: Duration,
    /// Requests the run plans.
    pub planned: u64,
    /// Requests sent so far.
    pub sent: u64,
    /// Requests not sent because `max_in_flight` was reached.
    pub dropped: u64,
    /// Sent requests that have finished, with a response or a failure.
    pub completed: u64,
    /// Sent requests not finished yet.
    pub in_flight: u64,
    /// Requests finished or dropped per second over the last second (or since the start when
    /// that is shorter).
    pub finished_per_second: f64,
    /// Share of the requests finished or dropped in the last second that did not succeed
    /// (a dropped request is a failure); 0 when none.
    pub failure_ratio: f64,
}

/// A cheap, cloneable reader of a run's live counters; see [`LoadGenerator::progress`].
///
/// [`LoadGenerator::progress`]: super::LoadGenerator::progress
#[derive(Clone, Debug)]
pub struct ProgressHandle {
    live: Arc<Live>,
}

/// The counters, updated by the scheduler and the request tasks.
#[derive(Debug)]
pub(crate) struct Live {
    planned: u64,
    started: OnceLock<Instant>,
    sent: AtomicU64,
    dropped: AtomicU64,
    completed: AtomicU64,
    in_flight: AtomicU64,
    /// `(finished at, succeeded)` for the last [`WINDOW`], oldest first. Held at most for a
    /// push or a snapshot, never across an await.
    recent: Mutex<VecDeque<(Instant, bool)>>,
}

// === impl ProgressHandle ===

impl ProgressHandle {
    pub(crate) fn new(live: Arc<Live>) -> Self {
        ProgressHandle { live }
    }

    /// The counters now.
    pub fn snapshot(&self) -> LoadProgress {
        self.live.snapshot(Instant::now())
    }
}

// === impl Live ===

impl Live {
    pub(crate) fn new(planned: u64) -> Self {
        Live {
            planned,
            started: OnceLock::new(),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// Marks the run's start (only the first call counts).
    pub(crate) fn start(&self, at: Instant) {
        let _ = self.started.set(at);
    }

    pub(crate) fn on_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn on_dropped(&self, at: Instant) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.push(at, false);
    }

    pub(crate) fn on_finished(&self, at: Instant, succeeded: bool) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.push(at, succeeded);
    }

    fn push(&self, at: Instant, succeeded: bool) {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        recent.push_back((at, succeeded));
        prune(&mut recent, at);
    }

    pub(crate) fn snapshot(&self, now: Instant) -> LoadProgress {
        let elapsed = self.started.get().map_or(Duration::ZERO, |start| {
            now.saturating_duration_since(*start)
        });
        let (finished, failed) = {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            prune(&mut recent, now);
            let failed = recent.iter().filter(|(_, ok)| !ok).count();
            (recent.len(), failed)
        };
        let window = elapsed.min(WINDOW).as_secs_f64();
        LoadProgress {
            elapsed,
            planned: self.planned,
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            finished_per_second: if window > 0.0 {
                finished as f64 / window
            } else {
                0.0
            },
            failure_ratio: if finished > 0 {
                failed as f64 / finished as f64
            } else {
                0.0
            },
        }
    }
}

/// Forgets entries older than [`WINDOW`] before `now`.
fn prune(recent: &mut VecDeque<(Instant, bool)>, now: Instant) {
    while recent
        .front()
        .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= WINDOW)
    {
        recent.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_rates_cover_only_the_last_second() {
        let live = Live::new(100);
        let start = Instant::now();
        live.start(start);
        let ms = |n: u64| start + Duration::from_millis(n);
        // 10 successes in the first second, then 4 finished (1 failed) and 1 dropped.
        for i in 0..10 {
            live.on_sent();
            live.on_finished(ms(i * 100), true);
        }
        for i in 0..4 {
            live.on_sent();
            live.on_finished(ms(1_200 + i * 100), i != 0);
        }
        live.on_dropped(ms(1_600));
        live.on_sent();

        let at = live.snapshot(ms(2_000));
        assert_eq!(at.elapsed, Duration::from_secs(2));
        assert_eq!((at.planned, at.sent, at.dropped), (100, 15, 1));
        assert_eq!((at.completed, at.in_flight), (14, 1));
        assert_eq!(at.finished_per_second, 5.0);
        assert!((at.failure_ratio - 0.4).abs() < 1e-12, "{at:?}");

        let later = live.snapshot(ms(5_000));
        assert_eq!((later.finished_per_second, later.failure_ratio), (0.0, 0.0));
    }

    #[test]
    fn snapshot_early_in_the_run_divides_by_the_time_so_far() {
        let live = Live::new(10);
        let start = Instant::now();
        live.start(start);
        live.on_sent();
        live.on_finished(start + Duration::from_millis(100), true);
        let at = live.snapshot(start + Duration::from_millis(250));
        assert_eq!(at.finished_per_second, 4.0);
        assert_eq!(Live::new(1).snapshot(start).elapsed, Duration::ZERO);
    }
}
