//! What the runner observes besides client records: the gateway's `/metrics`, scraped every
//! 500 ms while the load runs, and the traces, flushed and left to settle before judging.

use std::time::{Duration, Instant};

use observability::client::{MetricSet, Scraper};
use observability::store::TraceStore;
use tokio_util::sync::CancellationToken;

use super::control::Control;
use crate::journal::{EventKind, Recorder, TracesRecord};

/// Time between two scrapes.
pub(crate) const SCRAPE_EVERY: Duration = Duration::from_millis(500);
/// Longest a scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for the last requests' traces to arrive.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);
/// Pause between two looks for them.
const SETTLE_POLL: Duration = Duration::from_millis(250);
/// Failed scrapes that get their own timeline event (the rest are only counted).
const LOGGED_FAILURES: u64 = 3;

/// The scrapes of one run.
#[derive(Debug, Default)]
pub(crate) struct Scrapes {
    /// (completed at, page), in order.
    pub(crate) pages: Vec<(Instant, MetricSet)>,
    /// Failed scrapes.
    pub(crate) failures: u64,
}

/// Scrapes `url` every [`SCRAPE_EVERY`] from `t0` until `done` fires, then once more.
pub(crate) async fn scrape_loop(
    url: String,
    t0: Instant,
    done: CancellationToken,
    recorder: Recorder,
) -> Scrapes {
    let mut scrapes = Scrapes::default();
    let scraper = match Scraper::new(SCRAPE_TIMEOUT) {
        Ok(scraper) => scraper,
        Err(err) => {
            recorder.record(EventKind::Error {
                message: format!("cannot build the metrics scraper: {err}"),
            });
            return scrapes;
        }
    };
    let mut tick = tokio::time::interval_at(t0.into(), SCRAPE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let last = tokio::select! {
            _ = tick.tick() => false,
            () = done.cancelled() => true,
        };
        match scraper.scrape(&url).await {
            Ok(page) => scrapes.pages.push((Instant::now(), page)),
            Err(err) => {
                scrapes.failures += 1;
                if scrapes.failures <= LOGGED_FAILURES {
                    recorder.record(EventKind::Error {
                        message: format!("metrics scrape failed: {err}"),
                    });
                }
            }
        }
        if last {
            return scrapes;
        }
    }
}

/// `POST /admin/telemetry/flush`, then waits (bounded by [`SETTLE_LIMIT`]) until the trace
/// backend holds every trace in `probes` (the last sampled requests that got an answer), plus
/// one more poll for the upstreams' exports (200 ms interval) to land.
///
/// Counting spans until the count stops growing does not work here: health probes keep
/// producing spans for as long as the upstreams run. The probe traces work against the
/// embedded store and a real Jaeger alike (`GET /api/traces/{id}`: 404 until it arrives).
pub(crate) async fn settle_traces(
    control: &Control,
    admin_url: Option<&str>,
    query_url: Option<&str>,
    store: Option<&TraceStore>,
    mut probes: Vec<String>,
    recorder: &Recorder,
) -> TracesRecord {
    let mut record = TracesRecord::default();
    let began = Instant::now();
    if let Some(admin) = admin_url {
        let url = format!("{admin}/admin/telemetry/flush");
        match control.post_json(&url, None).await {
            Ok(answer) => {
                record.flushed = true;
                record.flush_answer = serde_json::from_slice(&answer.body).ok();
            }
            Err(err) => recorder.record(EventKind::Error {
                message: format!("trace flush failed: {err}"),
            }),
        }
    }
    if let (Some(query), false) = (query_url, probes.is_empty()) {
        let mut settled = false;
        while began.elapsed() < SETTLE_LIMIT {
            let mut missing = Vec::new();
            for id in probes {
                let found = control
                    .get(&format!("{query}/api/traces/{id}"))
                    .await
                    .is_ok_and(|answer| answer.status.is_success());
                if !found {
                    missing.push(id);
                }
            }
            probes = missing;
            tokio::time::sleep(SETTLE_POLL).await;
            if probes.is_empty() {
                settled = true;
                break;
            }
        }
        record.settled = Some(settled);
    }
    record.spans = store.map(|s| s.stats().spans_stored);
    record.waited_ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
    recorder.step(
        "traces settled",
        format!(
            "flushed={} settled={:?} spans={:?} waited={}ms",
            record.flushed, record.settled, record.spans, record.waited_ms
        ),
    );
    record
}
