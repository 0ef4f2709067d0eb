//! Trace and span identifiers: fixed-size byte arrays written as lowercase hex.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

/// The 16-byte id of a whole distributed trace, written as 32 lowercase hex characters.
///
/// All zeros is the invalid id ([`TraceId::INVALID`]); a `traceparent` carrying it is ignored.
///
/// ```
/// use observability::tracecontext::TraceId;
///
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// assert!(id.is_valid());
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId([u8; 16]);

/// The 8-byte id of one span (the `parent-id` field of `traceparent`), written as 16 lowercase
/// hex characters.
///
/// All zeros is the invalid id ([`SpanId::INVALID`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId([u8; 8]);

/// Why a string is not a [`TraceId`] or [`SpanId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    /// The string does not have the id's length in hex characters (32 or 16).
    #[error("expected {expected} hex characters, got {actual}")]
    Length {
        /// Hex characters the id needs.
        expected: usize,
        /// Characters received.
        actual: usize,
    },
    /// A character is not lowercase hex (`0-9a-f`); uppercase is rejected, as in the spec.
    #[error("expected lowercase hex characters (0-9, a-f)")]
    NotLowercaseHex,
}

// === impl TraceId ===

impl TraceId {
    /// The all-zero id, which the spec defines as invalid.
    pub const INVALID: TraceId = TraceId([0; 16]);

    /// The id with these bytes (big-endian, as written in hex).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        TraceId(bytes)
    }

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// Whether the id is usable: not all zeros.
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 16]
    }

    /// A fresh random id from the thread-local generator.
    pub fn random() -> Self {
        Self::random_from(&mut rand::rng())
    }

    /// A fresh random id from `rng` (seed it in tests); never the invalid id.
    ///
    /// An all-zero draw (probability 2^-128 for a working generator, certain for a stuck one)
    /// becomes `…01`, so even a broken generator cannot produce an invalid id or loop forever.
    pub fn random_from<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0; 16];
        rng.fill_bytes(&mut bytes);
        if bytes == [0; 16] {
            bytes[15] = 1;
        }
        TraceId(bytes)
    }

    /// The lower (right-most) 8 bytes as a big-endian integer: the part the ratio sampler
    /// compares (and, with the Level 2 `random-trace-id` flag, the part guaranteed random).
    pub(crate) fn low_u64(self) -> u64 {
        let [.., b8, b9, b10, b11, b12, b13, b14, b15] = self.0;
        u64::from_be_bytes([b8, b9, b10, b11, b12, b13, b14, b15])
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

/// Parses exactly 32 lowercase hex characters; the all-zero id parses (to
/// [`TraceId::INVALID`]): validity is a separate question, see [`TraceId::is_valid`].
impl FromStr for TraceId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_hex(s.as_bytes()).map(TraceId)
    }
}

impl From<TraceId> for opentelemetry::TraceId {
    fn from(id: TraceId) -> Self {
        opentelemetry::TraceId::from_bytes(id.0)
    }
}

impl From<opentelemetry::TraceId> for TraceId {
    fn from(id: opentelemetry::TraceId) -> Self {
        TraceId(id.to_bytes())
    }
}

// === impl SpanId ===

impl SpanId {
    /// The all-zero id, which the spec defines as invalid.
    pub const INVALID: SpanId = SpanId([0; 8]);

    /// The id with these bytes (big-endian, as written in hex).
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        SpanId(bytes)
    }

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// Whether the id is usable: not all zeros.
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 8]
    }

    /// A fresh random id from the thread-local generator.
    pub fn random() -> Self {
        Self::random_from(&mut rand::rng())
    }

    /// A fresh random id from `rng` (seed it in tests); never the invalid id (an all-zero draw
    /// becomes `…01`, as for [`TraceId::random_from`]).
    pub fn random_from<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0; 8];
        rng.fill_bytes(&mut bytes);
        if bytes == [0; 8] {
            bytes[7] = 1;
        }
        SpanId(bytes)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// Parses exactly 16 lowercase hex characters; the all-zero id parses (to
/// [`SpanId::INVALID`]).
impl FromStr for SpanId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_hex(s.as_bytes()).map(SpanId)
    }
}

impl From<SpanId> for opentelemetry::SpanId {
    fn from(id: SpanId) -> Self {
        opentelemetry::SpanId::from_bytes(id.0)
    }
}

impl From<opentelemetry::SpanId> for SpanId {
    fn from(id: opentelemetry::SpanId) -> Self {
        SpanId(id.to_bytes())
    }
}

// === lowercase hex ===

/// Decodes exactly `2 * N` lowercase hex characters into `N` bytes.
pub(crate) fn decode_hex<const N: usize>(src: &[u8]) -> Result<[u8; N], ParseIdError> {
    if src.len() != 2 * N {
        return Err(ParseIdError::Length {
            expected: 2 * N,
            actual: src.len(),
        });
    }
    let mut out = [0; N];
    for (byte, pair) in out.iter_mut().zip(src.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (pair.first(), pair.get(1)) else {
            return Err(ParseIdError::NotLowercaseHex);
        };
        *byte = (hex_value(*hi)? << 4) | hex_value(*lo)?;
    }
    Ok(out)
}

/// The value of one lowercase hex digit; `A-F` is rejected (the spec's `HEXDIGLC`).
fn hex_value(c: u8) -> Result<u8, ParseIdError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(ParseIdError::NotLowercaseHex),
    }
}

/// Writes `bytes` as lowercase hex, two characters per byte.
pub(crate) fn write_hex(f: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}
