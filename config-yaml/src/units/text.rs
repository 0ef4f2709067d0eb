//! How unit-bearing values travel through serde: as their text form, both ways.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

use super::UnitError;

/// Serializes `value` as its `Display` text.
pub(super) fn serialize<S: Serializer>(
    value: &impl fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Deserializes a `T` from its text.
///
/// Asks for `any` rather than `str` so a bare number (`5`) reaches `T`'s parser and gets its
/// message ("missing unit", with a hint) instead of a bare "invalid type", also where serde
/// buffers values (internally tagged and untagged enums) and has lost the text as written.
pub(super) fn deserialize<'de, D, T>(deserializer: D, expected: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = UnitError>,
{
    deserializer.deserialize_any(TextVisitor {
        expected,
        marker: PhantomData,
    })
}

struct TextVisitor<T> {
    expected: &'static str,
    marker: PhantomData<T>,
}

impl<T: FromStr<Err = UnitError>> TextVisitor<T> {
    fn parse<E: de::Error>(text: &str) -> Result<T, E> {
        text.parse().map_err(|error: UnitError| {
            // Lets this crate's deserializer keep `expected` and `hint` apart; any other
            // deserializer just shows the message.
            crate::de::stash_unit_error(error.clone());
            E::custom(error)
        })
    }
}

impl<T: FromStr<Err = UnitError>> Visitor<'_> for TextVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        Self::parse(text)
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<T, E> {
        Self::parse(&number.to_string())
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<T, E> {
        Self::parse(&number.to_string())
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<T, E> {
        Self::parse(&number.to_string())
    }
}
