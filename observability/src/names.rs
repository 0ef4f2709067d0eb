//! Names shared by the gateway and the chaos runner, defined once: response headers the
//! drills read, and (with the telemetry issue) span names, attribute keys and metric names.

/// Response header set by `chaos upstream` naming the upstream instance that answered, so
/// client records can attribute each response to an endpoint.
pub const HEADER_UPSTREAM: &str = "x-upstream";
