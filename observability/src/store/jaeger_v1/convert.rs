//! OTLP spans → Jaeger UI trace, following the collector's Jaeger translator
//! (`pkg/translator/jaeger/traces_to_jaegerproto.go`) and Jaeger's UI converter
//! (`internal/uimodel/converter/v1/json/from_domain.go`).
//!
//! - Process: `service.name` → `serviceName`, the other resource attributes → `tags`;
//!   identical processes share one id, numbered `p1`, `p2`, … in order of first use.
//! - Tags, in this order: `otel.scope.name`, `otel.scope.version` (when set), the span's
//!   attributes, `span.kind` (not for UNSPECIFIED), `otel.status_code` (`OK`/`ERROR`),
//!   `error: true` (ERROR only), `otel.status_description` (non-empty message),
//!   `w3c.tracestate` (non-empty).
//! - References: the parent as `CHILD_OF` first; each link as `FOLLOWS_FROM`, or `CHILD_OF`
//!   when it carries `opentracing.ref_type = child_of`; a link to the parent only retypes
//!   the parent reference.
//! - Logs: one per event, `event` = the event name (unless an attribute is already called
//!   `event`) followed by the event's attributes.
//! - Times: nanoseconds truncated to microseconds; a negative duration becomes 0.
//! - Span `flags` are not carried over (the translator does not map them), so it is omitted.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::KeyValue as OtlpKeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::Link;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use super::model::{KeyValue, Log, Process, RefType, Reference, Span, TagValue, Trace};
use crate::store::adjust::SpanView;
use crate::store::model::{
    SERVICE_NAME_KEY, SpanId, TraceId, attribute, raw_json, span_kind_name, value_text,
};

/// The UI form of a (viewed) trace; `None` for a trace without spans.
pub(crate) fn trace(spans: &[SpanView<'_>]) -> Option<Trace> {
    let first = spans.first()?;
    let mut processes: Vec<Process> = Vec::new();
    let mut ui_spans = Vec::with_capacity(spans.len());
    for view in spans {
        let process = process(view);
        let index = match processes.iter().position(|p| *p == process) {
            Some(index) => index,
            None => {
                processes.push(process);
                processes.len() - 1
            }
        };
        ui_spans.push(span(view, format!("p{}", index + 1)));
    }
    Some(Trace {
        trace_id: first.trace_id.to_jaeger(),
        spans: ui_spans,
        processes: processes
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("p{}", i + 1), p))
            .collect::<BTreeMap<_, _>>(),
        warnings: None,
    })
}

fn process(view: &SpanView<'_>) -> Process {
    Process {
        service_name: view.resource.process_name().to_owned(),
        tags: view
            .resource
            .resource
            .attributes
            .iter()
            .filter(|kv| kv.key != SERVICE_NAME_KEY)
            .map(tag)
            .collect(),
    }
}

fn span(view: &SpanView<'_>, process_id: String) -> Span {
    let span = &*view.span;
    Span {
        trace_id: view.trace_id.to_jaeger(),
        span_id: view.span_id.to_hex(),
        parent_span_id: None,
        flags: 0,
        operation_name: span.name.clone(),
        references: references(view),
        start_time: span.start_time_unix_nano / 1_000,
        duration: span
            .end_time_unix_nano
            .saturating_sub(span.start_time_unix_nano)
            / 1_000,
        tags: tags(view),
        logs: span
            .events
            .iter()
            .map(|event| {
                let mut fields = Vec::with_capacity(event.attributes.len() + 1);
                if !event.name.is_empty() && attribute(&event.attributes, "event").is_none() {
                    fields.push(KeyValue::new("event", TagValue::String(event.name.clone())));
                }
                fields.extend(event.attributes.iter().map(tag));
                Log {
                    timestamp: event.time_unix_nano / 1_000,
                    fields,
                }
            })
            .collect(),
        process_id,
        process: None,
        warnings: (!view.warnings.is_empty()).then(|| view.warnings.clone()),
    }
}

fn references(view: &SpanView<'_>) -> Vec<Reference> {
    let trace_id = view.trace_id;
    let parent = SpanId::from_bytes(&view.span.parent_span_id);
    let mut refs: Vec<Reference> = parent
        .iter()
        .map(|parent| Reference {
            ref_type: RefType::ChildOf,
            trace_id: trace_id.to_jaeger(),
            span_id: parent.to_hex(),
        })
        .collect();
    for link in &view.span.links {
        let ref_type = link_ref_type(link);
        let link_trace = TraceId::from_bytes(&link.trace_id);
        let link_span = SpanId::from_bytes(&link.span_id);
        if parent.is_some() && link_span == parent && link_trace == Some(trace_id) {
            // The translator retypes the parent reference rather than adding a second one.
            if let Some(first) = refs.first_mut() {
                first.ref_type = ref_type;
            }
            continue;
        }
        refs.push(Reference {
            ref_type,
            trace_id: link_trace.map_or_else(|| "0".repeat(16), TraceId::to_jaeger),
            span_id: link_span.map_or_else(|| "0".repeat(16), SpanId::to_hex),
        });
    }
    refs
}

fn link_ref_type(link: &Link) -> RefType {
    match attribute(&link.attributes, "opentracing.ref_type") {
        Some(kv) if value_text(kv.value.as_ref()) == "child_of" => RefType::ChildOf,
        _ => RefType::FollowsFrom,
    }
}

fn tags(view: &SpanView<'_>) -> Vec<KeyValue> {
    let span = &*view.span;
    let scope = &view.scope.scope;
    let string = |key: &str, value: &str| KeyValue::new(key, TagValue::String(value.to_owned()));
    let mut tags = Vec::with_capacity(span.attributes.len() + 6);
    if !scope.name.is_empty() {
        tags.push(string("otel.scope.name", &scope.name));
    }
    if !scope.version.is_empty() {
        tags.push(string("otel.scope.version", &scope.version));
    }
    tags.extend(span.attributes.iter().map(tag));
    let kind = span_kind_name(span.kind);
    if !kind.is_empty() {
        tags.push(string("span.kind", kind));
    }
    let status = span.status.clone().unwrap_or_default();
    if status.code == StatusCode::Ok as i32 {
        tags.push(string("otel.status_code", "OK"));
    } else if status.code == StatusCode::Error as i32 {
        tags.push(string("otel.status_code", "ERROR"));
        tags.push(KeyValue::new("error", TagValue::Bool(true)));
    }
    if !status.message.is_empty() {
        tags.push(string("otel.status_description", &status.message));
    }
    if !span.trace_state.is_empty() {
        tags.push(string("w3c.tracestate", &span.trace_state));
    }
    tags
}

/// One OTLP attribute as a typed tag; arrays and maps become their JSON text, and an empty
/// value an empty string, as in the translator.
fn tag(kv: &OtlpKeyValue) -> KeyValue {
    let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => TagValue::String(s.clone()),
        Some(Value::BoolValue(b)) => TagValue::Bool(*b),
        Some(Value::IntValue(i)) => TagValue::Int64(*i),
        Some(Value::DoubleValue(d)) => TagValue::Float64(*d),
        Some(Value::BytesValue(b)) => TagValue::Binary(b.clone()),
        Some(other @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => {
            TagValue::String(raw_json(Some(other)).to_string())
        }
        Some(Value::StringValueStrindex(_)) | None => TagValue::String(String::new()),
    };
    KeyValue::new(kv.key.clone(), value)
}
