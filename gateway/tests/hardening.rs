//! Request limits and framing, through the real gateway binary with raw bytes over TCP: an
//! oversized head or too many headers is 431, malformed framing is 400, a body over the
//! limit is 413 whether declared or streamed, slow heads are cut off, connections beyond
//! the cap wait, and the admin API wants its token. A refused request never reaches the
//! upstream (its request counter proves it).

mod support;

use std::time::{Duration, Instant};

use support::{Gateway, TestUpstream, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn gateway(upstream: &TestUpstream, limits: &str) -> Gateway {
    Gateway::start(&format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
limits:
{limits}
upstreams:
  users:
    endpoints:
      - address: {a}
routes:
  - name: users
    match:
      path: /**
    upstream: users
",
        a = upstream.authority()
    ))
    .await
}

/// Sends `bytes` on a fresh connection and returns everything the gateway answers until it
/// closes the connection (bounded by [`WAIT`]).
async fn raw(gw: &Gateway, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(gw.data).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_all(&mut stream).await
}

async fn read_all(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or_default()
}

const DEFAULTS: &str = "  max_body_bytes: 64KiB";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_head_is_431_and_never_forwarded() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, "  max_header_bytes: 8KiB").await;
    let big = "x".repeat(16 * 1024);
    let answer = raw(
        &gw,
        format!("GET /users HTTP/1.1\r\nhost: t\r\nx-big: {big}\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(
        status_line(&answer),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    // Within the limit the same route works.
    let ok = raw(
        &gw,
        b"GET /users HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_line(&ok), "HTTP/1.1 200 OK");
    assert_eq!(a.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_header_fields_are_431() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, "  max_headers: 10").await;
    let headers: String = (0..20).map(|i| format!("x-h{i}: v\r\n")).collect();
    let answer = raw(
        &gw,
        format!("GET /users HTTP/1.1\r\nhost: t\r\n{headers}\r\n").as_bytes(),
    )
    .await;
    assert_eq!(
        status_line(&answer),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert_eq!(a.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_framing_is_400_and_never_forwarded() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, DEFAULTS).await;
    let cases: [(&str, &[u8]); 3] = [
        (
            "conflicting content-lengths",
            b"POST /users HTTP/1.1\r\nhost: t\r\ncontent-length: 4\r\ncontent-length: 5\r\n\r\nabcde",
        ),
        (
            "obs-fold",
            b"GET /users HTTP/1.1\r\nhost: t\r\nx-folded: a\r\n  b\r\n\r\n",
        ),
        (
            "space before the colon",
            b"GET /users HTTP/1.1\r\nhost: t\r\nx-bad : v\r\n\r\n",
        ),
    ];
    for (what, bytes) in cases {
        let answer = raw(&gw, bytes).await;
        assert_eq!(
            status_line(&answer),
            "HTTP/1.1 400 Bad Request",
            "{what}: {answer}"
        );
    }
    assert_eq!(a.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_with_transfer_encoding_is_framed_by_transfer_encoding_alone() {
    // RFC 9112 section 6.1 lets a server process such a request by Transfer-Encoding alone;
    // hyper does, and drops Content-Length. What matters against smuggling is that the
    // upstream gets one unambiguous framing: the gateway's, with no Content-Length, so the
    // 4 bytes the client claimed can never be read as the start of another request.
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, DEFAULTS).await;
    let answer = raw(
        &gw,
        b"POST /users HTTP/1.1\r\nhost: t\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK", "{answer}");
    let echo: serde_json::Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default()).unwrap();
    assert_eq!(echo["body_bytes"], 0, "{echo}");
    assert_eq!(
        echo["headers"]["content-length"],
        serde_json::Value::Null,
        "{echo}"
    );
    assert_eq!(a.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_chunk_size_is_400() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, DEFAULTS).await;
    let answer = raw(
        &gw,
        b"POST /users HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(status_line(&answer), "HTTP/1.1 400 Bad Request", "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_body_over_the_limit_is_413_before_anything_is_sent() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, DEFAULTS).await;
    // Only the head: the gateway must answer without waiting for the body.
    let answer = raw(
        &gw,
        b"POST /users HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000\r\n\r\n",
    )
    .await;
    assert_eq!(
        status_line(&answer),
        "HTTP/1.1 413 Payload Too Large",
        "{answer}"
    );
    assert!(
        answer.contains(r#""error":"payload_too_large""#),
        "{answer}"
    );
    assert_eq!(a.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_body_over_the_limit_is_413() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, DEFAULTS).await;
    let mut stream = TcpStream::connect(gw.data).await.unwrap();
    stream
        .write_all(b"POST /users HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    // 16 chunks of 8 KiB: 128 KiB, twice the limit, without a declared length.
    let chunk = format!("2000\r\n{}\r\n", "y".repeat(0x2000));
    for _ in 0..16 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break; // the gateway answered and closed: the rest is not wanted
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let answer = read_all(&mut stream).await;
    assert_eq!(
        status_line(&answer),
        "HTTP/1.1 413 Payload Too Large",
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_head_is_cut_off_after_the_header_read_timeout() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, "  header_read_timeout: 500ms").await;
    let mut stream = TcpStream::connect(gw.data).await.unwrap();
    let started = Instant::now();
    // A slowloris: the start of a head, then nothing.
    stream
        .write_all(b"GET /users HTTP/1.1\r\nhost: t\r\n")
        .await
        .unwrap();
    let _ = read_all(&mut stream).await;
    let held = started.elapsed();
    assert!(
        held >= Duration::from_millis(450) && held < Duration::from_secs(5),
        "closed after {held:?}"
    );
    assert_eq!(a.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, "  max_connections: 2").await;
    let request = b"GET /users HTTP/1.1\r\nhost: t\r\n\r\n";
    let mut first = TcpStream::connect(gw.data).await.unwrap();
    let mut second = TcpStream::connect(gw.data).await.unwrap();
    for stream in [&mut first, &mut second] {
        stream.write_all(request).await.unwrap();
        let mut buf = [0u8; 12];
        tokio::time::timeout(WAIT, stream.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
    }
    // The third connects (the kernel's backlog) but is not served while two are open.
    let mut third = TcpStream::connect(gw.data).await.unwrap();
    third.write_all(request).await.unwrap();
    let mut buf = [0u8; 12];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read_exact(&mut buf)).await;
    assert!(early.is_err(), "served beyond max_connections");
    drop(first);
    tokio::time::timeout(WAIT, third.read_exact(&mut buf))
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_want_the_bearer_token_but_health_stays_open() {
    let a = TestUpstream::start("a").await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin.token");
    std::fs::write(&token_file, "s3cret-admin-token-0123456789\n").unwrap();
    let gw = Gateway::start(&format!(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
  token_file: {token}
upstreams:
  users:
    endpoints:
      - address: {a}
routes:
  - name: users
    match:
      path: /**
    upstream: users
",
        token = token_file.display(),
        a = a.authority()
    ))
    .await;
    let get = |path: &str, token: Option<&str>| {
        let mut request = format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n");
        if let Some(token) = token {
            request.push_str(&format!("authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        let admin = gw.admin;
        async move {
            let mut stream = TcpStream::connect(admin).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            read_all(&mut stream).await
        }
    };
    let refused = get("/admin/config", None).await;
    assert_eq!(status_line(&refused), "HTTP/1.1 401 Unauthorized");
    assert!(
        refused.contains(r#"www-authenticate: Bearer realm="gateway-admin""#),
        "{refused}"
    );
    let wrong = get("/admin/config", Some("s3cret-admin-token-012345678X")).await;
    assert_eq!(status_line(&wrong), "HTTP/1.1 401 Unauthorized");
    let allowed = get("/admin/config", Some("s3cret-admin-token-0123456789")).await;
    assert_eq!(status_line(&allowed), "HTTP/1.1 200 OK");
    assert!(allowed.contains(r#""token":"<redacted>""#), "{allowed}");
    assert!(!allowed.contains("s3cret"), "the token leaked: {allowed}");
    for open in ["/healthz", "/metrics"] {
        let answer = get(open, None).await;
        assert_eq!(status_line(&answer), "HTTP/1.1 200 OK", "{open}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_client_gets_no_more_concurrent_streams_than_the_limit() {
    let a = TestUpstream::start("a").await;
    let gw = gateway(&a, "  http2: { max_concurrent_streams: 2 }").await;
    a.hold_requests(true);
    let tcp = TcpStream::connect(gw.data).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let request = || {
        http::Request::get(format!("http://{}/users", gw.data))
            .body(())
            .unwrap()
    };
    // Two streams open and wait at the held upstream.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut ready = client.clone().ready().await.unwrap();
        let (response, _) = ready.send_request(request(), true).unwrap();
        held.push(response);
    }
    support::wait_until(WAIT, "both requests at the upstream", || async {
        a.requests() == 2
    })
    .await;
    // The third stream is not opened while two are: the gateway advertised
    // SETTINGS_MAX_CONCURRENT_STREAMS 2, and the client queues it.
    let mut ready = client.clone().ready().await.unwrap();
    let (third, _) = ready.send_request(request(), true).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        a.requests(),
        2,
        "a third concurrent stream reached the upstream"
    );
    a.hold_requests(false);
    for response in held.into_iter().chain([third]) {
        let response = tokio::time::timeout(WAIT, response).await.unwrap().unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
    }
    assert_eq!(a.requests(), 3);
}
