//! Telemetry pipeline: sampling rules, evidence spans, resource attributes, real OTLP export
//! and exporter outages.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::*;

#[derive(Debug, Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<Vec<SpanData>>>,
    resource: Arc<Mutex<Option<Resource>>>,
}

impl SpanExporter for Recorder {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.spans.lock().unwrap().extend(batch);
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().unwrap() = Some(resource.clone());
    }
}

fn settings(ratio: f64) -> Settings {
    let file = FileSettings {
        sampling_ratio: Some(ratio),
        service_name: Some("gw-test".into()),
        ..FileSettings::default()
    };
    Settings::resolve(&file, "gateway", |_| None).unwrap()
}

fn start(ratio: f64) -> (Telemetry, Recorder) {
    let recorder = Recorder::default();
    let r = recorder.clone();
    let telemetry = Telemetry::with_exporter(&settings(ratio), move || Some(r)).unwrap();
    (telemetry, recorder)
}

fn names(recorder: &Recorder) -> Vec<String> {
    recorder
        .spans
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect()
}

fn remote_parent(sampled: bool) -> Context {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let parent = SpanContext::new(
        TraceId::from(7u128),
        SpanId::from(9u64),
        flags,
        true,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(parent)
}

#[test]
fn telemetry_ratio_zero_drops_new_traces_but_keeps_evidence() {
    let (telemetry, recorder) = start(0.0);
    telemetry.tracer().start("gateway.request").end();
    let evidence = record_state_change(
        telemetry.tracer(),
        names::span::CONFIG_RELOAD,
        vec![KeyValue::new("k", "v")],
    );
    assert!(evidence.is_sampled());
    telemetry.flush().unwrap();
    assert_eq!(
        names(&recorder),
        vec![names::span::CONFIG_RELOAD.to_owned()]
    );
    let spans = recorder.spans.lock().unwrap();
    assert_eq!(spans[0].attributes, vec![KeyValue::new("k", "v")]);
    assert_eq!(
        spans[0].parent_span_id,
        SpanId::INVALID,
        "evidence spans are roots"
    );
    drop(spans);
    telemetry.shutdown().unwrap();
}

#[test]
fn telemetry_sampled_remote_parent_is_recorded_even_at_ratio_zero() {
    let (telemetry, recorder) = start(0.0);
    let tracer = telemetry.tracer();
    let mut span = tracer
        .span_builder("gateway.request")
        .start_with_context(tracer, &remote_parent(true));
    let cx = span.span_context().clone();
    span.end();
    telemetry.flush().unwrap();
    assert_eq!(cx.trace_id(), TraceId::from(7u128), "the trace continues");
    assert!(cx.is_sampled());
    let spans = recorder.spans.lock().unwrap();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].parent_span_id, SpanId::from(9u64));
    assert!(spans[0].parent_span_is_remote);
    drop(spans);
    telemetry.shutdown().unwrap();
}

#[test]
fn telemetry_unsampled_remote_parent_is_not_recorded_at_ratio_one() {
    let (telemetry, recorder) = start(1.0);
    let tracer = telemetry.tracer();
    let mut span = tracer
        .span_builder("gateway.request")
        .start_with_context(tracer, &remote_parent(false));
    let cx = span.span_context().clone();
    span.end();
    telemetry.flush().unwrap();
    assert!(!cx.is_sampled());
    assert!(
        cx.span_id() != SpanId::INVALID,
        "an unsampled span still has an id to propagate"
    );
    assert!(names(&recorder).is_empty());
    telemetry.shutdown().unwrap();
}

#[test]
fn telemetry_ratio_samples_about_that_share_of_new_traces() {
    let (telemetry, recorder) = start(0.25);
    for _ in 0..2000 {
        telemetry.tracer().start("gateway.request").end();
    }
    telemetry.flush().unwrap();
    let n = names(&recorder).len();
    // Binomial(2000, 0.25): mean 500, sd ~19.4; +-6 sd.
    assert!((384..=616).contains(&n), "sampled {n} of 2000");
    telemetry.shutdown().unwrap();
}

#[test]
fn telemetry_resource_names_service_version_and_instance() {
    let (telemetry, recorder) = start(1.0);
    telemetry.flush().unwrap();
    let resource = recorder
        .resource
        .lock()
        .unwrap()
        .clone()
        .expect("resource set");
    let get = |k: &str| {
        resource
            .iter()
            .find(|(key, _)| key.as_str() == k)
            .map(|(_, v)| v.to_string())
    };
    assert_eq!(get("service.name").as_deref(), Some("gw-test"));
    assert_eq!(
        get("service.version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(get("service.instance.id").map(|v| v.len()), Some(32));
    telemetry.shutdown().unwrap();
}

#[test]
fn telemetry_without_endpoint_creates_spans_but_exports_nothing() {
    let telemetry = Telemetry::start(&settings(1.0)).unwrap();
    assert!(!telemetry.is_exporting());
    let mut span = telemetry.tracer().start("gateway.request");
    assert!(span.span_context().is_valid());
    span.end();
    telemetry.flush().unwrap();
    assert_eq!(telemetry.stats().exported.get(), 0);
}

#[test]
fn telemetry_registers_export_counters_with_promtool_friendly_names() {
    let (telemetry, _recorder) = start(1.0);
    let mut registry = prometheus_client::registry::Registry::default();
    telemetry.register_metrics(&mut registry);
    telemetry
        .stats()
        .dropped
        .get_or_create(&DropLabels {
            reason: DropReason::queue_full,
        })
        .inc();
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("gateway_telemetry_spans_dropped_total{reason=\"queue_full\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("gateway_telemetry_spans_exported_total 0"),
        "{text}"
    );
    telemetry.shutdown().unwrap();
}

#[test]
fn telemetry_invalid_endpoint_fails_at_start() {
    let file = FileSettings {
        otlp_endpoint: Some("http://bad host:4318".into()),
        ..FileSettings::default()
    };
    let s = Settings::resolve(&file, "g", |_| None).unwrap();
    let err = Telemetry::start(&s).unwrap_err();
    assert!(matches!(err, TelemetryError::Exporter { .. }), "{err}");
}

#[test]
fn telemetry_collector_outage_never_slows_span_ends_and_counts_drops() {
    // A port with nothing listening: every export fails fast with connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = FileSettings {
        otlp_endpoint: Some(format!("http://127.0.0.1:{port}")),
        sampling_ratio: Some(1.0),
        ..FileSettings::default()
    };
    let mut s = Settings::resolve(&file, "g", |_| None).unwrap();
    s.max_queue_spans = 64;
    let telemetry = Telemetry::start(&s).unwrap();
    let started = Instant::now();
    for _ in 0..10_000 {
        telemetry.tracer().start("gateway.request").end();
    }
    let elapsed = started.elapsed();
    // 10k span ends cost microseconds each; an exporter outage must add nothing to that.
    assert!(
        elapsed < Duration::from_secs(5),
        "ending spans took {elapsed:?}"
    );
    let _ = telemetry.flush();
    let stats = telemetry.stats();
    let accounted = stats.exported.get()
        + stats.dropped(DropReason::queue_full)
        + stats.dropped(DropReason::export_failed);
    assert_eq!(
        accounted, 10_000,
        "every span exported or counted as dropped"
    );
    assert_eq!(stats.exported.get(), 0);
    assert!(stats.dropped(DropReason::queue_full) > 0);
    let _ = telemetry.shutdown();
}
