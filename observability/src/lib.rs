//! Telemetry shared by the gateway and the chaos runner: log setup for binaries and the names
//! (headers, spans, metrics) both sides agree on.

pub mod logging;
pub mod names;
