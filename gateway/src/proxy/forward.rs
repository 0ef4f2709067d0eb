//! One attempt to one chosen endpoint: the upstream request line and `Host`, the client span
//! with its `traceparent`, the pooled client call under the per-try timeout, and the typing
//! of transport failures into [`ProxyError`]s.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::uri::{PathAndQuery, Scheme, Uri};
use http::{HeaderValue, Request, Response, header};
use observability::names::{attr, outcome};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, KeyValue};
use tokio::time::Instant;

use super::body::{EndGuard, ProxyBody};
use super::body_limit;
use super::client::HttpClient;
use super::headers::remove_hop_by_hop;
use crate::classify::{CallOutcome, Classifier};
use crate::errors::{BoxError, ProxyError};
use crate::instrument::{Instruments, RequestTrace, SpanEnd, fail};
use crate::metrics::{AttemptLabels, UpstreamLabels};
use crate::route::HostHeader;
use crate::upstream::{Selected, Upstream};

/// Sends attempts of one route to endpoints of its upstream.
#[derive(Debug, Clone)]
pub(crate) struct Forward {
    upstream: Arc<Upstream>,
    client: HttpClient,
    host_header: HostHeader,
    instruments: Arc<Instruments>,
}

/// What an attempt produced, classified.
#[derive(Debug)]
pub(crate) struct Sent {
    pub(crate) result: Result<Response<ProxyBody>, ProxyError>,
    /// The shared classifier's verdict; `None` when no call was made.
    pub(crate) outcome: Option<CallOutcome>,
    /// Time from sending to the response headers (or the failure).
    pub(crate) elapsed: Duration,
}

impl Forward {
    pub(crate) fn new(
        upstream: Arc<Upstream>,
        client: HttpClient,
        host_header: HostHeader,
        instruments: Arc<Instruments>,
    ) -> Self {
        Self {
            upstream,
            client,
            host_header,
            instruments,
        }
    }

    /// Sends `request` to `selected`, waiting at most `per_try` for the response headers.
    pub(crate) async fn send(
        &self,
        mut request: Request<ProxyBody>,
        selected: &Selected,
        number: u32,
        per_try: Option<Duration>,
    ) -> Sent {
        let endpoint = &selected.endpoint;
        let address = endpoint.address();
        let upstream = self.upstream.name();
        if let Err(error) = self.target(&mut request, selected) {
            return Sent {
                result: Err(error),
                outcome: None,
                elapsed: Duration::ZERO,
            };
        }
        let trace = request.extensions().get::<RequestTrace>().cloned();
        if let Some(t) = &trace {
            t.attempts.fetch_add(1, Ordering::Relaxed);
        }
        let span = self.instruments.start_attempt(
            trace.as_ref(),
            upstream,
            address,
            request.headers_mut(),
        );
        span.span()
            .set_attribute(KeyValue::new(attr::ATTEMPT, i64::from(number)));

        let in_flight = endpoint.begin();
        let started = Instant::now();
        let call = self.client.request(request);
        let sent = match per_try {
            Some(limit) => tokio::time::timeout(limit, call).await.map_err(|_| limit),
            None => Ok(call.await),
        };
        let elapsed = started.elapsed();
        let result = match sent {
            Err(limit) => Err(ProxyError::Timeout {
                upstream: upstream.to_owned(),
                endpoint: address.to_owned(),
                timeout: limit,
            }),
            Ok(Err(error)) => Err(classify_error(
                error,
                upstream,
                address,
                self.upstream.config().connect_timeout,
            )),
            Ok(Ok(response)) => Ok(response),
        };
        let classifier: &Classifier = &self.upstream.config().classifier;
        let outcome = match &result {
            Ok(response) => classifier.response(response.status()),
            Err(error) => error.call_outcome().unwrap_or(CallOutcome::Success),
        };
        self.record(&span, &result, outcome, elapsed);

        let result = result.map(|response| {
            in_flight.observe_response();
            let (mut parts, body) = response.into_parts();
            remove_hop_by_hop(&mut parts.headers);
            let body = ProxyBody::new(body)
                .with_guard(EndGuard::InFlight(in_flight))
                .with_guard(EndGuard::Span(SpanEnd(span)));
            Response::from_parts(parts, body)
        });
        Sent {
            result,
            outcome: Some(outcome),
            elapsed,
        }
    }

    /// Points the request at the endpoint: absolute URI, HTTP/1.1, `Host` per the route.
    fn target(
        &self,
        request: &mut Request<ProxyBody>,
        selected: &Selected,
    ) -> Result<(), ProxyError> {
        let address = selected.endpoint.address();
        let connect_error = |source: BoxError| ProxyError::Connect {
            upstream: self.upstream.name().to_owned(),
            endpoint: address.to_owned(),
            source,
        };
        let Some(authority) = selected.endpoint.authority().cloned() else {
            return Err(connect_error(
                format!("endpoint address {address} is not a URI authority").into(),
            ));
        };
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(if self.upstream.config().tls.is_some() {
            Scheme::HTTPS
        } else {
            Scheme::HTTP
        });
        parts.authority = Some(authority);
        parts.path_and_query = request
            .uri()
            .path_and_query()
            .cloned()
            .or_else(|| Some(PathAndQuery::from_static("/")));
        *request.uri_mut() = Uri::from_parts(parts).map_err(|e| connect_error(Box::new(e)))?;
        // Upstream connections are HTTP/1.1 whatever the client spoke.
        *request.version_mut() = http::Version::HTTP_11;
        match &self.host_header {
            HostHeader::Preserve => {}
            HostHeader::Endpoint => {
                if let Ok(v) = HeaderValue::from_str(address) {
                    request.headers_mut().insert(header::HOST, v);
                }
            }
            HostHeader::Set(v) => {
                request.headers_mut().insert(header::HOST, v.clone());
            }
        }
        Ok(())
    }

    /// Metrics and span attributes of one attempt.
    fn record<B>(
        &self,
        span: &Context,
        result: &Result<Response<B>, ProxyError>,
        outcome: CallOutcome,
        elapsed: Duration,
    ) {
        let label = match (result, outcome) {
            (Err(error), _) => error.kind(),
            (Ok(r), CallOutcome::Failure(_)) if r.status().is_client_error() => outcome::HTTP_4XX,
            (Ok(_), CallOutcome::Failure(failure)) => failure.label(),
            (Ok(r), CallOutcome::Success) if r.status().is_server_error() => outcome::HTTP_5XX,
            (Ok(_), CallOutcome::Success) => outcome::OK,
        };
        let metrics = &self.instruments.metrics;
        let upstream = self.upstream.label();
        metrics
            .upstream_requests
            .get_or_create(&AttemptLabels {
                upstream: upstream.clone(),
                outcome: label,
            })
            .inc();
        metrics
            .upstream_duration
            .get_or_create(&UpstreamLabels { upstream })
            .observe(elapsed.as_secs_f64());
        let attempt = span.span();
        attempt.set_attribute(KeyValue::new(attr::OUTCOME, label));
        if let Ok(response) = result {
            attempt.set_attribute(KeyValue::new(
                attr::HTTP_STATUS_CODE,
                i64::from(response.status().as_u16()),
            ));
        }
        if label != outcome::OK {
            fail(span, label);
        }
    }
}

/// Maps a client error to connect failure, connect timeout or I/O failure.
fn classify_error(
    error: hyper_util::client::legacy::Error,
    upstream: &str,
    endpoint: &str,
    connect_timeout: Duration,
) -> ProxyError {
    // The client's body passed `max_body_bytes` while streaming: the client's fault, not the
    // upstream's (no breaker failure, no retry, no fallback).
    if let Some(too_large) = body_limit::too_large_in(&error) {
        return ProxyError::PayloadTooLarge {
            limit: too_large.limit,
        };
    }
    // The client's body failed while we sent it (a malformed chunk, the client gone): also
    // the client's side, answered 400 if anyone still listens.
    if request_body_failed(&error) {
        return ProxyError::BadRequest {
            reason: "malformed or aborted request body",
        };
    }
    let (upstream, endpoint) = (upstream.to_owned(), endpoint.to_owned());
    let timed_out = io_kind(&error) == Some(std::io::ErrorKind::TimedOut);
    if error.is_connect() {
        if timed_out {
            // The connector's own deadline (`connect_timeout`).
            return ProxyError::ConnectTimeout {
                upstream,
                endpoint,
                timeout: connect_timeout,
            };
        }
        return ProxyError::Connect {
            upstream,
            endpoint,
            source: Box::new(error),
        };
    }
    ProxyError::UpstreamIo {
        upstream,
        endpoint,
        source: Box::new(error) as BoxError,
    }
}

/// Whether hyper's first error in the chain is a "user" error: for a request in flight, the
/// request body we were streaming failed, not the upstream.
fn request_body_failed(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = error.source();
    while let Some(e) = current {
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            return hyper.is_user();
        }
        current = e.source();
    }
    false
}

/// The kind of the first `io::Error` in the source chain.
fn io_kind(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current = error.source();
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = e.source();
    }
    None
}
