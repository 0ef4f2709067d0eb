//! Degraded answers for a route that cannot get a good upstream response: a configured
//! static response, or the last good response to the same request (stale-if-error).
//!
//! The route decides *when* (breaker open, no healthy endpoint, failure after retries); this
//! module provides *what*:
//!
//! ```text
//! before forwarding:  let recorder = fallback.recorder(&parts);        // stale mode only
//! on a response:      let response = recorder.record(response, now);    // tees the body
//! on a failure:       match fallback.respond(&parts, now) {
//!                         Some(degraded) => degraded.response,         // kind for metrics
//!                         None => errors::respond(&error),             // original error
//!                     }
//! ```
//!
//! Decisions:
//! - **Key**: method, host (`Host`, else the URI authority), path and query, and the values
//!   of the configured `key_headers`. Only
//!   `GET` and `HEAD` are recorded or served: other methods change state or depend on the
//!   request body.
//! - **Credentials**: a request carrying `Authorization`, `Proxy-Authorization` or `Cookie`
//!   is neither recorded nor served a stale copy unless that header is a key header (then each
//!   credential has its own entries). The key sees only configured headers, so without this
//!   rule one user's personalised response could be replayed to another.
//! - **Which responses are kept**: see [`tee`](TeeBody): 2xx but not 206, no `no-store` or
//!   `private`, no `Set-Cookie`, complete body within `max_entry_bytes`, no trailers. A
//!   request with `Cache-Control: no-store` is not recorded either.
//! - **Replay**: stored status, headers (hop-by-hop headers were removed by the caller before
//!   recording) and body, plus `Age` (RFC 9111 §5.1: the upstream's `Age` plus whole seconds
//!   since the response arrived) and the [`FALLBACK_HEADER`] naming the kind. `Vary` is not
//!   interpreted: list the headers a response varies on in `key_headers`.
//! - **Freshness**: an entry is served while its residence time is below `max_age`
//!   (strictly, as RFC 9111 freshness); an older one is dropped on lookup.

mod cache;
mod config;
mod tee;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Response, request};
use tokio::time::Instant;

pub use cache::{CacheKey, CacheStats, StaleCache};
pub use config::{
    FallbackConfig, FallbackConfigError, MAX_STATIC_BODY_BYTES, StaleFallback, StaleSettings,
    StaticFallback,
};
pub use tee::{Recorder, TeeBody};

use crate::proxy::body::ProxyBody;

/// Response header naming the kind of a degraded answer (`static` or `stale`).
pub const FALLBACK_HEADER: &str = observability::names::header::FALLBACK;

/// Request headers that make a response personal unless they are key headers.
const CREDENTIAL_HEADERS: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::PROXY_AUTHORIZATION,
    header::COOKIE,
];

/// Which kind of degraded answer was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FallbackKind {
    /// The configured static response.
    Static,
    /// A stored earlier response.
    Stale,
}

/// A degraded answer and its kind (for the `fallback` label of metrics and spans).
#[derive(Debug)]
pub struct FallbackResponse {
    /// What was served.
    pub kind: FallbackKind,
    /// The response, marked with [`FALLBACK_HEADER`].
    pub response: Response<ProxyBody>,
}

/// A route's fallback, built once per config version from a [`FallbackConfig`].
#[derive(Debug)]
pub struct Fallback {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    Static(StaticFallback),
    Stale {
        config: StaleFallback,
        cache: Arc<StaleCache>,
    },
}

// === impl FallbackKind ===

impl FallbackKind {
    /// The bounded label and header value: `static` or `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::Stale => "stale",
        }
    }
}

// === impl Fallback ===

impl Fallback {
    /// A fallback with an empty cache (stale mode).
    pub fn new(config: FallbackConfig) -> Self {
        let mode = match config {
            FallbackConfig::Static(s) => Mode::Static(s),
            FallbackConfig::Stale(config) => Mode::Stale {
                cache: Arc::new(StaleCache::new(config.max_entries, config.max_total_bytes)),
                config,
            },
        };
        Self { mode }
    }

    /// A recorder for this request's response; `None` when nothing is recorded (static
    /// mode, or a request that is not cacheable: see the module docs).
    pub fn recorder(&self, request: &request::Parts) -> Option<Recorder> {
        let Mode::Stale { config, cache } = &self.mode else {
            return None;
        };
        if tee::has_directive(&request.headers, &["no-store"]) {
            return None;
        }
        Some(Recorder {
            cache: Arc::clone(cache),
            key: key(config, request)?,
            max_entry_bytes: config.max_entry_bytes,
        })
    }

    /// The degraded answer for `request` at `now`, or `None` when there is none (stale mode
    /// with nothing young enough stored and no `then`): the caller answers with its error.
    pub fn respond(&self, request: &request::Parts, now: Instant) -> Option<FallbackResponse> {
        let (config, cache) = match &self.mode {
            Mode::Static(s) => return Some(static_response(s)),
            Mode::Stale { config, cache } => (config, cache),
        };
        let stored = key(config, request).and_then(|k| cache.get(&k, now, config.max_age));
        let Some(stored) = stored else {
            return config.then.as_ref().map(static_response);
        };
        let mut response = Response::new(if request.method == Method::HEAD {
            ProxyBody::empty()
        } else {
            ProxyBody::full(stored.body.clone())
        });
        *response.status_mut() = stored.status;
        *response.headers_mut() = stored.headers.clone();
        let age = age_secs(
            &stored.headers,
            now.saturating_duration_since(stored.stored_at),
        );
        let headers = response.headers_mut();
        headers.insert(header::AGE, HeaderValue::from(age));
        mark(headers, FallbackKind::Stale);
        Some(FallbackResponse {
            kind: FallbackKind::Stale,
            response,
        })
    }

    /// Which kind of fallback this is.
    pub fn kind(&self) -> FallbackKind {
        match self.mode {
            Mode::Static(_) => FallbackKind::Static,
            Mode::Stale { .. } => FallbackKind::Stale,
        }
    }

    /// The cache's counters (stale mode).
    pub fn cache_stats(&self) -> Option<CacheStats> {
        match &self.mode {
            Mode::Static(_) => None,
            Mode::Stale { cache, .. } => Some(cache.stats()),
        }
    }
}

/// The cache key, or `None` when the request is not cacheable.
fn key(config: &StaleFallback, request: &request::Parts) -> Option<CacheKey> {
    if request.method != Method::GET && request.method != Method::HEAD {
        return None;
    }
    let personal = CREDENTIAL_HEADERS
        .iter()
        .any(|h| request.headers.contains_key(h) && !config.key_headers.contains(h));
    if personal {
        return None;
    }
    // The host is part of the key: a route may serve several hosts, and one host's response
    // must never answer another's request.
    let host = request
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let path = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let target = format!("{}{path}", host.to_ascii_lowercase());
    let values = config
        .key_headers
        .iter()
        .map(|name| request.headers.get_all(name).iter().cloned().collect())
        .collect();
    Some(CacheKey::new(request.method.clone(), &target, values))
}

/// RFC 9111 §4.2.3, simplified for one hop: the upstream's `Age` (if valid) plus residence.
fn age_secs(stored: &http::HeaderMap, resident: std::time::Duration) -> u64 {
    let upstream = stored
        .get(header::AGE)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .unwrap_or(0);
    upstream.saturating_add(resident.as_secs())
}

fn static_response(config: &StaticFallback) -> FallbackResponse {
    let mut response = Response::new(ProxyBody::full(config.body().clone()));
    *response.status_mut() = config.status();
    *response.headers_mut() = config.headers().clone();
    mark(response.headers_mut(), FallbackKind::Static);
    FallbackResponse {
        kind: FallbackKind::Static,
        response,
    }
}

fn mark(headers: &mut http::HeaderMap, kind: FallbackKind) {
    headers.insert(
        HeaderName::from_static(FALLBACK_HEADER),
        HeaderValue::from_static(kind.as_str()),
    );
}
