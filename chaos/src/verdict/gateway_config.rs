//! What verdicts read from the gateway's config as run: each upstream breaker's open wait
//! and the route names. Only these keys are read; everything else is ignored, and a config
//! that does not parse simply yields nothing (the gateway validated it when it started).

use std::collections::BTreeMap;
use std::time::Duration;

use config_yaml::Document;
use config_yaml::units;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// The gateway's default `circuit_breaker.open_for` (README, resilience settings).
pub(crate) const DEFAULT_OPEN_FOR: Duration = Duration::from_secs(5);

/// The parts of a gateway config verdicts use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GatewaySettings {
    /// Upstream name to its breaker's open wait (`None`: the upstream has no breaker).
    pub(crate) open_for: BTreeMap<String, Option<Duration>>,
    /// Route names, in config order.
    pub(crate) routes: Vec<String>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    upstreams: BTreeMap<String, Upstream>,
    #[serde(default)]
    routes: Vec<Route>,
    #[serde(flatten)]
    _rest: BTreeMap<String, IgnoredAny>,
}

#[derive(Deserialize)]
struct Upstream {
    circuit_breaker: Option<Breaker>,
    #[serde(flatten)]
    _rest: BTreeMap<String, IgnoredAny>,
}

#[derive(Deserialize)]
struct Breaker {
    open_for: Option<units::Duration>,
    #[serde(flatten)]
    _rest: BTreeMap<String, IgnoredAny>,
}

#[derive(Deserialize)]
struct Route {
    name: Option<String>,
    #[serde(flatten)]
    _rest: BTreeMap<String, IgnoredAny>,
}

// === impl GatewaySettings ===

impl GatewaySettings {
    /// Reads `text`; `None` if it is not a gateway config this reader understands.
    pub(crate) fn parse(text: &str) -> Option<GatewaySettings> {
        let config: Config = Document::parse("gateway config", text)
            .ok()?
            .deserialize()
            .ok()?;
        Some(GatewaySettings {
            open_for: config
                .upstreams
                .into_iter()
                .map(|(name, u)| {
                    let wait = u
                        .circuit_breaker
                        .map(|b| b.open_for.map_or(DEFAULT_OPEN_FOR, |d| d.get()));
                    (name, wait)
                })
                .collect(),
            routes: config.routes.into_iter().filter_map(|r| r.name).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_open_wait_with_default_and_route_names() {
        let text = "\
listen: 127.0.0.1:0
upstreams:
  users: { endpoints: [{ address: 127.0.0.1:1 }], circuit_breaker: { open_for: 2s } }
  orders: { endpoints: [{ address: 127.0.0.1:2 }], circuit_breaker: {} }
  plain: { endpoints: [{ address: 127.0.0.1:3 }] }
routes:
  - { name: users, match: { path: /api/users/** }, upstream: users }
  - { name: orders, upstream: orders }
";
        let s = GatewaySettings::parse(text).unwrap();
        assert_eq!(s.open_for["users"], Some(Duration::from_secs(2)));
        assert_eq!(s.open_for["orders"], Some(DEFAULT_OPEN_FOR));
        assert_eq!(s.open_for["plain"], None);
        assert_eq!(s.routes, ["users", "orders"]);
        assert_eq!(GatewaySettings::parse("- not a mapping"), None);
    }
}
