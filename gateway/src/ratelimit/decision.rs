//! The outcome of one rate-limit decision, whatever algorithm or backend made it.

use std::time::Duration;

/// What a policy allows, for `RateLimit-Policy`: `quota` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests the policy allows in one window (token bucket: the burst).
    pub quota: u64,
    /// The window (token bucket: the time to refill an empty bucket).
    pub window: Duration,
}

/// One admission decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// Requests that would still be admitted right now, after this one.
    pub remaining: u64,
    /// Time until the whole quota is available again.
    pub reset: Duration,
    /// When refused: the time until a request would be admitted (zero when allowed).
    pub retry_after: Duration,
}

/// Whole seconds, rounded up: the unit of `Retry-After` (RFC 9110 delay-seconds) and of the
/// RateLimit fields' `t` and `w` parameters.
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Nanoseconds of `d`, saturating (a `u64` of nanoseconds is 584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
