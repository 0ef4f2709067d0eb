//! The accept loop shared by the harness's small HTTP servers (the trace store's two
//! listeners, the chaos upstream, the fault proxy's API): HTTP/1.1 and h2c prior knowledge
//! on one port, TCP_NODELAY, and a bounded graceful drain.
//!
//! The gateway keeps its own loop: it adds connection limits, keep-alive policy and drain
//! metrics that these servers do not need.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::{Instrument as _, debug, debug_span, info, warn};

/// Pause after a failed accept: errors such as EMFILE persist, and retrying at once would
/// spin a core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `handle` on `listener` until `stop` resolves, then stops accepting and waits up to
/// `drain_timeout` for in-flight requests; connections still open after that are dropped
/// with the runtime. Returns what `stop` resolved to (the signal that stopped it, say).
///
/// `name` labels the log lines and connection spans of this listener.
pub async fn serve_http<H, F, B, T>(
    name: &'static str,
    listener: TcpListener,
    handle: H,
    stop: impl Future<Output = T>,
    drain_timeout: Duration,
) -> T
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    // `auto` reads the first bytes of each connection and picks HTTP/2 when they are the
    // prior-knowledge preface, HTTP/1.1 otherwise.
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    let stopped = loop {
        tokio::select! {
            stopped = &mut stop => break stopped,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        warn!(listener = name, %error, "Accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                // Small answers: send them at once rather than wait on Nagle.
                if let Err(error) = stream.set_nodelay(true) {
                    debug!(%peer, %error, "Cannot set TCP_NODELAY");
                }
                let handle = handle.clone();
                let service = service_fn(move |request| {
                    let response = handle(request);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let connection = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(
                    async move {
                        if let Err(error) = connection.await {
                            debug!(%error, "Connection ended with an error");
                        }
                    }
                    .instrument(debug_span!("connection", listener = name, %peer)),
                );
            }
        }
    };
    drop(listener);
    info!(
        listener = name,
        connections = graceful.count(),
        "Stopping; draining in-flight requests"
    );
    match tokio::time::timeout(drain_timeout, graceful.shutdown()).await {
        Ok(()) => debug!(listener = name, "Drained"),
        Err(_) => warn!(
            listener = name,
            timeout = ?drain_timeout,
            "Drain timed out; dropping the connections still open"
        ),
    }
    stopped
}
