//! From request bytes to storable spans: content negotiation, gzip, protobuf or OTLP/JSON
//! decoding, and per-span validation.
//!
//! Decoding is all-or-nothing (an undecodable body is a 400); validation is per span (a span
//! with a bad id is rejected and counted, the others are stored), which is what OTLP's
//! `partial_success` is for. OTLP/JSON specifics — case-insensitive hex ids, integer enums,
//! 64-bit integers as strings or numbers, unknown fields ignored — are handled by
//! `opentelemetry-proto`'s serde support (0.33.1 fixed the last decode bugs there).

use std::io::Read as _;
use std::sync::Arc;

use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

use super::error::ReceiveError;
use super::model::{ResourceRecord, ScopeRecord, SpanRecord};

/// The two OTLP/HTTP body encodings; the response uses the request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

// === impl Encoding ===

impl Encoding {
    /// The encoding named by a `Content-Type` value; parameters such as `; charset=utf-8` are
    /// ignored and the media type is compared case-insensitively.
    pub(crate) fn from_content_type(value: &str) -> Option<Self> {
        let media_type = value.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Self::Protobuf)
        } else if media_type.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of responses in this encoding.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Whether the body is gzip-compressed, from `Content-Encoding`.
pub(crate) fn is_gzip(content_encoding: Option<&str>) -> Result<bool, ReceiveError> {
    match content_encoding.map(str::trim) {
        None | Some("") => Ok(false),
        Some(e) if e.eq_ignore_ascii_case("identity") => Ok(false),
        Some(e) if e.eq_ignore_ascii_case("gzip") => Ok(true),
        Some(other) => Err(ReceiveError::UnsupportedContentEncoding {
            encoding: other.to_owned(),
        }),
    }
}

/// Decompresses `body`, refusing output beyond `limit` bytes (the spec caps the size after
/// decompression too, so a small bomb cannot allocate gigabytes).
pub(crate) fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, ReceiveError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    GzDecoder::new(body)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(ReceiveError::Gzip)?;
    if out.len() > limit {
        return Err(ReceiveError::TooLarge { limit });
    }
    Ok(out)
}

/// Decodes an `ExportTraceServiceRequest`.
pub(crate) fn decode(
    encoding: Encoding,
    body: &[u8],
) -> Result<ExportTraceServiceRequest, ReceiveError> {
    match encoding {
        Encoding::Protobuf => {
            ExportTraceServiceRequest::decode(body).map_err(ReceiveError::Protobuf)
        }
        Encoding::Json => serde_json::from_slice(body).map_err(ReceiveError::Json),
    }
}

/// The storable spans of a request, and an account of the refused ones.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Valid spans, in request order.
    pub(crate) spans: Vec<SpanRecord>,
    /// How many spans were refused.
    pub(crate) rejected: u64,
    /// The first refusal's reason and the total, for `partial_success.error_message`.
    pub(crate) error_message: Option<String>,
}

/// Splits a request into stored spans, each sharing its resource and scope through an `Arc`.
pub(crate) fn records(request: ExportTraceServiceRequest) -> Batch {
    let mut batch = Batch::default();
    let mut first_error = None;
    for resource_spans in request.resource_spans {
        let resource = Arc::new(ResourceRecord::new(
            resource_spans.resource,
            resource_spans.schema_url,
        ));
        for scope_spans in resource_spans.scope_spans {
            let scope = Arc::new(ScopeRecord {
                scope: scope_spans.scope.unwrap_or_default(),
                schema_url: scope_spans.schema_url,
            });
            for span in scope_spans.spans {
                let name = span.name.clone();
                match SpanRecord::new(span, &resource, &scope) {
                    Ok(record) => batch.spans.push(record),
                    Err(reason) => {
                        batch.rejected += 1;
                        first_error.get_or_insert_with(|| format!("span {name:?}: {reason}"));
                    }
                }
            }
        }
    }
    batch.error_message =
        first_error.map(|first| format!("{} span(s) rejected; first: {first}", batch.rejected));
    batch
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use super::*;

    fn span(trace_id: Vec<u8>, span_id: Vec<u8>) -> Span {
        Span {
            trace_id,
            span_id,
            name: "op".into(),
            ..Default::default()
        }
    }

    #[test]
    fn content_type_ignores_parameters_and_case() {
        assert_eq!(
            Encoding::from_content_type("Application/JSON; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::from_content_type("application/x-protobuf"),
            Some(Encoding::Protobuf)
        );
        assert_eq!(Encoding::from_content_type("text/plain"), None);
    }

    #[test]
    fn content_encoding_accepts_gzip_and_identity_only() {
        assert!(!is_gzip(None).unwrap());
        assert!(!is_gzip(Some("identity")).unwrap());
        assert!(is_gzip(Some("GZIP")).unwrap());
        assert!(matches!(
            is_gzip(Some("br")),
            Err(ReceiveError::UnsupportedContentEncoding { .. })
        ));
    }

    #[test]
    fn gunzip_caps_the_decompressed_size() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&[b'x'; 1000]).unwrap();
        let compressed = encoder.finish().unwrap();
        assert_eq!(gunzip(&compressed, 1000).unwrap().len(), 1000);
        assert!(matches!(
            gunzip(&compressed, 999),
            Err(ReceiveError::TooLarge { limit: 999 })
        ));
        assert!(matches!(
            gunzip(b"not gzip", 1000),
            Err(ReceiveError::Gzip(_))
        ));
    }

    #[test]
    fn records_reject_bad_ids_and_keep_the_rest() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        span(vec![1; 16], vec![1; 8]),
                        span(vec![1; 15], vec![1; 8]),
                        span(vec![0; 16], vec![1; 8]),
                        span(vec![1; 16], vec![0; 8]),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let batch = records(request);
        assert_eq!(batch.spans.len(), 1);
        assert_eq!(batch.rejected, 3);
        assert_eq!(
            batch.error_message.as_deref(),
            Some(
                "3 span(s) rejected; first: span \"op\": trace id must be 16 bytes and not all \
                 zero, got 15 bytes"
            )
        );
    }
}
