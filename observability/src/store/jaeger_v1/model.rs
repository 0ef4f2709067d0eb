//! The Jaeger UI JSON model (`internal/uimodel/model.go`) and the v1 response envelope, as
//! serde types that read and write Jaeger's exact shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::base64;

/// Largest integer a JavaScript number holds exactly; Jaeger writes int64 tags beyond
/// ±(2^53 − 1) as strings so the UI does not round them.
const JS_MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The v1 envelope: `{"data":…,"total":N,"limit":0,"offset":0,"errors":null}`.
///
/// `total` is the item count for service and operation listings and 0 for traces; `limit` and
/// `offset` are always 0; `errors` is `null` when there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response<T> {
    /// The payload.
    pub data: T,
    /// Number of items for listings; 0 for traces.
    pub total: usize,
    /// Always 0.
    pub limit: usize,
    /// Always 0.
    pub offset: usize,
    /// Per-request or per-trace errors.
    pub errors: Option<Vec<ResponseError>>,
}

/// One entry of the envelope's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseError {
    /// HTTP status of a failed request; absent for per-trace errors of a multi-get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// What went wrong.
    pub msg: String,
    /// The trace the error is about (multi-get only).
    #[serde(rename = "traceID", default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// An entry of `/api/operations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Span name.
    pub name: String,
    /// `server`, `client`, `producer`, `consumer`, `internal`, or `""` when unspecified.
    #[serde(rename = "spanKind")]
    pub span_kind: String,
}

/// A trace as the Jaeger UI reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// 16 hex digits when the high half is zero, else 32.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// The spans.
    pub spans: Vec<Span>,
    /// Process id (`p1`, `p2`, … in order of first use) → process.
    pub processes: BTreeMap<String, Process>,
    /// Trace-level warnings, `null` when none.
    pub warnings: Option<Vec<String>>,
}

/// A span as the Jaeger UI reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// The span's trace id (same form as [`Trace::trace_id`]).
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// 16 hex digits.
    #[serde(rename = "spanID")]
    pub span_id: String,
    /// Deprecated; never written by query responses (the parent is the first `CHILD_OF`).
    #[serde(
        rename = "parentSpanID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_span_id: Option<String>,
    /// Jaeger span flags; omitted when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flags: u32,
    /// The span name.
    #[serde(rename = "operationName")]
    pub operation_name: String,
    /// Parent first (`CHILD_OF`), then links.
    pub references: Vec<Reference>,
    /// Microseconds since the Unix epoch.
    #[serde(rename = "startTime")]
    pub start_time: u64,
    /// Microseconds.
    pub duration: u64,
    /// Typed tags.
    pub tags: Vec<KeyValue>,
    /// Span events.
    pub logs: Vec<Log>,
    /// Key into [`Trace::processes`].
    #[serde(
        rename = "processID",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub process_id: String,
    /// Embedded process; never written by query responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    /// Span-level warnings, `null` when none.
    pub warnings: Option<Vec<String>>,
}

/// A reference from a span to another span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// The relationship.
    #[serde(rename = "refType")]
    pub ref_type: RefType,
    /// The other span's trace id.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// The other span's id.
    #[serde(rename = "spanID")]
    pub span_id: String,
}

/// How a span relates to a referenced span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefType {
    /// The referenced span is the parent.
    #[serde(rename = "CHILD_OF")]
    ChildOf,
    /// The referenced span caused this one without being its parent (OTLP links).
    #[serde(rename = "FOLLOWS_FROM")]
    FollowsFrom,
}

/// The process (OTLP resource) that emitted spans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    /// `service.name`.
    #[serde(rename = "serviceName")]
    pub service_name: String,
    /// The other resource attributes.
    pub tags: Vec<KeyValue>,
}

/// A span event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Log {
    /// Microseconds since the Unix epoch.
    pub timestamp: u64,
    /// `event` (the event name) and the event's attributes.
    pub fields: Vec<KeyValue>,
}

/// A typed tag: `{"key":…,"type":"int64","value":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawKeyValue", into = "RawKeyValue")]
pub struct KeyValue {
    /// The tag name.
    pub key: String,
    /// The typed value.
    pub value: TagValue,
}

/// A tag value with its Jaeger type.
#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    /// `"type":"string"`.
    String(String),
    /// `"type":"bool"`.
    Bool(bool),
    /// `"type":"int64"`: a JSON number, or a string beyond ±(2^53 − 1).
    Int64(i64),
    /// `"type":"float64"`.
    Float64(f64),
    /// `"type":"binary"`: base64 in JSON.
    Binary(Vec<u8>),
}

/// The wire form of [`KeyValue`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawKeyValue {
    key: String,
    #[serde(rename = "type", default)]
    value_type: String,
    value: serde_json::Value,
}

// === impl KeyValue ===

impl KeyValue {
    /// A tag `key` with `value`.
    pub fn new(key: impl Into<String>, value: TagValue) -> Self {
        Self {
            key: key.into(),
            value,
        }
    }
}

impl From<KeyValue> for RawKeyValue {
    fn from(kv: KeyValue) -> Self {
        use serde_json::Value as Json;
        let (value_type, value) = match kv.value {
            TagValue::String(s) => ("string", Json::from(s)),
            TagValue::Bool(b) => ("bool", Json::from(b)),
            TagValue::Int64(i) if (-JS_MAX_SAFE_INTEGER..=JS_MAX_SAFE_INTEGER).contains(&i) => {
                ("int64", Json::from(i))
            }
            TagValue::Int64(i) => ("int64", Json::from(i.to_string())),
            TagValue::Float64(f) => ("float64", Json::from(f)),
            TagValue::Binary(b) => ("binary", Json::from(base64::encode(&b))),
        };
        Self {
            key: kv.key,
            value_type: value_type.to_owned(),
            value,
        }
    }
}

impl TryFrom<RawKeyValue> for KeyValue {
    type Error = String;

    fn try_from(raw: RawKeyValue) -> Result<Self, Self::Error> {
        use serde_json::Value as Json;
        let mismatch = || {
            format!(
                "tag {:?}: value does not fit type {:?}",
                raw.key, raw.value_type
            )
        };
        let value = match (raw.value_type.as_str(), &raw.value) {
            ("string" | "", Json::String(s)) => TagValue::String(s.clone()),
            ("bool", Json::Bool(b)) => TagValue::Bool(*b),
            ("int64", Json::Number(n)) => TagValue::Int64(n.as_i64().ok_or_else(mismatch)?),
            ("int64", Json::String(s)) => TagValue::Int64(s.parse().map_err(|_| mismatch())?),
            ("float64", Json::Number(n)) => TagValue::Float64(n.as_f64().ok_or_else(mismatch)?),
            ("binary", Json::String(s)) => {
                TagValue::Binary(base64::decode(s).ok_or_else(mismatch)?)
            }
            _ => return Err(mismatch()),
        };
        Ok(Self {
            key: raw.key,
            value,
        })
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn int64_tags_beyond_the_js_safe_range_are_strings() {
        let safe =
            serde_json::to_value(KeyValue::new("n", TagValue::Int64(JS_MAX_SAFE_INTEGER))).unwrap();
        assert_eq!(
            safe,
            json!({"key":"n","type":"int64","value":9007199254740991_i64})
        );
        let big = serde_json::to_value(KeyValue::new("n", TagValue::Int64(i64::MIN))).unwrap();
        assert_eq!(
            big,
            json!({"key":"n","type":"int64","value":"-9223372036854775808"})
        );
        let back: KeyValue = serde_json::from_value(big).unwrap();
        assert_eq!(back.value, TagValue::Int64(i64::MIN));
    }

    #[test]
    fn tags_with_mismatched_types_are_refused() {
        let err = serde_json::from_value::<KeyValue>(json!({"key":"b","type":"bool","value":1}))
            .unwrap_err();
        assert!(err.to_string().contains("does not fit type"), "{err}");
    }
}
