//! Why a rate-limit backend could not decide.

use std::time::Duration;

/// A failed decision by the Redis backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Redis answered with an error, or the connection failed.
    #[error("redis rate-limit backend failed")]
    Redis(#[source] redis::RedisError),
    /// No answer within the configured timeout.
    #[error("redis rate-limit backend did not answer within {0:?}")]
    Timeout(Duration),
    /// The Redis client could not be set up from the configured URL.
    #[error("redis rate-limit backend could not be set up")]
    Unusable,
    /// The script answered something other than four integers.
    #[error("redis rate-limit script returned an unexpected reply")]
    Reply,
}

impl BackendError {
    /// A short, bounded identifier for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Redis(_) => "redis_error",
            Self::Timeout(_) => "timeout",
            Self::Unusable => "unusable",
            Self::Reply => "bad_reply",
        }
    }
}
