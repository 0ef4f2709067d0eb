//! The runner's small HTTP calls to control endpoints: the gateway's admin API (`/readyz`,
//! `/admin/telemetry/flush`) and the builtin upstream's behaviour switch (`/_chaos/behavior`).
//!
//! Each call is bounded by one timeout (connect, request and body) and reads the whole
//! (small) answer. Connections are not pooled: a control call is rare, and a pooled
//! connection to an upstream that a fault just killed would only fail the next call.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Largest answer read; control answers are a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A client for control calls. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Control {
    http: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

/// A complete answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

/// Why a control call (gateway admin API, upstream behaviour switch) failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The URL is not a valid absolute `http://` URL.
    #[error("invalid URL {url}")]
    Url {
        /// The URL.
        url: String,
    },
    /// No complete answer within the timeout.
    #[error("{method} {url}: no answer within {timeout:?}")]
    Timeout {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// Connecting, sending or reading failed.
    #[error("{method} {url}: {reason}")]
    Transport {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The answer was not the expected 2xx.
    #[error("{method} {url}: status {status}: {body}")]
    Status {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The status.
        status: StatusCode,
        /// The body, as text (cut).
        body: String,
    },
}

/// A non-2xx answer as an error, with the start of its body (512 characters at most).
fn status_error(method: Method, url: &str, answer: &Answer) -> ControlError {
    ControlError::Status {
        method,
        url: url.to_owned(),
        status: answer.status,
        body: String::from_utf8_lossy(&answer.body)
            .chars()
            .take(512)
            .collect(),
    }
}

// === impl Control ===

impl Control {
    /// A client whose every call ends within `timeout`.
    pub(crate) fn new(timeout: Duration) -> Control {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        Control { http, timeout }
    }

    /// `GET url`, whatever the status.
    pub(crate) async fn get(&self, url: &str) -> Result<Answer, ControlError> {
        self.call(Method::GET, url, None).await
    }

    /// `POST url` with a JSON body (or none); a non-2xx answer is an error.
    pub(crate) async fn post_json(
        &self,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, ControlError> {
        let body = body.map(|b| Bytes::from(b.to_string()));
        let answer = self.call(Method::POST, url, body).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(status_error(Method::POST, url, &answer))
        }
    }

    /// `GET url` expecting 2xx JSON.
    pub(crate) async fn get_json(&self, url: &str) -> Result<serde_json::Value, ControlError> {
        let answer = self.get(url).await?;
        let transport = |reason: String| ControlError::Transport {
            method: Method::GET,
            url: url.to_owned(),
            reason,
        };
        if !answer.status.is_success() {
            return Err(status_error(Method::GET, url, &answer));
        }
        serde_json::from_slice(&answer.body).map_err(|e| transport(format!("invalid JSON: {e}")))
    }

    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
    ) -> Result<Answer, ControlError> {
        let uri: http::Uri = url.parse().map_err(|_| ControlError::Url {
            url: url.to_owned(),
        })?;
        let mut request = Request::builder().method(method.clone()).uri(uri);
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|_| ControlError::Url {
                url: url.to_owned(),
            })?;
        let transport = |reason: String| ControlError::Transport {
            method: method.clone(),
            url: url.to_owned(),
            reason,
        };
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| transport(super::error::chain(&e)))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| transport(e.to_string()))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ControlError::Timeout {
                method: method.clone(),
                url: url.to_owned(),
                timeout: self.timeout,
            })?
    }
}
