//! The stored form of a span: the OTLP message as received, its typed ids, and the resource
//! and scope it shares with the other spans of its batch.
//!
//! Spans stay OTLP protobuf values (`opentelemetry_proto`) rather than a home-grown model: the
//! receiver moves them out of the decoded request without copying, v3 answers are OTLP anyway,
//! and the v1 (Jaeger UI) form is derived at query time, as Jaeger v2 itself does.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

use super::base64;

/// Resource attribute naming the service that emitted a span.
pub(crate) const SERVICE_NAME_KEY: &str = "service.name";

/// What the collector's Jaeger translator calls a process whose resource has no attributes.
pub(crate) const NO_SERVICE_NAME: &str = "OTLPResourceNoServiceName";

/// Fixed cost added to each span's encoded size for the store's own bookkeeping (the `Arc`,
/// index entries, map slots), so the byte limit tracks memory rather than wire size.
const SPAN_OVERHEAD_BYTES: u64 = 160;

/// A 16-byte trace id that is not all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TraceId(pub(crate) [u8; 16]);

/// An 8-byte span id that is not all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SpanId(pub(crate) [u8; 8]);

/// Why a textual trace id was refused; the messages follow jaeger-idl's `TraceIDFromString`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TraceIdParseError {
    /// More than 32 hex digits.
    #[error("TraceID cannot be longer than 32 hex characters: {0}")]
    TooLong(String),
    /// Empty, or a character that is not a hex digit.
    #[error("strconv.ParseUint: parsing {0:?}: invalid syntax")]
    NotHex(String),
}

// === impl TraceId ===

impl TraceId {
    /// The id in OTLP bytes, or `None` when it has the wrong length or is all zeros (both
    /// invalid per the OTLP and W3C specs).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let id: [u8; 16] = bytes.try_into().ok()?;
        (id != [0; 16]).then_some(Self(id))
    }

    /// Parses 1 to 32 hex digits, either case; shorter ids are left-padded with zeros, as
    /// Jaeger does for 64-bit ids (`"1"` is `0000…0001`).
    pub(crate) fn parse(text: &str) -> Result<Self, TraceIdParseError> {
        if text.len() > 32 {
            return Err(TraceIdParseError::TooLong(text.to_owned()));
        }
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TraceIdParseError::NotHex(text.to_owned()));
        }
        let padded = format!("{text:0>32}");
        let mut id = [0u8; 16];
        for (i, byte) in id.iter_mut().enumerate() {
            let pair = padded.get(2 * i..2 * i + 2).unwrap_or("00");
            *byte = u8::from_str_radix(pair, 16).unwrap_or(0);
        }
        Ok(Self(id))
    }

    /// 32 lowercase hex digits, the OTLP/JSON and api_v3 form.
    pub(crate) fn to_hex(self) -> String {
        hex(&self.0)
    }

    /// Jaeger's v1 form: 16 hex digits when the high 64 bits are zero, otherwise 32.
    pub(crate) fn to_jaeger(self) -> String {
        match self.0.split_at(8) {
            ([0, 0, 0, 0, 0, 0, 0, 0], low) => hex(low),
            _ => hex(&self.0),
        }
    }
}

// === impl SpanId ===

impl SpanId {
    /// The id in OTLP bytes, or `None` when it has the wrong length or is all zeros.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let id: [u8; 8] = bytes.try_into().ok()?;
        (id != [0; 8]).then_some(Self(id))
    }

    /// 16 lowercase hex digits.
    pub(crate) fn to_hex(self) -> String {
        hex(&self.0)
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The resource (process) a batch of spans came from, shared by those spans.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourceRecord {
    /// The OTLP resource as received (an absent one is stored as the default).
    pub(crate) resource: Resource,
    /// `ResourceSpans.schema_url`.
    pub(crate) schema_url: String,
    /// `service.name` when it is a non-empty string; spans without one are stored and found
    /// by id or by searches without a service, but are listed under no service.
    pub(crate) service: Option<Arc<str>>,
}

/// The instrumentation scope a batch of spans came from, shared by those spans.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScopeRecord {
    /// The OTLP scope as received (an absent one is stored as the default).
    pub(crate) scope: InstrumentationScope,
    /// `ScopeSpans.schema_url`.
    pub(crate) schema_url: String,
}

/// One stored span.
#[derive(Debug, Clone)]
pub(crate) struct SpanRecord {
    /// `span.trace_id`, validated.
    pub(crate) trace_id: TraceId,
    /// `span.span_id`, validated.
    pub(crate) span_id: SpanId,
    /// The span as received.
    pub(crate) span: Span,
    /// Where it came from.
    pub(crate) resource: Arc<ResourceRecord>,
    /// Which library recorded it.
    pub(crate) scope: Arc<ScopeRecord>,
    /// Approximate memory cost, counted against the store's byte limit.
    pub(crate) size: u64,
}

// === impl ResourceRecord ===

impl ResourceRecord {
    /// Wraps a received resource and extracts its service name.
    pub(crate) fn new(resource: Option<Resource>, schema_url: String) -> Self {
        let resource = resource.unwrap_or_default();
        let service = resource
            .attributes
            .iter()
            .find(|kv| kv.key == SERVICE_NAME_KEY)
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(name) if !name.is_empty() => Some(Arc::from(name.as_str())),
                _ => None,
            });
        Self {
            resource,
            schema_url,
            service,
        }
    }

    /// The Jaeger process name, as the collector's translator derives it: `service.name` as a
    /// string (empty if it is missing or not a string), or `OTLPResourceNoServiceName` when
    /// the resource has no attributes at all.
    pub(crate) fn process_name(&self) -> &str {
        if self.resource.attributes.is_empty() {
            return NO_SERVICE_NAME;
        }
        self.resource
            .attributes
            .iter()
            .find(|kv| kv.key == SERVICE_NAME_KEY)
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(name) => Some(name.as_str()),
                _ => None,
            })
            .unwrap_or("")
    }
}

// === impl SpanRecord ===

impl SpanRecord {
    /// Builds a record, or returns why the span's ids make it unstorable.
    pub(crate) fn new(
        span: Span,
        resource: &Arc<ResourceRecord>,
        scope: &Arc<ScopeRecord>,
    ) -> Result<Self, InvalidId> {
        let trace_id = TraceId::from_bytes(&span.trace_id).ok_or(InvalidId::Trace {
            len: span.trace_id.len(),
        })?;
        let span_id = SpanId::from_bytes(&span.span_id).ok_or(InvalidId::Span {
            len: span.span_id.len(),
        })?;
        if !span.parent_span_id.is_empty() && span.parent_span_id.len() != 8 {
            return Err(InvalidId::Parent {
                len: span.parent_span_id.len(),
            });
        }
        let size = u64::try_from(span.encoded_len()).unwrap_or(u64::MAX) + SPAN_OVERHEAD_BYTES;
        Ok(Self {
            trace_id,
            span_id,
            span,
            resource: Arc::clone(resource),
            scope: Arc::clone(scope),
            size,
        })
    }

    /// Start time in nanoseconds since the Unix epoch.
    pub(crate) fn start_ns(&self) -> u64 {
        self.span.start_time_unix_nano
    }

    /// `end - start` in nanoseconds; zero when the end precedes the start.
    pub(crate) fn duration_ns(&self) -> u64 {
        self.span
            .end_time_unix_nano
            .saturating_sub(self.span.start_time_unix_nano)
    }
}

/// Which id makes a span unstorable; such spans count in `rejected_spans` of the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvalidId {
    /// The trace id is not 16 bytes, or is all zeros.
    #[error("trace id must be 16 bytes and not all zero, got {len} bytes")]
    Trace {
        /// Length received.
        len: usize,
    },
    /// The span id is not 8 bytes, or is all zeros.
    #[error("span id must be 8 bytes and not all zero, got {len} bytes")]
    Span {
        /// Length received.
        len: usize,
    },
    /// A parent span id is present but not 8 bytes.
    #[error("parent span id must be empty or 8 bytes, got {len} bytes")]
    Parent {
        /// Length received.
        len: usize,
    },
}

/// Lowercase span kind names as Jaeger reports them (`""` for unspecified).
pub(crate) fn span_kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "",
    }
}

/// The OTLP kind for a Jaeger kind name (case-insensitive), `0` (unspecified) otherwise.
pub(crate) fn span_kind_from_name(name: &str) -> i32 {
    match name.to_ascii_lowercase().as_str() {
        "internal" => 1,
        "server" => 2,
        "client" => 3,
        "producer" => 4,
        "consumer" => 5,
        _ => 0,
    }
}

/// The attribute value as text, the way pdata's `Value.AsString` renders it; Jaeger compares
/// tag filters against this form.
pub(crate) fn value_text(value: Option<&AnyValue>) -> Cow<'_, str> {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => Cow::Borrowed(s),
        Some(Value::BoolValue(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => Cow::Owned(i.to_string()),
        Some(Value::DoubleValue(d)) => Cow::Owned(d.to_string()),
        Some(Value::BytesValue(b)) => Cow::Owned(base64::encode(b)),
        Some(other @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => {
            Cow::Owned(raw_json(Some(other)).to_string())
        }
        Some(Value::StringValueStrindex(_)) | None => Cow::Borrowed(""),
    }
}

/// The value as plain JSON (`["a",1]`, `{"k":"v"}`), how pdata renders arrays and maps as text.
pub(crate) fn raw_json(value: Option<&Value>) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Some(Value::StringValue(s)) => Json::from(s.as_str()),
        Some(Value::BoolValue(b)) => Json::from(*b),
        Some(Value::IntValue(i)) => Json::from(*i),
        Some(Value::DoubleValue(d)) => Json::from(*d),
        Some(Value::BytesValue(b)) => Json::from(base64::encode(b)),
        Some(Value::ArrayValue(array)) => Json::Array(
            array
                .values
                .iter()
                .map(|v| raw_json(v.value.as_ref()))
                .collect(),
        ),
        Some(Value::KvlistValue(list)) => Json::Object(
            list.values
                .iter()
                .map(|kv| {
                    let inner = kv.value.as_ref().and_then(|v| v.value.as_ref());
                    (kv.key.clone(), raw_json(inner))
                })
                .collect(),
        ),
        Some(Value::StringValueStrindex(_)) | None => Json::Null,
    }
}

/// The attribute named `key`, if present.
pub(crate) fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attributes.iter().find(|kv| kv.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_parse_pads_short_ids_and_accepts_uppercase() {
        let id = TraceId::parse("1").unwrap();
        assert_eq!(id.to_hex(), "00000000000000000000000000000001");
        assert_eq!(id.to_jaeger(), "0000000000000001");
        let id = TraceId::parse("5B8EFFF798038103D269B633813FC60C").unwrap();
        assert_eq!(id.to_jaeger(), "5b8efff798038103d269b633813fc60c");
    }

    #[test]
    fn trace_id_parse_rejects_long_or_non_hex_text() {
        assert_eq!(
            TraceId::parse(&"a".repeat(33)),
            Err(TraceIdParseError::TooLong("a".repeat(33)))
        );
        assert_eq!(
            TraceId::parse("xyz").unwrap_err().to_string(),
            r#"strconv.ParseUint: parsing "xyz": invalid syntax"#
        );
        assert!(TraceId::parse("").is_err());
    }

    #[test]
    fn ids_from_bytes_reject_wrong_length_and_zero() {
        assert_eq!(TraceId::from_bytes(&[0; 16]), None);
        assert_eq!(TraceId::from_bytes(&[1; 15]), None);
        assert_eq!(SpanId::from_bytes(&[0; 8]), None);
        assert_eq!(
            SpanId::from_bytes(&[1; 8]).unwrap().to_hex(),
            "0101010101010101"
        );
    }

    #[test]
    fn value_text_renders_like_pdata() {
        let int = AnyValue {
            value: Some(Value::IntValue(-7)),
        };
        assert_eq!(value_text(Some(&int)), "-7");
        let array = AnyValue {
            value: Some(Value::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(Value::StringValue("a".into())),
                        },
                        int,
                    ],
                },
            )),
        };
        assert_eq!(value_text(Some(&array)), r#"["a",-7]"#);
        assert_eq!(value_text(None), "");
    }

    #[test]
    fn process_name_follows_the_collector_translator() {
        let named = ResourceRecord::new(
            Some(Resource {
                attributes: vec![KeyValue {
                    key: SERVICE_NAME_KEY.into(),
                    value: Some(AnyValue {
                        value: Some(Value::StringValue("gw".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            String::new(),
        );
        assert_eq!(named.process_name(), "gw");
        assert_eq!(named.service.as_deref(), Some("gw"));
        let bare = ResourceRecord::new(None, String::new());
        assert_eq!(bare.process_name(), NO_SERVICE_NAME);
        assert_eq!(bare.service, None);
    }
}
