//! Binary tests of `chaos upstream`: the real process, real sockets, real signals.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream;
use http::{Method, Request, StatusCode, Version};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use support::{Http, Upstream, WAIT, run_to_end};

const UPSTREAM_HEADER: &str = chaos::UPSTREAM_HEADER;

// --- echo -----------------------------------------------------------------------------

#[tokio::test]
async fn echo_get_with_query_and_headers_reports_them() {
    let up = Upstream::start(&["--name", "users-a"]).await;
    let request = Request::get(up.http.uri("/api/users/42?a=1&b=two"))
        .header("X-Trace", "abc")
        .header("x-multi", "one")
        .header("X-Multi", "two")
        .body(http_body_util::Full::new(Bytes::new()).boxed())
        .unwrap();
    let reply = up.http.request(request, WAIT).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(UPSTREAM_HEADER), "users-a");
    assert_eq!(reply.header("content-type"), "application/json");
    let echo = reply.json();
    assert_eq!(echo["upstream"], "users-a");
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/api/users/42");
    assert_eq!(echo["query"], "a=1&b=two");
    assert_eq!(echo["headers"]["x-trace"], "abc");
    assert_eq!(echo["headers"]["x-multi"], "one, two");
    assert_eq!(echo["headers"]["host"], up.addr.to_string());
    assert_eq!(echo["body_bytes"], 0);
}

#[tokio::test]
async fn echo_post_with_body_reports_method_and_body_bytes() {
    let up = Upstream::start(&["--name", "b"]).await;
    let reply = up
        .http
        .send(Method::POST, "/submit", Bytes::from(vec![b'x'; 100_000]))
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    let echo = reply.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/submit");
    assert_eq!(echo["query"], Value::Null);
    assert_eq!(echo["body_bytes"], 100_000);
    assert_eq!(echo["headers"]["content-length"], "100000");
}

#[tokio::test]
async fn echo_streamed_200mib_upload_counts_bytes_without_buffering() {
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 3200; // 200 MiB
    let up = Upstream::start(&["--name", "big"]).await;
    let chunk = Bytes::from(vec![7u8; CHUNK]);
    let frames = (0..CHUNKS).map(move |_| Ok(Frame::data(chunk.clone())));
    let request = Request::put(up.http.uri("/upload"))
        .body(StreamBody::new(stream::iter(frames)).boxed())
        .unwrap();
    let reply = up.http.request(request, Duration::from_secs(120)).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["body_bytes"], (CHUNK * CHUNKS) as u64);
    // Buffering the upload would need 200 MiB; streaming needs a few frames.
    let peak_kib = up.peak_rss_kib();
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
}

#[tokio::test]
async fn echo_over_http2_prior_knowledge_answers_with_http2() {
    let up = Upstream::start(&["--name", "h2"]).await;
    let h2 = Http::http2(up.addr);
    let reply = h2
        .send(Method::POST, "/over/h2?v=2", Bytes::from_static(b"abc"))
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.version, Version::HTTP_2);
    assert_eq!(reply.header(UPSTREAM_HEADER), "h2");
    let echo = reply.json();
    assert_eq!(
        (echo["method"].clone(), echo["path"].clone()),
        (json!("POST"), json!("/over/h2"))
    );
    assert_eq!(echo["query"], "v=2");
    assert_eq!(echo["body_bytes"], 3);

    // The same port keeps serving HTTP/1.1.
    let reply = up.get("/over/h1").await;
    assert_eq!(
        (reply.status, reply.version),
        (StatusCode::OK, Version::HTTP_11)
    );
}

// --- healthz --------------------------------------------------------------------------

#[tokio::test]
async fn healthz_toggled_by_behavior_returns_503_then_200() {
    let up = Upstream::start(&["--name", "hz"]).await;
    let reply = up.get("/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"status": "ok", "upstream": "hz"}));

    up.set_behavior(&json!({"healthy": false})).await;
    let reply = up.get("/healthz").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header(UPSTREAM_HEADER), "hz");
    assert_eq!(
        reply.json(),
        json!({"status": "unhealthy", "upstream": "hz"})
    );

    up.set_behavior(&json!({"healthy": true})).await;
    assert_eq!(up.get("/healthz").await.status, StatusCode::OK);
}

// --- behavior switch ------------------------------------------------------------------

#[tokio::test]
async fn behavior_partial_update_returns_full_behavior_and_keeps_other_fields() {
    let up = Upstream::start(&["--name", "bh", "--error-status", "502"]).await;
    let initial = up.get("/_chaos/behavior").await;
    assert_eq!(initial.status, StatusCode::OK);
    assert_eq!(
        initial.json(),
        json!({"latency": "0ms", "error_rate": 0.0, "error_status": 502, "hang": false, "healthy": true})
    );

    let updated = up
        .set_behavior(&json!({"latency": "7ms", "error_rate": 0.0}))
        .await;
    assert_eq!(
        updated,
        json!({"latency": "7ms", "error_rate": 0.0, "error_status": 502, "hang": false, "healthy": true})
    );
    assert_eq!(up.get("/_chaos/behavior").await.json(), updated);
}

#[tokio::test]
async fn behavior_unknown_field_returns_400_naming_it_and_changes_nothing() {
    let up = Upstream::start(&["--name", "uf"]).await;
    let before = up.get("/_chaos/behavior").await.json();

    let reply = up
        .post_behavior(&json!({"colour": "red", "hang": true}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.header(UPSTREAM_HEADER), "uf");
    let refusal = reply.json();
    assert_eq!(
        refusal["problems"].as_array().unwrap().len(),
        1,
        "{refusal}"
    );
    assert_eq!(refusal["problems"][0]["field"], "colour");
    let message = refusal["problems"][0]["message"].as_str().unwrap();
    assert!(message.contains("unknown field `colour`"), "{message}");
    assert_eq!(
        refusal["allowed_fields"],
        json!(["latency", "error_rate", "error_status", "hang", "healthy"])
    );
    assert_eq!(up.get("/_chaos/behavior").await.json(), before);
}

#[tokio::test]
async fn behavior_invalid_values_return_400_saying_what_is_allowed() {
    let up = Upstream::start(&["--name", "iv"]).await;
    let cases = [
        (
            json!({"error_rate": 2}),
            "error_rate must be a number from 0.0 to 1.0, got 2",
        ),
        (
            json!({"error_status": 200}),
            "error_status must be an integer from 400 to 599, got 200",
        ),
        (
            json!({"latency": 5}),
            r#"latency must be a duration string with a unit, such as "250ms" or "2s", got 5"#,
        ),
        (
            json!({"hang": "yes"}),
            r#"hang must be true or false, got "yes""#,
        ),
    ];
    for (update, expected) in cases {
        let reply = up.post_behavior(&update).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{update}");
        assert_eq!(reply.json()["problems"][0]["message"], expected, "{update}");
    }
    let reply = up
        .http
        .send(Method::POST, "/_chaos/behavior", Bytes::from("not json"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["problems"][0]["field"], Value::Null);
}

// --- error rate -----------------------------------------------------------------------

#[tokio::test]
async fn error_rate_one_answers_every_request_with_error_status() {
    let up = Upstream::start(&["--name", "er"]).await;
    up.set_behavior(&json!({"error_rate": 1.0, "error_status": 503}))
        .await;

    for i in 0..20 {
        let reply = up.get(&format!("/item/{i}")).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.header(UPSTREAM_HEADER), "er");
        assert_eq!(
            reply.json(),
            json!({"error": "injected failure", "upstream": "er", "status": 503})
        );
    }
    // Health and control are not subject to the error rate.
    assert_eq!(up.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(up.get("/_chaos/behavior").await.status, StatusCode::OK);

    up.set_behavior(&json!({"error_rate": 0.0})).await;
    assert_eq!(up.get("/item/after").await.status, StatusCode::OK);
}

/// The failure pattern of `n` sequential requests to a fresh upstream.
async fn failure_pattern(args: &[&str], n: usize) -> Vec<bool> {
    let up = Upstream::start(args).await;
    let mut pattern = Vec::with_capacity(n);
    for i in 0..n {
        let status = up.get(&format!("/r/{i}")).await.status;
        assert!(
            status == StatusCode::OK || status == StatusCode::INTERNAL_SERVER_ERROR,
            "{status}"
        );
        pattern.push(status == StatusCode::INTERNAL_SERVER_ERROR);
    }
    pattern
}

#[tokio::test]
async fn error_rate_with_fixed_seed_fails_the_same_requests_each_run() {
    const N: usize = 200;
    let args = ["--name", "seeded", "--error-rate", "0.3", "--seed", "42"];
    let first = failure_pattern(&args, N).await;
    let second = failure_pattern(&args, N).await;
    assert_eq!(first, second, "same seed, same requests: same failures");

    // Binomial(200, 0.3): mean 60, sd ~6.5; allow about 4.5 sd either side.
    let failures = first.iter().filter(|failed| **failed).count();
    assert!(
        (30..=90).contains(&failures),
        "{failures} failures out of {N}"
    );
}

#[tokio::test]
async fn error_rate_default_seed_derives_from_name() {
    const N: usize = 60;
    let by_name = failure_pattern(&["--name", "named", "--error-rate", "0.5"], N).await;
    let again = failure_pattern(&["--name", "named", "--error-rate", "0.5"], N).await;
    assert_eq!(by_name, again);
    let failures = by_name.iter().filter(|failed| **failed).count();
    // Binomial(60, 0.5): mean 30, sd ~3.9.
    assert!(
        (12..=48).contains(&failures),
        "{failures} failures out of {N}"
    );
}

// --- latency --------------------------------------------------------------------------

#[tokio::test]
async fn latency_50ms_delays_echo_and_healthz_between_50_and_500ms() {
    let up = Upstream::start(&["--name", "slow"]).await;
    up.set_behavior(&json!({"latency": "50ms"})).await;

    for path in ["/a", "/healthz", "/b"] {
        let start = Instant::now();
        let reply = up.get(path).await;
        let elapsed = start.elapsed();
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(
            elapsed >= Duration::from_millis(50) && elapsed <= Duration::from_millis(500),
            "{path} took {elapsed:?}"
        );
    }

    // Control paths ignore latency, so a drill can always switch it back off.
    up.set_behavior(&json!({"latency": "5s"})).await;
    let start = Instant::now();
    assert_eq!(up.get("/_chaos/behavior").await.status, StatusCode::OK);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

// --- hang -----------------------------------------------------------------------------

#[tokio::test]
async fn hang_holds_request_until_turned_off() {
    let up = Upstream::start(&["--name", "hang"]).await;
    up.set_behavior(&json!({"hang": true})).await;

    let mut held = std::pin::pin!(up.http.get("/held"));
    let mut held_health = std::pin::pin!(up.http.get("/healthz"));
    // Long enough for a local round trip many times over; a prompt answer means no hang.
    assert!(
        timeout(Duration::from_millis(300), &mut held)
            .await
            .is_err()
    );
    assert!(
        timeout(Duration::from_millis(50), &mut held_health)
            .await
            .is_err()
    );

    let behavior = up.set_behavior(&json!({"hang": false})).await;
    assert_eq!(behavior["hang"], false);
    let reply = timeout(WAIT, held).await.expect("released after hang off");
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["path"], "/held");
    let reply = timeout(WAIT, held_health)
        .await
        .expect("released after hang off");
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn hang_with_client_gone_releases_request_so_stop_is_immediate() {
    // A 30 s drain bound: if the abandoned request were still held, exit would take 30 s.
    let mut up = Upstream::start(&["--name", "gone", "--drain-timeout", "30s"]).await;
    up.set_behavior(&json!({"hang": true})).await;

    let mut socket = timeout(WAIT, TcpStream::connect(up.addr))
        .await
        .unwrap()
        .unwrap();
    let request = format!("GET /held HTTP/1.1\r\nhost: {}\r\n\r\n", up.addr);
    socket.write_all(request.as_bytes()).await.unwrap();
    // Prove the request is being held (control answers, the raw request does not), then
    // go away.
    assert_eq!(up.get("/_chaos/behavior").await.json()["hang"], true);
    drop(socket);
    // One more round trip gives the server time to see the close before the stop signal.
    assert_eq!(up.get("/_chaos/behavior").await.status, StatusCode::OK);

    up.signal(Signal::SIGTERM);
    let status = up.wait(WAIT).await;
    assert_eq!(status.code(), Some(0));
}

// --- download -------------------------------------------------------------------------

#[tokio::test]
async fn download_bytes_n_returns_exactly_n_pattern_bytes() {
    const N: usize = 1_000_003; // not a multiple of the chunk size
    let up = Upstream::start(&["--name", "dl"]).await;
    let reply = up.get(&format!("/_chaos/download?bytes={N}")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-length"), N.to_string());
    assert_eq!(reply.header(UPSTREAM_HEADER), "dl");
    assert_eq!(reply.body.len(), N);
    assert!(
        reply
            .body
            .iter()
            .enumerate()
            .all(|(i, byte)| usize::from(*byte) == i % 256)
    );
}

#[tokio::test]
async fn download_without_bytes_returns_400() {
    let up = Upstream::start(&["--name", "dl"]).await;
    let reply = up.get("/_chaos/download").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let error = reply.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("`bytes`"), "{error}");
}

// --- lifecycle and CLI ----------------------------------------------------------------

#[tokio::test]
async fn sigterm_or_sigint_while_idle_exits_zero() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let mut up = Upstream::start(&["--name", "stop"]).await;
        assert_eq!(up.get("/healthz").await.status, StatusCode::OK);
        up.signal(signal);
        assert_eq!(up.wait(WAIT).await.code(), Some(0), "{signal}");
    }
}

#[tokio::test]
async fn sigterm_with_request_in_flight_drains_it_then_exits_zero() {
    let mut up = Upstream::start(&["--name", "drain"]).await;
    up.set_behavior(&json!({"latency": "1s"})).await;

    let http = up.http.clone();
    let start = Instant::now();
    let mut in_flight = std::pin::pin!(http.get("/slow"));
    // Poll long enough for the request to reach the server, well under its 1 s latency.
    assert!(
        timeout(Duration::from_millis(300), &mut in_flight)
            .await
            .is_err()
    );
    up.signal(Signal::SIGTERM);

    let reply = timeout(WAIT, in_flight)
        .await
        .expect("drained request answered");
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(up.wait(WAIT).await.code(), Some(0));
}

#[tokio::test]
async fn flags_and_env_set_initial_behavior_with_flags_winning() {
    let env = [
        ("CHAOS_UPSTREAM_NAME", "from-env"),
        ("CHAOS_UPSTREAM_LATENCY", "3ms"),
        ("CHAOS_UPSTREAM_ERROR_STATUS", "503"),
        ("CHAOS_UPSTREAM_ERROR_RATE", "0.5"),
    ];
    let up = Upstream::start_with_env(&["--error-status", "429"], &env).await;
    let reply = up.get("/_chaos/behavior").await;
    assert_eq!(reply.header(UPSTREAM_HEADER), "from-env");
    assert_eq!(
        reply.json(),
        json!({"latency": "3ms", "error_rate": 0.5, "error_status": 429, "hang": false, "healthy": true})
    );
}

#[tokio::test]
async fn upstream_on_address_in_use_exits_3() {
    let first = Upstream::start(&["--name", "first"]).await;
    let addr = first.addr.to_string();
    let finished = run_to_end(&["upstream", "--listen", &addr, "--name", "second"]).await;
    assert_eq!(finished.status.code(), Some(3), "{finished:?}");
    assert_eq!(finished.stdout, "");
    assert!(
        finished
            .stderr
            .contains(&format!("cannot listen on {addr}")),
        "{}",
        finished.stderr
    );
}

#[tokio::test]
async fn upstream_with_invalid_flag_values_exits_2() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["upstream", "--name", "a", "--latency", "5"],
            "missing unit",
        ),
        (
            &["upstream", "--name", "a", "--error-rate", "1.5"],
            "from 0.0 to 1.0",
        ),
        (
            &["upstream", "--name", "bad name"],
            "must be 1 to 64 characters",
        ),
        (&["upstream"], "--name <NAME>"),
    ];
    for (args, expected) in cases {
        let finished = run_to_end(args).await;
        assert_eq!(finished.status.code(), Some(2), "{args:?}: {finished:?}");
        assert_eq!(finished.stdout, "", "{args:?}");
        assert!(
            finished.stderr.contains(expected),
            "{args:?}: {}",
            finished.stderr
        );
    }
}

#[tokio::test]
async fn help_documents_exit_codes_and_exits_0() {
    for args in [
        &["--help"][..],
        &["upstream", "--help"],
        &["upstream", "-h"],
    ] {
        let finished = run_to_end(args).await;
        assert_eq!(finished.status.code(), Some(0), "{args:?}");
        for line in ["0  success", "2  usage error", "3  environment failure"] {
            assert!(finished.stdout.contains(line), "{args:?} lacks {line:?}");
        }
    }
}
