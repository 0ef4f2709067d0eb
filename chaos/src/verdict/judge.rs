//! What every objective is judged with: the plan, the evidence, the actual timeline, and
//! the trace and metrics clients built once per drill.

use std::time::Duration;

use observability::client::PrometheusClient;
use serde_json::{Value, json};

use crate::evidence::Evidence;
use crate::load::RequestRecord;
use crate::scenario::{Interval, Plan, Topology};

use super::Options;
use super::client;
use super::missing::MissingEvidence;
use super::spans::{FoundSpan, SpanSource};
use super::windows::Timeline;

/// The context objectives are judged in.
pub(crate) struct Judge<'a> {
    /// The scenario.
    pub(crate) plan: &'a Plan,
    /// What the run observed.
    pub(crate) evidence: &'a Evidence,
    /// Windows and references against actual fault times.
    pub(crate) timeline: Timeline<'a>,
    /// Limits and timeouts.
    pub(crate) options: &'a Options,
    spans: Result<SpanSource, MissingEvidence>,
    prometheus: Result<PrometheusClient, MissingEvidence>,
}

// === impl Judge ===

impl<'a> Judge<'a> {
    /// The context for one drill.
    pub(crate) fn new(plan: &'a Plan, evidence: &'a Evidence, options: &'a Options) -> Self {
        let spans = match &evidence.traces {
            None => Err(MissingEvidence::NoTraceBackend),
            Some(backend) => SpanSource::new(
                backend,
                evidence.load_started_at,
                options.query_timeout,
                options.traces_per_page,
                options.max_queries,
            ),
        };
        let prometheus = match &evidence.metrics.prometheus_url {
            None => Err(MissingEvidence::NoPrometheus),
            Some(url) => PrometheusClient::new(url, options.query_timeout)
                .map_err(MissingEvidence::prometheus),
        };
        Judge {
            plan,
            evidence,
            timeline: Timeline::new(plan, evidence),
            options,
            spans,
            prometheus,
        }
    }

    /// The trace backend, or why there is none.
    pub(crate) fn spans(&self) -> Result<&SpanSource, MissingEvidence> {
        self.spans.as_ref().map_err(Clone::clone)
    }

    /// The Prometheus client, or why there is none.
    pub(crate) fn prometheus(&self) -> Result<&PrometheusClient, MissingEvidence> {
        self.prometheus.as_ref().map_err(Clone::clone)
    }

    /// Client records due in `interval`.
    pub(crate) fn records(&self, interval: Interval) -> Vec<&'a RequestRecord> {
        client::within(&self.evidence.records, interval)
    }

    /// The run's addresses, for span selector placeholders.
    pub(crate) fn topology(&self) -> Topology {
        Topology {
            upstreams: self.evidence.endpoints.clone(),
            ..Topology::default()
        }
    }

    /// The first trace ids of `spans` (at most [`Options::evidence_ids`]), for evidence.
    pub(crate) fn trace_ids(&self, spans: &[&FoundSpan]) -> Value {
        let ids: Vec<String> = spans
            .iter()
            .take(self.options.evidence_ids)
            .map(|s| s.span.trace_id.to_string())
            .collect();
        json!(ids)
    }

    /// The end of the load as it ran.
    pub(crate) fn end(&self) -> Duration {
        self.timeline.end()
    }
}
