//! Proxying a request: preparing it for the upstream (path rewrite, hop-by-hop headers,
//! `X-Forwarded-*`, `Host`), sending it through the route's stack, and streaming both bodies.

pub(crate) mod body;
pub(crate) mod body_limit;
pub(crate) mod client;
pub(crate) mod forward;
pub(crate) mod headers;
pub(crate) mod pipeline;

use std::net::SocketAddr;

use http::uri::{PathAndQuery, Uri};
use http::{HeaderValue, Request, header};

use self::body::ProxyBody;
use crate::errors::ProxyError;
use crate::route::{HostHeader, RouteConfig};

/// The client's socket address, carried in request extensions for balancers and logs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) SocketAddr);

/// Turns the client's request into the one the route's stack sends upstream; `path` is the
/// normalised path the route matched.
pub(crate) fn prepare<B>(
    route: &RouteConfig,
    request: Request<B>,
    path: &str,
    client: SocketAddr,
    proto: &'static str,
) -> Result<Request<ProxyBody>, ProxyError>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<crate::errors::BoxError>,
{
    let (mut parts, body) = request.into_parts();
    // HTTP/2 clients send `:authority` instead of `Host`; HTTP/1.1 clients send `Host`.
    let host: Option<HeaderValue> = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });

    let rewritten = match &route.rewrite {
        Some(rewrite) => rewrite.apply(path),
        None => std::borrow::Cow::Borrowed(path),
    };
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{rewritten}?{q}"),
        None => rewritten.into_owned(),
    };
    let path_and_query =
        PathAndQuery::try_from(path_and_query).map_err(|_| ProxyError::BadRequest {
            reason: "rewritten path is not a valid URI path",
        })?;
    parts.uri = Uri::from(path_and_query);

    headers::remove_hop_by_hop(&mut parts.headers);
    headers::set_forwarded(&mut parts.headers, client.ip(), proto, host.as_ref());
    if let (HostHeader::Preserve, Some(host)) = (&route.host_header, host) {
        parts.headers.insert(header::HOST, host);
    }
    parts.extensions.insert(ClientAddr(client));
    Ok(Request::from_parts(parts, ProxyBody::new(body)))
}
