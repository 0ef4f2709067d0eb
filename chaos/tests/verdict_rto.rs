//! The `rto` objective: recovery time from client records and, independently, from the
//! gateway's `gateway.request` spans served by the embedded trace store.

mod verdict_support;

use std::time::Duration;

use chaos::evidence::Evidence;
use chaos::load::RequestRecord;
use chaos::verdict::{Measured, Options, Status, evaluate, evaluate_with};
use verdict_support::*;

const CRASH: &str = "faults:\n  - { name: crash, at: 5s, for: 10s, kill: users }\n";

/// 100 requests a second; 503 from 5s until `switch`, then 200. Latency 5ms.
fn switching(switch: Duration) -> Vec<RequestRecord> {
    records(100, ms(0), secs(30), |_, at| {
        if at >= secs(5) && at < switch {
            (status(503), ms(5))
        } else {
            (ok(), ms(5))
        }
    })
}

fn rto(extra: &str) -> chaos::scenario::Plan {
    plan(&format!(
        "{CRASH}expect:\n  - rto: {{ from: crash.end, success: \">= 99%\", window: 1s, hold: 2s, max: 3s{extra} }}\n"
    ))
}

async fn with_spans(records: Vec<RequestRecord>, fault_end: Duration) -> (Store, Evidence) {
    let origin = origin();
    let store = Store::start(origin).await;
    store.ingest(&request_spans(&records, "users"));
    let mut ev = evidence(origin, records, &[("crash", secs(5), Some(fault_end))]);
    ev.traces = Some(store.backend());
    (store, ev)
}

#[tokio::test]
async fn rto_matches_ground_truth_from_records_and_spans() {
    // Ground truth: the system recovers 1.34s after the fault's end (15s).
    let truth = ms(1_340);
    let (_store, ev) = with_spans(switching(secs(15) + truth), secs(15)).await;
    // Small pages force the span search to split its time range several times.
    let options = Options {
        traces_per_page: 300,
        ..Options::default()
    };
    let v = evaluate_with(&rto(""), &ev, &options).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    assert_eq!(v.label, "rto from crash.end");
    assert_eq!(v.threshold, "client <= 3s; spans <= 3s");
    let Some(Measured::Seconds(client)) = v.checks[0].value else {
        panic!("{:?}", v.checks[0]);
    };
    let Some(Measured::Seconds(spans)) = v.checks[1].value else {
        panic!("{:?}", v.checks[1]);
    };
    // Windows look forward from each 10 ms step: the figure is the truth, less the one
    // failure (of 100 per window) that ">= 99%" tolerates.
    assert_eq!(client, truth - ms(10), "{client:?}");
    assert_eq!(spans, client, "both views see the same requests");
    assert_eq!(v.measured, "client 1.33s; spans 1.33s");
    assert_eq!(v.evidence["difference"]["spans_minus_client"], "0s");
    assert_eq!(v.evidence["reference_s"], 15.0);
    assert_eq!(v.checks[0].evidence["recovered_at_s"], 16.33);
    assert_eq!(v.checks[0].evidence["undecided_steps"], 0);
    let w = v.window.as_ref().unwrap();
    assert_eq!((w.start, w.end), (secs(15), secs(30)));
}

#[tokio::test]
async fn rto_uses_the_actual_fault_end() {
    // The fault was undone late, at 15.6s; recovery follows at 16.0s.
    let (_store, ev) = with_spans(switching(secs(16)), ms(15_600)).await;
    let v = evaluate(&rto(""), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    // Measured from 15.6s, not the planned 15s: the window from 15.99s holds one failure.
    assert_eq!(v.value, Some(Measured::Seconds(ms(390))));
}

#[tokio::test]
async fn rto_above_max_fails_with_both_figures() {
    let (_store, ev) = with_spans(switching(ms(18_610)), secs(15)).await;
    let v = evaluate(&rto(""), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    assert_eq!(v.measured, "client 3.6s; spans 3.6s");
    assert!(
        v.message.starts_with("client: recovered 3.6s after t=15s"),
        "{}",
        v.message
    );
}

#[tokio::test]
async fn rto_exactly_at_max_passes() {
    // Last failure due at 18.0s: the window from there holds it and 99 successes.
    let (_store, ev) = with_spans(switching(ms(18_010)), secs(15)).await;
    let v = evaluate(&rto(""), &ev).await;
    assert_status(only(&v), Status::Pass);
    assert_eq!(only(&v).value, Some(Measured::Seconds(secs(3))));
}

#[tokio::test]
async fn rto_never_recovered_fails_with_the_best_figure() {
    let (_store, ev) = with_spans(switching(secs(31)), secs(15)).await;
    let v = evaluate(&rto(""), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Fail);
    assert_eq!(v.checks[0].measured, "not recovered in 15s");
    assert_eq!(
        v.checks[0].message,
        "not recovered by the end (t=30s); no good window; best window 0% at t=15s"
    );
}

#[tokio::test]
async fn rto_with_latency_waits_for_latency_too() {
    // Successes from 16.34s, but slow (100ms) until 18s.
    let recs = records(100, ms(0), secs(30), |_, at| {
        let outcome = if at >= secs(5) && at < ms(16_340) {
            status(503)
        } else {
            ok()
        };
        let latency = if at >= secs(5) && at < secs(18) {
            ms(100)
        } else {
            ms(5)
        };
        (outcome, latency)
    });
    let (_store, ev) = with_spans(recs, secs(15)).await;
    let plan = plan(&format!(
        "{CRASH}expect:\n  - rto: {{ from: crash.end, success: \">= 99%\", window: 1s, hold: 2s, max: 5s, latency: \"p(99) < 50ms\" }}\n"
    ));
    let v = evaluate(&plan, &ev).await;
    let v = only(&v);
    assert_status(v, Status::Pass);
    // Successes came back at 16.34s, fast ones at 18s; [s, s + 1s) holds at most one slow
    // request (its 99th percentile is fast) from s = 17.99s.
    assert_eq!(v.checks[0].value, Some(Measured::Seconds(ms(2_990))));
    assert_eq!(v.checks[1].value, Some(Measured::Seconds(ms(2_990))));
}

#[tokio::test]
async fn rto_when_the_load_ends_too_early_is_inconclusive() {
    // The fault ends at 27s: 27 + max 3s + hold 2s + window 1s is past the load's end (30s).
    let (_store, ev) = with_spans(switching(secs(31)), secs(27)).await;
    let v = evaluate(&rto(""), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.checks[0].evidence["missing"], "ended_too_early");
}

#[tokio::test]
async fn rto_without_traces_is_inconclusive_even_when_clients_recovered() {
    let ev = evidence(
        origin(),
        switching(ms(16_000)),
        &[("crash", secs(5), Some(secs(15)))],
    );
    let v = evaluate(&rto(""), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.checks[0].status, Status::Pass);
    assert_eq!(v.message, "spans: no trace backend in this run");
}

#[tokio::test]
async fn rto_with_an_empty_trace_backend_is_inconclusive() {
    let origin = origin();
    let store = Store::start(origin).await;
    let mut ev = evidence(
        origin,
        switching(ms(16_000)),
        &[("crash", secs(5), Some(secs(15)))],
    );
    ev.traces = Some(store.backend());
    let v = evaluate(&rto(""), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.checks[1].evidence["missing"], "no_spans");
}

#[tokio::test]
async fn rto_on_sparse_records_is_inconclusive_not_failed() {
    // 5 requests a second: no 1s window holds the 10 records a ratio needs.
    let recs = records(5, ms(0), secs(30), |_, _| (ok(), ms(5)));
    let (_store, ev) = with_spans(recs, secs(15)).await;
    let v = evaluate(&rto(""), &ev).await;
    let v = only(&v);
    assert_status(v, Status::Inconclusive);
    assert_eq!(v.checks[0].evidence["missing"], "undecided_windows");
}
