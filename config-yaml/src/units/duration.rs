//! Durations with a mandatory unit: `250ms`, `1.5s`, `1m`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::UnitError;
use super::number::{Kind, ScaleError};
use super::text;

const KIND: Kind = Kind {
    name: "duration",
    expected: "a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`",
    example: "250ms",
};

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Units from largest to smallest, with their length in nanoseconds.
const UNITS: [(&str, u128); 5] = [
    ("h", 3_600 * NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("s", NANOS_PER_SEC),
    ("ms", 1_000_000),
    ("us", 1_000),
];

/// A length of time written with a mandatory unit: `us`, `ms`, `s`, `m` or `h`.
///
/// Accepts whole or decimal numbers (`250ms`, `1.5s`, `0s`) as long as they come to a whole
/// number of nanoseconds. Bare numbers (`5`) are rejected, since `5` could mean seconds or
/// milliseconds, as are negative values. Displays in the largest unit that keeps it whole
/// (`1500ms` → `1500ms`, `60s` → `1m`), which parses back to the same value.
///
/// ```
/// use config_yaml::units::Duration;
///
/// let d: Duration = "1.5s".parse().unwrap();
/// assert_eq!(d.get(), std::time::Duration::from_millis(1500));
/// assert_eq!(d.to_string(), "1500ms");
///
/// let e = "5".parse::<Duration>().unwrap_err();
/// assert_eq!(e.problem(), "missing unit");
/// assert_eq!(e.hint(), Some("add a unit, e.g. `5s`"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

// === impl Duration ===

impl Duration {
    /// Wraps a standard duration.
    pub const fn new(duration: std::time::Duration) -> Self {
        Self(duration)
    }

    /// The standard duration.
    pub const fn get(self) -> std::time::Duration {
        self.0
    }
}

impl From<std::time::Duration> for Duration {
    fn from(duration: std::time::Duration) -> Self {
        Self(duration)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(duration: Duration) -> Self {
        duration.0
    }
}

impl FromStr for Duration {
    type Err = UnitError;

    fn from_str(input: &str) -> Result<Self, UnitError> {
        let (number, unit) = KIND.split(input)?;
        if unit.is_empty() {
            let hint = format!("add a unit, e.g. `{}s`", number.text());
            return Err(KIND.error(input, "missing unit").with_hint(hint));
        }
        let Some((_, factor)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            let error = KIND.error(input, format!("unknown unit `{unit}`"));
            return Err(match suggest_unit(unit) {
                Ok(known) => error.with_hint(format!("write `{}{known}`", number.text())),
                Err(advice) => error.with_hint(advice),
            });
        };
        let nanos = number.scale(*factor).map_err(|e| match e {
            ScaleError::TooLarge => KIND.error(input, "too large"),
            ScaleError::TooPrecise => KIND.error(input, "more precise than a nanosecond"),
        })?;
        let secs =
            u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| KIND.error(input, "too large"))?;
        // The remainder of a division by 10^9 always fits in u32.
        let subsec = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or_default();
        Ok(Self(std::time::Duration::new(secs, subsec)))
    }
}

/// The unit meant by a common misspelling, or advice when there is no such unit.
fn suggest_unit(unit: &str) -> Result<&'static str, &'static str> {
    match unit.to_ascii_lowercase().as_str() {
        "sec" | "secs" | "second" | "seconds" | "s" => Ok("s"),
        "min" | "mins" | "minute" | "minutes" | "m" => Ok("m"),
        "hr" | "hrs" | "hour" | "hours" | "h" => Ok("h"),
        "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" | "ms" => Ok("ms"),
        "µs" | "μs" | "usec" | "usecs" | "micros" | "microsecond" | "microseconds" | "us" => {
            Ok("us")
        }
        "ns" | "nanos" | "nanosecond" | "nanoseconds" => {
            Err("nanoseconds are not supported: use `us`")
        }
        "d" | "day" | "days" => Err("days are not supported: use hours, e.g. `24h`"),
        _ => Err("use one of: us, ms, s, m, h"),
    }
}

/// The largest unit that keeps the number whole; below a microsecond, decimal microseconds.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        if let Some((unit, factor)) = UNITS
            .iter()
            .find(|(_, factor)| nanos.is_multiple_of(*factor))
        {
            return write!(f, "{}{unit}", nanos / factor);
        }
        let fraction = format!("{:03}", nanos % 1_000);
        write!(f, "{}.{}us", nanos / 1_000, fraction.trim_end_matches('0'))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        text::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text::deserialize(deserializer, KIND.expected)
    }
}
