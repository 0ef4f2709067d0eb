//! One endpoint's outlier state: its failure streak, ejection multiplier and current ejection.
//!
//! The state lives in the endpoint (behind an `Arc`), not in the detector, so it survives
//! config reloads: each config version builds a new [`OutlierDetector`] over the same states.
//!
//! [`OutlierDetector`]: super::OutlierDetector

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::OutlierConfig;

/// Sentinel in [`OutlierState::ejected_until`]: no ejection.
const NOT_EJECTED: u64 = 0;

/// The outlier-detection state of one endpoint. Thread-safe; cheap to read.
///
/// The balancer's question "is this endpoint ejected now?" is one atomic load
/// ([`is_ejected`](Self::is_ejected)); a success is one load (plus a store if a streak was
/// running); a failure is one `fetch_add`. The mutex is taken only to eject, return or
/// snapshot.
#[derive(Debug)]
pub struct OutlierState {
    /// Reference point for `ejected_until`, fixed at construction.
    origin: Instant,
    /// Failed calls since the last success, ejection attempt or return.
    consecutive: AtomicU32,
    /// End of the current ejection in nanoseconds after `origin`, or [`NOT_EJECTED`]. Written
    /// only under `inner`'s lock, together with `inner.ejection`; read without it.
    ejected_until: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Ejection count that multiplies `base_ejection`, before decay since `decay_from`.
    multiplier: u32,
    /// When the endpoint last came back (ejection end, or an early return by an active
    /// check). Each full `decay_interval` after it lowers the multiplier by one.
    decay_from: Option<Instant>,
    /// The current ejection, kept until its return is reported (so an expired ejection stays
    /// here, ended but unreported, until a sweep or the next ejection takes it).
    ejection: Option<Window>,
    /// Ejections over this state's lifetime (admin API and metrics; never decays).
    ejections_total: u64,
}

/// When one ejection started and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub(super) since: Instant,
    pub(super) until: Instant,
}

/// The facts of one ejection the state just made.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ejected {
    pub(super) window: Window,
    pub(super) multiplier: u32,
    /// The previous ejection, if it had ended but its return was not reported yet.
    pub(super) unreported: Option<Window>,
}

/// What the admin API shows for one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutlierSnapshot {
    /// Whether the endpoint is ejected now.
    pub ejected: bool,
    /// When the current ejection ends (`None` when not ejected).
    pub ejected_until: Option<Instant>,
    /// Time left in the current ejection (`None` when not ejected).
    pub remaining: Option<Duration>,
    /// The ejection count after decay: the next ejection lasts `(ejection_count + 1) ×
    /// base_ejection` (capped), the current one `ejection_count × base_ejection`.
    pub ejection_count: u32,
    /// Ejections since the endpoint was first seen; never decays.
    pub ejections_total: u64,
    /// Failed calls since the last success, ejection attempt or return.
    pub consecutive_failures: u32,
}

// === impl OutlierState ===

impl OutlierState {
    /// A fresh state: no failures, never ejected.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            consecutive: AtomicU32::new(0),
            ejected_until: AtomicU64::new(NOT_EJECTED),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Whether the endpoint is ejected at `now`. Lock-free: the hot-path check.
    ///
    /// An ejection ends by time alone: this turns false at its deadline whether or not a
    /// sweep has reported the return yet.
    pub fn is_ejected(&self, now: Instant) -> bool {
        match self.ejected_until.load(Ordering::Acquire) {
            NOT_EJECTED => false,
            nanos => self
                .origin
                .checked_add(Duration::from_nanos(nanos))
                .is_some_and(|until| now < until),
        }
    }

    /// Failed calls since the last success, ejection attempt or return.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive.load(Ordering::Relaxed)
    }

    /// The admin view at `now`, with the multiplier decayed per `config`.
    pub fn snapshot(&self, now: Instant, config: &OutlierConfig) -> OutlierSnapshot {
        let inner = self.lock();
        let until = inner
            .ejection
            .map(|window| window.until)
            .filter(|&until| now < until);
        OutlierSnapshot {
            ejected: until.is_some(),
            ejected_until: until,
            remaining: until.map(|until| until.saturating_duration_since(now)),
            ejection_count: inner.multiplier_at(now, config.decay_interval()),
            ejections_total: inner.ejections_total,
            consecutive_failures: self.consecutive_failures(),
        }
    }

    /// A success ends the failure streak. The load first keeps the common case (no streak)
    /// free of writes to a shared cache line.
    pub(super) fn record_success(&self) {
        if self.consecutive.load(Ordering::Relaxed) != 0 {
            self.consecutive.store(0, Ordering::Relaxed);
        }
    }

    /// Counts one failure; returns the streak including it.
    pub(super) fn record_failure(&self) -> u32 {
        self.consecutive
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1)
    }

    /// Ends the streak and returns its length: whoever takes a streak at or over the
    /// threshold owns the ejection attempt, so concurrent failures attempt it once.
    pub(super) fn take_streak(&self) -> u32 {
        self.consecutive.swap(0, Ordering::Relaxed)
    }

    /// Ejects the endpoint from `now`: the multiplier (after decay) grows by one up to
    /// [`OutlierConfig::max_multiplier`], and the ejection lasts
    /// [`OutlierConfig::ejection_time`] of it. `None` if it is already ejected (checked
    /// under the lock, so two detectors sharing this state during a reload cannot both
    /// eject it).
    pub(super) fn eject(&self, now: Instant, config: &OutlierConfig) -> Option<Ejected> {
        let mut inner = self.lock();
        if inner.ejection.is_some_and(|window| now < window.until) {
            return None;
        }
        let unreported = inner.ejection.take();
        let multiplier = inner
            .multiplier_at(now, config.decay_interval())
            .saturating_add(1)
            .min(config.max_multiplier());
        // `max_ejection` is at most a day (validated), so this only fails on a clock near
        // `Instant`'s end; an ejection of zero length is then the safe failure.
        let until = now
            .checked_add(config.ejection_time(multiplier))
            .unwrap_or(now);
        let window = Window { since: now, until };
        inner.multiplier = multiplier;
        inner.decay_from = Some(until);
        inner.ejection = Some(window);
        inner.ejections_total = inner.ejections_total.saturating_add(1);
        self.ejected_until
            .store(self.encode(until), Ordering::Release);
        self.consecutive.store(0, Ordering::Relaxed);
        Some(Ejected {
            window,
            multiplier,
            unreported,
        })
    }

    /// Takes the ejection if it has ended by `now`, so its return is reported once.
    pub(super) fn take_expired(&self, now: Instant) -> Option<Window> {
        let mut inner = self.lock();
        let window = inner.ejection.filter(|window| window.until <= now)?;
        inner.ejection = None;
        self.ejected_until.store(NOT_EJECTED, Ordering::Release);
        Some(window)
    }

    /// Ends the ejection at `now` (a passing active check): the streak restarts, and decay
    /// counts from now. Returns the ejection and whether it was still running; `None` when
    /// there was none to report.
    pub(super) fn end_early(&self, now: Instant) -> Option<(Window, bool)> {
        let mut inner = self.lock();
        let window = inner.ejection.take()?;
        self.ejected_until.store(NOT_EJECTED, Ordering::Release);
        let running = now < window.until;
        if running {
            inner.decay_from = Some(now);
            self.consecutive.store(0, Ordering::Relaxed);
        }
        Some((window, running))
    }

    /// End of the ejection whose return is not reported yet, if any.
    pub(super) fn unreported_until(&self) -> Option<Instant> {
        self.lock().ejection.map(|window| window.until)
    }

    /// `until` as nanoseconds after `origin`, never the [`NOT_EJECTED`] sentinel.
    fn encode(&self, until: Instant) -> u64 {
        let nanos = until.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX).max(1)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state stays consistent across a panic (every write is a plain store), so a
        // poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for OutlierState {
    fn default() -> Self {
        Self::new()
    }
}

// === impl Inner ===

impl Inner {
    /// The multiplier at `now`: one less per full `decay` since the endpoint came back.
    /// During an ejection `decay_from` is its (future) end, so nothing decays.
    fn multiplier_at(&self, now: Instant, decay: Duration) -> u32 {
        let Some(from) = self.decay_from.filter(|&from| now > from) else {
            return self.multiplier;
        };
        let periods = now.saturating_duration_since(from).as_nanos() / decay.as_nanos().max(1);
        self.multiplier
            .saturating_sub(u32::try_from(periods).unwrap_or(u32::MAX))
    }
}
