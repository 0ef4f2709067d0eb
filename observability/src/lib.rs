//! Telemetry shared by the gateway and the chaos runner: log setup for binaries, the names
//! (headers, spans, metrics) both sides agree on, W3C trace context, an embedded
//! Jaeger-compatible trace store, and clients for Jaeger and Prometheus.

pub mod client;
pub mod logging;
pub mod names;
pub mod serve;
pub mod store;
pub mod telemetry;
pub mod tracecontext;
