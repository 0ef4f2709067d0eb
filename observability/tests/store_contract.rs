//! Contract tests: the embedded store against Jaeger's and OpenTelemetry's own sample data
//! (`tests/fixtures/store`, verbatim copies).
//!
//! Comparisons are of parsed JSON (`serde_json::Value`), so object key order and whitespace
//! do not matter while array order (spans, tags, references) does. The only normalisation is
//! the one Jaeger's fixture README documents: `otlp2jaeger-out.json` is `/api/transform`'s
//! answer, which runs no adjusters and so keeps both copies of the duplicated span; a normal
//! read (`/api/traces/{id}`) deduplicates it. So the adjusted read is compared with the fixture
//! minus its second span, and the `raw=true` read with the fixture as is.

mod store_support;

use observability::store::jaeger_v1::{Response, Trace};
use serde_json::{Value as Json, json};
use store_support::{
    APIV3_FIND_TRACES, Harness, OTLP_TRACE, OTLP2JAEGER_IN, OTLP2JAEGER_OUT, UI_01,
};

const FIXTURE_TRACE: &str = "83a9efd15c1c98a977e0711cc93ee28b";

/// `otlp2jaeger-out.json` with the duplicate span removed, as a deduplicating read returns it.
fn otlp2jaeger_out_deduplicated() -> Json {
    let mut expected: Json = serde_json::from_str(OTLP2JAEGER_OUT).unwrap();
    let spans = expected["data"][0]["spans"].as_array_mut().unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0], spans[1], "the fixture's two spans are identical");
    spans.truncate(1);
    expected
}

#[tokio::test]
async fn v1_trace_of_otlp2jaeger_in_equals_fixture_out_deduplicated() {
    let h = Harness::new();
    h.post_json(OTLP2JAEGER_IN).await;

    let got = h.get_json(&format!("/api/traces/{FIXTURE_TRACE}")).await;

    assert_eq!(got, otlp2jaeger_out_deduplicated());
    assert_eq!(h.store.stats().spans_stored, 2, "both copies stay stored");
}

#[tokio::test]
async fn v1_raw_trace_of_otlp2jaeger_in_equals_fixture_out_exactly() {
    let h = Harness::new();
    h.post_json(OTLP2JAEGER_IN).await;

    let got = h
        .get_json(&format!("/api/traces/{FIXTURE_TRACE}?raw=true"))
        .await;

    let expected: Json = serde_json::from_str(OTLP2JAEGER_OUT).unwrap();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn v1_search_of_otlp2jaeger_in_returns_the_same_trace() {
    let h = Harness::new();
    h.post_json(OTLP2JAEGER_IN).await;

    // The fixture's span starts at 1706678909209712 µs; the default window is the last 48 h.
    let got = h
        .get_json(
            "/api/traces?service=telemetrygen&operation=okey-dokey-0\
             &start=1706678909000000&end=1706678910000000&tag=peer.service:telemetrygen-client",
        )
        .await;

    assert_eq!(got, otlp2jaeger_out_deduplicated());
}

#[test]
fn ui_01_round_trips_through_the_v1_model() {
    let original: Json = serde_json::from_str(UI_01).unwrap();

    let trace: Trace = serde_json::from_str(UI_01).unwrap();
    let written = serde_json::to_value(&trace).unwrap();

    assert_eq!(written, original);
    assert_eq!(trace.spans.len(), 5);
    assert_eq!(trace.processes.len(), 2);
}

#[test]
fn otlp2jaeger_out_round_trips_through_the_v1_envelope() {
    let original: Json = serde_json::from_str(OTLP2JAEGER_OUT).unwrap();

    let envelope: Response<Vec<Trace>> = serde_json::from_str(OTLP2JAEGER_OUT).unwrap();

    assert_eq!(serde_json::to_value(&envelope).unwrap(), original);
}

/// The request whose stored form Jaeger's `FindTraces.json` snapshot shows: an empty resource
/// and scope, one SERVER span with status ERROR and no times.
const APIV3_SNAPSHOT_REQUEST: &str = r#"{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},
  "spans":[{"traceId":"00000000000000000000000000000001","spanId":"0000000000000002",
  "name":"foobar","kind":2,"status":{"code":2}}]}]}]}"#;

#[tokio::test]
async fn v3_get_trace_reproduces_the_find_traces_snapshot_exactly() {
    let h = Harness::new();
    h.post_json(APIV3_SNAPSHOT_REQUEST).await;

    let got = h.get_json("/api/v3/traces/1").await;

    let expected: Json = serde_json::from_str(APIV3_FIND_TRACES).unwrap();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn v3_find_traces_reproduces_the_find_traces_snapshot_exactly() {
    let h = Harness::new();
    h.post_json(APIV3_SNAPSHOT_REQUEST).await;

    // The span has no start time (epoch 0) and no service; search the first second of 1970.
    let got = h
        .get_json(
            "/api/v3/traces?query.start_time_min=1970-01-01T00:00:00Z\
             &query.start_time_max=1970-01-01T00:00:01Z",
        )
        .await;

    let expected: Json = serde_json::from_str(APIV3_FIND_TRACES).unwrap();
    assert_eq!(got, expected);
}

/// The structure of a JSON value: object keys (recursively), array element structures
/// (merged), and scalar kinds.
fn shape(value: &Json) -> Json {
    match value {
        Json::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Json::Array(items) => Json::Array(items.iter().take(1).map(shape).collect()),
        Json::String(_) => json!("string"),
        Json::Number(_) => json!("number"),
        Json::Bool(_) => json!("bool"),
        Json::Null => json!("null"),
    }
}

#[tokio::test]
async fn v3_answer_for_otlp2jaeger_in_has_the_snapshot_shape_plus_its_fields() {
    let h = Harness::new();
    h.post_json(OTLP2JAEGER_IN).await;

    let got = h.get_json(&format!("/api/v3/traces/{FIXTURE_TRACE}")).await;

    // Same envelope and nesting as the snapshot; the extra fields are the ones this trace sets.
    let expected = json!({"result": {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "telemetrygen"}}]},
        "schemaUrl": "https://opentelemetry.io/schemas/1.4.0",
        "scopeSpans": [{
            "scope": {"name": "telemetrygen"},
            "spans": [{
                "traceId": FIXTURE_TRACE,
                "spanId": "e127af99e3b3e074",
                "parentSpanId": "909541b92cf05311",
                "name": "okey-dokey-0",
                "kind": 2,
                "startTimeUnixNano": "1706678909209712000",
                "endTimeUnixNano": "1706678909209835000",
                "attributes": [
                    {"key": "net.peer.ip", "value": {"stringValue": "1.2.3.4"}},
                    {"key": "peer.service", "value": {"stringValue": "telemetrygen-client"}}
                ],
                "status": {}
            }]
        }]
    }]}});
    assert_eq!(got, expected);
    let snapshot: Json = serde_json::from_str(APIV3_FIND_TRACES).unwrap();
    let snapshot_span =
        &shape(&snapshot)["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    let our_span = &shape(&got)["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    for (key, kind) in snapshot_span.as_object().unwrap() {
        if key != "status" {
            assert_eq!(&our_span[key], kind, "span field {key}");
        }
    }
}

#[tokio::test]
async fn otlp_trace_json_with_uppercase_ids_is_accepted_and_read_by_lowercase_id() {
    let h = Harness::new();

    let reply = h.post_json(OTLP_TRACE).await;
    assert_eq!(reply.json(), json!({}));

    let got = h
        .get_json("/api/traces/5b8efff798038103d269b633813fc60c")
        .await;
    let expected = json!({
        "data": [{
            "traceID": "5b8efff798038103d269b633813fc60c",
            "spans": [{
                "traceID": "5b8efff798038103d269b633813fc60c",
                "spanID": "eee19b7ec3c1b174",
                "operationName": "I'm a server span",
                "references": [{"refType": "CHILD_OF",
                                "traceID": "5b8efff798038103d269b633813fc60c",
                                "spanID": "eee19b7ec3c1b173"}],
                "startTime": 1544712660000000_u64,
                "duration": 1000000,
                "tags": [
                    {"key": "otel.scope.name", "type": "string", "value": "my.library"},
                    {"key": "otel.scope.version", "type": "string", "value": "1.0.0"},
                    {"key": "my.span.attr", "type": "string", "value": "some value"},
                    {"key": "span.kind", "type": "string", "value": "server"}
                ],
                "logs": [],
                "processID": "p1",
                "warnings": null
            }],
            "processes": {"p1": {"serviceName": "my.service", "tags": []}},
            "warnings": null
        }],
        "total": 0, "limit": 0, "offset": 0, "errors": null
    });
    assert_eq!(got, expected);
    // Jaeger parses path ids case-insensitively too.
    let upper = h
        .get_json("/api/traces/5B8EFFF798038103D269B633813FC60C")
        .await;
    assert_eq!(upper, expected);
}
