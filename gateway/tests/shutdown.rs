//! Graceful shutdown of the real binary: SIGTERM lets in-flight requests finish, the drain
//! deadline bounds how long that may take, and the process exits 0 either way.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::StatusCode;
use support::{Gateway, Http, Signal, TestUpstream, WAIT, wait_until};

/// A gateway with one route `/**` to `upstream` and the given drain timeout.
async fn gateway_draining_for(upstream: &TestUpstream, drain_timeout: &str) -> Gateway {
    Gateway::start(&format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
shutdown:
  drain_timeout: {drain_timeout}
upstreams:
  slow:
    endpoints:
      - address: {a}
routes:
  - name: all
    match:
      path: /**
    upstream: slow
    timeout: 30s
",
        a = upstream.authority()
    ))
    .await
}

/// Whether a new TCP connection to `addr` is refused.
async fn refused(addr: SocketAddr) -> bool {
    match tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Err(e)) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        Ok(Ok(_)) => false,
        Err(_) => panic!("connect to {addr} neither succeeded nor failed within {WAIT:?}"),
    }
}

/// The upstream holds the request until the test releases it, so it is in flight for as long
/// as the test needs to observe the drain, whatever the machine's speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sigterm_lets_in_flight_request_finish_and_exits_0() {
    let slow = TestUpstream::start("slow").await;
    slow.hold_requests(true);
    let mut gw = gateway_draining_for(&slow, "10s").await;
    let in_flight = tokio::spawn({
        let url = gw.url("/in-flight");
        async move { Http::http1().get(&url).await }
    });
    wait_until(WAIT, "the upstream holds the request", || async {
        slow.requests() == 1
    })
    .await;

    gw.signal(Signal::SIGTERM);

    // The listener closes at once: new connections are refused while the request drains.
    wait_until(WAIT, "the data listener refuses connections", || async {
        refused(gw.data).await
    })
    .await;
    assert!(
        !in_flight.is_finished(),
        "request ended before the upstream answered"
    );
    slow.hold_requests(false);
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    // HTTP/1.1: the last response on a draining connection says so.
    assert_eq!(reply.header("connection"), Some("close"), "{reply:?}");
    assert_eq!(reply.echo().path, "/in-flight");
    let status = gw.wait_exit(WAIT).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(refused(gw.data).await, "data port still accepts after exit");
    assert!(
        refused(gw.admin).await,
        "admin port still accepts after exit"
    );
    assert_eq!((slow.requests(), slow.answered()), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sigterm_lets_in_flight_http2_stream_finish_and_exits_0() {
    let slow = TestUpstream::start("slow").await;
    slow.hold_requests(true);
    let mut gw = gateway_draining_for(&slow, "10s").await;
    let in_flight = tokio::spawn({
        let url = gw.url("/h2-in-flight");
        async move { Http::http2().get(&url).await }
    });
    wait_until(WAIT, "the upstream holds the request", || async {
        slow.requests() == 1
    })
    .await;

    gw.signal(Signal::SIGTERM);

    wait_until(WAIT, "the data listener refuses connections", || async {
        refused(gw.data).await
    })
    .await;
    assert!(
        !in_flight.is_finished(),
        "stream ended before the upstream answered"
    );
    slow.hold_requests(false);
    let reply = in_flight.await.unwrap();
    assert_eq!(
        (reply.status, reply.version),
        (StatusCode::OK, http::Version::HTTP_2)
    );
    assert_eq!(reply.echo().path, "/h2-in-flight");
    let status = gw.wait_exit(WAIT).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!((slow.requests(), slow.answered()), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drain_deadline_closes_slow_request_and_exits_0() {
    let slow = TestUpstream::start("slow").await;
    slow.set_delay(Duration::from_secs(10));
    let mut gw = gateway_draining_for(&slow, "200ms").await;
    let in_flight = tokio::spawn({
        let url = gw.url("/stuck");
        async move {
            let http = Http::http1();
            let sent = http
                .try_send(
                    support::client::request(http::Method::GET, &url)
                        .body(support::empty())
                        .unwrap(),
                    Duration::from_secs(30),
                )
                .await;
            (sent, Instant::now())
        }
    });
    wait_until(WAIT, "the upstream holds the request", || async {
        slow.requests() == 1
    })
    .await;

    let signalled = Instant::now();
    gw.signal(Signal::SIGTERM);
    let status = gw.wait_exit(WAIT).await;
    let exited = signalled.elapsed();

    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        exited >= Duration::from_millis(200) && exited < Duration::from_secs(5),
        "exited {exited:?} after SIGTERM with a 200ms drain deadline"
    );
    let (sent, ended) = in_flight.await.unwrap();
    let error = sent.expect_err("the client must not get a response");
    assert!(error.starts_with("request failed"), "{error}");
    let client_saw_close = ended - signalled;
    assert!(
        client_saw_close >= Duration::from_millis(200) && client_saw_close < Duration::from_secs(5),
        "connection closed {client_saw_close:?} after SIGTERM"
    );
    assert_eq!(slow.answered(), 0, "the upstream never answered");
    assert!(refused(gw.data).await, "data port still accepts after exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sigint_on_idle_gateway_exits_0() {
    let slow = TestUpstream::start("idle").await;
    let mut gw = gateway_draining_for(&slow, "10s").await;
    assert_eq!(gw.http.get(&gw.url("/once")).await.status, StatusCode::OK);

    let signalled = Instant::now();
    gw.signal(Signal::SIGINT);
    let status = gw.wait_exit(WAIT).await;

    // Nothing in flight, and the pooled keep-alive connection is idle: no drain wait.
    let exited = signalled.elapsed();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        exited < Duration::from_secs(5),
        "exited {exited:?} after SIGINT"
    );
    assert!(refused(gw.data).await, "data port still accepts after exit");
}

/// `/admin/config` shows a reloaded `shutdown.drain_timeout` as the running value, and nothing
/// says it needs a restart (unlike listener addresses), so SIGTERM must honour it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_uses_drain_timeout_of_the_reloaded_config() {
    let slow = TestUpstream::start("slow").await;
    slow.set_delay(Duration::from_secs(30));
    let mut gw = gateway_draining_for(&slow, "20s").await;
    let reloaded = std::fs::read_to_string(gw.config_path())
        .unwrap()
        .replace("drain_timeout: 20s", "drain_timeout: 200ms");
    gw.rewrite_config(&reloaded);
    let reply = gw
        .http
        .send(
            support::client::request(http::Method::POST, &gw.admin_url("/admin/reload"))
                .body(support::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let config = gw.admin_json("/admin/config").await;
    assert_eq!(config["shutdown"]["drain_timeout"], "200ms", "{config}");
    let _in_flight = tokio::spawn({
        let url = gw.url("/stuck");
        async move {
            Http::http1()
                .try_send(
                    support::client::request(http::Method::GET, &url)
                        .body(support::empty())
                        .unwrap(),
                    Duration::from_secs(60),
                )
                .await
        }
    });
    wait_until(WAIT, "the upstream holds the request", || async {
        slow.requests() == 1
    })
    .await;

    let signalled = Instant::now();
    gw.signal(Signal::SIGTERM);
    let status = gw.wait_exit(Duration::from_secs(5)).await;
    let exited = signalled.elapsed();

    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        exited >= Duration::from_millis(200) && exited < Duration::from_secs(5),
        "exited {exited:?} after SIGTERM with a reloaded 200ms drain deadline"
    );
}

/// The `listening` line tells scripts and supervisors the gateway is up, so a SIGTERM sent
/// right after it must already get the graceful path (exit 0), not the default action (killed
/// by the signal). Twenty starts, because each one is a race the gateway may win by chance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sigterm_right_after_listening_line_exits_0() {
    let yaml = "listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\n";
    let mut outcomes = Vec::new();
    for _ in 0..20 {
        let mut gw = Gateway::start(yaml).await;
        gw.signal(Signal::SIGTERM);
        outcomes.push(gw.wait_exit(WAIT).await);
    }

    let failed: Vec<_> = outcomes.iter().filter(|s| s.code() != Some(0)).collect();
    assert!(
        failed.is_empty(),
        "{} of 20 starts did not exit 0 on an early SIGTERM: {failed:?}",
        failed.len()
    );
}
