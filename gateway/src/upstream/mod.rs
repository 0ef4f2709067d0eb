//! Upstreams: named groups of endpoints, the balancer over them, and endpoint selection that
//! respects health and panic mode.

mod config;
mod endpoint;
mod registry;

use std::sync::Arc;

use smallvec::SmallVec;

pub use config::{EndpointConfig, PanicMode, UpstreamConfig};
pub use endpoint::Endpoint;
pub(crate) use endpoint::InFlight;
pub(crate) use registry::EndpointRegistry;

use crate::balance::{Balancer, PickContext};
use crate::errors::ProxyError;

/// One upstream as built for one config version.
#[derive(Debug)]
pub(crate) struct Upstream {
    config: UpstreamConfig,
    label: crate::metrics::Name,
    endpoints: Vec<Arc<Endpoint>>,
    balancer: Balancer,
}

// === impl Upstream ===

impl Upstream {
    pub(crate) fn new(config: UpstreamConfig, endpoints: Vec<Arc<Endpoint>>, seed: u64) -> Self {
        let balancer = Balancer::new(&config.balancer, &endpoints, seed);
        let label = Arc::new(config.name.clone());
        Self {
            config,
            label,
            endpoints,
            balancer,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    /// The name as a metric label value.
    pub(crate) fn label(&self) -> crate::metrics::Name {
        Arc::clone(&self.label)
    }

    pub(crate) fn config(&self) -> &UpstreamConfig {
        &self.config
    }

    pub(crate) fn endpoints(&self) -> &[Arc<Endpoint>] {
        &self.endpoints
    }

    /// Whether too few endpoints are healthy, so all of them take traffic.
    pub(crate) fn in_panic(&self) -> bool {
        let healthy = self.endpoints.iter().filter(|e| e.is_healthy()).count();
        self.config.panic.engaged(healthy, self.endpoints.len())
    }

    /// Chooses the endpoint for one attempt: healthy endpoints only, unless panic mode is
    /// engaged, in which case every endpoint is a candidate.
    pub(crate) fn select(&self, ctx: &PickContext<'_>) -> Result<Arc<Endpoint>, ProxyError> {
        // Sixteen inline slots: upstreams rarely have more, so no allocation per request.
        let mut eligible: SmallVec<[usize; 16]> = self
            .endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_healthy())
            .map(|(i, _)| i)
            .collect();
        if self
            .config
            .panic
            .engaged(eligible.len(), self.endpoints.len())
        {
            eligible.clear();
            eligible.extend(0..self.endpoints.len());
        }
        self.balancer
            .pick(&self.endpoints, &eligible, ctx)
            .and_then(|i| self.endpoints.get(i))
            .cloned()
            .ok_or_else(|| ProxyError::NoHealthyEndpoint {
                upstream: self.config.name.clone(),
            })
    }
}
