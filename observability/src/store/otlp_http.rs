//! The OTLP/HTTP trace receiver (`POST /v1/traces`), with the status codes of the OTLP/HTTP
//! specification.
//!
//! | situation                                          | status | body                          |
//! |----------------------------------------------------|--------|-------------------------------|
//! | stored (all spans, or an empty request)            | 200    | `ExportTraceServiceResponse`  |
//! | some spans have invalid ids                        | 200    | … with `partial_success`      |
//! | body not decodable (protobuf, JSON, gzip)          | 400    | `google.rpc.Status`           |
//! | path other than `/v1/traces`                       | 404    | `google.rpc.Status`           |
//! | method other than POST                             | 405    | `google.rpc.Status`, `Allow`  |
//! | body (or decompressed body) above the limit        | 413    | `google.rpc.Status`           |
//! | content type or content encoding not supported     | 415    | `google.rpc.Status` (JSON)    |
//!
//! Bodies use the request's encoding (protobuf or JSON); when the request's content type is
//! unsupported or absent, JSON. Over-limit bodies are refused from `Content-Length` before
//! reading when possible, and the read and the decompression are both capped.

use std::num::NonZeroUsize;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Body;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message as _;
use serde_json::json;

use super::error::{BodyError, ReceiveError};
use super::ingest::{self, Encoding};
use super::respond::{self, Reply};
use super::storage::{IngestSummary, TraceStore};

/// The path OTLP/HTTP exporters post traces to.
pub const TRACES_PATH: &str = "/v1/traces";

/// Settings of the OTLP/HTTP receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    max_body_bytes: NonZeroUsize,
}

// === impl ReceiverConfig ===

impl ReceiverConfig {
    // `MIN` (1) plus the rest: a non-zero constant without an unwrap.
    /// Default request size limit: 64 MiB, the OTLP/HTTP specification's recommendation.
    pub const DEFAULT_MAX_BODY_BYTES: NonZeroUsize =
        NonZeroUsize::MIN.saturating_add((64 << 20) - 1);

    /// A receiver refusing bodies above `max_body_bytes`, compressed or decompressed (413).
    pub fn new(max_body_bytes: NonZeroUsize) -> Self {
        Self { max_body_bytes }
    }

    /// The request size limit in bytes.
    pub fn max_body_bytes(&self) -> NonZeroUsize {
        self.max_body_bytes
    }
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_BODY_BYTES)
    }
}

/// `google.rpc.Status`, the body of every OTLP/HTTP failure.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Answers OTLP/HTTP export requests by storing their spans in a [`TraceStore`].
///
/// Usable without a socket, e.g. in tests:
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use observability::store::{OtlpReceiver, ReceiverConfig, StoreLimits, TraceStore};
///
/// let store = TraceStore::new(StoreLimits::default());
/// let receiver = OtlpReceiver::new(store.clone(), ReceiverConfig::default());
/// let request = http::Request::post("/v1/traces")
///     .header("content-type", "application/json")
///     .body(Full::new(Bytes::from_static(b"{}")))
///     .unwrap();
/// assert_eq!(receiver.handle(request).await.status(), 200);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct OtlpReceiver {
    store: TraceStore,
    config: ReceiverConfig,
}

// === impl OtlpReceiver ===

impl OtlpReceiver {
    /// A receiver feeding `store`.
    pub fn new(store: TraceStore, config: ReceiverConfig) -> Self {
        Self { store, config }
    }

    /// Handles one request; never fails (failures are responses).
    pub async fn handle<B>(
        &self,
        request: Request<B>,
    ) -> http::Response<http_body_util::Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BodyError>,
    {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let encoding = Encoding::from_content_type(&content_type);
        match self.receive(request, encoding, content_type).await {
            Ok(summary) => success(encoding.unwrap_or(Encoding::Json), &summary),
            Err(error) => failure(encoding.unwrap_or(Encoding::Json), &error),
        }
    }

    async fn receive<B>(
        &self,
        request: Request<B>,
        encoding: Option<Encoding>,
        content_type: String,
    ) -> Result<IngestSummary, ReceiveError>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BodyError>,
    {
        if request.uri().path() != TRACES_PATH {
            return Err(ReceiveError::NotFound {
                path: request.uri().path().to_owned(),
            });
        }
        if request.method() != Method::POST {
            return Err(ReceiveError::MethodNotAllowed {
                method: request.method().to_string(),
            });
        }
        let encoding = encoding.ok_or(ReceiveError::UnsupportedContentType { content_type })?;
        let gzip = ingest::is_gzip(
            request
                .headers()
                .get(CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        )?;
        let limit = self.config.max_body_bytes.get();
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(ReceiveError::TooLarge { limit });
        }
        let body = Limited::new(request.into_body(), limit)
            .collect()
            .await
            .map_err(|error| match error.downcast::<LengthLimitError>() {
                Ok(_) => ReceiveError::TooLarge { limit },
                Err(other) => ReceiveError::ReadBody(other),
            })?
            .to_bytes();
        let export = if gzip {
            ingest::decode(encoding, &ingest::gunzip(&body, limit)?)?
        } else {
            ingest::decode(encoding, &body)?
        };
        let summary = self.store.ingest(export);
        tracing::debug!(
            accepted = summary.accepted,
            rejected = summary.rejected,
            "OTLP export stored"
        );
        Ok(summary)
    }
}

fn success(encoding: Encoding, summary: &IngestSummary) -> Reply {
    // OTLP: leave `partial_success` unset when everything was accepted.
    let partial = (summary.rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(summary.rejected).unwrap_or(i64::MAX),
        error_message: summary.error_message.clone().unwrap_or_default(),
    });
    let body = match encoding {
        Encoding::Protobuf => ExportTraceServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        Encoding::Json => match partial {
            // int64 is a decimal string in OTLP/JSON.
            Some(p) => json!({ "partialSuccess": {
                "rejectedSpans": p.rejected_spans.to_string(),
                "errorMessage": p.error_message,
            }}),
            None => json!({}),
        }
        .to_string()
        .into_bytes(),
    };
    respond::with_body(StatusCode::OK, encoding.content_type(), body)
}

/// The one place a receiver error becomes a status (and a gRPC code for the Status body).
fn failure(encoding: Encoding, error: &ReceiveError) -> Reply {
    let (status, grpc_code) = match error {
        ReceiveError::NotFound { .. } => (StatusCode::NOT_FOUND, 5),
        ReceiveError::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, 12),
        ReceiveError::UnsupportedContentType { .. }
        | ReceiveError::UnsupportedContentEncoding { .. } => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, 3)
        }
        ReceiveError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, 8),
        ReceiveError::ReadBody(_)
        | ReceiveError::Gzip(_)
        | ReceiveError::Protobuf(_)
        | ReceiveError::Json(_) => (StatusCode::BAD_REQUEST, 3),
    };
    let message = chain(error);
    tracing::debug!(status = status.as_u16(), error = %message, "OTLP export refused");
    let rpc = RpcStatus {
        code: grpc_code,
        message,
    };
    // A 415 cannot answer in an encoding the client did not ask for; JSON is readable by all.
    let encoding = match error {
        ReceiveError::UnsupportedContentType { .. } => Encoding::Json,
        _ => encoding,
    };
    let body = match encoding {
        Encoding::Protobuf => rpc.encode_to_vec(),
        Encoding::Json => json!({ "code": rpc.code, "message": rpc.message })
            .to_string()
            .into_bytes(),
    };
    let mut response = respond::with_body(status, encoding.content_type(), body);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
    }
    response
}

/// `error: cause: cause…`, so the client sees why decoding failed.
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
