//! Endpoint state that outlives config versions: an endpoint keeps its health verdict,
//! in-flight count and latency estimate across reloads while its upstream name and address
//! stay the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::Endpoint;
use crate::balance::{BalancerConfig, PeakEwma};

/// Live endpoints by (upstream, address); weak, so endpoints no config uses any more go away.
#[derive(Debug, Default)]
pub(crate) struct EndpointRegistry {
    endpoints: Mutex<HashMap<(String, String), Weak<Endpoint>>>,
}

// === impl EndpointRegistry ===

impl EndpointRegistry {
    /// The endpoint for `address` in `upstream`: the live one when its weight and latency
    /// settings are unchanged, otherwise a new one that inherits the old health verdict.
    pub(crate) fn endpoint(
        &self,
        upstream: &str,
        address: &str,
        weight: u32,
        balancer: &BalancerConfig,
    ) -> Arc<Endpoint> {
        let mut map = self
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, weak| weak.strong_count() > 0);
        let key = (upstream.to_owned(), address.to_owned());
        let previous = map.get(&key).and_then(Weak::upgrade);
        let latency = PeakEwma::for_balancer(balancer);
        if let Some(existing) = &previous
            && existing.weight() == weight
            && existing.latency().same_decay(&latency)
        {
            return Arc::clone(existing);
        }
        let mut endpoint = Endpoint::new(address, weight, latency);
        if let Some(old) = previous {
            endpoint.inherit_health(&old);
        }
        let endpoint = Arc::new(endpoint);
        map.insert(key, Arc::downgrade(&endpoint));
        endpoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_reuses_live_endpoint_with_same_weight() {
        let registry = EndpointRegistry::default();
        let b = BalancerConfig::RoundRobin;
        let first = registry.endpoint("users", "127.0.0.1:1", 1, &b);
        first.set_healthy(false);
        let second = registry.endpoint("users", "127.0.0.1:1", 1, &b);
        assert!(Arc::ptr_eq(&first, &second));
        assert!(!second.is_healthy());
    }

    #[test]
    fn registry_weight_change_makes_new_endpoint_keeping_health() {
        let registry = EndpointRegistry::default();
        let b = BalancerConfig::RoundRobin;
        let first = registry.endpoint("users", "127.0.0.1:1", 1, &b);
        first.set_healthy(false);
        let second = registry.endpoint("users", "127.0.0.1:1", 5, &b);
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(second.weight(), 5);
        assert!(!second.is_healthy());
    }

    #[test]
    fn registry_latency_decay_change_makes_new_endpoint_keeping_health() {
        let registry = EndpointRegistry::default();
        let p2c = |secs| BalancerConfig::P2cPeakEwma {
            decay: std::time::Duration::from_secs(secs),
            default_rtt: std::time::Duration::from_millis(30),
        };
        let first = registry.endpoint("users", "127.0.0.1:1", 1, &p2c(10));
        first.set_healthy(false);
        let same = registry.endpoint("users", "127.0.0.1:1", 1, &p2c(10));
        assert!(Arc::ptr_eq(&first, &same));
        let changed = registry.endpoint("users", "127.0.0.1:1", 1, &p2c(2));
        assert!(!Arc::ptr_eq(&first, &changed));
        assert!(!changed.is_healthy());
    }

    #[test]
    fn registry_same_address_in_other_upstream_is_independent() {
        let registry = EndpointRegistry::default();
        let b = BalancerConfig::RoundRobin;
        let a = registry.endpoint("a", "127.0.0.1:1", 1, &b);
        a.set_healthy(false);
        let other = registry.endpoint("b", "127.0.0.1:1", 1, &b);
        assert!(other.is_healthy());
    }

    #[test]
    fn registry_forgets_endpoints_no_config_uses() {
        let registry = EndpointRegistry::default();
        let b = BalancerConfig::RoundRobin;
        let first = registry.endpoint("users", "127.0.0.1:1", 1, &b);
        first.set_healthy(false);
        drop(first);
        let again = registry.endpoint("users", "127.0.0.1:1", 1, &b);
        assert!(
            again.is_healthy(),
            "a dropped endpoint's state must not come back"
        );
    }
}
