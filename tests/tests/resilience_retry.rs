//! Retries, failover and outlier ejection end to end: real `chaos upstream` endpoints behind a
//! real gateway, one of them killed (SIGKILL) or failing, judged by the client's answers, what
//! reached each upstream (`/_chaos/stats`), `/admin/upstreams`, `/admin/routes` and the metrics.
//!
//! Requests are sent one at a time (paced where a rate matters), so the balancer's rotation
//! and the retry budget see them in a known order and the counts below are exact.

use std::collections::BTreeMap;
use std::time::Duration;

use e2e_tests::{
    Answer, BASE_CONFIG, Gateway, TraceStore, WAIT, attribute_text, chaos_upstream, http_client,
    metric_or_zero, span_attribute, wait_for,
};
use observability::client::{MetricSet, TraceId};
use observability::names::{attr, header, label, metric, span};
use serde_json::json;

/// Retries wait 1-5ms, so a failover costs little time and the tests stay short.
const FAST_BACKOFF: &str = "backoff: { base: 1ms, max: 5ms }";

fn retries(metrics: &MetricSet, route: &str) -> f64 {
    metric_or_zero(metrics, metric::RETRIES_TOTAL, &[(label::ROUTE, route)])
}

fn attempts(metrics: &MetricSet, upstream: &str, outcome: &str) -> f64 {
    metric_or_zero(
        metrics,
        metric::UPSTREAM_REQUESTS_TOTAL,
        &[(label::UPSTREAM, upstream), (label::OUTCOME, outcome)],
    )
}

/// A loopback port nothing listens on: connections to it are refused at once.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_killed_endpoint_get_traffic_sees_no_errors_and_endpoint_is_ejected() {
    const REQUESTS: usize = 150;
    const EVERY: Duration = Duration::from_millis(20); // 50 requests/s for 3s
    let mut a = chaos_upstream("users-a", &[]);
    let b = chaos_upstream("users-b", &[]);
    let gateway = Gateway::start(&format!(
        "{BASE_CONFIG}upstreams:\n  users:\n\
         \x20   endpoints: [ {{ address: \"{}\" }}, {{ address: \"{}\" }} ]\n\
         \x20   balancer: round_robin\n\
         \x20   outlier_detection: {{ consecutive_failures: 3, base_ejection: 30s }}\n\
         routes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n\
         \x20   retry: {{ attempts: 2, on: [connect_failure, reset], {FAST_BACKOFF}, \
         budget: {{ ratio: 100%, min_per_second: 10 }} }}\n",
        a.address(),
        b.address(),
    ));
    let http = http_client();

    // Both endpoints serve (one request each, the rotation alternates), then one dies.
    let mut served_by = Vec::new();
    for _ in 0..2 {
        let answer = Answer::of(http.get(gateway.url("/api/warm"))).await;
        assert_eq!(answer.status, 200);
        served_by.push(answer.header(header::UPSTREAM).unwrap().to_owned());
    }
    served_by.sort();
    assert_eq!(served_by, ["users-a", "users-b"]);
    a.kill();

    // Steady GET traffic: every request that meets the dead endpoint is retried on the
    // live one until outlier detection ejects the dead one.
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut answers: BTreeMap<(u16, String), usize> = BTreeMap::new();
    let load = async {
        for _ in 0..REQUESTS {
            ticks.tick().await;
            let answer = Answer::of(http.get(gateway.url("/api/orders"))).await;
            let by = answer.header(header::UPSTREAM).unwrap_or("").to_owned();
            *answers.entry((answer.status, by)).or_default() += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), load)
        .await
        .expect("150 paced requests within 60s");
    assert_eq!(
        answers,
        BTreeMap::from([((200, "users-b".to_owned()), REQUESTS)]),
        "client errors during failover"
    );
    assert_eq!(b.requests_to("/api/orders").await, REQUESTS as u64);

    // The dead endpoint is ejected, after exactly `consecutive_failures` failed attempts,
    // each of which was retried.
    let users = gateway.upstream("users").await;
    let endpoints = users["endpoints"].as_array().unwrap();
    let dead = endpoints
        .iter()
        .find(|e| e["address"] == a.address())
        .unwrap();
    let live = endpoints
        .iter()
        .find(|e| e["address"] == b.address())
        .unwrap();
    assert_eq!(dead["outlier"]["ejected"], true, "{users}");
    assert_eq!(dead["outlier"]["ejections_total"], 1, "{users}");
    assert_eq!(dead["outlier"]["ejection_count"], 1, "{users}");
    assert_eq!(live["outlier"]["ejected"], false, "{users}");
    let metrics = gateway.metrics().await;
    let dead_labels = [(label::UPSTREAM, "users"), (label::ENDPOINT, a.address())];
    assert_eq!(
        metric_or_zero(&metrics, metric::ENDPOINT_EJECTIONS_TOTAL, &dead_labels),
        1.0
    );
    assert_eq!(
        metric_or_zero(&metrics, metric::ENDPOINT_EJECTED, &dead_labels),
        1.0
    );
    let failed =
        attempts(&metrics, "users", "connect_failure") + attempts(&metrics, "users", "upstream_io");
    assert_eq!(failed, 3.0, "failed attempts to the dead endpoint");
    assert_eq!(retries(&metrics, "users"), failed);
    assert_eq!(
        metric_or_zero(
            &metrics,
            metric::HTTP_REQUESTS_TOTAL,
            &[(label::ROUTE, "users"), (label::STATUS_CLASS, "2xx")]
        ),
        (REQUESTS + 2) as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_post_is_retried_on_503_only_when_route_opts_in_and_on_connect_failure_always() {
    const REQUESTS: u64 = 20;
    // `a` answers every request 503; `b` is healthy; nothing listens at `gone`.
    let a = chaos_upstream("users-a", &["--error-rate", "1.0", "--error-status", "503"]);
    let b = chaos_upstream("users-b", &[]);
    let gone = closed_port();
    let retry = format!(
        "attempts: 2, on: [connect_failure, reset, \"503\"], {FAST_BACKOFF}, \
         budget: {{ ratio: 100%, min_per_second: 10 }}"
    );
    let gateway = Gateway::start(&format!(
        "{BASE_CONFIG}upstreams:\n\
         \x20 flaky:\n    endpoints: [ {{ address: \"{a}\" }}, {{ address: \"{b}\" }} ]\n    balancer: round_robin\n\
         \x20 half_gone:\n    endpoints: [ {{ address: \"{gone}\" }}, {{ address: \"{b}\" }} ]\n    balancer: round_robin\n\
         routes:\n\
         \x20 - name: strict\n    match: {{ path: /strict/** }}\n    upstream: flaky\n    retry: {{ {retry} }}\n\
         \x20 - name: optin\n    match: {{ path: /optin/** }}\n    upstream: flaky\n    retry: {{ {retry}, non_idempotent: true }}\n\
         \x20 - name: gone\n    match: {{ path: /gone/** }}\n    upstream: half_gone\n    retry: {{ {retry} }}\n",
        a = a.address(),
        b = b.address(),
    ));
    let http = http_client();
    let count = |answers: &[Answer], status: u16| {
        answers.iter().filter(|a| a.status == status).count() as u64
    };

    // Strict route, POST: a 503 is returned as is (the upstream may have acted on the
    // request). With no retries the rotation alternates exactly: half go to `a`.
    let mut posts = Vec::new();
    for _ in 0..REQUESTS {
        posts.push(Answer::of(http.post(gateway.url("/strict/orders")).body("order")).await);
    }
    let failed = count(&posts, 503);
    assert_eq!(failed, REQUESTS / 2, "POSTs answered 503: {posts:#?}");
    assert_eq!(count(&posts, 200), REQUESTS - failed);
    assert!(
        posts
            .iter()
            .filter(|p| p.status == 503)
            .all(|p| p.header(header::UPSTREAM) == Some("users-a"))
    );
    assert_eq!(a.requests_to("/strict/orders").await, failed);
    assert_eq!(b.requests_to("/strict/orders").await, REQUESTS - failed);
    assert_eq!(retries(&gateway.metrics().await, "strict"), 0.0);

    // Same route, GET: every 503 is retried on the other endpoint.
    let mut gets = Vec::new();
    for _ in 0..REQUESTS {
        gets.push(Answer::of(http.get(gateway.url("/strict/items"))).await);
    }
    assert_eq!(count(&gets, 200), REQUESTS, "GETs: {gets:#?}");
    let retried_gets = a.requests_to("/strict/items").await;
    assert!(retried_gets >= 1);
    assert_eq!(b.requests_to("/strict/items").await, REQUESTS);
    assert_eq!(
        retries(&gateway.metrics().await, "strict"),
        retried_gets as f64
    );

    // Opt-in route, POST: retried like a GET.
    let mut posts = Vec::new();
    for _ in 0..REQUESTS {
        posts.push(Answer::of(http.post(gateway.url("/optin/orders")).body("order")).await);
    }
    assert_eq!(count(&posts, 200), REQUESTS, "opted-in POSTs: {posts:#?}");
    let retried_posts = a.requests_to("/optin/orders").await;
    assert!(retried_posts >= 1);
    assert_eq!(b.requests_to("/optin/orders").await, REQUESTS);
    assert_eq!(
        metric_or_zero(
            &gateway.metrics().await,
            metric::RETRIES_TOTAL,
            &[(label::ROUTE, "optin"), (label::REASON, "status")]
        ),
        retried_posts as f64
    );

    // Strict route, POST, endpoint refusing connections: nothing was sent, so it is retried
    // whatever the method.
    let mut posts = Vec::new();
    for _ in 0..REQUESTS {
        posts.push(Answer::of(http.post(gateway.url("/gone/orders")).body("order")).await);
    }
    assert_eq!(
        count(&posts, 200),
        REQUESTS,
        "POSTs to a closed port: {posts:#?}"
    );
    assert_eq!(b.requests_to("/gone/orders").await, REQUESTS);
    let metrics = gateway.metrics().await;
    let connect_retries = metric_or_zero(
        &metrics,
        metric::RETRIES_TOTAL,
        &[(label::ROUTE, "gone"), (label::REASON, "connect_failure")],
    );
    assert!(connect_retries >= 1.0, "no connect-failure retry");
    assert_eq!(
        connect_retries,
        attempts(&metrics, "half_gone", "connect_failure")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_budget_caps_upstream_load_at_the_ratio_when_everything_fails() {
    const REQUESTS: u64 = 100;
    let upstream = chaos_upstream("users-a", &["--error-rate", "1.0", "--error-status", "503"]);
    // Three attempts allowed, but retries may add only 20% to the load: no reserve
    // (`min_per_second: 0`) and a 60s window, so nothing expires during the test.
    let gateway = Gateway::start(&format!(
        "{BASE_CONFIG}upstreams:\n  users:\n    endpoints: [ {{ address: \"{}\" }} ]\n\
         routes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n\
         \x20   retry: {{ attempts: 3, on: [\"503\"], {FAST_BACKOFF}, \
         budget: {{ ratio: 20%, min_per_second: 0, window: 60s }} }}\n",
        upstream.address()
    ));
    let http = http_client();

    for request in 1..=REQUESTS {
        let answer = Answer::of(http.get(gateway.url("/api/orders"))).await;
        assert_eq!(answer.status, 503, "request {request}: {answer:?}");
        assert_eq!(answer.header(header::UPSTREAM), Some("users-a"));
    }

    // Withdrawals stay within floor(ratio x deposits): 20 retries for 100 requests, where
    // an unbudgeted policy would have made 200.
    let reached = upstream.requests().await;
    let load = reached as f64 / REQUESTS as f64;
    assert!(
        load > 1.0 && load <= 1.2 + 1e-9,
        "upstream attempts per request {load} ({reached} for {REQUESTS})"
    );
    assert_eq!(reached, REQUESTS + REQUESTS / 5);
    let metrics = gateway.metrics().await;
    assert_eq!(attempts(&metrics, "users", "http_5xx"), reached as f64);
    assert_eq!(
        metric_or_zero(
            &metrics,
            metric::HTTP_REQUESTS_TOTAL,
            &[(label::ROUTE, "users"), (label::STATUS_CLASS, "5xx")]
        ),
        REQUESTS as f64
    );
    assert_eq!(retries(&metrics, "users"), (REQUESTS / 5) as f64);
    // Every request ended on a refused withdrawal (none ran out of attempts first).
    assert_eq!(
        metric_or_zero(
            &metrics,
            metric::RETRY_BUDGET_EXHAUSTED_TOTAL,
            &[(label::ROUTE, "users")]
        ),
        REQUESTS as f64
    );
    let route = gateway.route("users").await;
    assert_eq!(
        route["retry"]["budget"],
        json!({"deposits": REQUESTS, "withdrawals": REQUESTS / 5, "remaining": 0}),
        "{route}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_per_try_timeout_moves_on_and_route_timeout_bounds_all_attempts() {
    const PER_TRY: Duration = Duration::from_millis(200);
    const ROUTE_TIMEOUT: Duration = Duration::from_millis(500);
    // `a` holds every request; `b` answers at once; `stuck` holds everything too.
    let a = chaos_upstream("users-a", &[]);
    let b = chaos_upstream("users-b", &[]);
    let stuck = chaos_upstream("users-c", &[]);
    let retry = format!("retry: {{ attempts: 3, on: [per_try_timeout], {FAST_BACKOFF} }}");
    let gateway = Gateway::start(&format!(
        "{BASE_CONFIG}upstreams:\n\
         \x20 pair:\n    endpoints: [ {{ address: \"{a}\" }}, {{ address: \"{b}\" }} ]\n    balancer: round_robin\n\
         \x20 stuck:\n    endpoints: [ {{ address: \"{c}\" }} ]\n\
         routes:\n\
         \x20 - name: pair\n    match: {{ path: /pair/** }}\n    upstream: pair\n\
         \x20   timeout: 2s\n    per_try_timeout: 200ms\n    {retry}\n\
         \x20 - name: stuck\n    match: {{ path: /stuck/** }}\n    upstream: stuck\n\
         \x20   timeout: 500ms\n    per_try_timeout: 200ms\n    {retry}\n",
        a = a.address(),
        b = b.address(),
        c = stuck.address(),
    ));
    a.set_behavior(json!({"hang": true})).await;
    stuck.set_behavior(json!({"hang": true})).await;
    let http = http_client();

    // Each request meets `a` at most once: its attempt gives up after per_try_timeout and
    // the retry goes to `b`.
    for request in 0..4 {
        let sent = std::time::Instant::now();
        let answer = Answer::of(http.get(gateway.url("/pair/orders"))).await;
        let took = sent.elapsed();
        assert_eq!(answer.status, 200, "request {request}: {answer:?}");
        assert_eq!(answer.header(header::UPSTREAM), Some("users-b"));
        assert!(
            took <= PER_TRY + Duration::from_millis(1500),
            "request {request} took {took:?}"
        );
    }
    let timed_out = a.requests_to("/pair/orders").await;
    assert!(
        (1..=4).contains(&timed_out),
        "{timed_out} attempts held by a"
    );
    assert_eq!(b.requests_to("/pair/orders").await, 4);
    let metrics = gateway.metrics().await;
    assert_eq!(attempts(&metrics, "pair", "timeout"), timed_out as f64);
    assert_eq!(
        metric_or_zero(
            &metrics,
            metric::RETRIES_TOTAL,
            &[(label::ROUTE, "pair"), (label::REASON, "per_try_timeout")]
        ),
        timed_out as f64
    );

    // Nothing answers: attempts of 200ms, 200ms and the ~100ms left, then 504 at the route
    // timeout. A retry whose backoff would end past the deadline is not made, so on a
    // stalled machine the third attempt may be skipped and the answer come up to one
    // backoff (5ms) before the deadline.
    let sent = std::time::Instant::now();
    let answer = Answer::of(http.get(gateway.url("/stuck/orders"))).await;
    let took = sent.elapsed();
    assert_eq!(answer.status, 504, "{answer:?}");
    assert_eq!(answer.json()["error"], "timeout", "{answer:?}");
    assert!(
        took >= ROUTE_TIMEOUT - Duration::from_millis(5)
            && took <= ROUTE_TIMEOUT + Duration::from_millis(1500),
        "gave up after {took:?} with a {ROUTE_TIMEOUT:?} route timeout"
    );
    let held = stuck.requests_to("/stuck/orders").await;
    assert!(
        (2..=3).contains(&held),
        "{held} attempts within the route timeout"
    );
    assert_eq!(
        attempts(&gateway.metrics().await, "stuck", "timeout"),
        held as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_each_attempt_is_a_child_span_and_the_request_span_counts_them() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let store = TraceStore::start();
    let upstream = chaos_upstream("users-a", &["--error-rate", "1.0", "--error-status", "503"]);
    let gateway = Gateway::start(&format!(
        "{BASE_CONFIG}telemetry: {{ otlp_endpoint: \"{}\", export_interval: 100ms }}\n\
         upstreams:\n  users:\n    endpoints: [ {{ address: \"{}\" }} ]\n\
         routes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n\
         \x20   retry: {{ attempts: 2, on: [\"503\"], {FAST_BACKOFF} }}\n",
        store.otlp_url(),
        upstream.address(),
    ));
    let http = http_client();

    let answer = Answer::of(
        http.get(gateway.url("/api/orders"))
            .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01")),
    )
    .await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.header(header::UPSTREAM), Some("users-a"));
    assert_eq!(upstream.requests().await, 2);

    gateway.flush_telemetry().await;
    let client = store.client();
    let id = TraceId::from_hex(TRACE).unwrap();
    let trace = wait_for("the retried request's trace", WAIT, || {
        let client = client.clone();
        async move {
            let trace = client.trace(id).await.ok().flatten()?;
            (trace.spans.len() >= 3).then_some(trace)
        }
    })
    .await;
    let server = trace
        .spans
        .iter()
        .find(|s| s.name == span::REQUEST)
        .expect("server span");
    let mut tries: Vec<_> = trace
        .spans
        .iter()
        .filter(|s| s.name == span::UPSTREAM_ATTEMPT)
        .collect();
    tries.sort_by_key(|s| s.start_unix_nanos);
    assert_eq!(tries.len(), 2, "{:#?}", trace.spans);
    for (number, attempt) in tries.iter().enumerate() {
        assert_eq!(attempt.parent_span_id, Some(server.span_id));
        assert_eq!(
            span_attribute(attempt, attr::ATTEMPT),
            Some((number + 1).to_string())
        );
        assert_eq!(
            span_attribute(attempt, attr::OUTCOME).as_deref(),
            Some("http_5xx")
        );
    }
    let retry = server
        .events
        .iter()
        .find(|e| e.name == "retry")
        .expect("retry event on the server span");
    let reason = retry
        .attributes
        .iter()
        .find(|(k, _)| k == attr::RETRY_REASON)
        .map(|(_, v)| attribute_text(v));
    assert_eq!(reason.as_deref(), Some("status"));
    assert_eq!(
        span_attribute(server, attr::ATTEMPTS).as_deref(),
        Some("2"),
        "gateway.attempts on the request span: {:?}",
        server.attributes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_post_with_idempotency_key_is_retried_but_not_a_body_too_large_to_replay() {
    const REQUESTS: u64 = 10;
    let a = chaos_upstream("users-a", &["--error-rate", "1.0", "--error-status", "503"]);
    let b = chaos_upstream("users-b", &[]);
    let retry = format!(
        "attempts: 2, on: [\"503\"], {FAST_BACKOFF}, budget: {{ ratio: 100%, min_per_second: 10 }}"
    );
    let gateway = Gateway::start(&format!(
        "{BASE_CONFIG}upstreams:\n\
         \x20 flaky:\n    endpoints: [ {{ address: \"{a}\" }}, {{ address: \"{b}\" }} ]\n    balancer: round_robin\n\
         routes:\n\
         \x20 - name: keyed\n    match: {{ path: /keyed/** }}\n    upstream: flaky\n\
         \x20   retry: {{ {retry}, idempotency_key: true }}\n\
         \x20 - name: bulky\n    match: {{ path: /bulky/** }}\n    upstream: flaky\n\
         \x20   retry: {{ {retry}, non_idempotent: true, max_replay_body_bytes: 16B }}\n",
        a = a.address(),
        b = b.address(),
    ));
    let http = http_client();
    let post = |path: &str, body: String| http.post(gateway.url(path)).body(body);

    // The client vouches with Idempotency-Key and the route honours it: retried.
    for request in 0..REQUESTS {
        let answer = Answer::of(
            post("/keyed/orders", "order".into()).header("idempotency-key", format!("k{request}")),
        )
        .await;
        assert_eq!(answer.status, 200, "keyed request {request}: {answer:?}");
    }
    let retried = a.requests_to("/keyed/orders").await;
    assert!(retried >= 1);
    assert_eq!(b.requests_to("/keyed/orders").await, REQUESTS);
    // Without the key the same route treats POST as unsafe to repeat.
    let mut failed = 0;
    for _ in 0..REQUESTS {
        let answer = Answer::of(post("/keyed/unkeyed", "order".into())).await;
        failed += u64::from(answer.status == 503);
    }
    assert_eq!(failed, REQUESTS / 2);
    assert_eq!(a.requests_to("/keyed/unkeyed").await, failed);

    // A body over max_replay_body_bytes is streamed once and never replayed, opt-in or not.
    let mut failed = 0;
    for request in 0..REQUESTS {
        let answer = Answer::of(post("/bulky/upload", "x".repeat(1024))).await;
        match answer.status {
            503 => failed += 1,
            200 => assert_eq!(answer.json()["body_bytes"], 1024, "{answer:?}"),
            _ => panic!("bulky request {request}: {answer:?}"),
        }
    }
    assert_eq!(failed, REQUESTS / 2);
    assert_eq!(a.requests_to("/bulky/upload").await, failed);
    assert_eq!(b.requests_to("/bulky/upload").await, REQUESTS - failed);
    let metrics = gateway.metrics().await;
    assert_eq!(retries(&metrics, "keyed"), retried as f64);
    assert_eq!(retries(&metrics, "bulky"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outlier_dead_endpoint_returns_after_its_ejection_and_is_ejected_again_for_longer() {
    const BASE: Duration = Duration::from_secs(1);
    let store = TraceStore::start();
    let mut a = chaos_upstream("users-a", &[]);
    let b = chaos_upstream("users-b", &[]);
    let gateway = Gateway::start(&format!(
        "{BASE_CONFIG}telemetry: {{ otlp_endpoint: \"{}\", export_interval: 100ms }}\n\
         upstreams:\n  users:\n\
         \x20   endpoints: [ {{ address: \"{}\" }}, {{ address: \"{}\" }} ]\n\
         \x20   balancer: round_robin\n\
         \x20   outlier_detection: {{ consecutive_failures: 2, base_ejection: 1s, max_ejection: 10s }}\n\
         routes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n\
         \x20   retry: {{ attempts: 2, on: [connect_failure, reset], {FAST_BACKOFF}, \
         budget: {{ ratio: 100%, min_per_second: 10 }} }}\n",
        store.otlp_url(),
        a.address(),
        b.address(),
    ));
    a.kill();
    let http = http_client();
    let labels = [(label::UPSTREAM, "users"), (label::ENDPOINT, a.address())];

    // Steady traffic until the dead endpoint has been ejected twice: once for base_ejection,
    // then, having come back and failed again, for twice as long.
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    let mut sent = 0u64;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        ticks.tick().await;
        let answer = Answer::of(http.get(gateway.url("/api/orders"))).await;
        assert_eq!(answer.status, 200, "request {sent}: {answer:?}");
        sent += 1;
        let metrics = gateway.metrics().await;
        if metric_or_zero(&metrics, metric::ENDPOINT_EJECTIONS_TOTAL, &labels) >= 2.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no second ejection");
    }
    assert_eq!(b.requests_to("/api/orders").await, sent);
    let users = gateway.upstream("users").await;
    let dead = users["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == a.address())
        .unwrap()["outlier"]
        .clone();
    assert_eq!(
        (
            &dead["ejected"],
            &dead["ejection_count"],
            &dead["ejections_total"]
        ),
        (&json!(true), &json!(2), &json!(2)),
        "{users}"
    );
    let remaining = e2e_tests::admin_duration(dead["remaining"].as_str().unwrap());
    assert!(remaining <= 2 * BASE && remaining > BASE / 2, "{dead}");

    gateway.flush_telemetry().await;
    let ejected = store
        .wait_for_spans(
            "gateway",
            span::ENDPOINT_EJECTED,
            &[(attr::ENDPOINT, a.address())],
            2,
        )
        .await;
    let returned = store
        .wait_for_spans(
            "gateway",
            span::ENDPOINT_RETURNED,
            &[(attr::ENDPOINT, a.address())],
            1,
        )
        .await;
    assert_eq!((ejected.len(), returned.len()), (2, 1));
    let text = |s, k| span_attribute(s, k).unwrap_or_default();
    assert_eq!(
        (
            text(&ejected[0], attr::EJECTION_MS),
            text(&ejected[0], attr::EJECTION_COUNT)
        ),
        ("1000".to_owned(), "1".to_owned())
    );
    assert_eq!(
        (
            text(&ejected[1], attr::EJECTION_MS),
            text(&ejected[1], attr::EJECTION_COUNT)
        ),
        ("2000".to_owned(), "2".to_owned())
    );
    assert_eq!(text(&returned[0], attr::REASON), "expired");
    // On the gateway's clock: back after base_ejection, ejected again after that.
    let away = returned[0]
        .start_time()
        .duration_since(ejected[0].start_time())
        .unwrap();
    assert!(
        away >= BASE - Duration::from_millis(250) && away <= BASE + Duration::from_secs(2),
        "first ejection lasted {away:?}"
    );
    assert!(ejected[1].start_time() >= returned[0].start_time());
}
