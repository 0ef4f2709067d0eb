//! The two listeners: OTLP/HTTP ingest (Jaeger's 4318) and the query API (Jaeger's 16686, v1
//! under `/api/`, v3 under `/api/v3/`), each on the shared accept loop
//! ([`serve_http`](crate::serve::serve_http)).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::net::TcpListener;

use super::jaeger_v1;
use super::jaeger_v3;
use super::otlp_http::OtlpReceiver;
use super::storage::TraceStore;
use crate::serve::serve_http;

/// Longest wait for in-flight requests once shutdown begins; the answers are small, so
/// anything slower is a stuck client.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Serves OTLP/HTTP ingest on `listener` until `shutdown` resolves, then drains (bounded).
pub async fn serve_otlp(
    listener: TcpListener,
    receiver: OtlpReceiver,
    shutdown: impl Future<Output = ()>,
) {
    let receiver = Arc::new(receiver);
    let handle = move |request: Request<Incoming>| {
        let receiver = Arc::clone(&receiver);
        async move { receiver.handle(request).await }
    };
    serve_http("otlp", listener, handle, shutdown, DRAIN_TIMEOUT).await;
}

/// Serves the Jaeger query API on `listener` until `shutdown` resolves, then drains (bounded).
pub async fn serve_query(listener: TcpListener, api: QueryApi, shutdown: impl Future<Output = ()>) {
    let api = Arc::new(api);
    let handle = move |request: Request<Incoming>| {
        let api = Arc::clone(&api);
        async move { api.handle(request).await }
    };
    serve_http("query", listener, handle, shutdown, DRAIN_TIMEOUT).await;
}
