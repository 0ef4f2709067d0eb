//! The JSON shapes of Toxiproxy's API: proxies, toxics and their updates, shared by the
//! server (parsing requests, writing answers) and the client (the reverse).
//!
//! Parsing follows Toxiproxy rather than our config rules: unknown keys are ignored,
//! missing attributes default to 0, `stream` is case-insensitive and defaults to
//! `downstream`, `toxicity` defaults to 1.0.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::FaultProxyError;
use super::toxics::ToxicKind;

/// Direction of a link: which bytes a toxic applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Client to server (requests).
    Upstream,
    /// Server to client (responses); the default.
    Downstream,
}

// === impl Stream ===

impl Stream {
    /// Both directions, in the order toxics are listed (upstream first, as Toxiproxy).
    pub const BOTH: [Stream; 2] = [Stream::Upstream, Stream::Downstream];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }

    /// Position in per-direction arrays.
    pub(crate) fn index(self) -> usize {
        match self {
            Stream::Upstream => 0,
            Stream::Downstream => 1,
        }
    }

    fn parse(value: &str) -> Result<Self, FaultProxyError> {
        match value.to_ascii_lowercase().as_str() {
            "upstream" => Ok(Stream::Upstream),
            "downstream" => Ok(Stream::Downstream),
            _ => Err(FaultProxyError::InvalidStream {
                value: value.to_owned(),
            }),
        }
    }
}

/// A proxy to create (`POST /proxies`, one `/populate` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyConfig {
    /// Unique name.
    pub name: String,
    /// `host:port` to listen on; port 0 picks a free port. Empty means `127.0.0.1:0`.
    #[serde(default)]
    pub listen: String,
    /// `host:port` to connect each accepted client to (resolved per connection).
    pub upstream: String,
    /// Whether to listen right away; default true.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// A partial proxy update (`POST`/`PATCH /proxies/{name}`): fields left out keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyUpdate {
    /// New listen address (a change restarts the proxy, dropping its connections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// New upstream address (a change restarts the proxy, dropping its connections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// `false` closes the listener and every live connection; `true` listens again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A proxy as the API shows it, with its toxics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyState {
    /// Unique name.
    pub name: String,
    /// The bound `ip:port` (the real port when `listen` asked for port 0).
    pub listen: String,
    /// The upstream `host:port`.
    pub upstream: String,
    /// Whether it listens.
    pub enabled: bool,
    /// Upstream toxics first, then downstream, each in chain order.
    pub toxics: Vec<Toxic>,
}

/// A toxic on a proxy. JSON: `{"attributes":{..},"name","type","stream","toxicity"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// Unique on its proxy across both directions.
    pub name: String,
    /// Direction it applies to.
    pub stream: Stream,
    /// Chance, 0 to 1, that the toxic runs on a link each time its stage starts.
    pub toxicity: f32,
    /// Type and attributes.
    pub kind: ToxicKind,
}

/// A toxic to add: like [`Toxic`], with the name optional (default `<type>_<stream>`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewToxic {
    /// Name; `None` gives `<type>_<stream>`, e.g. `latency_downstream`.
    pub name: Option<String>,
    /// Direction.
    pub stream: Stream,
    /// Chance 0 to 1 (Toxiproxy's default 1.0).
    pub toxicity: f32,
    /// Type and attributes.
    pub kind: ToxicKind,
}

/// A partial toxic update: given attributes are merged onto the current ones; `type`,
/// `stream` and `name` cannot change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToxicUpdate {
    /// New toxicity, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toxicity: Option<f32>,
    /// Attributes to change, e.g. `{"latency": 500}`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

// === impl ToxicKind (JSON) ===

impl ToxicKind {
    /// The `attributes` object, every attribute present.
    pub fn attributes(&self) -> Value {
        let value = match self {
            ToxicKind::Noop => Ok(Value::Object(Map::new())),
            ToxicKind::Latency(a) => serde_json::to_value(a),
            ToxicKind::Bandwidth(a) => serde_json::to_value(a),
            ToxicKind::SlowClose(a) => serde_json::to_value(a),
            ToxicKind::Timeout(a) => serde_json::to_value(a),
            ToxicKind::ResetPeer(a) => serde_json::to_value(a),
            ToxicKind::Slicer(a) => serde_json::to_value(a),
            ToxicKind::LimitData(a) => serde_json::to_value(a),
        };
        // Plain structs of integers always serialize.
        value.unwrap_or_default()
    }

    /// This kind with the keys of `changes` overlaid on its attributes (unknown keys are
    /// ignored, as Toxiproxy does).
    pub fn merged(&self, changes: &Map<String, Value>) -> Result<Self, serde_json::Error> {
        let mut attributes = match self.attributes() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        for (key, value) in changes {
            if attributes.contains_key(key) {
                attributes.insert(key.clone(), value.clone());
            }
        }
        let value = Value::Object(attributes);
        Ok(match self {
            ToxicKind::Noop => ToxicKind::Noop,
            ToxicKind::Latency(_) => ToxicKind::Latency(serde_json::from_value(value)?),
            ToxicKind::Bandwidth(_) => ToxicKind::Bandwidth(serde_json::from_value(value)?),
            ToxicKind::SlowClose(_) => ToxicKind::SlowClose(serde_json::from_value(value)?),
            ToxicKind::Timeout(_) => ToxicKind::Timeout(serde_json::from_value(value)?),
            ToxicKind::ResetPeer(_) => ToxicKind::ResetPeer(serde_json::from_value(value)?),
            ToxicKind::Slicer(_) => ToxicKind::Slicer(serde_json::from_value(value)?),
            ToxicKind::LimitData(_) => ToxicKind::LimitData(serde_json::from_value(value)?),
        })
    }
}

/// Any JSON `attributes` value as a map; `null` or missing is empty, anything but an object
/// is a type error (Toxiproxy's decoder refuses it too).
fn attribute_map(value: Option<Value>) -> Result<Map<String, Value>, serde_json::Error> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(serde_json::Error::invalid_type(
            unexpected(&other),
            &"an object of toxic attributes",
        )),
    }
}

fn unexpected(value: &Value) -> serde::de::Unexpected<'_> {
    use serde::de::Unexpected;
    match value {
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        _ => Unexpected::Other("a non-object value"),
    }
}

/// The wire shape of a toxic, before its attributes are typed.
#[derive(Serialize, Deserialize)]
struct ToxicWire {
    #[serde(default)]
    attributes: Option<Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    stream: Option<String>,
    #[serde(default)]
    toxicity: Option<f32>,
}

impl Serialize for Toxic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ToxicWire {
            attributes: Some(self.kind.attributes()),
            name: Some(self.name.clone()),
            kind: Some(self.kind.type_name().to_owned()),
            stream: Some(self.stream.as_str().to_owned()),
            toxicity: Some(self.toxicity),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Toxic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = ToxicWire::deserialize(deserializer)?;
        let new = NewToxic::from_wire(wire).map_err(D::Error::custom)?;
        Ok(Toxic {
            name: new.default_name(),
            stream: new.stream,
            toxicity: new.toxicity,
            kind: new.kind,
        })
    }
}

impl Serialize for NewToxic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ToxicWire {
            attributes: Some(self.kind.attributes()),
            name: self.name.clone(),
            kind: Some(self.kind.type_name().to_owned()),
            stream: Some(self.stream.as_str().to_owned()),
            toxicity: Some(self.toxicity),
        }
        .serialize(serializer)
    }
}

// === impl NewToxic ===

impl NewToxic {
    /// A toxic with Toxiproxy's defaults: generated name, toxicity 1.0.
    pub fn new(stream: Stream, kind: ToxicKind) -> Self {
        NewToxic {
            name: None,
            stream,
            toxicity: 1.0,
            kind,
        }
    }

    /// Sets the name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the toxicity.
    pub fn with_toxicity(mut self, toxicity: f32) -> Self {
        self.toxicity = toxicity;
        self
    }

    /// The name, or `<type>_<stream>` when none was given.
    pub fn default_name(&self) -> String {
        match &self.name {
            Some(name) if !name.is_empty() => name.clone(),
            _ => format!("{}_{}", self.kind.type_name(), self.stream.as_str()),
        }
    }

    /// Parses a `POST /proxies/{proxy}/toxics` body, checking in Toxiproxy's order: JSON,
    /// stream, type, then attributes (the name clash is the collection's check).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, FaultProxyError> {
        let wire: ToxicWire = serde_json::from_slice(body).map_err(FaultProxyError::BadBody)?;
        Self::from_wire(wire)
    }

    fn from_wire(wire: ToxicWire) -> Result<Self, FaultProxyError> {
        let stream = match &wire.stream {
            None => Stream::Downstream,
            Some(value) => Stream::parse(value)?,
        };
        let type_name = wire.kind.unwrap_or_default();
        let kind = ToxicKind::with_defaults(&type_name)
            .ok_or(FaultProxyError::InvalidToxicType { value: type_name })?;
        let changes = attribute_map(wire.attributes).map_err(FaultProxyError::BadBody)?;
        let kind = kind.merged(&changes).map_err(FaultProxyError::BadBody)?;
        let toxicity = check_toxicity(wire.toxicity.unwrap_or(1.0))?;
        Ok(NewToxic {
            name: wire.name.filter(|name| !name.is_empty()),
            stream,
            toxicity,
            kind,
        })
    }
}

/// Refuses a toxicity outside 0..=1 (including NaN).
pub(crate) fn check_toxicity(value: f32) -> Result<f32, FaultProxyError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(FaultProxyError::InvalidToxicity { value })
    }
}

/// Parses a JSON request body into `T`, as a 400 `bad request body` on failure.
pub(crate) fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, FaultProxyError> {
    serde_json::from_slice(body).map_err(FaultProxyError::BadBody)
}

/// A `/populate` or create entry, with Toxiproxy's required-field checks; `index` is the
/// 1-based position in a `/populate` list.
pub(crate) fn check_proxy(
    config: &ProxyConfig,
    index: Option<usize>,
) -> Result<(), FaultProxyError> {
    if config.name.is_empty() {
        return Err(FaultProxyError::MissingField {
            field: "name",
            index,
        });
    }
    if config.upstream.is_empty() {
        return Err(FaultProxyError::MissingField {
            field: "upstream",
            index,
        });
    }
    Ok(())
}

/// `ProxyConfig` with `name` and `upstream` optional, so a missing one is a 400 "missing
/// required field" rather than a JSON error.
#[derive(Deserialize)]
pub(crate) struct ProxyConfigWire {
    #[serde(default)]
    name: String,
    #[serde(default)]
    listen: String,
    #[serde(default)]
    upstream: String,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

impl From<ProxyConfigWire> for ProxyConfig {
    fn from(wire: ProxyConfigWire) -> Self {
        ProxyConfig {
            name: wire.name,
            listen: wire.listen,
            upstream: wire.upstream,
            enabled: wire.enabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::faultproxy::toxics::Latency;

    #[test]
    fn new_toxic_without_stream_name_or_toxicity_gets_toxiproxy_defaults() {
        let toxic = NewToxic::parse(br#"{"type":"latency","attributes":{"latency":5}}"#).unwrap();
        assert_eq!(toxic.stream, Stream::Downstream);
        assert_eq!(toxic.toxicity, 1.0);
        assert_eq!(toxic.default_name(), "latency_downstream");
        let expected = Latency {
            latency_ms: 5,
            jitter_ms: 0,
        };
        assert_eq!(toxic.kind, ToxicKind::Latency(expected));
    }

    #[test]
    fn new_toxic_stream_is_case_insensitive_and_flat_attributes_are_ignored() {
        let toxic =
            NewToxic::parse(br#"{"type":"latency","stream":"UpStream","latency":9}"#).unwrap();
        assert_eq!(toxic.stream, Stream::Upstream);
        assert_eq!(toxic.kind, ToxicKind::Latency(Latency::default()));
    }

    #[test]
    fn new_toxic_invalid_parts_are_rejected_in_toxiproxy_order() {
        let cases: [(&[u8], &str); 5] = [
            (b"{", "bad request body: "),
            (
                br#"{"type":"nope","stream":"sideways"}"#,
                "stream was invalid",
            ),
            (br#"{"type":"nope"}"#, "invalid toxic type"),
            (
                br#"{"type":"latency","attributes":{"latency":1.5}}"#,
                "bad request body: ",
            ),
            (
                br#"{"type":"latency","toxicity":2}"#,
                "toxicity must be between",
            ),
        ];
        for (body, message) in cases {
            let err = NewToxic::parse(body).unwrap_err();
            assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
            assert!(err.api_message().starts_with(message), "{err:?}");
        }
    }

    #[test]
    fn toxic_json_round_trips_with_all_attributes() {
        let toxic = Toxic {
            name: "slow".into(),
            stream: Stream::Upstream,
            toxicity: 0.5,
            kind: ToxicKind::Latency(Latency {
                latency_ms: 100,
                jitter_ms: 3,
            }),
        };
        let value = serde_json::to_value(&toxic).unwrap();
        assert_eq!(
            value,
            json!({"attributes":{"latency":100,"jitter":3},"name":"slow","type":"latency",
                   "stream":"upstream","toxicity":0.5})
        );
        let back: Toxic = serde_json::from_value(value).unwrap();
        assert_eq!(back, toxic);
    }

    #[test]
    fn merged_overlays_known_keys_and_keeps_the_rest() {
        let kind = ToxicKind::Latency(Latency {
            latency_ms: 100,
            jitter_ms: 3,
        });
        let changes = json!({"latency": 7, "unknown": 1});
        let merged = kind.merged(changes.as_object().unwrap()).unwrap();
        let expected = Latency {
            latency_ms: 7,
            jitter_ms: 3,
        };
        assert_eq!(merged, ToxicKind::Latency(expected));
    }
}
