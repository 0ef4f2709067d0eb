//! Verdicts judged from client records and metric scrapes: `steady_state`, `errors`,
//! `latency`, `metric` (scraped samples and PromQL), with windows resolved against the
//! actual fault times.

mod verdict_support;

use std::convert::Infallible;

use bytes::Bytes;
use chaos::verdict::{Measured, Status, evaluate};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use verdict_support::*;

const CRASH: &str = "faults:\n  - { name: crash, at: 5s, for: 10s, kill: users }\n";

/// 100 requests a second for 30 s, each `latency` long, failing when `fail(at)`.
fn load(fail: impl Fn(std::time::Duration) -> bool) -> Vec<chaos::load::RequestRecord> {
    records(100, ms(0), secs(30), |_, at| {
        (if fail(at) { status(503) } else { ok() }, ms(10))
    })
}

#[tokio::test]
async fn errors_exactly_at_the_threshold_passes_and_just_over_fails() {
    // 10 failures among the 1000 requests due during the crash: exactly 1%.
    let recs = load(|at| at >= secs(6) && at < ms(6_100));
    let ev = evidence(origin(), recs, &[("crash", secs(5), Some(secs(15)))]);
    let plan = plan(&format!(
        "{CRASH}expect:\n  - errors: {{ during: crash, rate: \"<= 1%\" }}\n  - errors: {{ during: crash, rate: \"< 1%\" }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    assert_status(&v[0], Status::Pass);
    assert_eq!(v[0].value, Some(Measured::Ratio(0.01)));
    assert_eq!(v[0].measured, "1%");
    assert_eq!(v[0].threshold, "<= 1%");
    assert_eq!(v[0].evidence["checks"][0]["evidence"]["requests"], 1000);
    assert_eq!(
        v[0].evidence["checks"][0]["evidence"]["errors"]["http_503"],
        10
    );
    let w = v[0].window.as_ref().unwrap();
    assert_eq!(
        (w.name.as_str(), w.start, w.end),
        ("during crash", secs(5), secs(15))
    );
    assert_status(&v[1], Status::Fail);
    assert_eq!(
        v[1].message,
        "error rate 1%: 10 of 1000 requests failed (http_503 10)"
    );
}

#[tokio::test]
async fn errors_with_too_few_records_is_inconclusive_not_passed() {
    let recs: Vec<_> = load(|_| false)
        .into_iter()
        .filter(|r| r.intended < secs(5) || r.intended >= ms(14_910))
        .collect();
    let ev = evidence(origin(), recs, &[("crash", secs(5), Some(secs(15)))]);
    let plan = plan(&format!(
        "{CRASH}expect:\n  - errors: {{ during: crash, rate: \"< 1%\" }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(
        v.message,
        "too few client records in during crash [5s..15s] to decide: 9 < 10"
    );
    assert_eq!(
        v.evidence["checks"][0]["evidence"]["missing"],
        "too_few_records"
    );
    assert_eq!(
        v.value,
        Some(Measured::Ratio(0.0)),
        "the figure is still reported"
    );
}

#[tokio::test]
async fn errors_during_a_fault_that_was_never_applied_is_inconclusive() {
    let ev = evidence(origin(), load(|_| false), &[]);
    let plan = plan(&format!(
        "{CRASH}expect:\n  - errors: {{ during: crash, rate: \"< 1%\" }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.message, "fault `crash` was not applied in this run");
    assert_eq!(v.window, None);
}

#[tokio::test]
async fn latency_percentile_exactly_at_the_limit_passes_and_needs_enough_samples() {
    // During [5s, 6s): latencies 1..=100ms (one each); elsewhere 1ms.
    let recs = records(100, ms(0), secs(30), |_, at| {
        let lat = if at >= secs(5) && at < secs(6) {
            ms((at - secs(5)).as_millis() as u64 / 10 + 1)
        } else {
            ms(1)
        };
        (ok(), lat)
    });
    let ev = evidence(origin(), recs, &[("crash", secs(5), Some(secs(15)))]);
    let plan = plan(&format!(
        "{CRASH}expect:\n  - latency: {{ window: {{ from: crash.start, to: crash.start + 1s }}, value: \"p(99) <= 99ms\" }}\n  - latency: {{ window: {{ from: crash.start, to: crash.start + 1s }}, value: \"p(99) < 99ms\" }}\n  - latency: {{ window: {{ from: crash.start, to: crash.start + 990ms }}, value: \"p(99) < 1s\" }}\n  - latency: {{ window: {{ from: crash.start, to: crash.start + 1s }}, value: \"max < 100ms\" }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    assert_status(&v[0], Status::Pass);
    assert_eq!(v[0].value, Some(Measured::Seconds(ms(99))));
    assert_eq!(v[0].label, "latency p(99) crash.start .. crash.start + 1s");
    assert_status(&v[1], Status::Fail);
    assert_eq!(v[1].message, "p(99) 99ms over 100 requests");
    // 99 samples cannot decide a p(99): it would just be the maximum.
    assert_status(&v[2], Status::Inconclusive);
    assert!(v[2].message.ends_with("99 < 100"), "{}", v[2].message);
    assert_status(&v[3], Status::Fail);
    assert_eq!(v[3].measured, "100ms");
}

#[tokio::test]
async fn steady_state_uses_actual_fault_times() {
    // The crash was applied at 4.5s (planned 5s) and undone at 15.5s (planned 15s); errors
    // only inside the actual window. Planned windows would count 50 failures each side.
    let recs = load(|at| at >= ms(4_500) && at < ms(15_500));
    let ev = evidence(origin(), recs, &[("crash", ms(4_500), Some(ms(15_500)))]);
    let plan = plan(&format!(
        "{CRASH}expect:\n  - steady_state: {{ before: {{ errors: \"< 0.5%\", latency: \"p(99) < 50ms\" }}, after: {{ errors: \"< 0.5%\" }} }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    assert_eq!(v.label, "steady state before and after");
    let names: Vec<&str> = v.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["before.errors", "before.latency", "after.errors"]);
    assert_eq!(v.checks[0].evidence["requests"], 450);
    assert_eq!(v.checks[2].evidence["requests"], 1450);
    assert_eq!(
        v.measured,
        "before.errors 0%; before.latency 10ms; after.errors 0%"
    );
    assert_eq!(v.evidence["windows"]["before"]["end_s"], 4.5);
}

#[tokio::test]
async fn steady_state_after_failing_fails_the_objective() {
    let recs = load(|at| at >= secs(20) && at < secs(21));
    let ev = evidence(origin(), recs, &[("crash", secs(5), Some(secs(15)))]);
    let plan = plan(&format!(
        "{CRASH}expect:\n  - steady_state: {{ before: {{ errors: \"< 0.5%\" }}, after: {{ errors: \"< 0.5%\" }} }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    assert_eq!(v.checks[0].status, Status::Pass);
    assert_eq!(v.checks[1].status, Status::Fail);
    assert_eq!(
        v.message,
        "after.errors: error rate 6.67%: 100 of 1500 requests failed (http_503 100)"
    );
}

// === metric ===

fn scrapes(values: &[(u64, f64)]) -> Vec<(std::time::Duration, observability::client::MetricSet)> {
    values
        .iter()
        .map(|(t, v)| (ms(*t), breaker_scrape(*v)))
        .collect()
}

const GAUGE: &str = r#"sample: 'gateway_breaker_state{upstream="users",route=""}'"#;

#[tokio::test]
async fn metric_sample_must_hold_at_every_point_in_the_window() {
    let mut ev = evidence(
        origin(),
        load(|_| false),
        &[("crash", secs(5), Some(secs(15)))],
    );
    ev.metrics.scrapes = scrapes(&[
        (1000, 0.0),
        (6000, 1.0),
        (9000, 2.0),
        (16_000, 0.0),
        (20_000, 0.0),
    ]);
    let plan = plan(&format!(
        "{CRASH}expect:\n  - metric: {{ {GAUGE}, value: \"== 0\", window: after }}\n  - metric: {{ {GAUGE}, value: \"<= 1\", during: crash }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    assert_status(&v[0], Status::Pass);
    // Label matchers are listed sorted.
    assert_eq!(
        v[0].label,
        "metric gateway_breaker_state{route=\"\",upstream=\"users\"} after"
    );
    assert_status(&v[1], Status::Fail);
    assert_eq!(v[1].value, Some(Measured::Number(2.0)));
    assert_eq!(
        v[1].message,
        "gateway_breaker_state{route=\"\",upstream=\"users\"} was 2 at t=9s (2 points)"
    );
}

#[tokio::test]
async fn metric_sample_held_for_a_duration() {
    let mut ev = evidence(
        origin(),
        load(|_| false),
        &[("crash", secs(5), Some(secs(15)))],
    );
    ev.metrics.scrapes = scrapes(&[
        (5000, 0.0),
        (6000, 1.0),
        (7000, 1.0),
        (8000, 1.0),
        (9000, 2.0),
    ]);
    let plan = plan(&format!(
        "{CRASH}expect:\n  - metric: {{ {GAUGE}, value: \"== 1\", during: crash, for: 2s }}\n  - metric: {{ {GAUGE}, value: \"== 1\", during: crash, for: 3s }}\n  - metric: {{ {GAUGE}, value: \"== 7\", during: crash, for: 5s }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    assert_status(&v[0], Status::Pass);
    assert_eq!(v[0].measured, "held 2s");
    assert_status(&v[1], Status::Fail);
    // The samples span only 4s: a 5s hold cannot be judged.
    assert_status(&v[2], Status::Inconclusive);
    assert_eq!(
        v[2].evidence["checks"][0]["evidence"]["missing"],
        "too_short_for_hold"
    );
}

#[tokio::test]
async fn metric_without_scrapes_or_series_is_inconclusive() {
    let mut ev = evidence(
        origin(),
        load(|_| false),
        &[("crash", secs(5), Some(secs(15)))],
    );
    let plan = plan(&format!(
        "{CRASH}expect:\n  - metric: {{ {GAUGE}, value: \"== 0\" }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    assert_status(only(&v), Status::Inconclusive);
    assert_eq!(only(&v).message, "no /metrics scrape in whole [0s..30s]");

    ev.metrics.scrapes = vec![(
        secs(1),
        observability::client::MetricSet::parse(
            "# TYPE gateway_config_version gauge\ngateway_config_version 1\n",
        )
        .unwrap(),
    )];
    let v = evaluate(&plan, &ev).await;
    assert_status(only(&v), Status::Inconclusive);
    assert_eq!(
        only(&v).message,
        "`gateway_breaker_state{route=\"\",upstream=\"users\"}` is absent from every scrape in whole [0s..30s]"
    );
}

const PROMETHEUS: &str = "backends: { metrics: { prometheus: \"http://127.0.0.1:9090\" } }";

#[tokio::test]
async fn metric_query_without_a_reachable_prometheus_is_inconclusive() {
    let plan = plan_with(
        PROMETHEUS,
        &format!(
            "{CRASH}expect:\n  - metric: {{ query: 'sum(gateway_breaker_state)', value: \"== 0\" }}\n"
        ),
    );
    let mut ev = evidence(
        origin(),
        load(|_| false),
        &[("crash", secs(5), Some(secs(15)))],
    );
    let v = evaluate(&plan, &ev).await;
    assert_eq!(
        only(&v).evidence["checks"][0]["evidence"]["missing"],
        "no_prometheus"
    );

    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    ev.metrics.prometheus_url = Some(url);
    let v = evaluate(&plan, &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(
        v.evidence["checks"][0]["evidence"]["missing"],
        "prometheus_query_failed"
    );
    assert!(
        v.message
            .starts_with("Prometheus query failed: cannot connect to"),
        "{}",
        v.message
    );
}

/// A fake Prometheus answering every query_range with `body`.
async fn fake_prometheus(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        assert_eq!(request.uri().path(), "/api/v1/query_range");
                        let response = http::Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(body)))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

#[tokio::test]
async fn metric_query_judges_every_returned_series() {
    let origin = origin();
    let t0 = origin
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let series = |upstream: &str, values: &[f64]| {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("[{}, \"{v}\"]", t0 + 5.0 + i as f64))
            .collect();
        format!(
            r#"{{"metric":{{"__name__":"gateway_breaker_state","upstream":"{upstream}"}},"values":[{}]}}"#,
            points.join(",")
        )
    };
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{},{}]}}}}"#,
        series("users", &[0.0, 0.0, 0.0]),
        series("orders", &[0.0, 1.0, 0.0])
    );
    let url = fake_prometheus(body).await;
    let plan = plan_with(
        PROMETHEUS,
        &format!(
            "{CRASH}expect:\n  - metric: {{ query: 'gateway_breaker_state', value: \"== 0\", during: crash }}\n"
        ),
    );
    let mut ev = evidence(
        origin,
        load(|_| false),
        &[("crash", secs(5), Some(secs(15)))],
    );
    ev.metrics.prometheus_url = Some(url);
    let v = evaluate(&plan, &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    assert_eq!(v.value, Some(Measured::Number(1.0)));
    assert_eq!(
        v.message,
        "gateway_breaker_state{upstream=\"orders\"} was 1 at t=6s (3 points)"
    );
    assert_eq!(v.evidence["checks"][0]["evidence"]["series_count"], 2);
    assert_eq!(v.evidence["source"], "prometheus");
}
