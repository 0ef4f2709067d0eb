//! What the outside sees of a breaker: its state, a snapshot for the admin API, and the
//! transitions reported to the gateway's observer.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

/// A breaker's state. `as_str` and `gauge_value` are stable: dashboards and the chaos runner
/// depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls flow; outcomes fill the sliding window.
    Closed,
    /// Tripped: calls are rejected until the wait ends.
    Open,
    /// Probing: a fixed number of calls are let through to decide closed or open.
    HalfOpen,
    /// Set by an operator: every call is rejected, nothing transitions.
    ForcedOpen,
    /// Set by an operator: every call is permitted, nothing is recorded or transitions.
    Disabled,
    /// Set by an operator: every call is permitted and recorded (rates visible), nothing
    /// transitions. A "measure before enforcing" rollout mode (resilience4j `METRICS_ONLY`).
    MetricsOnly,
}

impl State {
    /// Stable label: `closed`, `open`, `half_open`, `forced_open`, `disabled`,
    /// `metrics_only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
            Self::ForcedOpen => "forced_open",
            Self::Disabled => "disabled",
            Self::MetricsOnly => "metrics_only",
        }
    }

    /// Value of the `gateway_breaker_state` gauge: closed 0, open 1, half_open 2,
    /// forced_open 3, disabled 4, metrics_only 5. The automatic states come first so
    /// "0/1/2" dashboards keep working; the manual ones follow.
    pub fn gauge_value(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
            Self::ForcedOpen => 3,
            Self::Disabled => 4,
            Self::MetricsOnly => 5,
        }
    }

    /// Whether the state was set by an operator (it only changes through the admin API).
    pub fn is_manual(self) -> bool {
        matches!(self, Self::ForcedOpen | Self::Disabled | Self::MetricsOnly)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transition happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The failure rate reached its threshold (closed with enough calls, or the half-open
    /// probes). Checked before the slow-call rate when both are reached.
    FailureRate,
    /// The slow-call rate reached its threshold.
    SlowCallRate,
    /// The open wait ended (`open` -> `half_open`).
    WaitElapsed,
    /// Every probe completed and neither rate reached its threshold (`half_open` -> `closed`).
    ProbesPassed,
    /// The probes did not all complete within `max_wait_in_half_open` (`half_open` -> `open`).
    HalfOpenTimeout,
    /// An operator called `force_open`, `disable`, `metrics_only` or `reset`.
    Manual,
}

impl Cause {
    /// Stable label for spans and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailureRate => "failure_rate",
            Self::SlowCallRate => "slow_call_rate",
            Self::WaitElapsed => "wait_elapsed",
            Self::ProbesPassed => "probes_passed",
            Self::HalfOpenTimeout => "half_open_timeout",
            Self::Manual => "manual",
        }
    }
}

/// One state change, with the figures that caused it.
///
/// The rates and `calls` are those of the state being left: the closed window for
/// `closed -> open`, the probes for `half_open -> *`, the window that tripped the breaker for
/// `open -> half_open`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// State left.
    pub from: State,
    /// State entered.
    pub to: State,
    /// Why.
    pub cause: Cause,
    /// Failure rate, 0.0 to 1.0.
    pub failure_rate: f64,
    /// Slow-call rate, 0.0 to 1.0.
    pub slow_call_rate: f64,
    /// Calls the rates are computed over.
    pub calls: u64,
    /// When it happened. A timer transition carries its deadline, even when applied later.
    pub at: Instant,
    /// Increases with every transition of this breaker (starting at 1). Observers run outside
    /// the breaker's lock, so two threads may deliver transitions out of order; a gauge should
    /// ignore one older than the last it applied.
    pub seq: u64,
}

/// Receives every transition of one breaker (the gateway's adds the upstream name and turns it
/// into a `breaker.transition` span, the state gauge and the transitions counter).
///
/// Called after the breaker's lock is released, on the task whose call caused the transition
/// (a request, the admin API, or the [`run_timers`](super::Breaker::run_timers) driver). It may
/// call the breaker (e.g. `snapshot`). Keep it quick: it runs on the request path.
pub trait BreakerObserver: Send + Sync {
    /// One transition.
    fn on_transition(&self, transition: &Transition);
}

impl<F> BreakerObserver for F
where
    F: Fn(&Transition) + Send + Sync,
{
    fn on_transition(&self, transition: &Transition) {
        self(transition);
    }
}

/// A breaker's figures for the admin API.
///
/// Rates and counts are those of the current state: the sliding window in `closed` and
/// `metrics_only`, the window that tripped the breaker in `open`, the probes in `half_open`,
/// zero in `forced_open` and `disabled`. Rates are computed whatever the number of calls
/// (resilience4j reports -1 below `minimum_calls`): read them together with `calls`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Current state.
    pub state: State,
    /// Failure rate, 0.0 to 1.0.
    pub failure_rate: f64,
    /// Slow-call rate, 0.0 to 1.0.
    pub slow_call_rate: f64,
    /// Completed calls the rates are computed over.
    pub calls: u64,
    /// Failed calls among them.
    pub failed: u64,
    /// Slow calls among them.
    pub slow: u64,
    /// Calls rejected since the breaker was created or last reset.
    pub not_permitted: u64,
    /// In `open`: time left before probing (zero once a lazy breaker's wait is over and no
    /// call has arrived yet). `None` in other states.
    pub until_half_open: Option<Duration>,
    /// In `half_open`: probe progress. `None` in other states.
    pub half_open: Option<HalfOpenProgress>,
}

/// Where the half-open probing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HalfOpenProgress {
    /// Probes permitted in total (`permitted_calls_in_half_open`).
    pub permitted: u32,
    /// Probes placed and not yet completed.
    pub in_flight: u32,
    /// Probes completed.
    pub completed: u32,
    /// Time left before the half-open time box sends the breaker back to `open`; `None` when
    /// there is no time box or no probe was placed yet.
    pub time_left: Option<Duration>,
}
