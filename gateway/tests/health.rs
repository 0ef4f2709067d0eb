//! Active health checks through the real binary: endpoints leave and rejoin the rotation after
//! their thresholds, panic mode, `panic_threshold: off`, and readiness (`/readyz`).

mod support;

use http::StatusCode;
use support::{Gateway, Http, Signal, TestUpstream, WAIT, wait_until};

/// A gateway with upstream `pool` (round robin over `endpoints`) checked every `interval`, and
/// one route `/**` to it. `extra` is added under the upstream (e.g. `panic_threshold: off`).
async fn checked_gateway(endpoints: &[&TestUpstream], health_check: &str, extra: &str) -> Gateway {
    let endpoints: String = endpoints
        .iter()
        .map(|u| format!("      - address: {}\n", u.authority()))
        .collect();
    Gateway::start(&format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
upstreams:
  pool:
    balancer: round_robin
    endpoints:
{endpoints}    health_check:
      path: /healthz
{health_check}{extra}routes:
  - name: all
    match:
      path: /**
    upstream: pool
"
    ))
    .await
}

/// 200ms probes, three in a row to flip either way.
///
/// NOTE(load): the healthy control endpoint must not flip on a scheduler stall of the loaded
/// test machine: that takes three probes in a row answered later than 200ms, where one 100ms
/// stall (seen with 100ms probes and two-probe thresholds) is enough for a false verdict.
const FAST_CHECKS: &str = "      interval: 200ms
      timeout: 200ms
      unhealthy_after: 3
      healthy_after: 3
";
/// The thresholds in [`FAST_CHECKS`].
const THRESHOLD: u64 = 3;

/// Asserts the control endpoint `a` is still healthy, so a broken expectation about another
/// endpoint is not misread when the machine was too loaded for the probe timeout.
async fn assert_control_healthy(gw: &Gateway, control: &TestUpstream) {
    let endpoint = gw.endpoint("pool", &control.authority()).await;
    assert_eq!(
        endpoint["healthy"], true,
        "control endpoint {} lost its health (probe timeouts on an overloaded machine?): {endpoint}",
        control.name
    );
}

/// Sends `n` requests that must all succeed.
async fn send_ok(gw: &Gateway, n: usize) {
    for i in 0..n {
        let reply = gw.http.get(&gw.url(&format!("/work/{i}"))).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_failing_endpoint_gets_no_traffic_until_it_recovers() {
    let (a, b) = (
        TestUpstream::start("a").await,
        TestUpstream::start("b").await,
    );
    let gw = checked_gateway(&[&a, &b], FAST_CHECKS, "").await;
    gw.wait_ready().await;

    // b starts failing its probes: out after THRESHOLD failed probes in a row.
    let failed_before = b.probes_failed();
    b.set_healthy(false);
    gw.wait_endpoint_health("pool", &b.authority(), false).await;
    assert!(
        b.probes_failed() - failed_before >= THRESHOLD,
        "marked unhealthy after {} failed probes, unhealthy_after is {THRESHOLD}",
        b.probes_failed() - failed_before
    );
    let pool = gw.upstream("pool").await;
    assert_eq!(pool["healthy_endpoints"], 1, "{pool}");
    assert_eq!(pool["panic"], false, "{pool}");
    let (a_before, b_before) = (a.requests(), b.requests());
    send_ok(&gw, 20).await;
    assert_control_healthy(&gw, &a).await;
    assert_eq!((a.requests() - a_before, b.requests() - b_before), (20, 0));

    // b passes again: back after THRESHOLD good probes in a row, and gets its half.
    let ok_before = b.probes_ok();
    b.set_healthy(true);
    gw.wait_endpoint_health("pool", &b.authority(), true).await;
    assert!(
        b.probes_ok() - ok_before >= THRESHOLD,
        "marked healthy after {} good probes, healthy_after is {THRESHOLD}",
        b.probes_ok() - ok_before
    );
    let pool = gw.upstream("pool").await;
    assert_eq!(pool["healthy_endpoints"], 2, "{pool}");
    let (a_before, b_before) = (a.requests(), b.requests());
    send_ok(&gw, 20).await;
    assert_control_healthy(&gw, &a).await;
    assert_eq!((a.requests() - a_before, b.requests() - b_before), (10, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probe_unanswered_within_timeout_counts_as_failure() {
    let a = TestUpstream::start("a").await;
    a.hold_probes(true);
    let gw = checked_gateway(
        &[&a],
        "      interval: 100ms\n      timeout: 50ms\n      unhealthy_after: 2\n",
        "",
    )
    .await;

    gw.wait_endpoint_health("pool", &a.authority(), false).await;

    let endpoint = gw.endpoint("pool", &a.authority()).await;
    assert_eq!(endpoint["probed"], true, "{endpoint}");
    assert!(a.probes() >= 2, "{} probes", a.probes());
    assert_eq!(
        a.probes_ok() + a.probes_failed(),
        0,
        "no probe was answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_all_endpoints_unhealthy_engages_panic_mode_by_default() {
    let (a, b) = (
        TestUpstream::start("a").await,
        TestUpstream::start("b").await,
    );
    a.set_healthy(false);
    b.set_healthy(false);
    let gw = checked_gateway(&[&a, &b], FAST_CHECKS, "").await;

    wait_until(WAIT, "pool has no healthy endpoint", || async {
        gw.upstream("pool").await["healthy_endpoints"] == 0
    })
    .await;
    let pool = gw.upstream("pool").await;
    assert_eq!(pool["panic"], true, "{pool}");

    // Every endpoint takes traffic rather than none.
    send_ok(&gw, 10).await;
    assert_eq!((a.requests(), b.requests()), (5, 5));
    for upstream in [&a, &b] {
        let endpoint = gw.endpoint("pool", &upstream.authority()).await;
        assert_eq!(endpoint["healthy"], false, "{endpoint}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_all_endpoints_unhealthy_with_panic_off_returns_503() {
    let (a, b) = (
        TestUpstream::start("a").await,
        TestUpstream::start("b").await,
    );
    a.set_healthy(false);
    b.set_healthy(false);
    let gw = checked_gateway(&[&a, &b], FAST_CHECKS, "    panic_threshold: off\n").await;

    wait_until(WAIT, "pool has no healthy endpoint", || async {
        gw.upstream("pool").await["healthy_endpoints"] == 0
    })
    .await;

    let reply = gw.http.get(&gw.url("/work")).await;

    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
    let body = reply.json();
    assert_eq!(body["error"], "no_healthy_endpoint", "{body}");
    assert_eq!(body["status"], 503, "{body}");
    assert_eq!((a.requests(), b.requests()), (0, 0));
    let pool = gw.upstream("pool").await;
    assert_eq!(pool["panic"], false, "{pool}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_until_the_first_probe_completes() {
    let a = TestUpstream::start("a").await;
    // The first probe is held unanswered, so "before the first probe completes" lasts as long
    // as the test needs; the timeout is long enough never to end it.
    a.hold_probes(true);
    let gw = checked_gateway(&[&a], "      interval: 10s\n      timeout: 10s\n", "").await;
    wait_until(WAIT, "the first probe reached the upstream", || async {
        a.probes() == 1
    })
    .await;

    let before = gw.admin_get("/readyz").await;

    assert_eq!(before.status, StatusCode::SERVICE_UNAVAILABLE, "{before:?}");
    assert_eq!(before.json()["reason"], "waiting for first health checks");
    let endpoint = gw.endpoint("pool", &a.authority()).await;
    assert_eq!(endpoint["probed"], false, "{endpoint}");

    a.hold_probes(false);
    gw.wait_ready().await;
    let after = gw.admin_get("/readyz").await;
    assert_eq!(after.json()["status"], "ready");
    let endpoint = gw.endpoint("pool", &a.authority()).await;
    assert_eq!(endpoint["probed"], true, "{endpoint}");
    assert_eq!(endpoint["healthy"], true, "{endpoint}");
    assert_eq!(a.probes_ok(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_draining() {
    let a = TestUpstream::start("a").await;
    a.hold_requests(true);
    let mut gw = Gateway::start(&format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
shutdown:
  drain_timeout: 10s
upstreams:
  slow:
    endpoints:
      - address: {a}
routes:
  - name: all
    match:
      path: /**
    upstream: slow
",
        a = a.authority()
    ))
    .await;
    gw.wait_ready().await;
    let in_flight = tokio::spawn({
        let url = gw.url("/slow");
        async move { Http::http1().get(&url).await }
    });
    wait_until(WAIT, "the upstream holds the request", || async {
        a.requests() == 1
    })
    .await;

    gw.signal(Signal::SIGTERM);

    // The admin listener keeps answering while the data plane drains.
    wait_until(WAIT, "/readyz says draining", || async {
        let reply = gw.admin_get("/readyz").await;
        reply.status == StatusCode::SERVICE_UNAVAILABLE && reply.json()["reason"] == "draining"
    })
    .await;
    assert!(
        !in_flight.is_finished(),
        "request ended before the upstream answered"
    );
    a.hold_requests(false);
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.echo().upstream, "a");
    let status = gw.wait_exit(WAIT).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
}
