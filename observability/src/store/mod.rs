//! Embedded, zero-setup trace backend that speaks Jaeger's APIs: an OTLP/HTTP receiver, a
//! bounded in-memory store, and Jaeger's v1 and api_v3 query endpoints.
//!
//! A drill points its exporters at [`serve_otlp`] (Jaeger's port 4318) and its trace queries at
//! [`serve_query`] (Jaeger's port 16686), and runs the same against a real Jaeger. `chaos
//! traces` runs both standalone.
//!
//! ```text
//! POST /v1/traces ─► otlp_http (status codes) ─► ingest (gzip, protobuf | OTLP/JSON, ids)
//!                                                   └─► storage::TraceStore::ingest
//!                                                         traces by id + index + eviction
//! GET /api/...    ─► jaeger_v1::handler ─┐
//! GET /api/v3/... ─► jaeger_v3::handler ─┴─► search (TraceQuery) ─► storage::find / trace
//!                                             └─► adjust (Jaeger's adjusters) ─► v1 / v3 JSON
//! ```
//!
//! Files: `model` (stored span, ids), `ingest`, `storage` (the store, limits, counters),
//! `index` (service/operation indexes), `search` (matching rules), `adjust` (query-time
//! adjusters), `query` (Go parameter syntax), `jaeger_v1` (UI model, conversion, routes),
//! `jaeger_v3` (OTLP/JSON encoder, routes), `otlp_http` (receiver), `server` (listeners),
//! `respond` (response builders), `error`, `base64`.
//!
//! # Embedding
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use observability::store::{
//!     OtlpReceiver, QueryApi, ReceiverConfig, StoreLimits, TraceStore, serve_otlp, serve_query,
//! };
//! use tokio::net::TcpListener;
//! use tokio::sync::watch;
//!
//! let store = TraceStore::new(StoreLimits::default());
//! let otlp = TcpListener::bind("127.0.0.1:0").await?;
//! let query = TcpListener::bind("127.0.0.1:0").await?;
//! let (stop, stopped) = watch::channel(false);
//! let until_stopped = |mut rx: watch::Receiver<bool>| async move {
//!     let _ = rx.wait_for(|&stop| stop).await;
//! };
//! let receiver = OtlpReceiver::new(store.clone(), ReceiverConfig::default());
//! tokio::spawn(serve_otlp(otlp, receiver, until_stopped(stopped.clone())));
//! tokio::spawn(serve_query(query, QueryApi::new(store.clone()), until_stopped(stopped)));
//! // ... run the drill; query http://<query addr>/api/v3/traces?... ...
//! let _ = stop.send(true);
//! # Ok(()) }
//! ```
//!
//! # What is reproduced from Jaeger, and what is not
//!
//! Reproduced: the v1 envelope and UI trace model, the OTLP → UI mapping of the collector's
//! translator, v1 parameter parsing with Jaeger's messages (Go durations, µs times, `tag` /
//! `tags`, multi-get by `traceID`), v1 errors as `http.Error` writes them (text/plain JSON),
//! api_v3 routes with camelCase names and snake_case aliases, the 404 on an empty v3 search,
//! OTLP/JSON output as pdata writes it, the memory store's search semantics (one span meets
//! every condition; special `error`, `span.kind`, `span.status`, `scope.*`, `resource.*` keys),
//! newest-first results, and the adjusters listed in `adjust`.
//!
//! Not reproduced: `/api/dependencies`, `/api/archive`, `/api/transform`, metrics (SPM),
//! `/api/v3/trace-summaries`, `query.filter`, pagination, gRPC (4317, 16685), multi-tenancy,
//! the clock-skew and client/server-span-id adjusters. Services and operations are forgotten
//! once their last span is evicted (Jaeger's memory store keeps them).

mod adjust;
mod base64;
mod error;
mod index;
mod ingest;
pub mod jaeger_v1;
mod jaeger_v3;
mod model;
mod otlp_http;
mod query;
mod respond;
mod search;
mod server;
mod storage;

pub use self::otlp_http::{OtlpReceiver, ReceiverConfig, TRACES_PATH};
pub use self::server::{QueryApi, serve_otlp, serve_query};
pub use self::storage::{IngestSummary, StoreLimits, StoreStats, TraceStore};
