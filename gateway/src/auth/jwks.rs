//! Remote key sets (`jwks_url`): fetched with the workspace's reqwest client, cached, refreshed
//! every `jwks_refresh`, and refetched when a token names an unknown `kid` at most once per
//! `jwks_min_refresh`, so a stream of tokens with made-up key ids cannot turn the gateway into
//! a request amplifier against the identity provider.
//!
//! A cache is kept across config reloads while its provider's source is unchanged
//! ([`JwksRegistry`]); its refresh task holds only a weak reference and ends with the cache.
//! A failed fetch keeps the last good set. Fetches are bounded in time ([`FETCH_TIMEOUT`]) and
//! size ([`MAX_JWKS_BYTES`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::keys::KeySet;
use super::provider::JwksSource;

/// Longest time one JWKS fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest JWKS document read (1 MiB).
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// Why a fetch failed (logged, never shown to clients).
#[derive(Debug, thiserror::Error)]
pub(super) enum FetchError {
    /// No HTTP client could be built.
    #[error("no HTTP client")]
    NoClient,
    /// The request failed or timed out.
    #[error("request to the JWKS URL failed")]
    Request(#[source] reqwest::Error),
    /// The answer was not 200.
    #[error("JWKS URL answered {0}")]
    Status(reqwest::StatusCode),
    /// The document was larger than [`MAX_JWKS_BYTES`].
    #[error("JWKS document larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// The document was not a usable JWKS.
    #[error("invalid JWKS document")]
    Invalid(#[source] super::keys::KeyError),
    /// The fetch took longer than [`FETCH_TIMEOUT`].
    #[error("JWKS fetch timed out after {FETCH_TIMEOUT:?}")]
    Timeout,
}

/// The cached key set of one `jwks_url`.
#[derive(Debug)]
pub struct JwksCache {
    source: JwksSource,
    client: Option<reqwest::Client>,
    keys: ArcSwap<KeySet>,
    /// Bumped whenever `keys` is replaced.
    generation: AtomicU64,
    /// Fetches attempted (periodic and on demand), for tests and the admin view.
    fetches: AtomicU64,
    /// When the last refetch for an unknown `kid` started; held while it runs, so
    /// concurrent requests with unknown kids wait for it instead of fetching again.
    on_demand: tokio::sync::Mutex<Option<Instant>>,
}

impl JwksCache {
    /// A cache for `source` with its refresh task (fetching at once, then every
    /// `source.refresh`). Must run inside a Tokio runtime.
    pub fn spawn(source: JwksSource) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| warn!(%error, "Cannot build the JWKS HTTP client"))
            .ok();
        let cache = Arc::new(Self {
            source,
            client,
            keys: ArcSwap::from_pointee(KeySet::default()),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            on_demand: tokio::sync::Mutex::new(None),
        });
        let weak = Arc::downgrade(&cache);
        tokio::spawn(refresh_loop(weak));
        cache
    }

    /// The current key set (empty until the first successful fetch).
    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.load_full()
    }

    /// The current generation (bumped on every successful fetch).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Fetches attempted so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// After a token named a `kid` missing from the set of generation `seen`: refetches
    /// unless another request already did (the set changed) or the last refetch for an
    /// unknown `kid` was less than `jwks_min_refresh` ago. Returns whether the set changed
    /// since `seen`.
    pub async fn refresh_for_unknown_kid(&self, seen: u64) -> bool {
        let mut last = self.on_demand.lock().await;
        if self.generation() != seen {
            return true;
        }
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.source.min_refresh) {
            debug!(url = %self.source.url, "Unknown kid; JWKS refetch rate-limited");
            return false;
        }
        *last = Some(now);
        match self.fetch().await {
            Ok(()) => true,
            Err(error) => {
                warn!(url = %self.source.url, error = %crate::errors::error_chain(&error), "JWKS refetch failed; keeping the last key set");
                false
            }
        }
    }

    async fn fetch(&self) -> Result<(), FetchError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let set = tokio::time::timeout(FETCH_TIMEOUT, self.download())
            .await
            .map_err(|_| FetchError::Timeout)??;
        debug!(url = %self.source.url, keys = set.len(), "JWKS fetched");
        self.keys.store(Arc::new(set));
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    async fn download(&self) -> Result<KeySet, FetchError> {
        let client = self.client.as_ref().ok_or(FetchError::NoClient)?;
        let mut response = client
            .get(&self.source.url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(FetchError::Request)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status(response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::Request)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        KeySet::from_jwks(&body).map_err(FetchError::Invalid)
    }
}

/// Fetches at once, then every `refresh` (every `min_refresh` while fetches fail), until the
/// cache is dropped.
async fn refresh_loop(cache: Weak<JwksCache>) {
    loop {
        let wait = {
            let Some(cache) = cache.upgrade() else { return };
            match cache.fetch().await {
                Ok(()) => cache.source.refresh,
                Err(error) => {
                    warn!(url = %cache.source.url, error = %crate::errors::error_chain(&error), "JWKS fetch failed; keeping the last key set");
                    cache.source.min_refresh.min(cache.source.refresh)
                }
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// JWKS caches by provider name, kept across config versions while the source is unchanged.
#[derive(Debug, Default)]
pub struct JwksRegistry {
    caches: Mutex<HashMap<String, Arc<JwksCache>>>,
}

impl JwksRegistry {
    /// The cache of provider `name` for `source`: the live one if its source is unchanged,
    /// else a new one. Must run inside a Tokio runtime.
    pub fn get(&self, name: &str, source: &JwksSource) -> Arc<JwksCache> {
        let mut caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
        match caches.get(name) {
            Some(cache) if cache.source == *source => Arc::clone(cache),
            _ => {
                let cache = JwksCache::spawn(source.clone());
                caches.insert(name.to_owned(), Arc::clone(&cache));
                cache
            }
        }
    }

    /// Drops the caches of providers not in `names` (their refresh tasks end).
    pub fn retain(&self, names: &HashSet<String>) {
        self.caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|name, _| names.contains(name));
    }
}
