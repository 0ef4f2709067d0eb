//! Binary tests of `chaos upstream`'s tracing: trace continuation, sampling, OTLP export with
//! the flush at SIGTERM, and `/_chaos/callbacks` propagation (direct and `--via`).
//!
//! Spans go to an in-test OTLP/HTTP receiver (`support::collector`); callbacks go to in-test
//! HTTP servers that record what they get (`support::recorder`). No fixed ports; every wait
//! is bounded.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatus;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use support::collector::{Collector, ExportedSpan};
use support::recorder::Recorder;
use support::{Reply, Upstream, WAIT, run_to_end};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const TRACESTATE: &str = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

/// `chaos upstream --name NAME --otlp COLLECTOR ARGS...`
async fn traced_upstream(name: &str, collector: &Collector, args: &[&str]) -> Upstream {
    let url = collector.url();
    let mut all = vec!["--name", name, "--otlp", url.as_str()];
    all.extend_from_slice(args);
    Upstream::start(&all).await
}

/// Sends a request with extra headers and reads the whole answer.
async fn send(
    up: &Upstream,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request = Request::builder().method(method).uri(up.http.uri(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())).boxed())
        .unwrap();
    up.http.request(request, WAIT).await
}

fn traceparent(trace_id: &str, flags: &str) -> String {
    format!("00-{trace_id}-{PARENT_ID}-{flags}")
}

/// A fresh trace id per test request, so tests sharing nothing still never confuse spans.
fn trace_id(n: u8) -> String {
    format!("{n:02x}{}", &TRACE_ID[2..])
}

fn one<'a>(spans: &'a [ExportedSpan], name: &str) -> &'a ExportedSpan {
    let found: Vec<_> = spans.iter().filter(|s| s.span.name == name).collect();
    assert_eq!(found.len(), 1, "{name}: {spans:#?}");
    found[0]
}

// --- (a) continuation -------------------------------------------------------------------

#[tokio::test]
async fn sampled_traceparent_is_continued_by_the_exported_server_span() {
    let collector = Collector::start().await;
    let up = traced_upstream("users-a", &collector, &[]).await;
    let parent = traceparent(TRACE_ID, "01");
    let reply = send(
        &up,
        Method::GET,
        "/api/users/42?a=1",
        &[("traceparent", &parent), ("tracestate", TRACESTATE)],
        "",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);

    let spans = collector.trace(TRACE_ID, 1, WAIT).await;
    let server = one(&spans, "upstream.request");
    assert_eq!(server.trace_id(), TRACE_ID);
    assert_eq!(server.parent_span_id(), PARENT_ID);
    assert_ne!(server.span_id(), PARENT_ID);
    assert_eq!(server.span.kind, SpanKind::Server as i32);
    assert_eq!(server.service_name.as_deref(), Some("users-a"));
    assert_eq!(server.attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(server.attr("url.path").as_deref(), Some("/api/users/42"));
    assert_eq!(
        server.attr("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        server.attr("chaos.upstream.name").as_deref(),
        Some("users-a")
    );
    assert_eq!(server.attr("error.type"), None);
    let status = server.span.status.clone().unwrap_or_default();
    assert_eq!(status.code, SpanStatus::Unset as i32);
}

#[tokio::test]
async fn injected_failure_span_has_error_status_and_error_type() {
    let collector = Collector::start().await;
    let up = traced_upstream(
        "flaky",
        &collector,
        &["--error-rate", "1.0", "--error-status", "503"],
    )
    .await;
    let id = trace_id(1);
    let parent = traceparent(&id, "01");
    let reply = send(&up, Method::GET, "/x", &[("traceparent", &parent)], "").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);

    let spans = collector.trace(&id, 1, WAIT).await;
    let server = one(&spans, "upstream.request");
    assert_eq!(
        server.attr("http.response.status_code").as_deref(),
        Some("503")
    );
    assert_eq!(
        server.attr("error.type").as_deref(),
        Some("injected_failure")
    );
    let status = server.span.status.clone().unwrap_or_default();
    assert_eq!(status.code, SpanStatus::Error as i32);
}

// --- (b) unsampled, and paths without spans ----------------------------------------------

#[tokio::test]
async fn unsampled_traceparent_and_behavior_switch_export_no_span() {
    let collector = Collector::start().await;
    let up = traced_upstream("quiet", &collector, &[]).await;
    let unsampled = trace_id(2);
    let behavior = trace_id(3);
    let marker = trace_id(4);
    let reply = send(
        &up,
        Method::GET,
        "/x",
        &[("traceparent", &traceparent(&unsampled, "00"))],
        "",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = send(
        &up,
        Method::GET,
        "/_chaos/behavior",
        &[("traceparent", &traceparent(&behavior, "01"))],
        "",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    // A sampled request answered after both: once its span is in, theirs would be too
    // (spans are exported in the order they end).
    send(
        &up,
        Method::GET,
        "/marker",
        &[("traceparent", &traceparent(&marker, "01"))],
        "",
    )
    .await;

    let spans = collector.trace(&marker, 1, WAIT).await;
    assert_eq!(
        one(&spans, "upstream.request").attr("url.path").as_deref(),
        Some("/marker")
    );
    let all = collector.spans();
    assert!(
        all.iter()
            .all(|s| s.trace_id() != unsampled && s.trace_id() != behavior),
        "{all:#?}"
    );
}

// --- (c) invalid traceparent --------------------------------------------------------------

#[tokio::test]
async fn invalid_traceparent_starts_a_new_root_trace() {
    let collector = Collector::start().await;
    let up = traced_upstream("fresh", &collector, &[]).await;
    let invalid = format!("ff-{TRACE_ID}-{PARENT_ID}-01");
    let reply = send(
        &up,
        Method::GET,
        "/invalid",
        &[("traceparent", &invalid), ("tracestate", TRACESTATE)],
        "",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);

    let spans = collector
        .wait_until(WAIT, |spans| {
            spans
                .iter()
                .any(|s| s.attr("url.path").as_deref() == Some("/invalid"))
        })
        .await;
    let root = spans
        .iter()
        .find(|s| s.attr("url.path").as_deref() == Some("/invalid"))
        .unwrap();
    assert_ne!(root.trace_id(), TRACE_ID);
    assert_eq!(root.trace_id().len(), 32);
    assert!(root.span.parent_span_id.is_empty(), "{root:#?}");
    assert_eq!(root.service_name.as_deref(), Some("fresh"));
}

// --- (d) callbacks ------------------------------------------------------------------------

#[tokio::test]
async fn callbacks_carry_the_trace_and_tracestate_to_each_url_in_order() {
    let collector = Collector::start().await;
    let target = Recorder::start().await;
    let up = traced_upstream("caller", &collector, &[]).await;
    let body = json!([
        {"url": target.url("/callback/s.0"), "arguments": [1, "two", {"url": "http://x/y", "arguments": []}]},
        {"url": target.url("/callback/s.1?q=1"), "arguments": []},
    ]);
    let parent = traceparent(TRACE_ID, "01");
    let reply = send(
        &up,
        Method::POST,
        "/_chaos/callbacks",
        &[("traceparent", &parent), ("tracestate", TRACESTATE)],
        &body.to_string(),
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.json(),
        json!({"upstream": "caller", "via": null, "callbacks": [
            {"url": target.url("/callback/s.0"), "status": 200},
            {"url": target.url("/callback/s.1?q=1"), "status": 200},
        ]})
    );
    let received = target.wait_for(2, WAIT).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].target, "/callback/s.0");
    assert_eq!(received[1].target, "/callback/s.1?q=1");
    assert_eq!(
        serde_json::from_slice::<Value>(&received[0].body).unwrap(),
        json!([1, "two", {"url": "http://x/y", "arguments": []}])
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&received[1].body).unwrap(),
        json!([])
    );

    // server span + two client spans, all in the caller's trace.
    let spans = collector.trace(TRACE_ID, 3, WAIT).await;
    let server = one(&spans, "upstream.request");
    assert_eq!(server.parent_span_id(), PARENT_ID);
    assert_eq!(
        server.attr("url.path").as_deref(),
        Some("/_chaos/callbacks")
    );
    for (request, path) in received.iter().zip(["/callback/s.0", "/callback/s.1?q=1"]) {
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(
            request.header("host"),
            Some(target.addr.to_string().as_str())
        );
        assert_eq!(request.header("tracestate"), Some(TRACESTATE));
        let sent = request.header("traceparent").expect("traceparent sent");
        let fields: Vec<&str> = sent.split('-').collect();
        assert_eq!(fields.len(), 4, "{sent}");
        assert_eq!((fields[0], fields[1], fields[3]), ("00", TRACE_ID, "01"));

        let client = spans
            .iter()
            .find(|s| s.span_id() == fields[2])
            .unwrap_or_else(|| panic!("no exported span is the parent {sent}: {spans:#?}"));
        assert_eq!(client.span.name, "upstream.callback");
        assert_eq!(client.span.kind, SpanKind::Client as i32);
        assert_eq!(client.parent_span_id(), server.span_id());
        assert_eq!(client.attr("url.full"), Some(target.url(path)));
        assert_eq!(
            client.attr("http.response.status_code").as_deref(),
            Some("200")
        );
        assert_eq!(client.service_name.as_deref(), Some("caller"));
    }
}

#[tokio::test]
async fn callbacks_via_proxy_connect_there_with_the_targets_host() {
    let target = Recorder::start().await;
    let proxy = Recorder::start().await;
    let via = proxy.addr.to_string();
    // No --otlp: trace context still propagates without export.
    let up = Upstream::start(&["--name", "relay", "--via", &via]).await;
    let body = json!([
        {"url": target.url("/callback/v.0?x=1"), "arguments": ["a"]},
        {"url": target.url("/callback/v.1"), "arguments": []},
    ]);
    let parent = traceparent(TRACE_ID, "01");
    let reply = send(
        &up,
        Method::POST,
        "/_chaos/callbacks",
        &[("traceparent", &parent), ("tracestate", TRACESTATE)],
        &body.to_string(),
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.json()["via"], via);
    assert_eq!(reply.json()["callbacks"][1]["status"], 200);
    let received = proxy.wait_for(2, WAIT).await;
    let target_host = target.addr.to_string();
    for (request, path) in received.iter().zip(["/callback/v.0?x=1", "/callback/v.1"]) {
        // Origin-form with the callback's Host: what a client of a reverse proxy sends.
        assert_eq!(request.target, path);
        assert_eq!(request.header("host"), Some(target_host.as_str()));
        assert_eq!(request.header("tracestate"), Some(TRACESTATE));
        let sent = request.header("traceparent").expect("traceparent sent");
        assert!(sent.starts_with(&format!("00-{TRACE_ID}-")), "{sent}");
        assert!(!sent.contains(PARENT_ID), "{sent}");
    }
    assert_eq!(received[0].body, Bytes::from_static(br#"["a"]"#));
    assert!(
        target.requests().is_empty(),
        "the proxy, not the target, is called"
    );
}

#[tokio::test]
async fn callback_failures_are_reported_per_callback_and_the_rest_still_run() {
    let collector = Collector::start().await;
    let target = Recorder::start().await;
    // Accepts connections (kernel backlog) but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/never", silent.local_addr().unwrap());
    // A port with nothing listening (bound, then released).
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let closed_url = format!("http://{closed}/refused");
    let up = traced_upstream("unlucky", &collector, &["--callback-timeout", "300ms"]).await;
    let body = json!([
        {"url": silent_url},
        {"url": closed_url},
        {"url": target.url("/callback/ok")},
    ]);
    let id = trace_id(5);
    let start = Instant::now();
    let reply = send(
        &up,
        Method::POST,
        "/_chaos/callbacks",
        &[("traceparent", &traceparent(&id, "01"))],
        &body.to_string(),
    )
    .await;
    let elapsed = start.elapsed();

    assert_eq!(reply.status, StatusCode::OK);
    let summary = reply.json();
    let results = summary["callbacks"].as_array().unwrap();
    assert_eq!(results[0]["url"], silent_url);
    assert_eq!(results[0]["error_type"], "timeout");
    assert_eq!(results[0]["error"], "no answer within 300ms");
    assert_eq!(results[1]["error_type"], "connect_failure");
    assert!(
        results[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot connect"),
        "{summary}"
    );
    assert_eq!(results[2]["status"], 200);
    assert_eq!(target.wait_for(1, WAIT).await.len(), 1);
    // One timeout of 300ms, not more (the refusal is immediate).
    assert!(
        (Duration::from_millis(300)..Duration::from_secs(3)).contains(&elapsed),
        "{elapsed:?}"
    );

    let spans = collector.trace(&id, 4, WAIT).await;
    let errors: Vec<_> = spans
        .iter()
        .filter(|s| s.span.name == "upstream.callback")
        .map(|s| s.attr("error.type"))
        .collect();
    assert_eq!(
        errors,
        [
            Some("timeout".to_owned()),
            Some("connect_failure".to_owned()),
            None
        ]
    );
}

// --- (e) invalid requests -----------------------------------------------------------------

#[tokio::test]
async fn callbacks_invalid_body_is_400_listing_problems_and_sends_nothing() {
    let target = Recorder::start().await;
    let up = Upstream::start(&["--name", "strict"]).await;
    let url = target.url("/callback");
    let too_many = Value::Array(vec![json!({ "url": url }); 33]);
    let cases = [
        ("{not json".to_owned(), None, "body is not valid JSON"),
        (
            json!({"url": url}).to_string(),
            None,
            "must be a JSON array",
        ),
        (too_many.to_string(), None, "at most 32 callbacks"),
        (
            json!([{"url": url}, {"url": "https://h/x", "arguments": 1}]).to_string(),
            Some("[1].url"),
            "uses https",
        ),
    ];
    for (body, field, message) in cases {
        let reply = send(&up, Method::POST, "/_chaos/callbacks", &[], &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        let refusal = reply.json();
        assert_eq!(
            refusal["error"],
            "invalid callbacks request; no callback was sent"
        );
        let problem = &refusal["problems"][0];
        assert_eq!(problem["field"].as_str(), field, "{refusal}");
        assert!(
            problem["message"].as_str().unwrap().contains(message),
            "{refusal}"
        );
        assert!(
            refusal["expected"]
                .as_str()
                .unwrap()
                .contains("\"arguments\"")
        );
    }
    let reply = send(&up, Method::GET, "/_chaos/callbacks", &[], "").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), "POST");
    assert!(target.requests().is_empty());
}

// --- (f) export lifecycle -----------------------------------------------------------------

#[tokio::test]
async fn sigterm_flushes_spans_of_answered_requests_before_exit() {
    let collector = Collector::start().await;
    // An interval far beyond the test: only the flush at stop can export these spans.
    let up = traced_upstream("flusher", &collector, &["--otlp-interval", "1h"]).await;
    let id = trace_id(6);
    for path in ["/one", "/two", "/three"] {
        let reply = send(
            &up,
            Method::GET,
            path,
            &[("traceparent", &traceparent(&id, "01"))],
            "",
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert!(collector.spans().is_empty());

    assert_eq!(up.terminate().await.code(), Some(0));
    // Exited: the flush has already been acknowledged by the receiver.
    let mut paths: Vec<_> = collector
        .spans()
        .iter()
        .filter(|s| s.trace_id() == id)
        .filter_map(|s| s.attr("url.path"))
        .collect();
    paths.sort();
    assert_eq!(paths, ["/one", "/three", "/two"]);
}

#[tokio::test]
async fn otel_endpoint_env_applies_without_otlp_flag() {
    let collector = Collector::start().await;
    let endpoint = collector.url();
    let up = Upstream::start_with_env(
        &["--name", "env-only"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_SERVICE_NAME", "ignored"),
        ],
    )
    .await;
    let id = trace_id(7);
    send(
        &up,
        Method::GET,
        "/env",
        &[("traceparent", &traceparent(&id, "01"))],
        "",
    )
    .await;
    let spans = collector.trace(&id, 1, WAIT).await;
    // service.name is always --name.
    assert_eq!(spans[0].service_name.as_deref(), Some("env-only"));
}

#[tokio::test]
async fn sampling_ratio_zero_drops_new_traces_but_keeps_sampled_ones() {
    let collector = Collector::start().await;
    let up = traced_upstream("ratio", &collector, &["--sampling-ratio", "0"]).await;
    send(&up, Method::GET, "/untraced", &[], "").await;
    let id = trace_id(8);
    send(
        &up,
        Method::GET,
        "/traced",
        &[("traceparent", &traceparent(&id, "01"))],
        "",
    )
    .await;
    collector.trace(&id, 1, WAIT).await;
    let all = collector.spans();
    assert_eq!(all.len(), 1, "{all:#?}");
}

#[tokio::test]
async fn invalid_otel_sampler_env_exits_2_naming_the_variable() {
    let finished = {
        let mut command = support::chaos_command();
        command
            .args(["upstream", "--name", "a"])
            .env("OTEL_TRACES_SAMPLER", "jaeger_remote");
        tokio::time::timeout(WAIT, command.output())
            .await
            .expect("chaos did not exit in time")
            .expect("spawn chaos")
    };
    let stderr = String::from_utf8_lossy(&finished.stderr);
    assert_eq!(finished.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("OTEL_TRACES_SAMPLER"), "{stderr}");
    assert!(finished.stdout.is_empty(), "nothing listens");
}

#[tokio::test]
async fn invalid_tracing_and_callback_flags_exit_2() {
    for (args, expected) in [
        (
            &["upstream", "--name", "a", "--otlp", "localhost:4318"][..],
            "must be an http://",
        ),
        (
            &["upstream", "--name", "a", "--via", "gateway"],
            "must be HOST:PORT",
        ),
        (
            &["upstream", "--name", "a", "--sampling-ratio", "1.5"],
            "from 0.0 to 1.0",
        ),
        (
            &["upstream", "--name", "a", "--callback-timeout", "0s"],
            "greater than zero",
        ),
    ] {
        let finished = run_to_end(args).await;
        assert_eq!(finished.status.code(), Some(2), "{args:?}: {finished:?}");
        assert!(
            finished.stderr.contains(expected),
            "{args:?}: {}",
            finished.stderr
        );
    }
}
