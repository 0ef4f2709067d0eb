//! The embedded trace store (`chaos traces`) for end-to-end tests: an OTLP endpoint to point
//! the gateway at, and bounded searches for the spans it received.

use std::time::{Duration, SystemTime};

use observability::client::{JaegerClient, Span, TraceQuery};

use crate::{Process, WAIT, binary};

/// A running `chaos traces`.
#[derive(Debug)]
pub struct TraceStore {
    process: Process,
}

impl TraceStore {
    /// Starts `chaos traces` with both listeners on free loopback ports.
    pub fn start() -> Self {
        let process = Process::start(
            &binary("chaos"),
            &[
                "traces",
                "--otlp-listen",
                "127.0.0.1:0",
                "--query-listen",
                "127.0.0.1:0",
            ],
        );
        Self { process }
    }

    /// The OTLP/HTTP base URL, for `telemetry.otlp_endpoint`.
    pub fn otlp_url(&self) -> String {
        format!("http://{}", self.process.field("otlp"))
    }

    /// A Jaeger client for its query API.
    pub fn client(&self) -> JaegerClient {
        let url = format!("http://{}", self.process.field("query"));
        JaegerClient::new(&url, Duration::from_secs(5)).unwrap()
    }

    /// The `service` spans named `operation` that carry every `(key, value)` attribute (as
    /// text), from traces started in the last ten minutes. Polls until at least `count` are
    /// found (bounded by [`WAIT`]) and returns all found, oldest first.
    pub async fn wait_for_spans(
        &self,
        service: &str,
        operation: &str,
        attributes: &[(&str, &str)],
        count: usize,
    ) -> Vec<Span> {
        let client = self.client();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let now = SystemTime::now();
            let mut query = TraceQuery::new(
                service,
                now - Duration::from_secs(600),
                now + Duration::from_secs(60),
            )
            .with_operation(operation);
            for (key, value) in attributes {
                query = query.with_attribute(*key, *value);
            }
            let mut spans: Vec<Span> = client
                .find_traces(&query)
                .await
                .unwrap_or_default()
                .into_iter()
                .flat_map(|t| t.spans)
                .filter(|s| {
                    s.name == operation
                        && attributes
                            .iter()
                            .all(|(k, v)| s.attribute(k).map(attribute_text).as_deref() == Some(v))
                })
                .collect();
            if spans.len() >= count {
                spans.sort_by_key(|s| s.start_unix_nanos);
                spans.dedup_by_key(|s| s.span_id);
                if spans.len() >= count {
                    return spans;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "fewer than {count} {operation} spans with {attributes:?} within {WAIT:?}: {spans:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A string, integer, float or boolean attribute as text (what a search compares).
pub fn attribute_text(value: &observability::client::AttributeValue) -> String {
    use observability::client::AttributeValue;
    match value {
        AttributeValue::String(s) => s.clone(),
        AttributeValue::Int(i) => i.to_string(),
        AttributeValue::Bool(b) => b.to_string(),
        AttributeValue::Double(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// `span`'s attribute `key` as text, if present.
pub fn span_attribute(span: &Span, key: &str) -> Option<String> {
    span.attribute(key).map(attribute_text)
}
