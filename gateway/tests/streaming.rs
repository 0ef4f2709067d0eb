//! Bodies stream through the gateway: a 200 MiB upload and a 200 MiB download arrive with
//! exact byte counts while the gateway's peak resident memory stays within a few MiB of its
//! warmed-up baseline.
//!
//! Why 24 MiB: a streaming proxy holds at most a few buffers per connection (hyper's read
//! buffer tops out around 400 KiB, plus the frame in flight to the other side); we measure 1
//! to 2 MiB of peak growth in a debug build. The rest of the bound is allocator slack: glibc
//! malloc gives each worker thread its own arena, and freed chunks are not always returned to
//! the OS at once, so the peak can sit a few MiB above steady state on a busy two-core machine.
//! Buffering even an eighth of the body (25 MiB) would exceed the bound, so it still catches
//! any whole-body buffering, which would cost 200 MiB.

mod support;

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use support::client::request;
use support::{Gateway, GeneratedBody, Http, TestUpstream, full};

const BODY_LEN: u64 = 200 * 1024 * 1024;
/// Peak resident memory the gateway may add over its warmed-up baseline (see the module docs).
const RSS_GROWTH_LIMIT_KIB: u64 = 24 * 1024;
/// Bound on one 200 MiB transfer through a debug build on a loaded machine.
const TRANSFER_LIMIT: Duration = Duration::from_secs(120);

async fn streaming_gateway(upstream: &TestUpstream) -> Gateway {
    Gateway::start(&format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
# The 200 MiB upload is above the default body limit (64 MiB).
limits:
  max_body_bytes: 1GiB
upstreams:
  files:
    endpoints:
      - address: {a}
routes:
  - name: all
    match:
      path: /**
    upstream: files
    timeout: 60s
",
        a = upstream.authority(),
    ))
    .await
}

/// Reads a response body frame by frame, keeping only the count.
async fn download(http: &Http, url: &str) -> u64 {
    let response = http
        .head(
            request(Method::GET, url).body(support::empty()).unwrap(),
            TRANSFER_LIMIT,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut received = 0u64;
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.expect("download body frame");
            if let Some(data) = frame.data_ref() {
                received += data.len() as u64;
            }
        }
    };
    tokio::time::timeout(TRANSFER_LIMIT, read)
        .await
        .expect("download finished in time");
    received
}

/// One small upload and one small download, so connection pools, buffers and thread arenas
/// exist before the baseline is taken; returns the baseline `VmRSS` in KiB.
async fn warm_up(gw: &Gateway) -> u64 {
    for _ in 0..3 {
        let upload = gw
            .http
            .send(
                request(Method::POST, &gw.url("/warm-up"))
                    .body(full(vec![b'w'; 1024 * 1024]))
                    .unwrap(),
            )
            .await;
        assert_eq!(upload.echo().body_bytes, 1024 * 1024);
        assert_eq!(
            download(&gw.http, &gw.url("/bytes/1048576")).await,
            1024 * 1024
        );
    }
    gw.memory_kib("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_200mib_upload_arrives_whole_without_buffering() {
    let files = TestUpstream::start("files").await;
    let gw = streaming_gateway(&files).await;
    let baseline = warm_up(&gw).await;

    let started = Instant::now();
    let reply = gw
        .http
        .try_send(
            request(Method::POST, &gw.url("/upload"))
                .body(http_body_util::BodyExt::boxed(GeneratedBody::new(BODY_LEN)))
                .unwrap(),
            TRANSFER_LIMIT,
        )
        .await
        .expect("upload through the gateway");
    let took = started.elapsed();

    let echo = reply.echo();
    assert_eq!(echo.body_bytes, BODY_LEN);
    assert_eq!(echo.path, "/upload");
    let peak = gw.memory_kib("VmHWM");
    let growth = peak.saturating_sub(baseline);
    eprintln!("upload: {took:?}, baseline VmRSS {baseline} KiB, VmHWM {peak} KiB");
    assert!(
        growth <= RSS_GROWTH_LIMIT_KIB,
        "gateway peak RSS grew {growth} KiB (baseline {baseline} KiB, peak {peak} KiB) for a \
         {BODY_LEN}-byte upload; limit {RSS_GROWTH_LIMIT_KIB} KiB"
    );
    support::wait_until(support::WAIT, "in_flight back to 0", || async {
        gw.endpoint("files", &files.authority()).await["in_flight"] == 0
    })
    .await;
    // Three warm-up uploads and downloads, then the upload.
    assert_eq!(files.requests(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_200mib_download_arrives_whole_without_buffering() {
    let files = TestUpstream::start("files").await;
    let gw = streaming_gateway(&files).await;
    let baseline = warm_up(&gw).await;

    let started = Instant::now();
    let received = download(&gw.http, &gw.url(&format!("/bytes/{BODY_LEN}"))).await;
    let took = started.elapsed();

    assert_eq!(received, BODY_LEN);
    let peak = gw.memory_kib("VmHWM");
    let growth = peak.saturating_sub(baseline);
    eprintln!("download: {took:?}, baseline VmRSS {baseline} KiB, VmHWM {peak} KiB");
    assert!(
        growth <= RSS_GROWTH_LIMIT_KIB,
        "gateway peak RSS grew {growth} KiB (baseline {baseline} KiB, peak {peak} KiB) for a \
         {BODY_LEN}-byte download; limit {RSS_GROWTH_LIMIT_KIB} KiB"
    );
    // The endpoint counts the request as in flight until its body has been fully sent.
    support::wait_until(support::WAIT, "in_flight back to 0", || async {
        gw.endpoint("files", &files.authority()).await["in_flight"] == 0
    })
    .await;
    // Three warm-up uploads and downloads, then the download.
    assert_eq!(files.requests(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_upload_of_unknown_length_is_forwarded_chunked() {
    let files = TestUpstream::start("files").await;
    let gw = streaming_gateway(&files).await;
    let len = 16 * 1024 * 1024;

    let reply = gw
        .http
        .try_send(
            request(Method::PUT, &gw.url("/chunked"))
                .body(BodyExt::boxed(GeneratedBody::unknown_length(len)))
                .unwrap(),
            TRANSFER_LIMIT,
        )
        .await
        .expect("chunked upload through the gateway");

    let echo = reply.echo();
    assert_eq!(echo.body_bytes, len);
    // The client's framing is hop-by-hop; the gateway frames the upstream hop itself.
    assert_eq!(echo.header("transfer-encoding"), Some("chunked"));
    assert_eq!(echo.header("content-length"), None);
    assert_eq!(files.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_client_abort_mid_download_releases_the_upstream() {
    let files = TestUpstream::start("files").await;
    let gw = streaming_gateway(&files).await;
    let huge = 64 * BODY_LEN;
    let response = gw
        .http
        .head(
            request(Method::GET, &gw.url(&format!("/bytes/{huge}")))
                .body(support::empty())
                .unwrap(),
            TRANSFER_LIMIT,
        )
        .await;
    let mut body = response.into_body();
    let mut received = 0u64;
    while received < 1024 * 1024 {
        let frame = tokio::time::timeout(support::WAIT, body.frame())
            .await
            .expect("a frame in time")
            .expect("body not over")
            .expect("frame");
        received += frame.data_ref().map_or(0, |d| d.len() as u64);
    }
    assert_eq!(
        files.connections(),
        1,
        "one pooled connection carries the download"
    );

    drop(body);

    // The gateway stops pulling from the upstream: the request ends and its connection, which
    // cannot be reused mid-body, is closed.
    support::wait_until(support::WAIT, "in_flight back to 0", || async {
        gw.endpoint("files", &files.authority()).await["in_flight"] == 0
    })
    .await;
    support::wait_until(
        support::WAIT,
        "the upstream connection is closed",
        || async { files.connections() == 0 },
    )
    .await;
    assert_eq!(files.requests(), 1);
}
