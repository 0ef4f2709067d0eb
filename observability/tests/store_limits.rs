//! Bounds of the store: whole oldest traces (by first ingest) are evicted when the span or
//! byte limit is crossed, the counters say so, and concurrent ingest and queries stay
//! consistent.

mod store_support;

use std::num::{NonZeroU64, NonZeroUsize};

use http::StatusCode;
use observability::store::{ReceiverConfig, StoreLimits, StoreStats, TraceStore};
use store_support::{Harness, SpanSpec, now_ns, request, trace_hex};

fn limited(max_spans: usize, max_bytes: u64) -> Harness {
    Harness::with(
        StoreLimits::new(
            NonZeroUsize::new(max_spans).unwrap(),
            NonZeroU64::new(max_bytes).unwrap(),
        ),
        ReceiverConfig::default(),
    )
}

/// `spans` spans of trace `trace` from `service`.
fn trace(
    service: &str,
    trace: u8,
    spans: u64,
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    let start = now_ns() - 1_000_000_000;
    request(
        service,
        (1..=spans)
            .map(|i| SpanSpec::new(trace, i, "op").time(start, 1_000).build())
            .collect(),
    )
}

async fn present(h: &Harness, trace: u8) -> bool {
    let reply = h.get(&format!("/api/traces/{}", trace_hex(trace))).await;
    match reply.status {
        StatusCode::OK => true,
        StatusCode::NOT_FOUND => false,
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn span_limit_evicts_whole_oldest_traces_and_counts_them() {
    let h = limited(5, u64::MAX);
    h.post_proto(&trace("gw", 1, 2)).await;
    h.post_proto(&trace("gw", 2, 2)).await;

    h.post_proto(&trace("gw", 3, 2)).await;

    assert!(!present(&h, 1).await);
    assert!(present(&h, 2).await && present(&h, 3).await);
    let stats = h.store.stats();
    assert_eq!(
        (stats.spans_stored, stats.traces_stored),
        (4, 2),
        "{stats:?}"
    );
    assert_eq!(
        (stats.spans_evicted_total, stats.traces_evicted_total),
        (2, 1)
    );
    assert_eq!(stats.spans_accepted_total, 6);
}

#[tokio::test]
async fn eviction_follows_first_ingest_not_last_update() {
    let h = limited(6, u64::MAX);
    h.post_proto(&trace("gw", 1, 2)).await;
    h.post_proto(&trace("gw", 2, 2)).await;
    // Trace 1 grows after trace 2 arrived; it is still the oldest by first ingest.
    let mut late = trace("gw", 1, 3);
    late.resource_spans[0].scope_spans[0].spans.drain(..2);
    h.post_proto(&late).await;

    h.post_proto(&trace("gw", 3, 2)).await;

    assert!(!present(&h, 1).await);
    assert!(present(&h, 2).await && present(&h, 3).await);
    let stats = h.store.stats();
    assert_eq!((stats.spans_stored, stats.spans_evicted_total), (4, 3));
}

#[tokio::test]
async fn byte_limit_evicts_until_the_approximate_size_fits() {
    // Each small span costs its encoded size (~40 B) plus 160 B of bookkeeping.
    let h = limited(1_000, 1_000);
    for t in 1..=5 {
        h.post_proto(&trace("gw", t, 1)).await;
    }

    let stats = h.store.stats();

    assert!(stats.bytes_stored <= 1_000, "{stats:?}");
    assert!(stats.traces_evicted_total >= 1, "{stats:?}");
    assert_eq!(stats.traces_stored + stats.traces_evicted_total, 5);
    assert!(present(&h, 5).await);
    assert!(!present(&h, 1).await);
}

#[tokio::test]
async fn a_trace_larger_than_the_limit_is_evicted_itself() {
    let h = limited(3, u64::MAX);

    h.post_proto(&trace("gw", 1, 4)).await;

    assert!(!present(&h, 1).await);
    let stats = h.store.stats();
    assert_eq!(
        stats,
        StoreStats {
            spans_accepted_total: 4,
            spans_evicted_total: 4,
            traces_evicted_total: 1,
            ..StoreStats::default()
        }
    );
}

#[tokio::test]
async fn services_and_operations_disappear_with_their_last_span() {
    let h = limited(2, u64::MAX);
    h.post_proto(&trace("old", 1, 2)).await;

    h.post_proto(&trace("new", 2, 2)).await;

    let services = h.get_json("/api/services").await;
    assert_eq!(services["data"], serde_json::json!(["new"]));
    let operations = h.get_json("/api/operations?service=old").await;
    assert_eq!(operations["data"], serde_json::json!([]));
}

#[test]
fn default_limits_are_a_million_spans_and_one_gib() {
    let limits = StoreLimits::default();
    assert_eq!(limits.max_spans().get(), 1_000_000);
    assert_eq!(limits.max_bytes().get(), 1 << 30);
    assert_eq!(ReceiverConfig::default().max_body_bytes().get(), 64 << 20);
    assert_eq!(TraceStore::new(limits).limits(), limits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ingest_and_queries_stay_consistent() {
    const WRITERS: u8 = 4;
    const TRACES_PER_WRITER: u8 = 50;
    const SPANS_PER_TRACE: u64 = 3;
    let h = std::sync::Arc::new(limited(300, u64::MAX));

    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let h = std::sync::Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            for i in 0..TRACES_PER_WRITER {
                let id = writer * TRACES_PER_WRITER + i + 1;
                h.post_proto(&trace(&format!("svc{writer}"), id, SPANS_PER_TRACE))
                    .await;
            }
        }));
    }
    for reader in 0..WRITERS {
        let h = std::sync::Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            for _ in 0..100 {
                let search = h
                    .get(&format!("/api/traces?service=svc{reader}&limit=5"))
                    .await;
                assert_eq!(search.status, StatusCode::OK);
                for trace in search.json()["data"].as_array().unwrap() {
                    // Traces are never seen half-stored: each has all its spans.
                    assert_eq!(trace["spans"].as_array().unwrap().len(), 3);
                }
                let services = h.get("/api/v3/services").await;
                assert_eq!(services.status, StatusCode::OK);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let stats = h.store.stats();
    let total = u64::from(WRITERS) * u64::from(TRACES_PER_WRITER) * SPANS_PER_TRACE;
    assert_eq!(stats.spans_accepted_total, total);
    assert_eq!(stats.spans_stored, 300);
    assert_eq!(stats.traces_stored, 100);
    assert_eq!(stats.spans_stored + stats.spans_evicted_total, total);
    assert_eq!(stats.traces_evicted_total, 100);
}
