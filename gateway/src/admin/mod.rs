//! The admin listener: liveness, readiness, Prometheus metrics, JSON views of the running
//! config, routes and upstreams; `POST /admin/reload` reloads the config file and
//! `POST /admin/telemetry/flush` exports finished spans at once.
//!
//! It runs on its own port (loopback by default) so the data plane can never reach it.

mod breakers;
mod views;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use observability::telemetry::DropReason;

use crate::errors::json_response;
use crate::proxy::body::ProxyBody;
use crate::reload::Reloader;
use crate::state::GatewayState;

/// Answers one admin request.
pub(crate) async fn handle<B>(
    state: Arc<GatewayState>,
    reloader: Arc<Reloader>,
    request: Request<B>,
) -> Response<ProxyBody>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<crate::errors::BoxError>,
{
    let owned_path = request.uri().path().to_owned();
    if owned_path.starts_with("/admin/")
        && let Some(token) = &state.runtime().config.admin.token
        && !bearer_matches(request.headers(), token)
    {
        let mut response = json_response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this admin endpoint needs `Authorization: Bearer <admin token>`",
        );
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static(r#"Bearer realm="gateway-admin""#),
        );
        return response;
    }
    if let Some(target) = breakers::target(&owned_path) {
        if request.method() != Method::POST {
            return json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "use POST",
            );
        }
        return breakers::control(&state, target, request.into_body()).await;
    }
    let path = owned_path.as_str();
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
        (&Method::GET, "/metrics") => metrics(&state, request.headers()),
        (&Method::POST, "/admin/telemetry/flush") => flush(&state).await,
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
            "/healthz"
            | "/readyz"
            | "/metrics"
            | "/admin/config"
            | "/admin/routes"
            | "/admin/upstreams"
            | "/admin/reload"
            | "/admin/telemetry/flush",
        ) => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this admin path",
        ),
        _ => json_response(StatusCode::NOT_FOUND, "not_found", "no such admin path"),
    }
}

/// Prometheus metrics: OpenMetrics when the scraper asks for it first (Prometheus does), else
/// the text format 0.0.4.
fn metrics(state: &GatewayState, headers: &http::HeaderMap) -> Response<ProxyBody> {
    let wants_openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next()
        .is_some_and(|first| first.trim().starts_with("application/openmetrics-text"));
    let metrics = &state.instruments().metrics;
    let (encoded, content_type) = if wants_openmetrics {
        (
            metrics.encode_openmetrics(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    } else {
        (
            metrics.encode_text(),
            "text/plain; version=0.0.4; charset=utf-8",
        )
    };
    match encoded {
        Ok(text) => {
            let mut response = Response::new(ProxyBody::full(Bytes::from(text)));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        Err(_) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding_failed",
            "metrics could not be encoded",
        ),
    }
}

/// Exports every finished span now (drills call this before querying traces).
async fn flush(state: &Arc<GatewayState>) -> Response<ProxyBody> {
    let flushing = Arc::clone(state);
    let result =
        tokio::task::spawn_blocking(move || flushing.instruments().telemetry.flush()).await;
    let stats = state.instruments().telemetry.stats();
    let body = serde_json::json!({
        "exporting": state.instruments().telemetry.is_exporting(),
        "exported": stats.exported.get(),
        "dropped_queue_full": stats.dropped(DropReason::queue_full),
        "dropped_export_failed": stats.dropped(DropReason::export_failed),
    });
    match result {
        Ok(Ok(())) => json(StatusCode::OK, &body),
        Ok(Err(error)) => {
            let mut body = body;
            body["error"] = serde_json::Value::String(error.to_string());
            json(StatusCode::BAD_GATEWAY, &body)
        }
        Err(_) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "flush_failed",
            "the flush task failed",
        ),
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

/// Whether `headers` carry `Authorization: Bearer <token>`, compared in constant time (a
/// timing difference must not tell how much of a guess was right).
fn bearer_matches(headers: &http::HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (given, token) = (given.trim().as_bytes(), token.as_bytes());
    if given.len() != token.len() {
        return false;
    }
    given
        .iter()
        .zip(token)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}
