//! A bounded batching span processor: finished spans go into a fixed-size queue that a
//! dedicated export thread drains, in batches, every export interval.
//!
//! Why not the SDK's `BatchSpanProcessor`: it drops spans when its queue is full but keeps the
//! count private, and the gateway must expose drops as a metric. The rules here:
//! - `on_end` never blocks and never fails: a full queue drops the span and counts it
//!   (`queue_full`), so an exporter outage cannot slow or fail a request;
//! - a failed export drops its batch and counts it (`export_failed`); the OTLP exporter's own
//!   retry policy runs on the export thread, never on a request;
//! - `force_flush` waits until everything finished before it was called has been exported (or
//!   dropped), which is what a drill needs before it queries traces;
//! - the exporter is built on the export thread: the OTLP HTTP exporter uses a blocking HTTP
//!   client, which must not be created inside an async runtime.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// Why a finished span was not exported.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum DropReason {
    /// The export queue was full.
    queue_full,
    /// The export request failed.
    export_failed,
}

/// Labels of the dropped-spans counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    /// Why.
    pub reason: DropReason,
}

/// Export counters, shared with the metrics registry.
#[derive(Debug, Clone, Default)]
pub struct ExportStats {
    /// Spans not exported, by reason.
    pub dropped: Family<DropLabels, Counter>,
    /// Spans exported.
    pub exported: Counter,
}

impl ExportStats {
    /// Spans dropped for `reason` so far.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped.get_or_create(&DropLabels { reason }).get()
    }
}

enum Message {
    Span(Box<SpanData>),
    Resource(Resource),
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>),
}

/// Batching parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchSettings {
    pub(crate) max_queue: usize,
    pub(crate) max_batch: usize,
    pub(crate) interval: Duration,
}

/// The processor; see the module docs.
#[derive(Debug)]
pub(crate) struct BoundedBatchProcessor {
    queue: SyncSender<Message>,
    stats: ExportStats,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl BoundedBatchProcessor {
    /// Starts the export thread, which builds its exporter with `make_exporter` first.
    pub(crate) fn start<E, F>(
        settings: BatchSettings,
        stats: ExportStats,
        make_exporter: F,
    ) -> std::io::Result<Self>
    where
        E: SpanExporter + 'static,
        F: FnOnce() -> Option<E> + Send + 'static,
    {
        let (queue, receiver) = sync_channel(settings.max_queue.max(1));
        let worker_stats = stats.clone();
        let worker = std::thread::Builder::new()
            .name("span-export".into())
            .spawn(move || {
                let exporter = make_exporter();
                export_loop(exporter, receiver, settings, &worker_stats);
            })?;
        Ok(Self {
            queue,
            stats,
            worker: Mutex::new(Some(worker)),
        })
    }

    fn request(
        &self,
        make: impl FnOnce(SyncSender<OTelSdkResult>) -> Message,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (ack, done) = sync_channel(1);
        // Control messages wait for queue space (they are rare and the caller expects to wait).
        self.queue
            .send(make(ack))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        done.recv_timeout(timeout)
            .map_err(|_| OTelSdkError::Timeout(timeout))?
    }
}

impl SpanProcessor for BoundedBatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.queue.try_send(Message::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats
                    .dropped
                    .get_or_create(&DropLabels {
                        reason: DropReason::queue_full,
                    })
                    .inc();
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.request(Message::Flush, Duration::from_secs(30))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.request(Message::Shutdown, timeout);
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = worker {
            let _ = handle.join();
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        let _ = self.queue.send(Message::Resource(resource.clone()));
    }
}

/// The export thread: batches spans and exports them every interval, when a batch is full,
/// or on flush / shutdown.
fn export_loop<E: SpanExporter>(
    mut exporter: Option<E>,
    receiver: Receiver<Message>,
    settings: BatchSettings,
    stats: &ExportStats,
) {
    let mut batch: Vec<SpanData> = Vec::with_capacity(settings.max_batch);
    let mut next_export = Instant::now() + settings.interval;
    let mut warned_at: Option<Instant> = None;
    loop {
        let wait = next_export.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(wait) {
            Ok(Message::Span(span)) => {
                batch.push(*span);
                if batch.len() >= settings.max_batch {
                    // Failures are counted and logged inside; nobody waits for this result.
                    let _ = export(&mut exporter, &mut batch, stats, &mut warned_at);
                }
            }
            Ok(Message::Resource(resource)) => {
                if let Some(e) = exporter.as_mut() {
                    e.set_resource(&resource);
                }
            }
            // Messages are FIFO: every span finished before the flush is already in `batch`.
            Ok(Message::Flush(ack)) => {
                let result = export(&mut exporter, &mut batch, stats, &mut warned_at);
                let _ = ack.send(result);
            }
            Ok(Message::Shutdown(ack)) => {
                let mut result = export(&mut exporter, &mut batch, stats, &mut warned_at);
                if let Some(e) = exporter.as_mut() {
                    result = result.and(e.shutdown());
                }
                let _ = ack.send(result);
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = export(&mut exporter, &mut batch, stats, &mut warned_at);
                next_export = Instant::now() + settings.interval;
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = export(&mut exporter, &mut batch, stats, &mut warned_at);
                return;
            }
        }
    }
}

/// Exports `batch` (emptying it); failures count every span of the batch as dropped.
fn export<E: SpanExporter>(
    exporter: &mut Option<E>,
    batch: &mut Vec<SpanData>,
    stats: &ExportStats,
    warned_at: &mut Option<Instant>,
) -> OTelSdkResult {
    if batch.is_empty() {
        return Ok(());
    }
    let spans = std::mem::take(batch);
    let count = spans.len() as u64;
    let result = match exporter.as_ref() {
        Some(e) => futures_executor::block_on(e.export(spans)),
        None => Err(OTelSdkError::InternalFailure("no exporter".into())),
    };
    match &result {
        Ok(()) => {
            stats.exported.inc_by(count);
        }
        Err(error) => {
            stats
                .dropped
                .get_or_create(&DropLabels {
                    reason: DropReason::export_failed,
                })
                .inc_by(count);
            // One warning per minute at most: an outage must not flood the logs either.
            let now = Instant::now();
            if warned_at.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(60)) {
                *warned_at = Some(now);
                tracing::warn!(%error, spans = count, "Span export failed; spans dropped");
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    /// Records exported spans; can be told to fail or to block until released.
    #[derive(Debug, Clone, Default)]
    struct Recorder {
        spans: Arc<Mutex<Vec<String>>>,
        fail: Arc<AtomicBool>,
        gate: Arc<Mutex<()>>,
    }

    impl SpanExporter for Recorder {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let _held = self.gate.lock().unwrap();
            if self.fail.load(Ordering::SeqCst) {
                return Err(OTelSdkError::InternalFailure("collector down".into()));
            }
            self.spans
                .lock()
                .unwrap()
                .extend(batch.into_iter().map(|s| s.name.into_owned()));
            Ok(())
        }
    }

    fn span(name: &str, sampled: bool) -> SpanData {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(1u128),
                SpanId::from(1u64),
                flags,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: name.to_owned().into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::default(),
        }
    }

    fn processor(
        recorder: &Recorder,
        max_queue: usize,
        interval: Duration,
    ) -> BoundedBatchProcessor {
        let r = recorder.clone();
        let settings = BatchSettings {
            max_queue,
            max_batch: 4,
            interval,
        };
        BoundedBatchProcessor::start(settings, ExportStats::default(), move || Some(r)).unwrap()
    }

    #[test]
    fn processor_flush_exports_every_span_ended_before_it_in_order() {
        let recorder = Recorder::default();
        let p = processor(&recorder, 100, Duration::from_secs(3600));
        for i in 0..10 {
            p.on_end(span(&format!("s{i}"), true));
        }
        p.force_flush().unwrap();
        let names = recorder.spans.lock().unwrap().clone();
        assert_eq!(names, (0..10).map(|i| format!("s{i}")).collect::<Vec<_>>());
        assert_eq!(p.stats.exported.get(), 10);
        assert_eq!(p.stats.dropped(DropReason::queue_full), 0);
        p.shutdown().unwrap();
    }

    #[test]
    fn processor_unsampled_spans_are_not_exported() {
        let recorder = Recorder::default();
        let p = processor(&recorder, 100, Duration::from_secs(3600));
        p.on_end(span("kept", true));
        p.on_end(span("unsampled", false));
        p.force_flush().unwrap();
        assert_eq!(*recorder.spans.lock().unwrap(), vec!["kept".to_owned()]);
        p.shutdown().unwrap();
    }

    #[test]
    fn processor_full_queue_drops_and_counts_without_blocking() {
        let recorder = Recorder::default();
        let p = processor(&recorder, 8, Duration::from_secs(3600));
        // Block the exporter so the queue fills up.
        let gate = recorder.gate.lock().unwrap();
        let started = Instant::now();
        for i in 0..1000 {
            p.on_end(span(&format!("s{i}"), true));
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(1),
            "on_end blocked for {elapsed:?}"
        );
        let dropped = p.stats.dropped(DropReason::queue_full);
        // At most one batch (4) is held by the blocked export and 8 wait in the queue.
        assert!(
            (1000 - 12..=1000 - 8).contains(&dropped),
            "dropped {dropped}"
        );
        drop(gate);
        p.force_flush().unwrap();
        let exported = p.stats.exported.get();
        assert_eq!(exported + dropped, 1000);
        p.shutdown().unwrap();
    }

    #[test]
    fn processor_failed_export_counts_the_batch_as_dropped() {
        let recorder = Recorder::default();
        recorder.fail.store(true, Ordering::SeqCst);
        let p = processor(&recorder, 100, Duration::from_secs(3600));
        for _ in 0..3 {
            p.on_end(span("s", true));
        }
        assert!(p.force_flush().is_err());
        assert_eq!(p.stats.dropped(DropReason::export_failed), 3);
        assert_eq!(p.stats.exported.get(), 0);
        recorder.fail.store(false, Ordering::SeqCst);
        p.on_end(span("after", true));
        p.force_flush().unwrap();
        assert_eq!(*recorder.spans.lock().unwrap(), vec!["after".to_owned()]);
        p.shutdown().unwrap();
    }

    #[test]
    fn processor_exports_on_interval_without_flush() {
        let recorder = Recorder::default();
        let p = processor(&recorder, 100, Duration::from_millis(20));
        p.on_end(span("timed", true));
        let deadline = Instant::now() + Duration::from_secs(10);
        while recorder.spans.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "span never exported");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(p.stats.exported.get(), 1);
        p.shutdown().unwrap();
    }

    #[test]
    fn processor_after_shutdown_counts_new_spans_as_dropped() {
        let recorder = Recorder::default();
        let p = processor(&recorder, 100, Duration::from_secs(3600));
        p.shutdown().unwrap();
        p.on_end(span("late", true));
        assert_eq!(p.stats.dropped(DropReason::queue_full), 1);
        assert!(p.force_flush().is_err());
    }
}
