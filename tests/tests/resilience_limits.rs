//! Upstream concurrency limits end to end: requests held by a hanging `chaos upstream` fill
//! `max_requests` or the connection slots and the pending queue; the next request is refused
//! at once with the limit named; releasing the hang lets the held requests finish.
//! Judged by the client's answers, `/admin/upstreams` (`limits`), what reached the upstream
//! and the metrics.

use e2e_tests::{
    Answer, BASE_CONFIG, ChaosUpstream, Gateway, WAIT, chaos_upstream, http_client, metric_or_zero,
    wait_for,
};
use observability::names::{header, label, metric, reject};
use serde_json::{Value, json};

fn config(endpoint: &str, limits: &str) -> String {
    format!(
        "{BASE_CONFIG}upstreams:\n  users:\n    endpoints: [ {{ address: \"{endpoint}\" }} ]\n\
         \x20   limits: {limits}\n\
         routes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n"
    )
}

/// Starts `n` GETs of `path` in the background.
fn hold(gateway: &Gateway, path: &str, n: usize) -> Vec<tokio::task::JoinHandle<Answer>> {
    let http = http_client();
    (0..n)
        .map(|_| tokio::spawn(Answer::of(http.get(gateway.url(path)))))
        .collect()
}

/// Waits until the upstream holds `requests` requests to `path` and the gateway's limits show
/// `in_flight` and `pending`; returns the limits.
async fn wait_held(
    gateway: &Gateway,
    upstream: &ChaosUpstream,
    path: &str,
    requests: u64,
    in_flight: u64,
    pending: u64,
) -> Value {
    wait_for(
        &format!("{requests} held at the upstream, {in_flight} in flight, {pending} pending"),
        WAIT,
        || async move {
            let limits = gateway.upstream("users").await["limits"].clone();
            let held = upstream.requests_to(path).await;
            (held == requests && limits["in_flight"] == in_flight && limits["pending"] == pending)
                .then_some(limits)
        },
    )
    .await
}

fn assert_limited(answer: &Answer, reason: &str) {
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(
        answer.header(header::REJECT_REASON),
        Some(reason),
        "{answer:?}"
    );
    assert_eq!(answer.header(header::UPSTREAM), None, "{answer:?}");
    assert_eq!(answer.json()["error"], "overloaded", "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_max_requests_refuses_the_third_concurrent_request_and_held_ones_finish() {
    let upstream = chaos_upstream("users-a", &[]);
    let gateway = Gateway::start(&config(
        upstream.address(),
        "{ max_requests: 2, max_pending: 0, max_connections: 2 }",
    ));
    upstream.set_behavior(json!({"hang": true})).await;

    let held = hold(&gateway, "/api/slow", 2);
    let limits = wait_held(&gateway, &upstream, "/api/slow", 2, 2, 0).await;
    assert_eq!(
        limits,
        json!({"max_connections": 2, "max_pending": 0, "max_requests": 2, "in_flight": 2, "pending": 0})
    );

    let http = http_client();
    assert_limited(
        &Answer::of(http.get(gateway.url("/api/third"))).await,
        reject::MAX_REQUESTS,
    );
    assert_eq!(upstream.requests_to("/api/third").await, 0);

    // Released, the held requests complete normally and free their slots.
    upstream.set_behavior(json!({"hang": false})).await;
    for request in held {
        let answer = request.await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.header(header::UPSTREAM), Some("users-a"));
    }
    let limits = gateway.upstream("users").await["limits"].clone();
    assert_eq!(
        (&limits["in_flight"], &limits["pending"]),
        (&json!(0), &json!(0))
    );
    let after = Answer::of(http.get(gateway.url("/api/third"))).await;
    assert_eq!(after.status, 200, "{after:?}");
    assert_eq!(upstream.requests().await, 3);
    let metrics = gateway.metrics().await;
    let refused = |reason| {
        metric_or_zero(
            &metrics,
            metric::UPSTREAM_REJECTED_TOTAL,
            &[(label::UPSTREAM, "users"), (label::REASON, reason)],
        )
    };
    assert_eq!(refused(reject::MAX_REQUESTS), 1.0);
    assert_eq!(refused(reject::MAX_PENDING), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_busy_connection_queues_up_to_max_pending_then_refuses() {
    let upstream = chaos_upstream("users-a", &[]);
    let gateway = Gateway::start(&config(
        upstream.address(),
        "{ max_requests: 10, max_pending: 1, max_connections: 1 }",
    ));
    upstream.set_behavior(json!({"hang": true})).await;

    // The first request holds the only connection slot; the second waits in the queue,
    // without reaching the upstream.
    let mut held = hold(&gateway, "/api/first", 1);
    wait_held(&gateway, &upstream, "/api/first", 1, 1, 0).await;
    held.extend(hold(&gateway, "/api/second", 1));
    wait_held(&gateway, &upstream, "/api/second", 0, 2, 1).await;

    let http = http_client();
    assert_limited(
        &Answer::of(http.get(gateway.url("/api/third"))).await,
        reject::MAX_PENDING,
    );

    upstream.set_behavior(json!({"hang": false})).await;
    for request in held {
        let answer = request.await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    assert_eq!(upstream.requests_to("/api/first").await, 1);
    assert_eq!(upstream.requests_to("/api/second").await, 1);
    assert_eq!(upstream.requests_to("/api/third").await, 0);
    let limits = gateway.upstream("users").await["limits"].clone();
    assert_eq!(
        (&limits["in_flight"], &limits["pending"]),
        (&json!(0), &json!(0))
    );
    let metrics = gateway.metrics().await;
    assert_eq!(
        metric_or_zero(
            &metrics,
            metric::UPSTREAM_REJECTED_TOTAL,
            &[
                (label::UPSTREAM, "users"),
                (label::REASON, reject::MAX_PENDING)
            ]
        ),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_client_giving_up_on_a_held_request_frees_its_slot_and_in_flight_count() {
    let upstream = chaos_upstream("users-a", &[]);
    let gateway = Gateway::start(&config(
        upstream.address(),
        "{ max_requests: 1, max_pending: 0, max_connections: 1 }",
    ));
    upstream.set_behavior(json!({"hang": true})).await;

    // The client gives up while the upstream holds its request.
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(500))
        .no_proxy()
        .build()
        .unwrap();
    let gave_up = impatient.get(gateway.url("/api/slow")).send().await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    assert_eq!(upstream.requests_to("/api/slow").await, 1);

    // Its slot is free again, and the gateway no longer counts it in flight.
    let gw = &gateway;
    wait_for(
        "the abandoned request's slot released",
        WAIT,
        move || async move {
            let limits = gw.upstream("users").await["limits"].clone();
            (limits["in_flight"] == 0).then_some(())
        },
    )
    .await;
    upstream.set_behavior(json!({"hang": false})).await;
    let http = http_client();
    let next = Answer::of(http.get(gateway.url("/api/next"))).await;
    assert_eq!(next.status, 200, "{next:?}");
    let metrics = gateway.metrics().await;
    assert_eq!(
        metric_or_zero(
            &metrics,
            metric::HTTP_REQUESTS_IN_FLIGHT,
            &[(label::ROUTE, "users")]
        ),
        0.0,
        "gateway_http_requests_in_flight still counts the abandoned request"
    );
}
