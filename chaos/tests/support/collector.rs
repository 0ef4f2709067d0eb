//! A minimal OTLP/HTTP trace receiver: accepts `POST /v1/traces` (protobuf), keeps every span
//! with its resource's `service.name`, and answers 200 with an empty export response.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// One received span and the `service.name` of the resource it came with.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    pub service_name: Option<String>,
    pub span: Span,
}

/// The running receiver; stops when dropped.
pub struct Collector {
    pub addr: SocketAddr,
    spans: watch::Receiver<Vec<ExportedSpan>>,
    task: JoinHandle<()>,
}

impl Collector {
    /// Binds `127.0.0.1:0` and serves until dropped.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind collector");
        let addr = listener.local_addr().expect("collector address");
        let (sender, spans) = watch::channel(Vec::new());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let sender = sender.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let sender = sender.clone();
                        async move { Ok::<_, Infallible>(receive(&sender, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Collector { addr, spans, task }
    }

    /// The base URL to give `--otlp` (`/v1/traces` is appended by the upstream).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ExportedSpan> {
        self.spans.borrow().clone()
    }

    /// Waits (at most `limit`) until `done` holds for the spans received, and returns them.
    pub async fn wait_until(
        &self,
        limit: Duration,
        done: impl Fn(&[ExportedSpan]) -> bool,
    ) -> Vec<ExportedSpan> {
        let mut spans = self.spans.clone();
        let waited = timeout(limit, spans.wait_for(|received| done(received))).await;
        match waited {
            Ok(Ok(received)) => received.clone(),
            _ => panic!(
                "spans not received within {limit:?}; got {:#?}",
                self.spans()
            ),
        }
    }

    /// Waits for `count` spans of trace `trace_id` (hex) and returns them.
    pub async fn trace(&self, trace_id: &str, count: usize, limit: Duration) -> Vec<ExportedSpan> {
        let of_trace = |spans: &[ExportedSpan]| -> Vec<ExportedSpan> {
            spans
                .iter()
                .filter(|s| hex(&s.span.trace_id) == trace_id)
                .cloned()
                .collect()
        };
        let spans = self
            .wait_until(limit, |spans| of_trace(spans).len() >= count)
            .await;
        of_trace(&spans)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    sender: &watch::Sender<Vec<ExportedSpan>>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if request.method() != Method::POST || request.uri().path() != "/v1/traces" {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    }
    let body = request
        .into_body()
        .collect()
        .await
        .expect("read export body")
        .to_bytes();
    let export = ExportTraceServiceRequest::decode(body).expect("protobuf export request");
    let mut received = Vec::new();
    for resource_spans in export.resource_spans {
        let service_name = resource_spans.resource.as_ref().and_then(|resource| {
            resource
                .attributes
                .iter()
                .find(|kv| kv.key == "service.name")
                .and_then(string_value)
        });
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                received.push(ExportedSpan {
                    service_name: service_name.clone(),
                    span,
                });
            }
        }
    }
    sender.send_modify(|spans| spans.extend(received));
    let mut response = Response::new(Full::new(Bytes::from(
        ExportTraceServiceResponse::default().encode_to_vec(),
    )));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-protobuf"),
    );
    response
}

/// Lowercase hex of an id.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn string_value(kv: &KeyValue) -> Option<String> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

impl ExportedSpan {
    /// The attribute `key` as a string or integer rendered as text.
    pub fn attr(&self, key: &str) -> Option<String> {
        let kv = self.span.attributes.iter().find(|kv| kv.key == key)?;
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            any_value::Value::IntValue(i) => Some(i.to_string()),
            any_value::Value::BoolValue(b) => Some(b.to_string()),
            other => Some(format!(
                "{:?}",
                AnyValue {
                    value: Some(other.clone())
                }
            )),
        }
    }

    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
}
