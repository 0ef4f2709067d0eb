//! Decodes v1 answers: Jaeger UI-model traces (`data` of `{"data": [...], "errors": …}`).
//!
//! The reverse of Jaeger's OTLP→UI mapping (reference telemetry.md §1.5), following the
//! collector-contrib `jaeger→otlp` translator for status: a boolean `error` = true tag wins;
//! otherwise `otel.status_code` (`OK`/`ERROR`, any case) decides. Unlike that translator we do
//! not infer an error status from `http.status_code`, so a v1 span is never more failed than
//! what its instrumentation recorded.

use std::collections::HashMap;

use super::super::error::DecodeError;
use super::super::json::Node;
use super::{
    AttributeValue, Event, Link, Scope, Span, SpanId, SpanKind, Status, StatusCode, TraceId,
};

/// A process (`processes.pN`): its service and its tags.
struct Process {
    service_name: String,
    tags: Vec<(String, AttributeValue)>,
}

/// All spans of the UI-model traces in `traces`, in document order.
pub(crate) fn decode_traces(traces: &[Node<'_>]) -> Result<Vec<Span>, DecodeError> {
    let mut spans = Vec::new();
    for trace in traces {
        let mut processes = HashMap::new();
        if let Some(map) = trace.get("processes") {
            for (id, process) in map.entries()? {
                processes.insert(id, decode_process(&process)?);
            }
        }
        for span in trace.items_of("spans")? {
            spans.push(decode_span(&span, &processes)?);
        }
    }
    Ok(spans)
}

fn decode_process(node: &Node<'_>) -> Result<Process, DecodeError> {
    Ok(Process {
        service_name: node.str_of("serviceName")?.to_owned(),
        tags: key_values(&node.items_of("tags")?)?,
    })
}

fn decode_span(node: &Node<'_>, processes: &HashMap<&str, Process>) -> Result<Span, DecodeError> {
    let trace_id = hex_trace_id(&node.field("traceID")?)?;
    // Query responses reference a process by id; the struct also allows an embedded one.
    let embedded;
    let process = match (node.get("processID"), node.get("process")) {
        (Some(id), _) => processes
            .get(id.str()?)
            .ok_or_else(|| id.error("no such entry in the trace's processes"))?,
        (None, Some(p)) => {
            embedded = decode_process(&p)?;
            &embedded
        }
        (None, None) => return Err(node.error("span has neither processID nor process")),
    };

    let mut parent_span_id = None;
    let mut links = Vec::new();
    for reference in node.items_of("references")? {
        let ref_type = reference.field("refType")?;
        let link = Link {
            trace_id: hex_trace_id(&reference.field("traceID")?)?,
            span_id: hex_span_id(&reference.field("spanID")?)?,
        };
        match ref_type.str()? {
            "CHILD_OF" if parent_span_id.is_none() && link.trace_id == trace_id => {
                parent_span_id = Some(link.span_id);
            }
            "CHILD_OF" | "FOLLOWS_FROM" => links.push(link),
            other => return Err(ref_type.error(format!("unknown refType {other:?}"))),
        }
    }

    let start_micros = node.field("startTime")?.u64()?;
    let duration_micros = node.get("duration").map_or(Ok(0), |d| d.u64())?;
    let start_unix_nanos = micros_to_nanos(node, start_micros)?;
    let end_unix_nanos = micros_to_nanos(node, start_micros.saturating_add(duration_micros))?;

    let mut attributes = key_values(&node.items_of("tags")?)?;
    let (kind, status, scope) = take_synthetic_tags(&mut attributes);
    let events = node
        .items_of("logs")?
        .iter()
        .map(decode_log)
        .collect::<Result<_, DecodeError>>()?;

    Ok(Span {
        trace_id,
        span_id: hex_span_id(&node.field("spanID")?)?,
        parent_span_id,
        service_name: process.service_name.clone(),
        name: node.str_of("operationName")?.to_owned(),
        kind,
        start_unix_nanos,
        end_unix_nanos,
        status,
        attributes,
        events,
        links,
        resource_attributes: process.tags.clone(),
        scope,
    })
}

fn decode_log(node: &Node<'_>) -> Result<Event, DecodeError> {
    let time = node.field("timestamp")?.u64()?;
    let mut attributes = key_values(&node.items_of("fields")?)?;
    let name = match attributes
        .iter()
        .position(|(k, v)| k == "event" && v.as_str().is_some())
    {
        Some(i) => match attributes.remove(i).1 {
            AttributeValue::String(name) => name,
            _ => String::new(),
        },
        None => String::new(),
    };
    Ok(Event {
        time_unix_nanos: micros_to_nanos(node, time)?,
        name,
        attributes,
    })
}

fn micros_to_nanos(node: &Node<'_>, micros: u64) -> Result<u64, DecodeError> {
    micros
        .checked_mul(1000)
        .ok_or_else(|| node.error("time beyond year 2554"))
}

/// Moves the tags Jaeger synthesises from OTLP fields back into those fields.
fn take_synthetic_tags(tags: &mut Vec<(String, AttributeValue)>) -> (SpanKind, Status, Scope) {
    let mut kind = SpanKind::Unspecified;
    let mut error = false;
    let mut status_code = None;
    let mut status = Status::default();
    let mut scope = Scope::default();
    tags.retain(|(key, value)| {
        match (key.as_str(), value) {
            ("span.kind", AttributeValue::String(s)) => match SpanKind::from_jaeger(s) {
                Some(k) => kind = k,
                // An unknown kind is user data, not Jaeger's synthetic tag: keep it.
                None => return true,
            },
            ("error", AttributeValue::Bool(true)) => error = true,
            ("otel.status_code", AttributeValue::String(s)) => status_code = Some(s.clone()),
            ("otel.status_description", AttributeValue::String(s)) => status.message = s.clone(),
            ("otel.scope.name", AttributeValue::String(s)) => scope.name = s.clone(),
            ("otel.scope.version", AttributeValue::String(s)) => scope.version = s.clone(),
            _ => return true,
        }
        false
    });
    status.code = match status_code {
        _ if error => StatusCode::Error,
        Some(code) if code.eq_ignore_ascii_case("ERROR") => StatusCode::Error,
        Some(code) if code.eq_ignore_ascii_case("OK") => StatusCode::Ok,
        _ => StatusCode::Unset,
    };
    (kind, status, scope)
}

fn key_values(items: &[Node<'_>]) -> Result<Vec<(String, AttributeValue)>, DecodeError> {
    items.iter().map(key_value).collect()
}

/// A UI-model `KeyValue`: `{"key", "type", "value"}`.
fn key_value(node: &Node<'_>) -> Result<(String, AttributeValue), DecodeError> {
    let key = node.field("key")?.str()?.to_owned();
    let kind = node.get("type");
    let value = node.field("value")?;
    let value = match kind
        .as_ref()
        .map(Node::str)
        .transpose()?
        .unwrap_or("string")
    {
        "string" => AttributeValue::String(value.str()?.to_owned()),
        "bool" => AttributeValue::Bool(value.bool()?),
        // Jaeger writes int64 outside ±(2^53−1) as a string; `i64()` takes both.
        "int64" => AttributeValue::Int(value.i64()?),
        "float64" => AttributeValue::Double(value.f64()?),
        "binary" => AttributeValue::Bytes(value.base64()?),
        other => {
            let at = kind.unwrap_or(value);
            return Err(at.error(format!("unknown tag type {other:?}")));
        }
    };
    Ok((key, value))
}

/// v1 prints trace ids with 16 or 32 hex digits (short when the high half is zero).
fn hex_trace_id(node: &Node<'_>) -> Result<TraceId, DecodeError> {
    let hex = node.str()?;
    TraceId::from_hex(hex)
        .ok_or_else(|| node.error(format!("expected 1-32 hex digits, got {hex:?}")))
}

fn hex_span_id(node: &Node<'_>) -> Result<SpanId, DecodeError> {
    let hex = node.str()?;
    SpanId::from_hex(hex)
        .ok_or_else(|| node.error(format!("expected 1-16 hex digits, got {hex:?}")))
}
