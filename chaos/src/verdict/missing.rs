//! Why an objective could not be judged: the typed reasons behind every inconclusive check.
//!
//! Each variant names its subject (the fault, the window, the URL, the series) so the
//! message explains itself; [`MissingEvidence::code`] is a stable short name for machines.

use std::sync::Arc;

use observability::client::ClientError;

/// Evidence an objective needed and did not get.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MissingEvidence {
    /// The fault the window or reference names was never applied in this run.
    #[error("fault `{fault}` was not applied in this run")]
    FaultNotApplied {
        /// The fault.
        fault: String,
    },
    /// A time reference falls before the load's start.
    #[error("`{reference}` falls before the load's start")]
    BeforeLoadStart {
        /// The reference as written.
        reference: String,
    },
    /// The window holds no time within the load as it actually ran.
    #[error("window `{window}` holds no time within the load as it ran")]
    EmptyWindow {
        /// The window's name.
        window: String,
    },
    /// Too few client records to decide (see the minimum sample rules in `verdict`).
    #[error("too few client records in {window} to decide: {found} < {needed}")]
    TooFewRecords {
        /// Where.
        window: String,
        /// How many there were.
        found: usize,
        /// How many the rule asks for.
        needed: usize,
    },
    /// Too few spans to decide.
    #[error("too few spans in {window} to decide: {found} < {needed}")]
    TooFewSpans {
        /// Where.
        window: String,
        /// How many there were.
        found: usize,
        /// How many the rule asks for.
        needed: usize,
    },
    /// The run has no trace backend.
    #[error("no trace backend in this run")]
    NoTraceBackend,
    /// A trace query failed (backend unreachable, bad answer).
    #[error("trace query failed: {source}")]
    TraceQuery {
        /// The client's error (names the URL).
        #[source]
        source: Arc<ClientError>,
    },
    /// A search kept hitting the page limit even on tiny time slices.
    #[error(
        "more than {limit} traces of `{service}` within {slice_us}us: the search cannot be \
         paged further"
    )]
    TooManyTraces {
        /// The service searched.
        service: String,
        /// Traces per page.
        limit: u32,
        /// The smallest slice tried, in microseconds.
        slice_us: u64,
    },
    /// The backend answered, but holds no span at all of the service in the window: the
    /// traces were lost (export, sampling, eviction), so silence proves nothing.
    #[error("the trace backend holds no span of service `{service}` in {window}")]
    NoSpans {
        /// The service.
        service: String,
        /// The window.
        window: String,
    },
    /// A span selector's attribute could not be filled in from the run's topology.
    #[error("attribute `{key}` of the span selector: {reason}")]
    Placeholder {
        /// The attribute key.
        key: String,
        /// Why it could not be rendered.
        reason: String,
    },
    /// The run recorded no address for an upstream the objective names.
    #[error("no endpoint address recorded for upstream `{upstream}`")]
    NoEndpoints {
        /// The upstream (or `NAME.N` replica).
        upstream: String,
    },
    /// Client records cannot be attributed to the route: no traces to join them with, and
    /// the gateway has several routes.
    #[error(
        "cannot tell which client requests went to route `{route}`: no gateway spans to join \
         them with, and the gateway config has {routes} routes"
    )]
    RouteUnattributable {
        /// The route.
        route: String,
        /// How many routes the config has (0 when unknown).
        routes: usize,
    },
    /// The run has no Prometheus to send PromQL to.
    #[error("no Prometheus in this run (a `query` needs `system.backends.metrics.prometheus`)")]
    NoPrometheus,
    /// A Prometheus query failed.
    #[error("Prometheus query failed: {source}")]
    Prometheus {
        /// The client's error (names the URL).
        #[source]
        source: Arc<ClientError>,
    },
    /// A PromQL query returned no series or only a string.
    #[error("query `{query}` returned no samples in {window}")]
    EmptyQuery {
        /// The expression.
        query: String,
        /// The window.
        window: String,
    },
    /// No `/metrics` scrape falls in the window.
    #[error("no /metrics scrape in {window}")]
    NoScrapes {
        /// The window.
        window: String,
    },
    /// The series is absent from every scrape in the window.
    #[error("`{series}` is absent from every scrape in {window}")]
    SeriesAbsent {
        /// The series selector.
        series: String,
        /// The window.
        window: String,
    },
    /// The samples do not span the hold time asked for.
    #[error("samples in {window} span {spanned_ms}ms, less than the hold time {hold_ms}ms")]
    TooShortForHold {
        /// The window.
        window: String,
        /// Time covered by the samples.
        spanned_ms: u64,
        /// The hold time.
        hold_ms: u64,
    },
    /// The load ended before a verdict was possible (e.g. before recovery could be held).
    #[error("the load ended too early to decide: {reason}")]
    EndedTooEarly {
        /// What could not be seen.
        reason: String,
    },
    /// Sliding windows held too few samples to tell whether the system recovered.
    #[error("{undecided} sliding windows before the deadline held fewer than {needed} samples")]
    UndecidedWindows {
        /// How many steps could not be decided.
        undecided: usize,
        /// Samples a window needs.
        needed: usize,
    },
    /// Neither the trace backend nor the scraped gauge shows the breaker's transitions.
    #[error("no breaker evidence for upstream `{upstream}`: {reason}")]
    NoBreakerEvidence {
        /// The upstream.
        upstream: String,
        /// What was missing.
        reason: String,
    },
    /// The gauge brackets the transition, but not tightly enough to decide.
    #[error(
        "the scraped gauge only brackets the transition between {from_ms}ms and {to_ms}ms, \
         on both sides of the limit"
    )]
    Imprecise {
        /// Earliest possible offset from the reference.
        from_ms: u64,
        /// Latest possible offset from the reference.
        to_ms: u64,
    },
}

// === impl MissingEvidence ===

impl MissingEvidence {
    /// A stable short name, e.g. `no_trace_backend`.
    pub fn code(&self) -> &'static str {
        match self {
            MissingEvidence::FaultNotApplied { .. } => "fault_not_applied",
            MissingEvidence::BeforeLoadStart { .. } => "before_load_start",
            MissingEvidence::EmptyWindow { .. } => "empty_window",
            MissingEvidence::TooFewRecords { .. } => "too_few_records",
            MissingEvidence::TooFewSpans { .. } => "too_few_spans",
            MissingEvidence::NoTraceBackend => "no_trace_backend",
            MissingEvidence::TraceQuery { .. } => "trace_query_failed",
            MissingEvidence::TooManyTraces { .. } => "too_many_traces",
            MissingEvidence::NoSpans { .. } => "no_spans",
            MissingEvidence::Placeholder { .. } => "placeholder",
            MissingEvidence::NoEndpoints { .. } => "no_endpoints",
            MissingEvidence::RouteUnattributable { .. } => "route_unattributable",
            MissingEvidence::NoPrometheus => "no_prometheus",
            MissingEvidence::Prometheus { .. } => "prometheus_query_failed",
            MissingEvidence::EmptyQuery { .. } => "empty_query",
            MissingEvidence::NoScrapes { .. } => "no_scrapes",
            MissingEvidence::SeriesAbsent { .. } => "series_absent",
            MissingEvidence::TooShortForHold { .. } => "too_short_for_hold",
            MissingEvidence::EndedTooEarly { .. } => "ended_too_early",
            MissingEvidence::UndecidedWindows { .. } => "undecided_windows",
            MissingEvidence::NoBreakerEvidence { .. } => "no_breaker_evidence",
            MissingEvidence::Imprecise { .. } => "imprecise",
        }
    }

    /// A failed trace query.
    pub(crate) fn traces(source: ClientError) -> Self {
        MissingEvidence::TraceQuery {
            source: Arc::new(source),
        }
    }

    /// A failed Prometheus query.
    pub(crate) fn prometheus(source: ClientError) -> Self {
        MissingEvidence::Prometheus {
            source: Arc::new(source),
        }
    }
}
