//! The HTTP/1.1 client the generator sends with, and the mapping of its failures to
//! [`ErrorKind`]s.
//!
//! hyper-util's legacy client with a keep-alive pool; a resolver of our own so a DNS failure
//! is a typed cause in the error chain rather than a message to match.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use observability::names::header;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::record::ErrorKind;

/// Longest header value kept in a record; longer ones are cut (the headers we read are
/// short names, this only bounds memory against a misbehaving server).
const MAX_HEADER_VALUE: usize = 256;

/// A pooled HTTP/1.1 client; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct LoadClient {
    http: Client<HttpConnector<Resolver>, Full<Bytes>>,
}

/// What came back for one request: a complete response (`result` is `Ok`) or a failure, with
/// whatever arrived before it.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub(crate) status: Option<StatusCode>,
    pub(crate) headers_at: Option<Instant>,
    pub(crate) body_bytes: u64,
    pub(crate) fallback: Option<String>,
    pub(crate) upstream: Option<String>,
}

/// Resolves host names with the system resolver, failing with [`DnsError`].
#[derive(Clone, Copy, Debug, Default)]
struct Resolver;

/// A host name that did not resolve to any address.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}")]
struct DnsError {
    host: String,
    #[source]
    source: Option<io::Error>,
}

// === impl LoadClient ===

impl LoadClient {
    /// A client with `connect_timeout` per connection and up to `max_idle` idle keep-alive
    /// connections to the target.
    pub(crate) fn new(connect_timeout: Duration, max_idle: usize) -> Self {
        let mut connector = HttpConnector::new_with_resolver(Resolver);
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(max_idle)
            .build(connector);
        LoadClient { http }
    }

    /// Sends `request` and reads the whole response until `deadline`, or until `abort`
    /// fires. `Ok` means a complete response; the reply holds what arrived either way.
    pub(crate) async fn send(
        &self,
        request: Request<Full<Bytes>>,
        deadline: Instant,
        abort: &CancellationToken,
    ) -> (Reply, Result<(), ErrorKind>) {
        let mut reply = Reply::default();
        let result = tokio::select! {
            // Abort first: a cancelled run must not wait for a slow body.
            biased;
            () = abort.cancelled() => Err(ErrorKind::Cancelled),
            done = tokio::time::timeout_at(deadline, self.exchange(request, &mut reply)) => {
                done.unwrap_or(Err(ErrorKind::Timeout))
            }
        };
        (reply, result)
    }

    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        reply: &mut Reply,
    ) -> Result<(), ErrorKind> {
        let response = self.http.request(request).await.map_err(|e| classify(&e))?;
        reply.headers_at = Some(Instant::now());
        reply.status = Some(response.status());
        reply.fallback = header_text(response.headers(), header::FALLBACK);
        reply.upstream = header_text(response.headers(), header::UPSTREAM);
        // Counted, not buffered: a large body costs no memory.
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| classify(&e))?;
            if let Some(data) = frame.data_ref() {
                reply.body_bytes += data.len() as u64;
            }
        }
        Ok(())
    }
}

/// A response header as text (lossy, cut at [`MAX_HEADER_VALUE`] bytes), if present.
fn header_text(headers: &HeaderMap, name: &'static str) -> Option<String> {
    let value = headers.get(HeaderName::from_static(name))?.as_bytes();
    let kept = value.get(..MAX_HEADER_VALUE).unwrap_or(value);
    Some(String::from_utf8_lossy(kept).into_owned())
}

/// Maps a client or body error to its kind, by the causes in its chain: our resolver's
/// [`DnsError`], hyper's own classification, then the first `io::Error`'s kind.
///
/// hyper-util marks every failure to establish a connection `is_connect`; among those a
/// `TimedOut` I/O error is the connector's own deadline (`connect_timeout`).
fn classify(error: &(dyn StdError + 'static)) -> ErrorKind {
    if cause::<DnsError>(error).is_some() {
        return ErrorKind::Dns;
    }
    let io_kind = cause::<io::Error>(error).map(io::Error::kind);
    let connecting =
        cause::<hyper_util::client::legacy::Error>(error).is_some_and(|e| e.is_connect());
    if connecting {
        return match io_kind {
            Some(io::ErrorKind::ConnectionRefused) => ErrorKind::Refused,
            Some(io::ErrorKind::TimedOut) => ErrorKind::ConnectTimeout,
            Some(io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
                ErrorKind::Reset
            }
            _ => ErrorKind::Other,
        };
    }
    if let Some(hyper) = cause::<hyper::Error>(error) {
        if hyper.is_parse() || hyper.is_parse_status() || hyper.is_parse_too_large() {
            return ErrorKind::Protocol;
        }
        // The server closed the connection before a whole response head.
        if hyper.is_incomplete_message() {
            return ErrorKind::Reset;
        }
        if hyper.is_timeout() {
            return ErrorKind::Timeout;
        }
    }
    match io_kind {
        // `UnexpectedEof`: the body ended before its announced length.
        Some(
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof,
        ) => ErrorKind::Reset,
        Some(io::ErrorKind::ConnectionRefused) => ErrorKind::Refused,
        Some(io::ErrorKind::TimedOut) => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    }
}

/// The first error of type `E` in `error`'s chain, `error` included.
fn cause<'a, E: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

// === impl Resolver ===

impl tower::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = DnsError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, DnsError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), DnsError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        Box::pin(async move {
            let host = name.as_str();
            // Port 0: the connector puts the target's port in afterwards.
            match tokio::net::lookup_host((host, 0)).await {
                Ok(addrs) => {
                    let addrs: Vec<SocketAddr> = addrs.collect();
                    if addrs.is_empty() {
                        Err(DnsError {
                            host: host.to_owned(),
                            source: None,
                        })
                    } else {
                        Ok(addrs.into_iter())
                    }
                }
                Err(source) => Err(DnsError {
                    host: host.to_owned(),
                    source: Some(source),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("wrapper")]
    struct Wrapper(#[source] Box<dyn StdError + Send + Sync>);

    #[test]
    fn classify_reads_the_io_kind_anywhere_in_the_chain() {
        let reset = Wrapper(Box::new(io::Error::from(io::ErrorKind::ConnectionReset)));
        assert_eq!(classify(&reset), ErrorKind::Reset);
        let eof = Wrapper(Box::new(io::Error::from(io::ErrorKind::UnexpectedEof)));
        assert_eq!(classify(&eof), ErrorKind::Reset);
        let other = Wrapper(Box::new(io::Error::other("odd")));
        assert_eq!(classify(&other), ErrorKind::Other);
    }

    #[test]
    fn classify_finds_a_dns_failure_under_the_connector_error() {
        let dns = DnsError {
            host: "nowhere".into(),
            source: Some(io::Error::other("no such host")),
        };
        assert_eq!(classify(&Wrapper(Box::new(dns))), ErrorKind::Dns);
    }

    #[test]
    fn header_text_is_cut_and_lossy() {
        let mut headers = HeaderMap::new();
        let long = "a".repeat(1_000);
        headers.insert(header::UPSTREAM, long.parse().unwrap());
        let kept = header_text(&headers, header::UPSTREAM).unwrap();
        assert_eq!(kept.len(), MAX_HEADER_VALUE);
        assert_eq!(header_text(&headers, header::FALLBACK), None);
    }
}
