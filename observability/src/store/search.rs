//! What a trace search asks for, and whether a span satisfies it.
//!
//! The matching rules are those of Jaeger v2's memory store (`validSpan`), which both the v1
//! and the v3 search reach: a trace matches when **one** of its spans meets every condition
//! at once — its resource's service, its name, its start time inside the window, its duration
//! inside the bounds, and every attribute filter. An attribute filter `k=v` matches when the
//! span, its scope, its resource, one of its events or one of its links has attribute `k`
//! whose text form (pdata `AsString`) is `v`. A few keys are special, as in Jaeger:
//!
//! | key             | matches                                                        |
//! |-----------------|----------------------------------------------------------------|
//! | `error`         | `true`: status ERROR; `false`: status OK; other values: nothing |
//! | `span.status`   | status `OK` / `ERROR` / anything else = UNSET                   |
//! | `span.kind`     | kind `server`, `client`, … (case-insensitive)                   |
//! | `scope.name`    | the instrumentation scope's name                               |
//! | `scope.version` | the instrumentation scope's version                            |
//! | `resource.K`    | resource attribute `K` only                                    |

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use super::model::{SpanRecord, attribute, span_kind_from_name, value_text};
use super::query::parse_bool;

/// A validated trace search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TraceQuery {
    /// Only spans whose resource has this `service.name`.
    pub(crate) service: Option<String>,
    /// Only spans with this name.
    pub(crate) operation: Option<String>,
    /// Attribute filters, all of which must hold for the same span.
    pub(crate) attributes: Vec<(String, String)>,
    /// Earliest span start, ns since the epoch (inclusive).
    pub(crate) start_min_ns: Option<u64>,
    /// Latest span start, ns since the epoch (inclusive).
    pub(crate) start_max_ns: Option<u64>,
    /// Shortest span duration, ns (inclusive).
    pub(crate) duration_min_ns: Option<u64>,
    /// Longest span duration, ns (inclusive).
    pub(crate) duration_max_ns: Option<u64>,
    /// How many traces to return at most, newest (by first ingest) first.
    pub(crate) depth: usize,
}

// === impl TraceQuery ===

impl TraceQuery {
    /// Whether `span` meets every condition.
    pub(crate) fn matches(&self, span: &SpanRecord) -> bool {
        if let Some(service) = &self.service
            && span.resource.service.as_deref() != Some(service.as_str())
        {
            return false;
        }
        if let Some(operation) = &self.operation
            && span.span.name != *operation
        {
            return false;
        }
        let start = span.start_ns();
        if self.start_min_ns.is_some_and(|min| start < min)
            || self.start_max_ns.is_some_and(|max| start > max)
        {
            return false;
        }
        let duration = span.duration_ns();
        if self.duration_min_ns.is_some_and(|min| duration < min)
            || self.duration_max_ns.is_some_and(|max| duration > max)
        {
            return false;
        }
        self.attributes
            .iter()
            .all(|(key, value)| attribute_matches(span, key, value))
    }

    /// Whether a trace whose span starts lie in `[first, last]` can contain a match; lets the
    /// search skip traces without looking at their spans.
    pub(crate) fn may_overlap(&self, first_start_ns: u64, last_start_ns: u64) -> bool {
        !(self.start_min_ns.is_some_and(|min| last_start_ns < min)
            || self.start_max_ns.is_some_and(|max| first_start_ns > max))
    }
}

fn attribute_matches(span: &SpanRecord, key: &str, expected: &str) -> bool {
    let status = span
        .span
        .status
        .as_ref()
        .map_or(StatusCode::Unset as i32, |s| s.code);
    match key {
        "error" => match parse_bool(expected) {
            Ok(true) => status == StatusCode::Error as i32,
            Ok(false) => status == StatusCode::Ok as i32,
            Err(_) => false,
        },
        "span.status" => {
            let wanted = match expected.to_ascii_uppercase().as_str() {
                "OK" => StatusCode::Ok,
                "ERROR" => StatusCode::Error,
                _ => StatusCode::Unset,
            };
            status == wanted as i32
        }
        "span.kind" => span.span.kind == span_kind_from_name(expected),
        "scope.name" => span.scope.scope.name == expected,
        "scope.version" => span.scope.scope.version == expected,
        _ => match key.strip_prefix("resource.") {
            Some(resource_key) => has(&span.resource.resource.attributes, resource_key, expected),
            None => {
                has(&span.span.attributes, key, expected)
                    || has(&span.scope.scope.attributes, key, expected)
                    || has(&span.resource.resource.attributes, key, expected)
                    || span
                        .span
                        .events
                        .iter()
                        .any(|e| has(&e.attributes, key, expected))
                    || span
                        .span
                        .links
                        .iter()
                        .any(|l| has(&l.attributes, key, expected))
            }
        },
    }
}

fn has(attributes: &[KeyValue], key: &str, expected: &str) -> bool {
    attribute(attributes, key).is_some_and(|kv| text_equals(kv.value.as_ref(), expected))
}

/// `value_text(value) == expected`, without allocating for the common types: searches compare
/// every candidate span, so a `to_string` per comparison would dominate their cost.
fn text_equals(value: Option<&AnyValue>, expected: &str) -> bool {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s == expected,
        Some(Value::BoolValue(b)) => expected == if *b { "true" } else { "false" },
        Some(Value::IntValue(i)) => int_text_equals(*i, expected),
        _ => value_text(value) == expected,
    }
}

/// Whether `expected` is exactly how `value` prints: digits only (after one `-`), no leading
/// zeros, no `+`, no `-0`.
fn int_text_equals(value: i64, expected: &str) -> bool {
    let digits = expected.strip_prefix('-').unwrap_or(expected);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && expected != "-0";
    canonical && expected.parse::<i64>() == Ok(value)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    use opentelemetry_proto::tonic::trace::v1::{Span, Status};

    use super::*;
    use crate::store::model::{ResourceRecord, ScopeRecord};

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn span() -> SpanRecord {
        let resource = Arc::new(ResourceRecord::new(
            Some(Resource {
                attributes: vec![
                    kv("service.name", Value::StringValue("gw".into())),
                    kv("host.name", Value::StringValue("h1".into())),
                ],
                ..Default::default()
            }),
            String::new(),
        ));
        let scope = Arc::new(ScopeRecord {
            scope: InstrumentationScope {
                name: "lib".into(),
                version: "1.0".into(),
                ..Default::default()
            },
            schema_url: String::new(),
        });
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "GET /users".into(),
            kind: 2,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 5_000,
            attributes: vec![kv("http.status_code", Value::IntValue(503))],
            events: vec![Event {
                name: "retry".into(),
                attributes: vec![kv("attempt", Value::IntValue(2))],
                ..Default::default()
            }],
            status: Some(Status {
                code: StatusCode::Error as i32,
                message: String::new(),
            }),
            ..Default::default()
        };
        SpanRecord::new(span, &resource, &scope).unwrap()
    }

    fn query(attributes: &[(&str, &str)]) -> TraceQuery {
        TraceQuery {
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn attribute_filters_search_span_resource_scope_and_events() {
        let span = span();
        assert!(query(&[("http.status_code", "503")]).matches(&span));
        assert!(query(&[("host.name", "h1")]).matches(&span));
        assert!(query(&[("resource.host.name", "h1")]).matches(&span));
        assert!(query(&[("attempt", "2")]).matches(&span));
        assert!(!query(&[("resource.http.status_code", "503")]).matches(&span));
        assert!(!query(&[("http.status_code", "500")]).matches(&span));
    }

    #[test]
    fn special_keys_match_status_kind_and_scope() {
        let span = span();
        assert!(query(&[("error", "true")]).matches(&span));
        assert!(!query(&[("error", "false")]).matches(&span));
        assert!(!query(&[("error", "maybe")]).matches(&span));
        assert!(query(&[("span.status", "error")]).matches(&span));
        assert!(query(&[("span.kind", "SERVER")]).matches(&span));
        assert!(!query(&[("span.kind", "client")]).matches(&span));
        assert!(query(&[("scope.name", "lib"), ("scope.version", "1.0")]).matches(&span));
    }

    #[test]
    fn int_attributes_match_only_their_canonical_text() {
        assert!(int_text_equals(503, "503"));
        assert!(int_text_equals(-7, "-7"));
        assert!(int_text_equals(0, "0"));
        for text in ["0503", "+503", "-0", "", "-", "50x", "5.0"] {
            assert!(
                !int_text_equals(503, text) && !int_text_equals(0, text),
                "{text}"
            );
        }
    }

    #[test]
    fn time_and_duration_bounds_are_inclusive() {
        let span = span();
        let mut q = query(&[]);
        q.start_min_ns = Some(1_000);
        q.start_max_ns = Some(1_000);
        q.duration_min_ns = Some(4_000);
        q.duration_max_ns = Some(4_000);
        assert!(q.matches(&span));
        q.duration_min_ns = Some(4_001);
        assert!(!q.matches(&span));
        assert!(q.may_overlap(0, 1_000));
        assert!(!q.may_overlap(1_001, 2_000));
    }

    #[test]
    fn service_and_operation_must_both_match() {
        let span = span();
        let mut q = query(&[]);
        q.service = Some("gw".into());
        q.operation = Some("GET /users".into());
        assert!(q.matches(&span));
        q.service = Some("other".into());
        assert!(!q.matches(&span));
    }
}
