//! A route: which requests it takes (its match), where they go (an upstream), and how the
//! request is adjusted on the way (path rewrite, `Host` header, response timeout).

use std::time::Duration;

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
    /// Longest wait for the upstream's response headers before answering 504. Default 15s.
    pub timeout: Duration,
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

/// The stack a route's requests go through once prepared (see `stack.rs`).
pub(crate) type RouteService = tower::util::BoxCloneSyncService<
    http::Request<crate::proxy::body::ProxyBody>,
    http::Response<crate::proxy::body::ProxyBody>,
    crate::errors::ProxyError,
>;

/// A route as built for one config version: its settings and its service stack.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) config: RouteConfig,
    /// The name as a metric label value.
    pub(crate) label: crate::metrics::Name,
    pub(crate) service: RouteService,
}
