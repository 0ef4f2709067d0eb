//! [`FaultProxy`]: the registry of named proxies and every operation the API offers, as
//! plain async methods for in-process use.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::error::{FaultProxyError, PopulateError};
use super::model::{
    NewToxic, ProxyConfig, ProxyState, ProxyUpdate, Toxic, ToxicUpdate, check_proxy,
};
use super::proxy::Proxy;

/// An embedded fault proxy: named TCP proxies with toxics, Toxiproxy's model.
///
/// Cheap to clone (all clones share the proxies). Every method is what the matching API
/// route does; errors carry the status the API answers ([`FaultProxyError::status`]).
/// Proxies run in background tasks: dropping the last clone does not stop them, call
/// [`FaultProxy::shutdown`] (a drill's teardown) to close listeners and connections.
///
/// ```no_run
/// # async fn demo() -> Result<(), chaos::faultproxy::FaultProxyError> {
/// use chaos::faultproxy::{FaultProxy, Latency, NewToxic, ProxyConfig, Stream, ToxicKind};
///
/// let proxies = FaultProxy::new(42);
/// let users = proxies
///     .create_proxy(ProxyConfig {
///         name: "users".into(),
///         listen: "127.0.0.1:0".into(),
///         upstream: "127.0.0.1:9101".into(),
///         enabled: true,
///     })
///     .await?;
/// let slow = Latency { latency_ms: 200, jitter_ms: 0 };
/// proxies
///     .add_toxic("users", NewToxic::new(Stream::Downstream, ToxicKind::Latency(slow)))
///     .await?;
/// // ... drive traffic through users.listen ...
/// proxies.reset().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FaultProxy {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    seed: u64,
    // Held across binds and stops, like Toxiproxy's collection lock: creations, deletions
    // and populates are serialized.
    proxies: Mutex<BTreeMap<String, Arc<Proxy>>>,
}

// === impl FaultProxy ===

impl FaultProxy {
    /// An empty fault proxy whose random draws (toxicity, jitter, slicer) derive from `seed`.
    pub fn new(seed: u64) -> Self {
        FaultProxy {
            inner: Arc::new(Inner {
                seed,
                proxies: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The seed given to [`FaultProxy::new`].
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// Every proxy with its toxics, by name (`GET /proxies`).
    pub async fn proxies(&self) -> BTreeMap<String, ProxyState> {
        let proxies: Vec<_> = self.inner.proxies.lock().await.values().cloned().collect();
        let mut states = BTreeMap::new();
        for proxy in proxies {
            let state = proxy.snapshot().await;
            states.insert(state.name.clone(), state);
        }
        states
    }

    /// One proxy (`GET /proxies/{name}`).
    pub async fn proxy(&self, name: &str) -> Result<ProxyState, FaultProxyError> {
        Ok(self.get(name).await?.snapshot().await)
    }

    /// Creates a proxy and, when `enabled`, binds it (`POST /proxies`). A bind failure
    /// leaves nothing behind.
    pub async fn create_proxy(&self, config: ProxyConfig) -> Result<ProxyState, FaultProxyError> {
        check_proxy(&config, None)?;
        let mut proxies = self.inner.proxies.lock().await;
        if proxies.contains_key(&config.name) {
            return Err(FaultProxyError::ProxyExists { name: config.name });
        }
        let proxy = Arc::new(Proxy::new(&config, self.inner.seed));
        if config.enabled {
            proxy.start().await?;
        }
        proxies.insert(config.name, Arc::clone(&proxy));
        drop(proxies);
        Ok(proxy.snapshot().await)
    }

    /// Updates listen, upstream or enabled (`POST`/`PATCH /proxies/{name}`).
    pub async fn update_proxy(
        &self,
        name: &str,
        update: ProxyUpdate,
    ) -> Result<ProxyState, FaultProxyError> {
        let proxy = self.get(name).await?;
        proxy.update(update).await?;
        Ok(proxy.snapshot().await)
    }

    /// Stops a proxy (its connections close) and forgets it (`DELETE /proxies/{name}`).
    pub async fn delete_proxy(&self, name: &str) -> Result<(), FaultProxyError> {
        let mut proxies = self.inner.proxies.lock().await;
        let proxy = proxies
            .remove(name)
            .ok_or_else(|| FaultProxyError::ProxyNotFound { name: name.into() })?;
        proxy.stop().await;
        Ok(())
    }

    /// Creates or replaces proxies in order (`POST /populate`), idempotently: an existing
    /// proxy with the same listen and upstream is kept as it is (toxics, enabled state);
    /// one that differs is stopped and replaced. Every entry is checked before any is
    /// applied; a failure stops the list, keeping the entries applied before it.
    pub async fn populate(
        &self,
        configs: Vec<ProxyConfig>,
    ) -> Result<Vec<ProxyState>, PopulateError> {
        for (index, config) in configs.iter().enumerate() {
            check_proxy(config, Some(index + 1)).map_err(|source| PopulateError {
                applied: Vec::new(),
                source,
            })?;
        }
        let mut proxies = self.inner.proxies.lock().await;
        let mut applied = Vec::with_capacity(configs.len());
        for config in configs {
            if let Some(existing) = proxies.get(&config.name) {
                if existing.matches(&config).await {
                    applied.push(existing.snapshot().await);
                    continue;
                }
                existing.stop().await;
            }
            let proxy = Arc::new(Proxy::new(&config, self.inner.seed));
            if config.enabled
                && let Err(source) = proxy.start().await
            {
                return Err(PopulateError { applied, source });
            }
            applied.push(proxy.snapshot().await);
            proxies.insert(config.name, proxy);
        }
        Ok(applied)
    }

    /// A proxy's toxics, upstream first (`GET /proxies/{name}/toxics`).
    pub async fn toxics(&self, proxy: &str) -> Result<Vec<Toxic>, FaultProxyError> {
        Ok(self.get(proxy).await?.toxics().list().await)
    }

    /// One toxic (`GET /proxies/{proxy}/toxics/{toxic}`).
    pub async fn toxic(&self, proxy: &str, toxic: &str) -> Result<Toxic, FaultProxyError> {
        self.get(proxy).await?.toxics().get(toxic).await
    }

    /// Adds a toxic; live connections get it at once (`POST /proxies/{proxy}/toxics`).
    pub async fn add_toxic(&self, proxy: &str, toxic: NewToxic) -> Result<Toxic, FaultProxyError> {
        let toxics = Arc::clone(self.get(proxy).await?.toxics());
        detached(async move { toxics.add(toxic).await }).await?
    }

    /// Merges new attributes or toxicity onto a toxic; its stage restarts on every live
    /// link (`POST`/`PATCH /proxies/{proxy}/toxics/{toxic}`).
    pub async fn update_toxic(
        &self,
        proxy: &str,
        toxic: &str,
        update: ToxicUpdate,
    ) -> Result<Toxic, FaultProxyError> {
        let toxics = Arc::clone(self.get(proxy).await?.toxics());
        let toxic = toxic.to_owned();
        detached(async move { toxics.update(&toxic, &update).await }).await?
    }

    /// Removes a toxic from the proxy and its live links
    /// (`DELETE /proxies/{proxy}/toxics/{toxic}`).
    pub async fn remove_toxic(&self, proxy: &str, toxic: &str) -> Result<(), FaultProxyError> {
        let toxics = Arc::clone(self.get(proxy).await?.toxics());
        let toxic = toxic.to_owned();
        detached(async move { toxics.remove(&toxic).await }).await?
    }

    /// Enables every proxy and removes every toxic; proxies are kept (`POST /reset`).
    pub async fn reset(&self) -> Result<(), FaultProxyError> {
        let proxies: Vec<_> = self.inner.proxies.lock().await.values().cloned().collect();
        for proxy in proxies {
            proxy.start().await?;
            let toxics = Arc::clone(proxy.toxics());
            detached(async move { toxics.reset().await }).await?;
        }
        Ok(())
    }

    /// Stops every proxy: listeners closed, every proxied connection closed. The proxies
    /// stay registered (disabled).
    pub async fn shutdown(&self) {
        let proxies: Vec<_> = self.inner.proxies.lock().await.values().cloned().collect();
        for proxy in proxies {
            proxy.stop().await;
        }
    }

    async fn get(&self, name: &str) -> Result<Arc<Proxy>, FaultProxyError> {
        self.inner
            .proxies
            .lock()
            .await
            .get(name)
            .cloned()
            .ok_or_else(|| FaultProxyError::ProxyNotFound { name: name.into() })
    }
}

/// Runs a chain change in its own task, so a caller that stops waiting (a dropped future,
/// a timed-out API handler) cannot cut it short: a change interrupts and restarts stages
/// on every live link, and stopped half-way it would leave links broken.
async fn detached<T: Send + 'static>(
    change: impl Future<Output = T> + Send + 'static,
) -> Result<T, FaultProxyError> {
    tokio::spawn(change)
        .await
        .map_err(|err| FaultProxyError::Internal(err.to_string()))
}
