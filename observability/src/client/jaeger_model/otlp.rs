//! Decodes api_v3 answers: OTLP-JSON `TracesData` (the `result` of `{"result": …}`) into spans.
//!
//! OTLP-JSON rules followed (opentelemetry-proto `docs/specification.md`): ids are hex of
//! either case, enums are integers (names are accepted too, as proto3 JSON allows), 64-bit
//! integers are decimal strings or numbers, zero-valued fields may be omitted.

use super::super::error::DecodeError;
use super::super::json::Node;
use super::{
    AttributeValue, Event, Link, Scope, Span, SpanId, SpanKind, Status, StatusCode, TraceId,
};

const SERVICE_NAME: &str = "service.name";

/// All spans of a `TracesData` document, in document order.
pub(crate) fn decode_traces_data(data: &Node<'_>) -> Result<Vec<Span>, DecodeError> {
    let mut spans = Vec::new();
    for resource_spans in data.items_of("resourceSpans")? {
        let mut resource_attributes = match resource_spans.get("resource") {
            Some(resource) => attributes(&resource)?,
            None => Vec::new(),
        };
        let service_name = take_service_name(&mut resource_attributes);
        for scope_spans in resource_spans.items_of("scopeSpans")? {
            let scope = match scope_spans.get("scope") {
                Some(scope) => Scope {
                    name: scope.str_of("name")?.to_owned(),
                    version: scope.str_of("version")?.to_owned(),
                },
                None => Scope::default(),
            };
            for span in scope_spans.items_of("spans")? {
                spans.push(Span {
                    service_name: service_name.clone(),
                    resource_attributes: resource_attributes.clone(),
                    scope: scope.clone(),
                    ..decode_span(&span)?
                });
            }
        }
    }
    Ok(spans)
}

/// Removes `service.name` from the resource attributes and returns it (`""` when absent or
/// not a string, as Jaeger then files the span under an empty service).
fn take_service_name(attributes: &mut Vec<(String, AttributeValue)>) -> String {
    match attributes.iter().position(|(k, _)| k == SERVICE_NAME) {
        Some(i) => match attributes.remove(i).1 {
            AttributeValue::String(name) => name,
            _ => String::new(),
        },
        None => String::new(),
    }
}

fn decode_span(span: &Node<'_>) -> Result<Span, DecodeError> {
    let status = match span.get("status") {
        Some(status) => Status {
            code: status_code(status.get("code"))?,
            message: status.str_of("message")?.to_owned(),
        },
        None => Status::default(),
    };
    let events = span
        .items_of("events")?
        .iter()
        .map(|event| {
            Ok(Event {
                time_unix_nanos: nanos(event, "timeUnixNano")?,
                name: event.str_of("name")?.to_owned(),
                attributes: attributes(event)?,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    let links = span
        .items_of("links")?
        .iter()
        .map(|link| {
            Ok(Link {
                trace_id: trace_id(&link.field("traceId")?)?,
                span_id: span_id(&link.field("spanId")?)?,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    let parent_span_id = match span.get("parentSpanId") {
        Some(node) if !node.str()?.is_empty() => Some(span_id(&node)?).filter(|id| id.0 != 0),
        _ => None,
    };
    Ok(Span {
        trace_id: trace_id(&span.field("traceId")?)?,
        span_id: span_id(&span.field("spanId")?)?,
        parent_span_id,
        service_name: String::new(),
        name: span.str_of("name")?.to_owned(),
        kind: span_kind(span.get("kind"))?,
        start_unix_nanos: nanos(span, "startTimeUnixNano")?,
        end_unix_nanos: nanos(span, "endTimeUnixNano")?,
        status,
        attributes: attributes(span)?,
        events,
        links,
        resource_attributes: Vec::new(),
        scope: Scope::default(),
    })
}

fn nanos(node: &Node<'_>, key: &str) -> Result<u64, DecodeError> {
    node.get(key).map_or(Ok(0), |n| n.u64())
}

/// OTLP ids have an exact width (32/16 hex digits), unlike Jaeger's shortened v1 ids.
fn trace_id(node: &Node<'_>) -> Result<TraceId, DecodeError> {
    let hex = node.str()?;
    (hex.len() == 32)
        .then(|| TraceId::from_hex(hex))
        .flatten()
        .ok_or_else(|| node.error(format!("expected 32 hex digits, got {hex:?}")))
}

fn span_id(node: &Node<'_>) -> Result<SpanId, DecodeError> {
    let hex = node.str()?;
    (hex.len() == 16)
        .then(|| SpanId::from_hex(hex))
        .flatten()
        .ok_or_else(|| node.error(format!("expected 16 hex digits, got {hex:?}")))
}

/// An enum as its integer, or as its proto name (`"SPAN_KIND_SERVER"`).
fn enum_value(node: &Node<'_>, names: &[&str]) -> Result<usize, DecodeError> {
    let found = if node.is_string() {
        let name = node.str()?;
        names.iter().position(|n| *n == name)
    } else {
        node.u64()
            .ok()
            .and_then(|v| usize::try_from(v).ok())
            .filter(|v| *v < names.len())
    };
    found.ok_or_else(|| node.error(format!("expected one of 0..{} or {names:?}", names.len())))
}

fn span_kind(node: Option<Node<'_>>) -> Result<SpanKind, DecodeError> {
    const NAMES: [&str; 6] = [
        "SPAN_KIND_UNSPECIFIED",
        "SPAN_KIND_INTERNAL",
        "SPAN_KIND_SERVER",
        "SPAN_KIND_CLIENT",
        "SPAN_KIND_PRODUCER",
        "SPAN_KIND_CONSUMER",
    ];
    const KINDS: [SpanKind; 6] = [
        SpanKind::Unspecified,
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ];
    let Some(node) = node else {
        return Ok(SpanKind::Unspecified);
    };
    let index = enum_value(&node, &NAMES)?;
    KINDS
        .get(index)
        .copied()
        .ok_or_else(|| node.error("span kind out of range"))
}

fn status_code(node: Option<Node<'_>>) -> Result<StatusCode, DecodeError> {
    const NAMES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];
    const CODES: [StatusCode; 3] = [StatusCode::Unset, StatusCode::Ok, StatusCode::Error];
    let Some(node) = node else {
        return Ok(StatusCode::Unset);
    };
    let index = enum_value(&node, &NAMES)?;
    CODES
        .get(index)
        .copied()
        .ok_or_else(|| node.error("status code out of range"))
}

/// The `attributes` list of a span, event or resource.
fn attributes(node: &Node<'_>) -> Result<Vec<(String, AttributeValue)>, DecodeError> {
    node.items_of("attributes")?.iter().map(key_value).collect()
}

fn key_value(node: &Node<'_>) -> Result<(String, AttributeValue), DecodeError> {
    let key = node.field("key")?.str()?.to_owned();
    let value = match node.get("value") {
        Some(value) => any_value(&value)?,
        None => AttributeValue::Empty,
    };
    Ok((key, value))
}

fn any_value(node: &Node<'_>) -> Result<AttributeValue, DecodeError> {
    if let Some(v) = node.get("stringValue") {
        return Ok(AttributeValue::String(v.str()?.to_owned()));
    }
    if let Some(v) = node.get("boolValue") {
        return Ok(AttributeValue::Bool(v.bool()?));
    }
    if let Some(v) = node.get("intValue") {
        return Ok(AttributeValue::Int(v.i64()?));
    }
    if let Some(v) = node.get("doubleValue") {
        return Ok(AttributeValue::Double(v.f64()?));
    }
    if let Some(v) = node.get("bytesValue") {
        return Ok(AttributeValue::Bytes(v.base64()?));
    }
    if let Some(v) = node.get("arrayValue") {
        let values = v
            .items_of("values")?
            .iter()
            .map(any_value)
            .collect::<Result<_, _>>()?;
        return Ok(AttributeValue::Array(values));
    }
    if let Some(v) = node.get("kvlistValue") {
        let values = v
            .items_of("values")?
            .iter()
            .map(key_value)
            .collect::<Result<_, _>>()?;
        return Ok(AttributeValue::Map(values));
    }
    // An empty AnyValue (`{}`) is legal OTLP: the attribute exists but holds nothing.
    match node.entries()?.first() {
        None => Ok(AttributeValue::Empty),
        Some((key, _)) => Err(node.error(format!("unknown AnyValue field {key:?}"))),
    }
}
