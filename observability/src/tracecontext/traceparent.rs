//! The `traceparent` header: version, trace id, parent id and flags, parsed strictly.
//!
//! Parsing follows the Recommendation's "Versioning of traceparent" rules: version `00` must be
//! exactly 55 characters; a higher version is read by its first four fields at their fixed
//! positions and may carry more data after a `-`, which is never interpreted. Every field is
//! lowercase hex; the first failed rule is reported as an [`InvalidTraceParent`] reason.

use std::fmt;
use std::ops::BitOr;
use std::str::FromStr;

use rand::Rng;

use super::ids::{SpanId, TraceId, decode_hex, write_hex};
use super::trim_ows;

/// Length of a version `00` header: `2 + 1 + 32 + 1 + 16 + 1 + 2`.
const VERSION_00_LEN: usize = 55;
/// Byte offsets of the three `-` after the version, trace id and parent id.
const TRACE_ID_START: usize = 3;
const PARENT_ID_START: usize = 36;
const FLAGS_START: usize = 53;

/// The `trace-flags` byte of `traceparent`.
///
/// Parsing keeps all eight bits as received ([`TraceFlags::bits`]). What this gateway sends
/// ([`TraceFlags::propagated`]) keeps only the bits the spec defines:
/// - `sampled` (bit 0, Level 1): the caller may have recorded the trace;
/// - `random-trace-id` (bit 1, Level 2): the right-most 7 bytes of the trace id are random.
///   Level 2 says it MUST stay set when the trace id is forwarded unchanged, so it is kept;
///   a Level 1 receiver parses any flag byte and reads only `sampled`, so keeping it is safe.
///
/// All other bits are cleared on output: both levels say "the behavior of other flags is not
/// defined and is reserved for future use. Vendors MUST set those to zero."
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TraceFlags(u8);

// === impl TraceFlags ===

impl TraceFlags {
    /// No flag set: not sampled.
    pub const NONE: TraceFlags = TraceFlags(0);
    /// Bit 0: the caller may have recorded trace data.
    pub const SAMPLED: TraceFlags = TraceFlags(0x01);
    /// Bit 1 (Level 2): the trace id's right-most 7 bytes were generated randomly.
    pub const RANDOM_TRACE_ID: TraceFlags = TraceFlags(0x02);
    /// Every bit the spec defines; the rest are sent as zero.
    const DEFINED: u8 = 0x03;

    /// Flags with exactly these bits, including undefined ones.
    pub const fn from_bits(bits: u8) -> Self {
        TraceFlags(bits)
    }

    /// All eight bits, as received or set.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether the `sampled` bit is set.
    pub const fn is_sampled(self) -> bool {
        self.0 & Self::SAMPLED.0 != 0
    }

    /// These flags with `sampled` set or cleared.
    pub const fn with_sampled(self, sampled: bool) -> Self {
        if sampled {
            TraceFlags(self.0 | Self::SAMPLED.0)
        } else {
            TraceFlags(self.0 & !Self::SAMPLED.0)
        }
    }

    /// Whether the Level 2 `random-trace-id` bit is set.
    pub const fn is_random_trace_id(self) -> bool {
        self.0 & Self::RANDOM_TRACE_ID.0 != 0
    }

    /// These flags as they may be sent: bits the spec does not define are cleared.
    pub const fn propagated(self) -> Self {
        TraceFlags(self.0 & Self::DEFINED)
    }
}

impl BitOr for TraceFlags {
    type Output = TraceFlags;

    fn bitor(self, rhs: TraceFlags) -> TraceFlags {
        TraceFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for TraceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &[self.0])
    }
}

impl fmt::Debug for TraceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceFlags({self})")
    }
}

/// A valid `traceparent`: both ids non-zero and a version other than `ff`.
///
/// The version is the one received (a higher one is kept for inspection), but the header is
/// always written as version `00`: the spec says a vendor builds the new `traceparent` with the
/// highest version it knows from the fields it understood.
///
/// ```
/// use observability::tracecontext::TraceParent;
///
/// let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
///     .parse()
///     .unwrap();
/// assert!(tp.flags().is_sampled());
/// assert_eq!(tp.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceParent {
    version: u8,
    trace_id: TraceId,
    parent_id: SpanId,
    flags: TraceFlags,
}

/// Why a `traceparent` was ignored: the first rule it broke. A bounded set, for a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum InvalidTraceParent {
    /// More than one `traceparent` header (the spec: treat as invalid, start a new trace).
    #[error("more than one traceparent header")]
    Duplicate,
    /// The version is not 2 lowercase hex characters followed by `-`.
    #[error("traceparent version is not 2 lowercase hex characters followed by '-'")]
    Version,
    /// Version `ff`, which the spec forbids.
    #[error("traceparent version ff is forbidden")]
    VersionForbidden,
    /// Version `00` not exactly 55 characters, or a higher version shorter than 55.
    #[error("traceparent has the wrong length for its version")]
    Length,
    /// A `-` is missing after the trace id or parent id, or (higher versions) the character
    /// after the flags is neither the end nor `-`.
    #[error("traceparent field is not followed by '-'")]
    Delimiter,
    /// The trace id is not 32 lowercase hex characters.
    #[error("traceparent trace-id is not 32 lowercase hex characters")]
    TraceId,
    /// The trace id is all zeros.
    #[error("traceparent trace-id is all zeros")]
    TraceIdZero,
    /// The parent id is not 16 lowercase hex characters.
    #[error("traceparent parent-id is not 16 lowercase hex characters")]
    ParentId,
    /// The parent id is all zeros.
    #[error("traceparent parent-id is all zeros")]
    ParentIdZero,
    /// The flags are not 2 lowercase hex characters.
    #[error("traceparent trace-flags is not 2 lowercase hex characters")]
    Flags,
}

// === impl TraceParent ===

impl TraceParent {
    /// The version this implementation writes.
    pub const VERSION: u8 = 0x00;

    /// A version `00` parent; fails if either id is the all-zero invalid id.
    pub fn new(
        trace_id: TraceId,
        parent_id: SpanId,
        flags: TraceFlags,
    ) -> Result<Self, InvalidTraceParent> {
        if !trace_id.is_valid() {
            return Err(InvalidTraceParent::TraceIdZero);
        }
        if !parent_id.is_valid() {
            return Err(InvalidTraceParent::ParentIdZero);
        }
        Ok(TraceParent {
            version: Self::VERSION,
            trace_id,
            parent_id,
            flags,
        })
    }

    /// Parses one header value; leading and trailing OWS (space, tab) are ignored.
    ///
    /// Works on bytes because a header value need not be UTF-8; any byte outside the grammar
    /// makes the header invalid, except in the trailing part of a higher version, which is
    /// never interpreted.
    pub fn parse(value: &[u8]) -> Result<Self, InvalidTraceParent> {
        let value = trim_ows(value);

        // "When the version prefix cannot be parsed (it's not 2 hex characters followed by a
        // dash), the implementation should restart the trace."
        let version = match (value.get(..2), value.get(2)) {
            (Some(hex), Some(b'-')) => {
                let [version] = decode_hex::<1>(hex).map_err(|_| InvalidTraceParent::Version)?;
                version
            }
            _ => return Err(InvalidTraceParent::Version),
        };
        if version == 0xff {
            return Err(InvalidTraceParent::VersionForbidden);
        }
        // Version 00 is exact; a higher version must hold at least the 00 fields ("if the size
        // of the header is shorter than 55 characters, the vendor should not parse it").
        let length_ok = if version == Self::VERSION {
            value.len() == VERSION_00_LEN
        } else {
            value.len() >= VERSION_00_LEN
        };
        if !length_ok {
            return Err(InvalidTraceParent::Length);
        }

        let field = |start: usize, end: usize| value.get(start..end).unwrap_or_default();
        let delimited = |at: usize| value.get(at) == Some(&b'-');
        if !delimited(PARENT_ID_START - 1) || !delimited(FLAGS_START - 1) {
            return Err(InvalidTraceParent::Delimiter);
        }
        let trace_id = decode_hex::<16>(field(TRACE_ID_START, PARENT_ID_START - 1))
            .map(TraceId::from_bytes)
            .map_err(|_| InvalidTraceParent::TraceId)?;
        let parent_id = decode_hex::<8>(field(PARENT_ID_START, FLAGS_START - 1))
            .map(SpanId::from_bytes)
            .map_err(|_| InvalidTraceParent::ParentId)?;
        let [flags] = decode_hex::<1>(field(FLAGS_START, VERSION_00_LEN))
            .map_err(|_| InvalidTraceParent::Flags)?;
        // Higher versions: the flags end the string or are followed by '-'; what follows is
        // the future version's business ("MUST NOT parse or assume anything about unknown
        // fields"). Version 00 already has exactly 55 characters.
        if value.len() > VERSION_00_LEN && !delimited(VERSION_00_LEN) {
            return Err(InvalidTraceParent::Delimiter);
        }

        if !trace_id.is_valid() {
            return Err(InvalidTraceParent::TraceIdZero);
        }
        if !parent_id.is_valid() {
            return Err(InvalidTraceParent::ParentIdZero);
        }
        Ok(TraceParent {
            version,
            trace_id,
            parent_id,
            flags: TraceFlags(flags),
        })
    }

    /// The version received (`00` for one built here).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The id of the caller's span.
    pub fn parent_id(&self) -> SpanId {
        self.parent_id
    }

    /// The flags, all bits as received.
    pub fn flags(&self) -> TraceFlags {
        self.flags
    }

    /// The parent for a call made from span `span_id`: same trace id, `parent-id` replaced
    /// (the spec's default mutation), flags kept (undefined bits cleared), version `00`.
    ///
    /// Fails with [`InvalidTraceParent::ParentIdZero`] if `span_id` is the invalid id (e.g. from
    /// a disabled tracer), rather than emitting a header every receiver would ignore.
    pub fn child(&self, span_id: SpanId) -> Result<Self, InvalidTraceParent> {
        TraceParent::new(self.trace_id, span_id, self.flags.propagated())
    }

    /// Like [`TraceParent::child`] with a span id drawn from `rng` and `sampled` set as given
    /// (the spec allows changing `sampled` together with `parent-id`). Infallible: `self` holds
    /// a valid trace id, and `SpanId::random_from` never returns the zero id.
    pub(crate) fn child_from_rng<R: Rng + ?Sized>(&self, rng: &mut R, sampled: bool) -> Self {
        TraceParent {
            version: Self::VERSION,
            trace_id: self.trace_id,
            parent_id: SpanId::random_from(rng),
            flags: self.flags.propagated().with_sampled(sampled),
        }
    }

    /// The root of a new trace: trace id then span id drawn from `rng`, flags
    /// `random-trace-id` plus `sampled` if `sample(trace_id)`. Infallible: `random_from` never
    /// returns a zero id.
    pub(crate) fn root_from_rng<R, F>(rng: &mut R, sample: F) -> Self
    where
        R: Rng + ?Sized,
        F: FnOnce(TraceId) -> bool,
    {
        let trace_id = TraceId::random_from(rng);
        let parent_id = SpanId::random_from(rng);
        TraceParent {
            version: Self::VERSION,
            trace_id,
            parent_id,
            flags: TraceFlags::RANDOM_TRACE_ID.with_sampled(sample(trace_id)),
        }
    }
}

/// Writes the header as this gateway sends it: version `00` whatever version was received,
/// lowercase hex, flags with undefined bits cleared.
impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}-{}-{}-{}",
            Self::VERSION,
            self.trace_id,
            self.parent_id,
            self.flags.propagated()
        )
    }
}

impl FromStr for TraceParent {
    type Err = InvalidTraceParent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceParent::parse(s.as_bytes())
    }
}

// === impl InvalidTraceParent ===

impl InvalidTraceParent {
    /// Every reason, e.g. to pre-register metric label values.
    pub const ALL: [InvalidTraceParent; 10] = [
        InvalidTraceParent::Duplicate,
        InvalidTraceParent::Version,
        InvalidTraceParent::VersionForbidden,
        InvalidTraceParent::Length,
        InvalidTraceParent::Delimiter,
        InvalidTraceParent::TraceId,
        InvalidTraceParent::TraceIdZero,
        InvalidTraceParent::ParentId,
        InvalidTraceParent::ParentIdZero,
        InvalidTraceParent::Flags,
    ];

    /// A snake_case label value, prefixed `traceparent_` so it shares a `reason` label with
    /// [`InvalidTraceState::as_str`](super::InvalidTraceState::as_str) without clashing.
    pub const fn as_str(self) -> &'static str {
        match self {
            InvalidTraceParent::Duplicate => "traceparent_duplicate",
            InvalidTraceParent::Version => "traceparent_version",
            InvalidTraceParent::VersionForbidden => "traceparent_version_forbidden",
            InvalidTraceParent::Length => "traceparent_length",
            InvalidTraceParent::Delimiter => "traceparent_delimiter",
            InvalidTraceParent::TraceId => "traceparent_trace_id",
            InvalidTraceParent::TraceIdZero => "traceparent_trace_id_zero",
            InvalidTraceParent::ParentId => "traceparent_parent_id",
            InvalidTraceParent::ParentIdZero => "traceparent_parent_id_zero",
            InvalidTraceParent::Flags => "traceparent_flags",
        }
    }
}
