//! The gateway's Prometheus metrics: every family, its labels and its help text, registered
//! once per process and served on the admin listener's `/metrics`.
//!
//! Names come from `observability::names::metric`; labels only take bounded values (route and
//! upstream names and endpoint addresses from the config, methods folded to a fixed set,
//! status classes, outcome enums). Route and upstream names are `Arc<String>` so recording a
//! request clones a pointer, not a string.

use std::sync::Arc;

use observability::names::metric::{self, registration_name};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Histogram buckets in seconds: from 1ms to 10s, including the usual SLO thresholds (100ms,
/// 250ms, 1s) as exact boundaries so `le="0.25"` exists.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A label value shared cheaply between requests.
pub(crate) type Name = Arc<String>;

/// `route`, `method`, `status_class`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) route: Name,
    pub(crate) method: Method,
    pub(crate) status_class: StatusClass,
}

/// `route`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabels {
    pub(crate) route: Name,
}

/// `upstream`, `outcome`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AttemptLabels {
    pub(crate) upstream: Name,
    pub(crate) outcome: &'static str,
}

/// `upstream`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct UpstreamLabels {
    pub(crate) upstream: Name,
}

/// `upstream`, `endpoint`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EndpointLabels {
    pub(crate) upstream: Name,
    pub(crate) endpoint: String,
}

/// `upstream`, `endpoint`, `to`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TransitionLabels {
    pub(crate) upstream: Name,
    pub(crate) endpoint: String,
    pub(crate) to: &'static str,
}

/// `outcome`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub(crate) outcome: &'static str,
}

/// `reason`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonLabels {
    pub(crate) reason: &'static str,
}

/// `upstream`, `route` (empty for an upstream's own breaker).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BreakerLabels {
    pub(crate) upstream: Name,
    pub(crate) route: Name,
}

/// `upstream`, `route`, `to`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BreakerTransitionLabels {
    pub(crate) upstream: Name,
    pub(crate) route: Name,
    pub(crate) to: &'static str,
}

/// `upstream`, `reason`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RejectLabels {
    pub(crate) upstream: Name,
    pub(crate) reason: &'static str,
}

/// `route`, `reason`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteReasonLabels {
    pub(crate) route: Name,
    pub(crate) reason: &'static str,
}

/// `route`, `kind`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteKindLabels {
    pub(crate) route: Name,
    pub(crate) kind: &'static str,
}

/// HTTP methods folded to a bounded set.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteBackendLabels {
    pub(crate) route: Name,
    pub(crate) backend: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteOutcomeLabels {
    pub(crate) route: Name,
    pub(crate) outcome: &'static str,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(clippy::upper_case_acronyms)]
pub(crate) enum Method {
    GET,
    HEAD,
    POST,
    PUT,
    DELETE,
    PATCH,
    OPTIONS,
    CONNECT,
    TRACE,
    /// Any extension method.
    OTHER,
}

impl From<&http::Method> for Method {
    fn from(m: &http::Method) -> Self {
        match *m {
            http::Method::GET => Self::GET,
            http::Method::HEAD => Self::HEAD,
            http::Method::POST => Self::POST,
            http::Method::PUT => Self::PUT,
            http::Method::DELETE => Self::DELETE,
            http::Method::PATCH => Self::PATCH,
            http::Method::OPTIONS => Self::OPTIONS,
            http::Method::CONNECT => Self::CONNECT,
            http::Method::TRACE => Self::TRACE,
            _ => Self::OTHER,
        }
    }
}

/// `1xx` .. `5xx`.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) struct StatusClass(u8);

impl From<http::StatusCode> for StatusClass {
    fn from(s: http::StatusCode) -> Self {
        // StatusCode is always 100..=999, so the class is 1..=9.
        Self((s.as_u16() / 100) as u8)
    }
}

impl EncodeLabelValue for StatusClass {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        write!(encoder, "{}xx", self.0)
    }
}

/// Every metric family of the gateway.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) request_duration: Family<RouteLabels, Histogram>,
    pub(crate) in_flight: Family<RouteLabels, Gauge>,
    pub(crate) upstream_requests: Family<AttemptLabels, Counter>,
    pub(crate) upstream_duration: Family<UpstreamLabels, Histogram>,
    pub(crate) endpoint_healthy: Family<EndpointLabels, Gauge>,
    pub(crate) health_transitions: Family<TransitionLabels, Counter>,
    pub(crate) reloads: Family<OutcomeLabels, Counter>,
    pub(crate) config_version: Gauge,
    pub(crate) trace_context_invalid: Family<ReasonLabels, Counter>,
    pub(crate) tls_handshake_errors: Family<ReasonLabels, Counter>,
    pub(crate) breaker_state: Family<BreakerLabels, Gauge>,
    pub(crate) breaker_transitions: Family<BreakerTransitionLabels, Counter>,
    pub(crate) upstream_rejected: Family<RejectLabels, Counter>,
    pub(crate) retries: Family<RouteReasonLabels, Counter>,
    pub(crate) retry_budget_exhausted: Family<RouteLabels, Counter>,
    pub(crate) endpoint_ejections: Family<EndpointLabels, Counter>,
    pub(crate) endpoint_ejected: Family<EndpointLabels, Gauge>,
    pub(crate) fallbacks: Family<RouteKindLabels, Counter>,
    pub(crate) faults_injected: Family<RouteKindLabels, Counter>,
    pub(crate) rate_limited: Family<RouteBackendLabels, Counter>,
    pub(crate) rate_limit_backend_errors: Family<RouteOutcomeLabels, Counter>,
    pub(crate) auth_rejections: Family<RouteReasonLabels, Counter>,
}

fn histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    /// Registers every family; `extra` adds families owned elsewhere (trace export counters).
    pub(crate) fn new(extra: impl FnOnce(&mut Registry)) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let request_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(histogram as fn() -> Histogram);
        let in_flight = Family::<RouteLabels, Gauge>::default();
        let upstream_requests = Family::<AttemptLabels, Counter>::default();
        let upstream_duration = Family::<UpstreamLabels, Histogram>::new_with_constructor(
            histogram as fn() -> Histogram,
        );
        let endpoint_healthy = Family::<EndpointLabels, Gauge>::default();
        let health_transitions = Family::<TransitionLabels, Counter>::default();
        let reloads = Family::<OutcomeLabels, Counter>::default();
        let config_version = Gauge::default();
        let trace_context_invalid = Family::<ReasonLabels, Counter>::default();
        let tls_handshake_errors = Family::<ReasonLabels, Counter>::default();
        let breaker_state = Family::<BreakerLabels, Gauge>::default();
        let breaker_transitions = Family::<BreakerTransitionLabels, Counter>::default();
        let upstream_rejected = Family::<RejectLabels, Counter>::default();
        let retries = Family::<RouteReasonLabels, Counter>::default();
        let retry_budget_exhausted = Family::<RouteLabels, Counter>::default();
        let endpoint_ejections = Family::<EndpointLabels, Counter>::default();
        let endpoint_ejected = Family::<EndpointLabels, Gauge>::default();
        let fallbacks = Family::<RouteKindLabels, Counter>::default();
        let faults_injected = Family::<RouteKindLabels, Counter>::default();
        let rate_limited = Family::<RouteBackendLabels, Counter>::default();
        let rate_limit_backend_errors = Family::<RouteOutcomeLabels, Counter>::default();
        let auth_rejections = Family::<RouteReasonLabels, Counter>::default();

        registry.register(
            registration_name(metric::HTTP_REQUESTS_TOTAL),
            "Requests received, by route, method and status class",
            requests.clone(),
        );
        registry.register(
            registration_name(metric::HTTP_REQUEST_DURATION_SECONDS),
            "Time from request receipt to response headers, by route",
            request_duration.clone(),
        );
        registry.register(
            registration_name(metric::HTTP_REQUESTS_IN_FLIGHT),
            "Requests being served, by route",
            in_flight.clone(),
        );
        registry.register(
            registration_name(metric::UPSTREAM_REQUESTS_TOTAL),
            "Upstream attempts, by upstream and outcome",
            upstream_requests.clone(),
        );
        registry.register(
            registration_name(metric::UPSTREAM_REQUEST_DURATION_SECONDS),
            "Time from sending an attempt to its response headers, by upstream",
            upstream_duration.clone(),
        );
        registry.register(
            registration_name(metric::ENDPOINT_HEALTHY),
            "Active health verdict per endpoint (1 healthy, 0 unhealthy)",
            endpoint_healthy.clone(),
        );
        registry.register(
            registration_name(metric::ENDPOINT_HEALTH_TRANSITIONS_TOTAL),
            "Health verdict changes, by upstream, endpoint and new state",
            health_transitions.clone(),
        );
        registry.register(
            registration_name(metric::CONFIG_RELOADS_TOTAL),
            "Config reloads, by outcome",
            reloads.clone(),
        );
        registry.register(
            registration_name(metric::CONFIG_VERSION),
            "Version of the running config (1 at start, +1 per applied reload)",
            config_version.clone(),
        );
        registry.register(
            registration_name(metric::TRACE_CONTEXT_INVALID_TOTAL),
            "Invalid incoming trace context headers that were ignored, by reason",
            trace_context_invalid.clone(),
        );
        registry.register(
            registration_name(metric::TLS_HANDSHAKE_ERRORS_TOTAL),
            "Failed TLS handshakes on the data-plane listener, by reason",
            tls_handshake_errors.clone(),
        );
        registry.register(
            registration_name(metric::BREAKER_STATE),
            "Circuit breaker state: 0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled, 5 metrics only",
            breaker_state.clone(),
        );
        registry.register(
            registration_name(metric::BREAKER_TRANSITIONS_TOTAL),
            "Circuit breaker transitions, by upstream, route and new state",
            breaker_transitions.clone(),
        );
        registry.register(
            registration_name(metric::UPSTREAM_REJECTED_TOTAL),
            "Requests the gateway refused to send upstream, by upstream and reason",
            upstream_rejected.clone(),
        );
        registry.register(
            registration_name(metric::RETRIES_TOTAL),
            "Retries made, by route and reason",
            retries.clone(),
        );
        registry.register(
            registration_name(metric::RETRY_BUDGET_EXHAUSTED_TOTAL),
            "Retries refused because the route's retry budget was spent",
            retry_budget_exhausted.clone(),
        );
        registry.register(
            registration_name(metric::ENDPOINT_EJECTIONS_TOTAL),
            "Outlier ejections, by upstream and endpoint",
            endpoint_ejections.clone(),
        );
        registry.register(
            registration_name(metric::ENDPOINT_EJECTED),
            "Whether an endpoint is ejected by outlier detection (1) or not (0)",
            endpoint_ejected.clone(),
        );
        registry.register(
            registration_name(metric::FALLBACKS_TOTAL),
            "Responses served by a fallback, by route and kind",
            fallbacks.clone(),
        );
        registry.register(
            registration_name(metric::FAULTS_INJECTED_TOTAL),
            "Faults injected by a route's fault filter, by route and kind",
            faults_injected.clone(),
        );
        registry.register(
            registration_name(metric::RATE_LIMITED_TOTAL),
            "Requests refused by a route's rate limit, by route and deciding backend",
            rate_limited.clone(),
        );
        registry.register(
            registration_name(metric::RATE_LIMIT_BACKEND_ERRORS_TOTAL),
            "Rate-limit decisions the Redis backend failed or timed out, by route and outcome (fail_open, fail_closed)",
            rate_limit_backend_errors.clone(),
        );
        registry.register(
            registration_name(metric::AUTH_REJECTIONS_TOTAL),
            "Requests rejected by a route's authentication, by route and reason",
            auth_rejections.clone(),
        );
        extra(&mut registry);
        Self {
            registry,
            requests,
            request_duration,
            in_flight,
            upstream_requests,
            upstream_duration,
            endpoint_healthy,
            health_transitions,
            reloads,
            config_version,
            trace_context_invalid,
            tls_handshake_errors,
            breaker_state,
            breaker_transitions,
            upstream_rejected,
            retries,
            retry_budget_exhausted,
            endpoint_ejections,
            endpoint_ejected,
            fallbacks,
            faults_injected,
            rate_limited,
            rate_limit_backend_errors,
            auth_rejections,
        }
    }

    /// The text exposition format 0.0.4 (what `promtool check metrics` reads).
    pub(crate) fn encode_text(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    /// The OpenMetrics 1.0 text format (what Prometheus asks for first).
    pub(crate) fn encode_openmetrics(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_method_folds_extension_methods_to_other() {
        assert_eq!(Method::from(&http::Method::GET), Method::GET);
        assert_eq!(
            Method::from(&http::Method::from_bytes(b"PURGE").unwrap()),
            Method::OTHER
        );
    }

    #[test]
    fn metrics_text_encoding_names_counters_with_total_and_status_classes() {
        let metrics = Metrics::new(|_| {});
        let route: Name = Arc::new("users".into());
        metrics
            .requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                method: Method::GET,
                status_class: http::StatusCode::BAD_GATEWAY.into(),
            })
            .inc();
        metrics
            .request_duration
            .get_or_create(&RouteLabels { route })
            .observe(0.2);
        let text = metrics.encode_text().unwrap();
        assert!(
            text.contains(
                "gateway_http_requests_total{route=\"users\",method=\"GET\",status_class=\"5xx\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "gateway_http_request_duration_seconds_bucket{route=\"users\",le=\"0.25\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE gateway_config_version gauge"),
            "{text}"
        );
        let om = metrics.encode_openmetrics().unwrap();
        assert!(om.ends_with("# EOF\n"), "{om}");
    }
}
