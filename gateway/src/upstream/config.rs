//! Validated upstream settings.

use std::time::Duration;

use crate::balance::BalancerConfig;
use crate::breaker::BreakerConfig;
use crate::classify::Classifier;
use crate::health::HealthCheckConfig;
use crate::limits::LimitsConfig;
use crate::outlier::OutlierConfig;

/// One upstream: a named group of endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamConfig {
    /// Unique name routes refer to.
    pub name: String,
    /// At least one endpoint, in config order.
    pub endpoints: Vec<EndpointConfig>,
    /// How requests are spread over the endpoints. Default smooth weighted round robin.
    pub balancer: BalancerConfig,
    /// Longest wait for a TCP connection to an endpoint (504 when exceeded). Default 2s.
    pub connect_timeout: Duration,
    /// Active health checking, if configured.
    pub health_check: Option<HealthCheckConfig>,
    /// What happens when too few endpoints are healthy.
    pub panic: PanicMode,
    /// Which responses count as failures (breaker, retries, outlier detection, metrics).
    /// Default: every 5xx except 501.
    pub classifier: Classifier,
    /// The upstream's circuit breaker, if configured (routes may override it).
    pub breaker: Option<BreakerConfig>,
    /// Passive health: ejection of endpoints with consecutive failures, if configured.
    pub outlier: Option<OutlierConfig>,
    /// Concurrency limits (defaults: 1024 each).
    pub limits: LimitsConfig,
    /// https to the endpoints, if configured; `None`: cleartext HTTP/1.1.
    pub tls: Option<crate::tls::UpstreamTlsConfig>,
}

/// One endpoint of an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// `host:port`.
    pub address: String,
    /// Relative weight, 1 to 1000. Default 1.
    pub weight: u32,
}

/// Panic mode: when health checks leave too few endpoints, send traffic to all of them rather
/// than crushing the few left (or refusing everything), as Envoy's panic threshold does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PanicMode {
    /// Panic when the healthy share is below `threshold` (0.0 to 1.0), and always when no
    /// endpoint is healthy. `threshold` 0 (the default) means "only when none is healthy".
    Below {
        /// Healthy share (0.0 to 1.0) below which all endpoints are used.
        threshold: f64,
    },
    /// Never panic: with no healthy endpoint, requests get 503.
    Off,
}

impl PanicMode {
    /// Whether `healthy` of `total` endpoints puts the upstream in panic mode.
    pub fn engaged(self, healthy: usize, total: usize) -> bool {
        match self {
            Self::Off => false,
            Self::Below { threshold } => {
                healthy == 0 || (total > 0 && (healthy as f64) < threshold * total as f64)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PanicMode;

    #[test]
    fn panic_default_threshold_engages_only_when_none_healthy() {
        let mode = PanicMode::Below { threshold: 0.0 };
        assert!(mode.engaged(0, 3));
        assert!(!mode.engaged(1, 3));
    }

    #[test]
    fn panic_threshold_engages_below_share_not_at_it() {
        let mode = PanicMode::Below { threshold: 0.5 };
        assert!(mode.engaged(1, 3));
        assert!(!mode.engaged(1, 2));
        assert!(!mode.engaged(2, 4));
    }

    #[test]
    fn panic_off_never_engages() {
        assert!(!PanicMode::Off.engaged(0, 2));
    }
}
