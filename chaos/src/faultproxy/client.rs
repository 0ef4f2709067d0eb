//! [`ToxiproxyClient`]: an async client of Toxiproxy's API, for our fault proxy and for a
//! real Toxiproxy server (>= 2.6, for `PATCH`) alike.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::debug;

use super::error::ClientError;
use super::model::{NewToxic, ProxyConfig, ProxyState, ProxyUpdate, Toxic, ToxicUpdate};

/// How the client retries answers of 503 (Toxiproxy's handler timeout).
///
/// Only 503 is retried: any other status, a timeout or a transport error is returned at
/// once. A retried create may then meet the object created by the first attempt (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; default 3.
    pub max_retries: u32,
    /// Wait before the first retry, doubled for each next one; default 100 ms.
    pub initial_backoff: Duration,
    /// Upper bound of one wait; default 2 s.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

// === impl RetryPolicy ===

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): `initial * 2^retry`, capped.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// A client of one Toxiproxy API endpoint, e.g. `http://127.0.0.1:8474`. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), chaos::faultproxy::ClientError> {
/// use std::time::Duration;
/// use chaos::faultproxy::{NewToxic, Stream, Timeout, ToxicKind, ToxiproxyClient};
///
/// let client = ToxiproxyClient::new("http://127.0.0.1:8474", Duration::from_secs(5))?;
/// let hang = ToxicKind::Timeout(Timeout { timeout_ms: 0 });
/// client.add_toxic("users", &NewToxic::new(Stream::Upstream, hang)).await?;
/// client.reset().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ToxiproxyClient {
    /// `scheme://authority[/prefix]`, without a trailing slash.
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    retry: RetryPolicy,
}

// === impl ToxiproxyClient ===

impl ToxiproxyClient {
    /// A client of the API at `base_url` (`http://host:port`, optionally with a path
    /// prefix); each attempt of each request must complete within `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ClientError> {
        let invalid = |reason| ClientError::InvalidBaseUrl {
            url: base_url.to_owned(),
            reason,
        };
        let uri: Uri = base_url.parse().map_err(|_| invalid("not a URI"))?;
        if uri.scheme_str() != Some("http") {
            return Err(invalid("the scheme must be http"));
        }
        if uri.authority().is_none() {
            return Err(invalid("a host is required"));
        }
        if uri.query().is_some() {
            return Err(invalid("a query is not allowed"));
        }
        Ok(ToxiproxyClient {
            base: base_url.trim_end_matches('/').to_owned(),
            http: Client::builder(TokioExecutor::new()).build_http(),
            timeout,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy for 503 answers.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The server's version (`GET /version`), from JSON or plain text (before 2.7).
    pub async fn version(&self) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Version {
            version: String,
        }
        let body = self.send(Method::GET, "/version".into(), None).await?;
        Ok(match serde_json::from_slice::<Version>(&body) {
            Ok(version) => version.version,
            Err(_) => String::from_utf8_lossy(&body).trim().to_owned(),
        })
    }

    /// Every proxy by name (`GET /proxies`).
    pub async fn proxies(&self) -> Result<BTreeMap<String, ProxyState>, ClientError> {
        self.json(Method::GET, "/proxies".into(), None).await
    }

    /// Creates a proxy (`POST /proxies`).
    pub async fn create_proxy(&self, config: &ProxyConfig) -> Result<ProxyState, ClientError> {
        let body = to_body(config);
        self.json(Method::POST, "/proxies".into(), Some(body)).await
    }

    /// Creates or replaces proxies idempotently (`POST /populate`).
    pub async fn populate(&self, configs: &[ProxyConfig]) -> Result<Vec<ProxyState>, ClientError> {
        #[derive(Deserialize)]
        struct Populated {
            proxies: Vec<ProxyState>,
        }
        let body = to_body(&configs);
        let populated: Populated = self
            .json(Method::POST, "/populate".into(), Some(body))
            .await?;
        Ok(populated.proxies)
    }

    /// One proxy (`GET /proxies/{name}`).
    pub async fn proxy(&self, name: &str) -> Result<ProxyState, ClientError> {
        self.json(Method::GET, proxy_path(name), None).await
    }

    /// Updates listen, upstream or enabled (`PATCH /proxies/{name}`).
    pub async fn update_proxy(
        &self,
        name: &str,
        update: &ProxyUpdate,
    ) -> Result<ProxyState, ClientError> {
        let body = to_body(update);
        self.json(Method::PATCH, proxy_path(name), Some(body)).await
    }

    /// Enables (listen) or disables (refuse connects, close live connections) a proxy.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> Result<ProxyState, ClientError> {
        let update = ProxyUpdate {
            enabled: Some(enabled),
            ..ProxyUpdate::default()
        };
        self.update_proxy(name, &update).await
    }

    /// Deletes a proxy (`DELETE /proxies/{name}`).
    pub async fn delete_proxy(&self, name: &str) -> Result<(), ClientError> {
        self.send(Method::DELETE, proxy_path(name), None)
            .await
            .map(drop)
    }

    /// A proxy's toxics (`GET /proxies/{name}/toxics`).
    pub async fn toxics(&self, proxy: &str) -> Result<Vec<Toxic>, ClientError> {
        self.json(Method::GET, toxics_path(proxy), None).await
    }

    /// Adds a toxic (`POST /proxies/{name}/toxics`).
    pub async fn add_toxic(&self, proxy: &str, toxic: &NewToxic) -> Result<Toxic, ClientError> {
        let body = to_body(toxic);
        self.json(Method::POST, toxics_path(proxy), Some(body))
            .await
    }

    /// One toxic (`GET /proxies/{proxy}/toxics/{toxic}`).
    pub async fn toxic(&self, proxy: &str, toxic: &str) -> Result<Toxic, ClientError> {
        self.json(Method::GET, toxic_path(proxy, toxic), None).await
    }

    /// Merges attributes or toxicity onto a toxic (`PATCH /proxies/{proxy}/toxics/{toxic}`).
    pub async fn update_toxic(
        &self,
        proxy: &str,
        toxic: &str,
        update: &ToxicUpdate,
    ) -> Result<Toxic, ClientError> {
        let body = to_body(update);
        self.json(Method::PATCH, toxic_path(proxy, toxic), Some(body))
            .await
    }

    /// Removes a toxic (`DELETE /proxies/{proxy}/toxics/{toxic}`).
    pub async fn remove_toxic(&self, proxy: &str, toxic: &str) -> Result<(), ClientError> {
        self.send(Method::DELETE, toxic_path(proxy, toxic), None)
            .await
            .map(drop)
    }

    /// Enables every proxy and removes every toxic (`POST /reset`): the drill's teardown.
    pub async fn reset(&self) -> Result<(), ClientError> {
        self.send(Method::POST, "/reset".into(), None)
            .await
            .map(drop)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: Option<Bytes>,
    ) -> Result<T, ClientError> {
        let answer = self.send(method.clone(), path.clone(), body).await?;
        serde_json::from_slice(&answer).map_err(|source| ClientError::Decode {
            method,
            path,
            body: String::from_utf8_lossy(&answer).into_owned(),
            source,
        })
    }

    /// Sends with retries on 503; returns the body of a 2xx answer.
    async fn send(
        &self,
        method: Method,
        path: String,
        body: Option<Bytes>,
    ) -> Result<Bytes, ClientError> {
        let mut retry = 0;
        loop {
            let (status, answer) = self.attempt(&method, &path, body.clone()).await?;
            if status.is_success() {
                return Ok(answer);
            }
            if status == StatusCode::SERVICE_UNAVAILABLE && retry < self.retry.max_retries {
                let wait = self.retry.backoff(retry);
                debug!(%method, %path, retry, ?wait, "Toxiproxy answered 503; retrying");
                tokio::time::sleep(wait).await;
                retry += 1;
                continue;
            }
            let body = String::from_utf8_lossy(&answer).into_owned();
            return Err(ClientError::Status {
                method,
                path,
                status,
                message: error_message(&body),
                body,
            });
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let transport = |source: Box<dyn std::error::Error + Send + Sync>| ClientError::Transport {
            method: method.clone(),
            path: path.to_owned(),
            source,
        };
        let request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base))
            .header(
                USER_AGENT,
                concat!("chaos-faultproxy/", env!("CARGO_PKG_VERSION")),
            )
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|err| transport(err.into()))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|err| transport(err.into()))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|err| transport(err.into()))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout {
                method: method.clone(),
                path: path.to_owned(),
                timeout: self.timeout,
            })?
    }
}

/// The `error` field of a Toxiproxy error body, if the body is one.
fn error_message(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct ApiError {
        error: String,
    }
    serde_json::from_str::<ApiError>(body.trim())
        .ok()
        .map(|err| err.error)
}

fn to_body<T: serde::Serialize + ?Sized>(value: &T) -> Bytes {
    // Our model types serialize infallibly (strings, numbers, maps with string keys).
    serde_json::to_vec(value)
        .map(Bytes::from)
        .unwrap_or_default()
}

fn proxy_path(name: &str) -> String {
    format!("/proxies/{}", encode(name))
}

fn toxics_path(proxy: &str) -> String {
    format!("/proxies/{}/toxics", encode(proxy))
}

fn toxic_path(proxy: &str, toxic: &str) -> String {
    format!("/proxies/{}/toxics/{}", encode(proxy), encode(toxic))
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
fn encode(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        let waits: Vec<_> = (0..4)
            .map(|retry| policy.backoff(retry).as_millis())
            .collect();
        assert_eq!(waits, [100, 200, 350, 350]);
        assert_eq!(policy.backoff(40), Duration::from_millis(350));
    }

    #[test]
    fn client_base_url_must_be_http_with_a_host() {
        let timeout = Duration::from_secs(1);
        for bad in [
            "https://h:1",
            "127.0.0.1:8474",
            "http:///x",
            "http://h:1/?q=1",
        ] {
            let err = ToxiproxyClient::new(bad, timeout).unwrap_err();
            assert!(
                matches!(err, ClientError::InvalidBaseUrl { .. }),
                "{bad}: {err:?}"
            );
        }
        let client = ToxiproxyClient::new("http://127.0.0.1:8474/", timeout).unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8474");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(toxic_path("a b", "x/y"), "/proxies/a%20b/toxics/x%2Fy");
        assert_eq!(proxy_path("users-1_a.b~"), "/proxies/users-1_a.b~");
    }

    #[test]
    fn error_message_reads_toxiproxy_error_bodies_only() {
        let body = "{\"error\":\"proxy not found\",\"status\":404}\n";
        assert_eq!(error_message(body).as_deref(), Some("proxy not found"));
        assert_eq!(error_message("404 page not found"), None);
    }
}
