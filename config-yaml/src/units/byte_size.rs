//! Byte sizes with a mandatory unit: `512B`, `64KiB`, `1MB`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::UnitError;
use super::number::{Kind, ScaleError};
use super::text;

const KIND: Kind = Kind {
    name: "byte size",
    expected: "a number with a unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB \
               (powers of 1000), e.g. `64KiB`",
    example: "64KiB",
};

const KIB: u128 = 1 << 10;
const KB: u128 = 1_000;

/// Units from largest to smallest, with their size in bytes.
const UNITS: [(&str, u128); 9] = [
    ("TiB", KIB * KIB * KIB * KIB),
    ("TB", KB * KB * KB * KB),
    ("GiB", KIB * KIB * KIB),
    ("GB", KB * KB * KB),
    ("MiB", KIB * KIB),
    ("MB", KB * KB),
    ("KiB", KIB),
    ("kB", KB),
    ("B", 1),
];

/// A number of bytes written with a mandatory unit: `B`; `KiB`, `MiB`, `GiB`, `TiB` (powers
/// of 1024); or `kB`, `MB`, `GB`, `TB` (powers of 1000).
///
/// Decimal numbers are accepted when they come to whole bytes (`1.5KiB` is 1536 bytes).
/// Displays in the largest unit that keeps the number whole, which parses back the same.
///
/// ```
/// use config_yaml::units::ByteSize;
///
/// let b: ByteSize = "64KiB".parse().unwrap();
/// assert_eq!(b.bytes(), 65_536);
/// assert_eq!(ByteSize::new(2_000_000).to_string(), "2MB");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(u64);

// === impl ByteSize ===

impl ByteSize {
    /// A size of `bytes` bytes.
    pub const fn new(bytes: u64) -> Self {
        Self(bytes)
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;

    fn from_str(input: &str) -> Result<Self, UnitError> {
        let (number, unit) = KIND.split(input)?;
        if unit.is_empty() {
            let hint = format!(
                "add a unit, e.g. `{}B` or `{}KiB`",
                number.text(),
                number.text()
            );
            return Err(KIND.error(input, "missing unit").with_hint(hint));
        }
        let Some((_, factor)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            let hint = suggest_unit(unit, number.text());
            return Err(KIND
                .error(input, format!("unknown unit `{unit}`"))
                .with_hint(hint));
        };
        let bytes = number.scale(*factor).map_err(|e| match e {
            ScaleError::TooLarge => KIND.error(input, "too large"),
            ScaleError::TooPrecise => KIND.error(input, "not a whole number of bytes"),
        })?;
        let bytes = u64::try_from(bytes).map_err(|_| KIND.error(input, "too large"))?;
        Ok(Self(bytes))
    }
}

/// Advice for a unit that is not one of [`UNITS`], naming both readings of an ambiguous one.
fn suggest_unit(unit: &str, number: &str) -> String {
    let lower = unit.to_ascii_lowercase();
    let (decimal, binary) = match lower.trim_end_matches("ytes").trim_end_matches("yte") {
        "b" => return format!("write `{number}B`"),
        "k" | "kb" | "ki" | "kib" => ("kB", "KiB"),
        "m" | "mb" | "mi" | "mib" => ("MB", "MiB"),
        "g" | "gb" | "gi" | "gib" => ("GB", "GiB"),
        "t" | "tb" | "ti" | "tib" => ("TB", "TiB"),
        _ => return "use one of: B, KiB, MiB, GiB, TiB, kB, MB, GB, TB".to_owned(),
    };
    format!("write `{number}{binary}` (powers of 1024) or `{number}{decimal}` (powers of 1000)")
}

/// The largest unit that keeps the number whole: `64KiB`, `2MB`, `1000B`.
impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = u128::from(self.0);
        if bytes == 0 {
            return f.write_str("0B");
        }
        let (unit, factor) = UNITS
            .iter()
            .find(|(_, factor)| bytes.is_multiple_of(*factor))
            .unwrap_or(&("B", 1));
        write!(f, "{}{unit}", bytes / factor)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        text::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text::deserialize(deserializer, KIND.expected)
    }
}
