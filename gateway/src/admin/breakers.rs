//! Manual breaker control: `POST /admin/upstreams/{upstream}/breaker` and
//! `POST /admin/routes/{route}/breaker` with `{"state": "forced_open" | "disabled" |
//! "metrics_only" | "automatic"}`.
//!
//! `forced_open` rejects every call; `disabled` permits every call and records nothing (the
//! breaker is closed by force); `metrics_only` records and reports without ever rejecting;
//! `automatic` resets the breaker to closed with an empty window and lets it decide again.
//! Each change is a `breaker.transition` (cause `manual`) like any other.

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Limited};
use serde_json::json;

use super::{json, views};
use crate::breaker::Breaker;
use crate::errors::json_response;
use crate::proxy::body::ProxyBody;
use crate::state::GatewayState;

/// Which breaker a control request names.
pub(super) enum Target<'a> {
    Upstream(&'a str),
    Route(&'a str),
}

/// Parses `/admin/upstreams/{name}/breaker` or `/admin/routes/{name}/breaker`.
pub(super) fn target(path: &str) -> Option<Target<'_>> {
    let rest = path.strip_prefix("/admin/")?;
    let (kind, rest) = rest.split_once('/')?;
    let name = rest.strip_suffix("/breaker")?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    match kind {
        "upstreams" => Some(Target::Upstream(name)),
        "routes" => Some(Target::Route(name)),
        _ => None,
    }
}

/// Applies the requested state and answers with the breaker's new snapshot.
pub(super) async fn control<B>(
    state: &GatewayState,
    target: Target<'_>,
    body: B,
) -> http::Response<ProxyBody>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<crate::errors::BoxError>,
{
    let runtime = state.runtime();
    let breaker: Option<Breaker> = match target {
        Target::Upstream(name) => match runtime.upstreams.get(name) {
            None => return json_response(StatusCode::NOT_FOUND, "not_found", "no such upstream"),
            Some(u) => u.breaker().cloned(),
        },
        Target::Route(name) => {
            let route = runtime
                .table
                .iter_by_priority()
                .map(|(_, r)| r)
                .find(|r| r.config().name == name);
            match route {
                None => return json_response(StatusCode::NOT_FOUND, "not_found", "no such route"),
                // Only a route with its own breaker is controlled here; one sharing its
                // upstream's breaker is controlled through the upstream.
                Some(r) if r.config().breaker.is_none() => None,
                Some(r) => r.pipeline.breaker().cloned(),
            }
        }
    };
    let Some(breaker) = breaker else {
        return json_response(
            StatusCode::CONFLICT,
            "no_breaker",
            "this target has no circuit breaker of its own",
        );
    };
    let bytes = match Limited::new(body, 1024).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "body must be at most 1 KiB of JSON",
            );
        }
    };
    let wanted = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("state").and_then(|s| s.as_str().map(str::to_owned)));
    let applied = match wanted.as_deref() {
        Some("forced_open") => breaker.force_open(),
        Some("disabled") => breaker.disable(),
        Some("metrics_only") => breaker.metrics_only(),
        Some("automatic") => breaker.reset(),
        _ => {
            return json_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "expected {\"state\": \"forced_open\" | \"disabled\" | \"metrics_only\" | \"automatic\"}",
            );
        }
    };
    json(
        StatusCode::OK,
        &json!({ "changed": applied.is_some(), "breaker": views::breaker(&breaker) }),
    )
}
