//! The upstream's listener: the shared accept loop (HTTP/1.1 and h2c prior knowledge, bounded
//! drain) over the [`Upstream`] router.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use observability::serve::serve_http;
use tokio::net::TcpListener;
use tracing::info;

use super::router::Upstream;
use crate::signal::StopSignal;

/// Serves until `stop` resolves, then stops accepting and waits up to `drain_timeout` for
/// in-flight requests; connections still open after that are dropped with the runtime.
pub(crate) async fn serve(
    listener: TcpListener,
    upstream: Arc<Upstream>,
    stop: impl Future<Output = StopSignal>,
    drain_timeout: Duration,
) {
    let handle = move |request: Request<Incoming>| {
        let upstream = Arc::clone(&upstream);
        async move { upstream.handle(request).await }
    };
    let signal = serve_http("upstream", listener, handle, stop, drain_timeout).await;
    info!(%signal, "Stopped");
}
