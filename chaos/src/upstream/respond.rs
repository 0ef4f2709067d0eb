//! Builds every response the upstream sends, and decides the status of every refusal.

use std::convert::Infallible;
use std::error::Error;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use thiserror::Error;

use super::behavior::{FIELDS, UpdateProblem};
use super::callbacks::CallbackProblem;
use super::name::UpstreamName;

/// Response header naming the upstream that answered, present on every response.
pub use observability::names::HEADER_UPSTREAM as UPSTREAM_HEADER;

/// The body type of every response: a full JSON buffer or a streamed download.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// Marks a response as an injected failure (an error-rate draw), so the server span can say
/// so; set only by [`injected_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InjectedFailure;

/// Why a request was refused; [`rejection`] is the one place each maps to a status.
#[derive(Debug, Error)]
pub(crate) enum Rejection {
    /// A `/_chaos/...` path that does not exist.
    #[error(
        "unknown control path {path}; control paths are /_chaos/behavior, /_chaos/stats, /_chaos/callbacks and /_chaos/download"
    )]
    UnknownControlPath { path: String },
    /// A control path called with a method it does not serve.
    #[error("method {method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed {
        method: Method,
        path: &'static str,
        allow: &'static str,
    },
    /// A behavior update with at least one problem; nothing was changed.
    #[error("invalid behavior update; nothing was changed")]
    InvalidBehavior(Vec<UpdateProblem>),
    /// A callbacks request with at least one problem; no callback was sent.
    #[error("invalid callbacks request; no callback was sent")]
    InvalidCallbacks(Vec<CallbackProblem>),
    /// A control request body over the limit.
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// The client's body stream broke off or was malformed.
    #[error("reading the request body failed")]
    BodyRead(#[source] Box<dyn Error + Send + Sync>),
    /// `/_chaos/download` without a usable `bytes` query parameter.
    #[error("query parameter `bytes` must be a non-negative integer, got {received:?}")]
    InvalidDownloadSize { received: Option<String> },
}

// === impl Rejection ===

impl Rejection {
    fn status(&self) -> StatusCode {
        match self {
            Rejection::UnknownControlPath { .. } => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::InvalidBehavior(_)
            | Rejection::InvalidCallbacks(_)
            | Rejection::BodyRead(_)
            | Rejection::InvalidDownloadSize { .. } => StatusCode::BAD_REQUEST,
        }
    }
}

/// A JSON response with the `x-upstream` header.
pub(crate) fn json(name: &UpstreamName, status: StatusCode, value: &Value) -> Response<Body> {
    let body = Full::new(Bytes::from(value.to_string())).boxed();
    let mut response = with_body(name, status, body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A streamed binary response of exactly `len` bytes.
pub(crate) fn octets(name: &UpstreamName, body: Body, len: u64) -> Response<Body> {
    let mut response = with_body(name, StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    response
}

/// The answer to a request the behavior's error rate picked.
pub(crate) fn injected_failure(name: &UpstreamName, status: StatusCode) -> Response<Body> {
    let body = json!({
        "error": "injected failure",
        "upstream": name.as_str(),
        "status": status.as_u16(),
    });
    let mut response = json(name, status, &body);
    response.extensions_mut().insert(InjectedFailure);
    response
}

/// The answer to a refused request: status from [`Rejection::status`], details in JSON.
pub(crate) fn rejection(name: &UpstreamName, rejection: &Rejection) -> Response<Body> {
    let mut body = json!({
        "error": rejection.to_string(),
        "upstream": name.as_str(),
    });
    match (rejection, body.as_object_mut()) {
        (Rejection::InvalidBehavior(problems), Some(fields)) => {
            let problems = problems
                .iter()
                .map(|problem| json!({ "field": problem.field(), "message": problem.to_string() }))
                .collect::<Vec<_>>();
            fields.insert("problems".into(), problems.into());
            fields.insert("allowed_fields".into(), FIELDS.to_vec().into());
        }
        (Rejection::InvalidCallbacks(problems), Some(fields)) => {
            let problems = problems
                .iter()
                .map(|problem| json!({ "field": problem.field(), "message": problem.to_string() }))
                .collect::<Vec<_>>();
            fields.insert("problems".into(), problems.into());
            fields.insert("expected".into(), CallbackProblem::EXPECTED.into());
        }
        _ => {}
    }
    let mut response = json(name, rejection.status(), &body);
    if let Rejection::MethodNotAllowed { allow, .. } = rejection {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
    }
    response
}

fn with_body(name: &UpstreamName, status: StatusCode, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        HeaderName::from_static(UPSTREAM_HEADER),
        name.header_value().clone(),
    );
    response
}
