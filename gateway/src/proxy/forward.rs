//! The innermost service of a route: pick an endpoint, send the request over the pooled
//! client, and turn transport failures into typed [`ProxyError`]s.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::{Authority, Scheme, Uri};
use http::{HeaderValue, Request, Response, header};
use tower::Service;

use super::ClientAddr;
use super::body::ProxyBody;
use super::client::HttpClient;
use super::headers::remove_hop_by_hop;
use crate::balance::PickContext;
use crate::errors::{BoxError, ProxyError};
use crate::route::HostHeader;
use crate::upstream::Upstream;

/// Sends one attempt to one endpoint of an upstream.
#[derive(Debug, Clone)]
pub(crate) struct Forward {
    upstream: Arc<Upstream>,
    client: HttpClient,
    timeout: Duration,
    host_header: HostHeader,
}

impl Forward {
    pub(crate) fn new(
        upstream: Arc<Upstream>,
        client: HttpClient,
        timeout: Duration,
        host_header: HostHeader,
    ) -> Self {
        Self {
            upstream,
            client,
            timeout,
            host_header,
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

    fn call(&mut self, mut request: Request<ProxyBody>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let client_ip = request
                .extensions()
                .get::<ClientAddr>()
                .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
            let endpoint = this.upstream.select(&PickContext {
                client_ip,
                headers: request.headers(),
            })?;
            let address = endpoint.address().to_owned();
            let upstream = this.upstream.name().to_owned();
            let authority: Authority = address.parse().map_err(|e| ProxyError::Connect {
                upstream: upstream.clone(),
                endpoint: address.clone(),
                source: Box::new(e),
            })?;
            let path = request.uri().path_and_query().cloned();
            let mut parts = http::uri::Parts::default();
            parts.scheme = Some(Scheme::HTTP);
            parts.authority = Some(authority);
            parts.path_and_query = path.or_else(|| Some(http::uri::PathAndQuery::from_static("/")));
            *request.uri_mut() = Uri::from_parts(parts).map_err(|e| ProxyError::Connect {
                upstream: upstream.clone(),
                endpoint: address.clone(),
                source: Box::new(e),
            })?;
            // Upstream connections are HTTP/1.1 whatever the client spoke.
            *request.version_mut() = http::Version::HTTP_11;
            match &this.host_header {
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

            let guard = endpoint.begin();
            let sent = tokio::time::timeout(this.timeout, this.client.request(request)).await;
            match sent {
                Err(_elapsed) => Err(ProxyError::Timeout {
                    upstream,
                    endpoint: address,
                    timeout: this.timeout,
                }),
                Ok(Err(error)) => Err(classify(
                    error,
                    upstream,
                    address,
                    this.upstream.config().connect_timeout,
                )),
                Ok(Ok(response)) => {
                    guard.observe_response();
                    let (mut parts, body) = response.into_parts();
                    remove_hop_by_hop(&mut parts.headers);
                    Ok(Response::from_parts(
                        parts,
                        ProxyBody::new(body).with_guard(guard),
                    ))
                }
            }
        })
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
