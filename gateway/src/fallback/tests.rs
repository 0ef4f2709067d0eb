//! Fallback tests: static and stale answers, the cache bounds, and the recording tee.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, request};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, advance};

use super::*;

// === helpers ===

fn parts(method: Method, uri: &str, headers: &[(&'static str, &'static str)]) -> request::Parts {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn get(uri: &str) -> request::Parts {
    parts(Method::GET, uri, &[])
}

fn response(
    status: u16,
    headers: &[(&'static str, &'static str)],
    body: &'static str,
) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::full(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response
            .headers_mut()
            .append(*name, HeaderValue::from_static(value));
    }
    response
}

async fn body_of(response: Response<ProxyBody>) -> Bytes {
    response.into_body().collect().await.unwrap().to_bytes()
}

fn settings() -> StaleSettings {
    StaleSettings {
        max_age: Duration::from_secs(60),
        key_headers: vec![],
        max_entries: 100,
        max_entry_bytes: 1024,
        max_total_bytes: 64 * 1024,
        then: None,
    }
}

fn stale(settings: StaleSettings) -> Fallback {
    Fallback::new(FallbackConfig::stale(settings).unwrap())
}

/// Records `response` as the answer to `request` and drains it as the client would.
async fn record(
    fallback: &Fallback,
    request: &request::Parts,
    response: Response<ProxyBody>,
) -> Bytes {
    match fallback.recorder(request) {
        Some(recorder) => body_of(recorder.record(response, Instant::now())).await,
        None => body_of(response).await,
    }
}

async fn stored_body(fallback: &Fallback, request: &request::Parts) -> Option<Bytes> {
    let degraded = fallback.respond(request, Instant::now())?;
    assert_eq!(degraded.kind, FallbackKind::Stale);
    Some(body_of(degraded.response).await)
}

/// A response body fed frame by frame from the test.
struct ChannelBody(mpsc::UnboundedReceiver<Result<Frame<Bytes>, std::io::Error>>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx)
    }
}

fn channel_response() -> (
    mpsc::UnboundedSender<Result<Frame<Bytes>, std::io::Error>>,
    Response<ProxyBody>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Response::new(ProxyBody::new(ChannelBody(rx))))
}

fn data(text: &'static str) -> Result<Frame<Bytes>, std::io::Error> {
    Ok(Frame::data(Bytes::from_static(text.as_bytes())))
}

// === static ===

#[tokio::test]
async fn static_fallback_returns_status_headers_body_and_marker() {
    let config = FallbackConfig::static_response(
        503,
        vec![
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::RETRY_AFTER, HeaderValue::from_static("30")),
        ],
        r#"{"degraded":true}"#,
    )
    .unwrap();
    let fallback = Fallback::new(config);

    let degraded = fallback.respond(&get("/x"), Instant::now()).unwrap();

    assert_eq!(degraded.kind, FallbackKind::Static);
    assert_eq!(degraded.kind.as_str(), "static");
    let response = degraded.response;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[header::RETRY_AFTER], "30");
    assert_eq!(response.headers()[FALLBACK_HEADER], "static");
    assert_eq!(body_of(response).await, r#"{"degraded":true}"#);
    assert!(
        fallback.recorder(&get("/x")).is_none(),
        "static mode records nothing"
    );
    assert_eq!(fallback.cache_stats(), None);
}

#[tokio::test]
async fn static_from_file_reads_body_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maintenance.html");
    std::fs::write(&path, "<h1>back soon</h1>").unwrap();

    let fallback = Fallback::new(FallbackConfig::static_from_file(200, vec![], &path).unwrap());
    // The file is read once: later changes do not reach responses.
    std::fs::write(&path, "changed").unwrap();

    let response = fallback
        .respond(&get("/"), Instant::now())
        .unwrap()
        .response;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_of(response).await, "<h1>back soon</h1>");
}

#[test]
fn static_from_missing_file_is_rejected_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.json");

    let errors = FallbackConfig::static_from_file(503, vec![], &path).unwrap_err();

    let [
        FallbackConfigError::ReadBody {
            path: named,
            source,
        },
    ] = errors.as_slice()
    else {
        panic!("expected one ReadBody error, got {errors:?}");
    };
    assert_eq!(named, &path);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(errors[0].field(), "body_file");
    assert!(
        errors[0].to_string().contains("missing.json"),
        "{}",
        errors[0]
    );
}

#[test]
fn static_from_oversize_file_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, vec![b'x'; MAX_STATIC_BODY_BYTES + 1]).unwrap();

    let errors = FallbackConfig::static_from_file(503, vec![], &path).unwrap_err();

    assert!(
        matches!(errors.as_slice(), [FallbackConfigError::BodyTooLarge { path: Some(p), limit }] if *p == path && *limit == MAX_STATIC_BODY_BYTES),
        "{errors:?}"
    );
}

#[test]
fn static_config_reports_every_problem() {
    let errors = FallbackConfig::static_response(
        99,
        vec![
            (header::CONTENT_LENGTH, HeaderValue::from_static("3")),
            (
                HeaderName::from_static(FALLBACK_HEADER),
                HeaderValue::from_static("x"),
            ),
        ],
        "abc",
    )
    .unwrap_err();

    let fields: Vec<_> = errors.iter().map(FallbackConfigError::field).collect();
    assert_eq!(fields, ["status", "headers", "headers"], "{errors:?}");
    assert!(matches!(
        errors[0],
        FallbackConfigError::Status { status: 99 }
    ));

    let errors = FallbackConfig::static_response(204, vec![], "body").unwrap_err();
    assert!(matches!(
        errors.as_slice(),
        [FallbackConfigError::BodyNotAllowed { status: 204 }]
    ));
}

#[test]
fn stale_config_reports_every_problem() {
    let errors = FallbackConfig::stale(StaleSettings {
        max_age: Duration::ZERO,
        key_headers: vec![header::ACCEPT, header::ACCEPT],
        max_entries: 0,
        max_entry_bytes: 2048,
        max_total_bytes: 1024,
        then: None,
    })
    .unwrap_err();

    let fields: Vec<_> = errors.iter().map(FallbackConfigError::field).collect();
    assert_eq!(
        fields,
        ["max_age", "max_entries", "max_total_bytes", "key_headers"],
        "{errors:?}"
    );
    assert!(matches!(
        errors[2],
        FallbackConfigError::TotalBelowEntry {
            total: 1024,
            entry: 2048
        }
    ));
}

// === stale: hits and misses ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_hit_replays_status_headers_body_with_age_and_marker() {
    let fallback = stale(settings());
    let request = get("/users?page=2");
    let upstream = response(
        200,
        &[("content-type", "application/json"), ("etag", "\"v1\"")],
        "[1,2]",
    );

    let client_got = record(&fallback, &request, upstream).await;
    assert_eq!(
        client_got, "[1,2]",
        "the client receives the body unchanged"
    );
    advance(Duration::from_secs(7)).await;

    let degraded = fallback.respond(&request, Instant::now()).unwrap();
    assert_eq!(degraded.kind, FallbackKind::Stale);
    assert_eq!(degraded.kind.as_str(), "stale");
    let response = degraded.response;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[header::ETAG], "\"v1\"");
    assert_eq!(response.headers()[header::AGE], "7");
    assert_eq!(response.headers()[FALLBACK_HEADER], "stale");
    assert_eq!(body_of(response).await, "[1,2]");
    let stats = fallback.cache_stats().unwrap();
    assert_eq!((stats.stored, stats.hits, stats.entries), (1, 1, 1));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_age_adds_upstream_age() {
    let fallback = stale(settings());
    let request = get("/a");
    record(&fallback, &request, response(200, &[("age", "100")], "a")).await;
    advance(Duration::from_millis(2500)).await;

    let response = fallback.respond(&request, Instant::now()).unwrap().response;

    assert_eq!(response.headers()[header::AGE], "102");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_miss_uses_static_then_or_gives_up() {
    let then = StaticFallback::new(503, vec![], "sorry").unwrap();
    let with_then = stale(StaleSettings {
        then: Some(then),
        ..settings()
    });
    let without = stale(settings());

    let degraded = with_then
        .respond(&get("/never-seen"), Instant::now())
        .unwrap();
    assert_eq!(degraded.kind, FallbackKind::Static);
    assert_eq!(degraded.response.headers()[FALLBACK_HEADER], "static");
    assert_eq!(degraded.response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_of(degraded.response).await, "sorry");

    assert!(
        without
            .respond(&get("/never-seen"), Instant::now())
            .is_none()
    );
    assert_eq!(without.cache_stats().unwrap().misses, 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_entry_expires_at_max_age() {
    let fallback = stale(StaleSettings {
        max_age: Duration::from_secs(10),
        ..settings()
    });
    let request = get("/a");
    record(&fallback, &request, response(200, &[], "a")).await;

    advance(Duration::from_millis(9_999)).await;
    assert_eq!(stored_body(&fallback, &request).await.unwrap(), "a");
    advance(Duration::from_millis(1)).await;
    assert!(
        fallback.respond(&request, Instant::now()).is_none(),
        "age == max_age is stale"
    );

    let stats = fallback.cache_stats().unwrap();
    assert_eq!(
        (stats.hits, stats.expired, stats.entries, stats.bytes),
        (1, 1, 0, 0)
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_keys_separate_method_path_query_and_key_headers() {
    let fallback = stale(StaleSettings {
        key_headers: vec![header::ACCEPT_LANGUAGE],
        ..settings()
    });
    let en = parts(Method::GET, "/p?q=1", &[("accept-language", "en")]);
    record(&fallback, &en, response(200, &[], "english")).await;

    assert_eq!(stored_body(&fallback, &en).await.unwrap(), "english");
    for other in [
        parts(Method::HEAD, "/p?q=1", &[("accept-language", "en")]),
        parts(Method::GET, "/other?q=1", &[("accept-language", "en")]),
        parts(Method::GET, "/p?q=2", &[("accept-language", "en")]),
        parts(Method::GET, "/p", &[("accept-language", "en")]),
        parts(Method::GET, "/p?q=1", &[("accept-language", "fr")]),
        parts(Method::GET, "/p?q=1", &[]),
    ] {
        assert!(
            fallback.respond(&other, Instant::now()).is_none(),
            "{} {} {:?} must miss",
            other.method,
            other.uri,
            other.headers
        );
    }
    // A header that is not a key header does not separate.
    let with_extra = parts(
        Method::GET,
        "/p?q=1",
        &[("accept-language", "en"), ("x-trace", "1")],
    );
    assert_eq!(
        stored_body(&fallback, &with_extra).await.unwrap(),
        "english"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_head_is_replayed_without_body() {
    let fallback = stale(settings());
    let head = parts(Method::HEAD, "/h", &[]);
    let mut upstream = Response::new(ProxyBody::empty());
    upstream
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("42"));

    record(&fallback, &head, upstream).await;
    let response = fallback.respond(&head, Instant::now()).unwrap().response;

    assert_eq!(response.headers()[header::CONTENT_LENGTH], "42");
    assert!(response.body().is_end_stream());
}

// === stale: what is not stored ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_does_not_store_bad_or_private_responses() {
    let fallback = stale(settings());
    let cases: [(&str, Response<ProxyBody>); 7] = [
        ("/500", response(500, &[], "boom")),
        ("/404", response(404, &[], "nope")),
        ("/302", response(302, &[("location", "/x")], "")),
        (
            "/206",
            response(206, &[("content-range", "bytes 0-1/10")], "ab"),
        ),
        (
            "/no-store",
            response(200, &[("cache-control", "max-age=5, No-Store")], "x"),
        ),
        (
            "/private",
            response(200, &[("cache-control", "private=\"x-user\"")], "x"),
        ),
        (
            "/cookie",
            response(200, &[("set-cookie", "session=abc")], "x"),
        ),
    ];
    for (path, upstream) in cases {
        let request = get(path);
        let expected = upstream.headers().clone();
        let status = upstream.status();
        let recorder = fallback.recorder(&request).unwrap();
        let passed = recorder.record(upstream, Instant::now());
        assert_eq!(
            passed.status(),
            status,
            "{path}: the client's response is untouched"
        );
        assert_eq!(passed.headers(), &expected, "{path}");
        body_of(passed).await;
        assert!(
            fallback.respond(&request, Instant::now()).is_none(),
            "{path} must not be stored"
        );
    }
    let stats = fallback.cache_stats().unwrap();
    assert_eq!((stats.stored, stats.entries), (0, 0));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_does_not_record_credentialed_or_unsafe_requests() {
    let fallback = stale(settings());

    for request in [
        parts(Method::GET, "/me", &[("authorization", "Bearer t")]),
        parts(Method::GET, "/me", &[("cookie", "session=abc")]),
        parts(Method::GET, "/me", &[("cache-control", "no-store")]),
        parts(Method::POST, "/me", &[]),
    ] {
        assert!(
            fallback.recorder(&request).is_none(),
            "{} {:?}",
            request.method,
            request.headers
        );
    }
    // An anonymous copy is not served to a credentialed request either.
    record(&fallback, &get("/me"), response(200, &[], "anonymous")).await;
    let authed = parts(Method::GET, "/me", &[("authorization", "Bearer t")]);
    assert!(fallback.respond(&authed, Instant::now()).is_none());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_records_credentialed_requests_per_credential_when_keyed() {
    let fallback = stale(StaleSettings {
        key_headers: vec![header::AUTHORIZATION],
        ..settings()
    });
    let alice = parts(Method::GET, "/me", &[("authorization", "Bearer alice")]);
    let bob = parts(Method::GET, "/me", &[("authorization", "Bearer bob")]);

    record(&fallback, &alice, response(200, &[], "alice")).await;

    assert_eq!(stored_body(&fallback, &alice).await.unwrap(), "alice");
    assert!(fallback.respond(&bob, Instant::now()).is_none());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_oversize_body_streams_fully_but_is_not_stored() {
    let fallback = stale(StaleSettings {
        max_entry_bytes: 8,
        ..settings()
    });
    let request = get("/big");
    let (tx, upstream) = channel_response();
    let mut body = fallback
        .recorder(&request)
        .unwrap()
        .record(upstream, Instant::now())
        .into_body();

    for chunk in ["12345", "67890", "abcde"] {
        tx.send(data(chunk)).unwrap();
        // Each frame reaches the client as it arrives, before the body is complete.
        let frame = tokio::time::timeout(Duration::from_secs(1), body.frame())
            .await
            .expect("the tee must not hold frames back")
            .unwrap()
            .unwrap();
        assert_eq!(frame.into_data().unwrap(), chunk);
    }
    drop(tx);
    assert!(body.frame().await.is_none());

    assert!(fallback.respond(&request, Instant::now()).is_none());
    let stats = fallback.cache_stats().unwrap();
    assert_eq!(
        (stats.skipped_oversize, stats.stored, stats.entries),
        (1, 0, 0)
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_declared_oversize_is_not_teed() {
    let fallback = stale(StaleSettings {
        max_entry_bytes: 4,
        ..settings()
    });
    let request = get("/big");

    let got = record(
        &fallback,
        &request,
        response(200, &[("content-length", "10")], "0123456789"),
    )
    .await;

    assert_eq!(got, "0123456789");
    assert!(fallback.respond(&request, Instant::now()).is_none());
    assert_eq!(fallback.cache_stats().unwrap().skipped_oversize, 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_body_error_is_not_stored() {
    let fallback = stale(settings());
    let request = get("/broken");
    let (tx, upstream) = channel_response();
    let mut body = fallback
        .recorder(&request)
        .unwrap()
        .record(upstream, Instant::now())
        .into_body();

    tx.send(data("partial")).unwrap();
    tx.send(Err(std::io::Error::from(
        std::io::ErrorKind::ConnectionReset,
    )))
    .unwrap();
    assert_eq!(
        body.frame().await.unwrap().unwrap().into_data().unwrap(),
        "partial"
    );
    assert!(
        body.frame().await.unwrap().is_err(),
        "the client sees the error"
    );

    assert!(fallback.respond(&request, Instant::now()).is_none());
    let stats = fallback.cache_stats().unwrap();
    assert_eq!((stats.skipped_incomplete, stats.stored), (1, 0));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_abandoned_or_trailered_body_is_not_stored() {
    let fallback = stale(settings());
    let request = get("/gone");
    let (tx, upstream) = channel_response();
    let mut body = fallback
        .recorder(&request)
        .unwrap()
        .record(upstream, Instant::now())
        .into_body();
    tx.send(data("half")).unwrap();
    body.frame().await.unwrap().unwrap();
    drop(body); // the client went away

    let grpc = get("/grpc");
    let (tx, upstream) = channel_response();
    tx.send(data("msg")).unwrap();
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("14"));
    tx.send(Ok(Frame::trailers(trailers))).unwrap();
    drop(tx);
    record(&fallback, &grpc, upstream).await;

    assert!(fallback.respond(&request, Instant::now()).is_none());
    assert!(fallback.respond(&grpc, Instant::now()).is_none());
    let stats = fallback.cache_stats().unwrap();
    assert_eq!((stats.skipped_incomplete, stats.stored), (2, 0));
}

// === stale: bounds ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_evicts_least_recently_used_by_count() {
    let fallback = stale(StaleSettings {
        max_entries: 2,
        ..settings()
    });
    record(&fallback, &get("/a"), response(200, &[], "a")).await;
    record(&fallback, &get("/b"), response(200, &[], "b")).await;
    // Using /a makes /b the least recently used.
    assert_eq!(stored_body(&fallback, &get("/a")).await.unwrap(), "a");

    record(&fallback, &get("/c"), response(200, &[], "c")).await;

    assert!(fallback.respond(&get("/b"), Instant::now()).is_none());
    assert_eq!(stored_body(&fallback, &get("/a")).await.unwrap(), "a");
    assert_eq!(stored_body(&fallback, &get("/c")).await.unwrap(), "c");
    let stats = fallback.cache_stats().unwrap();
    assert_eq!(
        (
            stats.entries,
            stats.evicted_for_count,
            stats.evicted_for_bytes
        ),
        (2, 1, 0)
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_evicts_least_recently_used_by_bytes() {
    // Each entry costs its body (10) plus its target ("/a": 2) = 12 bytes.
    let fallback = stale(StaleSettings {
        max_entry_bytes: 10,
        max_total_bytes: 30,
        ..settings()
    });
    record(&fallback, &get("/a"), response(200, &[], "aaaaaaaaaa")).await;
    record(&fallback, &get("/b"), response(200, &[], "bbbbbbbbbb")).await;
    assert_eq!(fallback.cache_stats().unwrap().bytes, 24);

    record(&fallback, &get("/c"), response(200, &[], "cccccccccc")).await;

    assert!(fallback.respond(&get("/a"), Instant::now()).is_none());
    assert!(stored_body(&fallback, &get("/b")).await.is_some());
    assert!(stored_body(&fallback, &get("/c")).await.is_some());
    let stats = fallback.cache_stats().unwrap();
    assert_eq!(
        (
            stats.entries,
            stats.bytes,
            stats.evicted_for_bytes,
            stats.evicted_for_count
        ),
        (2, 24, 1, 0)
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_replacing_an_entry_keeps_the_newest_and_its_size() {
    let fallback = stale(settings());
    record(&fallback, &get("/a"), response(200, &[], "old-body")).await;
    record(&fallback, &get("/a"), response(200, &[], "new")).await;

    assert_eq!(stored_body(&fallback, &get("/a")).await.unwrap(), "new");
    let stats = fallback.cache_stats().unwrap();
    assert_eq!((stats.entries, stats.bytes, stats.stored), (1, 3 + 2, 2));
}

#[test]
fn stale_cache_is_shared_across_threads() {
    let fallback = std::sync::Arc::new(stale(settings()));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let fallback = std::sync::Arc::clone(&fallback);
            std::thread::spawn(move || {
                let request = get(&format!("/t{i}"));
                let recorder = fallback.recorder(&request).unwrap();
                let response = recorder.record(response(200, &[], "x"), Instant::now());
                block_on(body_of(response));
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(fallback.cache_stats().unwrap().entries, 4);
}

/// Drives a future to completion on this thread (the body is in memory, so it never waits).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}
