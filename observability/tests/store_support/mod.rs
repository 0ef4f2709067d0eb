//! Shared helpers of the trace store's integration tests: the fixtures, in-process requests
//! against the receiver and the query API (no sockets), and OTLP request builders.

#![allow(dead_code, unreachable_pub)]

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use observability::store::{
    OtlpReceiver, QueryApi, ReceiverConfig, StoreLimits, TRACES_PATH, TraceStore,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message as _;
use serde_json::Value as Json;

pub const OTLP2JAEGER_IN: &str = include_str!("../fixtures/store/jaeger/otlp2jaeger-in.json");
pub const OTLP2JAEGER_OUT: &str = include_str!("../fixtures/store/jaeger/otlp2jaeger-out.json");
pub const UI_01: &str = include_str!("../fixtures/store/jaeger/ui_01.json");
pub const APIV3_FIND_TRACES: &str = include_str!("../fixtures/store/jaeger/apiv3_FindTraces.json");
pub const OTLP_TRACE: &str = include_str!("../fixtures/store/otlp/trace.json");

/// A store with its receiver and query API, driven in-process.
pub struct Harness {
    pub store: TraceStore,
    pub receiver: OtlpReceiver,
    pub api: QueryApi,
}

/// A fully read response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(StoreLimits::default(), ReceiverConfig::default())
    }

    pub fn with(limits: StoreLimits, config: ReceiverConfig) -> Self {
        let store = TraceStore::new(limits);
        Self {
            receiver: OtlpReceiver::new(store.clone(), config),
            api: QueryApi::new(store.clone()),
            store,
        }
    }

    /// Any request to the receiver.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Reply {
        read(self.receiver.handle(request).await).await
    }

    /// POST /v1/traces with a content type and extra headers.
    pub async fn post(
        &self,
        content_type: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut builder = Request::post(TRACES_PATH).header("content-type", content_type);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.send(builder.body(Full::new(body.into())).unwrap())
            .await
    }

    /// POST an OTLP/JSON body; asserts 200.
    pub async fn post_json(&self, json: &str) -> Reply {
        let reply = self.post("application/json", &[], json.to_owned()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply
    }

    /// POST a protobuf request; asserts 200.
    pub async fn post_proto(&self, request: &ExportTraceServiceRequest) -> Reply {
        let reply = self
            .post("application/x-protobuf", &[], request.encode_to_vec())
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply
    }

    /// GET from the query API.
    pub async fn get(&self, uri: &str) -> Reply {
        let request = Request::get(uri).body(Full::new(Bytes::new())).unwrap();
        read(self.api.handle(request).await).await
    }

    /// GET that must answer 200 with JSON.
    pub async fn get_json(&self, uri: &str) -> Json {
        let reply = self.get(uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
        reply.json()
    }
}

async fn read(response: http::Response<Full<Bytes>>) -> Reply {
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

impl Reply {
    pub fn json(&self) -> Json {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .unwrap()
    }
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

pub fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// A trace id whose every byte is `n`.
pub fn trace_id(n: u8) -> Vec<u8> {
    vec![n; 16]
}

/// The hex form of [`trace_id`].
pub fn trace_hex(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

/// A span builder with the fields the tests vary.
#[derive(Clone)]
pub struct SpanSpec {
    pub span: Span,
}

impl SpanSpec {
    pub fn new(trace: u8, span: u64, name: &str) -> Self {
        Self {
            span: Span {
                trace_id: trace_id(trace),
                span_id: span.to_be_bytes().to_vec(),
                name: name.into(),
                ..Default::default()
            },
        }
    }

    pub fn kind(mut self, kind: i32) -> Self {
        self.span.kind = kind;
        self
    }

    pub fn parent(mut self, parent: u64) -> Self {
        self.span.parent_span_id = parent.to_be_bytes().to_vec();
        self
    }

    /// Starts at `start_ns` and lasts `duration_ns`.
    pub fn time(mut self, start_ns: u64, duration_ns: u64) -> Self {
        self.span.start_time_unix_nano = start_ns;
        self.span.end_time_unix_nano = start_ns + duration_ns;
        self
    }

    pub fn attr(mut self, kv: KeyValue) -> Self {
        self.span.attributes.push(kv);
        self
    }

    pub fn error(mut self) -> Self {
        self.span.status = Some(Status {
            code: 2,
            message: String::new(),
        });
        self
    }

    pub fn build(self) -> Span {
        self.span
    }
}

/// One resource (`service.name = service`) and one scope holding `spans`.
pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "test".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
