//! Retries: when a failed upstream attempt is sent again, how long to wait first, how many
//! retries a route may add in total, and how a request body is kept so it can be resent.
//!
//! The pieces are pure and separately tested; the request stack drives them:
//!
//! ```text
//! request -> budget.deposit()                       (original requests only)
//!         -> handle = ReplayBody::new(body, limit)  limit = max_replay_body_bytes when
//!                                                   policy.may_repeat(..), else 0
//! attempt n (body: handle.try_clone()) -> classify
//!   -> policy.should_retry(attempt n, outcome, body_replayable: handle.is_replayable())
//!     Retry(reason)  -> count gateway_retries_total{route, reason}
//!                    -> sleep backoff.delay(n, rng) -> attempt n+1
//!     NoRetry(why)   -> this attempt's response or error goes to the client
//! ```
//!
//! The route `timeout` bounds all attempts and waits together; a retry never starts after it.
//!
//! # Decisions
//!
//! - **No retry block, no retries.** A route retries only with a `RetryConfig`; its
//!   `attempts` counts the first attempt and defaults to 2 (Envoy's single retry). At most
//!   10.
//! - **What is retried** ([`RetryOn`]): connect failures (connect timeouts included) and
//!   resets by default, and the statuses 502/503/504; per-try timeouts only on opt-in, since
//!   a slow upstream is usually an overloaded one. Statuses must also be failures to the
//!   shared classifier ([`crate::classify`]), the one definition of failure.
//! - **Idempotency.** Only GET, HEAD, OPTIONS, TRACE, PUT and DELETE are retried unless the
//!   route sets `idempotent_only: false`. `Idempotency-Key` makes POST/PATCH retryable only
//!   where the route sets `honor_idempotency_key` (the gateway cannot know whether the
//!   upstream deduplicates). Connect failures are retried for every method: nothing was sent.
//! - **Order of checks** in [`RetryPolicy::should_retry`]: outcome, attempts, idempotency,
//!   body, budget last, so the budget is charged only for retries that happen.
//! - **Backoff** ([`Backoff`]): Envoy's full-jitter exponential, retry `n` waits uniformly in
//!   `[0, min(max, base × (2ⁿ − 1)))`, 25ms / 250ms by default; the random source is the
//!   caller's, so tests seed it.
//! - **Budget** ([`RetryBudget`]): Finagle's and linkerd's ratio budget (0.2 retries per
//!   request plus 10/s, over 10s) in ten time slots under one short mutex; one per route,
//!   kept across reloads while its config is unchanged. See `budget.rs` for why.
//! - **Bodies** ([`ReplayBody`]): buffered lazily while the first attempt streams, up to
//!   `max_replay_body_bytes` (64 KiB); a body that outgrows it (or announces so) keeps
//!   streaming to the current attempt and makes the request non-retryable. See `replay.rs`.
//! - **Time** is `tokio::time::Instant`, so paused-time tests drive the budget.

mod backoff;
mod budget;
mod config;
mod policy;
mod replay;
#[cfg(test)]
mod tests;

pub use backoff::Backoff;
pub use budget::{BudgetConfig, BudgetSnapshot, RetryBudget};
pub use config::{RetryConfig, RetryConfigError, RetryOn};
pub use policy::{
    Attempt, Decision, IDEMPOTENCY_KEY, NoRetry, RetryPolicy, RetryReason, is_idempotent,
};
pub use replay::{ReplayBody, ReplayError};
