//! Fallbacks end to end: a static answer for a failing upstream and an open breaker, and the
//! last good answer (stale-if-error) until it is too old, judged by the client's answers, what
//! reached the upstream, `/admin/routes`, the metrics and the request spans.

use std::cell::Cell;
use std::time::{Duration, Instant};

use e2e_tests::{
    Answer, BASE_CONFIG, Gateway, TraceStore, WAIT, chaos_upstream, http_client, metric_or_zero,
    span_attribute, wait_for,
};
use observability::client::{MetricSet, TraceId};
use observability::names::{attr, header, label, metric, reject, span};
use serde_json::json;

const ROUTE: &str = "users";
const STATIC_BODY: &str = r#"{"orders":[],"degraded":true}"#;

fn fallbacks(metrics: &MetricSet, kind: &str) -> f64 {
    // NOTE: `kind` has no constant in `observability::names::label`.
    metric_or_zero(
        metrics,
        metric::FALLBACKS_TOTAL,
        &[(label::ROUTE, ROUTE), ("kind", kind)],
    )
}

fn assert_static_fallback(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 200, "{what}: {answer:?}");
    assert_eq!(answer.header(header::FALLBACK), Some("static"), "{what}");
    assert_eq!(answer.header("x-degraded"), Some("1"), "{what}");
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    assert_eq!(answer.header(header::UPSTREAM), None, "{what}: {answer:?}");
    assert_eq!(answer.body, STATIC_BODY, "{what}");
}

/// A sampled `traceparent` for trace number `n` of this test, so its spans can be fetched.
fn traceparent(n: u128) -> (TraceId, String) {
    let id = 0x5ca1_ab1e_0000_0000_0000_0000_0000_0000_u128 + n;
    (TraceId(id), format!("00-{id:032x}-00f067aa0ba902b7-01"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_static_answers_failures_and_open_breaker_without_calling_upstream() {
    let store = TraceStore::start();
    let upstream = chaos_upstream("users-a", &["--error-rate", "1.0", "--error-status", "503"]);
    let gateway = Gateway::start(&format!(
        "{BASE_CONFIG}telemetry: {{ otlp_endpoint: \"{}\", export_interval: 100ms }}\n\
         upstreams:\n  users:\n    endpoints: [ {{ address: \"{}\" }} ]\n\
         \x20   circuit_breaker: {{ window: {{ calls: 4 }}, minimum_calls: 4, open_for: 30s }}\n\
         routes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n\
         \x20   fallback:\n      static:\n        status: 200\n\
         \x20       headers: {{ content-type: application/json, x-degraded: \"1\" }}\n\
         \x20       body: '{STATIC_BODY}'\n",
        store.otlp_url(),
        upstream.address(),
    ));
    let http = http_client();
    let get = |n: u128| {
        let (_, parent) = traceparent(n);
        Answer::of(
            http.get(gateway.url("/api/orders"))
                .header("traceparent", parent),
        )
    };

    // Closed breaker: each request reaches the failing upstream and is answered by the
    // fallback; the fourth failure opens the breaker.
    for n in 1..=4 {
        assert_static_fallback(&get(n).await, &format!("failed request {n}"));
    }
    assert_eq!(upstream.requests().await, 4);
    assert_eq!(gateway.breaker_state("users").await, "open");
    // Open breaker: the same answer, and the upstream is not called.
    for n in 5..=8 {
        assert_static_fallback(&get(n).await, &format!("rejected request {n}"));
    }
    assert_eq!(upstream.requests().await, 4);
    let metrics = gateway.metrics().await;
    assert_eq!(fallbacks(&metrics, "static"), 8.0);
    assert_eq!(
        metric_or_zero(
            &metrics,
            metric::UPSTREAM_REJECTED_TOTAL,
            &[
                (label::UPSTREAM, "users"),
                (label::REASON, reject::BREAKER_OPEN)
            ]
        ),
        4.0
    );
    assert_eq!(
        metric_or_zero(
            &metrics,
            metric::HTTP_REQUESTS_TOTAL,
            &[(label::ROUTE, ROUTE), (label::STATUS_CLASS, "2xx")]
        ),
        8.0
    );
    assert_eq!(gateway.route(ROUTE).await["fallback"]["kind"], "static");

    // The server span says who answered: after a failed attempt, and without one.
    gateway.flush_telemetry().await;
    let client = store.client();
    for (n, attempts) in [(1, 1), (5, 0)] {
        let (id, _) = traceparent(n);
        let gw = &gateway;
        let trace = wait_for(&format!("trace of request {n}"), WAIT, || {
            let client = client.clone();
            async move {
                let trace = client.trace(id).await.ok().flatten()?;
                let complete = trace.spans.iter().any(|s| s.name == span::REQUEST)
                    && trace
                        .spans
                        .iter()
                        .filter(|s| s.name == span::UPSTREAM_ATTEMPT)
                        .count()
                        == attempts;
                if !complete {
                    gw.flush_telemetry().await;
                }
                complete.then_some(trace)
            }
        })
        .await;
        let server = trace
            .spans
            .iter()
            .find(|s| s.name == span::REQUEST)
            .unwrap();
        assert_eq!(
            span_attribute(server, attr::FALLBACK).as_deref(),
            Some("static"),
            "request {n}: {server:#?}"
        );
        assert_eq!(
            span_attribute(server, attr::HTTP_STATUS_CODE).as_deref(),
            Some("200")
        );
        let rejected = span_attribute(server, attr::REJECT_REASON);
        if attempts == 0 {
            assert_eq!(
                rejected.as_deref(),
                Some(reject::BREAKER_OPEN),
                "request {n}"
            );
        } else {
            assert_eq!(rejected, None, "request {n}");
            let attempt = trace
                .spans
                .iter()
                .find(|s| s.name == span::UPSTREAM_ATTEMPT)
                .unwrap();
            assert_eq!(
                span_attribute(attempt, attr::OUTCOME).as_deref(),
                Some("http_5xx")
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_stale_serves_last_good_response_until_max_age_then_the_error() {
    const MAX_AGE: Duration = Duration::from_secs(1);
    let upstream = chaos_upstream("users-a", &[]);
    let gateway = Gateway::start(&format!(
        "{BASE_CONFIG}upstreams:\n  users:\n    endpoints: [ {{ address: \"{}\" }} ]\n\
         routes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n\
         \x20   fallback: {{ stale: {{ max_age: 1s }} }}\n",
        upstream.address(),
    ));
    let http = http_client();
    let get = |path: &'static str| Answer::of(http.get(gateway.url(path)));

    let sent = Instant::now();
    let good = get("/api/catalog?page=1").await;
    let received = Instant::now();
    assert_eq!(good.status, 200);
    assert_eq!(good.header(header::FALLBACK), None);
    upstream
        .set_behavior(json!({"error_rate": 1.0, "error_status": 503}))
        .await;

    // The upstream fails: the stored answer is served instead, marked, with its age.
    let stale = get("/api/catalog?page=1").await;
    assert_eq!(stale.status, 200, "{stale:?}");
    assert_eq!(stale.header(header::FALLBACK), Some("stale"));
    assert_eq!(stale.header("age"), Some("0"), "younger than max_age 1s");
    assert_eq!(stale.body, good.body, "the stored body, byte for byte");
    // Another request target has nothing stored: the upstream's error goes through.
    let other = get("/api/catalog?page=2").await;
    assert_eq!(other.status, 503, "{other:?}");
    assert_eq!(other.header(header::FALLBACK), None);
    assert_eq!(other.header(header::UPSTREAM), Some("users-a"));

    // Once the stored answer is max_age old it is no longer served.
    let served_stale = Cell::new(1u64);
    let (gw, counter) = (&gateway, &served_stale);
    let expired = wait_for("stale answer expired", WAIT, || {
        let http = http.clone();
        async move {
            let answer = Answer::of(http.get(gw.url("/api/catalog?page=1"))).await;
            if answer.header(header::FALLBACK) == Some("stale") {
                assert_eq!(answer.status, 200);
                assert_eq!(answer.header("age"), Some("0"));
                counter.set(counter.get() + 1);
                return None;
            }
            Some((answer, Instant::now()))
        }
    })
    .await;
    let (answer, expired_at) = expired;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.header(header::UPSTREAM), Some("users-a"));
    assert!(
        expired_at - sent >= MAX_AGE,
        "stale answer gone {:?} after the good one was requested",
        expired_at - sent
    );
    assert!(
        expired_at - received <= MAX_AGE + Duration::from_millis(1500),
        "stale answer still served {:?} after the good one arrived",
        expired_at - received
    );

    let metrics = gateway.metrics().await;
    let served_stale = served_stale.get();
    assert_eq!(fallbacks(&metrics, "stale"), served_stale as f64);
    let cache = gateway.route(ROUTE).await["fallback"].clone();
    assert_eq!(cache["kind"], "stale");
    let stats = &cache["cache"];
    assert_eq!(
        (&stats["entries"], &stats["stored"], &stats["expired"]),
        (&json!(0), &json!(1), &json!(1)),
        "{cache}"
    );
    assert_eq!(stats["hits"], served_stale, "{cache}");
}
