//! Trace store benchmarks: ingest rate on one core, and search latency at 100k and 1M spans.
//!
//! Spans look like the gateway's: two services, five operations, eight attributes each
//! (three of them high-cardinality), five spans per trace. Searches go through the v1 HTTP
//! handler in-process, so they include parsing, the scan, the adjusters and the JSON.
//!
//! ```sh
//! cargo bench -p observability --bench store -- --measurement-time 3
//! ```

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, StatusCode};
use http_body_util::Full;
use observability::store::{OtlpReceiver, QueryApi, ReceiverConfig, StoreLimits, TraceStore};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message as _;

const SPANS_PER_TRACE: usize = 5;
const TRACES_PER_BATCH: usize = 100;
const OPERATIONS: [&str; 5] = [
    "GET /api/users/{id}",
    "POST /api/users",
    "GET /api/orders",
    "upstream.attempt",
    "db.query",
];

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", Value::StringValue(service.into())),
            kv("host.name", Value::StringValue("bench-host".into())),
        ],
        ..Default::default()
    })
}

/// A gateway-like span: eight attributes, one in a hundred traces failed with a 503.
fn span(trace: u64, index: usize, start_ns: u64) -> Span {
    let operation = OPERATIONS[(trace as usize + index) % OPERATIONS.len()];
    let failed = trace.is_multiple_of(100);
    let status = if failed { 503 } else { 200 };
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&trace.to_be_bytes());
    trace_id[15] = 1;
    Span {
        trace_id: trace_id.to_vec(),
        span_id: ((trace << 8) | (index as u64 + 1)).to_be_bytes().to_vec(),
        parent_span_id: if index == 0 {
            Vec::new()
        } else {
            ((trace << 8) | index as u64).to_be_bytes().to_vec()
        },
        name: operation.into(),
        kind: [2, 3, 2, 3, 1][index % 5],
        start_time_unix_nano: start_ns + index as u64 * 100_000,
        end_time_unix_nano: start_ns + index as u64 * 100_000 + 2_000_000,
        attributes: vec![
            kv("http.method", Value::StringValue("GET".into())),
            kv("http.route", Value::StringValue("/api/users/{id}".into())),
            kv("http.status_code", Value::IntValue(status)),
            kv("net.peer.ip", Value::StringValue("10.0.0.7".into())),
            kv("upstream.name", Value::StringValue("users".into())),
            kv("user.id", Value::StringValue(format!("user-{trace}"))),
            kv(
                "http.url",
                Value::StringValue(format!("http://gw/api/users/{trace}?page={index}")),
            ),
            kv("retry.count", Value::IntValue((trace % 3) as i64)),
        ],
        status: failed.then(|| Status {
            code: 2,
            message: "upstream unavailable".into(),
        }),
        ..Default::default()
    }
}

/// `TRACES_PER_BATCH` traces starting at `first`; spans 0-1 from the gateway, 2-4 from users.
fn batch(first: u64, start_ns: u64) -> ExportTraceServiceRequest {
    let scope = || {
        Some(InstrumentationScope {
            name: "gateway".into(),
            version: "0.1.0".into(),
            ..Default::default()
        })
    };
    let mut gateway = Vec::new();
    let mut users = Vec::new();
    for trace in first..first + TRACES_PER_BATCH as u64 {
        for index in 0..SPANS_PER_TRACE {
            let span = span(trace, index, start_ns + trace * 1_000);
            (if index < 2 { &mut gateway } else { &mut users }).push(span);
        }
    }
    let resource_spans = |service: &str, spans| ResourceSpans {
        resource: resource(service),
        scope_spans: vec![ScopeSpans {
            scope: scope(),
            spans,
            ..Default::default()
        }],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            resource_spans("gateway", gateway),
            resource_spans("users", users),
        ],
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn filled_store(spans: usize, start_ns: u64) -> TraceStore {
    let store = TraceStore::new(StoreLimits::default());
    let batches = spans / (SPANS_PER_TRACE * TRACES_PER_BATCH);
    for b in 0..batches as u64 {
        store.ingest(batch(b * TRACES_PER_BATCH as u64, start_ns));
    }
    assert_eq!(store.stats().spans_stored as usize, spans);
    store
}

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(
        (SPANS_PER_TRACE * TRACES_PER_BATCH) as u64,
    ));
    let start_ns = now_ns();
    let store = TraceStore::new(StoreLimits::default());
    let mut next = 0u64;
    group.bench_function("batch_of_500_spans", |b| {
        b.iter_batched(
            || {
                next += TRACES_PER_BATCH as u64;
                batch(next, start_ns)
            },
            |request| store.ingest(black_box(request)),
            BatchSize::SmallInput,
        );
    });
    // The same through the OTLP/HTTP handler: protobuf decoding included.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let receiver = OtlpReceiver::new(
        TraceStore::new(StoreLimits::default()),
        ReceiverConfig::default(),
    );
    group.bench_function("otlp_protobuf_request_of_500_spans", |b| {
        b.iter_batched(
            || {
                next += TRACES_PER_BATCH as u64;
                Request::post("/v1/traces")
                    .header("content-type", "application/x-protobuf")
                    .body(Full::new(Bytes::from(
                        batch(next, start_ns).encode_to_vec(),
                    )))
                    .expect("request")
            },
            |request| {
                let response = runtime.block_on(receiver.handle(black_box(request)));
                assert_eq!(response.status(), StatusCode::OK);
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn search(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let start_ns = now_ns() - 3_600_000_000_000;
    let window = format!(
        "start={}&end={}",
        start_ns / 1_000 - 1,
        now_ns() / 1_000 + 1
    );
    let mut group = c.benchmark_group("search");
    for spans in [100_000, 1_000_000] {
        let api = QueryApi::new(filled_store(spans, start_ns));
        let get = |uri: String| {
            let request = Request::get(uri)
                .body(Full::new(Bytes::new()))
                .expect("uri");
            let response = runtime.block_on(api.handle(request));
            assert_eq!(response.status(), StatusCode::OK);
            response
        };
        let tagged = format!(
            "/api/traces?service=gateway&operation=GET%20%2Fapi%2Fusers%2F%7Bid%7D\
             &tag=http.status_code:503&limit=20&{window}"
        );
        group.bench_function(format!("v1_service_operation_tag/{spans}"), |b| {
            b.iter(|| get(black_box(tagged.clone())));
        });
        // Worst case: nothing matches, so every candidate trace of the operation is scanned.
        let no_hit = tagged.replace("http.status_code:503", "http.status_code:418");
        group.bench_function(format!("v1_service_operation_tag_no_hit/{spans}"), |b| {
            b.iter(|| get(black_box(no_hit.clone())));
        });
        let by_id = format!("/api/traces/{:016x}{:016x}", (spans / 10) as u64, 1);
        group.bench_function(format!("v1_trace_by_id/{spans}"), |b| {
            b.iter(|| get(black_box(by_id.clone())));
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = ingest, search
}
criterion_main!(benches);
