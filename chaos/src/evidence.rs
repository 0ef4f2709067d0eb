//! What a finished drill hands to its judges: the evidence the objectives are evaluated on.
//!
//! The runner (`run`) fills it while the drill runs; the verdict code (`verdict`) reads it and
//! queries the trace and metrics backends it names. Keeping this the only interface between
//! the two keeps the objectives testable on hand-built evidence, without processes.
//!
//! Time base: every offset is measured from the start of the load (`t = 0`), on the runner's
//! monotonic clock; `load_started_at` anchors it to the wall clock (spans and Prometheus
//! samples carry wall-clock times).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use observability::client::MetricSet;

use crate::load::RequestRecord;

/// Everything observed during one drill.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// Wall-clock time of `t = 0` (the load's start).
    pub load_started_at: SystemTime,
    /// How long the load ran (`t` of its end).
    pub load_duration: Duration,
    /// Every client request, in schedule order (offsets from `t = 0`).
    pub records: Vec<RequestRecord>,
    /// When each fault was really applied and undone (by fault name).
    pub faults: BTreeMap<String, FaultWindow>,
    /// Where the gateway's traces can be read.
    pub traces: Option<TraceBackend>,
    /// The gateway's metrics.
    pub metrics: MetricsEvidence,
    /// Instance addresses the gateway used for each upstream name (in replica order), so a
    /// span's `gateway.endpoint` can be attributed to an upstream.
    pub endpoints: BTreeMap<String, Vec<String>>,
    /// The gateway's config as run (for settings objectives compare with, e.g. `open_for`).
    pub gateway_config: Option<String>,
}

/// The real window of one fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultWindow {
    /// When it was applied (offset from `t = 0`).
    pub applied: Duration,
    /// When it was undone; `None` if it lasted to the end (or undoing failed).
    pub undone: Option<Duration>,
}

/// A Jaeger-compatible query endpoint (the embedded store, or a real Jaeger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceBackend {
    /// Base URL of the query API (e.g. `http://127.0.0.1:16686`).
    pub query_url: String,
    /// The gateway's `service.name`.
    pub gateway_service: String,
}

/// Metrics gathered during the drill.
#[derive(Debug, Clone, Default)]
pub struct MetricsEvidence {
    /// The gateway's `/metrics`, scraped by the runner at a fixed interval (offset, page).
    pub scrapes: Vec<(Duration, MetricSet)>,
    /// A Prometheus to run PromQL against, when the scenario names one.
    pub prometheus_url: Option<String>,
}
