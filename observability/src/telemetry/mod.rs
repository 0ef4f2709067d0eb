//! OpenTelemetry traces for binaries: a tracer whose finished spans are exported over
//! OTLP/HTTP (protobuf) by `opentelemetry-otlp`, through a bounded queue that never slows a
//! request, plus state-change evidence spans.
//!
//! Why OTLP and not the `opentelemetry-jaeger` crate: that crate is deprecated upstream (its
//! last release pins an old `opentelemetry`), and Jaeger ingests OTLP natively (4318 HTTP,
//! 4317 gRPC), as do all current collectors. Traces are read back through Jaeger's query API
//! (see [`crate::store`] and [`crate::client`]).
//!
//! Sampling is parent-based: an incoming sampled flag is honoured either way, and
//! `sampling_ratio` applies to new traces (decided on the trace id, as OpenTelemetry's
//! `TraceIdRatioBased` does). Evidence spans ([`record_state_change`]) are always recorded.

mod processor;
mod settings;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, TraceContextExt as _, TraceId, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    Sampler, SamplingResult, SdkTracer, SdkTracerProvider, ShouldSample, SpanExporter,
};
use prometheus_client::registry::Registry;

pub use processor::{DropLabels, DropReason, ExportStats};
pub use settings::{FileSettings, Settings, SettingsError};

use self::processor::{BatchSettings, BoundedBatchProcessor};
use crate::names;

/// Why telemetry could not start or flush.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The export thread could not be started.
    #[error("cannot start the span export thread")]
    Thread(#[source] std::io::Error),
    /// The OTLP exporter could not be built (bad endpoint URL, ...).
    #[error("cannot build the OTLP exporter for {endpoint}: {reason}")]
    Exporter {
        /// The traces URL.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// Flushing or shutting down failed (spans were dropped or the exporter timed out).
    #[error("span export did not complete: {0}")]
    Export(String),
}

/// A running trace pipeline. Cheap to share by reference; shut it down once at exit.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    stats: ExportStats,
    exporting: bool,
}

impl Telemetry {
    /// Starts the pipeline described by `settings`. Without an endpoint, spans are still
    /// created (trace context propagates) but nothing is exported.
    ///
    /// Call it outside an async context or inside one: the exporter is built on its own thread.
    pub fn start(settings: &Settings) -> Result<Self, TelemetryError> {
        match settings.traces_endpoint.clone() {
            None => Ok(Self::build(
                settings,
                None::<BoundedBatchProcessor>,
                ExportStats::default(),
            )),
            Some(endpoint) => {
                // Validate the URL here so a typo fails at start, not silently on the thread.
                endpoint
                    .parse::<http::Uri>()
                    .map_err(|e| TelemetryError::Exporter {
                        endpoint: endpoint.clone(),
                        reason: e.to_string(),
                    })?;
                let timeout = settings.export_timeout;
                Self::with_exporter(settings, move || {
                    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
                    let built = opentelemetry_otlp::SpanExporter::builder()
                        .with_http()
                        .with_endpoint(endpoint.clone())
                        .with_timeout(timeout)
                        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                        .with_headers(Default::default())
                        .build();
                    match built {
                        Ok(exporter) => Some(exporter),
                        Err(error) => {
                            tracing::error!(%endpoint, %error, "Cannot build the OTLP exporter; spans will be dropped");
                            None
                        }
                    }
                })
            }
        }
    }

    /// Starts the pipeline with a custom exporter (built on the export thread by `make`).
    pub fn with_exporter<E, F>(settings: &Settings, make: F) -> Result<Self, TelemetryError>
    where
        E: SpanExporter + 'static,
        F: FnOnce() -> Option<E> + Send + 'static,
    {
        let stats = ExportStats::default();
        let batch = BatchSettings {
            max_queue: settings.max_queue_spans,
            max_batch: settings.max_batch_spans,
            interval: settings.export_interval,
        };
        let processor = BoundedBatchProcessor::start(batch, stats.clone(), make)
            .map_err(TelemetryError::Thread)?;
        Ok(Self::build(settings, Some(processor), stats))
    }

    fn build(
        settings: &Settings,
        processor: Option<BoundedBatchProcessor>,
        stats: ExportStats,
    ) -> Self {
        let resource = Resource::builder()
            .with_service_name(settings.service_name.clone())
            .with_attributes([
                KeyValue::new("service.version", settings.service_version.clone()),
                KeyValue::new("service.instance.id", instance_id()),
            ])
            .build();
        let mut builder = SdkTracerProvider::builder()
            .with_sampler(EvidenceSampler::new(settings.sampling_ratio))
            .with_resource(resource);
        let exporting = processor.is_some();
        if let Some(p) = processor {
            builder = builder.with_span_processor(p);
        }
        let provider = builder.build();
        let tracer = provider.tracer(settings.service_name.clone());
        Self {
            provider,
            tracer,
            stats,
            exporting,
        }
    }

    /// The tracer to create spans with.
    pub fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    /// Whether finished spans are exported (an endpoint is configured).
    pub fn is_exporting(&self) -> bool {
        self.exporting
    }

    /// Export counters.
    pub fn stats(&self) -> &ExportStats {
        &self.stats
    }

    /// Exports every span finished so far; returns once they are exported or dropped.
    /// Blocking: call it from a blocking context (`spawn_blocking`) in async code.
    pub fn flush(&self) -> Result<(), TelemetryError> {
        if !self.exporting {
            return Ok(());
        }
        self.provider
            .force_flush()
            .map_err(|e| TelemetryError::Export(e.to_string()))
    }

    /// Flushes and stops the export thread. Blocking, like [`flush`](Self::flush).
    pub fn shutdown(&self) -> Result<(), TelemetryError> {
        self.provider
            .shutdown()
            .map_err(|e| TelemetryError::Export(e.to_string()))
    }

    /// Registers the export counters (dropped by reason, exported) in `registry`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            names::metric::registration_name(names::metric::TELEMETRY_SPANS_DROPPED_TOTAL),
            "Finished spans not exported, by reason",
            self.stats.dropped.clone(),
        );
        registry.register(
            names::metric::registration_name(names::metric::TELEMETRY_SPANS_EXPORTED_TOTAL),
            "Finished spans exported over OTLP",
            self.stats.exported.clone(),
        );
    }
}

/// Records a state change as a short internal span of its own trace (not part of any
/// request's trace), with `attributes`, always sampled. Returns its span context, whose trace
/// id can go into the log line for the same change.
pub fn record_state_change(
    tracer: &SdkTracer,
    name: &'static str,
    attributes: Vec<KeyValue>,
) -> SpanContext {
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Internal)
        .with_attributes(attributes)
        .start_with_context(tracer, &Context::new());
    let context = span.span_context().clone();
    span.end();
    context
}

/// A process-unique id for `service.instance.id`: random, so two replicas on one host differ.
fn instance_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Parent-based ratio sampling, except that evidence spans are always recorded.
#[derive(Debug, Clone)]
struct EvidenceSampler {
    inner: Sampler,
}

impl EvidenceSampler {
    fn new(ratio: f64) -> Self {
        Self {
            inner: Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                ratio.clamp(0.0, 1.0),
            ))),
        }
    }
}

impl ShouldSample for EvidenceSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        let is_root = parent_context.is_none_or(|cx| !cx.has_active_span());
        if is_root && names::span::EVIDENCE.contains(&name) {
            return Sampler::AlwaysOn.should_sample(
                parent_context,
                trace_id,
                name,
                span_kind,
                attributes,
                links,
            );
        }
        self.inner
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

#[cfg(test)]
mod tests;
