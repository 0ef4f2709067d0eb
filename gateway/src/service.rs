//! The outermost request handler: route lookup, the route's stack, and the single conversion
//! of errors into responses; it records the request's server span, metrics and access log.
//! It never fails: every outcome is a response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::{Request, Response};
use observability::names::attr;
use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt as _;
use prometheus_client::metrics::gauge::Gauge;
use tokio::time::Instant;
use tracing::debug;

use crate::errors::{ProxyError, respond};
use crate::instrument::{RequestTrace, SpanEnd, fail};
use crate::metrics::{Method, RequestLabels, RouteLabels};
use crate::proxy::body::{EndGuard, ProxyBody};
use crate::proxy::body_limit::{LimitedBody, declared_too_large};
use crate::proxy::prepare;
use crate::routing::{RequestView, normalize_path, request_host};
use crate::state::GatewayState;

/// Proxies one request from `client`.
pub(crate) async fn handle<B>(
    state: Arc<GatewayState>,
    mut request: Request<B>,
    client: SocketAddr,
) -> Response<ProxyBody>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<crate::errors::BoxError>,
{
    let started = Instant::now();
    let instruments = state.instruments();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let trace = instruments.start_request(request.headers(), &method, &path, client);
    request.extensions_mut().insert(trace.clone());

    let runtime = state.runtime();
    // Listener TLS is fixed at start and kept by every reload, so the running config says
    // which scheme this client used.
    let proto = if runtime.config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    // Route, rewrite and forward one form of the path: the normalised one.
    // The body limit of the version this request started on.
    let max_body = runtime.config.limits.max_body_bytes;
    let normal = normalize_path(&path);
    let route = match &normal {
        Ok(normal) => {
            let host = request_host(request.uri(), request.headers());
            let view = RequestView {
                host: host.as_deref(),
                path: normal,
                method: &method,
                headers: request.headers(),
            };
            runtime.table.find(&view).cloned()
        }
        Err(_) => None,
    };
    let route_label = route
        .as_ref()
        .map_or_else(|| instruments.no_route_label(), |r| Arc::clone(&r.label));

    // A guard, not inc/dec around the await: when the client goes away hyper drops this
    // future mid-await, and the gauge must still come down.
    let in_flight = InFlightGauge::enter(
        instruments
            .metrics
            .in_flight
            .get_or_create(&RouteLabels {
                route: Arc::clone(&route_label),
            })
            .clone(),
    );
    let result = match (&route, normal) {
        (_, Err(rejection)) => Err(ProxyError::BadPath(rejection)),
        (None, Ok(_)) => Err(ProxyError::NoRoute {
            method: method.clone(),
            path: path.clone(),
        }),
        (Some(_), Ok(_))
            if max_body.is_some_and(|limit| declared_too_large(request.headers(), limit)) =>
        {
            Err(ProxyError::PayloadTooLarge {
                limit: max_body.unwrap_or_default(),
            })
        }
        (Some(route), Ok(normal)) => {
            let request = request.map(|body| LimitedBody::new(body, max_body));
            match prepare(route.config(), request, &normal, client, proto) {
                Ok(prepared) => route.pipeline.handle(prepared).await,
                Err(e) => Err(e),
            }
        }
    };
    drop(in_flight);
    let elapsed = started.elapsed();

    let (response, error_kind) = match result {
        Ok(response) => (response, None),
        Err(error) => {
            debug!(error = %error, kind = error.kind(), "Request failed");
            (respond(&error), Some(error.kind()))
        }
    };
    let status = response.status();
    let metrics = &instruments.metrics;
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route: Arc::clone(&route_label),
            method: Method::from(&method),
            status_class: status.into(),
        })
        .inc();
    metrics
        .request_duration
        .get_or_create(&RouteLabels { route: route_label })
        .observe(elapsed.as_secs_f64());

    let upstream = route.as_ref().map(|r| r.config().upstream.as_str());
    record_span(
        &trace,
        route.as_ref().map(|r| r.config().name.as_str()),
        upstream,
        status,
        error_kind,
    );
    if instruments.access_log {
        let span_context = trace.cx.span().span_context().clone();
        tracing::info!(
            target: "access",
            trace_id = %span_context.trace_id(),
            span_id = %span_context.span_id(),
            client = %client.ip(),
            method = %method,
            path = %path,
            route = route.as_ref().map_or("", |r| r.config().name.as_str()),
            upstream = upstream.unwrap_or(""),
            status = status.as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            error = error_kind.unwrap_or(""),
            attempts = trace.attempts.load(Ordering::Relaxed),
            "Request served"
        );
    }
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, body.with_guard(EndGuard::Span(SpanEnd(trace.cx))))
}

/// Counts a request in `gateway_http_requests_in_flight` while it lives.
struct InFlightGauge(Gauge);

impl InFlightGauge {
    fn enter(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlightGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Final attributes of the server span.
fn record_span(
    trace: &RequestTrace,
    route: Option<&str>,
    upstream: Option<&str>,
    status: http::StatusCode,
    error_kind: Option<&'static str>,
) {
    let span = trace.cx.span();
    let mut attributes = vec![
        KeyValue::new(attr::HTTP_STATUS_CODE, i64::from(status.as_u16())),
        KeyValue::new(
            attr::ATTEMPTS,
            i64::from(trace.attempts.load(Ordering::Relaxed)),
        ),
    ];
    if let Some(route) = route {
        attributes.push(KeyValue::new(attr::HTTP_ROUTE, route.to_owned()));
    }
    if let Some(upstream) = upstream {
        attributes.push(KeyValue::new(attr::UPSTREAM, upstream.to_owned()));
    }
    span.set_attributes(attributes);
    // Semantic conventions: a server span is an error for 5xx only (4xx is the client's).
    if status.is_server_error() {
        fail(&trace.cx, error_kind.unwrap_or("http_5xx"));
    }
}
