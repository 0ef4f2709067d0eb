//! Our async `ToxiproxyClient` against our API: every route, every error status, the
//! wire details (content types, error bodies, request ids, browser guard), and the client's
//! own retries and timeouts against scripted servers.

mod faultproxy_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chaos::faultproxy::{
    ClientError, Latency, NewToxic, ProxyConfig, ProxyUpdate, RetryPolicy, Stream, Timeout,
    ToxicKind, ToxicUpdate, ToxiproxyClient,
};
use faultproxy_support::{Behavior, Harness, Upstream, WAIT, addr, connect, round_trip};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn config(name: &str, upstream: SocketAddr) -> ProxyConfig {
    faultproxy_support::config(name, upstream)
}

fn latency(ms: i64) -> ToxicKind {
    ToxicKind::Latency(Latency {
        latency_ms: ms,
        jitter_ms: 0,
    })
}

fn status_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (StatusCode, String) {
    match result {
        Err(ClientError::Status {
            status, message, ..
        }) => (status, message.unwrap_or_default()),
        other => panic!("expected a status error, got {other:?}"),
    }
}

/// A raw request to the API: status, content type, body.
async fn raw(
    api: SocketAddr,
    method: Method,
    path: &str,
    body: &str,
    agent: &str,
) -> (StatusCode, http::HeaderMap, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::builder()
        .method(method)
        .uri(format!("http://{api}{path}"))
        .header("user-agent", agent)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = tokio::time::timeout(WAIT, client.request(request))
        .await
        .unwrap()
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn client_proxy_routes_create_get_list_update_delete() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let client = &harness.client;

    assert_eq!(client.version().await.unwrap(), "2.12.0");
    let created = client
        .create_proxy(&config("echo", upstream.addr))
        .await
        .unwrap();
    assert!(created.enabled);
    assert_ne!(addr(&created).port(), 0, "listen is the bound address");
    assert_eq!(created.upstream, upstream.addr.to_string());
    assert!(created.toxics.is_empty());
    round_trip(&mut connect(addr(&created)).await, b"via client").await;

    assert_eq!(client.proxy("echo").await.unwrap(), created);
    let all = client.proxies().await.unwrap();
    assert_eq!(all.keys().collect::<Vec<_>>(), ["echo"]);

    let disabled = client.set_enabled("echo", false).await.unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.listen, created.listen);
    let update = ProxyUpdate {
        upstream: Some("127.0.0.1:1".into()),
        ..ProxyUpdate::default()
    };
    let moved = client.update_proxy("echo", &update).await.unwrap();
    assert_eq!(moved.upstream, "127.0.0.1:1");
    assert!(!moved.enabled, "an update leaves enabled as it was");

    client.delete_proxy("echo").await.unwrap();
    assert!(client.proxies().await.unwrap().is_empty());

    // Names travel percent-encoded and are matched decoded.
    let odd = client
        .create_proxy(&config("a b/c", upstream.addr))
        .await
        .unwrap();
    assert_eq!(client.proxy("a b/c").await.unwrap(), odd);
    client.delete_proxy("a b/c").await.unwrap();
    harness.stop().await;
}

#[tokio::test]
async fn client_proxy_errors_carry_toxiproxy_statuses_and_messages() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let client = &harness.client;
    let echo = client
        .create_proxy(&config("echo", upstream.addr))
        .await
        .unwrap();

    let cases = [
        (
            status_of(client.create_proxy(&config("echo", upstream.addr)).await),
            (StatusCode::CONFLICT, "proxy already exists"),
        ),
        (
            status_of(client.create_proxy(&config("", upstream.addr)).await),
            (StatusCode::BAD_REQUEST, "missing required field: name"),
        ),
        (
            status_of(
                client
                    .create_proxy(&ProxyConfig {
                        upstream: String::new(),
                        ..config("x", upstream.addr)
                    })
                    .await,
            ),
            (StatusCode::BAD_REQUEST, "missing required field: upstream"),
        ),
        (
            status_of(client.proxy("nope").await),
            (StatusCode::NOT_FOUND, "proxy not found"),
        ),
        (
            status_of(client.delete_proxy("nope").await),
            (StatusCode::NOT_FOUND, "proxy not found"),
        ),
        (
            status_of(client.set_enabled("nope", true).await),
            (StatusCode::NOT_FOUND, "proxy not found"),
        ),
        (
            status_of(client.toxics("nope").await),
            (StatusCode::NOT_FOUND, "proxy not found"),
        ),
    ];
    for ((status, message), (want_status, want_message)) in cases {
        assert_eq!((status, message.as_str()), (want_status, want_message));
    }

    // Listen failure: the address is taken by the first proxy.
    let taken = ProxyConfig {
        listen: echo.listen.clone(),
        ..config("clash", upstream.addr)
    };
    let (status, message) = status_of(client.create_proxy(&taken).await);
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        message.starts_with(&format!("listen tcp {}", echo.listen)),
        "{message}"
    );
    assert!(message.contains("in use"), "{message}");
    assert_eq!(
        client.proxies().await.unwrap().len(),
        1,
        "a failed create leaves nothing"
    );
    harness.stop().await;
}

#[tokio::test]
async fn client_populate_is_idempotent_and_reports_failures_with_applied_proxies() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let client = &harness.client;
    let first = client
        .populate(&[config("a", upstream.addr), config("b", upstream.addr)])
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    client
        .add_toxic("a", &NewToxic::new(Stream::Downstream, latency(10)))
        .await
        .unwrap();

    // Same listen and upstream: kept as is, toxics included.
    let again = ProxyConfig {
        listen: first[0].listen.clone(),
        ..config("a", upstream.addr)
    };
    let kept = client.populate(&[again]).await.unwrap();
    assert_eq!(kept[0].listen, first[0].listen);
    assert_eq!(kept[0].toxics.len(), 1);

    // Validation covers every entry before applying any.
    let invalid = [config("c", upstream.addr), config("", upstream.addr)];
    let (status, message) = status_of(client.populate(&invalid).await);
    assert_eq!(
        (status, message.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "missing required field: name at proxy 2"
        )
    );
    assert!(client.proxy("c").await.is_err(), "nothing applied");

    // A mid-list failure keeps what was applied and lists it in the error body.
    let clash = ProxyConfig {
        listen: first[1].listen.clone(),
        ..config("e", upstream.addr)
    };
    let err = client
        .populate(&[config("d", upstream.addr), clash])
        .await
        .unwrap_err();
    let ClientError::Status { status, body, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], 500);
    assert_eq!(body["proxies"][0]["name"], "d");
    assert!(client.proxy("d").await.unwrap().enabled);
    harness.stop().await;
}

#[tokio::test]
async fn client_toxic_routes_and_errors() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let client = &harness.client;
    client
        .create_proxy(&config("echo", upstream.addr))
        .await
        .unwrap();

    let added = client
        .add_toxic("echo", &NewToxic::new(Stream::Downstream, latency(5)))
        .await
        .unwrap();
    assert_eq!(added.name, "latency_downstream");
    assert_eq!(added.toxicity, 1.0);
    let hang = ToxicKind::Timeout(Timeout { timeout_ms: 0 });
    let up = NewToxic::new(Stream::Upstream, hang)
        .named("hang")
        .with_toxicity(0.0);
    client.add_toxic("echo", &up).await.unwrap();
    let names: Vec<_> = client
        .toxics("echo")
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["hang", "latency_downstream"], "upstream first");
    assert_eq!(
        client.toxic("echo", "latency_downstream").await.unwrap(),
        added
    );

    let update = ToxicUpdate {
        toxicity: Some(0.5),
        attributes: json!({"jitter": 2}).as_object().unwrap().clone(),
    };
    let updated = client
        .update_toxic("echo", "latency_downstream", &update)
        .await
        .unwrap();
    assert_eq!(updated.toxicity, 0.5);
    assert_eq!(
        updated.kind,
        ToxicKind::Latency(Latency {
            latency_ms: 5,
            jitter_ms: 2
        })
    );
    assert_eq!(client.proxy("echo").await.unwrap().toxics.len(), 2);

    let duplicate = NewToxic::new(Stream::Upstream, latency(1)).named("hang");
    let cases = [
        (
            status_of(client.add_toxic("echo", &duplicate).await),
            (StatusCode::CONFLICT, "toxic already exists"),
        ),
        (
            status_of(client.add_toxic("nope", &duplicate).await),
            (StatusCode::NOT_FOUND, "proxy not found"),
        ),
        (
            status_of(client.toxic("echo", "nope").await),
            (StatusCode::NOT_FOUND, "toxic not found"),
        ),
        (
            status_of(client.update_toxic("echo", "nope", &update).await),
            (StatusCode::NOT_FOUND, "toxic not found"),
        ),
        (
            status_of(client.remove_toxic("echo", "nope").await),
            (StatusCode::NOT_FOUND, "toxic not found"),
        ),
    ];
    for ((status, message), (want_status, want_message)) in cases {
        assert_eq!((status, message.as_str()), (want_status, want_message));
    }

    client.remove_toxic("echo", "hang").await.unwrap();
    client.reset().await.unwrap();
    assert!(client.toxics("echo").await.unwrap().is_empty());
    harness.stop().await;
}

#[tokio::test]
async fn api_rejects_bad_toxic_bodies_with_400() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    harness.proxy_to("echo", upstream.addr).await;
    let path = "/proxies/echo/toxics";
    for (body, message) in [
        (
            r#"{"type":"latency","stream":"sideways"}"#,
            "stream was invalid, can be either upstream or downstream",
        ),
        (r#"{"type":"packet_loss"}"#, "invalid toxic type"),
        (
            r#"{"type":"latency","toxicity":1.5}"#,
            "toxicity must be between 0 and 1, got 1.5",
        ),
    ] {
        let (status, _, answer) = raw(harness.api, Method::POST, path, body, "test").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&answer).unwrap(),
            json!({"error": message, "status": 400})
        );
    }
    let (status, _, answer) = raw(harness.api, Method::POST, path, "{nope", "test").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer.starts_with(r#"{"error":"bad request body: "#),
        "{answer}"
    );
    assert!(harness.proxy.toxics("echo").await.unwrap().is_empty());
    harness.stop().await;
}

#[tokio::test]
async fn api_wire_details_match_toxiproxy() {
    let upstream = Upstream::start(Behavior::Echo).await;
    let harness = Harness::start(1).await;
    let api = harness.api;
    harness.proxy_to("echo", upstream.addr).await;

    let (status, headers, body) = raw(api, Method::GET, "/version", "", "test").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json;charset=utf-8");
    assert_eq!(body, "{\"version\": \"2.12.0\"}\n");
    assert_eq!(headers["x-toxiproxy-request-id"].len(), 20);

    let (status, headers, body) = raw(api, Method::GET, "/proxies/nope", "", "test").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(body, "{\"error\":\"proxy not found\",\"status\":404}\n");

    let (status, _, body) = raw(api, Method::GET, "/proxies", "", "Mozilla/5.0 (X11)").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, "User agent not allowed\n")
    );

    // POST on a proxy still updates it (deprecated in Toxiproxy, still served).
    let (status, _, body) = raw(
        api,
        Method::POST,
        "/proxies/echo",
        r#"{"enabled":false}"#,
        "t",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["enabled"],
        false
    );
    let (status, _, _) = raw(api, Method::PATCH, "/proxies/echo", "[", "t").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _, body) = raw(api, Method::GET, "/metrics", "", "t").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, "404 page not found\n")
    );
    let (status, _, _) = raw(api, Method::PUT, "/proxies", "", "t").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, body) = raw(api, Method::POST, "/reset", "", "t").await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    let (status, _, body) = raw(api, Method::DELETE, "/proxies/echo", "", "t").await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    harness.stop().await;
}

/// An HTTP/1.1 server answering each request with the next scripted status (repeating the
/// last), counting requests.
async fn scripted(statuses: &'static [u16]) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 8192];
                loop {
                    let Ok(n) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    let i = seen.fetch_add(1, Ordering::SeqCst);
                    let status = statuses[i.min(statuses.len() - 1)];
                    let body = if status == 200 {
                        r#"{"version": "2.12.0"}"#
                    } else {
                        ""
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, count)
}

fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(40),
    }
}

#[tokio::test]
async fn client_retries_503_with_backoff_then_succeeds() {
    let (addr, count) = scripted(&[503, 503, 200]).await;
    let client = ToxiproxyClient::new(&format!("http://{addr}"), WAIT)
        .unwrap()
        .with_retry(fast_retries(3));
    let start = Instant::now();
    assert_eq!(client.version().await.unwrap(), "2.12.0");
    assert_eq!(count.load(Ordering::SeqCst), 3);
    let elapsed = start.elapsed();
    // Backoffs of 20 ms then 40 ms.
    assert!(
        elapsed >= Duration::from_millis(60) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn client_gives_up_after_max_retries_with_the_last_status() {
    let (addr, count) = scripted(&[503]).await;
    let client = ToxiproxyClient::new(&format!("http://{addr}"), WAIT)
        .unwrap()
        .with_retry(fast_retries(2));
    let (status, message) = status_of(client.reset().await);
    assert_eq!(
        (status, message.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "")
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "one attempt plus two retries"
    );

    let (addr, count) = scripted(&[500, 200]).await;
    let client = ToxiproxyClient::new(&format!("http://{addr}"), WAIT).unwrap();
    assert_eq!(
        status_of(client.reset().await).0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(count.load(Ordering::SeqCst), 1, "only 503 is retried");
}

#[tokio::test]
async fn client_times_out_on_a_silent_server_and_fails_fast_when_refused() {
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let limit = Duration::from_millis(200);
    let client = ToxiproxyClient::new(&format!("http://{addr}"), limit).unwrap();
    let start = Instant::now();
    let err = client.proxies().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout { timeout, .. } if timeout == limit),
        "{err:?}"
    );
    let elapsed = start.elapsed();
    assert!(elapsed >= limit && elapsed < limit * 3, "{elapsed:?}");
    drop(silent);

    let client = ToxiproxyClient::new(&format!("http://{addr}"), WAIT).unwrap();
    let err = client.reset().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert_eq!(err.status(), None);
}
