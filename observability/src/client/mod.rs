//! Evidence-gathering clients for drills: Jaeger trace queries, Prometheus queries, and
//! `/metrics` scrapes parsed into a typed model.
//!
//! | client | talks to | yields |
//! | --- | --- | --- |
//! | [`JaegerClient`] | Jaeger query service (api_v3, falling back to the v1 JSON API) | [`Trace`]s of [`Span`]s |
//! | [`PrometheusClient`] | Prometheus `/api/v1/query` and `/api/v1/query_range` | [`QueryValue`] |
//! | [`Scraper`] | any `/metrics` endpoint (text 0.0.4 or OpenMetrics) | [`MetricSet`] |
//!
//! Every request has one overall timeout (connect, request, body). Failures are
//! [`ClientError`] variants that name the URL, so a drill can report "metrics unreachable"
//! (exit 3, inconclusive) apart from "the system misbehaved" without parsing messages.
//!
//! ```no_run
//! # async fn demo() -> Result<(), observability::client::ClientError> {
//! use std::time::{Duration, SystemTime};
//! use observability::client::{JaegerClient, TraceQuery};
//!
//! let jaeger = JaegerClient::new("http://127.0.0.1:16686", Duration::from_secs(5))?;
//! let end = SystemTime::now();
//! let query = TraceQuery::new("gateway", end - Duration::from_secs(60), end)
//!     .with_attribute("http.response.status_code", "503");
//! for trace in jaeger.find_traces(&query).await? {
//!     println!("{} has {} spans", trace.trace_id, trace.spans.len());
//! }
//! # Ok(()) }
//! ```

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod error;
mod exposition;
mod jaeger;
mod jaeger_model;
mod json;
mod prometheus;
mod scrape;
mod transport;

pub use error::{ClientError, DecodeError, LookupError, ParseError, ParseErrorKind};
pub use exposition::{
    Bucket, Exemplar, Histogram, Labels, MetricFamily, MetricSet, MetricType, Sample, diff,
};
pub use jaeger::{ApiVersion, JaegerClient, TraceQuery};
pub use jaeger_model::{
    AttributeValue, Event, Link, Operation, Scope, Span, SpanId, SpanKind, Status, StatusCode,
    Trace, TraceId,
};
pub use prometheus::{
    Point, PrometheusClient, QueryResponse, QueryValue, RangeSeries, VectorSample,
};
pub use scrape::Scraper;
