//! Toxiproxy's REST API over a [`FaultProxy`]: routes, JSON bodies, status codes, error
//! bodies, the browser guard and the handler timeout, all as Toxiproxy 2.12 answers them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use observability::serve::serve_http;
use serde::Serialize;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use super::engine::FaultProxy;
use super::error::FaultProxyError;
use super::model::{
    NewToxic, ProxyConfig, ProxyConfigWire, ProxyUpdate, ToxicUpdate, check_proxy, parse_body,
};

/// The Toxiproxy version whose API this one reproduces, answered by `GET /version`.
pub const TOXIPROXY_API_VERSION: &str = "2.12.0";

/// Longest a handler may take before the answer is 503 with an empty body (Toxiproxy's
/// `http.TimeoutHandler`); a toxic change can wait that long on stalled connections.
const HANDLER_TIMEOUT: Duration = Duration::from_secs(25);

/// Largest request body read; bigger ones are a 400.
const MAX_BODY_BYTES: usize = 4 << 20;

/// Longest wait for in-flight API requests once shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

const REQUEST_ID: &str = "x-toxiproxy-request-id";

type Body = Full<Bytes>;

/// Serves the API on `listener` until `shutdown` resolves, then drains in-flight requests
/// (bounded). The proxies themselves keep running: stop them with
/// [`FaultProxy::shutdown`].
pub async fn serve_api(
    listener: TcpListener,
    proxy: FaultProxy,
    shutdown: impl Future<Output = ()>,
) {
    let api = Arc::new(Api {
        proxy,
        next_request: AtomicU64::new(1),
    });
    let handle = move |request: Request<Incoming>| Api::handle(Arc::clone(&api), request);
    serve_http("toxiproxy-api", listener, handle, shutdown, DRAIN_TIMEOUT).await;
    info!("API stopped");
}

struct Api {
    proxy: FaultProxy,
    next_request: AtomicU64,
}

// === impl Api ===

impl Api {
    /// Answers one request. The route runs in its own task, so neither the handler
    /// timeout nor a client hanging up cancels a chain change half-way (a toxic change
    /// interrupts and restarts stages; cut short, it would leave links broken): as with
    /// Go's `TimeoutHandler`, the change completes and only the answer is lost.
    async fn handle(api: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let id = api.next_request.fetch_add(1, Ordering::Relaxed);
        let mut response = if is_browser(&request) {
            // Toxiproxy's guard against cross-site requests from browsers.
            text(StatusCode::FORBIDDEN, "User agent not allowed\n")
        } else {
            let route = tokio::spawn(async move { api.route(request).await });
            match tokio::time::timeout(HANDLER_TIMEOUT, route).await {
                Ok(Ok(response)) => response,
                Ok(Err(join)) => {
                    warn!(error = %join, "API handler failed");
                    empty(StatusCode::INTERNAL_SERVER_ERROR)
                }
                Err(_) => empty(StatusCode::SERVICE_UNAVAILABLE),
            }
        };
        if let Ok(value) = HeaderValue::from_str(&format!("{id:020}")) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        response
    }

    async fn route(&self, request: Request<Incoming>) -> Response<Body> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return error(&FaultProxyError::BodyTooLarge {
                    limit: MAX_BODY_BYTES,
                });
            }
        };
        // Names are matched decoded (as Go's router does), so `a%20b` finds proxy `a b`.
        let decoded: Vec<String> = path
            .strip_prefix('/')
            .unwrap_or(&path)
            .split('/')
            .map(percent_decode)
            .collect();
        let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
        debug!(%method, %path, "API request");
        let proxy = &self.proxy;
        let answer = match (&method, segments.as_slice()) {
            (&Method::GET, ["version"]) => Ok(version()),
            (&Method::POST, ["reset"]) => proxy.reset().await.map(|()| no_content()),
            (&Method::GET, ["proxies"]) => Ok(json(StatusCode::OK, &proxy.proxies().await)),
            (&Method::POST, ["proxies"]) => self.create_proxy(&body).await,
            (&Method::POST, ["populate"]) => return self.populate(&body).await,
            (&Method::GET, ["proxies", name]) => proxy.proxy(name).await.map(ok_json),
            (&Method::POST | &Method::PATCH, ["proxies", name]) => {
                self.update_proxy(name, &body).await
            }
            (&Method::DELETE, ["proxies", name]) => {
                proxy.delete_proxy(name).await.map(|()| no_content())
            }
            (&Method::GET, ["proxies", name, "toxics"]) => proxy.toxics(name).await.map(ok_json),
            (&Method::POST, ["proxies", name, "toxics"]) => self.add_toxic(name, &body).await,
            (&Method::GET, ["proxies", name, "toxics", toxic]) => {
                proxy.toxic(name, toxic).await.map(ok_json)
            }
            (&Method::POST | &Method::PATCH, ["proxies", name, "toxics", toxic]) => {
                self.update_toxic(name, toxic, &body).await
            }
            (&Method::DELETE, ["proxies", name, "toxics", toxic]) => {
                proxy.remove_toxic(name, toxic).await.map(|()| no_content())
            }
            (_, segments) if known_path(segments) => Ok(empty(StatusCode::METHOD_NOT_ALLOWED)),
            _ => Ok(text(StatusCode::NOT_FOUND, "404 page not found\n")),
        };
        answer.unwrap_or_else(|err| error(&err))
    }

    async fn create_proxy(&self, body: &[u8]) -> Result<Response<Body>, FaultProxyError> {
        let config = ProxyConfig::from(parse_body::<ProxyConfigWire>(body)?);
        check_proxy(&config, None)?;
        let state = self.proxy.create_proxy(config).await?;
        Ok(json(StatusCode::CREATED, &state))
    }

    async fn update_proxy(
        &self,
        name: &str,
        body: &[u8],
    ) -> Result<Response<Body>, FaultProxyError> {
        // Toxiproxy looks the proxy up before reading the body: 404 wins over 400.
        self.proxy.proxy(name).await?;
        let update: ProxyUpdate = parse_body(body)?;
        self.proxy.update_proxy(name, update).await.map(ok_json)
    }

    async fn add_toxic(&self, proxy: &str, body: &[u8]) -> Result<Response<Body>, FaultProxyError> {
        self.proxy.proxy(proxy).await?;
        let toxic = NewToxic::parse(body)?;
        self.proxy.add_toxic(proxy, toxic).await.map(ok_json)
    }

    async fn update_toxic(
        &self,
        proxy: &str,
        toxic: &str,
        body: &[u8],
    ) -> Result<Response<Body>, FaultProxyError> {
        self.proxy.toxic(proxy, toxic).await?;
        let update: ToxicUpdate = parse_body(body)?;
        self.proxy
            .update_toxic(proxy, toxic, update)
            .await
            .map(ok_json)
    }

    /// `/populate` answers `{"proxies":[...]}` (201), or on failure the error fields next
    /// to the proxies applied before it, with the error's status.
    async fn populate(&self, body: &[u8]) -> Response<Body> {
        #[derive(Serialize)]
        struct Answer<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<u16>,
            proxies: &'a [super::model::ProxyState],
        }
        let configs = match parse_body::<Vec<ProxyConfigWire>>(body) {
            Ok(configs) => configs.into_iter().map(ProxyConfig::from).collect(),
            Err(err) => return error(&err),
        };
        match self.proxy.populate(configs).await {
            Ok(applied) => json(
                StatusCode::CREATED,
                &Answer {
                    error: None,
                    status: None,
                    proxies: &applied,
                },
            ),
            Err(err) => {
                let status = err.source.status();
                let answer = Answer {
                    error: Some(err.source.api_message()),
                    status: Some(status.as_u16()),
                    proxies: &err.applied,
                };
                json(status, &answer)
            }
        }
    }
}

/// Decodes `%XX` escapes of one path segment; malformed escapes stay as they are.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_browser<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(USER_AGENT)
        .is_some_and(|agent| agent.as_bytes().starts_with(b"Mozilla/"))
}

/// Paths some route serves with another method (for 405 rather than 404).
fn known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["version" | "reset" | "proxies" | "populate"]
            | ["proxies", _]
            | ["proxies", _, "toxics"]
            | ["proxies", _, "toxics", _]
    )
}

fn version() -> Response<Body> {
    let body = format!("{{\"version\": \"{TOXIPROXY_API_VERSION}\"}}\n");
    with_type(
        StatusCode::OK,
        body.into(),
        "application/json;charset=utf-8",
    )
}

fn ok_json<T: Serialize>(value: T) -> Response<Body> {
    json(StatusCode::OK, &value)
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => with_type(status, body.into(), "application/json"),
        Err(err) => {
            warn!(%err, "Cannot serialize an API answer");
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// Toxiproxy's error answer: `{"error":..,"status":..}` written by Go's `http.Error`, so
/// `text/plain` with a trailing newline.
fn error(err: &FaultProxyError) -> Response<Body> {
    let status = err.status();
    if status.is_server_error() {
        warn!(error = %err, "API request failed");
    }
    let body = serde_json::json!({"error": err.api_message(), "status": status.as_u16()});
    text(status, &format!("{body}\n"))
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = with_type(
        status,
        Bytes::from(body.to_owned()),
        "text/plain; charset=utf-8",
    );
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn no_content() -> Response<Body> {
    empty(StatusCode::NO_CONTENT)
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

fn with_type(status: StatusCode, body: Bytes, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_decodes_escapes_and_keeps_malformed_ones() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("plain"), "plain");
    }

    #[test]
    fn known_path_covers_every_route_shape() {
        assert!(known_path(&["proxies", "p", "toxics", "t"]));
        assert!(known_path(&["version"]));
        assert!(!known_path(&["proxies", "p", "other"]));
        assert!(!known_path(&["metrics"]));
    }
}
