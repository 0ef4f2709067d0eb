//! Errors on the request path and the single place they become HTTP responses.

mod respond;

use std::time::Duration;

pub(crate) use respond::{json_response, respond};

use observability::names::reject;

use crate::classify::{CallOutcome, Failure};

/// An error and its sources on one line (`a: b: c`), for logs and CLI output.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Boxed error for bodies and sources that cross library boundaries.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request could not be proxied. Each variant names its subject; `respond` alone picks
/// the status.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No route matched the request (404).
    #[error("no route matches {method} {path}")]
    NoRoute {
        /// The request method.
        method: http::Method,
        /// The request path.
        path: String,
    },
    /// The request is malformed in a way the gateway will not forward (400).
    #[error("bad request: {reason}")]
    BadRequest {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The path is refused by the normalisation policy (400).
    #[error("bad request path")]
    BadPath(#[from] crate::routing::PathRejection),
    /// The request body is larger than `limits.max_body_bytes` (413): declared by
    /// `Content-Length`, or counted while it streamed (the upstream request is aborted).
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The upstream has no endpoint that may take traffic (503).
    #[error("upstream {upstream} has no healthy endpoint")]
    NoHealthyEndpoint {
        /// The upstream.
        upstream: String,
    },
    /// Connecting to the endpoint failed (502).
    #[error("cannot connect to {endpoint} of upstream {upstream}")]
    Connect {
        /// The upstream.
        upstream: String,
        /// The endpoint address.
        endpoint: String,
        /// The connect error.
        #[source]
        source: BoxError,
    },
    /// The connection failed after it was established, before response headers (502).
    #[error("upstream {upstream} endpoint {endpoint} failed before answering")]
    UpstreamIo {
        /// The upstream.
        upstream: String,
        /// The endpoint address.
        endpoint: String,
        /// The I/O or protocol error.
        #[source]
        source: BoxError,
    },
    /// Connecting timed out (504).
    #[error("connecting to {endpoint} of upstream {upstream} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The upstream.
        upstream: String,
        /// The endpoint address.
        endpoint: String,
        /// The connect timeout.
        timeout: Duration,
    },
    /// The upstream's circuit breaker refused the attempt (503).
    #[error("circuit breaker of upstream {upstream} is {reason}")]
    BreakerOpen {
        /// The upstream.
        upstream: String,
        /// Open, forced open, or half-open with every probe placed.
        reason: crate::breaker::RejectReason,
        /// How long until the breaker probes again, when known.
        retry_after: Option<Duration>,
    },
    /// A concurrency limit of the upstream refused the attempt (503).
    #[error("upstream {upstream} is at its {} limit", limit.as_str())]
    Overloaded {
        /// The upstream.
        upstream: String,
        /// Which limit.
        limit: crate::limits::LimitExceeded,
    },
    /// The route's total timeout passed, attempts and backoff included (504).
    #[error("route {route} did not complete within {timeout:?}")]
    TotalTimeout {
        /// The route.
        route: String,
        /// The route timeout.
        timeout: Duration,
    },
    /// The route's rate limit refused the request (429, with `Retry-After` and the
    /// RateLimit fields).
    #[error("route {route} rate limit exceeded")]
    RateLimited {
        /// The route.
        route: String,
        /// The response fields describing the decision (boxed: they would triple the size
        /// of every `ProxyError`).
        fields: Box<crate::ratelimit::RateLimitFields>,
    },
    /// The route's Redis rate-limit backend failed and the route fails closed (503).
    #[error("route {route} rate limit backend unavailable")]
    RateLimitUnavailable {
        /// The route.
        route: String,
        /// What failed.
        #[source]
        source: crate::ratelimit::BackendError,
    },
    /// The route's authentication refused the request: 401, or 403 for a failed rule. Never
    /// reaches the upstream.
    #[error("route {route} refused the request: {rejection}")]
    Auth {
        /// The route.
        route: String,
        /// Why (a bounded reason, no token material).
        rejection: crate::auth::AuthRejection,
    },
    /// The upstream did not send response headers in time (504).
    #[error("upstream {upstream} endpoint {endpoint} did not answer within {timeout:?}")]
    Timeout {
        /// The upstream.
        upstream: String,
        /// The endpoint address.
        endpoint: String,
        /// The route's response timeout.
        timeout: Duration,
    },
}

impl ProxyError {
    /// A short, stable, bounded identifier for logs, metrics and the JSON body.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoRoute { .. } => "no_route",
            Self::BadRequest { .. } | Self::BadPath(_) => "bad_request",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::NoHealthyEndpoint { .. } => "no_healthy_endpoint",
            Self::Connect { .. } => "connect_failure",
            Self::UpstreamIo { .. } => "upstream_io",
            Self::ConnectTimeout { .. } => "connect_timeout",
            Self::Timeout { .. } => "timeout",
            Self::BreakerOpen { .. } => "breaker_open",
            Self::Overloaded { .. } => "overloaded",
            Self::TotalTimeout { .. } => "total_timeout",
            Self::RateLimited { .. } => "rate_limited",
            Self::RateLimitUnavailable { .. } => "rate_limit_unavailable",
            Self::Auth {
                rejection: crate::auth::AuthRejection::Forbidden,
                ..
            } => "forbidden",
            Self::Auth { .. } => "unauthorized",
        }
    }

    /// The verdict on the upstream call this error ended, for the breaker, retries and outlier
    /// detection; `None` when no call was made (no route, breaker open, limits, ...).
    pub(crate) fn call_outcome(&self) -> Option<CallOutcome> {
        let failure = match self {
            Self::Connect { .. } => Failure::ConnectFailure,
            Self::ConnectTimeout { .. } => Failure::ConnectTimeout,
            Self::UpstreamIo { .. } => Failure::Reset,
            Self::Timeout { .. } => Failure::Timeout,
            _ => return None,
        };
        Some(CallOutcome::Failure(failure))
    }

    /// Why the gateway refused to call the upstream, for `x-gateway-reject-reason`.
    pub(crate) fn reject_reason(&self) -> Option<&'static str> {
        match self {
            Self::BreakerOpen { .. } => Some(reject::BREAKER_OPEN),
            Self::Overloaded {
                limit: crate::limits::LimitExceeded::Requests,
                ..
            } => Some(reject::MAX_REQUESTS),
            Self::Overloaded {
                limit: crate::limits::LimitExceeded::Pending,
                ..
            } => Some(reject::MAX_PENDING),
            Self::NoHealthyEndpoint { .. } => Some(reject::NO_HEALTHY_ENDPOINT),
            Self::RateLimited { .. } => Some(reject::RATE_LIMITED),
            Self::RateLimitUnavailable { .. } => Some(reject::RATE_LIMIT_UNAVAILABLE),
            _ => None,
        }
    }
}
