//! The query APIs over a small data set: every v1 and v3 filter, span kinds, errors with
//! Jaeger's messages, and traces joined from several batches and services.

mod store_support;

use http::StatusCode;
use serde_json::{Value as Json, json};
use store_support::{Harness, SpanSpec, int, now_ns, request, string, trace_hex};

const MS: u64 = 1_000_000;
const HOUR: u64 = 3_600_000 * MS;

/// Trace ids: A spans two services in two batches, B failed, C is three hours old.
const A: u8 = 0x0a;
const B: u8 = 0x0b;
const C: u8 = 0x0c;

/// Percent-encodes a query value.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Data {
    h: Harness,
    now: u64,
}

impl Data {
    fn us(&self, ns: u64) -> u64 {
        ns / 1_000
    }

    fn rfc3339(&self, ns: u64) -> String {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(ns as i128).unwrap();
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }
}

/// Ingests, in this order: A's gateway batch, B, C, A's users batch.
async fn data() -> Data {
    let h = Harness::new();
    let now = now_ns();
    let t0 = now - HOUR / 2;
    let a_gateway = request(
        "gateway",
        vec![
            SpanSpec::new(A, 1, "GET /users")
                .kind(2)
                .time(t0, 10 * MS)
                .attr(int("http.status_code", 200))
                .build(),
            SpanSpec::new(A, 2, "upstream")
                .kind(3)
                .parent(1)
                .time(t0 + MS, 8 * MS)
                .attr(string("upstream.name", "users"))
                .build(),
        ],
    );
    let b = request(
        "gateway",
        vec![
            SpanSpec::new(B, 1, "GET /users")
                .kind(2)
                .time(t0 + 1_000 * MS, 300 * MS)
                .attr(int("http.status_code", 503))
                .error()
                .build(),
        ],
    );
    let c = request(
        "gateway",
        vec![
            SpanSpec::new(C, 1, "POST /orders")
                .kind(2)
                .time(now - 3 * HOUR, 50 * MS)
                .build(),
            SpanSpec::new(C, 2, "work")
                .parent(1)
                .time(now - 3 * HOUR + MS, MS)
                .build(),
        ],
    );
    let a_users = request(
        "users",
        vec![
            SpanSpec::new(A, 3, "GET /users")
                .kind(2)
                .parent(2)
                .time(t0 + 2 * MS, 5 * MS)
                .build(),
        ],
    );
    for batch in [&a_gateway, &b, &c] {
        h.post_proto(batch).await;
    }
    h.post_json(&serde_json::to_string(&a_users).unwrap()).await;
    Data { h, now }
}

/// Trace ids of a v1 search answer, in answer order.
fn v1_ids(answer: &Json) -> Vec<String> {
    answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["traceID"].as_str().unwrap().to_owned())
        .collect()
}

/// Distinct trace ids of a v3 answer, in answer order.
fn v3_ids(answer: &Json) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for rs in answer["result"]["resourceSpans"].as_array().unwrap() {
        for ss in rs["scopeSpans"].as_array().unwrap() {
            for span in ss["spans"].as_array().unwrap() {
                let id = span["traceId"].as_str().unwrap().to_owned();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            }
        }
    }
    ids
}

fn ids(traces: &[u8]) -> Vec<String> {
    traces.iter().map(|&t| trace_hex(t)).collect()
}

// --- v1: listings ---------------------------------------------------------------------

#[tokio::test]
async fn v1_services_lists_every_service_sorted() {
    let d = data().await;

    let got = d.h.get_json("/api/services").await;

    assert_eq!(
        got,
        json!({"data": ["gateway", "users"], "total": 2, "limit": 0, "offset": 0, "errors": null})
    );
}

#[tokio::test]
async fn v1_legacy_operations_lists_unique_names() {
    let d = data().await;

    let got = d.h.get_json("/api/services/gateway/operations").await;

    assert_eq!(
        got["data"],
        json!(["GET /users", "POST /orders", "upstream", "work"])
    );
    assert_eq!(got["total"], 4);
}

#[tokio::test]
async fn v1_operations_report_span_kinds_and_filter_by_kind() {
    let d = data().await;

    let all = d.h.get_json("/api/operations?service=gateway").await;
    let client =
        d.h.get_json("/api/operations?service=gateway&spanKind=client")
            .await;

    assert_eq!(
        all["data"],
        json!([
            {"name": "GET /users", "spanKind": "server"},
            {"name": "POST /orders", "spanKind": "server"},
            {"name": "upstream", "spanKind": "client"},
            {"name": "work", "spanKind": ""}
        ])
    );
    assert_eq!(all["total"], 4);
    assert_eq!(
        client["data"],
        json!([{"name": "upstream", "spanKind": "client"}])
    );
    assert_eq!(client["total"], 1);
}

#[tokio::test]
async fn v1_operations_without_service_is_400_in_jaegers_envelope() {
    let d = data().await;

    let reply = d.h.get("/api/operations").await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(
        reply.text(),
        "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":400,\
         \"msg\":\"parameter 'service' is required\"}]}\n"
    );
}

// --- v1: search filters ---------------------------------------------------------------

#[tokio::test]
async fn v1_search_by_service_returns_traces_newest_first() {
    let d = data().await;

    let got = d.h.get_json("/api/traces?service=gateway").await;

    assert_eq!(v1_ids(&got), ids(&[C, B, A]));
    assert_eq!(
        (got["total"].clone(), got["errors"].clone()),
        (json!(0), Json::Null)
    );
}

#[tokio::test]
async fn v1_search_by_operation_narrows_within_the_service() {
    let d = data().await;
    let op = enc("GET /users");

    let gateway =
        d.h.get_json(&format!("/api/traces?service=gateway&operation={op}"))
            .await;
    let users =
        d.h.get_json(&format!("/api/traces?service=users&operation={op}"))
            .await;

    assert_eq!(v1_ids(&gateway), ids(&[B, A]));
    assert_eq!(v1_ids(&users), ids(&[A]));
}

#[tokio::test]
async fn v1_search_by_tag_and_tags_matches_one_span_with_all_of_them() {
    let d = data().await;
    let search = |q: String| format!("/api/traces?service=gateway&{q}");

    let tag =
        d.h.get_json(&search("tag=http.status_code:503".into()))
            .await;
    let tags =
        d.h.get_json(&search(format!(
            "tags={}",
            enc(r#"{"http.status_code":"200"}"#)
        )))
        .await;
    let error =
        d.h.get_json(&search(format!("tags={}", enc(r#"{"error":"true"}"#))))
            .await;
    let kind = d.h.get_json(&search("tag=span.kind:client".into())).await;
    let split =
        d.h.get_json(&search(
            "tag=http.status_code:200&tag=upstream.name:users".into(),
        ))
        .await;

    assert_eq!(v1_ids(&tag), ids(&[B]));
    assert_eq!(v1_ids(&tags), ids(&[A]));
    assert_eq!(v1_ids(&error), ids(&[B]));
    assert_eq!(v1_ids(&kind), ids(&[A]));
    // The two tags are on different spans of A, so no single span matches.
    assert_eq!(split["data"], json!([]));
}

#[tokio::test]
async fn v1_search_by_time_window_uses_span_start_in_microseconds() {
    let d = data().await;
    let start = d.us(d.now - HOUR);
    let old_start = d.us(d.now - 4 * HOUR);
    let old_end = d.us(d.now - 2 * HOUR);

    let recent =
        d.h.get_json(&format!("/api/traces?service=gateway&start={start}"))
            .await;
    let old =
        d.h.get_json(&format!(
            "/api/traces?service=gateway&start={old_start}&end={old_end}"
        ))
        .await;

    assert_eq!(v1_ids(&recent), ids(&[B, A]));
    assert_eq!(v1_ids(&old), ids(&[C]));
}

#[tokio::test]
async fn v1_search_by_duration_bounds_uses_go_durations() {
    let d = data().await;
    let search = |q: &str| format!("/api/traces?service=gateway&{q}");

    let long = d.h.get_json(&search("minDuration=100ms")).await;
    let short = d.h.get_json(&search("maxDuration=9ms")).await;
    let between =
        d.h.get_json(&search("minDuration=20ms&maxDuration=0.1s"))
            .await;

    assert_eq!(v1_ids(&long), ids(&[B]));
    assert_eq!(v1_ids(&short), ids(&[C, A]));
    assert_eq!(v1_ids(&between), ids(&[C]));
}

#[tokio::test]
async fn v1_search_limit_keeps_the_newest_traces() {
    let d = data().await;

    let got = d.h.get_json("/api/traces?service=gateway&limit=2").await;

    assert_eq!(v1_ids(&got), ids(&[C, B]));
}

#[tokio::test]
async fn v1_search_without_hits_is_200_with_empty_data() {
    let d = data().await;

    let got = d.h.get_json("/api/traces?service=nobody").await;

    assert_eq!(
        got,
        json!({"data": [], "total": 0, "limit": 0, "offset": 0, "errors": null})
    );
}

#[tokio::test]
async fn v1_search_errors_use_jaegers_messages() {
    let d = data().await;
    let cases = [
        ("", "parameter 'service' is required"),
        (
            "service=gateway&minDuration=5",
            r#"unable to parse param 'minDuration': time: missing unit in duration "5""#,
        ),
        (
            "service=gateway&minDuration=2s&maxDuration=1s",
            "'maxDuration' should be greater than 'minDuration'",
        ),
        (
            "service=gateway&tag=nocolon",
            "malformed 'tag' parameter, expecting key:value, received: nocolon",
        ),
        (
            "service=gateway&limit=x",
            r#"strconv.ParseInt: parsing "x": invalid syntax"#,
        ),
        (
            "service=gateway&limit=0",
            "invalid parameter: limit must be greater than 0",
        ),
        (
            "service=gateway&start=abc",
            r#"unable to parse param 'start': strconv.ParseInt: parsing "abc": invalid syntax"#,
        ),
        (
            "service=gateway&start=2&end=1",
            "invalid parameter: start time must be before end time",
        ),
        (
            "traceID=xyz",
            r#"cannot parse traceID param: strconv.ParseUint: parsing "xyz": invalid syntax"#,
        ),
        (
            "service=gateway&raw=maybe",
            r#"unable to parse param 'raw': strconv.ParseBool: parsing "maybe": invalid syntax"#,
        ),
    ];
    for (query, message) in cases {
        let reply = d.h.get(&format!("/api/traces?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(
            reply.json(),
            json!({"data": null, "total": 0, "limit": 0, "offset": 0,
                   "errors": [{"code": 400, "msg": message}]}),
            "{query}"
        );
    }
    let tags = d.h.get("/api/traces?service=gateway&tags=notjson").await;
    assert_eq!(tags.status, StatusCode::BAD_REQUEST);
    let msg = tags.json()["errors"][0]["msg"].as_str().unwrap().to_owned();
    assert!(
        msg.starts_with("malformed 'tags' parameter, cannot unmarshal JSON: "),
        "{msg}"
    );
}

// --- v1: by id --------------------------------------------------------------------------

#[tokio::test]
async fn v1_multi_get_reports_missing_ids_in_errors() {
    let d = data().await;
    let missing = trace_hex(0xff);

    let got =
        d.h.get_json(&format!(
            "/api/traces?traceID={}&traceID={missing}",
            trace_hex(A)
        ))
        .await;

    assert_eq!(v1_ids(&got), ids(&[A]));
    assert_eq!(
        got["errors"],
        json!([{"msg": "trace not found", "traceID": missing}])
    );
}

#[tokio::test]
async fn v1_unknown_trace_is_404_with_jaegers_exact_body() {
    let d = data().await;

    let reply = d.h.get(&format!("/api/traces/{}", trace_hex(0xee))).await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(
        reply.text(),
        "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":404,\
         \"msg\":\"trace not found\"}]}\n"
    );
}

#[tokio::test]
async fn v1_malformed_trace_id_is_400() {
    let d = data().await;

    let reply = d.h.get(&format!("/api/traces/{}", "f".repeat(33))).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json()["errors"][0]["msg"],
        format!(
            "TraceID cannot be longer than 32 hex characters: {}",
            "f".repeat(33)
        )
    );
}

#[tokio::test]
async fn v1_trace_joins_batches_from_two_services() {
    let d = data().await;

    let got = d.h.get_json(&format!("/api/traces/{}", trace_hex(A))).await;

    let trace = &got["data"][0];
    let spans = trace["spans"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = spans
        .iter()
        .map(|s| {
            (
                s["spanID"].as_str().unwrap(),
                s["processID"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("0000000000000001", "p1"),
            ("0000000000000002", "p1"),
            ("0000000000000003", "p2")
        ]
    );
    assert_eq!(
        trace["processes"],
        json!({"p1": {"serviceName": "gateway", "tags": []},
               "p2": {"serviceName": "users", "tags": []}})
    );
    assert_eq!(
        spans[2]["references"],
        json!([{"refType": "CHILD_OF", "traceID": trace_hex(A), "spanID": "0000000000000002"}])
    );
    assert_eq!(spans[0]["duration"], 10_000);
}

#[tokio::test]
async fn v1_error_status_adds_otel_status_code_and_error_tags() {
    let d = data().await;

    let got = d.h.get_json(&format!("/api/traces/{}", trace_hex(B))).await;

    assert_eq!(
        got["data"][0]["spans"][0]["tags"],
        json!([
            {"key": "otel.scope.name", "type": "string", "value": "test"},
            {"key": "http.status_code", "type": "int64", "value": 503},
            {"key": "span.kind", "type": "string", "value": "server"},
            {"key": "otel.status_code", "type": "string", "value": "ERROR"},
            {"key": "error", "type": "bool", "value": true}
        ])
    );
}

#[tokio::test]
async fn v1_unknown_routes_and_methods_answer_like_go() {
    let d = data().await;
    let post = http::Request::post("/api/traces")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();

    let not_found = d.h.get("/api/nothing").await;
    let method = d.h.api.handle(post).await;

    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert_eq!(not_found.text(), "404 page not found\n");
    assert_eq!(method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(method.headers()["allow"], "GET");
}

#[tokio::test]
async fn v1_pretty_print_indents_by_four_spaces() {
    let d = data().await;

    let reply = d.h.get("/api/services?prettyPrint=true").await;

    assert!(
        reply.text().starts_with("{\n    \"data\": [\n"),
        "{}",
        reply.text()
    );
}

// --- v3 ---------------------------------------------------------------------------------

#[tokio::test]
async fn v3_services_and_operations_use_v3_shapes() {
    let d = data().await;

    let services = d.h.get_json("/api/v3/services").await;
    let operations = d.h.get_json("/api/v3/operations?service=gateway").await;
    let camel =
        d.h.get_json("/api/v3/operations?service=gateway&spanKind=client")
            .await;
    let snake =
        d.h.get_json("/api/v3/operations?service=gateway&span_kind=client")
            .await;
    let nobody = d.h.get_json("/api/v3/operations?service=nobody").await;

    assert_eq!(services, json!({"services": ["gateway", "users"]}));
    assert_eq!(
        operations,
        json!({"operations": [
            {"name": "GET /users", "spanKind": "server"},
            {"name": "POST /orders", "spanKind": "server"},
            {"name": "upstream", "spanKind": "client"},
            {"name": "work", "spanKind": "internal"}
        ]})
    );
    let client = json!({"operations": [{"name": "upstream", "spanKind": "client"}]});
    assert_eq!(camel, client);
    assert_eq!(snake, client);
    assert_eq!(nobody, json!({"operations": []}));
}

#[tokio::test]
async fn v3_search_filters_accept_camel_and_snake_case_names() {
    let d = data().await;
    let min = enc(&d.rfc3339(d.now - HOUR));
    let max = enc(&d.rfc3339(d.now));
    let op = enc("GET /users");
    let snake = |extra: &str| {
        format!("/api/v3/traces?query.start_time_min={min}&query.start_time_max={max}{extra}")
    };
    let camel = |extra: &str| {
        format!("/api/v3/traces?query.startTimeMin={min}&query.startTimeMax={max}{extra}")
    };

    let all = d.h.get_json(&snake("")).await;
    let by_op =
        d.h.get_json(&snake(&format!(
            "&query.service_name=gateway&query.operation_name={op}"
        )))
        .await;
    let by_op_camel =
        d.h.get_json(&camel(&format!(
            "&query.serviceName=gateway&query.operationName={op}"
        )))
        .await;
    let by_attr =
        d.h.get_json(&snake(&format!(
            "&query.attributes={}",
            enc(r#"{"http.status_code":"503"}"#)
        )))
        .await;
    let long = d.h.get_json(&snake("&query.duration_min=100ms")).await;
    let short = d.h.get_json(&camel("&query.durationMax=6ms")).await;
    let depth = d.h.get_json(&snake("&query.search_depth=1")).await;
    let num_traces = d.h.get_json(&camel("&query.num_traces=1")).await;

    assert_eq!(v3_ids(&all), ids(&[B, A]));
    assert_eq!(v3_ids(&by_op), ids(&[B, A]));
    assert_eq!(v3_ids(&by_op_camel), ids(&[B, A]));
    assert_eq!(v3_ids(&by_attr), ids(&[B]));
    assert_eq!(v3_ids(&long), ids(&[B]));
    assert_eq!(v3_ids(&short), ids(&[A]));
    assert_eq!(v3_ids(&depth), ids(&[B]));
    assert_eq!(v3_ids(&num_traces), ids(&[B]));
}

#[tokio::test]
async fn v3_search_without_hits_is_404_with_jaegers_body() {
    let d = data().await;

    let reply =
        d.h.get(
            "/api/v3/traces?query.service_name=nobody&query.start_time_min=2020-01-01T00:00:00Z\
             &query.start_time_max=2030-01-01T00:00:00Z",
        )
        .await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.text(),
        "{\"error\":{\"httpCode\":404,\"message\":\"No traces found\"}}\n"
    );
}

#[tokio::test]
async fn v3_search_errors_use_jaegers_messages() {
    let d = data().await;

    let missing = d.h.get("/api/v3/traces?query.service_name=gateway").await;
    let malformed = d
        .h
        .get("/api/v3/traces?query.start_time_min=yesterday&query.start_time_max=2030-01-01T00:00:00Z")
        .await;
    let duration =
        d.h.get(
            "/api/v3/traces?query.startTimeMin=2020-01-01T00:00:00Z\
             &query.startTimeMax=2030-01-01T00:00:00Z&query.durationMin=5",
        )
        .await;

    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json(),
        json!({"error": {"httpCode": 400,
                         "message": "query.startTimeMin and query.startTimeMax are required"}})
    );
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let message = malformed.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message
            .starts_with(r#"malformed parameter query.start_time_min: parsing time "yesterday""#),
        "{message}"
    );
    assert_eq!(
        duration.json()["error"]["message"],
        r#"malformed parameter query.durationMin: time: missing unit in duration "5""#
    );
}

#[tokio::test]
async fn v3_get_trace_groups_spans_by_resource_and_404s_unknown_ids() {
    let d = data().await;

    let got =
        d.h.get_json(&format!("/api/v3/traces/{}", trace_hex(A)))
            .await;
    let unknown =
        d.h.get(&format!("/api/v3/traces/{}", trace_hex(0xee)))
            .await;
    let malformed = d.h.get("/api/v3/traces/xyz").await;

    let resource_spans = got["result"]["resourceSpans"].as_array().unwrap();
    let services: Vec<&Json> = resource_spans
        .iter()
        .map(|rs| &rs["resource"]["attributes"][0]["value"]["stringValue"])
        .collect();
    assert_eq!(services, [&json!("gateway"), &json!("users")]);
    assert_eq!(
        resource_spans[0]["scopeSpans"][0]["spans"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        malformed.json()["error"]["message"],
        r#"malformed parameter trace_id: strconv.ParseUint: parsing "xyz": invalid syntax"#
    );
}

#[tokio::test]
async fn searches_spanning_several_scan_chunks_keep_newest_first_order() {
    // The store scans 1024 candidate traces per lock acquisition; 3000 traces need three.
    let h = Harness::new();
    let start = now_ns() - HOUR / 2;
    let spans = (0..3000u64)
        .map(|i| {
            let mut span = SpanSpec::new(1, i + 1, "op").time(start, MS).build();
            span.trace_id = [[0; 8], (i + 1).to_be_bytes()].concat();
            if i == 10 || i == 2500 {
                span.attributes.push(string("marked", "yes"));
            }
            span
        })
        .collect();
    h.store.ingest(request("gw", spans));
    let id = |i: u64| format!("{:016x}", i + 1);

    let v1 = h.get_json("/api/traces?service=gw&tag=marked:yes").await;
    let v3 = h
        .get_json(&format!(
            "/api/v3/traces?query.start_time_min={}&query.start_time_max=2100-01-01T00:00:00Z\
             &query.attributes={}",
            enc("2000-01-01T00:00:00Z"),
            enc(r#"{"marked":"yes"}"#)
        ))
        .await;

    assert_eq!(v1_ids(&v1), [id(2500), id(10)]);
    let full = |i| format!("{:016x}{}", 0, id(i));
    assert_eq!(v3_ids(&v3), [full(2500), full(10)]);
    assert_eq!(h.store.stats().traces_stored, 3000);
}
