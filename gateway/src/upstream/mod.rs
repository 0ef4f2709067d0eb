//! Upstreams: named groups of endpoints, the balancer over them, and endpoint selection that
//! respects active health, outlier ejection, retry exclusions and panic mode; plus the
//! upstream-wide resilience state (breaker, concurrency limits, outlier detector).

mod config;
mod endpoint;
mod registry;

use std::sync::Arc;

use smallvec::SmallVec;
use tokio::time::Instant;

pub use config::{EndpointConfig, PanicMode, UpstreamConfig};
pub use endpoint::Endpoint;
pub(crate) use endpoint::InFlight;
pub(crate) use registry::EndpointRegistry;

use crate::balance::{Balancer, PickContext};
use crate::breaker::Breaker;
use crate::errors::ProxyError;
use crate::limits::UpstreamLimits;
use crate::metrics::Name;
use crate::outlier::OutlierDetector;

/// One upstream as built for one config version. The breaker and limits are shared with the
/// versions before and after it while their settings do not change (see `stack.rs`).
#[derive(Debug)]
pub(crate) struct Upstream {
    config: UpstreamConfig,
    label: Name,
    endpoints: Vec<Arc<Endpoint>>,
    balancer: Balancer,
    breaker: Option<Breaker>,
    outlier: Option<OutlierDetector>,
    limits: Arc<UpstreamLimits>,
}

/// The endpoint chosen for one attempt and its index in the upstream's list.
#[derive(Debug, Clone)]
pub(crate) struct Selected {
    pub(crate) index: usize,
    pub(crate) endpoint: Arc<Endpoint>,
}

// === impl Upstream ===

impl Upstream {
    pub(crate) fn new(
        config: UpstreamConfig,
        endpoints: Vec<Arc<Endpoint>>,
        seed: u64,
        breaker: Option<Breaker>,
        limits: Arc<UpstreamLimits>,
    ) -> Self {
        let balancer = Balancer::new(&config.balancer, &endpoints, seed);
        let label = Arc::new(config.name.clone());
        let outlier = config.outlier.clone().map(|c| {
            OutlierDetector::new(
                c,
                endpoints.iter().map(|e| Arc::clone(e.outlier())).collect(),
            )
        });
        Self {
            config,
            label,
            endpoints,
            balancer,
            breaker,
            outlier,
            limits,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    /// The name as a metric label value.
    pub(crate) fn label(&self) -> Name {
        Arc::clone(&self.label)
    }

    pub(crate) fn config(&self) -> &UpstreamConfig {
        &self.config
    }

    pub(crate) fn endpoints(&self) -> &[Arc<Endpoint>] {
        &self.endpoints
    }

    /// The upstream's own breaker (routes may use their own instead).
    pub(crate) fn breaker(&self) -> Option<&Breaker> {
        self.breaker.as_ref()
    }

    pub(crate) fn outlier(&self) -> Option<&OutlierDetector> {
        self.outlier.as_ref()
    }

    pub(crate) fn limits(&self) -> &UpstreamLimits {
        &self.limits
    }

    /// Healthy by active checks and not ejected by outlier detection.
    fn available(&self, index: usize, endpoint: &Endpoint, now: Instant) -> bool {
        endpoint.is_healthy()
            && !self
                .outlier
                .as_ref()
                .is_some_and(|o| o.is_ejected(index, now))
    }

    /// Whether too few endpoints are available, so all of them take traffic (ejected ones
    /// included, as in Envoy).
    pub(crate) fn in_panic(&self) -> bool {
        let now = Instant::now();
        let available = self
            .endpoints
            .iter()
            .enumerate()
            .filter(|(i, e)| self.available(*i, e, now))
            .count();
        self.config.panic.engaged(available, self.endpoints.len())
    }

    /// Chooses the endpoint for one attempt: available endpoints not in `exclude` (the ones a
    /// retry already tried); if every available endpoint was tried, any available one; in
    /// panic mode, every endpoint.
    pub(crate) fn select(
        &self,
        ctx: &PickContext<'_>,
        exclude: &[usize],
    ) -> Result<Selected, ProxyError> {
        let now = Instant::now();
        // Sixteen inline slots: upstreams rarely have more, so no allocation per request.
        let available: SmallVec<[usize; 16]> = self
            .endpoints
            .iter()
            .enumerate()
            .filter(|(i, e)| self.available(*i, e, now))
            .map(|(i, _)| i)
            .collect();
        let mut eligible: SmallVec<[usize; 16]> = if self
            .config
            .panic
            .engaged(available.len(), self.endpoints.len())
        {
            (0..self.endpoints.len()).collect()
        } else {
            available
        };
        if !exclude.is_empty() {
            let untried: SmallVec<[usize; 16]> = eligible
                .iter()
                .copied()
                .filter(|i| !exclude.contains(i))
                .collect();
            // Prefer a different endpoint for a retry, but a retry to the same one beats none.
            match untried.as_slice() {
                // One choice left: take it without advancing the balancer, so a retry does not
                // shift which endpoint the next request's first attempt goes to.
                [only] => {
                    return self
                        .endpoints
                        .get(*only)
                        .map(|e| Selected {
                            index: *only,
                            endpoint: Arc::clone(e),
                        })
                        .ok_or_else(|| ProxyError::NoHealthyEndpoint {
                            upstream: self.config.name.clone(),
                        });
                }
                [] => {}
                _ => eligible = untried,
            }
        }
        self.balancer
            .pick(&self.endpoints, &eligible, ctx)
            .and_then(|index| {
                self.endpoints.get(index).map(|e| Selected {
                    index,
                    endpoint: Arc::clone(e),
                })
            })
            .ok_or_else(|| ProxyError::NoHealthyEndpoint {
                upstream: self.config.name.clone(),
            })
    }
}
