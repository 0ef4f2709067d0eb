//! The YAML shape of a scenario file: serde types only, every field optional here and checked
//! in `validate` (so a missing field is reported together with every other problem).
//!
//! Unknown keys are rejected (config_yaml reports each with the allowed keys;
//! `deny_unknown_fields` keeps the types strict for any other deserializer). Fault entries and
//! their parameters are read generically ([`RawFault`], [`RawParam`]) and checked against the
//! fault-kind table in `catalog`, so the table alone says which keys each kind takes.

use std::collections::BTreeMap;
use std::fmt;

use config_yaml::units::{Duration, Percent, Rate};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

mod fault;

pub(crate) use fault::{FAULT_KEYS, RawFault, RawParam};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a scenario: a mapping with name, description, system, load, faults, guards, expect"
)]
pub(crate) struct RawScenario {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    pub(crate) seed: Option<u64>,
    pub(crate) system: Option<RawSystem>,
    pub(crate) load: Option<RawLoad>,
    #[serde(default)]
    pub(crate) faults: Vec<RawFault>,
    #[serde(default)]
    pub(crate) guards: Vec<RawGuard>,
    #[serde(default)]
    pub(crate) expect: Vec<RawObjective>,
}

// === system ===

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with gateway, upstreams, backends"
)]
pub(crate) struct RawSystem {
    pub(crate) gateway: Option<RawGateway>,
    #[serde(default)]
    pub(crate) upstreams: BTreeMap<String, RawUpstream>,
    pub(crate) backends: Option<RawBackends>,
}

/// `config:` (spawn) or `url:` + `admin:` (attach); which one is checked in `validate`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping: `config: PATH`, or `url` and `admin`"
)]
pub(crate) struct RawGateway {
    pub(crate) config: Option<String>,
    pub(crate) binary: Option<String>,
    pub(crate) ready: Option<Duration>,
    pub(crate) args: Option<Vec<String>>,
    pub(crate) env: Option<BTreeMap<String, String>>,
    pub(crate) url: Option<String>,
    pub(crate) admin: Option<String>,
}

/// Exactly one of `builtin`, `command`, `address`; checked in `validate`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with one of builtin, command, address"
)]
pub(crate) struct RawUpstream {
    pub(crate) builtin: Option<RawBuiltin>,
    pub(crate) command: Option<Vec<String>>,
    pub(crate) address: Option<String>,
    pub(crate) replicas: Option<u32>,
    pub(crate) ready: Option<RawReady>,
    pub(crate) env: Option<BTreeMap<String, String>>,
    pub(crate) via: Option<RawVia>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with latency, error_rate, error_status, healthy"
)]
pub(crate) struct RawBuiltin {
    pub(crate) latency: Option<Duration>,
    pub(crate) error_rate: Option<Percent>,
    pub(crate) error_status: Option<u16>,
    pub(crate) healthy: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping: `http: PATH` or `tcp: true`, with timeout"
)]
pub(crate) struct RawReady {
    pub(crate) http: Option<String>,
    pub(crate) tcp: Option<bool>,
    pub(crate) timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawVia {
    Direct,
    Proxy,
    Netns,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with traces, metrics, fault_proxy"
)]
pub(crate) struct RawBackends {
    pub(crate) traces: Option<NameOr<RawJaeger>>,
    pub(crate) metrics: Option<NameOr<RawPrometheus>>,
    pub(crate) fault_proxy: Option<NameOr<RawToxiproxy>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with jaeger and otlp URLs")]
pub(crate) struct RawJaeger {
    pub(crate) jaeger: Option<String>,
    pub(crate) otlp: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with a prometheus URL")]
pub(crate) struct RawPrometheus {
    pub(crate) prometheus: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with a toxiproxy URL")]
pub(crate) struct RawToxiproxy {
    pub(crate) toxiproxy: Option<String>,
}

/// A plain name (`embedded`), or a mapping `M` with settings.
#[derive(Debug)]
pub(crate) enum NameOr<M> {
    Name(String),
    Map(M),
}

impl<'de, M: Deserialize<'de>> Deserialize<'de> for NameOr<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameOrVisitor<M>(std::marker::PhantomData<M>);

        impl<'de, M: Deserialize<'de>> Visitor<'de> for NameOrVisitor<M> {
            type Value = NameOr<M>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name, or a mapping with settings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<NameOr<M>, E> {
                Ok(NameOr::Name(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NameOr<M>, A::Error> {
                M::deserialize(de::value::MapAccessDeserializer::new(map)).map(NameOr::Map)
            }
        }

        deserializer.deserialize_any(NameOrVisitor(std::marker::PhantomData))
    }
}

// === load ===

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with rate or ramp, duration, requests"
)]
pub(crate) struct RawLoad {
    pub(crate) rate: Option<Rate>,
    pub(crate) ramp: Option<Vec<RawStage>>,
    pub(crate) duration: Option<Duration>,
    pub(crate) max_in_flight: Option<usize>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) sample_traces: Option<Percent>,
    pub(crate) requests: Option<Vec<RawRequest>>,
}

/// `{ to: RATE, over: DURATION }` or `{ hold: DURATION }`. `to` is text because a ramp may
/// go down to `0/s`, which a [`Rate`] refuses.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "`{ to: RATE, over: DURATION }` or `{ hold: DURATION }`"
)]
pub(crate) struct RawStage {
    pub(crate) to: Option<String>,
    pub(crate) over: Option<Duration>,
    pub(crate) hold: Option<Duration>,
}

/// One mix entry: exactly one method key holding the path.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with one method key (get, post, put, delete, patch, head) holding the path"
)]
pub(crate) struct RawRequest {
    pub(crate) get: Option<String>,
    pub(crate) post: Option<String>,
    pub(crate) put: Option<String>,
    pub(crate) delete: Option<String>,
    pub(crate) patch: Option<String>,
    pub(crate) head: Option<String>,
    pub(crate) headers: Option<BTreeMap<String, String>>,
    pub(crate) body: Option<String>,
    pub(crate) weight: Option<u32>,
}

impl RawRequest {
    /// The method keys written, with their paths, in method order.
    pub(crate) fn methods(&self) -> Vec<(&'static str, &str)> {
        [
            ("get", &self.get),
            ("post", &self.post),
            ("put", &self.put),
            ("delete", &self.delete),
            ("patch", &self.patch),
            ("head", &self.head),
        ]
        .into_iter()
        .filter_map(|(method, path)| path.as_deref().map(|p| (method, p)))
        .collect()
    }
}

// === guards ===

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with name, errors or latency, window, after"
)]
pub(crate) struct RawGuard {
    pub(crate) name: Option<String>,
    pub(crate) errors: Option<String>,
    pub(crate) latency: Option<String>,
    pub(crate) window: Option<Duration>,
    pub(crate) after: Option<Duration>,
}

// === objectives ===

/// One `expect` entry: a single key naming the objective.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawObjective {
    SteadyState(RawSteadyState),
    Errors(RawErrors),
    Latency(RawLatency),
    Failover(RawFailover),
    Degradation(RawDegradation),
    Rto(RawRto),
    Breaker(RawBreaker),
    Trace(RawTrace),
    Metric(RawMetric),
}

/// `window: before | after | whole | { from, to }`.
pub(crate) type RawWindow = NameOr<RawRange>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with from and to")]
pub(crate) struct RawRange {
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with before and/or after")]
pub(crate) struct RawSteadyState {
    pub(crate) before: Option<RawClientThresholds>,
    pub(crate) after: Option<RawClientThresholds>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with errors and/or latency"
)]
pub(crate) struct RawClientThresholds {
    pub(crate) errors: Option<String>,
    pub(crate) latency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with during or window, and rate"
)]
pub(crate) struct RawErrors {
    pub(crate) during: Option<String>,
    pub(crate) window: Option<RawWindow>,
    pub(crate) rate: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with during or window, and value"
)]
pub(crate) struct RawLatency {
    pub(crate) during: Option<String>,
    pub(crate) window: Option<RawWindow>,
    pub(crate) value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with during, errors, stops_reaching, within"
)]
pub(crate) struct RawFailover {
    pub(crate) during: Option<String>,
    pub(crate) errors: Option<String>,
    pub(crate) stops_reaching: Option<String>,
    pub(crate) within: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with during, route, fallbacks, no_5xx"
)]
pub(crate) struct RawDegradation {
    pub(crate) during: Option<String>,
    pub(crate) route: Option<String>,
    pub(crate) fallbacks: Option<String>,
    pub(crate) no_5xx: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with from, success, window, hold, max, latency"
)]
pub(crate) struct RawRto {
    pub(crate) from: Option<String>,
    pub(crate) success: Option<String>,
    pub(crate) window: Option<Duration>,
    pub(crate) hold: Option<Duration>,
    pub(crate) max: Option<Duration>,
    pub(crate) latency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with upstream, of, opens_within, half_open_after, closes_within"
)]
pub(crate) struct RawBreaker {
    pub(crate) upstream: Option<String>,
    pub(crate) of: Option<String>,
    pub(crate) opens_within: Option<Duration>,
    pub(crate) half_open_after: Option<Duration>,
    pub(crate) closes_within: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with select, during or window, after, and count, ratio or duration"
)]
pub(crate) struct RawTrace {
    pub(crate) select: Option<RawSelect>,
    pub(crate) during: Option<String>,
    pub(crate) window: Option<RawWindow>,
    pub(crate) after: Option<Duration>,
    pub(crate) count: Option<String>,
    pub(crate) ratio: Option<String>,
    pub(crate) duration: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with service, name, attributes, status"
)]
pub(crate) struct RawSelect {
    pub(crate) service: Option<String>,
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) status: Option<RawSpanStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawSpanStatus {
    Ok,
    Error,
    Unset,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with query or sample, value, during or window, for"
)]
pub(crate) struct RawMetric {
    pub(crate) query: Option<String>,
    pub(crate) sample: Option<String>,
    pub(crate) value: Option<String>,
    pub(crate) during: Option<String>,
    pub(crate) window: Option<RawWindow>,
    #[serde(rename = "for")]
    pub(crate) for_: Option<Duration>,
}
