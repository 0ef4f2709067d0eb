//! Request instrumentation: the server span of each request, the client span of each upstream
//! attempt with W3C propagation, the access log line, and state-change evidence; plus the
//! bundle (metrics, tracer) every component records into.
//!
//! Trace context: the incoming `traceparent`/`tracestate` are read with our own W3C codec
//! (`observability::tracecontext`); an invalid `traceparent` is ignored (a new trace starts)
//! and counted by reason. The server span continues the caller's trace; each attempt's client
//! span is its child, and the upstream receives `traceparent` naming that client span, with
//! the caller's `tracestate` passed through unchanged. Sampling is the OpenTelemetry SDK's,
//! parent-based (see `observability::telemetry`), so an unsampled caller is never recorded
//! and its flag is propagated as received.
//!
//! Spans end when the response body has been sent (their guards ride in the body), so a span
//! covers the whole exchange; metrics and the access log use the time to response headers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use http::HeaderMap;
use observability::names::{attr, span};
use observability::telemetry::{Telemetry, record_state_change};
use observability::tracecontext::{self, Extracted, TraceContext, TraceParent, TraceState};
use opentelemetry::trace::{
    SpanContext, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceState as OtelTraceState,
    Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

use crate::breaker::Transition;
use crate::metrics::{
    BreakerLabels, BreakerTransitionLabels, EndpointLabels, Metrics, Name, ReasonLabels,
};
use crate::outlier::{Ejection, EjectionReason, Uneject};
use crate::upstream::Upstream;

/// What every component records into: metrics, the tracer, and log switches.
#[derive(Debug)]
pub(crate) struct Instruments {
    pub(crate) metrics: Metrics,
    pub(crate) telemetry: Telemetry,
    pub(crate) access_log: bool,
    no_route: Name,
}

/// The trace of one request, carried in its extensions so the attempts can be its children.
#[derive(Debug, Clone)]
pub(crate) struct RequestTrace {
    /// Holds the server span.
    pub(crate) cx: Context,
    /// The caller's `tracestate`, passed through to upstreams.
    pub(crate) state: TraceState,
    /// Upstream attempts made for this request.
    pub(crate) attempts: Arc<AtomicU32>,
}

/// Ends a span when dropped: rides in a response body so the span covers the body.
#[derive(Debug)]
pub(crate) struct SpanEnd(pub(crate) Context);

impl Drop for SpanEnd {
    fn drop(&mut self) {
        self.0.span().end();
    }
}

impl Instruments {
    pub(crate) fn new(telemetry: Telemetry, access_log: bool) -> Self {
        let metrics = Metrics::new(|registry| telemetry.register_metrics(registry));
        Self {
            metrics,
            telemetry,
            access_log,
            no_route: Arc::new(String::new()),
        }
    }

    /// The `route` label of requests no route matched: empty, which Prometheus treats as
    /// "no route" (a route name is never empty).
    pub(crate) fn no_route_label(&self) -> Name {
        Arc::clone(&self.no_route)
    }

    pub(crate) fn tracer(&self) -> &SdkTracer {
        self.telemetry.tracer()
    }

    /// Starts the server span for a request, continuing the caller's trace when its
    /// `traceparent` is valid.
    pub(crate) fn start_request(
        &self,
        headers: &HeaderMap,
        method: &http::Method,
        path: &str,
        client: SocketAddr,
    ) -> RequestTrace {
        let extracted = tracecontext::extract(headers);
        if let Some(reason) = extracted.invalid_reason() {
            self.metrics
                .trace_context_invalid
                .get_or_create(&ReasonLabels { reason })
                .inc();
        }
        let (parent, state) = match &extracted {
            Extracted::Valid { context, .. } => (remote_parent(context), context.state.clone()),
            _ => (Context::new(), TraceState::default()),
        };
        let tracer = self.tracer();
        let server = tracer
            .span_builder(span::REQUEST)
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new(attr::HTTP_METHOD, method.as_str().to_owned()),
                KeyValue::new(attr::URL_PATH, path.to_owned()),
                KeyValue::new(attr::CLIENT_ADDRESS, client.ip().to_string()),
            ])
            .start_with_context(tracer, &parent);
        RequestTrace {
            cx: parent.with_span(server),
            state,
            attempts: Arc::default(),
        }
    }

    /// Starts the client span of one upstream attempt and writes its `traceparent` (and the
    /// caller's `tracestate`) into the upstream request's headers.
    pub(crate) fn start_attempt(
        &self,
        trace: Option<&RequestTrace>,
        upstream: &str,
        endpoint: &str,
        headers: &mut HeaderMap,
    ) -> Context {
        let parent = trace.map(|t| t.cx.clone()).unwrap_or_default();
        let tracer = self.tracer();
        let attempt = tracer
            .span_builder(span::UPSTREAM_ATTEMPT)
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new(attr::UPSTREAM, upstream.to_owned()),
                KeyValue::new(attr::ENDPOINT, endpoint.to_owned()),
                KeyValue::new(attr::SERVER_ADDRESS, endpoint.to_owned()),
            ])
            .start_with_context(tracer, &parent);
        let cx = parent.with_span(attempt);
        let state = trace.map(|t| t.state.clone()).unwrap_or_default();
        inject(cx.span().span_context(), state, headers);
        cx
    }

    /// An outlier ejection: the ejected gauge, the ejections counter, an `endpoint.ejected`
    /// span and a log line (plus the return it reports, if any).
    pub(crate) fn ejected(&self, upstream: &Upstream, ejection: &Ejection) {
        if let Some(returned) = &ejection.returned {
            self.returned(upstream, returned);
        }
        let Some(endpoint) = upstream.endpoints().get(ejection.endpoint) else {
            return;
        };
        let labels = EndpointLabels {
            upstream: upstream.label(),
            endpoint: endpoint.address().to_owned(),
        };
        self.metrics.endpoint_ejections.get_or_create(&labels).inc();
        self.metrics.endpoint_ejected.get_or_create(&labels).set(1);
        let EjectionReason::ConsecutiveFailures { failures, last } = ejection.reason;
        let evidence = self.state_change(
            span::ENDPOINT_EJECTED,
            vec![
                KeyValue::new(attr::UPSTREAM, upstream.name().to_owned()),
                KeyValue::new(attr::ENDPOINT, endpoint.address().to_owned()),
                KeyValue::new(
                    attr::EJECTION_MS,
                    i64::try_from(ejection.duration.as_millis()).unwrap_or(i64::MAX),
                ),
                KeyValue::new(attr::EJECTION_COUNT, i64::from(ejection.count)),
                KeyValue::new(attr::REASON, ejection.reason.label()),
                KeyValue::new(attr::OUTCOME, last.label()),
            ],
        );
        tracing::info!(
            upstream = upstream.name(),
            endpoint = endpoint.address(),
            failures,
            last = %last,
            ejected_for = ?ejection.duration,
            count = ejection.count,
            trace_id = %evidence.trace_id(),
            "Endpoint ejected"
        );
    }

    /// An ejected endpoint is back: gauge, `endpoint.returned` span and a log line.
    pub(crate) fn returned(&self, upstream: &Upstream, returned: &Uneject) {
        let Some(endpoint) = upstream.endpoints().get(returned.endpoint) else {
            return;
        };
        let labels = EndpointLabels {
            upstream: upstream.label(),
            endpoint: endpoint.address().to_owned(),
        };
        self.metrics.endpoint_ejected.get_or_create(&labels).set(0);
        let evidence = self.state_change(
            span::ENDPOINT_RETURNED,
            vec![
                KeyValue::new(attr::UPSTREAM, upstream.name().to_owned()),
                KeyValue::new(attr::ENDPOINT, endpoint.address().to_owned()),
                KeyValue::new(attr::REASON, returned.reason.label()),
            ],
        );
        tracing::info!(
            upstream = upstream.name(),
            endpoint = endpoint.address(),
            reason = returned.reason.label(),
            trace_id = %evidence.trace_id(),
            "Endpoint returned"
        );
    }

    /// A breaker transition: the state gauge, the transitions counter, a `breaker.transition`
    /// span and a log line. `route` is empty for an upstream's own breaker.
    pub(crate) fn breaker_transition(
        &self,
        upstream: &Name,
        route: &Name,
        transition: &Transition,
    ) {
        let labels = BreakerLabels {
            upstream: Arc::clone(upstream),
            route: Arc::clone(route),
        };
        self.metrics
            .breaker_state
            .get_or_create(&labels)
            .set(transition.to.gauge_value());
        self.metrics
            .breaker_transitions
            .get_or_create(&BreakerTransitionLabels {
                upstream: Arc::clone(upstream),
                route: Arc::clone(route),
                to: transition.to.as_str(),
            })
            .inc();
        let mut attributes = vec![
            KeyValue::new(attr::UPSTREAM, upstream.as_str().to_owned()),
            KeyValue::new(attr::BREAKER_FROM, transition.from.as_str()),
            KeyValue::new(attr::BREAKER_TO, transition.to.as_str()),
            KeyValue::new(attr::BREAKER_CAUSE, transition.cause.as_str()),
            KeyValue::new(attr::BREAKER_FAILURE_RATE, transition.failure_rate),
            KeyValue::new(attr::BREAKER_SLOW_CALL_RATE, transition.slow_call_rate),
            KeyValue::new(
                attr::BREAKER_CALLS,
                i64::try_from(transition.calls).unwrap_or(i64::MAX),
            ),
        ];
        if !route.is_empty() {
            attributes.push(KeyValue::new(attr::ROUTE, route.as_str().to_owned()));
        }
        let evidence = self.state_change(span::BREAKER_TRANSITION, attributes);
        tracing::info!(
            upstream = upstream.as_str(),
            route = route.as_str(),
            from = transition.from.as_str(),
            to = transition.to.as_str(),
            cause = transition.cause.as_str(),
            failure_rate = transition.failure_rate,
            slow_call_rate = transition.slow_call_rate,
            calls = transition.calls,
            trace_id = %evidence.trace_id(),
            "Circuit breaker changed state"
        );
    }

    /// Emits a state-change evidence span (always sampled) with `attributes`.
    pub(crate) fn state_change(
        &self,
        name: &'static str,
        attributes: Vec<KeyValue>,
    ) -> SpanContext {
        record_state_change(self.tracer(), name, attributes)
    }
}

/// Marks a span as failed with a low-cardinality error type.
pub(crate) fn fail(cx: &Context, error_type: &'static str) {
    let span = cx.span();
    span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error_type));
    span.set_status(Status::error(error_type));
}

/// The caller's span as the remote parent of ours. Only the sampled flag is passed to the SDK
/// (its sampler reads it); the caller's `tracestate` is kept by us, not by the SDK, because
/// the SDK's `TraceState` validates differently from the W3C rules we enforce.
fn remote_parent(context: &TraceContext) -> Context {
    let parent = &context.parent;
    let flags = if parent.flags().is_sampled() {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let span_context = SpanContext::new(
        parent.trace_id().into(),
        parent.parent_id().into(),
        flags,
        true,
        OtelTraceState::NONE,
    );
    Context::new().with_remote_span_context(span_context)
}

/// Writes `traceparent` for `span` and the passed-through `state`, replacing what the client
/// sent (the upstream's parent is our span, never the caller's).
fn inject(span: &SpanContext, state: TraceState, headers: &mut HeaderMap) {
    let flags = tracecontext::TraceFlags::from_bits(span.trace_flags().to_u8());
    match TraceParent::new(span.trace_id().into(), span.span_id().into(), flags) {
        Ok(parent) => tracecontext::inject(&TraceContext::new(parent, state), headers),
        // Unreachable with the SDK's id generator (ids are never zero); without a valid id
        // nothing is propagated rather than something wrong.
        Err(_) => {
            headers.remove(tracecontext::TRACEPARENT);
            headers.remove(tracecontext::TRACESTATE);
        }
    }
}

#[cfg(test)]
mod tests {
    use observability::telemetry::{FileSettings, Settings};

    use super::*;

    fn instruments(ratio: f64) -> Instruments {
        let file = FileSettings {
            sampling_ratio: Some(ratio),
            ..FileSettings::default()
        };
        let settings = Settings::resolve(&file, "gateway", |_| None).unwrap();
        Instruments::new(Telemetry::start(&settings).unwrap(), false)
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    const CLIENT: &str = "10.0.0.1:5000";

    #[test]
    fn attempt_propagates_callers_trace_with_its_own_span_id_and_tracestate() {
        let inst = instruments(1.0);
        let incoming = headers(&[
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        ]);
        let trace =
            inst.start_request(&incoming, &http::Method::GET, "/x", CLIENT.parse().unwrap());
        let mut outgoing = headers(&[(
            "traceparent",
            "00-11111111111111111111111111111111-2222222222222222-01",
        )]);
        let attempt = inst.start_attempt(Some(&trace), "users", "127.0.0.1:1", &mut outgoing);
        let sent = outgoing["traceparent"].to_str().unwrap().to_owned();
        let attempt_id = attempt.span().span_context().span_id().to_string();
        assert_eq!(
            sent,
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{attempt_id}-01")
        );
        assert_ne!(attempt_id, "00f067aa0ba902b7");
        assert_eq!(
            outgoing["tracestate"],
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
        );
        assert_eq!(
            inst.metrics
                .trace_context_invalid
                .get_or_create(&ReasonLabels {
                    reason: "traceparent_version"
                })
                .get(),
            0
        );
    }

    #[test]
    fn unsampled_caller_flag_is_propagated_unchanged() {
        let inst = instruments(1.0);
        let incoming = headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        )]);
        let trace =
            inst.start_request(&incoming, &http::Method::GET, "/x", CLIENT.parse().unwrap());
        let mut outgoing = HeaderMap::new();
        inst.start_attempt(Some(&trace), "users", "127.0.0.1:1", &mut outgoing);
        let sent = outgoing["traceparent"].to_str().unwrap();
        assert!(
            sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && sent.ends_with("-00"),
            "{sent}"
        );
    }

    #[test]
    fn invalid_traceparent_starts_a_new_trace_counts_it_and_drops_tracestate() {
        let inst = instruments(1.0);
        let incoming = headers(&[
            (
                "traceparent",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
            ),
            ("tracestate", "congo=t61rcWkgMzE"),
        ]);
        let trace =
            inst.start_request(&incoming, &http::Method::GET, "/x", CLIENT.parse().unwrap());
        let mut outgoing = HeaderMap::new();
        inst.start_attempt(Some(&trace), "users", "127.0.0.1:1", &mut outgoing);
        let sent = outgoing["traceparent"].to_str().unwrap();
        assert!(!sent.contains("4bf92f3577b34da6a3ce929d0e0e4736"), "{sent}");
        assert!(
            sent.ends_with("-01"),
            "new traces are sampled at ratio 1: {sent}"
        );
        assert!(outgoing.get("tracestate").is_none());
        let counted: u64 = observability::tracecontext::InvalidTraceParent::ALL
            .iter()
            .map(|r| {
                inst.metrics
                    .trace_context_invalid
                    .get_or_create(&ReasonLabels { reason: r.as_str() })
                    .get()
            })
            .sum();
        assert_eq!(counted, 1);
    }

    #[test]
    fn missing_traceparent_starts_a_root_sampled_by_ratio() {
        let inst = instruments(0.0);
        let trace = inst.start_request(
            &HeaderMap::new(),
            &http::Method::GET,
            "/x",
            CLIENT.parse().unwrap(),
        );
        let mut outgoing = HeaderMap::new();
        inst.start_attempt(Some(&trace), "users", "127.0.0.1:1", &mut outgoing);
        let sent = outgoing["traceparent"].to_str().unwrap();
        assert!(
            sent.ends_with("-00"),
            "ratio 0 leaves new traces unsampled: {sent}"
        );
    }
}
