//! Jaeger's query-time adjusters: what a trace read through either API looks like unless the
//! client asks for it raw (`raw=true`, `rawTraces=true`).
//!
//! Jaeger v2 runs, in order (`jaegerquery/internal/adjuster/standard.go`):
//!
//! | adjuster                         | here | why / why not                                        |
//! |----------------------------------|------|------------------------------------------------------|
//! | DeduplicateClientServerSpanIDs   | no   | fixes Zipkin-style shared client/server span ids; OTLP SDKs never share them |
//! | SortCollections                  | yes  | attributes (resource, scope, span, event, link) by key; events by time |
//! | DeduplicateSpans                 | yes  | drops a span identical (with its resource and scope) to an earlier one, e.g. an exporter retry |
//! | CorrectClockSkew                 | no   | needs host identity across machines; drills run on one clock |
//! | CorrectMaxSize                   | no   | off by default in Jaeger too                          |
//! | NormalizeIPAttributes            | no   | rewrites legacy integer IPv4 tags only               |
//! | MoveLibraryAttributes            | no   | OTel SDKs already put `telemetry.sdk.*` on the resource |
//! | RemoveEmptySpanLinks             | yes  | drops links with an empty trace id, warning `Invalid span link removed` |

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::model::{ResourceRecord, ScopeRecord, SpanId, SpanRecord, TraceId};

/// Warning Jaeger attaches to a span whose empty link it removed.
const INVALID_LINK_WARNING: &str = "Invalid span link removed";

/// A span as a query answers it: adjusted (or raw) content plus Jaeger's warnings.
#[derive(Debug, Clone)]
pub(crate) struct SpanView<'a> {
    /// The span's trace id.
    pub(crate) trace_id: TraceId,
    /// The span's id.
    pub(crate) span_id: SpanId,
    /// The span, copied only when an adjuster changed it.
    pub(crate) span: Cow<'a, Span>,
    /// Its resource; spans sharing one share the `Arc`, which the v3 encoder groups by.
    pub(crate) resource: Arc<ResourceRecord>,
    /// Its scope; shared like the resource.
    pub(crate) scope: Arc<ScopeRecord>,
    /// Adjuster warnings (v1 `warnings`, v3 attribute `@jaeger@warnings`).
    pub(crate) warnings: Vec<String>,
}

/// The trace as stored (`raw`) or after the adjusters above.
pub(crate) fn view(spans: &[Arc<SpanRecord>], raw: bool) -> Vec<SpanView<'_>> {
    if raw {
        return spans.iter().map(|record| plain(record)).collect();
    }
    let mut sorted = SortedShared::default();
    let mut kept: Vec<SpanView<'_>> = Vec::with_capacity(spans.len());
    let mut by_id: HashMap<SpanId, Vec<usize>> = HashMap::new();
    for record in spans {
        let mut view = plain(record);
        view.resource = sorted.resource(&record.resource);
        view.scope = sorted.scope(&record.scope);
        if !is_sorted(&view.span) {
            sort_span(view.span.to_mut());
        }
        let same_id = by_id.entry(view.span_id).or_default();
        let duplicate = same_id
            .iter()
            .filter_map(|&i| kept.get(i))
            .any(|earlier| identical(earlier, &view));
        if duplicate {
            continue;
        }
        same_id.push(kept.len());
        kept.push(view);
    }
    // After deduplication, as in Jaeger: duplicates are compared with their links intact.
    for view in &mut kept {
        remove_empty_links(view);
    }
    kept
}

fn plain(record: &SpanRecord) -> SpanView<'_> {
    SpanView {
        trace_id: record.trace_id,
        span_id: record.span_id,
        span: Cow::Borrowed(&record.span),
        resource: Arc::clone(&record.resource),
        scope: Arc::clone(&record.scope),
        warnings: Vec::new(),
    }
}

/// Sorted copies of resources and scopes, made once per shared original so spans that
/// shared one still share its copy.
#[derive(Default)]
struct SortedShared {
    resources: HashMap<*const ResourceRecord, Arc<ResourceRecord>>,
    scopes: HashMap<*const ScopeRecord, Arc<ScopeRecord>>,
}

impl SortedShared {
    fn resource(&mut self, original: &Arc<ResourceRecord>) -> Arc<ResourceRecord> {
        let copy = self
            .resources
            .entry(Arc::as_ptr(original))
            .or_insert_with(|| {
                let mut copy = ResourceRecord::clone(original);
                sort_attributes(&mut copy.resource.attributes);
                Arc::new(copy)
            });
        Arc::clone(copy)
    }

    fn scope(&mut self, original: &Arc<ScopeRecord>) -> Arc<ScopeRecord> {
        let copy = self.scopes.entry(Arc::as_ptr(original)).or_insert_with(|| {
            let mut copy = ScopeRecord::clone(original);
            sort_attributes(&mut copy.scope.attributes);
            Arc::new(copy)
        });
        Arc::clone(copy)
    }
}

fn sort_attributes(attributes: &mut [KeyValue]) {
    attributes.sort_by(|a, b| a.key.cmp(&b.key));
}

fn attributes_sorted(attributes: &[KeyValue]) -> bool {
    attributes.is_sorted_by(|a, b| a.key <= b.key)
}

/// Most spans arrive sorted already; checking first avoids copying them.
fn is_sorted(span: &Span) -> bool {
    attributes_sorted(&span.attributes)
        && span.events.is_sorted_by_key(|event| event.time_unix_nano)
        && span.events.iter().all(|e| attributes_sorted(&e.attributes))
        && span.links.iter().all(|l| attributes_sorted(&l.attributes))
}

fn sort_span(span: &mut Span) {
    sort_attributes(&mut span.attributes);
    span.events.sort_by_key(|event| event.time_unix_nano);
    for event in &mut span.events {
        sort_attributes(&mut event.attributes);
    }
    for link in &mut span.links {
        sort_attributes(&mut link.attributes);
    }
}

/// Jaeger hashes the span together with its resource and scope; equal content is the same.
fn identical(a: &SpanView<'_>, b: &SpanView<'_>) -> bool {
    a.span == b.span
        && (Arc::ptr_eq(&a.resource, &b.resource) || a.resource == b.resource)
        && (Arc::ptr_eq(&a.scope, &b.scope) || a.scope == b.scope)
}

fn remove_empty_links(view: &mut SpanView<'_>) {
    let empty = |trace_id: &[u8]| trace_id.iter().all(|&b| b == 0);
    if !view.span.links.iter().any(|link| empty(&link.trace_id)) {
        return;
    }
    let span = view.span.to_mut();
    let before = span.links.len();
    span.links.retain(|link| !empty(&link.trace_id));
    let removed = before - span.links.len();
    view.warnings.extend(std::iter::repeat_n(
        INVALID_LINK_WARNING.to_owned(),
        removed,
    ));
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};

    use super::*;

    fn kv(key: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(Value::BoolValue(true)),
            }),
            ..Default::default()
        }
    }

    fn record(span_id: u8, attributes: Vec<KeyValue>) -> Arc<SpanRecord> {
        let resource = Arc::new(ResourceRecord::new(None, String::new()));
        let scope = Arc::new(ScopeRecord {
            scope: Default::default(),
            schema_url: String::new(),
        });
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![span_id; 8],
            attributes,
            events: vec![
                Event {
                    time_unix_nano: 9,
                    name: "late".into(),
                    ..Default::default()
                },
                Event {
                    time_unix_nano: 1,
                    name: "early".into(),
                    ..Default::default()
                },
            ],
            links: vec![Link::default()],
            ..Default::default()
        };
        Arc::new(SpanRecord::new(span, &resource, &scope).unwrap())
    }

    #[test]
    fn view_sorts_dedupes_and_drops_empty_links() {
        let spans = vec![
            record(1, vec![kv("b"), kv("a")]),
            record(1, vec![kv("a"), kv("b")]),
            record(1, vec![kv("c")]),
        ];
        let adjusted = view(&spans, false);
        // The second span equals the first once sorted; the third differs.
        assert_eq!(adjusted.len(), 2);
        let first = &adjusted[0];
        let keys: Vec<_> = first
            .span
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(first.span.events[0].name, "early");
        assert!(first.span.links.is_empty());
        assert_eq!(first.warnings, [INVALID_LINK_WARNING]);
    }

    #[test]
    fn raw_view_keeps_everything_as_stored() {
        let spans = vec![
            record(1, vec![kv("b"), kv("a")]),
            record(1, vec![kv("b"), kv("a")]),
        ];
        let raw = view(&spans, true);
        assert_eq!(raw.len(), 2);
        assert_eq!(raw[0].span.attributes[0].key, "b");
        assert_eq!(raw[0].span.links.len(), 1);
        assert!(raw[0].warnings.is_empty());
    }
}
