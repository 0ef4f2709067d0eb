//! Sliding windows of call outcomes: the last N calls, or the last N seconds in one-second
//! buckets. Both keep a running total and subtract what they evict, so reading the totals is
//! O(1) (a time window first drops the buckets that aged out: amortised O(1)).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::config::Window;

/// Outcome counts over some set of calls (a window, a bucket, one call, the half-open probes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Completed calls.
    pub(crate) calls: u64,
    /// Calls classified as failures.
    pub(crate) failed: u64,
    /// Calls slower than `slow_call_duration` (failed or not).
    pub(crate) slow: u64,
}

impl Counts {
    /// One completed call.
    pub(crate) fn one(failed: bool, slow: bool) -> Self {
        Self {
            calls: 1,
            failed: u64::from(failed),
            slow: u64::from(slow),
        }
    }

    /// Failed share of the calls, 0.0 to 1.0 (0.0 for no calls).
    pub(crate) fn failure_rate(&self) -> f64 {
        ratio(self.failed, self.calls)
    }

    /// Slow share of the calls, 0.0 to 1.0 (0.0 for no calls).
    pub(crate) fn slow_call_rate(&self) -> f64 {
        ratio(self.slow, self.calls)
    }

    pub(crate) fn add(&mut self, other: Self) {
        self.calls += other.calls;
        self.failed += other.failed;
        self.slow += other.slow;
    }

    fn subtract(&mut self, other: Self) {
        self.calls = self.calls.saturating_sub(other.calls);
        self.failed = self.failed.saturating_sub(other.failed);
        self.slow = self.slow.saturating_sub(other.slow);
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The window of the `closed` (and `metrics_only`) state.
#[derive(Debug)]
pub(crate) enum SlidingWindow {
    Count(CountWindow),
    Time(TimeWindow),
}

impl SlidingWindow {
    /// An empty window; `origin` anchors the one-second bucket boundaries of a time window.
    pub(crate) fn new(window: Window, origin: Instant) -> Self {
        match window {
            Window::Count(n) => Self::Count(CountWindow::new(n.get())),
            Window::Time(d) => Self::Time(TimeWindow::new(d, origin)),
        }
    }

    /// Adds one completed call at `now`.
    pub(crate) fn record(&mut self, now: Instant, call: Counts) {
        match self {
            Self::Count(w) => w.record(call),
            Self::Time(w) => w.record(now, call),
        }
    }

    /// The totals over the window as of `now`.
    pub(crate) fn totals(&mut self, now: Instant) -> Counts {
        match self {
            Self::Count(w) => w.total,
            Self::Time(w) => {
                w.evict(w.second(now));
                w.total
            }
        }
    }

    /// Forgets every call.
    pub(crate) fn clear(&mut self) {
        match self {
            Self::Count(w) => {
                w.calls.clear();
                w.total = Counts::default();
            }
            Self::Time(w) => {
                w.buckets.clear();
                w.total = Counts::default();
            }
        }
    }
}

/// Ring of the last `size` outcomes (two flags each).
#[derive(Debug)]
pub(crate) struct CountWindow {
    size: usize,
    calls: VecDeque<(bool, bool)>,
    total: Counts,
}

impl CountWindow {
    fn new(size: u32) -> Self {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        Self {
            size,
            // Grows on demand past this, so an oversized (unvalidated) window costs nothing up
            // front.
            calls: VecDeque::with_capacity(size.min(1024)),
            total: Counts::default(),
        }
    }

    fn record(&mut self, call: Counts) {
        if self.calls.len() >= self.size
            && let Some((failed, slow)) = self.calls.pop_front()
        {
            self.total.subtract(Counts::one(failed, slow));
        }
        self.calls.push_back((call.failed > 0, call.slow > 0));
        self.total.add(call);
    }
}

/// One-second buckets of the last `seconds` seconds. Only seconds that saw a call have a
/// bucket, so the deque holds at most `seconds` entries.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    seconds: u64,
    origin: Instant,
    /// (second since `origin`, counts), oldest first.
    buckets: VecDeque<(u64, Counts)>,
    total: Counts,
}

impl TimeWindow {
    fn new(window: Duration, origin: Instant) -> Self {
        // Sub-second remainders round up; an unvalidated zero window still keeps one bucket.
        let seconds = window.as_secs() + u64::from(window.subsec_nanos() > 0);
        Self {
            seconds: seconds.max(1),
            origin,
            buckets: VecDeque::new(),
            total: Counts::default(),
        }
    }

    fn second(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_secs()
    }

    /// Drops the buckets older than the window ending in second `current`: the window covers
    /// `current - seconds + 1 ..= current`.
    fn evict(&mut self, current: u64) {
        while let Some(&(second, counts)) = self.buckets.front() {
            if second + self.seconds > current {
                break;
            }
            self.buckets.pop_front();
            self.total.subtract(counts);
        }
    }

    fn record(&mut self, now: Instant, call: Counts) {
        let current = self.second(now);
        self.evict(current);
        match self.buckets.back_mut() {
            // `>=`: the clock is monotonic under the breaker's lock, so `>` cannot happen; a
            // late call would still land in the newest bucket rather than reorder the deque.
            Some((second, counts)) if *second >= current => counts.add(call),
            _ => self.buckets.push_back((current, call)),
        }
        self.total.add(call);
    }
}
