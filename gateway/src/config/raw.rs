//! The YAML shape of a gateway config file: serde types only, every field optional or
//! defaulted here, checked and defaulted in `validate`.
//!
//! Unknown keys are rejected (by `config_yaml`, which reports every one of them with the list
//! of allowed keys; `deny_unknown_fields` keeps the types strict for any other deserializer).

use std::collections::BTreeMap;

use config_yaml::units::{ByteSize, Duration, Percent, Rate};
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
    pub(crate) tls: Option<RawListenerTls>,
    pub(crate) client_ip: Option<RawClientIp>,
    pub(crate) limits: Option<RawServerLimits>,
    #[serde(default)]
    pub(crate) upstreams: BTreeMap<String, RawUpstream>,
    #[serde(default)]
    pub(crate) routes: Vec<RawRoute>,
    pub(crate) auth: Option<RawAuth>,
}

/// `auth:` at the top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    #[serde(default)]
    pub(crate) providers: BTreeMap<String, RawProvider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Option<Vec<String>>,
    pub(crate) algorithms: Option<Vec<String>>,
    pub(crate) secret_env: Option<String>,
    pub(crate) secret_file: Option<String>,
    pub(crate) public_key_file: Option<String>,
    pub(crate) jwks_file: Option<String>,
    pub(crate) jwks_url: Option<String>,
    pub(crate) jwks_refresh: Option<Duration>,
    pub(crate) jwks_min_refresh: Option<Duration>,
    pub(crate) leeway: Option<Duration>,
}

/// `auth:` on a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRouteAuth {
    pub(crate) provider: Option<String>,
    #[serde(default)]
    pub(crate) required_claims: Vec<String>,
    #[serde(default)]
    pub(crate) rules: Vec<RawClaimRule>,
    #[serde(default)]
    pub(crate) forward_claims: BTreeMap<String, String>,
    pub(crate) strip_authorization: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClaimRule {
    pub(crate) claim: Option<String>,
    pub(crate) any_of: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmin {
    pub(crate) listen: Option<String>,
    pub(crate) token_env: Option<String>,
    pub(crate) token_file: Option<String>,
}

/// `limits:` at the top level: what one client connection and one request may use.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServerLimits {
    pub(crate) max_header_bytes: Option<ByteSize>,
    pub(crate) max_headers: Option<u32>,
    pub(crate) max_body_bytes: Option<RawBytesOrOff>,
    pub(crate) header_read_timeout: Option<Duration>,
    pub(crate) max_connections: Option<RawCountOrOff>,
    pub(crate) http2: Option<RawHttp2Limits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp2Limits {
    pub(crate) max_concurrent_streams: Option<u32>,
    pub(crate) max_pending_reset_streams: Option<u32>,
    pub(crate) max_local_error_reset_streams: Option<u32>,
}

/// A byte size, or `off`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RawBytesOrOff {
    Off,
    Bytes(ByteSize),
}

impl<'de> Deserialize<'de> for RawBytesOrOff {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "off" {
            return Ok(Self::Off);
        }
        text.parse::<ByteSize>()
            .map(Self::Bytes)
            .map_err(|e| de::Error::custom(format!("{e}; or `off`")))
    }
}

/// A count, or `off`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RawCountOrOff {
    Off,
    Count(u32),
}

impl<'de> Deserialize<'de> for RawCountOrOff {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "off" {
            return Ok(Self::Off);
        }
        text.parse::<u32>().map(Self::Count).map_err(|_| {
            de::Error::custom(format!("invalid count `{text}`: a whole number or `off`"))
        })
    }
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
    pub(crate) failure_statuses: Option<Vec<RawStatusRange>>,
    pub(crate) circuit_breaker: Option<RawBreaker>,
    pub(crate) outlier_detection: Option<RawOutlier>,
    pub(crate) limits: Option<RawLimits>,
    pub(crate) tls: Option<RawUpstreamTls>,
}

/// `tls:` at the top level: the data-plane listener terminates TLS.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListenerTls {
    pub(crate) certificates: Option<Vec<RawCertificate>>,
    pub(crate) min_version: Option<String>,
    pub(crate) alpn: Option<Vec<String>>,
    pub(crate) handshake_timeout: Option<Duration>,
}

/// One certificate of the listener and the names it serves.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCertificate {
    pub(crate) cert: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) server_names: Option<Vec<String>>,
}

/// `tls:` on an upstream: its endpoints are called over https.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpstreamTls {
    pub(crate) enabled: Option<bool>,
    pub(crate) ca_file: Option<String>,
    pub(crate) server_name: Option<String>,
    pub(crate) insecure_skip_verify: Option<bool>,
}

/// A status code (`503`) or an inclusive range (`"500-599"`).
#[derive(Debug, Clone)]
pub(crate) struct RawStatusRange(pub(crate) String);

impl<'de> Deserialize<'de> for RawStatusRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusVisitor;

        impl Visitor<'_> for StatusVisitor {
            type Value = RawStatusRange;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a status code like 503 or a range like \"500-599\"")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawStatusRange, E> {
                Ok(RawStatusRange(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawStatusRange, E> {
                Ok(RawStatusRange(v.to_string()))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawStatusRange, E> {
                Ok(RawStatusRange(v.to_owned()))
            }
        }

        deserializer.deserialize_any(StatusVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreaker {
    pub(crate) window: Option<RawBreakerWindow>,
    pub(crate) failure_rate: Option<Percent>,
    pub(crate) slow_call: Option<RawSlowCall>,
    pub(crate) minimum_calls: Option<u32>,
    pub(crate) open_for: Option<Duration>,
    pub(crate) half_open_calls: Option<u32>,
    pub(crate) half_open_max_wait: Option<RawDurationOrOff>,
    pub(crate) automatic_half_open: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreakerWindow {
    pub(crate) calls: Option<u32>,
    pub(crate) duration: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlowCall {
    pub(crate) over: Option<Duration>,
    pub(crate) rate: Option<Percent>,
}

/// A duration, or `off`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RawDurationOrOff {
    Off,
    Duration(Duration),
}

impl<'de> Deserialize<'de> for RawDurationOrOff {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "off" {
            return Ok(Self::Off);
        }
        text.parse::<Duration>()
            .map(Self::Duration)
            .map_err(|e| de::Error::custom(format!("{e}; or `off`")))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutlier {
    pub(crate) consecutive_failures: Option<u32>,
    pub(crate) base_ejection: Option<Duration>,
    pub(crate) max_ejection: Option<Duration>,
    pub(crate) max_ejection_percent: Option<Percent>,
    pub(crate) decay_interval: Option<Duration>,
    pub(crate) uneject_on_health_check: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub(crate) max_connections: Option<u32>,
    pub(crate) max_pending: Option<u32>,
    pub(crate) max_requests: Option<u32>,
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
    pub(crate) per_try_timeout: Option<Duration>,
    pub(crate) retry: Option<RawRetry>,
    pub(crate) circuit_breaker: Option<RawBreaker>,
    pub(crate) fallback: Option<RawFallback>,
    pub(crate) fault: Option<RawFault>,
    pub(crate) rate_limit: Option<RawRateLimit>,
    pub(crate) auth: Option<RawRouteAuth>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClientIp {
    #[serde(default)]
    pub(crate) trusted_proxies: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    pub(crate) algorithm: Option<String>,
    pub(crate) rate: Option<Rate>,
    pub(crate) burst: Option<u32>,
    pub(crate) limit: Option<u32>,
    pub(crate) window: Option<Duration>,
    pub(crate) key: Option<Vec<String>>,
    pub(crate) backend: Option<String>,
    pub(crate) max_keys: Option<usize>,
    pub(crate) redis: Option<RawRedis>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRedis {
    pub(crate) url: Option<String>,
    pub(crate) pool_size: Option<usize>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) on_error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetry {
    pub(crate) attempts: Option<u32>,
    pub(crate) on: Option<Vec<RawStatusRange>>,
    pub(crate) non_idempotent: Option<bool>,
    pub(crate) idempotency_key: Option<bool>,
    pub(crate) backoff: Option<RawBackoff>,
    pub(crate) budget: Option<RawBudget>,
    pub(crate) max_replay_body_bytes: Option<ByteSize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackoff {
    pub(crate) base: Option<Duration>,
    pub(crate) max: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBudget {
    pub(crate) ratio: Option<Percent>,
    pub(crate) min_per_second: Option<u32>,
    pub(crate) window: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFallback {
    #[serde(rename = "static")]
    pub(crate) static_response: Option<RawStaticFallback>,
    pub(crate) stale: Option<RawStaleFallback>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStaticFallback {
    pub(crate) status: Option<u16>,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Option<String>,
    pub(crate) body_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStaleFallback {
    pub(crate) max_age: Option<Duration>,
    #[serde(default)]
    pub(crate) key_headers: Vec<String>,
    pub(crate) max_entries: Option<usize>,
    pub(crate) max_entry_bytes: Option<ByteSize>,
    pub(crate) max_total_bytes: Option<ByteSize>,
    pub(crate) then: Option<RawStaleThen>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStaleThen {
    #[serde(rename = "static")]
    pub(crate) static_response: RawStaticFallback,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFault {
    pub(crate) abort: Option<RawFaultAbort>,
    pub(crate) delay: Option<RawFaultDelay>,
    pub(crate) header_control: Option<bool>,
    pub(crate) max_active: Option<u32>,
    pub(crate) seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFaultAbort {
    pub(crate) status: u16,
    pub(crate) percent: Option<Percent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFaultDelay {
    pub(crate) duration: Duration,
    pub(crate) percent: Option<Percent>,
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
