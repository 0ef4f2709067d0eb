//! Per-route rate limiting: which requests share a bucket (`key`), how a bucket counts
//! (`token_bucket`: GCRA; `sliding_window`: the sliding-window counter), where buckets live
//! (`local`: this process; `redis`: shared by replicas, with a local fallback), and what a
//! refused request is told (`headers`).
//!
//! A [`RateLimiter`] is built per route and kept across config reloads while the route's
//! `rate_limit` settings are unchanged (`retained.rs`), so a reload neither resets buckets
//! nor hands out a fresh burst. Where it runs in a route, and what a refusal becomes, is the
//! pipeline's and `errors::respond`'s business.

pub mod client_ip;
pub mod config;
pub mod decision;
pub mod error;
pub mod headers;
pub mod key;
pub mod local;
pub mod redis;
pub mod sliding_window;
pub mod token_bucket;

use tokio::time::Instant;
use tracing::warn;

pub use self::client_ip::{Cidr, CidrError, ClientIpConfig};
pub use self::config::{Algorithm, Backend, OnError, RateLimitConfig, RedisConfig};
pub use self::decision::{Decision, Quota};
pub use self::error::BackendError;
pub use self::headers::RateLimitFields;
pub use self::key::{AuthClaims, KeyPart, KeySource};
use self::local::LocalLimiter;
use self::redis::RedisLimiter;

/// Which backend decided, for the `backend` label of `gateway_rate_limited_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    /// The local limiter (backend `local`).
    Local,
    /// Redis.
    Redis,
    /// The local limiter, because Redis failed (`on_error: fail_open`).
    LocalFallback,
}

impl Decider {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Redis => "redis",
            Self::LocalFallback => "local_fallback",
        }
    }
}

/// A decision and how it was reached.
#[derive(Debug)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// Who made it.
    pub decider: Decider,
    /// The Redis failure that made the local limiter decide instead (`fail_open`).
    pub backend_error: Option<BackendError>,
}

/// One route's limiter: its algorithm's buckets, in this process or in Redis.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    /// The backend for `local`, the fallback for `redis` with `fail_open`.
    local: LocalLimiter,
    redis: Option<RedisBackend>,
}

#[derive(Debug)]
struct RedisBackend {
    /// `None` when the client could not be set up (a URL validation let through).
    limiter: Option<RedisLimiter>,
    on_error: OnError,
}

// === impl RateLimiter ===

impl RateLimiter {
    /// A limiter with fresh buckets. Must run inside a Tokio runtime (Redis connections).
    pub fn new(config: RateLimitConfig) -> Self {
        let local = LocalLimiter::new(config.algorithm, config.max_keys);
        let redis = match (&config.backend, config.algorithm) {
            (Backend::Local, _) => None,
            (Backend::Redis(redis), Algorithm::TokenBucket(gcra)) => Some(RedisBackend {
                limiter: RedisLimiter::new(gcra, redis)
                    .inspect_err(|error| warn!(%error, "Redis rate limiter unusable"))
                    .ok(),
                on_error: redis.on_error,
            }),
            // Validation allows only the token bucket on Redis.
            (Backend::Redis(redis), Algorithm::SlidingWindow(_)) => Some(RedisBackend {
                limiter: None,
                on_error: redis.on_error,
            }),
        };
        Self {
            config,
            local,
            redis,
        }
    }

    /// The settings.
    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// The policy advertised in `RateLimit-Policy`.
    pub fn quota(&self) -> Quota {
        match &self.config.algorithm {
            Algorithm::TokenBucket(g) => g.quota(),
            Algorithm::SlidingWindow(sw) => sw.quota(),
        }
    }

    /// Keys the local limiter tracks.
    pub fn local_keys(&self) -> usize {
        self.local.len()
    }

    /// Decides one request for `key`. Fails only when Redis cannot decide and the route
    /// says `fail_closed`.
    pub async fn check(&self, key: &str) -> Result<Verdict, BackendError> {
        let Some(redis) = &self.redis else {
            return Ok(Verdict {
                decision: self.local.check(key, Instant::now()),
                decider: Decider::Local,
                backend_error: None,
            });
        };
        let result = match &redis.limiter {
            Some(limiter) => limiter.check(key).await,
            None => Err(BackendError::Unusable),
        };
        match (result, redis.on_error) {
            (Ok(decision), _) => Ok(Verdict {
                decision,
                decider: Decider::Redis,
                backend_error: None,
            }),
            (Err(error), OnError::FailOpen) => Ok(Verdict {
                decision: self.local.check(key, Instant::now()),
                decider: Decider::LocalFallback,
                backend_error: Some(error),
            }),
            (Err(error), OnError::FailClosed) => Err(error),
        }
    }
}
