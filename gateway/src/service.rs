//! The outermost request handler: route lookup, the route's stack, and the single conversion
//! of errors into responses. It never fails; every outcome is a response.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use tower::ServiceExt;
use tracing::debug;

use crate::errors::{ProxyError, respond};
use crate::proxy::body::ProxyBody;
use crate::proxy::prepare;
use crate::routing::{RequestView, request_host};
use crate::state::GatewayState;

/// Proxies one request from `client`.
pub(crate) async fn handle<B>(
    state: Arc<GatewayState>,
    request: Request<B>,
    client: SocketAddr,
) -> Response<ProxyBody>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<crate::errors::BoxError>,
{
    match proxy(&state, request, client).await {
        Ok(response) => response,
        Err(error) => {
            debug!(error = %error, kind = error.kind(), "Request failed");
            respond(&error)
        }
    }
}

async fn proxy<B>(
    state: &GatewayState,
    request: Request<B>,
    client: SocketAddr,
) -> Result<Response<ProxyBody>, ProxyError>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<crate::errors::BoxError>,
{
    let runtime = state.runtime();
    let host = request_host(request.uri(), request.headers());
    let view = RequestView {
        host: host.as_deref(),
        path: request.uri().path(),
        method: request.method(),
        headers: request.headers(),
    };
    let Some(route) = runtime.table.find(&view).cloned() else {
        return Err(ProxyError::NoRoute {
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
        });
    };
    let prepared = prepare(&route.config, request, client)?;
    route.service.clone().oneshot(prepared).await
}
