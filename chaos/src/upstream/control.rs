//! The `/_chaos/*` control paths: read and switch the behavior, read the request counts,
//! serve test downloads (`/_chaos/callbacks` has its own module, `callbacks`).
//!
//! Control requests never pass through the behavior: a drill must be able to turn a hang
//! or a 100% error rate off again through the very upstream that is misbehaving.

use std::error::Error;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tracing::info;

use super::behavior::BehaviorUpdate;
use super::download::{self, PatternBody};
use super::faults::Faults;
use super::name::UpstreamName;
use super::respond::{self, Body, Rejection};
use super::stats::Stats;

/// Every control path starts with this.
const PREFIX: &str = "/_chaos/";
const BEHAVIOR_PATH: &str = "/_chaos/behavior";
const DOWNLOAD_PATH: &str = "/_chaos/download";
const STATS_PATH: &str = "/_chaos/stats";

/// Largest accepted behavior update; the whole document is a handful of fields.
const UPDATE_LIMIT: usize = 64 * 1024;

/// Whether `path` belongs to the control surface (including unknown `/_chaos/` paths).
pub(crate) fn is_control(path: &str) -> bool {
    path.starts_with(PREFIX) || path == "/_chaos"
}

/// Whether `path` is the drill's own channel (the behavior switch, the request counts): no
/// server span is made for it, so steering and observing the upstream adds no trace of its
/// own.
pub(crate) fn is_untraced(path: &str) -> bool {
    path == BEHAVIOR_PATH || path == STATS_PATH
}

/// Answers a control request.
pub(crate) async fn handle<B>(
    name: &UpstreamName,
    faults: &Faults,
    stats: &Stats,
    request: Request<B>,
) -> Result<Response<Body>, Rejection>
where
    B: HttpBody,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let method = request.method().clone();
    match (request.uri().path(), method) {
        (BEHAVIOR_PATH, Method::GET) => Ok(respond::json(
            name,
            StatusCode::OK,
            &faults.current().to_json(),
        )),
        (BEHAVIOR_PATH, Method::POST) => {
            let body = read_body(request.into_body(), UPDATE_LIMIT).await?;
            let update = BehaviorUpdate::from_json(&body).map_err(Rejection::InvalidBehavior)?;
            let behavior = faults.update(&update);
            info!(upstream = %name, behavior = %behavior.to_json(), "Behavior changed");
            Ok(respond::json(name, StatusCode::OK, &behavior.to_json()))
        }
        (BEHAVIOR_PATH, method) => Err(Rejection::MethodNotAllowed {
            method,
            path: BEHAVIOR_PATH,
            allow: "GET, POST",
        }),
        (STATS_PATH, Method::GET) => Ok(respond::json(name, StatusCode::OK, &stats.to_json())),
        (STATS_PATH, method) => Err(Rejection::MethodNotAllowed {
            method,
            path: STATS_PATH,
            allow: "GET",
        }),
        (DOWNLOAD_PATH, Method::GET) => {
            let len = download::requested_len(request.uri().query())?;
            Ok(respond::octets(name, PatternBody::new(len).boxed(), len))
        }
        (DOWNLOAD_PATH, method) => Err(Rejection::MethodNotAllowed {
            method,
            path: DOWNLOAD_PATH,
            allow: "GET",
        }),
        (path, _) => Err(Rejection::UnknownControlPath {
            path: path.to_owned(),
        }),
    }
}

/// Reads a whole control request body of at most `limit` bytes.
pub(crate) async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, Rejection>
where
    B: HttpBody,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(Rejection::BodyTooLarge { limit }),
        Err(err) => Err(Rejection::BodyRead(err)),
    }
}
