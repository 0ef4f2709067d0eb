//! The two listeners: OTLP/HTTP ingest (Jaeger's 4318) and the query API (Jaeger's 16686, v1
//! under `/api/`, v3 under `/api/v3/`), each an HTTP/1.1 + h2c accept loop with a bounded
//! graceful drain.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::{Instrument as _, debug, debug_span, info, warn};

use super::jaeger_v1;
use super::jaeger_v3;
use super::otlp_http::OtlpReceiver;
use super::respond::Reply;
use super::storage::TraceStore;

/// Longest wait for in-flight requests once shutdown begins; the answers are small, so
/// anything slower is a stuck client.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after a failed accept: errors such as EMFILE persist, and retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Answers Jaeger's query API (v1 and api_v3) from a [`TraceStore`]; usable without a socket.
#[derive(Debug, Clone)]
pub struct QueryApi {
    store: TraceStore,
}

// === impl QueryApi ===

impl QueryApi {
    /// The API over `store`.
    pub fn new(store: TraceStore) -> Self {
        Self { store }
    }

    /// Handles one request (the body is ignored: every route is a GET); never fails.
    ///
    /// Searches run on the calling task: they hold the store's read lock for the scan only
    /// (milliseconds at a million spans), which is cheaper than a hop to a blocking thread.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        let query = request.uri().query();
        if path == "/api/v3" || path.starts_with("/api/v3/") {
            jaeger_v3::handler::handle(&self.store, request.method(), path, query)
        } else {
            jaeger_v1::handler::handle(&self.store, request.method(), path, query)
        }
    }
}

/// Something that turns a request into a response.
trait Handler: Send + Sync + 'static {
    fn call(&self, request: Request<Incoming>) -> impl Future<Output = Reply> + Send;
}

impl Handler for OtlpReceiver {
    fn call(&self, request: Request<Incoming>) -> impl Future<Output = Reply> + Send {
        self.handle(request)
    }
}

impl Handler for QueryApi {
    fn call(&self, request: Request<Incoming>) -> impl Future<Output = Reply> + Send {
        self.handle(request)
    }
}

/// Serves OTLP/HTTP ingest on `listener` until `shutdown` resolves, then drains (bounded).
pub async fn serve_otlp(
    listener: TcpListener,
    receiver: OtlpReceiver,
    shutdown: impl Future<Output = ()>,
) {
    serve("otlp", listener, Arc::new(receiver), shutdown).await;
}

/// Serves the Jaeger query API on `listener` until `shutdown` resolves, then drains (bounded).
pub async fn serve_query(listener: TcpListener, api: QueryApi, shutdown: impl Future<Output = ()>) {
    serve("query", listener, Arc::new(api), shutdown).await;
}

async fn serve<H: Handler>(
    name: &'static str,
    listener: TcpListener,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()>,
) {
    // `auto` picks HTTP/2 for connections opening with the prior-knowledge preface.
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        warn!(listener = name, %error, "Accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                if let Err(error) = stream.set_nodelay(true) {
                    debug!(%peer, %error, "Cannot set TCP_NODELAY");
                }
                let handler = Arc::clone(&handler);
                let service = service_fn(move |request| {
                    let handler = Arc::clone(&handler);
                    async move { Ok::<_, Infallible>(handler.call(request).await) }
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
    }
    drop(listener);
    info!(
        listener = name,
        connections = graceful.count(),
        "Stopping; draining"
    );
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        warn!(listener = name, timeout = ?DRAIN_TIMEOUT, "Drain timed out");
    }
}
