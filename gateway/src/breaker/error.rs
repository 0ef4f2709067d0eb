//! Breaker errors: a call not permitted, and settings out of range.

use std::fmt;
use std::time::Duration;

use super::config::{MAX_COUNT_WINDOW, MAX_TIME_WINDOW};

/// A call the breaker did not permit (the gateway answers 503, with `Retry-After` when
/// [`Rejected::retry_after`] is known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker rejected the call: {reason}")]
pub struct Rejected {
    /// Why.
    pub reason: RejectReason,
    /// Time left until the breaker probes again: the rest of the open wait for
    /// [`RejectReason::Open`] (always positive: a call arriving once the wait is over is
    /// admitted as a probe). `None` for a forced-open breaker (it waits for an operator) and a
    /// full half-open one (it waits for its probes).
    pub retry_after: Option<Duration>,
}

/// Why a call was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The breaker tripped and is waiting before probing.
    Open,
    /// An operator forced the breaker open through the admin API.
    ForcedOpen,
    /// The breaker is probing and every permitted probe has been placed.
    HalfOpenFull,
}

impl RejectReason {
    /// Stable label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::ForcedOpen => "forced_open",
            Self::HalfOpenFull => "half_open_full",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Open => "breaker is open",
            Self::ForcedOpen => "breaker is forced open",
            Self::HalfOpenFull => "breaker is half-open and every probe is placed",
        })
    }
}

/// A breaker setting out of range (from [`BreakerConfig::validate`](super::BreakerConfig)).
/// `field` names are the [`BreakerConfig`](super::BreakerConfig) field names.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum BreakerConfigError {
    /// A rate threshold outside (0, 1].
    #[error("{field} must be above 0 and at most 1 (got {value})")]
    RateOutOfRange {
        /// The field.
        field: &'static str,
        /// The value received.
        value: f64,
    },
    /// A duration that must be positive is zero.
    #[error("{field} must be positive (got 0s)")]
    ZeroDuration {
        /// The field.
        field: &'static str,
    },
    /// A time window that is not a whole number of seconds in range.
    #[error(
        "window must be whole seconds from 1s to {}s (got {value:?})",
        MAX_TIME_WINDOW.as_secs()
    )]
    TimeWindowNotWholeSeconds {
        /// The value received.
        value: Duration,
    },
    /// A count window above [`MAX_COUNT_WINDOW`].
    #[error("window must hold at most {MAX_COUNT_WINDOW} calls (got {calls})")]
    CountWindowTooLarge {
        /// The value received.
        calls: u32,
    },
}

impl BreakerConfigError {
    /// The [`BreakerConfig`](super::BreakerConfig) field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::RateOutOfRange { field, .. } | Self::ZeroDuration { field } => field,
            Self::TimeWindowNotWholeSeconds { .. } | Self::CountWindowTooLarge { .. } => "window",
        }
    }
}
