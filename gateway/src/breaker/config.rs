//! Validated circuit-breaker settings of one upstream, with the gateway's defaults.

use std::num::NonZeroU32;
use std::time::Duration;

use super::error::BreakerConfigError;

/// Largest accepted count window, in calls (bounds the ring's memory: 2 bytes a call).
pub const MAX_COUNT_WINDOW: u32 = 100_000;
/// Largest accepted time window, in seconds (one bucket a second).
pub const MAX_TIME_WINDOW: Duration = Duration::from_secs(3600);

/// What the failure and slow-call rates are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last N completed calls (resilience4j `COUNT_BASED`). 1 to [`MAX_COUNT_WINDOW`].
    Count(NonZeroU32),
    /// The calls completed in the last N seconds, kept in N one-second buckets
    /// (resilience4j `TIME_BASED`): the current, partial second plus the N-1 before it.
    /// Whole seconds, 1s to [`MAX_TIME_WINDOW`]; the breaker rounds anything else up.
    Time(Duration),
}

/// Validated circuit-breaker settings of one upstream (resilience4j `CircuitBreakerConfig`
/// semantics; see the [module docs](super) for every rule).
///
/// The defaults are tuned for a gateway: decisions within seconds rather than resilience4j's
/// 100 calls / 60 s. `PartialEq` lets a reload keep a breaker's state when its settings did
/// not change. Run [`BreakerConfig::validate`] when building one from user input; the breaker
/// itself accepts any value without panicking (out-of-range thresholds simply never or always
/// trip, a sub-second time window is rounded up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// What the rates are computed over. Default: the last 20 calls.
    pub window: Window,
    /// Failure rate (0 exclusive to 1 inclusive) at or above which the breaker opens.
    /// Default 0.5.
    pub failure_rate_threshold: f64,
    /// A call that took longer than this (strictly) is slow, whatever its outcome. Must be
    /// positive. Default 5s: a third of the default 15s route timeout, well above a healthy
    /// upstream's latency.
    pub slow_call_duration: Duration,
    /// Slow-call rate (0 exclusive to 1 inclusive) at or above which the breaker opens.
    /// Default 1.0: only when every call in the window is slow (resilience4j's default).
    pub slow_call_rate_threshold: f64,
    /// Calls the window must hold before rates are evaluated in `closed`; clamped to the window
    /// size for a count window (resilience4j). Not used in `half_open`. Default 10.
    pub minimum_calls: NonZeroU32,
    /// How long `open` rejects before probing (`half_open`). Must be positive. Default 5s.
    pub wait_in_open: Duration,
    /// Probes placed in `half_open`; once all have completed their rates decide `closed` or
    /// `open`. Calls beyond them are rejected. Default 3.
    pub permitted_calls_in_half_open: NonZeroU32,
    /// Time box of `half_open`, counted from the first probe placed: probes not all completed
    /// by then send the breaker back to `open` (resilience4j
    /// `maxWaitDurationInHalfOpenState`). `None` = wait for the probes however long they
    /// take. Must be positive when set. Default 30s (twice the default route timeout).
    pub max_wait_in_half_open: Option<Duration>,
    /// `true`: `open` becomes `half_open` when the wait ends, driven by
    /// [`Breaker::run_timers`](super::Breaker::run_timers) or by any call on the breaker after
    /// the deadline. `false`: lazily, when the first call arrives after the wait (resilience4j's
    /// default). Default `true`, so the state seen from outside (admin API, gauge) changes on
    /// time even without traffic.
    pub automatic_transition: bool,
}

/// `NonZeroU32` from a non-zero literal (0 would give 1), usable in `const` blocks.
const fn nonzero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window: Window::Count(const { nonzero(20) }),
            failure_rate_threshold: 0.5,
            slow_call_duration: Duration::from_secs(5),
            slow_call_rate_threshold: 1.0,
            minimum_calls: const { nonzero(10) },
            wait_in_open: Duration::from_secs(5),
            permitted_calls_in_half_open: const { nonzero(3) },
            max_wait_in_half_open: Some(Duration::from_secs(30)),
            automatic_transition: true,
        }
    }
}

impl BreakerConfig {
    /// Checks every range rule and returns all violations (not just the first), each naming
    /// its field so the config loader can prefix the YAML path.
    pub fn validate(&self) -> Result<(), Vec<BreakerConfigError>> {
        let mut errors = Vec::new();
        match self.window {
            Window::Count(n) if n.get() > MAX_COUNT_WINDOW => {
                errors.push(BreakerConfigError::CountWindowTooLarge { calls: n.get() });
            }
            Window::Time(d) if d.is_zero() || d.subsec_nanos() != 0 || d > MAX_TIME_WINDOW => {
                errors.push(BreakerConfigError::TimeWindowNotWholeSeconds { value: d });
            }
            Window::Count(_) | Window::Time(_) => {}
        }
        for (field, value) in [
            ("failure_rate_threshold", self.failure_rate_threshold),
            ("slow_call_rate_threshold", self.slow_call_rate_threshold),
        ] {
            // Written so NaN fails too.
            if !(value > 0.0 && value <= 1.0) {
                errors.push(BreakerConfigError::RateOutOfRange { field, value });
            }
        }
        for (field, value) in [
            ("slow_call_duration", Some(self.slow_call_duration)),
            ("wait_in_open", Some(self.wait_in_open)),
            ("max_wait_in_half_open", self.max_wait_in_half_open),
        ] {
            if value.is_some_and(|d| d.is_zero()) {
                errors.push(BreakerConfigError::ZeroDuration { field });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// `minimum_calls` as the closed state applies it: clamped to a count window's size.
    pub(crate) fn effective_minimum_calls(&self) -> u64 {
        let min = u64::from(self.minimum_calls.get());
        match self.window {
            Window::Count(n) => min.min(u64::from(n.get())),
            Window::Time(_) => min,
        }
    }
}
