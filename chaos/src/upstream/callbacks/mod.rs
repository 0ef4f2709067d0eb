//! `POST /_chaos/callbacks`: the upstream calls other services in the caller's trace, so a
//! harness can check that trace context survives every hop (the W3C trace-context test
//! harness drives its "test service" exactly this way).
//!
//! The body is `[{"url": "http://host:port/path", "arguments": [...]}, ...]` (see `body`).
//! Each callback, in order, is a POST of its `arguments` as JSON to its `url` (directly, or
//! through `--via`, see `via`), made from a CLIENT span `upstream.callback` that is a child of
//! this request's server span. The request carries `traceparent` = that client span (same
//! trace id, new parent id, the sampled decision) and the caller's `tracestate` unchanged.
//!
//! The answer, once every callback has finished (each bounded by `--callback-timeout`), is
//! 200 with a summary; a failed callback is reported there, not as the status:
//!
//! ```json
//! {"upstream": "users-a", "via": null, "callbacks": [
//!   {"url": "http://127.0.0.1:7777/callback/a.0", "status": 200},
//!   {"url": "http://127.0.0.1:9/x", "error": "cannot connect: ...", "error_type": "connect_failure"}]}
//! ```
//!
//! A body that is not valid (see `body`) is refused with 400 listing every problem, and no
//! callback is sent; more than `body::MAX_CALLBACKS` (32) callbacks is one such problem. Like every
//! control path, the behavior (hang, latency, errors) does not apply.

mod body;
mod send;
mod via;

use std::error::Error;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use opentelemetry_sdk::trace::SdkTracer;
use serde_json::{Value, json};
use tracing::debug;

pub(crate) use self::body::CallbackProblem;
pub(crate) use self::via::ViaAddress;

use self::body::Callback;
use self::send::Sender;
use super::control;
use super::name::UpstreamName;
use super::respond::{self, Body, Rejection};
use super::trace::RequestTrace;

/// The callbacks path.
pub(crate) const PATH: &str = "/_chaos/callbacks";

/// Largest accepted body: 32 callbacks with generous nested `arguments`.
const BODY_LIMIT: usize = 256 * 1024;

/// Makes callbacks for `/_chaos/callbacks`: the HTTP client and the tracer of client spans.
#[derive(Debug)]
pub(crate) struct Callbacks {
    sender: Sender,
    tracer: SdkTracer,
}

// === impl Callbacks ===

impl Callbacks {
    /// `via`: the proxy to send through (`None`: straight to each URL); `timeout`: the
    /// longest one callback may take, connect to end of response body.
    pub(crate) fn new(tracer: SdkTracer, via: Option<ViaAddress>, timeout: Duration) -> Self {
        Callbacks {
            sender: Sender::new(via, timeout),
            tracer,
        }
    }

    /// Answers `POST /_chaos/callbacks` in the trace of `trace`.
    pub(crate) async fn handle<B>(
        &self,
        name: &UpstreamName,
        trace: &RequestTrace,
        request: Request<B>,
    ) -> Result<Response<Body>, Rejection>
    where
        B: HttpBody,
        B::Error: Into<Box<dyn Error + Send + Sync>>,
    {
        if request.method() != Method::POST {
            return Err(Rejection::MethodNotAllowed {
                method: request.method().clone(),
                path: PATH,
                allow: "POST",
            });
        }
        let bytes = control::read_body(request.into_body(), BODY_LIMIT).await?;
        let callbacks = body::parse(&bytes).map_err(Rejection::InvalidCallbacks)?;
        let mut results = Vec::with_capacity(callbacks.len());
        // In order, one at a time: the harness numbers its callbacks and may nest them.
        for callback in &callbacks {
            results.push(self.call(name, trace, callback).await);
        }
        let summary = json!({
            "upstream": name.as_str(),
            "via": self.sender.via().map(ViaAddress::as_str),
            "callbacks": results,
        });
        Ok(respond::json(name, StatusCode::OK, &summary))
    }

    /// Makes one callback inside its client span; returns its summary entry.
    async fn call(&self, name: &UpstreamName, trace: &RequestTrace, callback: &Callback) -> Value {
        let via = self.sender.via().map(ViaAddress::as_str);
        let span = trace.callback(&self.tracer, name, &callback.url, via);
        let url = callback.url.to_string();
        match self.sender.send(callback, span.outgoing()).await {
            Ok(status) => {
                debug!(%url, status = status.as_u16(), "Callback answered");
                span.answered(status);
                json!({ "url": url, "status": status.as_u16() })
            }
            Err(error) => {
                let message = error.chain();
                debug!(%url, error = %message, "Callback failed");
                let error_type = error.error_type();
                span.failed(error_type, message.clone());
                json!({ "url": url, "error": message, "error_type": error_type })
            }
        }
    }
}
