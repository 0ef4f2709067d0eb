//! The client-side span model both Jaeger APIs decode into, so drill checks never care which
//! API answered.
//!
//! api_v3 speaks OTLP-JSON ([`otlp`]); the v1 API speaks the Jaeger UI model ([`ui`]). The UI
//! model encodes OTLP fields as synthetic tags, which the v1 decoder turns back into fields:
//!
//! | UI model                                   | span model                              |
//! | ------------------------------------------ | --------------------------------------- |
//! | `process.serviceName`, process tags        | `service_name`, `resource_attributes`   |
//! | first `CHILD_OF` reference in the same trace | `parent_span_id`; other references → `links` |
//! | tag `span.kind`                            | `kind`                                  |
//! | tags `otel.status_code`, `error` = true, `otel.status_description` | `status` |
//! | tags `otel.scope.name`, `otel.scope.version` | `scope`                               |
//! | logs (µs), field `event`                   | `events` (ns), event `name`             |
//!
//! Known asymmetries: v1 renders OTLP arrays and maps as JSON strings (they stay
//! [`AttributeValue::String`]), has no link attributes, and times are whole microseconds.
//! v1 trace ids of 16 hex digits are widened to the same 128-bit [`TraceId`] v3 reports.

mod otlp;
mod ui;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) use otlp::decode_traces_data;
pub(crate) use ui::decode_traces as decode_v1_traces;

use super::error::DecodeError;
use super::json::Node;

/// A 128-bit trace id; displays as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub u128);

/// A 64-bit span id; displays as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub u64);

/// One trace: its id and its spans in the order the server returned them.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The trace id shared by all spans.
    pub trace_id: TraceId,
    /// The spans (Jaeger may return duplicates when adjusters are off).
    pub spans: Vec<Span>,
}

/// One span, decoded from either API.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The trace this span belongs to.
    pub trace_id: TraceId,
    /// This span's id.
    pub span_id: SpanId,
    /// The parent span, `None` for a root (all-zero or empty ids read as `None`).
    pub parent_span_id: Option<SpanId>,
    /// Resource attribute `service.name` (v1: the process's `serviceName`); `""` if absent.
    pub service_name: String,
    /// The operation name.
    pub name: String,
    /// The span kind.
    pub kind: SpanKind,
    /// Start time, nanoseconds since the Unix epoch.
    pub start_unix_nanos: u64,
    /// End time, nanoseconds since the Unix epoch.
    pub end_unix_nanos: u64,
    /// Status code and message.
    pub status: Status,
    /// Span attributes in wire order, without the synthetic v1 tags listed in the module docs.
    pub attributes: Vec<(String, AttributeValue)>,
    /// Span events (v1: logs) in wire order.
    pub events: Vec<Event>,
    /// Links to other spans (v1: references other than the parent).
    pub links: Vec<Link>,
    /// Resource attributes other than `service.name` (v1: process tags).
    pub resource_attributes: Vec<(String, AttributeValue)>,
    /// The instrumentation scope (v1: tags `otel.scope.name`/`otel.scope.version`).
    pub scope: Scope,
}

/// OTLP span kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    /// Not set (OTLP 0; a v1 span without a `span.kind` tag).
    #[default]
    Unspecified,
    /// An in-process operation.
    Internal,
    /// Handles a remote request.
    Server,
    /// Makes a remote request.
    Client,
    /// Sends a message.
    Producer,
    /// Receives a message.
    Consumer,
}

/// OTLP status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusCode {
    /// Not set.
    #[default]
    Unset,
    /// Explicitly successful.
    Ok,
    /// Failed.
    Error,
}

/// Span status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    /// The code.
    pub code: StatusCode,
    /// The description; `""` if none.
    pub message: String,
}

/// An attribute value with its wire type kept.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// Raw bytes (base64 on the wire).
    Bytes(Vec<u8>),
    /// An array (OTLP only).
    Array(Vec<AttributeValue>),
    /// A key-value list (OTLP only).
    Map(Vec<(String, AttributeValue)>),
    /// An empty OTLP `AnyValue`.
    Empty,
}

/// A span event (v1: a log).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Event time, nanoseconds since the Unix epoch.
    pub time_unix_nanos: u64,
    /// The event name (v1: the `event` field); `""` if none.
    pub name: String,
    /// The event attributes (v1: the other fields).
    pub attributes: Vec<(String, AttributeValue)>,
}

/// A link to another span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The linked trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
}

/// The instrumentation scope that produced a span.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    /// Scope name; `""` if none.
    pub name: String,
    /// Scope version; `""` if none.
    pub version: String,
}

/// A service operation as listed by Jaeger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The operation (span) name.
    pub name: String,
    /// The span kind it was recorded with.
    pub span_kind: SpanKind,
}

// === impl TraceId ===

impl TraceId {
    /// Parses 1 to 32 hex digits, either case; shorter ids mean leading zeros (as Jaeger
    /// prints 64-bit ids).
    pub fn from_hex(hex: &str) -> Option<Self> {
        parse_hex(hex, 32).map(Self)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

// === impl SpanId ===

impl SpanId {
    /// Parses 1 to 16 hex digits, either case.
    pub fn from_hex(hex: &str) -> Option<Self> {
        parse_hex(hex, 16)
            .and_then(|v| u64::try_from(v).ok())
            .map(Self)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

fn parse_hex(hex: &str, max_digits: usize) -> Option<u128> {
    if hex.is_empty() || hex.len() > max_digits || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

// === impl Span ===

impl Span {
    /// The first attribute named `key`.
    pub fn attribute(&self, key: &str) -> Option<&AttributeValue> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// End minus start (zero if the end precedes the start).
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.end_unix_nanos.saturating_sub(self.start_unix_nanos))
    }

    /// The start as a `SystemTime`.
    pub fn start_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.start_unix_nanos)
    }
}

// === impl SpanKind ===

impl SpanKind {
    /// The lowercase name Jaeger uses in tags and query parameters (`""` for unspecified).
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    /// Parses Jaeger's lowercase name; `""` is [`SpanKind::Unspecified`].
    pub fn from_jaeger(name: &str) -> Option<Self> {
        [
            SpanKind::Unspecified,
            SpanKind::Internal,
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer,
        ]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }
}

// === impl AttributeValue ===

impl AttributeValue {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Decodes `[{"name": …, "spanKind": …}]`, the operation list shape both APIs share.
pub(crate) fn decode_operations(items: &[Node<'_>]) -> Result<Vec<Operation>, DecodeError> {
    items
        .iter()
        .map(|item| {
            let kind = item.get("spanKind");
            let span_kind = match &kind {
                None => SpanKind::Unspecified,
                Some(node) => SpanKind::from_jaeger(node.str()?)
                    .ok_or_else(|| node.error("unknown span kind"))?,
            };
            Ok(Operation {
                name: item.field("name")?.str()?.to_owned(),
                span_kind,
            })
        })
        .collect()
}

/// Groups spans by trace id, traces in order of first appearance.
pub(crate) fn group_by_trace(spans: Vec<Span>) -> Vec<Trace> {
    let mut traces: Vec<Trace> = Vec::new();
    for span in spans {
        match traces.iter_mut().find(|t| t.trace_id == span.trace_id) {
            Some(trace) => trace.spans.push(span),
            None => traces.push(Trace {
                trace_id: span.trace_id,
                spans: vec![span],
            }),
        }
    }
    traces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_widens_short_hex_and_prints_32_digits() {
        let id = TraceId::from_hex("0000000000000001").unwrap();
        assert_eq!(id, TraceId(1));
        assert_eq!(id.to_string(), "00000000000000000000000000000001");
        assert_eq!(
            TraceId::from_hex("83A9EFD15C1C98A977E0711CC93EE28B")
                .unwrap()
                .to_string(),
            "83a9efd15c1c98a977e0711cc93ee28b"
        );
        assert_eq!(TraceId::from_hex(""), None);
        assert_eq!(TraceId::from_hex(&"f".repeat(33)), None);
        assert_eq!(TraceId::from_hex("+1"), None);
    }

    #[test]
    fn span_kind_round_trips_jaeger_names() {
        for kind in ["", "internal", "server", "client", "producer", "consumer"] {
            assert_eq!(SpanKind::from_jaeger(kind).unwrap().as_str(), kind);
        }
        assert_eq!(SpanKind::from_jaeger("SERVER"), Some(SpanKind::Server));
        assert_eq!(SpanKind::from_jaeger("weird"), None);
    }
}
