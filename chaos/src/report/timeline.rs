//! The timeline a report draws: client figures per 100 ms interval, fault windows as they
//! ran, and each upstream's breaker state over time.
//!
//! Breaker bands come from the `breaker.transition` spans a breaker objective collected
//! (exact), else from the scraped `gateway_breaker_state` gauge (each scrape's state holds
//! until the next scrape).

use std::collections::BTreeMap;
use std::time::Duration;

use observability::names::metric;
use serde::Serialize;

use crate::evidence::Evidence;
use crate::load::{INTERVAL, RequestRecord};
use crate::scenario::{Plan, Statistic};
use crate::verdict::Verdict;
use crate::verdict::client::{latencies, statistic};

/// Client figures of one 100 ms interval (by intended start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IntervalPoint {
    /// Start, from the load's start (milliseconds in JSON).
    #[serde(serialize_with = "millis")]
    pub start: Duration,
    /// Requests due.
    pub requests: u64,
    /// Requests that did not succeed.
    pub errors: u64,
    /// p99 latency of the interval (nearest rank), when any request ended.
    #[serde(serialize_with = "opt_millis")]
    pub p99: Option<Duration>,
}

/// A fault's actual window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultBand {
    /// The fault's name.
    pub name: String,
    /// Its kind (`kill`, `latency`, ...).
    pub kind: String,
    /// When it was applied (milliseconds in JSON).
    #[serde(serialize_with = "millis")]
    pub start: Duration,
    /// When it was undone, or the load's end (milliseconds in JSON).
    #[serde(serialize_with = "millis")]
    pub end: Duration,
}

/// A breaker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Closed: traffic flows.
    Closed,
    /// Open: calls rejected.
    Open,
    /// Half-open: probes allowed.
    HalfOpen,
    /// Forced open, disabled or metrics-only (admin states).
    Manual,
}

/// One stretch of a breaker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BreakerSegment {
    /// Start (milliseconds in JSON).
    #[serde(serialize_with = "millis")]
    pub start: Duration,
    /// End (milliseconds in JSON).
    #[serde(serialize_with = "millis")]
    pub end: Duration,
    /// The state.
    pub state: BreakerState,
}

/// An upstream's breaker state over the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerBand {
    /// The upstream.
    pub upstream: String,
    /// `spans` or `gauge`.
    pub source: &'static str,
    /// Consecutive stretches, in time order.
    pub segments: Vec<BreakerSegment>,
}

// === impl IntervalPoint ===

impl IntervalPoint {
    /// Requests per second offered in the interval.
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / INTERVAL.as_secs_f64()
    }

    /// Errors over requests, 0 when none were due.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

// === impl BreakerState ===

impl BreakerState {
    /// From a transition's `gateway.breaker.to`.
    fn from_name(name: &str) -> BreakerState {
        match name {
            "closed" => BreakerState::Closed,
            "open" => BreakerState::Open,
            "half_open" => BreakerState::HalfOpen,
            _ => BreakerState::Manual,
        }
    }

    /// From the gauge's value.
    fn from_value(value: f64) -> BreakerState {
        match value {
            0.0 => BreakerState::Closed,
            1.0 => BreakerState::Open,
            2.0 => BreakerState::HalfOpen,
            _ => BreakerState::Manual,
        }
    }

    /// `closed`, `open`, `half-open`, `manual`.
    pub fn label(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
            BreakerState::Manual => "manual",
        }
    }
}

/// Client figures per [`INTERVAL`] over `[0, duration)`.
pub(crate) fn intervals(records: &[RequestRecord], duration: Duration) -> Vec<IntervalPoint> {
    let step = INTERVAL.as_nanos();
    let count = usize::try_from(duration.as_nanos().div_ceil(step)).unwrap_or(0);
    let mut buckets: Vec<Vec<&RequestRecord>> = vec![Vec::new(); count];
    for r in records {
        let i = usize::try_from(r.intended.as_nanos() / step).unwrap_or(usize::MAX);
        if let Some(bucket) = buckets.get_mut(i) {
            bucket.push(r);
        }
    }
    buckets
        .iter()
        .enumerate()
        .map(|(i, bucket)| {
            let lat = latencies(bucket.iter().copied());
            IntervalPoint {
                start: INTERVAL * u32::try_from(i).unwrap_or(u32::MAX),
                requests: bucket.len() as u64,
                errors: bucket.iter().filter(|r| !r.is_success()).count() as u64,
                p99: statistic(&lat, Statistic::Percentile(99.0)),
            }
        })
        .collect()
}

/// The faults that were applied, in timeline order.
pub(crate) fn faults(plan: &Plan, evidence: &Evidence) -> Vec<FaultBand> {
    let mut out: Vec<FaultBand> = evidence
        .faults
        .iter()
        .map(|(name, w)| FaultBand {
            name: name.clone(),
            kind: plan
                .fault(name)
                .map(|f| f.kind.kind().name().to_owned())
                .unwrap_or_default(),
            start: w.applied,
            end: w.undone.unwrap_or(evidence.load_duration).max(w.applied),
        })
        .collect();
    out.sort_by_key(|f| f.start);
    out
}

/// Breaker bands: from transition spans in breaker verdicts, else from the gauge.
pub(crate) fn breakers(evidence: &Evidence, verdicts: &[Verdict]) -> Vec<BreakerBand> {
    let end = evidence.load_duration;
    let mut bands: BTreeMap<String, BreakerBand> = BTreeMap::new();
    for v in verdicts.iter().filter(|v| v.kind == "breaker") {
        let Some(upstream) = v.evidence["upstream"].as_str() else {
            continue;
        };
        let Some(transitions) = v.evidence["transitions"].as_array() else {
            continue;
        };
        let changes: Vec<(Duration, BreakerState)> = transitions
            .iter()
            .filter_map(|t| {
                let at = Duration::try_from_secs_f64(t["t_s"].as_f64()?).ok()?;
                Some((at, BreakerState::from_name(t["to"].as_str()?)))
            })
            .collect();
        if changes.is_empty() || bands.contains_key(upstream) {
            continue;
        }
        let segments = segments(BreakerState::Closed, &changes, end);
        bands.insert(
            upstream.to_owned(),
            BreakerBand {
                upstream: upstream.to_owned(),
                source: "spans",
                segments,
            },
        );
    }
    // The gauge: each upstream breaker (route "") seen in any scrape.
    let mut gauge: BTreeMap<String, Vec<(Duration, BreakerState)>> = BTreeMap::new();
    for (at, set) in &evidence.metrics.scrapes {
        for sample in set.families.iter().flat_map(|f| &f.samples) {
            if sample.name != metric::BREAKER_STATE
                || sample.labels.get("route").is_some_and(|r| !r.is_empty())
            {
                continue;
            }
            if let Some(upstream) = sample.labels.get("upstream") {
                gauge
                    .entry(upstream.clone())
                    .or_default()
                    .push((*at, BreakerState::from_value(sample.value)));
            }
        }
    }
    for (upstream, points) in gauge {
        if bands.contains_key(&upstream) {
            continue;
        }
        let first = points.first().map_or(BreakerState::Closed, |(_, s)| *s);
        let mut segs = segments(first, &points, end);
        // Before the first scrape the state is unknown: start the band at that scrape.
        if let (Some((at, _)), Some(seg)) = (points.first(), segs.first_mut()) {
            seg.start = *at;
        }
        segs.retain(|s| s.end > s.start);
        bands.insert(
            upstream.clone(),
            BreakerBand {
                upstream,
                source: "gauge",
                segments: segs,
            },
        );
    }
    bands.into_values().collect()
}

/// Stretches from `[0, end)` starting in `initial` and changing at each `changes` entry.
fn segments(
    initial: BreakerState,
    changes: &[(Duration, BreakerState)],
    end: Duration,
) -> Vec<BreakerSegment> {
    let mut out: Vec<BreakerSegment> = Vec::new();
    let mut start = Duration::ZERO;
    let mut state = initial;
    for (at, to) in changes {
        let at = (*at).min(end);
        if *to == state {
            continue;
        }
        if at > start {
            out.push(BreakerSegment {
                start,
                end: at,
                state,
            });
        }
        start = at;
        state = *to;
    }
    if end > start {
        out.push(BreakerSegment { start, end, state });
    }
    out
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn opt_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64() * 1e3),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn segments_merge_repeats_and_end_at_the_load_end() {
        let changes = [
            (ms(1000), BreakerState::Open),
            (ms(1000), BreakerState::Open),
            (ms(6000), BreakerState::HalfOpen),
            (ms(6100), BreakerState::Closed),
        ];
        let s = segments(BreakerState::Closed, &changes, ms(10_000));
        let states: Vec<(u64, u64, BreakerState)> = s
            .iter()
            .map(|s| {
                (
                    s.start.as_millis() as u64,
                    s.end.as_millis() as u64,
                    s.state,
                )
            })
            .collect();
        assert_eq!(
            states,
            [
                (0, 1000, BreakerState::Closed),
                (1000, 6000, BreakerState::Open),
                (6000, 6100, BreakerState::HalfOpen),
                (6100, 10_000, BreakerState::Closed),
            ]
        );
    }
}
