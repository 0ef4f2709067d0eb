//! The innermost service of a route: pick an endpoint, send the request over the pooled
//! client, and turn transport failures into typed [`ProxyError`]s; each attempt is a client
//! span, a metric sample and an in-flight mark on the endpoint.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::{Scheme, Uri};
use http::{HeaderValue, Request, Response, header};
use observability::names::{attr, outcome};
use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt as _;
use tokio::time::Instant;
use tower::Service;

use super::ClientAddr;
use super::body::{EndGuard, ProxyBody};
use super::client::HttpClient;
use super::headers::remove_hop_by_hop;
use crate::balance::PickContext;
use crate::errors::{BoxError, ProxyError};
use crate::instrument::{Instruments, RequestTrace, SpanEnd, fail};
use crate::metrics::{AttemptLabels, UpstreamLabels};
use crate::route::HostHeader;
use crate::upstream::Upstream;

/// Sends one attempt to one endpoint of an upstream.
#[derive(Debug, Clone)]
pub(crate) struct Forward {
    upstream: Arc<Upstream>,
    client: HttpClient,
    timeout: Duration,
    host_header: HostHeader,
    instruments: Arc<Instruments>,
}

impl Forward {
    pub(crate) fn new(
        upstream: Arc<Upstream>,
        client: HttpClient,
        timeout: Duration,
        host_header: HostHeader,
        instruments: Arc<Instruments>,
    ) -> Self {
        Self {
            upstream,
            client,
            timeout,
            host_header,
            instruments,
        }
    }
}

impl Service<Request<ProxyBody>> for Forward {
    type Response = Response<ProxyBody>;
    type Error = ProxyError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, ProxyError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        // The pooled client queues internally; readiness is decided per endpoint below.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ProxyBody>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.attempt(request).await })
    }
}

impl Forward {
    async fn attempt(
        self,
        mut request: Request<ProxyBody>,
    ) -> Result<Response<ProxyBody>, ProxyError> {
        let client_ip = request
            .extensions()
            .get::<ClientAddr>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        let endpoint = self.upstream.select(&PickContext {
            client_ip,
            headers: request.headers(),
        })?;
        let address = endpoint.address().to_owned();
        let upstream = self.upstream.name().to_owned();
        let Some(authority) = endpoint.authority().cloned() else {
            let source = format!("endpoint address {address} is not a URI authority").into();
            return Err(ProxyError::Connect { upstream, endpoint: address, source });
        };
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(Scheme::HTTP);
        parts.authority = Some(authority);
        parts.path_and_query = request
            .uri()
            .path_and_query()
            .cloned()
            .or_else(|| Some(http::uri::PathAndQuery::from_static("/")));
        *request.uri_mut() = Uri::from_parts(parts).map_err(|e| ProxyError::Connect {
            upstream: upstream.clone(),
            endpoint: address.clone(),
            source: Box::new(e),
        })?;
        // Upstream connections are HTTP/1.1 whatever the client spoke.
        *request.version_mut() = http::Version::HTTP_11;
        match &self.host_header {
            HostHeader::Preserve => {}
            HostHeader::Endpoint => {
                if let Ok(v) = HeaderValue::from_str(&address) {
                    request.headers_mut().insert(header::HOST, v);
                }
            }
            HostHeader::Set(v) => {
                request.headers_mut().insert(header::HOST, v.clone());
            }
        }

        let trace = request.extensions().get::<RequestTrace>().cloned();
        if let Some(t) = &trace {
            t.attempts.fetch_add(1, Ordering::Relaxed);
        }
        let span = self.instruments.start_attempt(
            trace.as_ref(),
            &upstream,
            &address,
            request.headers_mut(),
        );
        let in_flight = endpoint.begin();
        let started = Instant::now();
        let sent = tokio::time::timeout(self.timeout, self.client.request(request)).await;
        let elapsed = started.elapsed();

        let result = match sent {
            Err(_elapsed) => Err(ProxyError::Timeout {
                upstream,
                endpoint: address,
                timeout: self.timeout,
            }),
            Ok(Err(error)) => Err(classify(
                error,
                upstream,
                address,
                self.upstream.config().connect_timeout,
            )),
            Ok(Ok(response)) => Ok(response),
        };
        let outcome = match &result {
            Ok(r) if r.status().is_server_error() => outcome::HTTP_5XX,
            Ok(_) => outcome::OK,
            Err(e) => e.kind(),
        };
        let label = self.upstream.label();
        let metrics = &self.instruments.metrics;
        metrics
            .upstream_requests
            .get_or_create(&AttemptLabels {
                upstream: label.clone(),
                outcome,
            })
            .inc();
        metrics
            .upstream_duration
            .get_or_create(&UpstreamLabels { upstream: label })
            .observe(elapsed.as_secs_f64());
        let attempt = span.span();
        attempt.set_attribute(KeyValue::new(attr::OUTCOME, outcome));
        if outcome != outcome::OK {
            fail(&span, outcome);
        }

        let response = result?;
        attempt.set_attribute(KeyValue::new(
            attr::HTTP_STATUS_CODE,
            i64::from(response.status().as_u16()),
        ));
        in_flight.observe_response();
        let (mut parts, body) = response.into_parts();
        remove_hop_by_hop(&mut parts.headers);
        let body = ProxyBody::new(body)
            .with_guard(EndGuard::InFlight(in_flight))
            .with_guard(EndGuard::Span(SpanEnd(span)));
        Ok(Response::from_parts(parts, body))
    }
}

/// Maps a client error to connect failure, connect timeout or I/O failure.
fn classify(
    error: hyper_util::client::legacy::Error,
    upstream: String,
    endpoint: String,
    connect_timeout: Duration,
) -> ProxyError {
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
