//! Continues the caller's trace: the server span of each answered request, and the client
//! span and `traceparent`/`tracestate` of each callback it makes.
//!
//! ```text
//! traceparent/tracestate ──tracecontext::extract──▶ valid:   remote parent, sampled flag kept
//!                                                   missing/invalid: new root (sampler decides)
//!        └─▶ upstream.request (SERVER) ──▶ upstream.callback (CLIENT) ──inject──▶ callee
//! ```
//!
//! The headers are read with `observability::tracecontext` (strict W3C rules) rather than an
//! OpenTelemetry propagator; the parsed ids become the SDK parent context. The caller's
//! `tracestate` is not handed to the SDK: it is kept as received and passed on unchanged to
//! every callback, as the W3C test harness expects.

use http::{HeaderMap, Method, Response, StatusCode, Uri};
use observability::names::{attr, error_type, span};
use observability::tracecontext::{self, TraceContext, TraceFlags, TraceParent, TraceState};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SdkTracer, Span};
use tracing::debug;

use super::name::UpstreamName;
use super::respond::{Body, InjectedFailure};

/// The trace of one request being answered: its server span and what callbacks inherit.
#[derive(Debug)]
pub(crate) struct RequestTrace {
    /// Holds the server span, as the parent of callback spans. Dropping it ends the span (an
    /// abandoned request, e.g. a client that left while the request hung).
    cx: Context,
    /// The caller's `tracestate` (empty for a new trace), passed on unchanged.
    state: TraceState,
    /// Flags sent on besides `sampled`: the caller's (undefined bits cleared), or
    /// `random-trace-id` for a trace started here (the SDK draws ids at random).
    flags: TraceFlags,
}

/// The client span of one callback and the trace context its request carries.
#[derive(Debug)]
pub(crate) struct CallbackTrace {
    span: Span,
    /// `None` only if the span has no valid id (the pipeline already shut down).
    outgoing: Option<TraceContext>,
}

// === impl RequestTrace ===

impl RequestTrace {
    /// Starts the server span: a child of a valid incoming `traceparent` (sampled as the
    /// caller decided), else the root of a new trace (sampled by the tracer's ratio).
    pub(crate) fn start(
        tracer: &SdkTracer,
        name: &UpstreamName,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Self {
        let extracted = tracecontext::extract(headers);
        if let Some(reason) = extracted.invalid_reason() {
            debug!(reason, "Ignoring invalid trace context header");
        }
        let (parent, state, flags) = match extracted.context() {
            Some(caller) => (
                remote_parent(&caller.parent),
                caller.state.clone(),
                caller.parent.flags().propagated(),
            ),
            None => (
                Context::new(),
                TraceState::new(),
                TraceFlags::RANDOM_TRACE_ID,
            ),
        };
        let server = tracer
            .span_builder(span::UPSTREAM_REQUEST)
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new(attr::HTTP_METHOD, method.as_str().to_owned()),
                KeyValue::new(attr::URL_PATH, path.to_owned()),
                KeyValue::new(attr::UPSTREAM_NAME, name.as_str().to_owned()),
            ])
            .start_with_context(tracer, &parent);
        RequestTrace {
            cx: parent.with_span(server),
            state,
            flags,
        }
    }

    /// Records the answer and ends the span.
    ///
    /// Status Error with `error.type` for an injected failure (whatever its status) and,
    /// per the semantic conventions for server spans, for any other 5xx.
    pub(crate) fn finish(self, response: &Response<Body>) {
        let span = self.cx.span();
        let status = response.status();
        span.set_attribute(KeyValue::new(
            attr::HTTP_STATUS_CODE,
            i64::from(status.as_u16()),
        ));
        if response.extensions().get::<InjectedFailure>().is_some() {
            span.set_attribute(KeyValue::new(
                attr::ERROR_TYPE,
                error_type::INJECTED_FAILURE,
            ));
            span.set_status(Status::error("injected failure"));
        } else if status.is_server_error() {
            span.set_attribute(KeyValue::new(attr::ERROR_TYPE, status.as_str().to_owned()));
            span.set_status(Status::error(""));
        }
        span.end();
    }

    /// Starts the client span of a callback to `url`, a child of the server span; `via` is
    /// the proxy address it is sent through, if any.
    pub(crate) fn callback(
        &self,
        tracer: &SdkTracer,
        name: &UpstreamName,
        url: &Uri,
        via: Option<&str>,
    ) -> CallbackTrace {
        let mut attributes = vec![
            KeyValue::new(attr::HTTP_METHOD, Method::POST.as_str()),
            KeyValue::new(attr::URL_FULL, url.to_string()),
            KeyValue::new(
                attr::SERVER_ADDRESS,
                url.host().unwrap_or_default().to_owned(),
            ),
            KeyValue::new(attr::SERVER_PORT, i64::from(url.port_u16().unwrap_or(80))),
            KeyValue::new(attr::UPSTREAM_NAME, name.as_str().to_owned()),
        ];
        if let Some(via) = via {
            attributes.push(KeyValue::new(attr::NETWORK_PEER_ADDRESS, via.to_owned()));
        }
        let span = tracer
            .span_builder(span::UPSTREAM_CALLBACK)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, &self.cx);
        let outgoing = self.outgoing(span.span_context());
        CallbackTrace { span, outgoing }
    }

    /// The context a request made from span `client` carries: our trace id, `parent-id` =
    /// the client span, its sampled decision, and the caller's `tracestate`.
    fn outgoing(&self, client: &SpanContext) -> Option<TraceContext> {
        let flags = self.flags.with_sampled(client.is_sampled());
        TraceParent::new(client.trace_id().into(), client.span_id().into(), flags)
            .ok()
            .map(|parent| TraceContext::new(parent, self.state.clone()))
    }
}

/// The SDK parent for a valid incoming `traceparent`: remote, sampled bit only (the SDK's
/// parent-based sampler reads nothing else), no SDK trace state (ours travels separately).
fn remote_parent(caller: &TraceParent) -> Context {
    let flags = opentelemetry::trace::TraceFlags::new(caller.flags().bits() & 1);
    let parent = SpanContext::new(
        caller.trace_id().into(),
        caller.parent_id().into(),
        flags,
        true,
        opentelemetry::trace::TraceState::NONE,
    );
    Context::new().with_remote_span_context(parent)
}

// === impl CallbackTrace ===

impl CallbackTrace {
    /// What the callback request carries in `traceparent`/`tracestate`.
    pub(crate) fn outgoing(&self) -> Option<&TraceContext> {
        self.outgoing.as_ref()
    }

    /// Records an answer and ends the span; 4xx and 5xx are errors for a client span.
    pub(crate) fn answered(mut self, status: StatusCode) {
        self.span.set_attribute(KeyValue::new(
            attr::HTTP_STATUS_CODE,
            i64::from(status.as_u16()),
        ));
        if status.is_client_error() || status.is_server_error() {
            self.span
                .set_attribute(KeyValue::new(attr::ERROR_TYPE, status.as_str().to_owned()));
            self.span.set_status(Status::error(""));
        }
        self.span.end();
    }

    /// Records a failure without an answer (`error_type` from [`error_type`]) and ends the
    /// span.
    pub(crate) fn failed(mut self, error_type: &'static str, message: String) {
        self.span
            .set_attribute(KeyValue::new(attr::ERROR_TYPE, error_type));
        self.span.set_status(Status::error(message));
        self.span.end();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use http::HeaderValue;
    use observability::telemetry::{FileSettings, Settings, Telemetry};
    use opentelemetry::trace::{SpanId, TraceId};
    use opentelemetry::{Key, Value};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SpanData, SpanExporter};

    use super::*;
    use crate::upstream::respond;

    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT_ID: &str = "00f067aa0ba902b7";

    #[derive(Debug, Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Recorder {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.lock().unwrap().extend(batch);
            Ok(())
        }
    }

    struct Fixture {
        telemetry: Telemetry,
        recorder: Recorder,
        name: UpstreamName,
    }

    impl Fixture {
        fn new(ratio: f64) -> Self {
            let file = FileSettings {
                service_name: Some("users".into()),
                sampling_ratio: Some(ratio),
                ..FileSettings::default()
            };
            let settings = Settings::resolve(&file, "test", |_| None).unwrap();
            let recorder = Recorder::default();
            let exporter = recorder.clone();
            let telemetry = Telemetry::with_exporter(&settings, move || Some(exporter)).unwrap();
            Fixture {
                telemetry,
                recorder,
                name: "users".parse().unwrap(),
            }
        }

        fn start(&self, traceparent: Option<&str>, tracestate: Option<&str>) -> RequestTrace {
            let mut headers = HeaderMap::new();
            if let Some(value) = traceparent {
                headers.insert("traceparent", HeaderValue::from_str(value).unwrap());
            }
            if let Some(value) = tracestate {
                headers.insert("tracestate", HeaderValue::from_str(value).unwrap());
            }
            let tracer = self.telemetry.tracer();
            RequestTrace::start(tracer, &self.name, &Method::GET, "/api/x", &headers)
        }

        fn ok(&self) -> Response<Body> {
            respond::json(&self.name, StatusCode::OK, &serde_json::json!({}))
        }

        fn spans(&self) -> Vec<SpanData> {
            self.telemetry.flush().unwrap();
            self.recorder.0.lock().unwrap().clone()
        }
    }

    fn attribute(span: &SpanData, key: &'static str) -> Option<Value> {
        let key = Key::from_static_str(key);
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| kv.value.clone())
    }

    fn sampled_parent() -> String {
        format!("00-{TRACE_ID}-{PARENT_ID}-01")
    }

    #[test]
    fn request_trace_with_sampled_traceparent_continues_the_trace() {
        let fx = Fixture::new(0.0);
        fx.start(Some(&sampled_parent()), Some("congo=t61rcWkgMzE"))
            .finish(&fx.ok());

        let spans = fx.spans();
        let [server] = spans.as_slice() else {
            panic!("{spans:?}")
        };
        assert_eq!(server.name, span::UPSTREAM_REQUEST);
        assert_eq!(server.span_kind, SpanKind::Server);
        assert_eq!(
            server.span_context.trace_id(),
            TraceId::from_hex(TRACE_ID).unwrap()
        );
        assert_eq!(server.parent_span_id, SpanId::from_hex(PARENT_ID).unwrap());
        assert!(server.parent_span_is_remote);
        assert_eq!(attribute(server, attr::HTTP_METHOD), Some("GET".into()));
        assert_eq!(attribute(server, attr::URL_PATH), Some("/api/x".into()));
        assert_eq!(attribute(server, attr::UPSTREAM_NAME), Some("users".into()));
        assert_eq!(
            attribute(server, attr::HTTP_STATUS_CODE),
            Some(200_i64.into())
        );
        assert_eq!(attribute(server, attr::ERROR_TYPE), None);
        assert_eq!(server.status, Status::Unset);
    }

    #[test]
    fn request_trace_with_unsampled_traceparent_records_nothing() {
        let fx = Fixture::new(1.0);
        let trace = fx.start(Some(&format!("00-{TRACE_ID}-{PARENT_ID}-00")), None);
        let callback = trace.callback(
            fx.telemetry.tracer(),
            &fx.name,
            &"http://h:1/cb".parse().unwrap(),
            None,
        );
        let outgoing = callback.outgoing().unwrap().clone();
        callback.answered(StatusCode::OK);
        trace.finish(&fx.ok());

        assert_eq!(fx.spans().len(), 0);
        // The trace still propagates, unsampled.
        assert_eq!(outgoing.trace_id().to_string(), TRACE_ID);
        assert!(!outgoing.parent.flags().is_sampled());
        assert_ne!(outgoing.parent.parent_id().to_string(), PARENT_ID);
    }

    #[test]
    fn request_trace_with_invalid_or_missing_traceparent_starts_a_new_root() {
        let fx = Fixture::new(1.0);
        let invalid = format!("00-{TRACE_ID}-{PARENT_ID}-0x");
        for traceparent in [Some(invalid.as_str()), None] {
            let trace = fx.start(traceparent, Some("congo=t61rcWkgMzE"));
            let callback = trace.callback(
                fx.telemetry.tracer(),
                &fx.name,
                &"http://h/".parse().unwrap(),
                None,
            );
            let outgoing = callback.outgoing().unwrap().clone();
            callback.answered(StatusCode::OK);
            trace.finish(&fx.ok());
            // A new trace drops the tracestate of the one it did not continue.
            assert!(outgoing.state.is_empty(), "{traceparent:?}");
            assert_eq!(
                outgoing.parent.flags(),
                TraceFlags::RANDOM_TRACE_ID.with_sampled(true)
            );
        }
        let spans = fx.spans();
        let roots: Vec<_> = spans
            .iter()
            .filter(|s| s.span_kind == SpanKind::Server)
            .collect();
        assert_eq!(roots.len(), 2);
        for root in roots {
            assert_ne!(
                root.span_context.trace_id(),
                TraceId::from_hex(TRACE_ID).unwrap()
            );
            assert_eq!(root.parent_span_id, SpanId::INVALID);
        }
    }

    #[test]
    fn request_trace_for_new_trace_follows_the_ratio() {
        let fx = Fixture::new(0.0);
        fx.start(None, None).finish(&fx.ok());
        assert_eq!(fx.spans().len(), 0);
    }

    #[test]
    fn finish_with_injected_failure_is_an_error_of_that_type() {
        let fx = Fixture::new(1.0);
        let failure = respond::injected_failure(&fx.name, StatusCode::TOO_MANY_REQUESTS);
        fx.start(None, None).finish(&failure);
        let unhealthy = respond::json(
            &fx.name,
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({}),
        );
        fx.start(None, None).finish(&unhealthy);

        let spans = fx.spans();
        assert_eq!(
            attribute(&spans[0], attr::ERROR_TYPE),
            Some(error_type::INJECTED_FAILURE.into())
        );
        assert_eq!(
            attribute(&spans[0], attr::HTTP_STATUS_CODE),
            Some(429_i64.into())
        );
        assert_eq!(spans[0].status, Status::error("injected failure"));
        assert_eq!(attribute(&spans[1], attr::ERROR_TYPE), Some("503".into()));
        assert!(matches!(spans[1].status, Status::Error { .. }));
    }

    #[test]
    fn callback_span_is_a_client_child_and_its_id_goes_out_as_parent_id() {
        let fx = Fixture::new(1.0);
        let trace = fx.start(
            Some(&sampled_parent()),
            Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        );
        let url: Uri = "http://127.0.0.1:7777/callback/a.0".parse().unwrap();
        let first = trace.callback(fx.telemetry.tracer(), &fx.name, &url, Some("gw:8080"));
        let first_out = first.outgoing().unwrap().clone();
        first.answered(StatusCode::SERVICE_UNAVAILABLE);
        let second = trace.callback(fx.telemetry.tracer(), &fx.name, &url, None);
        second.failed(error_type::TIMEOUT, "no answer within 5s".into());
        trace.finish(&fx.ok());

        let spans = fx.spans();
        let [first, second, server] = spans.as_slice() else {
            panic!("{spans:?}")
        };
        assert_eq!(first.name, span::UPSTREAM_CALLBACK);
        assert_eq!(first.span_kind, SpanKind::Client);
        assert_eq!(first.parent_span_id, server.span_context.span_id());
        assert!(!first.parent_span_is_remote);
        assert_eq!(
            first.span_context.trace_id(),
            server.span_context.trace_id()
        );
        assert_eq!(
            first_out.to_string_pair(),
            (
                format!("00-{TRACE_ID}-{}-01", first.span_context.span_id()),
                Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".to_owned())
            )
        );
        assert_eq!(
            attribute(first, attr::URL_FULL),
            Some(url.to_string().into())
        );
        assert_eq!(
            attribute(first, attr::SERVER_ADDRESS),
            Some("127.0.0.1".into())
        );
        assert_eq!(attribute(first, attr::SERVER_PORT), Some(7777_i64.into()));
        assert_eq!(
            attribute(first, attr::NETWORK_PEER_ADDRESS),
            Some("gw:8080".into())
        );
        assert_eq!(
            attribute(first, attr::HTTP_STATUS_CODE),
            Some(503_i64.into())
        );
        assert_eq!(attribute(first, attr::ERROR_TYPE), Some("503".into()));
        assert_eq!(attribute(second, attr::NETWORK_PEER_ADDRESS), None);
        assert_eq!(
            attribute(second, attr::ERROR_TYPE),
            Some(error_type::TIMEOUT.into())
        );
        assert_eq!(second.status, Status::error("no answer within 5s"));
    }

    trait HeaderPair {
        fn to_string_pair(&self) -> (String, Option<String>);
    }

    impl HeaderPair for TraceContext {
        fn to_string_pair(&self) -> (String, Option<String>) {
            (self.parent.to_string(), self.state.header_value())
        }
    }
}
