//! The upstream's name: validated once, then used as a header value and as the default seed.

use std::fmt;
use std::str::FromStr;

use http::HeaderValue;
use thiserror::Error;

/// Longest accepted name; names end up in headers, logs and metric labels.
const MAX_LEN: usize = 64;

/// A validated upstream name: 1 to 64 characters from `A-Z a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpstreamName {
    header: HeaderValue,
    text: String,
}

/// A `--name` value outside the allowed characters or length.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("upstream name {name:?} must be 1 to {MAX_LEN} characters from A-Z a-z 0-9 . _ -")]
pub(crate) struct InvalidName {
    name: String,
}

// === impl UpstreamName ===

impl UpstreamName {
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The name as an `x-upstream` header value (validated at construction, so no copy can fail).
    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.header
    }

    /// The seed used when `--seed` is absent: 64-bit FNV-1a of the name.
    ///
    /// FNV-1a rather than std's `DefaultHasher`, whose output may change between Rust
    /// releases; a drill must replay the same way on any toolchain.
    pub(crate) fn default_seed(&self) -> u64 {
        const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        self.text.bytes().fold(OFFSET_BASIS, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        })
    }
}

impl FromStr for UpstreamName {
    type Err = InvalidName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let invalid = || InvalidName {
            name: name.to_owned(),
        };
        if name.is_empty() || name.len() > MAX_LEN || !name.chars().all(allowed) {
            return Err(invalid());
        }
        let header = HeaderValue::from_str(name).map_err(|_| invalid())?;
        Ok(UpstreamName {
            header,
            text: name.to_owned(),
        })
    }
}

impl fmt::Display for UpstreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_with_allowed_characters_is_accepted() {
        let name: UpstreamName = "users-a_1.v2".parse().unwrap();
        assert_eq!(name.as_str(), "users-a_1.v2");
        assert_eq!(name.header_value(), "users-a_1.v2");
    }

    #[test]
    fn name_empty_too_long_or_with_other_characters_is_rejected() {
        let long = "a".repeat(MAX_LEN + 1);
        for bad in ["", "has space", "ünïcode", "a/b", long.as_str()] {
            let err = bad.parse::<UpstreamName>().unwrap_err();
            assert_eq!(err, InvalidName { name: bad.into() });
        }
        let longest = "a".repeat(MAX_LEN);
        assert_eq!(longest.parse::<UpstreamName>().unwrap().as_str(), longest);
    }

    #[test]
    fn default_seed_is_fnv1a_of_the_name() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(
            "a".parse::<UpstreamName>().unwrap().default_seed(),
            0xaf63_dc4c_8601_ec8c
        );
        assert_eq!(
            "foobar".parse::<UpstreamName>().unwrap().default_seed(),
            0x8594_4171_f739_67e8
        );
    }
}
