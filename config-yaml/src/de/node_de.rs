//! The `serde::Deserializer` for one node, tracking the node's field path.

use serde::de::{self, Expected, Visitor};

use crate::FieldPath;
use crate::node::{Node, NodeKind, Scalar};
use crate::scalar::{Resolved, resolve_plain};
use crate::suggest::one_of;

use super::Ctx;
use super::access::{EnumDe, MapDe, SeqDe};
use super::error::{Error, Problem, Value};

/// Deserializes one node; errors leaving it are attributed to it (see [`Error::leaving`]).
pub(crate) struct NodeDe<'de> {
    pub(crate) node: &'de Node,
    pub(crate) path: FieldPath,
    pub(crate) ctx: &'de Ctx<'de>,
}

// === impl NodeDe ===

impl<'de> NodeDe<'de> {
    pub(crate) fn new(node: &'de Node, path: FieldPath, ctx: &'de Ctx<'de>) -> Self {
        Self { node, path, ctx }
    }

    fn finish<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        result.map_err(|error| error.leaving(self.node, &self.path, self.ctx))
    }

    /// A located problem about this node.
    pub(crate) fn problem(&self, problem: Problem) -> Error {
        Error::problem(problem.located(self.node, &self.path))
    }

    fn invalid_type(&self, expected: &dyn Expected) -> Error {
        let value = Value::Given(self.node.describe());
        self.problem(Problem::new(value, "invalid type").expected(expected))
    }

    /// Like [`Self::invalid_type`], with a hint when the scalar unquoted would have been right.
    fn not_a(&self, wanted: fn(Resolved) -> bool, expected: &dyn Expected) -> Error {
        let value = Value::Given(self.node.describe());
        let problem = Problem::new(value, "invalid type").expected(expected);
        let problem = match self.node.as_scalar() {
            Some(scalar) if scalar.quoted && wanted(resolve_plain(&scalar.text)) => {
                problem.hint("quoted values are always strings: remove the quotes")
            }
            _ => problem,
        };
        self.problem(problem)
    }

    fn scalar(&self, expected: &dyn Expected) -> Result<&'de Scalar, Error> {
        self.node
            .as_scalar()
            .ok_or_else(|| self.invalid_type(expected))
    }

    /// The text of a non-null scalar: what string-like types accept.
    fn text(&self, expected: &dyn Expected) -> Result<&'de str, Error> {
        match self.scalar(expected)? {
            scalar if !scalar.quoted && scalar.resolve() == Resolved::Null => {
                Err(self.invalid_type(expected))
            }
            scalar => Ok(&scalar.text),
        }
    }

    fn integer(&self, expected: &dyn Expected, range: &dyn Fn() -> String) -> Result<i128, Error> {
        match self.scalar(expected)?.resolve() {
            Resolved::Int(value) => Ok(value),
            Resolved::IntOutOfRange => Err(self.out_of_range(range)),
            _ => Err(self.not_a(|r| matches!(r, Resolved::Int(_)), expected)),
        }
    }

    fn out_of_range(&self, range: &dyn Fn() -> String) -> Error {
        let value = Value::Given(self.node.describe());
        let mut problem = Problem::new(value, "integer out of range");
        problem.expected = Some(range());
        self.problem(problem)
    }

    fn float(&self, expected: &dyn Expected) -> Result<f64, Error> {
        let scalar = self.scalar(expected)?;
        match scalar.resolve() {
            Resolved::Float(value) => Ok(value),
            // Every integer is also a valid float, rounded to the nearest one if need be.
            Resolved::Int(value) => Ok(value as f64),
            Resolved::IntOutOfRange => scalar
                .text
                .parse::<f64>()
                .map_err(|_| self.invalid_type(expected)),
            _ => Err(self.not_a(
                |r| matches!(r, Resolved::Int(_) | Resolved::Float(_)),
                expected,
            )),
        }
    }
}

macro_rules! deserialize_integer {
    ($($method:ident => $visit:ident($ty:ty),)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let range = || format!("an integer from {} to {}", <$ty>::MIN, <$ty>::MAX);
            let value = self.integer(&visitor, &range)?;
            let value = <$ty>::try_from(value).map_err(|_| self.out_of_range(&range))?;
            self.finish(visitor.$visit(value))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'de> {
    type Error = Error;

    /// The YAML 1.2 core schema: plain scalars become null, bools, numbers or strings;
    /// quoted ones are always strings.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match &self.node.kind {
            NodeKind::Scalar(scalar) => match scalar.resolve() {
                Resolved::Null => visitor.visit_unit(),
                Resolved::Bool(value) => visitor.visit_bool(value),
                Resolved::Int(value) => match (u64::try_from(value), i64::try_from(value)) {
                    (Ok(value), _) => visitor.visit_u64(value),
                    (_, Ok(value)) => visitor.visit_i64(value),
                    _ if value >= 0 => visitor.visit_u128(value.unsigned_abs()),
                    _ => visitor.visit_i128(value),
                },
                Resolved::IntOutOfRange => {
                    return Err(self.out_of_range(&|| "a 128-bit integer".to_owned()));
                }
                Resolved::Float(value) => visitor.visit_f64(value),
                Resolved::Str => visitor.visit_borrowed_str(&scalar.text),
            },
            NodeKind::Sequence(items) => return self.visit_seq(items, visitor),
            NodeKind::Mapping(entries) => visitor.visit_map(MapDe::new(entries, &self, None)),
        };
        self.finish(result)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.scalar(&visitor)?.resolve() {
            Resolved::Bool(value) => self.finish(visitor.visit_bool(value)),
            _ => Err(self.not_a(|r| matches!(r, Resolved::Bool(_)), &visitor)),
        }
    }

    deserialize_integer! {
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_i128 => visit_i128(i128),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
        deserialize_u128 => visit_u128(u128),
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = self.float(&visitor)?;
        // NOTE: values beyond f32's range become infinite, as with `as` everywhere in Rust.
        self.finish(visitor.visit_f32(value as f32))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = self.float(&visitor)?;
        self.finish(visitor.visit_f64(value))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let text = self.text(&visitor)?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => self.finish(visitor.visit_char(c)),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    /// Any non-null scalar's text, so `port: 8080` fits a `String` field.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let text = self.text(&visitor)?;
        self.finish(visitor.visit_borrowed_str(text))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            self.finish(visitor.visit_none())
        } else {
            // Errors inside are located by the inner call, on this same node.
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            self.finish(visitor.visit_unit())
        } else {
            Err(self.invalid_type(&visitor))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            NodeKind::Sequence(items) => self.visit_seq(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    /// Every key is accepted: maps have no fixed key set, and structs with
    /// `#[serde(flatten)]` come here too, handing unknown keys to the flattened field.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            NodeKind::Mapping(entries) => {
                let result = visitor.visit_map(MapDe::new(entries, &self, None));
                self.finish(result)
            }
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    /// Keys outside `fields` are reported as unknown and never reach the visitor.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.kind {
            NodeKind::Mapping(entries) => {
                let result = visitor.visit_map(MapDe::new(entries, &self, Some(fields)));
                self.finish(result)
            }
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    /// Externally tagged: `variant` for unit variants, `variant: content` otherwise.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let access = match &self.node.kind {
            NodeKind::Scalar(scalar) if !self.node.is_null() => EnumDe {
                parent: &self,
                variant: self.node,
                name: &scalar.text,
                content: None,
            },
            NodeKind::Mapping(entries) => match entries.as_slice() {
                [entry] => EnumDe {
                    parent: &self,
                    variant: &entry.key,
                    name: entry.key_text(),
                    content: Some(&entry.value),
                },
                _ => {
                    let problem = format!(
                        "expected a single key naming the variant, found {} keys",
                        entries.len()
                    );
                    let mut problem = Problem::new(Value::None, problem);
                    problem.expected = Some(one_of(variants));
                    return Err(self.problem(problem));
                }
            },
            _ => return Err(self.invalid_type(&visitor)),
        };
        let result = visitor.visit_enum(access);
        self.finish(result)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

impl<'de> NodeDe<'de> {
    fn visit_seq<V: Visitor<'de>>(
        &self,
        items: &'de [Node],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let expected = (&visitor as &dyn Expected).to_string();
        let mut access = SeqDe::new(items, self);
        let value = visitor.visit_seq(&mut access);
        let value = self.finish(value)?;
        // Fixed-size visitors (tuples) stop reading early; extra elements are a mistake.
        match access.remaining() {
            0 => Ok(value),
            extra => {
                let problem = format!("too many elements ({} more than expected)", extra);
                let mut problem = Problem::new(Value::None, problem);
                problem.expected = Some(expected);
                Err(self.problem(problem))
            }
        }
    }
}
