//! The validated objectives (`expect:` entries): what must hold, over which window, judged
//! from which evidence.

use std::collections::BTreeMap;
use std::time::Duration;

use config_yaml::units::Percent;

use super::fault::Target;
use super::template::Template;
use super::threshold::{Number, StatThreshold, Threshold};
use super::window::{TimeRef, Window};

/// An abort condition, checked every 100ms after `after` over a sliding `window`.
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    /// Unique among the guards; named when it stops the drill.
    pub name: String,
    /// What breaches it.
    pub condition: GuardCondition,
    /// Sliding window the condition is measured over. Default 1s.
    pub window: Duration,
    /// Time from the load's start before it is checked. Default 0s.
    pub after: Duration,
}

/// What breaches a guard.
#[derive(Debug, Clone, PartialEq)]
pub enum GuardCondition {
    /// Client error rate, e.g. `> 50%`.
    Errors(Threshold<Percent>),
    /// Client latency, e.g. `p(99) > 2s`.
    Latency(StatThreshold),
}

/// One objective.
#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    /// `steady_state`: client thresholds before the first fault and after the last; a failing
    /// `before` skips the faults.
    SteadyState(SteadyState),
    /// `errors`: client error rate over a window.
    Errors(ErrorsObjective),
    /// `latency`: client latency statistic over a window.
    Latency(LatencyObjective),
    /// `failover`: during a fault, clients barely notice and traffic leaves the target.
    Failover(Failover),
    /// `degradation`: during a fault, a route answers from its fallback.
    Degradation(Degradation),
    /// `rto`: time to recover after a fault.
    Rto(Rto),
    /// `breaker`: a circuit breaker opens, half-opens and closes in time.
    Breaker(BreakerObjective),
    /// `trace`: an aggregate over selected spans.
    Trace(TraceObjective),
    /// `metric`: a metric value.
    Metric(MetricObjective),
}

/// Client-side thresholds for a window.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientThresholds {
    /// Error rate, e.g. `< 0.5%`.
    pub errors: Option<Threshold<Percent>>,
    /// Latency statistic, e.g. `p(99) < 100ms`.
    pub latency: Option<StatThreshold>,
}

/// `steady_state`; at least one of the two is set, each with at least one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyState {
    /// Judged over [`Window::Before`].
    pub before: Option<ClientThresholds>,
    /// Judged over [`Window::After`].
    pub after: Option<ClientThresholds>,
}

/// `errors: { WINDOW, rate: "< 1%" }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorsObjective {
    /// Default [`Window::Whole`].
    pub window: Window,
    /// Client error rate.
    pub rate: Threshold<Percent>,
}

/// `latency: { WINDOW, value: "p(99) < 250ms" }`.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyObjective {
    /// Default [`Window::Whole`].
    pub window: Window,
    /// Client latency statistic.
    pub value: StatThreshold,
}

/// `failover`; at least one of `errors` and `stops_reaching` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Failover {
    /// The fault whose window is judged.
    pub during: String,
    /// Maximum client error rate in the window.
    pub errors: Option<Threshold<Percent>>,
    /// Upstream (or replica) no attempt may reach once `within` has passed after the fault
    /// starts.
    pub stops_reaching: Option<Target>,
    /// Grace time from the fault's start. Default 1s.
    pub within: Duration,
}

/// `degradation`; at least one of `fallbacks` and `no_5xx` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Degradation {
    /// The fault whose window is judged.
    pub during: String,
    /// The gateway route (its configured name).
    pub route: String,
    /// Share of the route's responses served by a fallback.
    pub fallbacks: Option<Threshold<Percent>>,
    /// No 5xx from the route in the window. Default false.
    pub no_5xx: bool,
}

/// `rto`: from `from`, the first time the success rate over a sliding `window` meets
/// `success` (and `latency`, if set) and keeps meeting it for `hold` must come within `max`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rto {
    /// Where recovery time counts from: `FAULT.end` or `FAULT.start`, optional offset.
    pub from: TimeRef,
    /// Success rate that counts as recovered, e.g. `>= 99%`.
    pub success: Threshold<Percent>,
    /// Sliding window the success rate is measured over. Default 1s.
    pub window: Duration,
    /// How long recovery must last to count. Default 1s.
    pub hold: Duration,
    /// The recovery time objective.
    pub max: Duration,
    /// Latency that must hold as well, if set.
    pub latency: Option<StatThreshold>,
}

/// `breaker`; at least one of the three durations is set.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerObjective {
    /// The gateway upstream whose breaker is watched (the gateway config's name).
    pub upstream: String,
    /// The fault the durations count from (`opens_within` from its start, `closes_within`
    /// from its end); required with either of those.
    pub of: Option<String>,
    /// Longest time from the fault's start to `open`.
    pub opens_within: Option<Duration>,
    /// Shortest time from `open` to `half_open` (at least the configured wait).
    pub half_open_after: Option<Duration>,
    /// Longest time from the fault's end to `closed`.
    pub closes_within: Option<Duration>,
}

/// `trace`: an aggregate over the selected spans in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceObjective {
    /// Which spans.
    pub select: SpanSelect,
    /// Default [`Window::Whole`].
    pub window: Window,
    /// Skips the first part of the window. Default 0s.
    pub after: Duration,
    /// What is computed and compared.
    pub aggregate: TraceAggregate,
}

/// Which spans a trace objective looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanSelect {
    /// `service.name`. Default `gateway`.
    pub service: String,
    /// Span name.
    pub name: String,
    /// Attributes that must match exactly (placeholders allowed in values).
    pub attributes: BTreeMap<String, Template>,
    /// Span status, if it must match.
    pub status: Option<SpanStatus>,
}

/// A span status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanStatus {
    /// `ok`
    Ok,
    /// `error`
    Error,
    /// `unset`
    Unset,
}

/// The aggregate of a trace objective.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceAggregate {
    /// `count: "== 0"`: how many spans are selected.
    Count(Threshold<Number>),
    /// `ratio: ">= 99%"`: selected spans over the spans with the same service and name (so
    /// `attributes` and `status` narrow the numerator only).
    Ratio(Threshold<Percent>),
    /// `duration: "p(99) < 250ms"`: a statistic of the selected spans' durations.
    Duration(StatThreshold),
}

/// `metric`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricObjective {
    /// Where the value comes from.
    pub source: MetricSource,
    /// What it must be.
    pub value: Threshold<Number>,
    /// Default [`Window::Whole`].
    pub window: Window,
    /// How long the value must hold continuously, if set; otherwise it must hold at every
    /// sample in the window.
    pub hold_for: Option<Duration>,
}

/// Where a metric objective's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricSource {
    /// `query: PROMQL` (needs the `prometheus` metrics backend).
    Query(String),
    /// `sample: NAME{labels}`: a series of the gateway's `/metrics`.
    Sample {
        /// Metric name, one of `observability::names::metric` (histograms may add
        /// `_bucket`, `_sum` or `_count`).
        name: String,
        /// Label matchers (exact).
        labels: BTreeMap<String, String>,
    },
}

// === impl Objective ===

impl Objective {
    /// Its key in the scenario, e.g. `steady_state`.
    pub fn kind(&self) -> &'static str {
        match self {
            Objective::SteadyState(_) => "steady_state",
            Objective::Errors(_) => "errors",
            Objective::Latency(_) => "latency",
            Objective::Failover(_) => "failover",
            Objective::Degradation(_) => "degradation",
            Objective::Rto(_) => "rto",
            Objective::Breaker(_) => "breaker",
            Objective::Trace(_) => "trace",
            Objective::Metric(_) => "metric",
        }
    }
}
