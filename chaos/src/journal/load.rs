//! The client side of the journal: the load's summary, its 100 ms intervals and every
//! request, in columns.

use std::time::Duration;

use serde::Serialize;

use super::micros;
use crate::load::{IntervalStats, LatencySummary, LoadReport, Outcome as RequestOutcome};

/// The load, from the client side.
#[derive(Debug, Clone, Serialize)]
pub struct LoadRecord {
    /// The target (the gateway's data address).
    pub target: String,
    /// Requests planned.
    pub planned: u64,
    /// Requests recorded (sent or dropped).
    pub recorded: u64,
    /// Planned duration, microseconds.
    pub duration_us: i64,
    /// From `t = 0` until the last request finished, microseconds.
    pub elapsed_us: i64,
    /// When a stop cut the schedule, if one did.
    pub cancelled_us: Option<i64>,
    /// The whole run's figures.
    pub overall: IntervalRecord,
    /// The generator's own lag (sent - intended).
    pub send_lag: Option<LatencyRecord>,
    /// Per-100 ms figures by intended start.
    pub intervals: Vec<IntervalRecord>,
    /// Every request, in columns (one array per field, index = sequence number order).
    pub records: RecordColumns,
}

/// Figures of one interval.
#[derive(Debug, Clone, Serialize)]
pub struct IntervalRecord {
    /// Start offset, microseconds.
    pub start_us: i64,
    /// Requests due.
    pub count: u64,
    /// Requests sent.
    pub sent: u64,
    /// 2xx/3xx responses.
    pub successes: u64,
    /// Failures by kind (zero counts left out).
    pub errors: std::collections::BTreeMap<&'static str, u64>,
    /// Complete responses by status class (zero counts left out).
    pub statuses: std::collections::BTreeMap<&'static str, u64>,
    /// Fallback answers.
    pub fallbacks: u64,
    /// Latency of complete responses.
    pub latency: Option<LatencyRecord>,
}

/// Latency percentiles, microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LatencyRecord {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
}

/// Per-request records as parallel columns: compact, and easy to load into a data frame.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordColumns {
    /// Intended start offsets.
    pub intended_us: Vec<i64>,
    /// Intended start to the end of the body or the failure; `-1` when never sent.
    pub latency_us: Vec<i64>,
    /// Response status; `0` without one.
    pub status: Vec<u16>,
    /// Error kind; `null` for a complete response.
    pub error: Vec<Option<&'static str>>,
    /// The `x-upstream` header (the instance that answered), if any.
    pub upstream: Vec<Option<String>>,
    /// The fallback header, if any.
    pub fallback: Vec<Option<String>>,
    /// The trace id sent in `traceparent`, hex.
    pub trace_id: Vec<String>,
}

// === impl LoadRecord ===

impl LoadRecord {
    /// The journal's view of a load report against `target`.
    pub(crate) fn from_report(target: String, report: &LoadReport) -> LoadRecord {
        let mut columns = RecordColumns::default();
        for record in &report.records {
            columns.intended_us.push(micros(record.intended));
            columns
                .latency_us
                .push(record.latency_to_end.map_or(-1, micros));
            columns
                .status
                .push(record.outcome.status().map_or(0, |s| s.as_u16()));
            columns.error.push(match record.outcome {
                RequestOutcome::Response(_) => None,
                RequestOutcome::Failed { kind, .. } => Some(kind.as_str()),
            });
            columns.upstream.push(record.upstream.clone());
            columns.fallback.push(record.fallback.clone());
            columns.trace_id.push(record.trace_id.to_string());
        }
        LoadRecord {
            target,
            planned: report.planned,
            recorded: report.records.len() as u64,
            duration_us: micros(report.duration),
            elapsed_us: micros(report.elapsed),
            cancelled_us: report.cancelled_at.map(micros),
            overall: IntervalRecord::from(&report.overall),
            send_lag: report.send_lag.map(LatencyRecord::from),
            intervals: report.intervals.iter().map(IntervalRecord::from).collect(),
            records: columns,
        }
    }
}

impl From<&IntervalStats> for IntervalRecord {
    fn from(stats: &IntervalStats) -> Self {
        IntervalRecord {
            start_us: micros(stats.start),
            count: stats.count,
            sent: stats.sent,
            successes: stats.successes,
            errors: stats
                .errors
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(kind, n)| (kind.as_str(), n))
                .collect(),
            statuses: stats
                .statuses
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(class, n)| (class.as_str(), n))
                .collect(),
            fallbacks: stats.fallbacks,
            latency: stats.latency.map(LatencyRecord::from),
        }
    }
}

impl From<LatencySummary> for LatencyRecord {
    fn from(summary: LatencySummary) -> Self {
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        LatencyRecord {
            count: summary.count,
            p50_us: us(summary.p50),
            p90_us: us(summary.p90),
            p99_us: us(summary.p99),
            p999_us: us(summary.p999),
            max_us: us(summary.max),
        }
    }
}
