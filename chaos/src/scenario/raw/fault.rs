//! The YAML shape of a fault entry: the common keys and its kind keys, with every parameter
//! kept as written ([`RawParam`]) for the catalog-driven checks in `params`.

use std::fmt;

use config_yaml::units::Duration;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::scenario::catalog::Kind;

/// One fault entry: the common keys, every kind key written (with its body), and every other
/// key (reported as unknown in `validate`, with the kinds in the list of allowed keys).
#[derive(Debug, Default)]
pub(crate) struct RawFault {
    pub(crate) name: Option<String>,
    pub(crate) at: Option<Duration>,
    pub(crate) for_: Option<Duration>,
    pub(crate) until: Option<String>,
    pub(crate) kinds: Vec<(Kind, RawParam)>,
    pub(crate) unknown: Vec<String>,
}

/// The keys of a fault entry other than its kind.
pub(crate) const FAULT_KEYS: [&str; 4] = ["name", "at", "for", "until"];

impl<'de> Deserialize<'de> for RawFault {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FaultVisitor;

        impl<'de> Visitor<'de> for FaultVisitor {
            type Value = RawFault;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fault: a mapping with name, at, for or until, and one fault kind")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFault, A::Error> {
                let mut fault = RawFault::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => fault.name = Some(map.next_value()?),
                        "at" => fault.at = Some(map.next_value()?),
                        "for" => fault.for_ = Some(map.next_value()?),
                        "until" => fault.until = Some(map.next_value()?),
                        other => match Kind::from_name(other) {
                            Some(kind) => fault.kinds.push((kind, map.next_value()?)),
                            None => {
                                map.next_value::<IgnoredAny>()?;
                                fault.unknown.push(key);
                            }
                        },
                    }
                }
                Ok(fault)
            }
        }

        deserializer.deserialize_map(FaultVisitor)
    }
}

/// Any YAML value, kept as written for the catalog-driven parameter checks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawParam {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<RawParam>),
    Map(Vec<(String, RawParam)>),
}

impl<'de> Deserialize<'de> for RawParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamVisitor;

        impl<'de> Visitor<'de> for ParamVisitor {
            type Value = RawParam;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }

            fn visit_unit<E: de::Error>(self) -> Result<RawParam, E> {
                Ok(RawParam::Null)
            }

            fn visit_none<E: de::Error>(self) -> Result<RawParam, E> {
                Ok(RawParam::Null)
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawParam, E> {
                Ok(RawParam::Bool(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawParam, E> {
                Ok(RawParam::Int(i128::from(v)))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawParam, E> {
                Ok(RawParam::Int(i128::from(v)))
            }

            fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawParam, E> {
                Ok(RawParam::Int(v))
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawParam, E> {
                Ok(RawParam::Int(i128::try_from(v).unwrap_or(i128::MAX)))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawParam, E> {
                Ok(RawParam::Float(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawParam, E> {
                Ok(RawParam::Str(v.to_owned()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawParam, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawParam::Seq(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawParam, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, RawParam>()? {
                    entries.push((key, value));
                }
                Ok(RawParam::Map(entries))
            }
        }

        deserializer.deserialize_any(ParamVisitor)
    }
}
