//! A route's validated `rate_limit:` settings.

use std::time::Duration;

use super::key::KeyPart;
use super::sliding_window::SlidingWindow;
use super::token_bucket::Gcra;

/// Default bound on the keys the local backend tracks per route.
pub const DEFAULT_MAX_KEYS: usize = 100_000;
/// Default number of Redis connections (each multiplexed) per route.
pub const DEFAULT_POOL_SIZE: usize = 2;
/// Default wait for one Redis decision.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);

/// One route's rate limit.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    /// How requests are counted.
    pub algorithm: Algorithm,
    /// Which requests share a bucket. Default `[client_ip]`.
    pub key: Vec<KeyPart>,
    /// Where the counts live.
    pub backend: Backend,
    /// Most keys the local limiter (the backend, or Redis's fallback) keeps; idle keys are
    /// evicted first. Default 100000.
    pub max_keys: usize,
}

/// The counting algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Token bucket (computed as GCRA): bursts up to `burst`, then `rate`.
    TokenBucket(Gcra),
    /// Sliding-window counter: `limit` per `window`, approximately.
    SlidingWindow(SlidingWindow),
}

impl Algorithm {
    /// The config name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TokenBucket(_) => "token_bucket",
            Self::SlidingWindow(_) => "sliding_window",
        }
    }
}

/// Where counts live.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// In this process: each gateway replica limits on its own.
    Local,
    /// In Redis, shared by every replica.
    Redis(RedisConfig),
}

/// `rate_limit.redis:`.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// Multiplexed connections per route, 1..=64. Default 2.
    pub pool_size: usize,
    /// Longest wait for one decision (connecting included). Default 50ms.
    pub timeout: Duration,
    /// What a request gets when Redis fails or times out.
    pub on_error: OnError,
}

/// What to do when the Redis backend cannot decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Decide with the local limiter (same settings, this replica's counts only).
    FailOpen,
    /// Refuse: 503 with `x-gateway-reject-reason: rate_limit_unavailable`.
    FailClosed,
}

impl OnError {
    /// The config name, also the `outcome` label of the backend error counter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailOpen => "fail_open",
            Self::FailClosed => "fail_closed",
        }
    }
}
