//! Span evidence from the trace backend: searches by service, span name, attributes and time
//! range through the Jaeger API client, paged by splitting the time range.
//!
//! Jaeger's search returns whole traces (every span of a trace one of whose spans matched),
//! at most `limit` of them, with no cursor. So a search that comes back full is split in two
//! halves and both are searched again, down to [`MIN_SLICE`]; spans are then filtered here
//! on every condition (service, name, start in `[from, to)`, attributes, status) and
//! deduplicated by `(trace id, span id)`. The filtering also covers query services that
//! ignore attribute filters (Jaeger before v2.19).
//!
//! Span times are wall-clock; they become offsets from the load's start with
//! `Evidence::load_started_at`. Spans that started before the load are left out.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use observability::client::{AttributeValue, JaegerClient, Span, StatusCode, TraceQuery};

use crate::evidence::TraceBackend;
use crate::scenario::{Interval, SpanStatus};

use super::missing::MissingEvidence;

/// The smallest time slice a full page is split into before giving up.
pub(crate) const MIN_SLICE: Duration = Duration::from_millis(1);

/// Which spans to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpanFilter {
    /// `service.name`.
    pub(crate) service: String,
    /// Span name; `None` matches every span of the service.
    pub(crate) name: Option<String>,
    /// Attributes that must match exactly (compared as text).
    pub(crate) attributes: Vec<(String, String)>,
    /// Span status, if it must match.
    pub(crate) status: Option<SpanStatus>,
}

/// A span found, with its start as an offset from the load's start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FoundSpan {
    /// Start, from the load's start.
    pub(crate) at: Duration,
    /// The span.
    pub(crate) span: Span,
}

/// Searches the run's trace backend.
#[derive(Debug, Clone)]
pub(crate) struct SpanSource {
    client: JaegerClient,
    origin: SystemTime,
    gateway_service: String,
    page: u32,
    max_queries: usize,
}

// === impl SpanFilter ===

impl SpanFilter {
    /// Spans named `name` of `service`.
    pub(crate) fn named(service: impl Into<String>, name: impl Into<String>) -> Self {
        SpanFilter {
            service: service.into(),
            name: Some(name.into()),
            attributes: Vec::new(),
            status: None,
        }
    }

    /// Also requires attribute `key` = `value`.
    pub(crate) fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }

    /// Whether `span` meets every condition but the time.
    pub(crate) fn matches(&self, span: &Span) -> bool {
        span.service_name == self.service
            && self.name.as_ref().is_none_or(|n| *n == span.name)
            && self
                .attributes
                .iter()
                .all(|(k, v)| attribute_text(span, k).is_some_and(|t| t == *v))
            && self.status.is_none_or(|s| status_matches(span, s))
    }
}

/// The text of attribute `key` of `span` (span attributes first, then resource ones), as
/// Jaeger compares it: strings as is, numbers and booleans printed.
pub(crate) fn attribute_text(span: &Span, key: &str) -> Option<String> {
    let value = span.attribute(key).or_else(|| {
        span.resource_attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    })?;
    match value {
        AttributeValue::String(s) => Some(s.clone()),
        AttributeValue::Bool(b) => Some(b.to_string()),
        AttributeValue::Int(i) => Some(i.to_string()),
        AttributeValue::Double(d) => Some(d.to_string()),
        _ => None,
    }
}

/// The integer value of attribute `key` (ints, or strings holding one).
pub(crate) fn attribute_int(span: &Span, key: &str) -> Option<i64> {
    match span.attribute(key)? {
        AttributeValue::Int(i) => Some(*i),
        AttributeValue::String(s) => s.parse().ok(),
        AttributeValue::Double(d) if d.fract() == 0.0 => Some(*d as i64),
        _ => None,
    }
}

fn status_matches(span: &Span, status: SpanStatus) -> bool {
    matches!(
        (status, span.status.code),
        (SpanStatus::Ok, StatusCode::Ok)
            | (SpanStatus::Error, StatusCode::Error)
            | (SpanStatus::Unset, StatusCode::Unset)
    )
}

// === impl SpanSource ===

impl SpanSource {
    /// A source for `backend`, with span times relative to `origin` (the load's start).
    pub(crate) fn new(
        backend: &TraceBackend,
        origin: SystemTime,
        timeout: Duration,
        page: u32,
        max_queries: usize,
    ) -> Result<Self, MissingEvidence> {
        let client =
            JaegerClient::new(&backend.query_url, timeout).map_err(MissingEvidence::traces)?;
        Ok(SpanSource {
            client,
            origin,
            gateway_service: backend.gateway_service.clone(),
            page: page.max(1),
            max_queries: max_queries.max(1),
        })
    }

    /// The gateway's `service.name`.
    pub(crate) fn gateway_service(&self) -> &str {
        &self.gateway_service
    }

    /// The service a scenario names: `gateway` means the gateway's actual service name.
    pub(crate) fn service(&self, named: &str) -> String {
        if named == "gateway" {
            self.gateway_service.clone()
        } else {
            named.to_owned()
        }
    }

    /// Every span matching `filter` that started in `range`, ordered by start.
    pub(crate) async fn find(
        &self,
        filter: &SpanFilter,
        range: Interval,
    ) -> Result<Vec<FoundSpan>, MissingEvidence> {
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        let mut pending = vec![range];
        let mut queries = 0;
        while let Some(slice) = pending.pop() {
            if slice.is_empty() {
                continue;
            }
            queries += 1;
            let traces = self
                .client
                .find_traces(&self.query(filter, slice, self.page))
                .await
                .map_err(MissingEvidence::traces)?;
            let full = traces.len() >= self.page as usize;
            if full {
                if slice.len() <= MIN_SLICE || queries >= self.max_queries {
                    return Err(MissingEvidence::TooManyTraces {
                        service: filter.service.clone(),
                        limit: self.page,
                        slice_us: u64::try_from(slice.len().as_micros()).unwrap_or(u64::MAX),
                    });
                }
                let middle = slice.start + slice.len() / 2;
                pending.push(Interval {
                    start: slice.start,
                    end: middle,
                });
                pending.push(Interval {
                    start: middle,
                    end: slice.end,
                });
                continue;
            }
            for span in traces.into_iter().flat_map(|t| t.spans) {
                let Some(at) = self.offset(span.start_time()) else {
                    continue;
                };
                if at < slice.start || at >= slice.end || !filter.matches(&span) {
                    continue;
                }
                if seen.insert((span.trace_id, span.span_id)) {
                    found.push(FoundSpan { at, span });
                }
            }
        }
        found.sort_by_key(|f| f.at);
        Ok(found)
    }

    /// Whether the backend holds any span of `service` started in `range`: the proof that
    /// silence in a narrower search means "did not happen", not "was not recorded".
    pub(crate) async fn service_active(
        &self,
        service: &str,
        range: Interval,
    ) -> Result<bool, MissingEvidence> {
        if range.is_empty() {
            return Ok(false);
        }
        let filter = SpanFilter {
            service: service.to_owned(),
            name: None,
            attributes: Vec::new(),
            status: None,
        };
        // A handful of traces is enough; their spans are checked for the exact range.
        let traces = self
            .client
            .find_traces(&self.query(&filter, range, 20))
            .await
            .map_err(MissingEvidence::traces)?;
        Ok(traces.iter().flat_map(|t| &t.spans).any(|s| {
            s.service_name == service
                && self
                    .offset(s.start_time())
                    .is_some_and(|at| at >= range.start && at < range.end)
        }))
    }

    fn query(&self, filter: &SpanFilter, range: Interval, limit: u32) -> TraceQuery {
        // Jaeger's bounds are inclusive; the end is trimmed by a nanosecond so a span
        // starting exactly at `range.end` belongs to the next slice only.
        let start = self.origin + range.start;
        let end = self.origin
            + range
                .end
                .saturating_sub(Duration::from_nanos(1))
                .max(range.start);
        let end = if end <= start {
            start + Duration::from_nanos(1)
        } else {
            end
        };
        let mut query = TraceQuery::new(filter.service.clone(), start, end).with_limit(limit);
        if let Some(name) = &filter.name {
            query = query.with_operation(name.clone());
        }
        for (k, v) in &filter.attributes {
            query = query.with_attribute(k.clone(), v.clone());
        }
        query
    }

    /// A wall-clock time as an offset from the load's start; `None` before it.
    pub(crate) fn offset(&self, at: SystemTime) -> Option<Duration> {
        at.duration_since(self.origin).ok()
    }
}

#[cfg(test)]
mod tests {
    use observability::client::{Scope, SpanId, SpanKind, Status, TraceId};

    use super::*;

    fn span(attrs: Vec<(&str, AttributeValue)>, code: StatusCode) -> Span {
        Span {
            trace_id: TraceId(1),
            span_id: SpanId(2),
            parent_span_id: None,
            service_name: "gw".into(),
            name: "upstream.attempt".into(),
            kind: SpanKind::Client,
            start_unix_nanos: 0,
            end_unix_nanos: 1,
            status: Status {
                code,
                message: String::new(),
            },
            attributes: attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            events: Vec::new(),
            links: Vec::new(),
            resource_attributes: Vec::new(),
            scope: Scope::default(),
        }
    }

    #[test]
    fn filter_compares_attributes_as_text_and_status() {
        let s = span(
            vec![
                (
                    "gateway.endpoint",
                    AttributeValue::String("127.0.0.1:1".into()),
                ),
                ("http.response.status_code", AttributeValue::Int(503)),
            ],
            StatusCode::Error,
        );
        let f = SpanFilter::named("gw", "upstream.attempt").with("gateway.endpoint", "127.0.0.1:1");
        assert!(f.matches(&s));
        assert!(
            f.clone()
                .with("http.response.status_code", "503")
                .matches(&s)
        );
        assert!(
            !f.clone()
                .with("http.response.status_code", "200")
                .matches(&s)
        );
        let mut errors = f;
        errors.status = Some(SpanStatus::Error);
        assert!(errors.matches(&s));
        errors.status = Some(SpanStatus::Ok);
        assert!(!errors.matches(&s));
        assert!(!SpanFilter::named("other", "upstream.attempt").matches(&s));
        assert_eq!(attribute_int(&s, "http.response.status_code"), Some(503));
    }
}
