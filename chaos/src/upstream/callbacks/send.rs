//! Sends one callback: an HTTP/1.1 POST of its arguments, directly or through `--via`, with
//! the trace context headers, bounded by the callback timeout.

use std::error::Error;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use observability::names::error_type;
use observability::tracecontext::{self, TraceContext};
use thiserror::Error;

use super::body::Callback;
use super::via::ViaAddress;
use crate::upstream::echo;

/// `user-agent` of callback requests.
const AGENT: &str = concat!("chaos-upstream/", env!("CARGO_PKG_VERSION"));

/// The HTTP client of callbacks: pooled connections, one per target (or to the via address).
#[derive(Debug)]
pub(crate) struct Sender {
    client: Client<HttpConnector, Full<Bytes>>,
    via: Option<ViaAddress>,
    timeout: Duration,
}

/// Why a callback got no answer.
#[derive(Debug, Error)]
pub(crate) enum CallbackError {
    /// No complete answer (headers and body) within the callback timeout.
    #[error("no answer within {after:?}")]
    Timeout { after: Duration },
    /// The connection to the target (or the via address) could not be made.
    #[error("cannot connect")]
    Connect(#[source] hyper_util::client::legacy::Error),
    /// The connection broke while the request was sent or the response headers read.
    #[error("request failed")]
    Request(#[source] hyper_util::client::legacy::Error),
    /// The response body broke off.
    #[error("reading the response body failed")]
    ResponseBody(#[source] hyper::Error),
    /// The request address could not be built from the via address and the callback URL.
    #[error("cannot address the request")]
    Address(#[source] http::Error),
}

// === impl Sender ===

impl Sender {
    pub(crate) fn new(via: Option<ViaAddress>, timeout: Duration) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Sender {
            client,
            via,
            timeout,
        }
    }

    pub(crate) fn via(&self) -> Option<&ViaAddress> {
        self.via.as_ref()
    }

    /// POSTs the callback's arguments and reads the whole answer; returns its status.
    ///
    /// `trace` goes into `traceparent`/`tracestate` (none when `None`).
    pub(crate) async fn send(
        &self,
        callback: &Callback,
        trace: Option<&TraceContext>,
    ) -> Result<StatusCode, CallbackError> {
        let request = self.request(callback, trace)?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|err| {
                if err.is_connect() {
                    CallbackError::Connect(err)
                } else {
                    CallbackError::Request(err)
                }
            })?;
            let status = response.status();
            // Read to the end so the connection can go back to the pool; count, don't keep.
            echo::count_body(response.into_body())
                .await
                .map_err(CallbackError::ResponseBody)?;
            Ok(status)
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(CallbackError::Timeout {
                after: self.timeout,
            }))
    }

    fn request(
        &self,
        callback: &Callback,
        trace: Option<&TraceContext>,
    ) -> Result<Request<Full<Bytes>>, CallbackError> {
        let body = Bytes::from(callback.arguments.to_string());
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
        if let Some(trace) = trace {
            tracecontext::inject(trace, headers);
        }
        match &self.via {
            None => *request.uri_mut() = callback.url.clone(),
            Some(via) => {
                let (uri, host) = via.address(&callback.url).map_err(CallbackError::Address)?;
                // The client adds `Host` from the URI only when it is absent, so this one,
                // naming the callback's target rather than the via address, is what is sent.
                request.headers_mut().insert(HOST, host);
                *request.uri_mut() = uri;
            }
        }
        Ok(request)
    }
}

// === impl CallbackError ===

impl CallbackError {
    /// The span's `error.type`.
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            CallbackError::Timeout { .. } => error_type::TIMEOUT,
            CallbackError::Connect(_) | CallbackError::Address(_) => error_type::CONNECT_FAILURE,
            CallbackError::Request(_) | CallbackError::ResponseBody(_) => error_type::IO,
        }
    }

    /// The message with its cause chain, `a: b: c`, for the summary and the span status.
    pub(crate) fn chain(&self) -> String {
        let mut line = self.to_string();
        let mut source = self.source();
        while let Some(cause) = source {
            line.push_str(": ");
            line.push_str(&cause.to_string());
            source = cause.source();
        }
        line
    }
}
