//! Per-interval statistics of a run, keyed by intended start time: counts, outcomes and
//! HdrHistogram latency percentiles.
//!
//! Intervals are cut by **intended** start, so a stall shows up in the interval the affected
//! requests were meant to start in, not where the generator happened to send them. They are
//! computed from the records when the run ends: a request counts in its interval only once
//! it is finished, which can be up to a timeout after the interval closed.

use std::time::Duration;

use hdrhistogram::{CreationError, Histogram};

use super::record::{ErrorKind, Outcome, RequestRecord, StatusClass};

/// Length of one aggregation interval.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// Significant decimal digits the latency histograms keep (relative error ≤ 0.1%).
pub const LATENCY_SIGNIFICANT_DIGITS: u8 = 3;

/// Failed requests, by [`ErrorKind`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts([u64; ErrorKind::ALL.len()]);

/// Complete responses, by [`StatusClass`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts([u64; StatusClass::ALL.len()]);

/// Latency percentiles from an HdrHistogram of microseconds (within 0.1%, see
/// [`LATENCY_SIGNIFICANT_DIGITS`]); the maximum is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Largest sample.
    pub max: Duration,
}

/// What happened to the requests due in one interval (or in the whole run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntervalStats {
    /// Start of the interval, offset from the run's start.
    pub start: Duration,
    /// Length: [`INTERVAL`], or the run's duration for the whole-run figures.
    pub length: Duration,
    /// Requests due in the interval, sent or not.
    pub count: u64,
    /// Requests actually sent (`count` minus dropped).
    pub sent: u64,
    /// Complete 2xx/3xx responses.
    pub successes: u64,
    /// Requests without a complete response, by kind (dropped ones included).
    pub errors: ErrorCounts,
    /// Complete responses by status class. `count = statuses.total() + errors.total()`.
    pub statuses: StatusCounts,
    /// Responses carrying the fallback header (complete or not).
    pub fallbacks: u64,
    /// Latency from intended start to the end of the body, over complete responses of any
    /// status; `None` when there were none.
    pub latency: Option<LatencySummary>,
}

/// A latency histogram in microseconds, auto-resizing, [`LATENCY_SIGNIFICANT_DIGITS`]
/// digits, plus the exact largest sample. An empty one is cloned wherever one is needed, so
/// creation can fail only once, at setup.
#[derive(Clone, Debug)]
pub(crate) struct LatencyHistogram {
    histogram: Histogram<u64>,
    max: u64,
}

// === impl ErrorCounts ===

impl ErrorCounts {
    /// Failures of `kind`.
    pub fn get(&self, kind: ErrorKind) -> u64 {
        self.0.get(kind.index()).copied().unwrap_or(0)
    }

    /// All failures.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(kind, count)` for every kind, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (ErrorKind, u64)> + '_ {
        ErrorKind::ALL.into_iter().zip(self.0.iter().copied())
    }

    fn add(&mut self, kind: ErrorKind) {
        if let Some(count) = self.0.get_mut(kind.index()) {
            *count += 1;
        }
    }
}

// === impl StatusCounts ===

impl StatusCounts {
    /// Responses of `class`.
    pub fn get(&self, class: StatusClass) -> u64 {
        self.0.get(class.index()).copied().unwrap_or(0)
    }

    /// All complete responses.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(class, count)` for every class, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (StatusClass, u64)> + '_ {
        StatusClass::ALL.into_iter().zip(self.0.iter().copied())
    }

    fn add(&mut self, class: StatusClass) {
        if let Some(count) = self.0.get_mut(class.index()) {
            *count += 1;
        }
    }
}

// === impl IntervalStats ===

impl IntervalStats {
    fn empty(start: Duration, length: Duration) -> Self {
        IntervalStats {
            start,
            length,
            count: 0,
            sent: 0,
            successes: 0,
            errors: ErrorCounts::default(),
            statuses: StatusCounts::default(),
            fallbacks: 0,
            latency: None,
        }
    }

    /// Share of requests that did not succeed (failed, dropped or non-2xx/3xx), 0 when
    /// nothing was due.
    pub fn failure_ratio(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        (self.count - self.successes) as f64 / self.count as f64
    }

    fn add(&mut self, record: &RequestRecord, latency: &mut LatencyHistogram) {
        self.count += 1;
        if record.sent.is_some() {
            self.sent += 1;
        }
        if record.is_success() {
            self.successes += 1;
        }
        if record.fallback.is_some() {
            self.fallbacks += 1;
        }
        match record.outcome {
            Outcome::Response(status) => {
                self.statuses.add(StatusClass::of(status));
                if let Some(end) = record.latency_to_end {
                    latency.record(end);
                }
            }
            Outcome::Failed { kind, .. } => self.errors.add(kind),
        }
    }
}

// === impl LatencyHistogram ===

impl LatencyHistogram {
    /// An empty histogram.
    pub(crate) fn new() -> Result<Self, CreationError> {
        let histogram = Histogram::new(LATENCY_SIGNIFICANT_DIGITS)?;
        Ok(LatencyHistogram { histogram, max: 0 })
    }

    /// Records `latency` in whole microseconds, growing the histogram as needed.
    pub(crate) fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        // `saturating_record` would clamp to the current top instead of growing; it is only
        // the fallback for a value past what any histogram can track (~146 years).
        if self.histogram.record(micros).is_err() {
            self.histogram.saturating_record(micros);
        }
        self.max = self.max.max(micros);
    }

    /// The percentiles; `None` when empty.
    pub(crate) fn summary(&self) -> Option<LatencySummary> {
        let h = &self.histogram;
        if h.is_empty() {
            return None;
        }
        let at = |q: f64| Duration::from_micros(h.value_at_quantile(q));
        Some(LatencySummary {
            count: h.len(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            p999: at(0.999),
            max: Duration::from_micros(self.max),
        })
    }

    fn reset(&mut self) {
        self.histogram.reset();
        self.max = 0;
    }
}

/// Intervals of [`INTERVAL`] covering `[0, duration)` (plus any record due later), and the
/// whole-run figures; `histogram` is an empty histogram to clone.
pub(crate) fn aggregate(
    records: &[RequestRecord],
    duration: Duration,
    histogram: &LatencyHistogram,
) -> (Vec<IntervalStats>, IntervalStats) {
    let interval_nanos = INTERVAL.as_nanos();
    let bucket =
        |at: Duration| usize::try_from(at.as_nanos() / interval_nanos).unwrap_or(usize::MAX);
    let covered = bucket(duration.saturating_sub(Duration::from_nanos(1))) + 1;
    let last_due = records
        .iter()
        .map(|r| bucket(r.intended))
        .max()
        .unwrap_or(0);
    let mut intervals: Vec<IntervalStats> = (0..covered.max(last_due + 1))
        .map(|i| IntervalStats::empty(INTERVAL * i as u32, INTERVAL))
        .collect();

    // One pass in intended order, one interval histogram at a time.
    let mut order: Vec<&RequestRecord> = records.iter().collect();
    order.sort_by_key(|r| r.intended);
    let mut overall = IntervalStats::empty(Duration::ZERO, duration);
    let mut overall_latency = histogram.clone();
    let mut latency = histogram.clone();
    let mut open: Option<usize> = None;
    for record in order {
        let index = bucket(record.intended);
        if open != Some(index) {
            close(&mut intervals, open, &mut latency);
            open = Some(index);
        }
        if let Some(stats) = intervals.get_mut(index) {
            stats.add(record, &mut latency);
        }
        overall.add(record, &mut overall_latency);
    }
    close(&mut intervals, open, &mut latency);
    overall.latency = overall_latency.summary();
    (intervals, overall)
}

/// Stores the open interval's latency summary and empties the histogram for the next.
fn close(intervals: &mut [IntervalStats], open: Option<usize>, latency: &mut LatencyHistogram) {
    if let Some(stats) = open.and_then(|i| intervals.get_mut(i)) {
        stats.latency = latency.summary();
    }
    latency.reset();
}

/// Latency percentiles (intended start to body end) over the complete responses among
/// `records`.
pub(crate) fn latency_of<'a>(
    records: impl IntoIterator<Item = &'a RequestRecord>,
    histogram: &LatencyHistogram,
) -> Option<LatencySummary> {
    let mut latency = histogram.clone();
    for record in records {
        if let (Outcome::Response(_), Some(end)) = (record.outcome, record.latency_to_end) {
            latency.record(end);
        }
    }
    latency.summary()
}

/// Percentiles of the generator's send lag (`sent - intended`) over the sent requests.
pub(crate) fn send_lag_of(
    records: &[RequestRecord],
    histogram: &LatencyHistogram,
) -> Option<LatencySummary> {
    let mut lag = histogram.clone();
    for value in records.iter().filter_map(RequestRecord::send_lag) {
        lag.record(value);
    }
    lag.summary()
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use observability::tracecontext::TraceId;

    use super::*;

    fn record(seq: u64, intended_ms: u64, outcome: Outcome, latency_ms: u64) -> RequestRecord {
        let intended = Duration::from_millis(intended_ms);
        let sent = (outcome.error() != Some(ErrorKind::Dropped)).then_some(intended);
        RequestRecord {
            seq,
            template: 0,
            intended,
            sent,
            latency_to_headers: sent.map(|_| Duration::from_millis(latency_ms)),
            latency_to_end: sent.map(|_| Duration::from_millis(latency_ms)),
            outcome,
            body_bytes: 0,
            fallback: seq.is_multiple_of(5).then(|| "static".to_owned()),
            upstream: None,
            trace_id: TraceId::from_bytes([1; 16]),
            sampled: true,
        }
    }

    fn failed(kind: ErrorKind) -> Outcome {
        Outcome::Failed { kind, status: None }
    }

    fn histogram() -> LatencyHistogram {
        LatencyHistogram::new().unwrap()
    }

    #[test]
    fn interval_sums_equal_the_run_totals() {
        let outcomes = [
            Outcome::Response(StatusCode::OK),
            Outcome::Response(StatusCode::SERVICE_UNAVAILABLE),
            failed(ErrorKind::Timeout),
            failed(ErrorKind::Dropped),
            Outcome::Response(StatusCode::NOT_FOUND),
            failed(ErrorKind::Refused),
        ];
        let records: Vec<RequestRecord> = (0..600u64)
            .map(|i| record(i, i * 2, outcomes[(i % 6) as usize], 1 + i % 50))
            .collect();
        let (intervals, overall) = aggregate(&records, Duration::from_millis(1_200), &histogram());
        assert_eq!(intervals.len(), 12);
        let sum = |f: fn(&IntervalStats) -> u64| intervals.iter().map(f).sum::<u64>();
        assert_eq!(sum(|s| s.count), 600);
        assert_eq!(overall.count, 600);
        assert_eq!(sum(|s| s.successes), overall.successes);
        assert_eq!(overall.successes, 100);
        assert_eq!(sum(|s| s.sent), overall.sent);
        assert_eq!(overall.sent, 500);
        assert_eq!(sum(|s| s.fallbacks), overall.fallbacks);
        assert_eq!(overall.fallbacks, 120);
        for kind in ErrorKind::ALL {
            let per_interval: u64 = intervals.iter().map(|s| s.errors.get(kind)).sum();
            assert_eq!(per_interval, overall.errors.get(kind), "{kind}");
        }
        assert_eq!(overall.errors.get(ErrorKind::Dropped), 100);
        for class in StatusClass::ALL {
            let per_interval: u64 = intervals.iter().map(|s| s.statuses.get(class)).sum();
            assert_eq!(per_interval, overall.statuses.get(class), "{class}");
        }
        for stats in intervals.iter().chain([&overall]) {
            assert_eq!(stats.count, stats.statuses.total() + stats.errors.total());
        }
        let latency_samples: u64 = intervals
            .iter()
            .filter_map(|s| s.latency)
            .map(|l| l.count)
            .sum();
        assert_eq!(overall.latency.map(|l| l.count), Some(latency_samples));
        assert_eq!(latency_samples, 300);
    }

    #[test]
    fn intervals_are_cut_by_intended_start_and_cover_the_run() {
        let records = vec![
            record(0, 0, Outcome::Response(StatusCode::OK), 5),
            record(1, 99, Outcome::Response(StatusCode::OK), 500),
            record(2, 100, Outcome::Response(StatusCode::OK), 7),
        ];
        let (intervals, _) = aggregate(&records, Duration::from_millis(450), &histogram());
        let counts: Vec<u64> = intervals.iter().map(|s| s.count).collect();
        assert_eq!(counts, [2, 1, 0, 0, 0]);
        assert_eq!(intervals[3].start, Duration::from_millis(300));
        assert_eq!(intervals[4].latency, None);
        // The slow request counts where it was due, not where it finished.
        assert_eq!(
            intervals[0].latency.map(|l| l.max),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            intervals[1].latency.map(|l| l.max),
            Some(Duration::from_millis(7))
        );
    }

    #[test]
    fn percentiles_are_within_histogram_precision() {
        // 1..=1000 ms, one each.
        let records: Vec<RequestRecord> = (1..=1_000u64)
            .map(|i| record(i, 0, Outcome::Response(StatusCode::OK), i))
            .collect();
        let summary = latency_of(&records, &histogram()).unwrap();
        let close = |got: Duration, want_ms: u64| {
            let want = Duration::from_millis(want_ms).as_secs_f64();
            ((got.as_secs_f64() - want) / want).abs() <= 0.001
        };
        assert_eq!(summary.count, 1_000);
        assert!(close(summary.p50, 500), "{summary:?}");
        assert!(close(summary.p90, 900), "{summary:?}");
        assert!(close(summary.p99, 990), "{summary:?}");
        assert!(close(summary.p999, 999), "{summary:?}");
        assert!(close(summary.max, 1_000), "{summary:?}");
    }

    #[test]
    fn failure_ratio_counts_everything_but_successes() {
        let records = vec![
            record(0, 0, Outcome::Response(StatusCode::OK), 1),
            record(1, 1, Outcome::Response(StatusCode::BAD_GATEWAY), 1),
            record(2, 2, failed(ErrorKind::Dropped), 0),
            record(3, 3, Outcome::Response(StatusCode::OK), 1),
        ];
        let (_, overall) = aggregate(&records, Duration::from_millis(100), &histogram());
        assert_eq!(overall.failure_ratio(), 0.5);
        assert_eq!(
            IntervalStats::empty(Duration::ZERO, INTERVAL).failure_ratio(),
            0.0
        );
    }
}
