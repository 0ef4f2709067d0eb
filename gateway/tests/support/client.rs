//! The test client: hyper-util's pooled client over HTTP/1.1 or HTTP/2 (prior knowledge), every
//! exchange bounded by a timeout, and the replies it reads.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::timeout;

use super::WAIT;

/// The request body type the test client sends.
pub type TestBody = BoxBody<Bytes, Infallible>;

/// An empty request body.
pub fn empty() -> TestBody {
    Empty::new().boxed()
}

/// A request body of known bytes.
pub fn full(bytes: impl Into<Bytes>) -> TestBody {
    Full::new(bytes.into()).boxed()
}

/// A cheap-to-clone HTTP client; which protocol and pooling it uses is fixed at construction.
#[derive(Clone, Debug)]
pub struct Http {
    client: Client<HttpConnector, TestBody>,
}

/// A fully read response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What a [`TestUpstream`](super::TestUpstream) saw of a request, from its JSON answer.
#[derive(Debug, Deserialize)]
pub struct Echo {
    pub upstream: String,
    pub method: String,
    pub version: String,
    pub path: String,
    pub query: Option<String>,
    /// Every header, lowercase name to its values in order.
    pub headers: BTreeMap<String, Vec<String>>,
    pub body_bytes: u64,
}

// === impl Http ===

impl Http {
    /// HTTP/1.1 with keep-alive: requests reuse pooled connections.
    pub fn http1() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// HTTP/1.1 with a new connection for every request (no idle connection is kept).
    pub fn http1_fresh_connections() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http(),
        }
    }

    /// HTTP/2 over cleartext with prior knowledge (no upgrade).
    pub fn http2() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new())
                .http2_only(true)
                .build_http(),
        }
    }

    /// `GET url`, read in full within [`WAIT`]; panics on any transport error.
    pub async fn get(&self, url: &str) -> Reply {
        self.send(request(Method::GET, url).body(empty()).unwrap())
            .await
    }

    /// Sends `request` and reads the response in full within [`WAIT`]; panics on any transport
    /// error.
    pub async fn send(&self, request: Request<TestBody>) -> Reply {
        let what = format!("{} {}", request.method(), request.uri());
        self.try_send(request, WAIT)
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"))
    }

    /// Sends `request` and reads the response in full within `limit`; a transport error or
    /// the deadline is an `Err` describing it.
    pub async fn try_send(
        &self,
        request: Request<TestBody>,
        limit: Duration,
    ) -> Result<Reply, String> {
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("request failed: {}", chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| format!("reading the body failed: {}", chain(&e)))?
                .to_bytes();
            Ok(Reply {
                status: parts.status,
                version: parts.version,
                headers: parts.headers,
                body,
            })
        };
        timeout(limit, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("no complete response within {limit:?}")))
    }

    /// Sends `request` and returns once the response head arrived (within `limit`), leaving
    /// the body to the caller; for streaming tests.
    pub async fn head(&self, request: Request<TestBody>, limit: Duration) -> Response<Incoming> {
        timeout(limit, self.client.request(request))
            .await
            .unwrap_or_else(|_| panic!("no response head within {limit:?}"))
            .unwrap_or_else(|e| panic!("request failed: {}", chain(&e)))
    }
}

/// A request builder for `method url`.
pub fn request(method: Method, url: &str) -> http::request::Builder {
    Request::builder().method(method).uri(url)
}

/// An error and its sources on one line.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

// === impl Reply ===

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// The upstream's echo of the request; panics (showing the reply) if this is not one.
    pub fn echo(&self) -> Echo {
        assert_eq!(self.status, StatusCode::OK, "not an echo: {self:?}");
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not an echo ({e}): {:?}", self.body))
    }

    /// The single value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.get_all(name).iter();
        let value = values.next()?;
        assert!(values.next().is_none(), "header {name} repeated: {self:?}");
        Some(value.to_str().expect("ASCII header value"))
    }
}

// === impl Echo ===

impl Echo {
    /// The single value of header `name` as the upstream received it, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self.headers.get(name).map(Vec::as_slice) {
            None => None,
            Some([value]) => Some(value),
            Some(values) => panic!("header {name} repeated upstream: {values:?}"),
        }
    }
}
