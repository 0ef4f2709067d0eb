//! Running a [`LoadSpec`]: one timer drives the schedule, each request runs in its own task,
//! and the records become a [`LoadReport`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hdrhistogram::CreationError;
use http::Request;
use http_body_util::Full;
use observability::tracecontext::inject;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::aggregate::{self, IntervalStats, LatencyHistogram, LatencySummary};
use super::client::LoadClient;
use super::draw::{Draw, Draws};
use super::hooks::{ExtraHeaders, Hooks};
use super::progress::{Live, ProgressHandle};
use super::record::{ErrorKind, Outcome, RequestRecord};
use super::spec::LoadSpec;

/// How far past `duration + timeout` the run's hard stop lies, so that a request's own
/// timeout (which fires at send + timeout) normally ends it first.
const HARD_STOP_SLACK: Duration = Duration::from_millis(100);

/// A load run ready to start; [`LoadGenerator::progress`] can be taken before it runs.
#[derive(Debug)]
pub struct LoadGenerator {
    spec: Arc<LoadSpec>,
    client: LoadClient,
    live: Arc<Live>,
    histogram: LatencyHistogram,
    hooks: Hooks,
}

/// Why a load run could not start. Once started, a run always ends with a report: request
/// failures are records, not errors.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The latency histogram could not be created.
    #[error("cannot create the latency histogram")]
    Histogram(#[source] CreationError),
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// Wall-clock time of the run's start: add a record's offsets to it to compare them with
    /// trace timestamps and the fault timeline.
    pub started_at: SystemTime,
    /// Requests the spec planned.
    pub planned: u64,
    /// The spec's duration.
    pub duration: Duration,
    /// From the start until the last request finished.
    pub elapsed: Duration,
    /// When cancellation stopped the schedule (offset from the start), if it did; requests
    /// due after it have no record.
    pub cancelled_at: Option<Duration>,
    /// One record per request due before the run ended, by sequence number.
    pub records: Vec<RequestRecord>,
    /// Per-[`INTERVAL`](super::INTERVAL) figures by intended start, covering the duration.
    pub intervals: Vec<IntervalStats>,
    /// The same figures over the whole run.
    pub overall: IntervalStats,
    /// The generator's own lag, `sent - intended`, over the sent requests: how faithfully the
    /// schedule was kept (latencies already include it).
    pub send_lag: Option<LatencySummary>,
    histogram: LatencyHistogram,
}

// === impl LoadGenerator ===

impl LoadGenerator {
    /// Prepares the client and the counters for `spec`.
    pub fn new(spec: LoadSpec) -> Result<Self, LoadError> {
        let histogram = LatencyHistogram::new().map_err(LoadError::Histogram)?;
        let client = LoadClient::new(spec.connect_timeout, spec.max_idle_per_host);
        let live = Arc::new(Live::new(spec.planned()));
        Ok(LoadGenerator {
            spec: Arc::new(spec),
            client,
            live,
            histogram,
            hooks: Hooks::default(),
        })
    }

    /// A reader of the live counters, usable while [`LoadGenerator::run`] runs.
    pub fn progress(&self) -> ProgressHandle {
        ProgressHandle::new(Arc::clone(&self.live))
    }

    /// The headers added to every request, changeable while [`LoadGenerator::run`] runs
    /// (none at first).
    pub fn extra_headers(&self) -> ExtraHeaders {
        self.hooks.headers.clone()
    }

    /// A live stream of records: each request's record as soon as it finished, or was
    /// dropped or cut. The report still holds them all; a second call replaces the first
    /// subscriber.
    pub fn subscribe(&mut self) -> mpsc::UnboundedReceiver<RequestRecord> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.hooks.finished = Some(sender);
        receiver
    }

    /// Runs the schedule to its end or until `cancel` fires, then returns the report.
    ///
    /// Request `i` is sent at its due time whatever earlier requests are doing. A generator
    /// that falls behind sends the overdue requests at once; they keep their intended time,
    /// and their latency counts from it. A request due while `max_in_flight` requests are in
    /// flight is not sent and is recorded as [`ErrorKind::Dropped`].
    ///
    /// Bounded in time: scheduling stops at the last due request or at `cancel`; after
    /// cancellation in-flight requests get the spec's `cancel_drain`, and in any case the run
    /// ends by `duration + timeout` (plus 100 ms), whatever is still in flight recorded as
    /// [`ErrorKind::Cancelled`].
    pub async fn run(self, cancel: CancellationToken) -> LoadReport {
        self.run_from(Instant::now(), cancel).await
    }

    /// [`run`](Self::run) with `start` as the schedule's time zero, so a caller that times
    /// other things (a fault timeline) from the same instant shares the load's time base.
    pub async fn run_from(self, start: Instant, cancel: CancellationToken) -> LoadReport {
        let LoadGenerator {
            spec,
            client,
            live,
            histogram,
            hooks,
        } = self;
        let hooks = Arc::new(hooks);
        let started_at = SystemTime::now();
        live.start(start);
        tracing::info!(
            target = %spec.authority,
            planned = spec.planned(),
            duration = ?spec.duration(),
            "Load started"
        );
        let hard_stop = start + spec.duration() + spec.timeout + HARD_STOP_SLACK;
        let permits = Arc::new(Semaphore::new(spec.max_in_flight));
        let abort = CancellationToken::new();
        let mut tasks = JoinSet::new();
        // The spec bounds the count (MAX_REQUESTS), so this allocation is bounded too.
        let mut records = Vec::with_capacity(usize::try_from(spec.planned()).unwrap_or(0));
        let mut cancelled_at = None;

        // The one timer of the schedule, re-armed for each request.
        let timer = sleep_until(start);
        tokio::pin!(timer);
        'schedule: for draw in Draws::new(&spec) {
            timer.as_mut().reset(start + draw.intended);
            loop {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        cancelled_at = Some(start.elapsed());
                        break 'schedule;
                    }
                    () = &mut timer => break,
                    Some(joined) = tasks.join_next() => collect(&mut records, joined),
                }
            }
            let now = Instant::now();
            if now >= hard_stop {
                // Only a generator stalled for longer than the timeout gets here.
                live.on_dropped(now);
                let record = unsent(&draw, ErrorKind::Cancelled);
                hooks.on_record(&record);
                records.push(record);
                continue;
            }
            match Arc::clone(&permits).try_acquire_owned() {
                Ok(permit) => {
                    live.on_sent();
                    let exchange = Exchange {
                        spec: Arc::clone(&spec),
                        client: client.clone(),
                        live: Arc::clone(&live),
                        hooks: Arc::clone(&hooks),
                        abort: abort.clone(),
                        start,
                        permit,
                    };
                    tasks.spawn(exchange.run(draw));
                }
                Err(_) => {
                    live.on_dropped(now);
                    let record = unsent(&draw, ErrorKind::Dropped);
                    hooks.on_record(&record);
                    records.push(record);
                }
            }
        }

        // Drain: until every task is done; at the drain deadline the stragglers are told to
        // stop and answer at once with `Cancelled`.
        let drain_until = |cancelled: bool| {
            if cancelled {
                (Instant::now() + spec.cancel_drain).min(hard_stop)
            } else {
                hard_stop
            }
        };
        let drain = sleep_until(drain_until(cancelled_at.is_some()));
        tokio::pin!(drain);
        loop {
            tokio::select! {
                biased;
                joined = tasks.join_next() => match joined {
                    Some(joined) => collect(&mut records, joined),
                    None => break,
                },
                () = &mut drain, if !abort.is_cancelled() => abort.cancel(),
                () = cancel.cancelled(), if cancelled_at.is_none() => {
                    cancelled_at = Some(start.elapsed());
                    drain.as_mut().reset(drain_until(true));
                }
            }
        }

        records.sort_unstable_by_key(|r| r.seq);
        let (intervals, overall) = aggregate::aggregate(&records, spec.duration(), &histogram);
        let report = LoadReport {
            started_at,
            planned: spec.planned(),
            duration: spec.duration(),
            elapsed: start.elapsed(),
            cancelled_at,
            send_lag: aggregate::send_lag_of(&records, &histogram),
            records,
            intervals,
            overall,
            histogram,
        };
        tracing::info!(
            records = report.records.len(),
            successes = report.overall.successes,
            cancelled = report.cancelled_at.is_some(),
            "Load finished"
        );
        report
    }
}

/// Runs `spec` with a fresh [`LoadGenerator`]; see [`LoadGenerator::run`].
pub async fn run(spec: LoadSpec, cancel: CancellationToken) -> Result<LoadReport, LoadError> {
    Ok(LoadGenerator::new(spec)?.run(cancel).await)
}

// === impl LoadReport ===

impl LoadReport {
    /// Latency percentiles (intended start to body end, complete responses) of the requests
    /// due in `[from, to)`, e.g. a fault window.
    pub fn latency_between(&self, from: Duration, to: Duration) -> Option<LatencySummary> {
        let inside = self
            .records
            .iter()
            .filter(|r| r.intended >= from && r.intended < to);
        aggregate::latency_of(inside, &self.histogram)
    }
}

/// What one request task needs besides its draw.
struct Exchange {
    spec: Arc<LoadSpec>,
    client: LoadClient,
    live: Arc<Live>,
    hooks: Arc<Hooks>,
    abort: CancellationToken,
    start: Instant,
    /// Held until the request finishes: one `max_in_flight` slot.
    permit: OwnedSemaphorePermit,
}

impl Exchange {
    async fn run(self, draw: Draw) -> RequestRecord {
        let Some(template) = self.spec.mix.get(draw.template) else {
            // Draws only pick indexes of the mix; kept total rather than panicking.
            self.live.on_finished(Instant::now(), false);
            return unsent(&draw, ErrorKind::Other);
        };
        let mut request = Request::new(Full::new(Bytes::clone(&template.body)));
        *request.method_mut() = template.method.clone();
        *request.uri_mut() = template.uri.clone();
        *request.headers_mut() = template.headers.clone();
        self.hooks.headers.apply(request.headers_mut());
        inject(&draw.trace, request.headers_mut());

        let sent = Instant::now();
        let deadline = sent + self.spec.timeout;
        let (reply, result) = self.client.send(request, deadline, &self.abort).await;
        let ended = Instant::now();
        drop(self.permit);

        let outcome = match (result, reply.status) {
            (Ok(()), Some(status)) => Outcome::Response(status),
            // A complete exchange always has a status; kept total rather than panicking.
            (Ok(()), None) => Outcome::Failed {
                kind: ErrorKind::Other,
                status: None,
            },
            (Err(kind), status) => Outcome::Failed { kind, status },
        };
        self.live.on_finished(ended, outcome.is_success());
        let due = self.start + draw.intended;
        let record = RequestRecord {
            seq: draw.seq,
            template: draw.template,
            intended: draw.intended,
            sent: Some(sent.saturating_duration_since(self.start)),
            latency_to_headers: reply.headers_at.map(|at| at.saturating_duration_since(due)),
            latency_to_end: Some(ended.saturating_duration_since(due)),
            outcome,
            body_bytes: reply.body_bytes,
            fallback: reply.fallback,
            upstream: reply.upstream,
            trace_id: draw.trace.trace_id(),
            sampled: draw.trace.parent.flags().is_sampled(),
        };
        self.hooks.on_record(&record);
        record
    }
}

/// The record of a request that was never sent.
fn unsent(draw: &Draw, kind: ErrorKind) -> RequestRecord {
    RequestRecord {
        seq: draw.seq,
        template: draw.template,
        intended: draw.intended,
        sent: None,
        latency_to_headers: None,
        latency_to_end: None,
        outcome: Outcome::Failed { kind, status: None },
        body_bytes: 0,
        fallback: None,
        upstream: None,
        trace_id: draw.trace.trace_id(),
        sampled: draw.trace.parent.flags().is_sampled(),
    }
}

/// Keeps a finished task's record. A task only fails by panicking, which none of its code
/// does; if one did, its record is missing and the log says so.
fn collect(records: &mut Vec<RequestRecord>, joined: Result<RequestRecord, JoinError>) {
    match joined {
        Ok(record) => records.push(record),
        Err(error) => tracing::warn!(%error, "Load request task failed; its record is missing"),
    }
}
