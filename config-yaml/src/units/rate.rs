//! Rates per unit of time: `200/s`, `30/m`, `100/h`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::UnitError;
use super::number::Kind;
use super::text;

const KIND: Kind = Kind {
    name: "rate",
    expected: "a number above zero per `/s`, `/m` or `/h`, e.g. `200/s`",
    example: "200/s",
};

/// Units with their length in seconds.
const UNITS: [(&str, f64); 3] = [("/s", 1.0), ("/m", 60.0), ("/h", 3_600.0)];

/// A number of events per second (`/s`), minute (`/m`) or hour (`/h`), above zero.
///
/// Keeps the unit it was written with, so it displays back the same way.
///
/// ```
/// use config_yaml::units::Rate;
///
/// let r: Rate = "30/m".parse().unwrap();
/// assert_eq!(r.per_second(), 0.5);
/// assert_eq!(r.to_string(), "30/m");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    value: f64,
    unit: &'static str,
    seconds: f64,
}

// === impl Rate ===

impl Rate {
    /// Events per second.
    pub fn per_second(self) -> f64 {
        self.value / self.seconds
    }
}

impl FromStr for Rate {
    type Err = UnitError;

    fn from_str(input: &str) -> Result<Self, UnitError> {
        let (number, unit) = KIND.split(input)?;
        if unit.is_empty() {
            let hint = format!("add a unit, e.g. `{}/s`", number.text());
            return Err(KIND.error(input, "missing unit").with_hint(hint));
        }
        let Some(&(unit, seconds)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            let error = KIND.error(input, format!("unknown unit `{unit}`"));
            return Err(match suggest_unit(unit) {
                Some(known) => error.with_hint(format!("write `{}{known}`", number.text())),
                None => error.with_hint("use one of: /s, /m, /h"),
            });
        };
        if number.is_zero() {
            return Err(KIND.error(input, "must be above zero"));
        }
        Ok(Self {
            value: number.to_f64(),
            unit,
            seconds,
        })
    }
}

/// The unit meant by a common misspelling.
fn suggest_unit(unit: &str) -> Option<&'static str> {
    match unit.to_ascii_lowercase().as_str() {
        "/sec" | "/second" | "rps" | "/s" | "s" => Some("/s"),
        "/min" | "/minute" | "/m" | "m" => Some("/m"),
        "/hr" | "/hour" | "/h" | "h" => Some("/h"),
        _ => None,
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.value, self.unit)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        text::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text::deserialize(deserializer, KIND.expected)
    }
}
