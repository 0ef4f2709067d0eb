//! Response builders for the store's HTTP APIs, including the quirks of Go's `net/http` that
//! Jaeger's answers carry (error bodies written by `http.Error`).

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;

/// The response type of every store endpoint.
pub(crate) type Reply = Response<Full<Bytes>>;

/// A response with `body` and `content_type`.
pub(crate) fn with_body(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `200 application/json` with `value` serialized; `pretty` indents by four spaces, as
/// Jaeger's `prettyPrint` does.
pub(crate) fn json<T: Serialize>(value: &T, pretty: bool) -> Reply {
    let body = if pretty {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        value.serialize(&mut serializer).map(|()| out)
    } else {
        serde_json::to_vec(value)
    };
    match body {
        Ok(body) => with_body(StatusCode::OK, "application/json", body),
        // Our types serialize infallibly except for non-string map keys, which they have none
        // of; answer 500 rather than panic if that ever changes.
        Err(error) => {
            tracing::warn!(%error, "Cannot serialize a response");
            go_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot serialize the response",
            )
        }
    }
}

/// What Go's `http.Error(w, body, status)` sends: `text/plain; charset=utf-8`, `nosniff`, and
/// a trailing newline, even when the body is JSON (Jaeger's error envelopes are).
pub(crate) fn go_error(status: StatusCode, body: &str) -> Reply {
    let mut response = with_body(
        status,
        "text/plain; charset=utf-8",
        format!("{body}\n").into(),
    );
    response
        .headers_mut()
        .insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `405` naming the allowed method.
pub(crate) fn method_not_allowed(allow: &'static str) -> Reply {
    let mut response = with_body(
        StatusCode::METHOD_NOT_ALLOWED,
        "text/plain; charset=utf-8",
        Vec::new(),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}
