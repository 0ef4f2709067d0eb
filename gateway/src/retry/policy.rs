//! The retry decision for one failed attempt: is the outcome retryable, are attempts left, is
//! the method safe to repeat, can the body be sent again, and does the budget allow it.

use std::num::NonZeroU32;
use std::sync::Arc;

use http::{HeaderMap, Method};

use super::backoff::Backoff;
use super::budget::RetryBudget;
use super::config::RetryConfig;
use crate::classify::CallOutcome;

/// The request header a client uses to mark a non-idempotent request as safe to repeat
/// (IETF `draft-ietf-httpapi-idempotency-key-header`).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Why an attempt is retried. A bounded set: the `reason` label of `gateway_retries_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryReason {
    /// The connection could not be made (refused, unreachable, connect timeout).
    ConnectFailure,
    /// The connection broke before the response headers.
    Reset,
    /// No response headers within the per-try timeout.
    PerTryTimeout,
    /// The response status is one the route retries.
    Status,
}

/// Why a failed (or successful) attempt is not retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoRetry {
    /// The attempt succeeded, or failed in a way the route does not retry.
    NotRetryableOutcome,
    /// The method is not idempotent and the route did not opt in.
    NonIdempotent,
    /// This was the last configured attempt.
    AttemptsExhausted,
    /// The route's retry budget is spent.
    BudgetExhausted,
    /// The request body was too large to keep, or failed, so it cannot be sent again.
    BodyNotReplayable,
}

/// The policy's verdict on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Send the request again (after [`RetryPolicy::backoff`]); one retry was taken from
    /// the budget.
    Retry(RetryReason),
    /// Return this attempt's result to the client.
    NoRetry(NoRetry),
}

/// What the policy needs to know about the attempt that just finished.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request headers (for `Idempotency-Key`).
    pub headers: &'a HeaderMap,
    /// Which attempt finished: 1 for the original request.
    pub number: NonZeroU32,
    /// Whether the body can still be sent again (`ReplayBody::is_replayable`; true for a
    /// request without a body).
    pub body_replayable: bool,
}

/// A route's retry policy: its config and its (shared) budget.
///
/// ```
/// use std::num::NonZeroU32;
/// use std::sync::Arc;
/// use gateway::classify::{CallOutcome, Failure};
/// use gateway::retry::{Attempt, Decision, RetryBudget, RetryConfig, RetryPolicy, RetryReason};
///
/// let config = RetryConfig::default();
/// let budget = Arc::new(RetryBudget::new(config.budget));
/// let policy = RetryPolicy::new(config, budget);
/// policy.budget().deposit(); // once per original request
///
/// let headers = http::HeaderMap::new();
/// let attempt = Attempt {
///     method: &http::Method::GET,
///     headers: &headers,
///     number: NonZeroU32::MIN,
///     body_replayable: true,
/// };
/// let reset = CallOutcome::Failure(Failure::Reset);
/// assert_eq!(policy.should_retry(&attempt, &reset), Decision::Retry(RetryReason::Reset));
/// ```
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    config: RetryConfig,
    budget: Arc<RetryBudget>,
}

// === impl RetryReason ===

impl RetryReason {
    /// The bounded `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectFailure => "connect_failure",
            Self::Reset => "reset",
            Self::PerTryTimeout => "per_try_timeout",
            Self::Status => "status",
        }
    }
}

// === impl NoRetry ===

impl NoRetry {
    /// The bounded label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotRetryableOutcome => "not_retryable_outcome",
            Self::NonIdempotent => "non_idempotent",
            Self::AttemptsExhausted => "attempts_exhausted",
            Self::BudgetExhausted => "budget_exhausted",
            Self::BodyNotReplayable => "body_not_replayable",
        }
    }
}

// === impl RetryPolicy ===

impl RetryPolicy {
    /// A policy with `config`, drawing retries from `budget` (built from `config.budget`).
    pub fn new(config: RetryConfig, budget: Arc<RetryBudget>) -> Self {
        Self { config, budget }
    }

    /// The route's retry settings.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// The budget: call [`RetryBudget::deposit`] once per original request.
    pub fn budget(&self) -> &Arc<RetryBudget> {
        &self.budget
    }

    /// The wait before each retry.
    pub fn backoff(&self) -> &Backoff {
        &self.config.backoff
    }

    /// Whether the request may be sent more than once, ignoring the outcome: the check made
    /// before buffering a body for replay.
    pub fn may_repeat(&self, method: &Method, headers: &HeaderMap) -> bool {
        !self.config.idempotent_only
            || is_idempotent(method)
            || (self.config.honor_idempotency_key
                && headers
                    .get(IDEMPOTENCY_KEY)
                    .is_some_and(|key| !key.is_empty()))
    }

    /// The verdict on `attempt`, which ended with `outcome`.
    ///
    /// Checks run cheapest and most fundamental first, and the budget last, so a retry is
    /// withdrawn only when every other check passed and the request will really be sent
    /// again: outcome, attempts left, idempotency (skipped for connect failures, where the
    /// request provably never reached the upstream), body replayable, budget.
    pub fn should_retry(&self, attempt: &Attempt<'_>, outcome: &CallOutcome) -> Decision {
        let Some(reason) = self.config.retry_on.reason(outcome) else {
            return Decision::NoRetry(NoRetry::NotRetryableOutcome);
        };
        if attempt.number >= self.config.attempts {
            return Decision::NoRetry(NoRetry::AttemptsExhausted);
        }
        if reason != RetryReason::ConnectFailure
            && !self.may_repeat(attempt.method, attempt.headers)
        {
            return Decision::NoRetry(NoRetry::NonIdempotent);
        }
        if !attempt.body_replayable {
            return Decision::NoRetry(NoRetry::BodyNotReplayable);
        }
        if !self.budget.try_withdraw() {
            return Decision::NoRetry(NoRetry::BudgetExhausted);
        }
        Decision::Retry(reason)
    }
}

/// RFC 9110 §9.2.2: the methods whose repetition has the same effect as one request.
/// Extension methods are not assumed idempotent.
pub fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(method)
}
