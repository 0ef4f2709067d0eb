//! A route: which requests it takes (its match), where they go (an upstream), and how the
//! request is adjusted on the way (path rewrite, `Host` header, response timeout).

use std::time::Duration;

use crate::breaker::BreakerConfig;
use crate::fallback::FallbackConfig;
use crate::fault::FaultConfig;
use crate::retry::RetryConfig;
use crate::routing::{Rewrite, RouteMatch};

/// One validated route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteConfig {
    /// Unique name; the route's label in logs, metrics and the admin API.
    pub name: String,
    /// Which requests this route takes.
    pub matcher: RouteMatch,
    /// Name of the upstream that serves it (validated to exist).
    pub upstream: String,
    /// Path rewrite applied before forwarding, if any.
    pub rewrite: Option<Rewrite>,
    /// What `Host` the upstream sees.
    pub host_header: HostHeader,
    /// Longest time for the whole request, every attempt and backoff included, to the
    /// response headers; 504 when exceeded. Default 15s.
    pub timeout: Duration,
    /// Longest wait for one attempt's response headers (504, or a retry when `retry.on` has
    /// `per_try_timeout`). Default: none (only `timeout` applies).
    pub per_try_timeout: Option<Duration>,
    /// Retry policy; none means one attempt.
    pub retry: Option<RetryConfig>,
    /// A breaker for this route alone, instead of its upstream's.
    pub breaker: Option<BreakerConfig>,
    /// What to answer when the upstream cannot: breaker open, no healthy endpoint, or failed
    /// after retries.
    pub fallback: Option<FallbackConfig>,
    /// Fault injection for drills.
    pub fault: Option<FaultConfig>,
    /// Rate limit; none means unlimited.
    pub rate_limit: Option<crate::ratelimit::RateLimitConfig>,
    /// JWT authentication, run before anything else in the route's pipeline.
    pub auth: Option<crate::auth::RouteAuthConfig>,
}

/// The `Host` header sent upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostHeader {
    /// The client's `Host` (or HTTP/2 `:authority`), unchanged. The default.
    Preserve,
    /// The chosen endpoint's `host:port`.
    Endpoint,
    /// A fixed value.
    Set(http::HeaderValue),
}

/// A route as built for one config version: its label and its pipeline.
#[derive(Debug)]
pub(crate) struct Route {
    /// The name as a metric label value.
    pub(crate) label: crate::metrics::Name,
    pub(crate) pipeline: crate::proxy::pipeline::Pipeline,
}

impl Route {
    pub(crate) fn config(&self) -> &RouteConfig {
        &self.pipeline.route
    }
}
