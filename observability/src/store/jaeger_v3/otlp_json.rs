//! OTLP/JSON as Jaeger's api_v3 writes it (pdata's JSON marshaler): lowercase hex ids,
//! integer enums, 64-bit integers as decimal strings, and zero-valued fields omitted — except
//! the `resource`, `scope` and `status` messages, which are always written (`{}` when empty,
//! as `apiv3_FindTraces.json` shows for resource and scope).
//!
//! `opentelemetry-proto`'s serde output cannot be reused: it writes every default field
//! (`"droppedAttributesCount":0`, `"entityRefs":[]`).

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use serde_json::{Map, Value as Json, json};

use crate::store::adjust::SpanView;
use crate::store::base64;
use crate::store::model::{SpanId, TraceId};

/// Span attribute in which Jaeger carries adjuster warnings in OTLP form.
const WARNINGS_ATTRIBUTE: &str = "@jaeger@warnings";

/// Spans sharing a scope: the first one (for the scope) and their JSON.
type ScopeRun<'v, 'a> = (&'v SpanView<'a>, Vec<Json>);

/// Spans sharing a resource: the first one (for the resource) and its scope runs.
type ResourceRun<'v, 'a> = (&'v SpanView<'a>, Vec<ScopeRun<'v, 'a>>);

/// `{"resourceSpans":[…]}` for the traces, one `ResourceSpans` per run of spans sharing a
/// resource within a trace, one `ScopeSpans` per run sharing a scope.
pub(crate) fn traces_data(traces: &[Vec<SpanView<'_>>]) -> Json {
    let mut resource_spans: Vec<Json> = Vec::new();
    for trace in traces {
        let mut runs: Vec<ResourceRun<'_, '_>> = Vec::new();
        for view in trace {
            let same_resource = runs
                .last()
                .is_some_and(|(first, _)| Arc::ptr_eq(&first.resource, &view.resource));
            if !same_resource {
                runs.push((view, Vec::new()));
            }
            let Some((_, scopes)) = runs.last_mut() else {
                continue;
            };
            let same_scope = scopes
                .last()
                .is_some_and(|(first, _)| Arc::ptr_eq(&first.scope, &view.scope));
            if !same_scope {
                scopes.push((view, Vec::new()));
            }
            if let Some((_, spans)) = scopes.last_mut() {
                spans.push(span(view));
            }
        }
        for (first, scopes) in runs {
            let resource = &first.resource;
            let mut object = Map::new();
            let mut resource_json = Map::new();
            put_attributes(
                &mut resource_json,
                "attributes",
                &resource.resource.attributes,
            );
            put_count(
                &mut resource_json,
                "droppedAttributesCount",
                resource.resource.dropped_attributes_count,
            );
            object.insert("resource".into(), Json::Object(resource_json));
            let scope_spans = scopes
                .into_iter()
                .map(|(first, spans)| scope_spans(first, spans))
                .collect();
            object.insert("scopeSpans".into(), Json::Array(scope_spans));
            put_str(&mut object, "schemaUrl", &resource.schema_url);
            resource_spans.push(Json::Object(object));
        }
    }
    json!({ "resourceSpans": resource_spans })
}

fn scope_spans(first: &SpanView<'_>, spans: Vec<Json>) -> Json {
    let record = &first.scope;
    let mut scope = Map::new();
    put_str(&mut scope, "name", &record.scope.name);
    put_str(&mut scope, "version", &record.scope.version);
    put_attributes(&mut scope, "attributes", &record.scope.attributes);
    put_count(
        &mut scope,
        "droppedAttributesCount",
        record.scope.dropped_attributes_count,
    );
    let mut object = Map::new();
    object.insert("scope".into(), Json::Object(scope));
    object.insert("spans".into(), Json::Array(spans));
    put_str(&mut object, "schemaUrl", &record.schema_url);
    Json::Object(object)
}

fn span(view: &SpanView<'_>) -> Json {
    let span: &Span = &view.span;
    let mut object = Map::new();
    object.insert("traceId".into(), Json::from(view.trace_id.to_hex()));
    object.insert("spanId".into(), Json::from(view.span_id.to_hex()));
    put_str(&mut object, "traceState", &span.trace_state);
    if let Some(parent) = SpanId::from_bytes(&span.parent_span_id) {
        object.insert("parentSpanId".into(), Json::from(parent.to_hex()));
    }
    put_count(&mut object, "flags", span.flags);
    put_str(&mut object, "name", &span.name);
    if span.kind != 0 {
        object.insert("kind".into(), Json::from(span.kind));
    }
    put_nanos(&mut object, "startTimeUnixNano", span.start_time_unix_nano);
    put_nanos(&mut object, "endTimeUnixNano", span.end_time_unix_nano);
    let mut attributes: Vec<Json> = span.attributes.iter().map(key_value).collect();
    if !view.warnings.is_empty() {
        let warnings = view
            .warnings
            .iter()
            .map(|w| json!({ "stringValue": w }))
            .collect::<Vec<_>>();
        attributes.push(json!({
            "key": WARNINGS_ATTRIBUTE,
            "value": { "arrayValue": { "values": warnings } },
        }));
    }
    if !attributes.is_empty() {
        object.insert("attributes".into(), Json::Array(attributes));
    }
    put_count(
        &mut object,
        "droppedAttributesCount",
        span.dropped_attributes_count,
    );
    if !span.events.is_empty() {
        object.insert("events".into(), span.events.iter().map(event).collect());
    }
    put_count(&mut object, "droppedEventsCount", span.dropped_events_count);
    if !span.links.is_empty() {
        object.insert("links".into(), span.links.iter().map(link).collect());
    }
    put_count(&mut object, "droppedLinksCount", span.dropped_links_count);
    let status = span.status.clone().unwrap_or_default();
    let mut status_json = Map::new();
    put_str(&mut status_json, "message", &status.message);
    if status.code != 0 {
        status_json.insert("code".into(), Json::from(status.code));
    }
    object.insert("status".into(), Json::Object(status_json));
    Json::Object(object)
}

fn event(event: &Event) -> Json {
    let mut object = Map::new();
    put_nanos(&mut object, "timeUnixNano", event.time_unix_nano);
    put_str(&mut object, "name", &event.name);
    put_attributes(&mut object, "attributes", &event.attributes);
    put_count(
        &mut object,
        "droppedAttributesCount",
        event.dropped_attributes_count,
    );
    Json::Object(object)
}

fn link(link: &Link) -> Json {
    let mut object = Map::new();
    if let Some(trace_id) = TraceId::from_bytes(&link.trace_id) {
        object.insert("traceId".into(), Json::from(trace_id.to_hex()));
    }
    if let Some(span_id) = SpanId::from_bytes(&link.span_id) {
        object.insert("spanId".into(), Json::from(span_id.to_hex()));
    }
    put_str(&mut object, "traceState", &link.trace_state);
    put_attributes(&mut object, "attributes", &link.attributes);
    put_count(
        &mut object,
        "droppedAttributesCount",
        link.dropped_attributes_count,
    );
    put_count(&mut object, "flags", link.flags);
    Json::Object(object)
}

fn key_value(kv: &KeyValue) -> Json {
    json!({ "key": kv.key, "value": any_value(kv.value.as_ref()) })
}

fn any_value(value: Option<&AnyValue>) -> Json {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => json!({ "stringValue": s }),
        Some(Value::BoolValue(b)) => json!({ "boolValue": b }),
        Some(Value::IntValue(i)) => json!({ "intValue": i.to_string() }),
        Some(Value::DoubleValue(d)) => json!({ "doubleValue": d }),
        Some(Value::BytesValue(b)) => json!({ "bytesValue": base64::encode(b) }),
        Some(Value::ArrayValue(array)) => {
            let mut inner = Map::new();
            if !array.values.is_empty() {
                let values = array.values.iter().map(|v| any_value(Some(v))).collect();
                inner.insert("values".into(), Json::Array(values));
            }
            json!({ "arrayValue": inner })
        }
        Some(Value::KvlistValue(list)) => {
            let mut inner = Map::new();
            put_attributes(&mut inner, "values", &list.values);
            json!({ "kvlistValue": inner })
        }
        Some(Value::StringValueStrindex(_)) | None => json!({}),
    }
}

fn put_str(object: &mut Map<String, Json>, key: &str, value: &str) {
    if !value.is_empty() {
        object.insert(key.into(), Json::from(value));
    }
}

fn put_count(object: &mut Map<String, Json>, key: &str, value: u32) {
    if value != 0 {
        object.insert(key.into(), Json::from(value));
    }
}

/// 64-bit nanosecond times are decimal strings in OTLP/JSON.
fn put_nanos(object: &mut Map<String, Json>, key: &str, value: u64) {
    if value != 0 {
        object.insert(key.into(), Json::from(value.to_string()));
    }
}

fn put_attributes(object: &mut Map<String, Json>, key: &str, attributes: &[KeyValue]) {
    if !attributes.is_empty() {
        object.insert(
            key.into(),
            Json::Array(attributes.iter().map(key_value).collect()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_value_uses_otlp_json_forms() {
        let int = AnyValue {
            value: Some(Value::IntValue(-3)),
        };
        assert_eq!(any_value(Some(&int)), json!({"intValue": "-3"}));
        let bytes = AnyValue {
            value: Some(Value::BytesValue(vec![0, 0, 0x30, 0x39])),
        };
        assert_eq!(any_value(Some(&bytes)), json!({"bytesValue": "AAAwOQ=="}));
        assert_eq!(any_value(None), json!({}));
    }
}
