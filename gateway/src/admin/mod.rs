//! The admin listener: liveness, readiness, and JSON views of the running config, routes and
//! upstreams; `POST /admin/reload` reloads the config file.
//!
//! It runs on its own port (loopback by default) so the data plane can never reach it.

mod views;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use crate::errors::json_response;
use crate::proxy::body::ProxyBody;
use crate::reload::Reloader;
use crate::state::GatewayState;

/// Answers one admin request.
pub(crate) async fn handle<B>(
    state: Arc<GatewayState>,
    reloader: Arc<Reloader>,
    request: Request<B>,
) -> Response<ProxyBody> {
    let path = request.uri().path();
    match (request.method(), path) {
        (&Method::GET, "/healthz") => {
            json(StatusCode::OK, &serde_json::json!({ "status": "live" }))
        }
        (&Method::GET, "/readyz") => {
            if state.is_ready() {
                json(StatusCode::OK, &serde_json::json!({ "status": "ready" }))
            } else {
                let reason = if state.is_draining() {
                    "draining"
                } else {
                    "waiting for first health checks"
                };
                json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &serde_json::json!({ "status": "not_ready", "reason": reason }),
                )
            }
        }
        (&Method::GET, "/admin/config") => json(StatusCode::OK, &views::config(&state)),
        (&Method::GET, "/admin/routes") => json(StatusCode::OK, &views::routes(&state)),
        (&Method::GET, "/admin/upstreams") => json(StatusCode::OK, &views::upstreams(&state)),
        (&Method::POST, "/admin/reload") => match reloader.reload().await {
            Ok(version) => json(
                StatusCode::OK,
                &serde_json::json!({ "status": "applied", "version": version }),
            ),
            Err(error) => {
                let problems: Vec<String> = error.lines();
                json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &serde_json::json!({ "status": "rejected", "error": error.to_string(), "problems": problems }),
                )
            }
        },
        (
            _,
            "/healthz" | "/readyz" | "/admin/config" | "/admin/routes" | "/admin/upstreams"
            | "/admin/reload",
        ) => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this admin path",
        ),
        _ => json_response(StatusCode::NOT_FOUND, "not_found", "no such admin path"),
    }
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<ProxyBody> {
    let mut body = value.to_string();
    body.push('\n');
    let mut response = Response::new(ProxyBody::full(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
