//! Listeners: the accept loop serving HTTP/1.1 and HTTP/2 on one port, cleartext (HTTP/2 by
//! prior knowledge) or behind TLS (HTTP/2 when ALPN says `h2`), and graceful drain on shutdown.
//!
//! With TLS, each accepted connection is handed to its own task at once, so a slow or stalled
//! handshake never holds up the accept loop; the handshake is bounded by its own timeout.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use crate::config::ServerLimits;
use crate::proxy::body::ProxyBody;
use crate::tls::server::{Negotiated, TlsTerminator};

/// How a listener's drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Every connection finished its in-flight requests and closed.
    Complete,
    /// The deadline passed with connections still open; they were closed.
    DeadlineReached,
}

/// Serves `listener` with `handler` until `shutdown` resolves, then stops accepting and waits
/// up to `drain_timeout()` (read then, so a reloaded value applies) for in-flight requests. HTTP/1.1 connections get `Connection: close`
/// on their last response and HTTP/2 connections a GOAWAY. With `tls`, connections still in
/// their handshake when the drain starts are waited for too (the handshake timeout bounds them).
pub(crate) async fn serve<H, F>(
    name: &'static str,
    listener: TcpListener,
    limits: ServerLimits,
    tls: Option<TlsTerminator>,
    handler: H,
    shutdown: impl Future<Output = ()>,
    drain_timeout: impl FnOnce() -> Duration,
) -> DrainOutcome
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<ProxyBody>> + Send + 'static,
{
    let builder = builder(&limits);
    // At most `max_connections` connections: past it, new ones wait in the listen backlog.
    let slots = limits.max_connections.map(|n| Arc::new(Semaphore::new(n)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        let slot = match &slots {
            Some(slots) => tokio::select! {
                () = &mut shutdown => break,
                permit = Arc::clone(slots).acquire_owned() => permit.ok(),
            },
            None => None,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    warn!(listener = name, %error, "Accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%error, "Cannot set TCP_NODELAY");
        }
        let handler = handler.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let response = handler(request, peer);
            async move { Ok::<_, Infallible>(response.await) }
        });
        let Some(tls) = &tls else {
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _slot = slot;
                if let Err(error) = connection.await {
                    debug!(%peer, error = %error, "Connection ended with an error");
                }
            });
            continue;
        };
        let (tls, builder, watcher) = (tls.clone(), builder.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _slot = slot;
            let Some((stream, negotiated)) = tls.handshake(stream, peer).await else {
                return;
            };
            // ALPN decided the protocol: serve only that one rather than sniffing the preface.
            let builder = match negotiated {
                Negotiated::Http2 => builder.http2_only(),
                Negotiated::Http1 => builder.http1_only(),
                Negotiated::None => builder,
            };
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                debug!(%peer, error = %error, "Connection ended with an error");
            }
        });
    }
    drop(listener);
    let drain_timeout = drain_timeout();
    info!(listener = name, timeout = ?drain_timeout, "Draining connections");
    tokio::select! {
        () = graceful.shutdown() => DrainOutcome::Complete,
        () = tokio::time::sleep(drain_timeout) => {
            warn!(listener = name, timeout = ?drain_timeout, "Drain deadline reached with requests still in flight");
            DrainOutcome::DeadlineReached
        }
    }
}

/// The connection builder with the listener's limits: HTTP/1.1 head size, header count and
/// read timeout (431 beyond the size; the connection closed past the timeout), HTTP/2
/// stream and reset limits (rapid-reset protection) and header-list size.
fn builder(limits: &ServerLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        // The read buffer bounds the request head: hyper answers 431 when a head outgrows it.
        .max_buf_size(limits.max_header_bytes)
        .max_headers(limits.max_headers)
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .max_pending_accept_reset_streams(limits.http2_max_pending_reset_streams)
        .max_local_error_reset_streams(limits.http2_max_local_error_reset_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    builder
}
