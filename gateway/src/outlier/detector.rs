//! The upstream-wide half of outlier detection: turns per-endpoint failure streaks into
//! ejections under the `max_ejection_percent` cap, and reports returns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::state::Window;
use super::{OutlierConfig, OutlierSnapshot, OutlierState};
use crate::classify::{CallOutcome, Failure};

/// Outlier detection for one upstream in one config version.
///
/// Built per config version over the endpoints' long-lived [`OutlierState`]s, in the same
/// order as the upstream's endpoints: every `index` argument is a position in that list.
/// An unknown index is ignored (never ejected, no events).
#[derive(Debug)]
pub struct OutlierDetector {
    config: OutlierConfig,
    states: Vec<Arc<OutlierState>>,
    /// `config.max_ejected(states.len())`, fixed for this endpoint set.
    max_ejected: usize,
    /// Held from the cap check to the ejection, so concurrent ejections cannot both pass a
    /// cap that has room for one.
    ejecting: Mutex<()>,
    /// Ejections the cap refused.
    overflows: AtomicU64,
    /// Woken on every ejection, so [`returns`](Self::returns) re-plans its wait.
    ejected: Notify,
}

/// An endpoint was ejected: emit `endpoint.ejected` (span + metric) for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ejection {
    /// Index of the endpoint in the upstream's endpoint list.
    pub endpoint: usize,
    /// When the ejection started.
    pub at: Instant,
    /// When it ends (unless a passing active check ends it earlier).
    pub until: Instant,
    /// `until - at`: `count × base_ejection`, capped at `max_ejection`.
    pub duration: Duration,
    /// The ejection count (multiplier) this ejection used, after decay: 1 for a first
    /// ejection or one after long good behavior.
    pub count: u32,
    /// Why the endpoint was ejected.
    pub reason: EjectionReason,
    /// The endpoint's previous ejection, if it ended but no sweep had reported its return
    /// yet: emit this `endpoint.returned` before the ejection, so the events stay paired.
    pub returned: Option<Uneject>,
}

/// Why an endpoint was ejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EjectionReason {
    /// `failures` consecutive failed calls (the configured threshold), the last one `last`.
    ConsecutiveFailures {
        /// The threshold that was reached.
        failures: u32,
        /// The failure that completed the streak.
        last: Failure,
    },
}

/// An ejected endpoint is back in the balancer's set: emit `endpoint.returned` for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uneject {
    /// Index of the endpoint in the upstream's endpoint list.
    pub endpoint: usize,
    /// When the ejection started.
    pub ejected_at: Instant,
    /// When the endpoint came back: the ejection's end for [`ReturnReason::Expired`] (which
    /// may be before the sweep that reports it), the check's time for
    /// [`ReturnReason::ActiveCheckPassed`].
    pub returned_at: Instant,
    /// Why it came back.
    pub reason: ReturnReason,
}

/// Why an ejected endpoint came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnReason {
    /// The ejection time passed.
    Expired,
    /// An active health check passed before the ejection time did.
    ActiveCheckPassed,
}

// === impl OutlierDetector ===

impl OutlierDetector {
    /// A detector over `states`, one per endpoint in the upstream's order.
    pub fn new(config: OutlierConfig, states: Vec<Arc<OutlierState>>) -> Self {
        let max_ejected = config.max_ejected(states.len());
        Self {
            config,
            states,
            max_ejected,
            ejecting: Mutex::new(()),
            overflows: AtomicU64::new(0),
            ejected: Notify::new(),
        }
    }

    /// The settings this detector applies.
    pub fn config(&self) -> &OutlierConfig {
        &self.config
    }

    /// How many endpoints may be ejected at once: `max(1, floor(percent × endpoints))`.
    pub fn max_ejected(&self) -> usize {
        self.max_ejected
    }

    /// Ejections refused by the cap since this detector was built (for a metric).
    pub fn overflows_total(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }

    /// Records the outcome of one call to endpoint `index`; returns the ejection it caused.
    ///
    /// A success ends the failure streak. A failure extends it; the failure that brings it to
    /// `consecutive_failures` requests an ejection and restarts the streak whether or not the
    /// cap allows it (as Envoy does), so a refused endpoint needs a fresh full streak to try
    /// again. Outcomes of calls to an endpoint that is ejected (panic-mode traffic, or calls
    /// that started before the ejection) are ignored: the verdict is in, and late failures
    /// must not pre-load the streak for after the return.
    pub fn on_outcome(&self, index: usize, outcome: CallOutcome, now: Instant) -> Option<Ejection> {
        let state = self.states.get(index)?;
        if state.is_ejected(now) {
            return None;
        }
        let last = match outcome {
            CallOutcome::Success => {
                state.record_success();
                return None;
            }
            CallOutcome::Failure(failure) => failure,
        };
        let threshold = self.config.consecutive_failures().get();
        if state.record_failure() < threshold {
            return None;
        }
        let guard = self.ejecting.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread's failure may have taken this streak between our count and the lock.
        if state.take_streak() < threshold {
            return None;
        }
        if self.ejected_count(now) >= self.max_ejected {
            self.overflows.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let ejected = state.eject(now, &self.config)?;
        drop(guard);
        self.ejected.notify_one();
        Some(Ejection {
            endpoint: index,
            at: ejected.window.since,
            until: ejected.window.until,
            duration: ejected
                .window
                .until
                .saturating_duration_since(ejected.window.since),
            count: ejected.multiplier,
            reason: EjectionReason::ConsecutiveFailures {
                failures: threshold,
                last,
            },
            returned: ejected.unreported.map(|window| expired(index, window)),
        })
    }

    /// Whether endpoint `index` is ejected at `now`. One atomic load: safe on the hot path.
    pub fn is_ejected(&self, index: usize, now: Instant) -> bool {
        self.states
            .get(index)
            .is_some_and(|state| state.is_ejected(now))
    }

    /// How many endpoints are ejected at `now`.
    pub fn ejected_count(&self, now: Instant) -> usize {
        self.states.iter().filter(|s| s.is_ejected(now)).count()
    }

    /// Reports every ejection that has ended by `now` and was not reported yet, once each.
    ///
    /// Expiry itself is lazy ([`is_ejected`](Self::is_ejected) turns false at the deadline
    /// without this call); this only produces the `endpoint.returned` events. Call it from a
    /// background task, or use [`returns`](Self::returns), which waits for the next one.
    pub fn uneject_expired(&self, now: Instant) -> Vec<Uneject> {
        self.states
            .iter()
            .enumerate()
            .filter_map(|(index, state)| {
                state.take_expired(now).map(|window| expired(index, window))
            })
            .collect()
    }

    /// The earliest end among ejections not yet reported (possibly already past).
    pub fn next_return(&self) -> Option<Instant> {
        self.states
            .iter()
            .filter_map(|state| state.unreported_until())
            .min()
    }

    /// Waits until at least one ejection ends, then reports all that have ended.
    ///
    /// Sleeps until [`next_return`](Self::next_return), re-planning on every new ejection.
    /// Cancel-safe: dropping the future loses no event (nothing is taken before it returns).
    pub async fn returns(&self) -> Vec<Uneject> {
        loop {
            // Register interest first, so an ejection between the check and the wait wakes us.
            let ejected = self.ejected.notified();
            tokio::pin!(ejected);
            ejected.as_mut().enable();
            let returned = self.uneject_expired(Instant::now());
            if !returned.is_empty() {
                return returned;
            }
            match self.next_return() {
                Some(at) => tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = &mut ejected => {}
                },
                None => ejected.await,
            }
        }
    }

    /// An active health check of endpoint `index` passed at `now`.
    ///
    /// With `uneject_on_active_check` (the default), a running ejection ends now, its
    /// failure streak restarts and the multiplier starts decaying from now (the multiplier
    /// itself is kept, so an endpoint that passes probes but fails real traffic still gets
    /// longer ejections). A passing check on an endpoint that is not ejected changes
    /// nothing: real traffic is better evidence than a probe, and resetting the streak on
    /// every probe would hide a slow failure rate at low traffic.
    ///
    /// Also reports an ejection that already ended unreported (as [`ReturnReason::Expired`]).
    pub fn on_active_check_passed(&self, index: usize, now: Instant) -> Option<Uneject> {
        if !self.config.uneject_on_active_check() {
            return None;
        }
        let (window, running) = self.states.get(index)?.end_early(now)?;
        Some(if running {
            Uneject {
                endpoint: index,
                ejected_at: window.since,
                returned_at: now,
                reason: ReturnReason::ActiveCheckPassed,
            }
        } else {
            expired(index, window)
        })
    }

    /// The admin view of every endpoint at `now`, in endpoint order.
    pub fn snapshot(&self, now: Instant) -> Vec<OutlierSnapshot> {
        self.states
            .iter()
            .map(|state| state.snapshot(now, &self.config))
            .collect()
    }
}

fn expired(endpoint: usize, window: Window) -> Uneject {
    Uneject {
        endpoint,
        ejected_at: window.since,
        returned_at: window.until,
        reason: ReturnReason::Expired,
    }
}

// === impl EjectionReason ===

impl EjectionReason {
    /// The bounded label for the `reason` attribute of `endpoint.ejected`.
    pub fn label(self) -> &'static str {
        match self {
            Self::ConsecutiveFailures { .. } => "consecutive_failures",
        }
    }
}

// === impl ReturnReason ===

impl ReturnReason {
    /// The bounded label for the `reason` attribute of `endpoint.returned`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::ActiveCheckPassed => "active_check_passed",
        }
    }
}
