//! The rate-limit response fields: `Retry-After` on refusals, and `RateLimit-Policy` and
//! `RateLimit` as defined by draft-ietf-httpapi-ratelimit-headers-11 (structured-field
//! lists of string items with parameters).
//!
//! ```text
//! RateLimit-Policy: "users";q=20;w=1      quota q per window w seconds
//! RateLimit: "users";r=0;t=1              r remaining, t seconds until the quota is whole again
//! ```
//!
//! The policy's name is the route's name (route names are `A-Z a-z 0-9 - _ .`, so they need no
//! escaping in a structured-field string). For a token bucket, `q` is the burst and `w` the
//! time to refill an empty bucket, rounded up to whole seconds (at least 1).

use http::{HeaderMap, HeaderName, HeaderValue, header};
use observability::names;

use super::decision::{Decision, Quota, ceil_secs};

/// The fields for one decision, ready to add to a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitFields {
    policy: HeaderValue,
    state: HeaderValue,
    retry_after: Option<HeaderValue>,
}

// === impl RateLimitFields ===

impl RateLimitFields {
    /// The fields for `decision` under policy `name` with `quota`. `Retry-After` (whole
    /// seconds, rounded up, at least 1) only when the request was refused.
    pub fn new(name: &str, quota: Quota, decision: &Decision) -> Self {
        let window = ceil_secs(quota.window).max(1);
        let policy = format!("\"{name}\";q={};w={window}", quota.quota);
        let state = format!(
            "\"{name}\";r={};t={}",
            decision.remaining,
            ceil_secs(decision.reset)
        );
        let value = |text: String| {
            HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("\"-\""))
        };
        Self {
            policy: value(policy),
            state: value(state),
            retry_after: (!decision.allowed)
                .then(|| HeaderValue::from(ceil_secs(decision.retry_after).max(1))),
        }
    }

    /// Adds the fields to `headers`, replacing any the upstream sent.
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(
            HeaderName::from_static(names::header::RATE_LIMIT_POLICY),
            self.policy.clone(),
        );
        headers.insert(
            HeaderName::from_static(names::header::RATE_LIMIT),
            self.state.clone(),
        );
        if let Some(retry_after) = &self.retry_after {
            headers.insert(header::RETRY_AFTER, retry_after.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn refusal_carries_policy_state_and_rounded_up_retry_after() {
        let quota = Quota {
            quota: 100,
            window: Duration::from_millis(200),
        };
        let refused = Decision {
            allowed: false,
            remaining: 0,
            reset: Duration::from_millis(1_200),
            retry_after: Duration::from_millis(10),
        };
        let mut headers = HeaderMap::new();
        RateLimitFields::new("users", quota, &refused).apply(&mut headers);
        assert_eq!(headers["ratelimit-policy"], "\"users\";q=100;w=1");
        assert_eq!(headers["ratelimit"], "\"users\";r=0;t=2");
        assert_eq!(headers[header::RETRY_AFTER], "1");
    }

    #[test]
    fn admission_carries_no_retry_after() {
        let quota = Quota {
            quota: 5,
            window: Duration::from_secs(10),
        };
        let allowed = Decision {
            allowed: true,
            remaining: 4,
            reset: Duration::from_secs(2),
            retry_after: Duration::ZERO,
        };
        let mut headers = HeaderMap::new();
        RateLimitFields::new("r", quota, &allowed).apply(&mut headers);
        assert_eq!(headers["ratelimit"], "\"r\";r=4;t=2");
        assert!(headers.get(header::RETRY_AFTER).is_none());
    }
}
