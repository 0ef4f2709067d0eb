//! The YAML shape of a gateway config file: serde types only, every field optional or
//! defaulted here, checked and defaulted in `validate`.
//!
//! Unknown keys are rejected (by `config_yaml`, which reports every one of them with the list
//! of allowed keys; `deny_unknown_fields` keeps the types strict for any other deserializer).

use std::collections::BTreeMap;

use config_yaml::units::{Duration, Percent};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub(crate) listen: Option<String>,
    pub(crate) admin: Option<RawAdmin>,
    pub(crate) shutdown: Option<RawShutdown>,
    pub(crate) reload: Option<RawReload>,
    pub(crate) telemetry: Option<RawTelemetry>,
    #[serde(default)]
    pub(crate) upstreams: BTreeMap<String, RawUpstream>,
    #[serde(default)]
    pub(crate) routes: Vec<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmin {
    pub(crate) listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawShutdown {
    pub(crate) drain_timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReload {
    pub(crate) watch: Option<bool>,
    pub(crate) debounce: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTelemetry {
    pub(crate) service_name: Option<String>,
    pub(crate) otlp_endpoint: Option<String>,
    pub(crate) sampling_ratio: Option<f64>,
    pub(crate) export_interval: Option<Duration>,
    pub(crate) max_queue_spans: Option<usize>,
    pub(crate) access_log: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpstream {
    pub(crate) endpoints: Option<Vec<RawEndpoint>>,
    pub(crate) balancer: Option<RawBalancer>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) health_check: Option<RawHealthCheck>,
    pub(crate) panic_threshold: Option<RawPanicThreshold>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEndpoint {
    pub(crate) address: String,
    pub(crate) weight: Option<u32>,
}

/// `balancer: round_robin`, or a mapping with `type:` and that algorithm's settings.
#[derive(Debug, Default)]
pub(crate) struct RawBalancer {
    pub(crate) kind: String,
    /// Written as a mapping (so its name is at `type`), not as a plain name.
    pub(crate) from_mapping: bool,
    pub(crate) hash_key: Option<String>,
    pub(crate) decay: Option<Duration>,
    pub(crate) default_rtt: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBalancerMap {
    #[serde(rename = "type")]
    kind: String,
    hash_key: Option<String>,
    decay: Option<Duration>,
    default_rtt: Option<Duration>,
}

impl<'de> Deserialize<'de> for RawBalancer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BalancerVisitor;

        impl<'de> Visitor<'de> for BalancerVisitor {
            type Value = RawBalancer;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a balancer name, or a mapping with `type` and its settings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawBalancer, E> {
                Ok(RawBalancer {
                    kind: v.to_owned(),
                    ..RawBalancer::default()
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawBalancer, A::Error> {
                let m = RawBalancerMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawBalancer {
                    kind: m.kind,
                    from_mapping: true,
                    hash_key: m.hash_key,
                    decay: m.decay,
                    default_rtt: m.default_rtt,
                })
            }
        }

        deserializer.deserialize_any(BalancerVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealthCheck {
    pub(crate) path: Option<String>,
    pub(crate) interval: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) unhealthy_after: Option<u32>,
    pub(crate) healthy_after: Option<u32>,
}

/// `panic_threshold: 25%`, or `off`.
#[derive(Debug)]
pub(crate) enum RawPanicThreshold {
    Off,
    Percent(Percent),
}

impl<'de> Deserialize<'de> for RawPanicThreshold {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "off" {
            return Ok(Self::Off);
        }
        text.parse::<Percent>()
            .map(Self::Percent)
            .map_err(|e| de::Error::custom(format!("{e}; or `off` to disable panic mode")))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub(crate) name: Option<String>,
    #[serde(rename = "match")]
    pub(crate) matcher: Option<RawMatch>,
    pub(crate) upstream: Option<String>,
    pub(crate) rewrite: Option<RawRewrite>,
    pub(crate) host_header: Option<RawHostHeader>,
    pub(crate) timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMatch {
    #[serde(default)]
    pub(crate) hosts: Vec<String>,
    pub(crate) path: Option<String>,
    pub(crate) prefix: Option<String>,
    #[serde(default)]
    pub(crate) methods: Vec<String>,
    #[serde(default)]
    pub(crate) headers: Vec<RawHeaderMatch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHeaderMatch {
    pub(crate) name: String,
    pub(crate) exact: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) present: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRewrite {
    pub(crate) strip_prefix: Option<String>,
    pub(crate) replace_prefix: Option<RawReplacePrefix>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReplacePrefix {
    pub(crate) from: String,
    pub(crate) to: String,
}

/// `host_header: preserve`, `host_header: endpoint`, or `host_header: { set: NAME }`.
#[derive(Debug)]
pub(crate) enum RawHostHeader {
    Named(String),
    Set(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHostHeaderSet {
    set: String,
}

impl<'de> Deserialize<'de> for RawHostHeader {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HostVisitor;

        impl<'de> Visitor<'de> for HostVisitor {
            type Value = RawHostHeader;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`preserve`, `endpoint`, or a mapping `{ set: HOST }`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawHostHeader, E> {
                Ok(RawHostHeader::Named(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawHostHeader, A::Error> {
                let m = RawHostHeaderSet::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawHostHeader::Set(m.set))
            }
        }

        deserializer.deserialize_any(HostVisitor)
    }
}
