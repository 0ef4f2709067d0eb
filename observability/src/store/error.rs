//! Why a store request failed: one enum per API, each message worded as the real system words
//! it (the OTLP receiver as in the OTLP/HTTP spec, the query APIs as Jaeger does). The status
//! code of each variant is chosen in one place per API (`otlp_http::failure`,
//! `jaeger_v1::handler::failure`, `jaeger_v3::handler::failure`).

use std::io;

use thiserror::Error;

use super::model::TraceIdParseError;
use super::query::ParamError;

/// Boxed error of a request body stream.
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// An OTLP/HTTP export request refused as a whole (no span of it is stored).
#[derive(Debug, Error)]
pub(crate) enum ReceiveError {
    /// The path is not `/v1/traces`.
    #[error("unknown path {path}; traces are accepted at /v1/traces")]
    NotFound {
        /// The request path.
        path: String,
    },
    /// Not a POST.
    #[error("method {method} not allowed; use POST")]
    MethodNotAllowed {
        /// The request method.
        method: String,
    },
    /// Neither `application/x-protobuf` nor `application/json`.
    #[error(
        "unsupported content type {content_type:?}; use application/x-protobuf or application/json"
    )]
    UnsupportedContentType {
        /// The `Content-Type` received (empty when absent).
        content_type: String,
    },
    /// A `Content-Encoding` other than `gzip` or `identity`.
    #[error("unsupported content encoding {encoding:?}; use gzip or none")]
    UnsupportedContentEncoding {
        /// The `Content-Encoding` received.
        encoding: String,
    },
    /// The body (or its decompressed form) exceeds the receiver's limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The configured maximum, in bytes.
        limit: usize,
    },
    /// The body could not be read from the connection.
    #[error("cannot read the request body")]
    ReadBody(#[source] BodyError),
    /// The body claims gzip but does not decompress.
    #[error("cannot decompress the gzip body")]
    Gzip(#[source] io::Error),
    /// The body is not an `ExportTraceServiceRequest` in protobuf.
    #[error("cannot decode the protobuf body as ExportTraceServiceRequest")]
    Protobuf(#[source] prost::DecodeError),
    /// The body is not an `ExportTraceServiceRequest` in OTLP/JSON.
    #[error("cannot decode the JSON body as ExportTraceServiceRequest")]
    Json(#[source] serde_json::Error),
}

/// A failed Jaeger v1 (`/api/...`) query; `Display` is Jaeger's exact message.
#[derive(Debug, Error)]
pub(crate) enum V1Error {
    /// Search or operations without `service` (and without `traceID`).
    #[error("parameter 'service' is required")]
    ServiceRequired,
    /// A parameter Jaeger parses with `newParseError`.
    #[error("unable to parse param '{name}': {source}")]
    Param {
        /// The parameter.
        name: &'static str,
        /// What was wrong with its value.
        #[source]
        source: ParamError,
    },
    /// `limit` is not an integer (Jaeger returns the bare `strconv` error).
    #[error(transparent)]
    Limit(ParamError),
    /// `limit` is zero or negative.
    #[error("invalid parameter: limit must be greater than 0")]
    LimitNotPositive,
    /// `start` is after `end`.
    #[error("invalid parameter: start time must be before end time")]
    StartAfterEnd,
    /// `maxDuration` is below `minDuration`.
    #[error("'maxDuration' should be greater than 'minDuration'")]
    DurationBounds,
    /// A `tag` without `:`.
    #[error("malformed 'tag' parameter, expecting key:value, received: {0}")]
    Tag(String),
    /// A `tags` value that is not a JSON object of strings.
    #[error("malformed 'tags' parameter, cannot unmarshal JSON: {0}")]
    Tags(#[source] serde_json::Error),
    /// A `traceID` query parameter that is not a trace id.
    #[error("cannot parse traceID param: {0}")]
    TraceIdParam(#[source] TraceIdParseError),
    /// A trace id in the path that is not a trace id.
    #[error(transparent)]
    TraceId(TraceIdParseError),
    /// No stored trace has the id.
    #[error("trace not found")]
    TraceNotFound,
    /// No route has the path.
    #[error("404 page not found")]
    NoRoute,
    /// The route exists but not for this method.
    #[error("method not allowed")]
    Method,
}

/// A failed Jaeger api_v3 (`/api/v3/...`) query; `Display` is Jaeger's exact message.
#[derive(Debug, Error)]
pub(crate) enum V3Error {
    /// A search without both ends of the time window.
    #[error("query.startTimeMin and query.startTimeMax are required")]
    TimeWindowRequired,
    /// A parameter whose value does not parse.
    #[error("malformed parameter {name}: {source}")]
    Param {
        /// The parameter, as the client spelled it.
        name: &'static str,
        /// What was wrong with its value.
        #[source]
        source: ParamError,
    },
    /// `query.attributes` is not a JSON object of strings.
    #[error("malformed parameter query.attributes: {0}")]
    Attributes(#[source] serde_json::Error),
    /// The path's trace id is not a trace id.
    #[error("malformed parameter trace_id: {0}")]
    TraceId(#[source] TraceIdParseError),
    /// Nothing matched (Jaeger answers 404 rather than an empty result).
    #[error("No traces found")]
    NoTraces,
    /// No route has the path.
    #[error("404 page not found")]
    NoRoute,
    /// The route exists but not for this method.
    #[error("method not allowed")]
    Method,
}
