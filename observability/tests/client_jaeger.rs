//! Jaeger query client against recorded Jaeger answers served from a local stub server.

mod client_support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use client_support::{Answer, SilentServer, StubServer, closed_port_url};
use observability::client::{
    ApiVersion, AttributeValue, ClientError, Event, JaegerClient, Link, Operation, Scope, Span,
    SpanId, SpanKind, Status, StatusCode, Trace, TraceId, TraceQuery,
};
use serde_json::json;

const FIND_TRACES_V3: &str = include_str!("fixtures/client/jaeger/apiv3_FindTraces.json");
const OTLP_IN: &str = include_str!("fixtures/client/jaeger/otlp2jaeger-in.json");
const OTLP_OUT_V1: &str = include_str!("fixtures/client/jaeger/otlp2jaeger-out.json");
const UI_01: &str = include_str!("fixtures/client/jaeger/ui_01.json");

const TIMEOUT: Duration = Duration::from_secs(5);

fn v3_services() -> Answer {
    Answer::json(200, r#"{"services":["foo"]}"#)
}

fn v1_envelope(trace: &str) -> String {
    format!(r#"{{"data":[{trace}],"total":0,"limit":0,"offset":0,"errors":null}}"#)
}

fn window() -> (SystemTime, SystemTime) {
    let start = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
    (start, start + Duration::from_secs(60))
}

fn query() -> TraceQuery {
    let (start, end) = window();
    TraceQuery::new("foo", start, end)
        .with_operation("foobar")
        .with_attribute("http.status_code", "500")
        .with_attribute("error", "true")
        .with_duration(
            Some(Duration::from_millis(5)),
            Some(Duration::from_micros(1_500_250)),
        )
        .with_limit(20)
}

/// A span with every optional part empty.
fn span(trace_id: u128, span_id: u64, service: &str, name: &str) -> Span {
    Span {
        trace_id: TraceId(trace_id),
        span_id: SpanId(span_id),
        parent_span_id: None,
        service_name: service.to_owned(),
        name: name.to_owned(),
        kind: SpanKind::Unspecified,
        start_unix_nanos: 0,
        end_unix_nanos: 0,
        status: Status::default(),
        attributes: Vec::new(),
        events: Vec::new(),
        links: Vec::new(),
        resource_attributes: Vec::new(),
        scope: Scope::default(),
    }
}

fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn v3_search_decodes_find_traces_fixture_and_sends_snake_case_params() {
    let server = StubServer::start(&[
        ("/api/v3/services", v3_services()),
        ("/api/v3/traces", Answer::json(200, FIND_TRACES_V3)),
    ])
    .await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();

    let traces = client.find_traces(&query()).await.unwrap();

    let expected = Span {
        kind: SpanKind::Server,
        status: Status {
            code: StatusCode::Error,
            message: String::new(),
        },
        ..span(1, 2, "", "foobar")
    };
    assert_eq!(
        traces,
        vec![Trace {
            trace_id: TraceId(1),
            spans: vec![expected]
        }]
    );
    assert_eq!(client.api_version().await.unwrap(), ApiVersion::V3);

    let params = server.params_of("/api/v3/traces");
    let [params] = params.as_slice() else {
        panic!("one search request, got {params:?}")
    };
    let attributes = params
        .iter()
        .find(|(k, _)| k == "query.attributes")
        .unwrap();
    let attributes: serde_json::Value = serde_json::from_str(&attributes.1).unwrap();
    assert_eq!(
        attributes,
        json!({"http.status_code": "500", "error": "true"})
    );
    let others: Vec<_> = params
        .iter()
        .filter(|(k, _)| k != "query.attributes")
        .cloned()
        .collect();
    assert_eq!(
        others,
        owned(&[
            ("query.service_name", "foo"),
            ("query.start_time_min", "2023-11-14T22:13:20.123456789Z"),
            ("query.start_time_max", "2023-11-14T22:14:20.123456789Z"),
            ("query.search_depth", "20"),
            ("query.operation_name", "foobar"),
            ("query.duration_min", "5000000ns"),
            ("query.duration_max", "1500250000ns"),
        ])
    );
}

#[tokio::test]
async fn v3_and_v1_decode_the_same_trace_to_equal_spans() {
    let server = StubServer::start(&[
        ("/api/v3/services", v3_services()),
        (
            "/api/v3/traces",
            Answer::json(200, format!(r#"{{"result":{OTLP_IN}}}"#)),
        ),
        ("/api/traces", Answer::json(200, OTLP_OUT_V1)),
    ])
    .await;
    let v3 = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    let v1 = JaegerClient::new(&server.url(), TIMEOUT)
        .unwrap()
        .with_api_version(ApiVersion::V1);

    let from_v3 = v3.find_traces(&query()).await.unwrap();
    let from_v1 = v1.find_traces(&query()).await.unwrap();

    let expected = Span {
        parent_span_id: Some(SpanId(0x9095_41b9_2cf0_5311)),
        kind: SpanKind::Server,
        start_unix_nanos: 1_706_678_909_209_712_000,
        end_unix_nanos: 1_706_678_909_209_835_000,
        attributes: vec![
            (
                "net.peer.ip".to_owned(),
                AttributeValue::String("1.2.3.4".to_owned()),
            ),
            (
                "peer.service".to_owned(),
                AttributeValue::String("telemetrygen-client".to_owned()),
            ),
        ],
        scope: Scope {
            name: "telemetrygen".to_owned(),
            version: String::new(),
        },
        ..span(
            0x83a9_efd1_5c1c_98a9_77e0_711c_c93e_e28b,
            0xe127_af99_e3b3_e074,
            "telemetrygen",
            "okey-dokey-0",
        )
    };
    let trace = Trace {
        trace_id: expected.trace_id,
        spans: vec![expected.clone(), expected],
    };
    assert_eq!(from_v3, vec![trace.clone()]);
    assert_eq!(from_v1, vec![trace]);
    assert_eq!(from_v3[0].spans[0].duration(), Duration::from_micros(123));
}

#[tokio::test]
async fn v1_fallback_decodes_ui_model_exactly_and_is_probed_once() {
    let server = StubServer::start(&[
        ("/api/services", Answer::json(200, r#"{"data":["service-x","service-y"],"total":2,"limit":0,"offset":0,"errors":null}"#)),
        ("/api/traces", Answer::json(200, v1_envelope(UI_01))),
    ])
    .await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();

    let traces = client.find_traces(&query()).await.unwrap();
    let again = client.find_traces(&query()).await.unwrap();

    const START: u64 = 1_485_467_191_639_875_000;
    let timed = |s: Span, micros: u64| Span {
        start_unix_nanos: START,
        end_unix_nanos: START + micros * 1000,
        ..s
    };
    let expected = vec![
        Span {
            events: vec![
                Event {
                    time_unix_nanos: START,
                    name: "some-event".to_owned(),
                    attributes: vec![],
                },
                Event {
                    time_unix_nanos: START,
                    name: String::new(),
                    attributes: vec![("x".to_owned(), AttributeValue::String("y".to_owned()))],
                },
            ],
            ..timed(span(1, 2, "service-x", "test-general-conversion"), 5)
        },
        Span {
            // The boolean `error` tag is the status, not an attribute.
            status: Status {
                code: StatusCode::Error,
                message: String::new(),
            },
            attributes: vec![
                (
                    "peer.service".to_owned(),
                    AttributeValue::String("service-y".to_owned()),
                ),
                ("peer.ipv4".to_owned(), AttributeValue::Int(23456)),
                ("temperature".to_owned(), AttributeValue::Double(72.5)),
                (
                    "javascript_limit".to_owned(),
                    AttributeValue::Int(9_223_372_036_854_775_222),
                ),
                (
                    "blob".to_owned(),
                    AttributeValue::Bytes(vec![0, 0, 0x30, 0x39]),
                ),
            ],
            ..timed(span(1, 2, "service-x", "some-operation"), 5)
        },
        Span {
            parent_span_id: Some(SpanId(2)),
            ..timed(span(1, 3, "service-y", "some-operation"), 5)
        },
        Span {
            // The CHILD_OF into another trace is a link; the first same-trace one the parent.
            parent_span_id: Some(SpanId(2)),
            links: vec![
                Link {
                    trace_id: TraceId(0xff),
                    span_id: SpanId(0xff),
                },
                Link {
                    trace_id: TraceId(1),
                    span_id: SpanId(2),
                },
            ],
            ..timed(span(1, 4, "service-y", "reference-test"), 5)
        },
        Span {
            parent_span_id: Some(SpanId(4)),
            ..timed(span(1, 5, "service-y", "preserveParentID-test"), 4)
        },
    ];
    assert_eq!(
        traces,
        vec![Trace {
            trace_id: TraceId(1),
            spans: expected
        }]
    );
    assert_eq!(again, traces);
    assert_eq!(client.api_version().await.unwrap(), ApiVersion::V1);
    assert_eq!(client.services().await.unwrap(), ["service-x", "service-y"]);

    let probes = server
        .requests()
        .iter()
        .filter(|r| r.starts_with("/api/v3/services"))
        .count();
    assert_eq!(
        probes,
        1,
        "the API decision is cached: {:?}",
        server.requests()
    );
    let params = server.params_of("/api/traces");
    let params = params.first().unwrap();
    let tags = params.iter().find(|(k, _)| k == "tags").unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&tags.1).unwrap(),
        json!({"http.status_code": "500", "error": "true"})
    );
    let others: Vec<_> = params
        .iter()
        .filter(|(k, _)| k != "tags")
        .cloned()
        .collect();
    assert_eq!(
        others,
        owned(&[
            ("service", "foo"),
            ("start", "1700000000123456"),
            ("end", "1700000060123456"),
            ("limit", "20"),
            ("operation", "foobar"),
            ("minDuration", "5000000ns"),
            ("maxDuration", "1500250000ns"),
        ])
    );
}

#[tokio::test]
async fn probe_falls_back_to_v1_when_v3_route_serves_the_ui_page() {
    // Query services older than api_v3 answer unknown paths with the UI's index.html.
    let server = StubServer::start(&[
        (
            "/api/v3/services",
            Answer::text(
                200,
                "text/html; charset=utf-8",
                "<!doctype html><html></html>",
            ),
        ),
        (
            "/api/services",
            Answer::json(
                200,
                r#"{"data":[],"total":0,"limit":0,"offset":0,"errors":null}"#,
            ),
        ),
    ])
    .await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    assert_eq!(client.api_version().await.unwrap(), ApiVersion::V1);
    assert_eq!(client.services().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn probe_server_error_is_reported_and_not_cached() {
    let server = StubServer::start(&[(
        "/api/v3/services",
        Answer::text(503, "text/plain", "starting up"),
    )])
    .await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();

    let err = client.api_version().await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Status { status: 503, body_excerpt, .. } if body_excerpt == "starting up"),
        "{err:?}"
    );

    server.set("/api/v3/services", v3_services());
    assert_eq!(client.api_version().await.unwrap(), ApiVersion::V3);
    assert_eq!(client.services().await.unwrap(), ["foo"]);
}

#[tokio::test]
async fn no_api_when_both_probes_answer_404() {
    let server = StubServer::start(&[]).await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    let err = client.services().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::NoJaegerApi {
                v3_status: 404,
                v1_status: 404,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.requests(), ["/api/v3/services", "/api/services"]);
}

#[tokio::test]
async fn v3_search_404_is_no_traces() {
    let server = StubServer::start(&[
        ("/api/v3/services", v3_services()),
        (
            "/api/v3/traces",
            Answer::json(
                404,
                r#"{"error":{"httpCode":404,"message":"No traces found"}}"#,
            ),
        ),
    ])
    .await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    assert_eq!(
        client.find_traces(&query()).await.unwrap(),
        Vec::<Trace>::new()
    );
}

#[tokio::test]
async fn trace_by_id_uses_32_hex_digits_on_both_apis() {
    let id = "00000000000000000000000000000001";
    let server = StubServer::start(&[
        ("/api/v3/services", v3_services()),
        (
            &format!("/api/v3/traces/{id}"),
            Answer::json(200, FIND_TRACES_V3),
        ),
        (
            &format!("/api/traces/{id}"),
            Answer::json(200, v1_envelope(UI_01)),
        ),
    ])
    .await;
    let v3 = JaegerClient::new(&server.url(), TIMEOUT)
        .unwrap()
        .with_raw_traces(true);
    let v1 = JaegerClient::new(&server.url(), TIMEOUT)
        .unwrap()
        .with_api_version(ApiVersion::V1);

    let from_v3 = v3.trace(TraceId(1)).await.unwrap().unwrap();
    let from_v1 = v1.trace(TraceId(1)).await.unwrap().unwrap();

    assert_eq!(
        from_v3.spans.iter().map(|s| s.span_id).collect::<Vec<_>>(),
        [SpanId(2)]
    );
    assert_eq!(
        from_v1
            .spans
            .iter()
            .map(|s| s.span_id.0)
            .collect::<Vec<_>>(),
        [2, 2, 3, 4, 5]
    );
    assert_eq!(
        server.requests(),
        [
            "/api/v3/services".to_owned(),
            format!("/api/v3/traces/{id}?raw_traces=true"),
            format!("/api/traces/{id}"),
        ]
    );
}

#[tokio::test]
async fn trace_by_id_404_is_none_on_both_apis() {
    let server = StubServer::start(&[(
        "/api/traces/00000000000000000000000000000002",
        Answer::text(404, "text/plain; charset=utf-8", r#"{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}"#),
    )])
    .await;
    for api in [ApiVersion::V3, ApiVersion::V1] {
        let client = JaegerClient::new(&server.url(), TIMEOUT)
            .unwrap()
            .with_api_version(api);
        assert_eq!(client.trace(TraceId(2)).await.unwrap(), None, "{api:?}");
    }
}

#[tokio::test]
async fn operations_pass_span_kind_and_decode_kinds() {
    let server = StubServer::start(&[
        ("/api/v3/services", v3_services()),
        ("/api/v3/operations", Answer::json(200, r#"{"operations":[{"name":"get_users","spanKind":"server"}]}"#)),
        ("/api/operations", Answer::json(200, r#"{"data":[{"name":"GET","spanKind":""}],"total":1,"limit":0,"offset":0,"errors":null}"#)),
    ])
    .await;
    let v3 = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    let v1 = JaegerClient::new(&server.url(), TIMEOUT)
        .unwrap()
        .with_api_version(ApiVersion::V1);

    let ops = v3.operations("foo", Some(SpanKind::Server)).await.unwrap();
    assert_eq!(
        ops,
        [Operation {
            name: "get_users".to_owned(),
            span_kind: SpanKind::Server
        }]
    );
    let ops = v1.operations("foo", None).await.unwrap();
    assert_eq!(
        ops,
        [Operation {
            name: "GET".to_owned(),
            span_kind: SpanKind::Unspecified
        }]
    );
    assert_eq!(
        server.params_of("/api/v3/operations"),
        [owned(&[("service", "foo"), ("span_kind", "server")])]
    );
    assert_eq!(
        server.params_of("/api/operations"),
        [owned(&[("service", "foo")])]
    );
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let url = closed_port_url();
    let client = JaegerClient::new(&url, TIMEOUT).unwrap();
    let started = Instant::now();
    let err = client.services().await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Connect { url: u, .. } if u.starts_with(&url)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < TIMEOUT,
        "refusal is immediate, not a timeout"
    );
}

#[tokio::test]
async fn silent_server_times_out_within_the_client_timeout() {
    let server = SilentServer::start().await;
    let timeout = Duration::from_millis(300);
    let client = JaegerClient::new(&server.url(), timeout)
        .unwrap()
        .with_api_version(ApiVersion::V3);

    let started = Instant::now();
    let err = client.find_traces(&query()).await.unwrap_err();
    let elapsed = started.elapsed();

    assert!(
        matches!(err, ClientError::Timeout { timeout: t, .. } if t == timeout),
        "{err:?}"
    );
    assert!(elapsed >= timeout, "gave up early: {elapsed:?}");
    assert!(
        elapsed < timeout + Duration::from_secs(1),
        "overran the timeout: {elapsed:?}"
    );
}

#[tokio::test]
async fn server_error_keeps_status_and_body_excerpt() {
    let server = StubServer::start(&[
        ("/api/v3/services", v3_services()),
        (
            "/api/v3/traces",
            Answer::text(500, "text/plain", "storage backend unavailable\n"),
        ),
    ])
    .await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    let err = client.find_traces(&query()).await.unwrap_err();
    let ClientError::Status {
        url,
        status,
        body_excerpt,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*status, body_excerpt.as_str()),
        (500, "storage backend unavailable")
    );
    assert!(
        url.contains("/api/v3/traces?query.service_name=foo"),
        "{url}"
    );
}

#[tokio::test]
async fn structured_jaeger_errors_become_api_errors() {
    let server = StubServer::start(&[
        ("/api/v3/services", v3_services()),
        ("/api/v3/traces", Answer::json(400, r#"{"error":{"httpCode":400,"message":"query.startTimeMin and query.startTimeMax are required"}}"#)),
        ("/api/traces", Answer::json(200, r#"{"data":[],"total":0,"limit":0,"offset":0,"errors":[{"code":500,"msg":"partial failure"}]}"#)),
    ])
    .await;
    let v3 = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    let v1 = JaegerClient::new(&server.url(), TIMEOUT)
        .unwrap()
        .with_api_version(ApiVersion::V1);

    let err = v3.find_traces(&query()).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Api { status: 400, error_type: None, message, .. } if message.starts_with("query.startTimeMin")),
        "{err:?}"
    );
    // v1 reports partial failures next to data in a 200: the whole answer is refused.
    let err = v1.find_traces(&query()).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Api { status: 200, message, .. } if message == "partial failure"),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_json_is_invalid_json_error() {
    let server = StubServer::start(&[
        ("/api/v3/services", v3_services()),
        (
            "/api/v3/traces",
            Answer::json(200, r#"{"result": {"resourceSpans": ["#),
        ),
    ])
    .await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    let err = client.find_traces(&query()).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::InvalidJson { body_excerpt, .. } if body_excerpt.starts_with(r#"{"result""#)),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_field_shape_names_the_field() {
    let body = r#"{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"0000000000000002"}]}]}]}}"#;
    let server = StubServer::start(&[
        ("/api/v3/services", v3_services()),
        ("/api/v3/traces", Answer::json(200, body)),
    ])
    .await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    let err = client.find_traces(&query()).await.unwrap_err();
    let ClientError::Decode { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        source.path,
        "result.resourceSpans[0].scopeSpans[0].spans[0].traceId"
    );
    assert_eq!(source.reason, r#"expected 32 hex digits, got "xyz""#);
}

#[tokio::test]
async fn invalid_query_is_rejected_before_sending() {
    let server = StubServer::start(&[("/api/v3/services", v3_services())]).await;
    let client = JaegerClient::new(&server.url(), TIMEOUT).unwrap();
    let (start, _) = window();
    let err = client
        .find_traces(&TraceQuery::new("foo", start, start))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::InvalidQuery { reason, .. } if reason.contains("start_max")),
        "{err:?}"
    );
    assert_eq!(server.requests(), ["/api/v3/services"]);
}
