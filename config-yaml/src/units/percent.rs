//! Percentages written with `%`: `50%`, `0.5%`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::UnitError;
use super::number::Kind;
use super::text;

const KIND: Kind = Kind {
    name: "percentage",
    expected: "a number from 0 to 100 followed by `%`, e.g. `50%` or `0.5%`",
    example: "50%",
};

/// A percentage from 0 to 100, written with a mandatory `%`: `50%`, `0.5%`, `100%`.
///
/// Bare numbers are rejected: `0.5` could mean `0.5%` or a ratio of one half.
///
/// ```
/// use config_yaml::units::Percent;
///
/// let p: Percent = "25%".parse().unwrap();
/// assert_eq!(p.value(), 25.0);
/// assert_eq!(p.ratio(), 0.25);
/// assert_eq!(p.to_string(), "25%");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct Percent(f64);

// === impl Percent ===

impl Percent {
    /// The percentage, from 0 to 100.
    pub fn value(self) -> f64 {
        self.0
    }

    /// The percentage as a ratio, from 0.0 to 1.0.
    pub fn ratio(self) -> f64 {
        self.0 / 100.0
    }
}

impl FromStr for Percent {
    type Err = UnitError;

    fn from_str(input: &str) -> Result<Self, UnitError> {
        let (number, unit) = KIND.split(input)?;
        let value = number.to_f64();
        match unit {
            "%" => {}
            "" => {
                let mut hint = format!("add `%`: `{}%`", number.text());
                if value <= 1.0 {
                    hint.push_str(&format!(
                        ", or `{}%` for a ratio of {}",
                        value * 100.0,
                        number.text()
                    ));
                }
                return Err(KIND.error(input, "missing `%`").with_hint(hint));
            }
            other => {
                let hint = format!("write `{}%`", number.text());
                return Err(KIND
                    .error(input, format!("unknown unit `{other}`"))
                    .with_hint(hint));
            }
        }
        if value > 100.0 {
            return Err(KIND.error(input, "more than 100%"));
        }
        Ok(Self(value))
    }
}

/// `50%`: the shortest text that parses back to the same value.
impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        text::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text::deserialize(deserializer, KIND.expected)
    }
}
