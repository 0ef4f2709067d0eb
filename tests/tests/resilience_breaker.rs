//! Circuit breakers end to end: a real gateway in front of real `chaos upstream` processes,
//! judged by what the client gets, what reached the upstream (`/_chaos/stats`), the admin API,
//! the metrics, and the `breaker.transition` / `config.reload` evidence spans in the embedded
//! trace store.
//!
//! Requests are sent one at a time, so every count below is exact: the breaker sees the calls
//! in the order they were sent. Time bounds are two-sided and measured on the client's clock
//! around the events they bound (a state seen after a deadline is no proof of lateness, only
//! of having looked late, so upper bounds are generous).

use std::time::{Duration, Instant};

use e2e_tests::{
    Answer, BASE_CONFIG, Gateway, TraceStore, WAIT, admin_duration, chaos_upstream, http_client,
    metric_or_zero, span_attribute, wait_for,
};
use observability::client::MetricSet;
use observability::names::{attr, header, label, metric, reject, span};
use serde_json::json;

const UPSTREAM: &str = "users";
const SERVICE: &str = "gateway";

/// One upstream `users` (endpoint `endpoint`, then the `upstream_settings` lines) and one
/// route `users` for `/api/**` (then the `route_settings` lines and `extra_routes`).
fn config(
    otlp: Option<&str>,
    endpoint: &str,
    upstream_settings: &str,
    extra_routes: &str,
) -> String {
    let telemetry = otlp
        .map(|url| format!("telemetry: {{ otlp_endpoint: \"{url}\", export_interval: 100ms }}\n"))
        .unwrap_or_default();
    format!(
        "{BASE_CONFIG}{telemetry}\
         upstreams:\n  users:\n    endpoints: [ {{ address: \"{endpoint}\" }} ]\n{upstream_settings}\
         routes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n{extra_routes}"
    )
}

/// `gateway_breaker_state` of the upstream's own breaker (route label empty) or a route's.
fn breaker_gauge(metrics: &MetricSet, route: &str) -> f64 {
    metrics
        .value(
            metric::BREAKER_STATE,
            &[(label::UPSTREAM, UPSTREAM), (label::ROUTE, route)],
        )
        .unwrap_or_else(|e| panic!("{e}"))
}

fn transitions(metrics: &MetricSet, route: &str, to: &str) -> f64 {
    metric_or_zero(
        metrics,
        metric::BREAKER_TRANSITIONS_TOTAL,
        &[
            (label::UPSTREAM, UPSTREAM),
            (label::ROUTE, route),
            (label::TO, to),
        ],
    )
}

fn rejected(metrics: &MetricSet, reason: &str) -> f64 {
    metric_or_zero(
        metrics,
        metric::UPSTREAM_REJECTED_TOTAL,
        &[(label::UPSTREAM, UPSTREAM), (label::REASON, reason)],
    )
}

fn number(span: &observability::client::Span, key: &str) -> f64 {
    span_attribute(span, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {key} on {span:#?}"))
}

/// An answer the upstream gave (its injected 503), not one the gateway made up.
fn assert_from_upstream(answer: &Answer, status: u16, what: &str) {
    assert_eq!(answer.status, status, "{what}: {answer:?}");
    assert_eq!(
        answer.header(header::REJECT_REASON),
        None,
        "{what}: {answer:?}"
    );
    assert!(
        answer.header(header::UPSTREAM).is_some(),
        "{what}: {answer:?}"
    );
}

/// A 503 the breaker answered without calling the upstream.
fn assert_breaker_rejected(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 503, "{what}: {answer:?}");
    assert_eq!(
        answer.header(header::REJECT_REASON),
        Some(reject::BREAKER_OPEN),
        "{what}: {answer:?}"
    );
    assert_eq!(answer.header(header::UPSTREAM), None, "{what}: {answer:?}");
    assert_eq!(answer.json()["error"], "breaker_open", "{what}: {answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_upstream_failing_opens_rejects_without_calling_then_half_opens_and_closes() {
    const OPEN_FOR: Duration = Duration::from_secs(3);
    let store = TraceStore::start();
    let upstream = chaos_upstream("users-a", &[]);
    let gateway = Gateway::start(&config(
        Some(&store.otlp_url()),
        upstream.address(),
        "    circuit_breaker: { window: { calls: 10 }, minimum_calls: 10, failure_rate: 50%, \
         open_for: 3s, half_open_calls: 2 }\n",
        "",
    ));
    let http = http_client();
    let get = || Answer::of(http.get(gateway.url("/api/orders")));

    // Healthy: five successes fill half the window.
    for _ in 0..5 {
        assert_eq!(get().await.status, 200);
    }
    let breaker = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        (&breaker["state"], &breaker["calls"], &breaker["failed"]),
        (&json!("closed"), &json!(5), &json!(0))
    );

    // Failures 1 to 4 leave the window under minimum_calls (10), so no verdict; the fifth
    // makes 10 calls at a 50% failure rate, which is at the threshold: open.
    upstream
        .set_behavior(json!({"error_rate": 1.0, "error_status": 503}))
        .await;
    let mut trip = None;
    for failure in 1..=5 {
        let sent = Instant::now();
        let answer = get().await;
        let answered = Instant::now();
        assert_from_upstream(&answer, 503, &format!("failure {failure}"));
        let state = gateway.breaker_state(UPSTREAM).await;
        if failure < 5 {
            assert_eq!(state, "closed", "after failure {failure}");
        } else {
            assert_eq!(state, "open", "after failure {failure}");
            trip = Some((sent, answered));
        }
    }
    let (trip_sent, trip_answered) = trip.unwrap();
    let breaker = gateway.breaker(UPSTREAM).await;
    assert_eq!(breaker["failure_rate"], 0.5, "{breaker}");
    assert_eq!(
        (&breaker["calls"], &breaker["failed"]),
        (&json!(10), &json!(5))
    );
    let until = admin_duration(breaker["until_half_open"].as_str().unwrap());
    assert!(until <= OPEN_FOR && until > Duration::ZERO, "{breaker}");
    let reached = upstream.requests().await;
    assert_eq!(reached, 10);

    // Open: answered at once, never sent. Sent only in the first third of the open wait, so
    // no request can be the first half-open probe even on a slow machine.
    let mut refused = 0u64;
    while refused < 20 && trip_sent.elapsed() < OPEN_FOR / 3 {
        let answer = get().await;
        assert_breaker_rejected(&answer, "while open");
        let retry_after: u64 = answer.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=3).contains(&retry_after), "{answer:?}");
        refused += 1;
    }
    assert!(
        refused > 0,
        "no request was sent while the breaker was open"
    );
    assert_eq!(
        upstream.requests().await,
        reached,
        "the upstream was called while the breaker was open"
    );
    assert_eq!(gateway.breaker(UPSTREAM).await["not_permitted"], refused);
    let metrics = gateway.metrics().await;
    assert_eq!(breaker_gauge(&metrics, ""), 1.0);
    assert_eq!(transitions(&metrics, "", "open"), 1.0);
    assert_eq!(rejected(&metrics, reject::BREAKER_OPEN), refused as f64);

    // The upstream recovers; the breaker probes once `open_for` has passed, on its own.
    upstream.set_behavior(json!({"error_rate": 0.0})).await;
    let gw = &gateway;
    let half_open_seen = wait_for("breaker half-open", WAIT, move || async move {
        (gw.breaker_state(UPSTREAM).await == "half_open").then(Instant::now)
    })
    .await;
    let since_trip_sent = half_open_seen - trip_sent;
    let since_trip_answered = half_open_seen - trip_answered;
    assert!(
        since_trip_sent >= OPEN_FOR,
        "half-open {since_trip_sent:?} after the tripping request was sent, before open_for {OPEN_FOR:?}"
    );
    assert!(
        since_trip_answered <= OPEN_FOR + Duration::from_secs(2),
        "half-open only {since_trip_answered:?} after the trip"
    );
    let probing = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        probing["half_open"],
        json!({"permitted": 2, "in_flight": 0, "completed": 0, "time_left": null}),
        "{probing}"
    );

    // Two successful probes close it.
    assert_eq!(get().await.status, 200);
    let probing = gateway.breaker(UPSTREAM).await;
    assert_eq!(probing["state"], "half_open");
    assert_eq!(probing["half_open"]["completed"], 1);
    assert_eq!(get().await.status, 200);
    let closed = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        (&closed["state"], &closed["calls"]),
        (&json!("closed"), &json!(0))
    );
    assert_eq!(upstream.requests().await, reached + 2);
    assert_eq!(get().await.status, 200);
    let metrics = gateway.metrics().await;
    assert_eq!(breaker_gauge(&metrics, ""), 0.0);
    for to in ["open", "half_open", "closed"] {
        assert_eq!(transitions(&metrics, "", to), 1.0, "transitions to {to}");
    }

    // Each transition is evidence in the trace store.
    gateway.flush_telemetry().await;
    let opened = store
        .wait_for_spans(
            SERVICE,
            span::BREAKER_TRANSITION,
            &[(attr::BREAKER_TO, "open")],
            1,
        )
        .await;
    let half_opened = store
        .wait_for_spans(
            SERVICE,
            span::BREAKER_TRANSITION,
            &[(attr::BREAKER_TO, "half_open")],
            1,
        )
        .await;
    let closed = store
        .wait_for_spans(
            SERVICE,
            span::BREAKER_TRANSITION,
            &[(attr::BREAKER_TO, "closed")],
            1,
        )
        .await;
    assert_eq!((opened.len(), half_opened.len(), closed.len()), (1, 1, 1));
    let (opened, half_opened, closed) = (&opened[0], &half_opened[0], &closed[0]);
    for (span, from, cause) in [
        (opened, "closed", "failure_rate"),
        (half_opened, "open", "wait_elapsed"),
        (closed, "half_open", "probes_passed"),
    ] {
        assert_eq!(
            span_attribute(span, attr::UPSTREAM).as_deref(),
            Some(UPSTREAM)
        );
        assert_eq!(
            span_attribute(span, attr::BREAKER_FROM).as_deref(),
            Some(from)
        );
        assert_eq!(
            span_attribute(span, attr::BREAKER_CAUSE).as_deref(),
            Some(cause)
        );
        assert_eq!(
            span_attribute(span, attr::ROUTE),
            None,
            "an upstream breaker"
        );
    }
    assert_eq!(number(opened, attr::BREAKER_CALLS), 10.0);
    assert_eq!(number(opened, attr::BREAKER_FAILURE_RATE), 0.5);
    assert_eq!(number(closed, attr::BREAKER_CALLS), 2.0);
    assert_eq!(number(closed, attr::BREAKER_FAILURE_RATE), 0.0);
    // On the gateway's own clock: the open wait lasted open_for (the open span is stamped
    // just after the trip, the half-open one by the timer at the deadline).
    let waited = half_opened
        .start_time()
        .duration_since(opened.start_time())
        .unwrap();
    assert!(
        waited >= OPEN_FOR - Duration::from_millis(500)
            && waited <= OPEN_FOR + Duration::from_secs(2),
        "open for {waited:?} by the spans"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_slow_calls_over_rate_open_it_though_every_call_succeeds() {
    let store = TraceStore::start();
    let upstream = chaos_upstream("users-a", &["--latency", "300ms"]);
    let gateway = Gateway::start(&config(
        Some(&store.otlp_url()),
        upstream.address(),
        "    circuit_breaker: { window: { calls: 4 }, minimum_calls: 4, \
         slow_call: { over: 100ms, rate: 50% }, open_for: 30s }\n",
        "",
    ));
    let http = http_client();
    let get = || Answer::of(http.get(gateway.url("/api/orders")));

    for call in 1..=4 {
        let sent = Instant::now();
        let answer = get().await;
        let took = sent.elapsed();
        assert_from_upstream(&answer, 200, &format!("slow call {call}"));
        assert!(
            took >= Duration::from_millis(300),
            "call {call} took {took:?}"
        );
        let expected = if call < 4 { "closed" } else { "open" };
        assert_eq!(
            gateway.breaker_state(UPSTREAM).await,
            expected,
            "after call {call}"
        );
    }
    let breaker = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        (&breaker["calls"], &breaker["failed"], &breaker["slow"]),
        (&json!(4), &json!(0), &json!(4)),
        "{breaker}"
    );
    assert_eq!(breaker["slow_call_rate"], 1.0);
    assert_eq!(breaker["failure_rate"], 0.0);

    assert_breaker_rejected(&get().await, "after the slow calls");
    assert_eq!(upstream.requests().await, 4);
    let metrics = gateway.metrics().await;
    assert_eq!(breaker_gauge(&metrics, ""), 1.0);
    assert_eq!(rejected(&metrics, reject::BREAKER_OPEN), 1.0);

    gateway.flush_telemetry().await;
    let opened = store
        .wait_for_spans(
            SERVICE,
            span::BREAKER_TRANSITION,
            &[(attr::BREAKER_TO, "open")],
            1,
        )
        .await;
    assert_eq!(opened.len(), 1);
    assert_eq!(
        span_attribute(&opened[0], attr::BREAKER_CAUSE).as_deref(),
        Some("slow_call_rate")
    );
    assert_eq!(number(&opened[0], attr::BREAKER_SLOW_CALL_RATE), 1.0);
    assert_eq!(number(&opened[0], attr::BREAKER_FAILURE_RATE), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_route_override_opens_for_its_route_only() {
    let upstream = chaos_upstream("users-a", &["--error-rate", "1.0", "--error-status", "503"]);
    let gateway = Gateway::start(&config(
        None,
        upstream.address(),
        "    circuit_breaker: { window: { calls: 4 }, minimum_calls: 4, open_for: 30s }\n",
        "  - name: guarded\n    match: { path: /guarded/** }\n    upstream: users\n\
         \x20   circuit_breaker: { window: { calls: 2 }, minimum_calls: 2, open_for: 30s }\n",
    ));
    let http = http_client();

    for call in 1..=2 {
        let answer = Answer::of(http.get(gateway.url("/guarded/x"))).await;
        assert_from_upstream(&answer, 503, &format!("guarded call {call}"));
    }
    assert_breaker_rejected(
        &Answer::of(http.get(gateway.url("/guarded/x"))).await,
        "guarded route after two failures",
    );
    // The other route shares the upstream's breaker, which saw none of those calls.
    let answer = Answer::of(http.get(gateway.url("/api/x"))).await;
    assert_from_upstream(&answer, 503, "route on the upstream's breaker");

    let guarded = gateway.route("guarded").await;
    assert_eq!(guarded["breaker"]["state"], "open", "{guarded}");
    assert_eq!(guarded["breaker"]["not_permitted"], 1);
    assert_eq!(gateway.route("users").await["breaker"], json!(null));
    let own = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        (&own["state"], &own["calls"], &own["failed"]),
        (&json!("closed"), &json!(1), &json!(1))
    );
    assert_eq!(upstream.requests_to("/guarded/x").await, 2);
    assert_eq!(upstream.requests_to("/api/x").await, 1);
    let metrics = gateway.metrics().await;
    assert_eq!(breaker_gauge(&metrics, "guarded"), 1.0);
    assert_eq!(breaker_gauge(&metrics, ""), 0.0);
    assert_eq!(transitions(&metrics, "guarded", "open"), 1.0);
    assert_eq!(transitions(&metrics, "", "open"), 0.0);

    // A route's own breaker is controlled through the route.
    let reset = Answer::of(
        http.post(gateway.admin_url("/admin/routes/guarded/breaker"))
            .json(&json!({"state": "automatic"})),
    )
    .await;
    assert_eq!(reset.status, 200, "{reset:?}");
    assert_eq!(reset.json()["breaker"]["state"], "closed");
    let answer = Answer::of(http.get(gateway.url("/guarded/x"))).await;
    assert_from_upstream(&answer, 503, "guarded route after reset");
    assert_eq!(upstream.requests_to("/guarded/x").await, 3);
    let shared = Answer::of(
        http.post(gateway.admin_url("/admin/routes/users/breaker"))
            .json(&json!({"state": "automatic"})),
    )
    .await;
    assert_eq!(
        shared.status, 409,
        "a route without its own breaker: {shared:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_state_survives_reload_with_same_settings_and_restarts_closed_when_they_change() {
    let store = TraceStore::start();
    let otlp = store.otlp_url();
    let upstream = chaos_upstream("users-a", &["--error-rate", "1.0", "--error-status", "503"]);
    let breaker = "{ window: { calls: 4 }, minimum_calls: 4, open_for: 30s }";
    let version = |connect_timeout: &str, breaker: &str| {
        config(
            Some(&otlp),
            upstream.address(),
            &format!("    connect_timeout: {connect_timeout}\n    circuit_breaker: {breaker}\n"),
            "",
        )
    };
    let gateway = Gateway::start(&version("2s", breaker));
    let http = http_client();
    let get = || Answer::of(http.get(gateway.url("/api/orders")));

    for call in 1..=4 {
        assert_from_upstream(&get().await, 503, &format!("call {call}"));
    }
    assert_eq!(gateway.breaker_state(UPSTREAM).await, "open");
    assert_breaker_rejected(&get().await, "before any reload");

    // Version 2 changes the upstream (connect timeout) but not its breaker settings: the
    // breaker, its open state and its rejection count carry over.
    let applied = gateway.reload(&version("3s", breaker)).await;
    assert_eq!(applied, json!({"status": "applied", "version": 2}));
    let running = gateway.admin_json("/admin/config").await;
    assert_eq!(
        running["upstreams"][0]["connect_timeout"], "3s",
        "{running}"
    );
    let kept = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        (&kept["state"], &kept["not_permitted"], &kept["calls"]),
        (&json!("open"), &json!(1), &json!(4)),
        "{kept}"
    );
    assert_breaker_rejected(&get().await, "after a reload keeping the breaker");
    assert_eq!(upstream.requests().await, 4);
    assert_eq!(breaker_gauge(&gateway.metrics().await, ""), 1.0);

    // Version 3 changes the breaker settings: a fresh breaker, closed with an empty window,
    // so the next request reaches the upstream.
    let applied = gateway
        .reload(&version(
            "3s",
            "{ window: { calls: 4 }, minimum_calls: 4, open_for: 20s }",
        ))
        .await;
    assert_eq!(applied, json!({"status": "applied", "version": 3}));
    let fresh = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        (&fresh["state"], &fresh["not_permitted"], &fresh["calls"]),
        (&json!("closed"), &json!(0), &json!(0)),
        "{fresh}"
    );
    assert_from_upstream(&get().await, 503, "after a reload changing the breaker");
    assert_eq!(upstream.requests().await, 5);
    assert_eq!(gateway.breaker(UPSTREAM).await["calls"], 1);
    let metrics = gateway.metrics().await;
    assert_eq!(breaker_gauge(&metrics, ""), 0.0);
    assert_eq!(
        metric_or_zero(
            &metrics,
            metric::CONFIG_RELOADS_TOTAL,
            &[(label::OUTCOME, "applied")]
        ),
        2.0
    );

    // The reload evidence names the breakers that started fresh.
    gateway.flush_telemetry().await;
    for (version, fresh) in [("2", ""), ("3", UPSTREAM)] {
        let reloads = store
            .wait_for_spans(
                SERVICE,
                span::CONFIG_RELOAD,
                &[(attr::CONFIG_VERSION, version)],
                1,
            )
            .await;
        assert_eq!(reloads.len(), 1, "version {version}");
        let reload = &reloads[0];
        assert_eq!(
            span_attribute(reload, attr::RELOAD_OUTCOME).as_deref(),
            Some("applied")
        );
        assert_eq!(
            span_attribute(reload, attr::RELOAD_CHANGED).as_deref(),
            Some(UPSTREAM),
            "version {version}"
        );
        assert_eq!(
            span_attribute(reload, attr::RELOAD_FRESH_BREAKERS).as_deref(),
            Some(fresh),
            "version {version}: {reload:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_admin_control_forces_open_disables_measures_and_returns_to_automatic() {
    let upstream = chaos_upstream("users-a", &[]);
    let gateway = Gateway::start(&config(
        None,
        upstream.address(),
        "    circuit_breaker: { window: { calls: 4 }, minimum_calls: 4, open_for: 30s }\n",
        "",
    ));
    let http = http_client();
    let get = || Answer::of(http.get(gateway.url("/api/orders")));
    let gauge = || async { breaker_gauge(&gateway.metrics().await, "") };

    // forced_open: refused at the gateway, healthy upstream or not.
    let forced = gateway.set_breaker(UPSTREAM, "forced_open").await;
    assert_eq!(forced["changed"], true);
    assert_eq!(forced["breaker"]["state"], "forced_open");
    for _ in 0..3 {
        let answer = get().await;
        assert_breaker_rejected(&answer, "forced open");
        assert_eq!(
            answer.header("retry-after"),
            None,
            "no known end: {answer:?}"
        );
    }
    assert_eq!(upstream.requests().await, 0);
    assert_eq!(gateway.breaker(UPSTREAM).await["not_permitted"], 3);
    assert_eq!(gauge().await, 3.0);

    // disabled: every call passes, failures included, and nothing is recorded.
    upstream
        .set_behavior(json!({"error_rate": 1.0, "error_status": 503}))
        .await;
    assert_eq!(
        gateway.set_breaker(UPSTREAM, "disabled").await["breaker"]["state"],
        "disabled"
    );
    for call in 1..=6 {
        assert_from_upstream(&get().await, 503, &format!("disabled, call {call}"));
    }
    assert_eq!(upstream.requests().await, 6);
    let disabled = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        (&disabled["state"], &disabled["calls"]),
        (&json!("disabled"), &json!(0))
    );
    assert_eq!(gauge().await, 4.0);

    // metrics_only: every call passes and is recorded, but it never trips.
    gateway.set_breaker(UPSTREAM, "metrics_only").await;
    for call in 1..=6 {
        assert_from_upstream(&get().await, 503, &format!("metrics only, call {call}"));
    }
    assert_eq!(upstream.requests().await, 12);
    let measured = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        (&measured["state"], &measured["calls"], &measured["failed"]),
        (&json!("metrics_only"), &json!(4), &json!(4)),
        "{measured}"
    );
    assert_eq!(measured["failure_rate"], 1.0);
    assert_eq!(gauge().await, 5.0);

    // An invalid request changes nothing.
    let bad = Answer::of(
        http.post(gateway.admin_url("/admin/upstreams/users/breaker"))
            .json(&json!({"state": "sideways"})),
    )
    .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    let unknown = Answer::of(
        http.post(gateway.admin_url("/admin/upstreams/nobody/breaker"))
            .json(&json!({"state": "automatic"})),
    )
    .await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(gateway.breaker_state(UPSTREAM).await, "metrics_only");

    // automatic: closed with an empty window, deciding on its own again.
    upstream.set_behavior(json!({"error_rate": 0.0})).await;
    let automatic = gateway.set_breaker(UPSTREAM, "automatic").await;
    assert_eq!(automatic["changed"], true);
    let breaker = &automatic["breaker"];
    assert_eq!(
        (
            &breaker["state"],
            &breaker["calls"],
            &breaker["not_permitted"]
        ),
        (&json!("closed"), &json!(0), &json!(0))
    );
    assert_eq!(get().await.status, 200);
    assert_eq!(gateway.breaker(UPSTREAM).await["calls"], 1);
    assert_eq!(upstream.requests().await, 13);
    let metrics = gateway.metrics().await;
    assert_eq!(breaker_gauge(&metrics, ""), 0.0);
    for to in ["forced_open", "disabled", "metrics_only", "closed"] {
        assert_eq!(transitions(&metrics, "", to), 1.0, "transitions to {to}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_replaced_by_reload_late_outcomes_leave_the_live_breaker_gauge_alone() {
    // Two requests are in flight (held by the upstream) when a reload replaces the breaker;
    // they then fail. Their outcomes belong to the replaced breaker, which trips, but the
    // live breaker is fresh and closed: the state gauge must keep saying so, as
    // `/admin/upstreams` does.
    let upstream = chaos_upstream("users-a", &[]);
    let version = |open_for: &str| {
        config(
            None,
            upstream.address(),
            &format!(
                "    circuit_breaker: {{ window: {{ calls: 2 }}, minimum_calls: 2, open_for: {open_for} }}\n"
            ),
            "",
        )
    };
    let gateway = Gateway::start(&version("30s"));
    upstream.set_behavior(json!({"hang": true})).await;
    let http = http_client();
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(Answer::of(http.get(gateway.url("/api/orders")))))
        .collect();
    let (gw, up) = (&gateway, &upstream);
    wait_for(
        "two requests held at the upstream",
        WAIT,
        move || async move {
            let held = up.requests().await == 2;
            let in_flight = gw.upstream(UPSTREAM).await["limits"]["in_flight"] == 2;
            (held && in_flight).then_some(())
        },
    )
    .await;

    let applied = gateway.reload(&version("20s")).await;
    assert_eq!(applied["version"], 2);
    upstream
        .set_behavior(json!({"hang": false, "error_rate": 1.0, "error_status": 503}))
        .await;
    for request in held {
        assert_from_upstream(&request.await.unwrap(), 503, "held request");
    }

    let live = gateway.breaker(UPSTREAM).await;
    assert_eq!(
        (&live["state"], &live["calls"]),
        (&json!("closed"), &json!(0)),
        "{live}"
    );
    let metrics = gateway.metrics().await;
    assert_eq!(
        breaker_gauge(&metrics, ""),
        0.0,
        "gateway_breaker_state disagrees with /admin/upstreams (closed)"
    );
    // The live breaker still decides: the next request reaches the upstream.
    assert_from_upstream(
        &Answer::of(http.get(gateway.url("/api/orders"))).await,
        503,
        "next",
    );
    assert_eq!(upstream.requests().await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_half_open_probe_not_done_in_time_reopens_and_its_late_outcome_is_dropped() {
    const MAX_WAIT: Duration = Duration::from_millis(500);
    let store = TraceStore::start();
    let upstream = chaos_upstream("users-a", &["--error-rate", "1.0", "--error-status", "503"]);
    let gateway = Gateway::start(&config(
        Some(&store.otlp_url()),
        upstream.address(),
        "    circuit_breaker: { window: { calls: 2 }, minimum_calls: 2, open_for: 1s, \
         half_open_calls: 1, half_open_max_wait: 500ms }\n",
        "",
    ));
    let http = http_client();
    let get = || Answer::of(http.get(gateway.url("/api/orders")));
    let gw = &gateway;
    let opened = move |times: f64| async move {
        (transitions(&gw.metrics().await, "", "open") == times).then_some(())
    };

    for call in 1..=2 {
        assert_from_upstream(&get().await, 503, &format!("call {call}"));
    }
    wait_for("first open", WAIT, move || opened(1.0)).await;
    // The upstream now holds every request: the one probe cannot complete.
    upstream
        .set_behavior(json!({"hang": true, "error_rate": 0.0}))
        .await;
    wait_for("half-open", WAIT, move || async move {
        (gw.breaker_state(UPSTREAM).await == "half_open").then_some(())
    })
    .await;
    let probe_sent = Instant::now();
    let probe = tokio::spawn(Answer::of(http.get(gateway.url("/api/probe"))));
    let (up, gw) = (&upstream, &gateway);
    let placed = wait_for("probe held at the upstream", WAIT, move || async move {
        let breaker = gw.breaker(UPSTREAM).await;
        let held = up.requests_to("/api/probe").await == 1;
        (held && breaker["half_open"]["in_flight"] == 1).then(|| (Instant::now(), breaker))
    })
    .await;
    let (placed_seen, breaker) = placed;
    let time_left = admin_duration(breaker["half_open"]["time_left"].as_str().unwrap());
    assert!(time_left <= MAX_WAIT, "{breaker}");
    // Only one probe at a time.
    let full = get().await;
    assert_breaker_rejected(&full, "second call while half-open");
    assert_eq!(full.header("retry-after"), None);

    // The probe did not complete within half_open_max_wait: open again.
    wait_for("re-opened by the half-open time box", WAIT, move || {
        opened(2.0)
    })
    .await;
    let reopened_seen = Instant::now();
    assert!(
        reopened_seen - probe_sent >= MAX_WAIT,
        "re-opened {:?} after the probe was sent",
        reopened_seen - probe_sent
    );
    assert!(
        reopened_seen - placed_seen <= MAX_WAIT + Duration::from_secs(2),
        "re-opened only {:?} after the probe was placed",
        reopened_seen - placed_seen
    );

    // The probe finally succeeds, but it belongs to the previous half-open round: it must
    // not close the breaker.
    upstream.set_behavior(json!({"hang": false})).await;
    let late = probe.await.unwrap();
    assert_eq!(late.status, 200, "{late:?}");
    let state = gateway.breaker_state(UPSTREAM).await;
    assert!(state == "open" || state == "half_open", "{state}");
    assert_eq!(transitions(&gateway.metrics().await, "", "closed"), 0.0);

    // A probe of the new round closes it.
    wait_for("half-open again", WAIT, move || async move {
        (gw.breaker_state(UPSTREAM).await == "half_open").then_some(())
    })
    .await;
    assert_eq!(gateway.breaker(UPSTREAM).await["half_open"]["completed"], 0);
    assert_eq!(get().await.status, 200);
    assert_eq!(gateway.breaker_state(UPSTREAM).await, "closed");
    let metrics = gateway.metrics().await;
    assert_eq!(transitions(&metrics, "", "closed"), 1.0);
    assert_eq!(transitions(&metrics, "", "half_open"), 2.0);

    gateway.flush_telemetry().await;
    let timed_out = store
        .wait_for_spans(
            SERVICE,
            span::BREAKER_TRANSITION,
            &[(attr::BREAKER_CAUSE, "half_open_timeout")],
            1,
        )
        .await;
    assert_eq!(timed_out.len(), 1);
    assert_eq!(
        span_attribute(&timed_out[0], attr::BREAKER_FROM).as_deref(),
        Some("half_open")
    );
    assert_eq!(
        span_attribute(&timed_out[0], attr::BREAKER_TO).as_deref(),
        Some("open")
    );
}
