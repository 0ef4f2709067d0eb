//! Span-judged objectives against the embedded trace store (real Jaeger API queries):
//! `breaker` (cross-checked with the scraped gauge), `failover`, `degradation`, `trace`.

mod verdict_support;

use std::time::Duration;

use chaos::evidence::Evidence;
use chaos::load::RequestRecord;
use chaos::scenario::Plan;
use chaos::verdict::{Measured, Status, evaluate};
use verdict_support::*;

const CRASH: &str = "faults:\n  - { name: crash, at: 5s, for: 10s, kill: users.0 }\n";

fn steady() -> Vec<RequestRecord> {
    records(100, ms(0), secs(30), |_, _| (ok(), ms(5)))
}

/// A store holding `spans` plus one `gateway.request` span per second (the gateway was
/// seen working), and evidence pointing at it.
async fn traced(spans: &[SpanSpec], records: Vec<RequestRecord>) -> (Store, Evidence) {
    let origin = origin();
    let store = Store::start(origin).await;
    let heartbeat: Vec<SpanSpec> = (0..30)
        .map(|i| SpanSpec::new(GATEWAY, "gateway.request", 0x77_0000 + i, secs(i as u64)))
        .collect();
    store.ingest(&heartbeat);
    store.ingest(spans);
    let mut ev = evidence(origin, records, &[("crash", secs(5), Some(secs(15)))]);
    ev.traces = Some(store.backend());
    (store, ev)
}

// === breaker ===

const GATEWAY_CONFIG: &str = "\
listen: 127.0.0.1:0
upstreams:
  users:
    endpoints: [{ address: 127.0.0.1:9101 }, { address: 127.0.0.1:9102 }]
    circuit_breaker: { open_for: 5s }
routes:
  - { name: users, upstream: users }
";

fn transition(to: &str, at: Duration, n: u128) -> SpanSpec {
    SpanSpec::new(GATEWAY, "breaker.transition", 0xb0_0000 + n, at)
        .str("gateway.upstream", "users")
        .str("gateway.breaker.to", to)
        .str("gateway.breaker.cause", "test")
}

fn breaker_plan(fields: &str) -> Plan {
    plan(&format!(
        "{CRASH}expect:\n  - breaker: {{ upstream: users, of: crash, {fields} }}\n"
    ))
}

const ALL_THREE: &str = "opens_within: 1s, half_open_after: 5s, closes_within: 1s";

/// Gauge scrapes every `every` from 0 to 30s following the states of a breaker that opens
/// at `open`, half-opens at `half` and closes at `closed`.
fn gauge(
    every: Duration,
    open: Duration,
    half: Duration,
    closed: Duration,
) -> Vec<(Duration, observability::client::MetricSet)> {
    let mut out = Vec::new();
    let mut t = Duration::ZERO;
    while t <= secs(30) {
        let value = if t >= closed {
            0.0
        } else if t >= half {
            2.0
        } else if t >= open {
            1.0
        } else {
            0.0
        };
        out.push((t, breaker_scrape(value)));
        t += every;
    }
    out
}

#[tokio::test]
async fn breaker_transitions_in_time_pass_and_agree_with_the_gauge() {
    let spans = [
        transition("open", ms(5_400), 1),
        transition("half_open", ms(10_400), 2),
        transition("closed", ms(15_600), 3),
    ];
    let (_store, mut ev) = traced(&spans, steady()).await;
    ev.gateway_config = Some(GATEWAY_CONFIG.to_owned());
    ev.metrics.scrapes = gauge(secs(1), ms(5_400), ms(10_400), ms(15_600));
    let v = evaluate(&breaker_plan(ALL_THREE), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    assert_eq!(v.label, "breaker users on crash");
    assert_eq!(
        v.measured,
        "opens_within 400ms; half_open_after 5s; closes_within 600ms"
    );
    assert_eq!(
        v.threshold,
        "opens_within <= 1s; half_open_after >= 5s (open_for 5s); closes_within <= 1s"
    );
    for check in &v.checks {
        assert_eq!(check.evidence["cross_check"]["agrees"], true, "{check:?}");
    }
    assert_eq!(v.checks[0].evidence["cross_check"]["gauge_seen_s"], 6.0);
    assert_eq!(v.evidence["transitions"].as_array().unwrap().len(), 3);
    assert_eq!(v.evidence["configured_open_for_s"], 5.0);
}

#[tokio::test]
async fn breaker_exactly_at_its_limits_passes() {
    let spans = [
        transition("open", ms(6_000), 1),
        transition("half_open", ms(11_000), 2),
        transition("closed", ms(16_000), 3),
    ];
    let (_store, ev) = traced(&spans, steady()).await;
    let v = evaluate(&breaker_plan(ALL_THREE), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    assert_eq!(v.value, Some(Measured::Seconds(secs(1))));
}

#[tokio::test]
async fn breaker_opening_late_or_half_opening_before_its_configured_wait_fails() {
    let spans = [
        transition("open", ms(6_500), 1),
        transition("half_open", ms(9_500), 2),
        transition("closed", ms(15_300), 3),
    ];
    let (_store, mut ev) = traced(&spans, steady()).await;
    ev.gateway_config = Some(GATEWAY_CONFIG.to_owned());
    // The objective asks only 2s, but the config says the breaker waits 5s.
    let v = evaluate(
        &breaker_plan("opens_within: 1s, half_open_after: 2s, closes_within: 1s"),
        &ev,
    )
    .await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    let statuses: Vec<Status> = v.checks.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [Status::Fail, Status::Fail, Status::Pass]);
    assert_eq!(v.checks[1].threshold, ">= 5s (open_for 5s)");
    assert_eq!(
        v.message,
        "opens_within: opened 1.5s after the fault started (t=6.5s); \
         half_open_after: half-open 3s after opening (t=6.5s -> t=9.5s)"
    );
    // The gauge saw nothing: the cross-check says so, the spans decide.
    assert_eq!(
        v.checks[0].evidence["cross_check"]["gauge"],
        "no scrapes of the gauge"
    );
}

#[tokio::test]
async fn breaker_never_opening_or_never_closing_fails() {
    let (_store, ev) = traced(&[], steady()).await;
    let v = evaluate(&breaker_plan(ALL_THREE), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    assert_eq!(v.checks[0].measured, "never");
    assert_eq!(
        v.checks[0].message,
        "no transition to open after the fault started (t=5s)"
    );
    // Never opened: closed throughout the fault.
    assert_eq!(v.checks[2].status, Status::Pass);

    let spans = [
        transition("open", ms(5_200), 1),
        transition("half_open", ms(10_200), 2),
    ];
    let (_store, ev) = traced(&spans, steady()).await;
    let v = evaluate(&breaker_plan(ALL_THREE), &ev).await;
    let v = only(&v);
    assert_eq!(v.checks[2].status, Status::Fail);
    assert_eq!(
        v.checks[2].message,
        "still half_open at the end of the load after the fault ended (t=15s)"
    );
}

#[tokio::test]
async fn breaker_route_level_transitions_are_used_when_the_upstream_has_no_own_breaker() {
    let spans = [
        transition("open", ms(5_300), 1).str("gateway.route", "users"),
        transition("half_open", ms(10_300), 2).str("gateway.route", "users"),
        transition("closed", ms(15_200), 3).str("gateway.route", "users"),
        // Another upstream's breaker must not count.
        SpanSpec::new(GATEWAY, "breaker.transition", 0xb1_0000, ms(5_100))
            .str("gateway.upstream", "orders")
            .str("gateway.breaker.to", "open"),
    ];
    let (_store, ev) = traced(&spans, steady()).await;
    let v = evaluate(&breaker_plan(ALL_THREE), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    assert_eq!(v.checks[0].value, Some(Measured::Seconds(ms(300))));
    assert_eq!(v.evidence["transitions"][0]["route"], "users");
}

#[tokio::test]
async fn breaker_without_spans_is_judged_from_the_gauge_only_when_precise_enough() {
    let mut ev = evidence(origin(), steady(), &[("crash", secs(5), Some(secs(15)))]);
    // The breaker waited 5.2s in open. Scrapes every second bracket that wait between 4s
    // and 6s: undecidable against 5s.
    ev.metrics.scrapes = gauge(secs(1), ms(5_400), ms(10_600), ms(15_600));
    let v = evaluate(&breaker_plan(ALL_THREE), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    let statuses: Vec<Status> = v.checks.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [Status::Pass, Status::Inconclusive, Status::Pass]);
    assert_eq!(v.checks[0].measured, "0s to 1s (gauge)");
    assert_eq!(v.checks[1].evidence["missing"], "imprecise");
    assert!(
        v.checks[0]
            .message
            .contains("spans: no trace backend in this run"),
        "{}",
        v.checks[0].message
    );

    // Every 100ms the bracket (5.1s to 5.3s) is tight enough.
    ev.metrics.scrapes = gauge(ms(100), ms(5_400), ms(10_600), ms(15_600));
    let v = evaluate(&breaker_plan(ALL_THREE), &ev).await;
    assert_status(only(&v), Status::Pass);
}

#[tokio::test]
async fn breaker_with_neither_spans_nor_gauge_is_inconclusive() {
    let origin = origin();
    let store = Store::start(origin).await;
    let mut ev = evidence(origin, steady(), &[("crash", secs(5), Some(secs(15)))]);
    ev.traces = Some(store.backend());
    let v = evaluate(&breaker_plan(ALL_THREE), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.checks[0].evidence["missing"], "no_breaker_evidence");
    assert!(
        v.message
            .contains("the trace backend holds no span of service `gw-test`"),
        "{}",
        v.message
    );
}

// === failover ===

fn failover_plan() -> Plan {
    plan(&format!(
        "{CRASH}expect:\n  - failover: {{ during: crash, errors: \"<= 1%\", stops_reaching: users.0, within: 1s }}\n"
    ))
}

/// Attempts every 100ms alternating between both users endpoints, except to 9101 from
/// `stop` on.
fn attempts(stop: Duration) -> Vec<SpanSpec> {
    (0..300u64)
        .map(|i| {
            let at = ms(i * 100);
            let endpoint = if i % 2 == 0 && at < stop {
                "127.0.0.1:9101"
            } else {
                "127.0.0.1:9102"
            };
            SpanSpec::new(GATEWAY, "upstream.attempt", 0xa0_0000 + u128::from(i), at)
                .str("gateway.upstream", "users")
                .str("gateway.endpoint", endpoint)
        })
        .collect()
}

/// Client records answered by `users-0`/`users-1` alternately, `users-0` not after `stop`.
fn answered(stop: Duration) -> Vec<RequestRecord> {
    let mut recs = steady();
    for (i, r) in recs.iter_mut().enumerate() {
        let zero = i % 2 == 0 && r.intended < stop;
        r.upstream = Some(if zero { "users-0" } else { "users-1" }.to_owned());
    }
    recs
}

#[tokio::test]
async fn failover_passes_when_attempts_stop_within_the_grace_time() {
    let (_store, ev) = traced(&attempts(ms(5_600)), answered(ms(5_600))).await;
    let v = evaluate(&failover_plan(), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    let names: Vec<&str> = v.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["errors", "stops_reaching", "client_upstream"]);
    assert_eq!(v.checks[1].threshold, "0 attempts to users.0 after +1s");
    assert_eq!(
        v.checks[1].message,
        "the last attempt reached users.0 400ms after the fault started"
    );
    assert_eq!(v.checks[1].evidence["addresses"][0], "127.0.0.1:9101");
}

#[tokio::test]
async fn failover_fails_when_attempts_still_reach_the_endpoint() {
    let (_store, ev) = traced(&attempts(ms(7_000)), answered(ms(5_600))).await;
    let v = evaluate(&failover_plan(), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    assert_eq!(v.checks[1].status, Status::Fail);
    assert_eq!(v.checks[1].value, Some(Measured::Count(5)));
    assert!(
        v.checks[1].message.starts_with(
            "5 attempts reached users.0 after the grace time, the first at t=6s (trace "
        ),
        "{}",
        v.checks[1].message
    );
    assert_eq!(
        v.checks[1].evidence["late_trace_ids"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // The client view agrees with itself here (the header stopped in time).
    assert_eq!(v.checks[2].status, Status::Pass);
}

#[tokio::test]
async fn failover_fails_on_client_errors_or_late_client_responses() {
    let mut recs = answered(ms(8_000));
    for r in recs
        .iter_mut()
        .filter(|r| r.intended >= secs(5) && r.intended < ms(5_200))
    {
        r.outcome = refused();
    }
    let (_store, ev) = traced(&attempts(ms(5_600)), recs).await;
    let v = evaluate(&failover_plan(), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    let statuses: Vec<Status> = v.checks.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [Status::Fail, Status::Pass, Status::Fail]);
    assert_eq!(v.checks[0].measured, "2%");
    assert_eq!(v.checks[2].value, Some(Measured::Count(100)));
}

#[tokio::test]
async fn failover_without_any_gateway_span_is_inconclusive() {
    let origin = origin();
    let store = Store::start(origin).await;
    let mut ev = evidence(origin, steady(), &[("crash", secs(5), Some(secs(15)))]);
    ev.traces = Some(store.backend());
    let v = evaluate(&failover_plan(), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.checks[1].evidence["missing"], "no_spans");
}

// === degradation ===

const DEGRADE: &str =
    "  - degradation: { during: crash, route: users, fallbacks: \">= 90%\", no_5xx: true }\n";

/// Every request during the crash answered by the static fallback, except `misses` of
/// them (answered 503).
fn degraded(misses: usize) -> Vec<RequestRecord> {
    let mut recs = steady();
    let mut missed = 0;
    for r in recs
        .iter_mut()
        .filter(|r| r.intended >= secs(5) && r.intended < secs(15))
    {
        if missed < misses {
            r.outcome = status(503);
            missed += 1;
        } else {
            r.fallback = Some("static".to_owned());
        }
    }
    recs
}

#[tokio::test]
async fn degradation_passes_with_fallbacks_and_no_5xx_in_both_views() {
    let recs = degraded(0);
    let (_store, ev) = traced(&request_spans(&recs, "users"), recs).await;
    let v = evaluate(&plan(&format!("{CRASH}expect:\n{DEGRADE}")), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    let names: Vec<&str> = v.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["fallbacks", "no_5xx", "spans.fallbacks", "spans.no_5xx"]
    );
    assert_eq!(v.value, Some(Measured::Ratio(1.0)));
    assert_eq!(v.checks[0].evidence["requests"], 1000);
}

#[tokio::test]
async fn degradation_exactly_at_the_share_passes_but_a_5xx_fails() {
    // 100 of 1000 answered 503: fallbacks exactly 90%, but 5xx were served.
    let recs = degraded(100);
    let (_store, ev) = traced(&request_spans(&recs, "users"), recs).await;
    let v = evaluate(&plan(&format!("{CRASH}expect:\n{DEGRADE}")), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    let statuses: Vec<Status> = v.checks.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [Status::Pass, Status::Fail, Status::Pass, Status::Fail]
    );
    assert_eq!(v.checks[0].value, Some(Measured::Ratio(0.9)));
    assert_eq!(v.checks[1].message, "100 of 1000 responses were 5xx");
    assert_eq!(v.checks[3].message, "100 of 1000 server spans answered 5xx");
}

#[tokio::test]
async fn degradation_spans_without_the_fallback_attribute_fail_the_span_view() {
    let recs = degraded(0);
    let mut spans = request_spans(&recs, "users");
    for s in &mut spans {
        s.attributes.retain(|(k, _)| k != "gateway.fallback");
    }
    let (_store, ev) = traced(&spans, recs).await;
    let v = evaluate(&plan(&format!("{CRASH}expect:\n{DEGRADE}")), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    assert_eq!(v.checks[2].status, Status::Fail);
    assert_eq!(v.checks[2].measured, "0%");
}

#[tokio::test]
async fn degradation_without_traces_attributes_records_only_for_a_single_route_gateway() {
    let mut ev = evidence(origin(), degraded(0), &[("crash", secs(5), Some(secs(15)))]);
    ev.gateway_config = Some(GATEWAY_CONFIG.to_owned());
    let plan = plan(&format!("{CRASH}expect:\n{DEGRADE}"));
    let v = evaluate(&plan, &ev).await;
    let v = only(&v);
    // The client view is judged (one route), the span view is missing.
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.checks[0].status, Status::Pass);
    assert_eq!(v.checks[2].evidence["missing"], "no_trace_backend");

    ev.gateway_config = Some(format!(
        "{GATEWAY_CONFIG}  - {{ name: other, upstream: users }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.checks[0].evidence["missing"], "route_unattributable");
}

// === trace ===

const CUT: &str = "faults:\n  - { name: crash, at: 5s, for: 10s, kill: users.0 }\n  - { name: cut, at: 18s, for: 5s, partition: orders }\n";

fn orders_attempts(last: Duration) -> Vec<SpanSpec> {
    (0..300u64)
        .map(|i| ms(i * 100))
        .filter(|at| *at < last || *at >= secs(23))
        .enumerate()
        .map(|(i, at)| {
            SpanSpec::new(GATEWAY, "upstream.attempt", 0xc0_0000 + i as u128, at)
                .str("gateway.endpoint", "127.0.0.1:9201")
                .duration(ms(10 + (i as u64 % 10)))
        })
        .collect()
}

fn trace_plan(objective: &str) -> Plan {
    plan_netns(&format!("{CUT}expect:\n  - trace: {objective}\n"))
}

/// `orders` behind a network namespace (partitions need it).
fn plan_netns(rest: &str) -> Plan {
    let text = format!(
        r#"
name: drill
description: synthetic drill for verdict tests
system:
  gateway: {{ url: "http://127.0.0.1:8080", admin: "http://127.0.0.1:9901" }}
  upstreams:
    users: {{ builtin: {{}}, replicas: 2, via: proxy }}
    orders: {{ builtin: {{}}, via: netns }}
load: {{ rate: 100/s, duration: 30s, requests: [{{ get: /api/users/1 }}] }}
{rest}
"#
    );
    chaos::scenario::load_str(std::path::Path::new("drill.yaml"), &text).unwrap()
}

async fn trace_evidence(spans: &[SpanSpec]) -> (Store, Evidence) {
    let (store, mut ev) = traced(spans, steady()).await;
    ev.faults.insert(
        "cut".to_owned(),
        chaos::evidence::FaultWindow {
            applied: secs(18),
            undone: Some(secs(23)),
        },
    );
    (store, ev)
}

const NO_ORDERS: &str = "{ during: cut, select: { service: gateway, name: upstream.attempt, attributes: { gateway.endpoint: \"{{upstream.orders}}\" } }, count: \"== 0\", after: 500ms }";

#[tokio::test]
async fn trace_count_zero_after_the_grace_passes_and_a_late_span_fails() {
    let (_store, ev) = trace_evidence(&orders_attempts(ms(18_400))).await;
    let v = evaluate(&trace_plan(NO_ORDERS), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    assert_eq!(v.label, "trace upstream.attempt count during cut");
    assert_eq!(
        v.evidence["checks"][0]["evidence"]["selector"]["attributes"]["gateway.endpoint"],
        "127.0.0.1:9201"
    );
    assert_eq!(
        v.evidence["checks"][0]["evidence"]["selector"]["service"],
        GATEWAY
    );
    let w = v.window.as_ref().unwrap();
    assert_eq!((w.start, w.end), (ms(18_500), secs(23)));

    let (_store, ev) = trace_evidence(&orders_attempts(ms(18_600))).await;
    let v = evaluate(&trace_plan(NO_ORDERS), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    assert_eq!(v.value, Some(Measured::Count(1)));
    assert!(
        v.message
            .starts_with("1 spans selected in during cut [18500ms..23s], the first at t=18.5s"),
        "{}",
        v.message
    );
}

#[tokio::test]
async fn trace_count_zero_with_no_spans_at_all_is_inconclusive() {
    let origin = origin();
    let store = Store::start(origin).await;
    let mut ev = evidence(
        origin,
        steady(),
        &[
            ("crash", secs(5), Some(secs(15))),
            ("cut", secs(18), Some(secs(23))),
        ],
    );
    ev.traces = Some(store.backend());
    let v = evaluate(&trace_plan(NO_ORDERS), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(
        v.message,
        "the trace backend holds no span of service `gw-test` in during cut [18500ms..23s]"
    );
}

#[tokio::test]
async fn trace_ratio_and_duration_aggregates() {
    // 10 gateway.request spans in the crash window, 1 of them an error.
    let spans: Vec<SpanSpec> = (0..10u64)
        .map(|i| {
            let s = SpanSpec::new(
                GATEWAY,
                "gateway.request",
                0xd0_0000 + u128::from(i),
                secs(6) + ms(i * 10),
            )
            .duration(ms(10 * (i + 1)));
            if i == 0 { s.error() } else { s }
        })
        .collect();
    let (_store, ev) = trace_evidence(&spans).await;
    let objectives = [
        "{ during: crash, select: { name: gateway.request, status: error }, ratio: \"<= 10%\" }",
        "{ during: crash, select: { name: gateway.request, status: error }, ratio: \"< 10%\" }",
        "{ window: { from: crash.start, to: crash.start + 2s }, select: { name: gateway.request }, duration: \"max <= 100ms\" }",
        "{ window: { from: crash.start, to: crash.start + 2s }, select: { name: gateway.request }, duration: \"p(99) < 1s\" }",
    ];
    let text = format!(
        "{CUT}expect:\n{}",
        objectives
            .iter()
            .map(|o| format!("  - trace: {o}\n"))
            .collect::<String>()
    );
    let v = evaluate(&plan_netns(&text), &ev).await;
    // The crash window [5s, 15s) also holds the heartbeat spans at 5s..14s: 20 in all.
    assert_status(&v[0], Status::Pass);
    assert_eq!(v[0].value, Some(Measured::Ratio(0.05)));
    assert_status(&v[1], Status::Pass);
    // [5s, 7s): heartbeats at 5s and 6s (5ms) and the ten spans (10..100ms): 12 durations.
    assert_status(&v[2], Status::Pass);
    assert_eq!(v[2].value, Some(Measured::Seconds(ms(100))));
    // p(99) needs 100 durations.
    assert_status(&v[3], Status::Inconclusive);
    assert_eq!(
        v[3].evidence["checks"][0]["evidence"]["missing"],
        "too_few_spans"
    );
}

#[tokio::test]
async fn trace_search_that_cannot_be_paged_is_inconclusive() {
    // Three traces starting at the same instant, two per page: no time split can separate
    // them.
    let spans: Vec<SpanSpec> = (0..3u128)
        .map(|i| {
            SpanSpec::new(GATEWAY, "upstream.attempt", 0xe0_0000 + i, secs(20))
                .str("gateway.endpoint", "127.0.0.1:9201")
        })
        .collect();
    let (_store, ev) = trace_evidence(&spans).await;
    let options = chaos::verdict::Options {
        traces_per_page: 2,
        ..chaos::verdict::Options::default()
    };
    let v = chaos::verdict::evaluate_with(&trace_plan(NO_ORDERS), &ev, &options).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.checks[0].evidence["missing"], "too_many_traces");
    assert!(
        v.message
            .starts_with("more than 2 traces of `gw-test` within "),
        "{}",
        v.message
    );
    assert!(
        v.message
            .ends_with("us: the search cannot be paged further")
    );
}
