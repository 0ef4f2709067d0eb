//! A route's retry settings: the validated values with their units, defaults and ranges, and
//! the problems the config validator reports for out-of-range values.

use std::num::NonZeroU32;
use std::time::Duration;

use http::StatusCode;

use super::backoff::Backoff;
use super::budget::BudgetConfig;
use super::policy::RetryReason;
use crate::classify::{CallOutcome, Failure, FailureStatuses};

/// Validated retry settings of one route. A route without a retry block has no `RetryConfig`
/// and never retries.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Total attempts including the first. Default 2 (one retry, Envoy's `num_retries: 1`);
    /// valid range 1..=[`RetryConfig::MAX_ATTEMPTS`]; 1 disables retries.
    pub attempts: NonZeroU32,
    /// Which failed outcomes are retried. Default: connect failures, resets, 502/503/504.
    pub retry_on: RetryOn,
    /// Retry only idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE; RFC 9110
    /// §9.2.2). Default true; `false` is the route's opt-in to retry every method. Connect
    /// failures are retried for every method either way: the request never left the gateway.
    pub idempotent_only: bool,
    /// Also treat a request carrying a non-empty `Idempotency-Key` header as idempotent.
    /// Default false: the header is the client's claim that the upstream deduplicates, which
    /// the gateway cannot check, so the route owner has to vouch for the upstream.
    pub honor_idempotency_key: bool,
    /// Wait before each retry. Default 25ms base, 250ms cap.
    pub backoff: Backoff,
    /// The route's retry budget. Default ratio 0.2, 10 per second, 10s window.
    pub budget: BudgetConfig,
    /// Largest request body, in bytes, kept in memory so it can be sent again. Default 64 KiB
    /// (linkerd's); valid range 0..=[`RetryConfig::MAX_REPLAY_BODY_BYTES`]. A body announced
    /// larger (`Content-Length`) or growing larger while being sent is streamed once and the
    /// request is not retried; 0 allows retrying only requests without a body.
    pub max_replay_body_bytes: usize,
}

/// The failed outcomes a route retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryOn {
    /// The connection could not be made, including a connect timeout. Default true.
    pub connect_failure: bool,
    /// The connection broke before the response headers. Default true.
    pub reset: bool,
    /// No response headers within the per-try timeout. Default false: a slow upstream is
    /// usually an overloaded one, and retrying adds load; opt in per route.
    pub per_try_timeout: bool,
    /// Response statuses that are retried. Default 502, 503, 504. A status only reaches the
    /// policy as a failure when the route's classifier counts it as one (see
    /// [`RetryOn::unclassified_statuses`]).
    pub statuses: FailureStatuses,
}

/// A retry setting outside its valid range. Each names its field relative to the retry block
/// (`budget.ratio`) so the config validator can prefix the route's path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RetryConfigError {
    /// `attempts` is above the maximum.
    #[error("attempts must be at most {max} (got {value})")]
    TooManyAttempts {
        /// The configured attempts.
        value: u32,
        /// The maximum.
        max: u32,
    },
    /// `backoff.base` is zero.
    #[error("backoff base must be greater than 0 (got 0s); use e.g. \"25ms\"")]
    ZeroBackoffBase,
    /// `backoff.max` is below `backoff.base`.
    #[error("backoff max ({max:?}) must be at least the base ({base:?})")]
    BackoffMaxBelowBase {
        /// The base.
        base: Duration,
        /// The cap.
        max: Duration,
    },
    /// `budget.ratio` is not within 0.0..=1.0.
    #[error("budget ratio must be between 0.0 and 1.0 (got {value})")]
    BudgetRatioOutOfRange {
        /// The configured ratio.
        value: f64,
    },
    /// `budget.window` is not within 1s..=60s.
    #[error("budget window must be between 1s and 60s (got {value:?})")]
    BudgetWindowOutOfRange {
        /// The configured window.
        value: Duration,
    },
    /// `max_replay_body_bytes` is above the maximum.
    #[error("max_replay_body_bytes must be at most {max} (got {value})")]
    ReplayBodyTooLarge {
        /// The configured limit.
        value: usize,
        /// The maximum.
        max: usize,
    },
}

// === impl RetryConfig ===

impl RetryConfig {
    /// Most attempts a route may configure: beyond that, retries only add load.
    pub const MAX_ATTEMPTS: u32 = 10;
    /// Default replay buffer size (64 KiB).
    pub const DEFAULT_MAX_REPLAY_BODY_BYTES: usize = 64 * 1024;
    /// Largest replay buffer a route may configure (4 MiB), bounding memory per request.
    pub const MAX_REPLAY_BODY_BYTES: usize = 4 * 1024 * 1024;

    /// Every out-of-range setting, in field order (empty when valid). The config validator
    /// calls this after building the value from the raw YAML.
    pub fn problems(&self) -> Vec<RetryConfigError> {
        let mut problems = Vec::new();
        if self.attempts.get() > Self::MAX_ATTEMPTS {
            problems.push(RetryConfigError::TooManyAttempts {
                value: self.attempts.get(),
                max: Self::MAX_ATTEMPTS,
            });
        }
        if self.backoff.base.is_zero() {
            problems.push(RetryConfigError::ZeroBackoffBase);
        } else if self.backoff.max < self.backoff.base {
            problems.push(RetryConfigError::BackoffMaxBelowBase {
                base: self.backoff.base,
                max: self.backoff.max,
            });
        }
        if !(0.0..=1.0).contains(&self.budget.ratio) {
            problems.push(RetryConfigError::BudgetRatioOutOfRange {
                value: self.budget.ratio,
            });
        }
        if !(BudgetConfig::MIN_WINDOW..=BudgetConfig::MAX_WINDOW).contains(&self.budget.window) {
            problems.push(RetryConfigError::BudgetWindowOutOfRange {
                value: self.budget.window,
            });
        }
        if self.max_replay_body_bytes > Self::MAX_REPLAY_BODY_BYTES {
            problems.push(RetryConfigError::ReplayBodyTooLarge {
                value: self.max_replay_body_bytes,
                max: Self::MAX_REPLAY_BODY_BYTES,
            });
        }
        problems
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            attempts: NonZeroU32::MIN.saturating_add(1),
            retry_on: RetryOn::default(),
            idempotent_only: true,
            honor_idempotency_key: false,
            backoff: Backoff::default(),
            budget: BudgetConfig::default(),
            max_replay_body_bytes: Self::DEFAULT_MAX_REPLAY_BODY_BYTES,
        }
    }
}

// === impl RetryConfigError ===

impl RetryConfigError {
    /// The field at fault, relative to the retry block.
    pub fn field(&self) -> &'static str {
        match self {
            Self::TooManyAttempts { .. } => "attempts",
            Self::ZeroBackoffBase => "backoff.base",
            Self::BackoffMaxBelowBase { .. } => "backoff.max",
            Self::BudgetRatioOutOfRange { .. } => "budget.ratio",
            Self::BudgetWindowOutOfRange { .. } => "budget.window",
            Self::ReplayBodyTooLarge { .. } => "max_replay_body_bytes",
        }
    }
}

// === impl RetryOn ===

impl RetryOn {
    /// Nothing is retried.
    pub fn nothing() -> Self {
        Self {
            connect_failure: false,
            reset: false,
            per_try_timeout: false,
            statuses: FailureStatuses::none(),
        }
    }

    /// These statuses are retried too (codes outside 100..=599 are ignored; the config
    /// validator rejects them first).
    pub fn with_statuses(mut self, codes: &[u16]) -> Self {
        for &code in codes {
            self.statuses.insert_range(code, code);
        }
        self
    }

    /// Why `outcome` may be retried, or `None` when it is a success or a failure this route
    /// does not retry.
    pub fn reason(&self, outcome: &CallOutcome) -> Option<RetryReason> {
        let CallOutcome::Failure(failure) = outcome else {
            return None;
        };
        let (enabled, reason) = match failure {
            Failure::ConnectFailure | Failure::ConnectTimeout => {
                (self.connect_failure, RetryReason::ConnectFailure)
            }
            Failure::Reset => (self.reset, RetryReason::Reset),
            Failure::Timeout => (self.per_try_timeout, RetryReason::PerTryTimeout),
            Failure::Status(status) => (self.statuses.contains(*status), RetryReason::Status),
        };
        enabled.then_some(reason)
    }

    /// The retried statuses that `failures` (the route's classifier) does not count as
    /// failures: they can never be retried, so the config validator should reject them.
    pub fn unclassified_statuses(&self, failures: &FailureStatuses) -> Vec<u16> {
        self.statuses
            .ranges()
            .into_iter()
            .flat_map(|(from, to)| from..=to)
            .filter(|&code| {
                StatusCode::from_u16(code).is_ok_and(|status| !failures.contains(status))
            })
            .collect()
    }
}

impl Default for RetryOn {
    fn default() -> Self {
        Self {
            connect_failure: true,
            reset: true,
            per_try_timeout: false,
            statuses: FailureStatuses::none(),
        }
        .with_statuses(&[502, 503, 504])
    }
}
