//! The OTLP/HTTP receiver: every status code of the OTLP/HTTP spec, both encodings, gzip,
//! partial success, and the size limit before and after decompression.

mod store_support;

use std::io::Write as _;
use std::num::NonZeroUsize;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{Request, StatusCode};
use http_body_util::Full;
use observability::store::{ReceiverConfig, StoreLimits};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use serde_json::json;
use store_support::{Harness, OTLP_TRACE, OTLP2JAEGER_IN, SpanSpec, request};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn valid_request() -> ExportTraceServiceRequest {
    request(
        "gateway",
        vec![
            SpanSpec::new(1, 1, "a").time(10, 5).build(),
            SpanSpec::new(1, 2, "b").time(12, 1).build(),
        ],
    )
}

/// Two good spans and three with bad ids (short trace id, zero span id, short parent).
fn mixed_request() -> ExportTraceServiceRequest {
    let mut short_trace = SpanSpec::new(2, 2, "short-trace").build();
    short_trace.trace_id.pop();
    let zero_span = SpanSpec::new(2, 0, "zero-span").build();
    let mut short_parent = SpanSpec::new(2, 3, "short-parent").build();
    short_parent.parent_span_id = vec![1, 2, 3];
    request(
        "gateway",
        vec![
            SpanSpec::new(2, 1, "ok").build(),
            short_trace,
            zero_span,
            short_parent,
            SpanSpec::new(2, 4, "ok-too").build(),
        ],
    )
}

#[tokio::test]
async fn json_export_is_stored_and_answered_with_an_empty_json_response() {
    let h = Harness::new();

    let reply = h.post("application/json", &[], OTLP2JAEGER_IN).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.json(), json!({}));
    assert_eq!(h.store.stats().spans_stored, 2);
    assert_eq!(h.store.stats().traces_stored, 1);
}

#[tokio::test]
async fn protobuf_export_is_answered_in_protobuf() {
    let h = Harness::new();

    let reply = h
        .post(
            "application/x-protobuf",
            &[],
            valid_request().encode_to_vec(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/x-protobuf");
    let response = ExportTraceServiceResponse::decode(reply.body).unwrap();
    assert_eq!(response.partial_success, None);
    assert_eq!(h.store.stats().spans_stored, 2);
}

#[tokio::test]
async fn gzip_bodies_are_decompressed_in_both_encodings() {
    let h = Harness::new();

    let json = h
        .post(
            "application/json",
            &[("content-encoding", "gzip")],
            gzip(OTLP_TRACE.as_bytes()),
        )
        .await;
    let proto = h
        .post(
            "application/x-protobuf",
            &[("content-encoding", "gzip")],
            gzip(&valid_request().encode_to_vec()),
        )
        .await;

    assert_eq!(json.status, StatusCode::OK, "{}", json.text());
    assert_eq!(proto.status, StatusCode::OK, "{}", proto.text());
    assert_eq!(h.store.stats().spans_stored, 3);
    assert_eq!(h.store.stats().traces_stored, 2);
}

#[tokio::test]
async fn invalid_ids_give_partial_success_in_json() {
    let h = Harness::new();
    let body = serde_json::to_string(&mixed_request()).unwrap();

    let reply = h.post("application/json", &[], body).await;

    assert_eq!(reply.status, StatusCode::OK);
    let answer = reply.json();
    assert_eq!(answer["partialSuccess"]["rejectedSpans"], "3");
    assert_eq!(
        answer["partialSuccess"]["errorMessage"],
        "3 span(s) rejected; first: span \"short-trace\": trace id must be 16 bytes and not \
         all zero, got 15 bytes"
    );
    let stats = h.store.stats();
    assert_eq!((stats.spans_stored, stats.spans_rejected_total), (2, 3));
}

#[tokio::test]
async fn invalid_ids_give_partial_success_in_protobuf() {
    let h = Harness::new();

    let reply = h
        .post(
            "application/x-protobuf",
            &[],
            mixed_request().encode_to_vec(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    let partial = ExportTraceServiceResponse::decode(reply.body)
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_spans, 3);
    assert!(
        partial
            .error_message
            .contains("first: span \"short-trace\"")
    );
}

#[tokio::test]
async fn json_accepts_numbers_for_64_bit_ints_and_ignores_unknown_fields() {
    let h = Harness::new();
    let body = r#"{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{
        "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",
        "name":"n","startTimeUnixNano":1000,"endTimeUnixNano":"2000","futureField":true,
        "attributes":[{"key":"k","value":{"intValue":7}}]}]}]}],"extra":1}"#;

    let reply = h.post("application/json; charset=utf-8", &[], body).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let trace = h
        .get_json("/api/v3/traces/0102030405060708090a0b0c0d0e0f10")
        .await;
    let span = &trace["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["startTimeUnixNano"], "1000");
    assert_eq!(span["attributes"][0]["value"], json!({"intValue": "7"}));
}

#[tokio::test]
async fn empty_request_is_a_success_that_stores_nothing() {
    let h = Harness::new();

    let reply = h.post("application/json", &[], "{}").await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({}));
    assert_eq!(h.store.stats(), Default::default());
}

#[tokio::test]
async fn undecodable_json_is_400_with_a_json_status() {
    let h = Harness::new();

    let reply = h.post("application/json", &[], "{not json").await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.header("content-type"), "application/json");
    let status = reply.json();
    assert_eq!(status["code"], 3);
    let message = status["message"].as_str().unwrap();
    assert!(
        message.starts_with("cannot decode the JSON body as ExportTraceServiceRequest: "),
        "{message}"
    );
    assert_eq!(h.store.stats().spans_stored, 0);
}

#[tokio::test]
async fn non_hex_id_in_json_is_400() {
    let h = Harness::new();
    let body = OTLP_TRACE.replace("5B8EFFF798038103D269B633813FC60C", "not-hex-at-all");

    let reply = h.post("application/json", &[], body).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
}

#[tokio::test]
async fn undecodable_protobuf_is_400_with_a_protobuf_status() {
    let h = Harness::new();

    let reply = h
        .post("application/x-protobuf", &[], vec![0xff, 0xff, 0xff])
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.header("content-type"), "application/x-protobuf");
    // google.rpc.Status: field 1 = code (varint 3), field 2 = message.
    assert_eq!(&reply.body[..2], &[0x08, 0x03]);
    assert!(reply.text().contains("cannot decode the protobuf body"));
}

#[tokio::test]
async fn corrupt_gzip_is_400() {
    let h = Harness::new();

    let reply = h
        .post(
            "application/json",
            &[("content-encoding", "gzip")],
            "plain text",
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot decompress the gzip body")
    );
}

#[tokio::test]
async fn unsupported_or_missing_content_type_is_415_in_json() {
    let h = Harness::new();

    let text = h.post("text/plain", &[], OTLP_TRACE).await;
    let none = h
        .send(
            Request::post("/v1/traces")
                .body(Full::new(Bytes::from(OTLP_TRACE)))
                .unwrap(),
        )
        .await;

    for reply in [&text, &none] {
        assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(reply.header("content-type"), "application/json");
        assert_eq!(reply.json()["code"], 3);
    }
    assert!(
        text.json()["message"]
            .as_str()
            .unwrap()
            .contains("\"text/plain\"")
    );
    assert_eq!(h.store.stats().spans_stored, 0);
}

#[tokio::test]
async fn unsupported_content_encoding_is_415() {
    let h = Harness::new();

    let reply = h
        .post(
            "application/json",
            &[("content-encoding", "br")],
            OTLP_TRACE,
        )
        .await;

    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(reply.json()["message"].as_str().unwrap().contains("\"br\""));
}

fn small_receiver(max_body_bytes: usize) -> Harness {
    Harness::with(
        StoreLimits::default(),
        ReceiverConfig::new(NonZeroUsize::new(max_body_bytes).unwrap()),
    )
}

#[tokio::test]
async fn body_above_the_limit_is_413_whether_declared_or_streamed() {
    let h = small_receiver(100);
    let big = OTLP_TRACE.as_bytes();
    assert!(big.len() > 100);

    let declared = h
        .post(
            "application/json",
            &[("content-length", &big.len().to_string())],
            big.to_vec(),
        )
        .await;
    let undeclared = h.post("application/json", &[], big.to_vec()).await;

    for reply in [&declared, &undeclared] {
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            reply.json(),
            json!({"code": 8, "message": "request body exceeds the limit of 100 bytes"})
        );
    }
    assert_eq!(h.store.stats().spans_stored, 0);
}

#[tokio::test]
async fn body_exactly_at_the_limit_is_accepted() {
    let h = small_receiver(OTLP_TRACE.len());

    let reply = h.post("application/json", &[], OTLP_TRACE).await;

    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn gzip_body_expanding_above_the_limit_is_413() {
    let padded = format!("{}{}", OTLP_TRACE, " ".repeat(10_000));
    let compressed = gzip(padded.as_bytes());
    let h = small_receiver(2_000);
    assert!(compressed.len() < 2_000);

    let reply = h
        .post(
            "application/json",
            &[("content-encoding", "gzip")],
            compressed,
        )
        .await;

    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn wrong_method_is_405_with_allow_post() {
    let h = Harness::new();

    let reply = h
        .send(
            Request::get("/v1/traces")
                .header("content-type", "application/x-protobuf")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), "POST");
    assert_eq!(reply.header("content-type"), "application/x-protobuf");
}

#[tokio::test]
async fn other_paths_are_404() {
    let h = Harness::new();

    let reply = h
        .send(
            Request::post("/v1/metrics")
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from("{}")))
                .unwrap(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["code"], 5);
}
