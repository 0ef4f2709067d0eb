//! The route fault filter end to end: seeded aborts (a binomial share, the same sequence on
//! every run with the same seed), header-controlled aborts, and delays; judged by the client's
//! answers, what reached the upstream and the metrics.

use std::time::{Duration, Instant};

use e2e_tests::{Answer, BASE_CONFIG, Gateway, chaos_upstream, http_client, metric_or_zero};
use observability::names::{header, label, metric};

fn faults(gateway_metrics: &observability::client::MetricSet, route: &str, kind: &str) -> f64 {
    // NOTE: `kind` has no constant in `observability::names::label`.
    metric_or_zero(
        gateway_metrics,
        metric::FAULTS_INJECTED_TOTAL,
        &[(label::ROUTE, route), ("kind", kind)],
    )
}

fn config(endpoint: &str, fault: &str) -> String {
    format!(
        "{BASE_CONFIG}upstreams:\n  users:\n    endpoints: [ {{ address: \"{endpoint}\" }} ]\n\
         routes:\n  - name: users\n    match: {{ path: /api/** }}\n    upstream: users\n\
         \x20   fault: {fault}\n"
    )
}

/// Whether `answer` is the fault filter's abort with `status` (not the upstream's answer).
fn is_abort(answer: &Answer, status: u16) -> bool {
    answer.status == status
        && answer.header(header::FAULT) == Some("abort")
        && answer.header(header::UPSTREAM).is_none()
        && answer.json()["error"] == "fault_injected"
}

/// Sends `requests` GETs one at a time through a fresh gateway (and upstream) whose route
/// aborts 30% with `seed`; returns which were aborted, after checking the counts agree.
async fn abort_sequence(seed: u64, requests: usize) -> Vec<bool> {
    let upstream = chaos_upstream("users-a", &[]);
    let gateway = Gateway::start(&config(
        upstream.address(),
        &format!("{{ abort: {{ status: 503, percent: 30% }}, seed: {seed} }}"),
    ));
    let http = http_client();
    let mut aborted = Vec::with_capacity(requests);
    for request in 0..requests {
        let answer = Answer::of(http.get(gateway.url("/api/orders"))).await;
        let abort = is_abort(&answer, 503);
        if !abort {
            assert_eq!(answer.status, 200, "request {request}: {answer:?}");
            assert_eq!(answer.header(header::FAULT), None);
            assert_eq!(answer.header(header::UPSTREAM), Some("users-a"));
        }
        aborted.push(abort);
    }
    let count = aborted.iter().filter(|a| **a).count() as u64;
    // Aborted requests never reach the upstream.
    assert_eq!(upstream.requests().await, requests as u64 - count);
    let metrics = gateway.metrics().await;
    assert_eq!(faults(&metrics, "users", "abort"), count as f64);
    assert_eq!(faults(&metrics, "users", "delay"), 0.0);
    aborted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_abort_percent_with_seed_aborts_a_binomial_share_and_repeats_exactly() {
    const REQUESTS: usize = 400;
    let first = abort_sequence(42, REQUESTS).await;
    let aborted = first.iter().filter(|a| **a).count() as f64;
    // Binomial(400, 0.3): mean 120, sd 9.17; mean ± 5 sd.
    let (mean, sd) = (120.0, (400.0_f64 * 0.3 * 0.7).sqrt());
    assert!(
        (mean - 5.0 * sd..=mean + 5.0 * sd).contains(&aborted),
        "{aborted} of {REQUESTS} aborted at 30%"
    );
    // A new gateway with the same seed makes the same decisions, request by request.
    let second = abort_sequence(42, REQUESTS).await;
    assert_eq!(first, second, "same seed, different decisions");
    // Another seed makes other decisions (the seed is used at all).
    let other = abort_sequence(7, REQUESTS).await;
    assert_ne!(first, other, "the seed changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_header_control_aborts_only_requests_that_ask() {
    const EACH: u64 = 10;
    let upstream = chaos_upstream("users-a", &[]);
    let gateway = Gateway::start(&config(
        upstream.address(),
        "{ abort: { status: 503, percent: 100% }, header_control: true }",
    ));
    let http = http_client();
    let get = || http.get(gateway.url("/api/orders"));

    for request in 0..EACH {
        let answer = Answer::of(get()).await;
        assert_eq!(
            answer.status, 200,
            "without header, request {request}: {answer:?}"
        );
        assert_eq!(answer.header(header::FAULT), None);
    }
    for request in 0..EACH {
        let answer = Answer::of(get().header(header::FAULT_ABORT, "429")).await;
        assert!(
            is_abort(&answer, 429),
            "asked for 429, request {request}: {answer:?}"
        );
    }
    // An unusable value asks for the fault with the configured status.
    for request in 0..EACH {
        let answer = Answer::of(get().header(header::FAULT_ABORT, "teapot")).await;
        assert!(
            is_abort(&answer, 503),
            "invalid value, request {request}: {answer:?}"
        );
    }
    // A percentage of 0 asks for the fault on no request.
    for request in 0..EACH {
        let answer = Answer::of(
            get()
                .header(header::FAULT_ABORT, "429")
                .header(header::FAULT_ABORT_PERCENTAGE, "0"),
        )
        .await;
        assert_eq!(
            answer.status, 200,
            "percentage 0, request {request}: {answer:?}"
        );
        assert_eq!(answer.header(header::FAULT), None);
    }

    assert_eq!(upstream.requests().await, 2 * EACH);
    let metrics = gateway.metrics().await;
    assert_eq!(faults(&metrics, "users", "abort"), (2 * EACH) as f64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_delay_holds_the_request_then_forwards_it() {
    const DELAY: Duration = Duration::from_millis(300);
    let upstream = chaos_upstream("users-a", &[]);
    let gateway = Gateway::start(&config(
        upstream.address(),
        "{ delay: { duration: 300ms, percent: 100% } }",
    ));
    let http = http_client();

    for request in 0..3 {
        let sent = Instant::now();
        let answer = Answer::of(http.get(gateway.url("/api/orders"))).await;
        let took = sent.elapsed();
        assert_eq!(answer.status, 200, "request {request}: {answer:?}");
        assert_eq!(answer.header(header::FAULT), Some("delay"));
        assert_eq!(answer.header(header::UPSTREAM), Some("users-a"));
        assert!(
            took >= DELAY && took <= DELAY + Duration::from_secs(2),
            "request {request} took {took:?} with a {DELAY:?} delay"
        );
    }
    assert_eq!(upstream.requests().await, 3);
    let metrics = gateway.metrics().await;
    assert_eq!(faults(&metrics, "users", "delay"), 3.0);
    assert_eq!(faults(&metrics, "users", "abort"), 0.0);
}
