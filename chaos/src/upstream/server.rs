//! The accept loop: HTTP/1.1 and h2c prior knowledge on one port, and a bounded drain.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::{Instrument, debug, debug_span, info, warn};

use super::router::Upstream;
use crate::signal::StopSignal;

/// Pause after a failed accept; errors such as EMFILE persist, and retrying at once
/// would spin a core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves until `stop` resolves, then stops accepting and waits up to `drain_timeout` for
/// in-flight requests; connections still open after that are dropped with the runtime.
pub(crate) async fn serve(
    listener: TcpListener,
    upstream: Arc<Upstream>,
    stop: impl Future<Output = StopSignal>,
    drain_timeout: Duration,
) {
    // `auto` reads the first bytes of each connection and picks HTTP/2 when they are the
    // prior-knowledge preface, HTTP/1.1 otherwise.
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);

    let signal = loop {
        tokio::select! {
            signal = &mut stop => break signal,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        warn!(%error, "Accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                // Small JSON answers: send them at once rather than wait on Nagle.
                if let Err(error) = stream.set_nodelay(true) {
                    debug!(%peer, %error, "Cannot set TCP_NODELAY");
                }
                let upstream = Arc::clone(&upstream);
                let service = service_fn(move |request| {
                    let upstream = Arc::clone(&upstream);
                    async move { Ok::<_, Infallible>(upstream.handle(request).await) }
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
                    .instrument(debug_span!("connection", %peer)),
                );
            }
        }
    };

    drop(listener);
    info!(%signal, connections = graceful.count(), "Stopping; draining in-flight requests");
    match tokio::time::timeout(drain_timeout, graceful.shutdown()).await {
        Ok(()) => info!("Drained"),
        Err(_) => warn!(
            timeout = ?drain_timeout,
            "Drain timed out; dropping the connections still open"
        ),
    }
}
