//! The `tracestate` header: an ordered list of vendor `key=value` entries, all or nothing.
//!
//! Grammar: the Level 1 Recommendation's (2021). A key is a simple key
//! `[a-z][a-z0-9_\-*/]{0,255}` or a multi-tenant key `tenant@system`, with tenant
//! `[a-z0-9][a-z0-9_\-*/]{0,240}` and system `[a-z][a-z0-9_\-*/]{0,13}`. A value is 1 to 256
//! printable ASCII characters (0x20-0x7E) other than `,` and `=`, not ending in a space; leading
//! spaces belong to the value. The Level 2 draft loosens keys (digit first, `@` anywhere after
//! the first character); the published W3C test suite still checks the Level 1 form, as we do.
//!
//! Parsing is all or nothing: one bad member, a duplicate key or more than 32 members discards
//! the whole list (the test suite expects the header dropped; truncating would forward entries
//! whose neighbours we silently lost). Length is only limited on output, per the spec's
//! truncation rule (see [`TraceState::truncated`]).

use std::fmt;
use std::str::FromStr;

use super::trim_ows;

/// An ordered list of vendor entries, left-most first (the left-most vendor wrote the
/// `traceparent`). Always valid: at most [`TraceState::MAX_MEMBERS`] members, unique keys,
/// every key and value in the spec's grammar.
///
/// ```
/// use observability::tracecontext::TraceState;
///
/// let state: TraceState = "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7".parse().unwrap();
/// let ours = state.with_entry("rojo", "b9c7c989f97918e1").unwrap();
/// assert_eq!(ours.to_string(), "rojo=b9c7c989f97918e1,congo=t61rcWkgMzE");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceState {
    members: Vec<Member>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Member {
    key: String,
    value: String,
}

/// Why a `tracestate` was discarded: the first rule it broke. A bounded set, for a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum InvalidTraceState {
    /// A non-empty list member without `=`.
    #[error("tracestate list member has no '='")]
    Member,
    /// A key outside the grammar (characters, length, `@` form).
    #[error("tracestate key is not a valid simple or multi-tenant key")]
    Key,
    /// A value outside the grammar: empty, over 256 characters, a character outside 0x20-0x7E,
    /// `,` or `=`, or a trailing space.
    #[error("tracestate value is empty, too long or has a forbidden character")]
    Value,
    /// More than 32 list members.
    #[error("tracestate has more than 32 list members")]
    TooManyMembers,
    /// The same key twice.
    #[error("tracestate has a duplicate key")]
    DuplicateKey,
}

// === impl TraceState ===

impl TraceState {
    /// Most list members a `tracestate` may have.
    pub const MAX_MEMBERS: usize = 32;
    /// Longest header this gateway sends, in characters including commas: the spec's "SHOULD
    /// propagate at least 512 characters".
    pub const MAX_PROPAGATED_LEN: usize = 512;
    /// Members longer than this (`key=value`, in characters) are dropped first on truncation.
    pub const LONG_MEMBER_LEN: usize = 128;

    /// An empty list.
    pub fn new() -> Self {
        TraceState::default()
    }

    /// Parses one header value (see [`TraceState::parse_header_values`]).
    pub fn parse(value: &str) -> Result<Self, InvalidTraceState> {
        Self::parse_header_values([value.as_bytes()])
    }

    /// Parses the values of all `tracestate` headers of a request, in order, as one list (the
    /// spec combines multiple fields per RFC 9110, i.e. joined with `,`).
    ///
    /// Members are separated by `,` with optional spaces or tabs around each; empty and
    /// whitespace-only members (and empty headers) are ignored.
    pub fn parse_header_values<'a, I>(values: I) -> Result<Self, InvalidTraceState>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut members: Vec<Member> = Vec::new();
        let raw_members = values
            .into_iter()
            .flat_map(|value| value.split(|&b| b == b','))
            .map(trim_ows)
            .filter(|member| !member.is_empty());
        for raw in raw_members {
            let member = Member::parse(raw)?;
            if members.len() == Self::MAX_MEMBERS {
                return Err(InvalidTraceState::TooManyMembers);
            }
            if members.iter().any(|m| m.key == member.key) {
                return Err(InvalidTraceState::DuplicateKey);
            }
            members.push(member);
        }
        Ok(TraceState { members })
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value.as_str())
    }

    /// The entries as `(key, value)`, left-most first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.members
            .iter()
            .map(|m| (m.key.as_str(), m.value.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// This list with `key=value` at the front (left), per the spec's mutation rules: an
    /// existing entry for `key` is removed from its place ("modified keys MUST be moved to the
    /// beginning"), the others keep their order. If that makes 33 entries, the right-most is
    /// dropped ("entries SHOULD be removed starting from the end").
    ///
    /// Fails with [`InvalidTraceState::Key`] or [`InvalidTraceState::Value`] if the entry is
    /// outside the grammar; `self` is unchanged either way.
    pub fn with_entry(&self, key: &str, value: &str) -> Result<Self, InvalidTraceState> {
        let member = Member::new(key, value)?;
        let members = std::iter::once(member)
            .chain(self.members.iter().filter(|m| m.key != key).cloned())
            .take(Self::MAX_MEMBERS)
            .collect();
        Ok(TraceState { members })
    }

    /// This list without the entry for `key` (the spec lets a vendor delete its own entry;
    /// deleting others' breaks their correlation).
    pub fn without_entry(&self, key: &str) -> Self {
        let members = self.members.iter().filter(|m| m.key != key).cloned();
        TraceState {
            members: members.collect(),
        }
    }

    /// This list cut to at most `max_len` characters when written, by the spec's rule: only
    /// whole entries are removed; while too long, the right-most entry longer than
    /// [`TraceState::LONG_MEMBER_LEN`] is removed, and once none is left, the right-most entry.
    /// Only as many entries as needed are removed.
    pub fn truncated(&self, max_len: usize) -> Self {
        let mut members = self.members.clone();
        while header_len(&members) > max_len {
            let long = members
                .iter()
                .rposition(|m| m.len() > Self::LONG_MEMBER_LEN);
            match long {
                Some(index) => {
                    members.remove(index);
                }
                None => {
                    members.pop();
                }
            }
        }
        TraceState { members }
    }

    /// The header value this gateway sends: [truncated](TraceState::truncated) to
    /// [`TraceState::MAX_PROPAGATED_LEN`], `None` when nothing is left (the spec: vendors
    /// SHOULD avoid sending an empty `tracestate`).
    pub fn header_value(&self) -> Option<String> {
        let state = self.truncated(Self::MAX_PROPAGATED_LEN);
        (!state.is_empty()).then(|| state.to_string())
    }
}

/// Length of the members joined with `,`.
fn header_len(members: &[Member]) -> usize {
    let commas = members.len().saturating_sub(1);
    members.iter().map(Member::len).sum::<usize>() + commas
}

/// All entries joined with `,`, without truncation (see [`TraceState::header_value`]).
impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.members.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", m.key, m.value)?;
        }
        Ok(())
    }
}

impl FromStr for TraceState {
    type Err = InvalidTraceState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceState::parse(s)
    }
}

// === impl Member ===

impl Member {
    fn new(key: &str, value: &str) -> Result<Self, InvalidTraceState> {
        if !valid_key(key.as_bytes()) {
            return Err(InvalidTraceState::Key);
        }
        if !valid_value(value.as_bytes()) {
            return Err(InvalidTraceState::Value);
        }
        Ok(Member {
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }

    /// Parses a trimmed, non-empty `key=value`; the value may not contain `=`, so the first
    /// `=` separates them.
    fn parse(raw: &[u8]) -> Result<Self, InvalidTraceState> {
        let eq = raw
            .iter()
            .position(|&b| b == b'=')
            .ok_or(InvalidTraceState::Member)?;
        let (key, value) = raw.split_at(eq);
        let value = value.get(1..).unwrap_or_default();
        // Both checks pass only for ASCII, so the conversions cannot fail.
        let key = std::str::from_utf8(key).map_err(|_| InvalidTraceState::Key)?;
        let value = std::str::from_utf8(value).map_err(|_| InvalidTraceState::Value)?;
        Member::new(key, value)
    }

    /// Characters in `key=value`.
    fn len(&self) -> usize {
        self.key.len() + 1 + self.value.len()
    }
}

fn is_lcalpha(b: u8) -> bool {
    b.is_ascii_lowercase()
}

fn is_keychar(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
}

/// One `first` character then `keychar`s, `max_len` characters at most.
fn valid_identifier(id: &[u8], first: fn(u8) -> bool, max_len: usize) -> bool {
    match id.split_first() {
        Some((&head, rest)) => {
            id.len() <= max_len && first(head) && rest.iter().all(|&b| is_keychar(b))
        }
        None => false,
    }
}

/// A simple key (up to 256) or a multi-tenant key: tenant (up to 241) `@` system (up to 14).
fn valid_key(key: &[u8]) -> bool {
    match key.iter().position(|&b| b == b'@') {
        None => valid_identifier(key, is_lcalpha, 256),
        Some(at) => {
            let (tenant, system) = key.split_at(at);
            let system = system.get(1..).unwrap_or_default();
            let tenant_first = |b: u8| is_lcalpha(b) || b.is_ascii_digit();
            // `system` may not hold another '@': keychar excludes it.
            valid_identifier(tenant, tenant_first, 241) && valid_identifier(system, is_lcalpha, 14)
        }
    }
}

/// 1 to 256 of 0x20-0x7E except `,` and `=`, the last not a space.
fn valid_value(value: &[u8]) -> bool {
    let allowed = |b: &u8| matches!(b, 0x20..=0x7e) && *b != b',' && *b != b'=';
    !value.is_empty()
        && value.len() <= 256
        && value.iter().all(allowed)
        && value.last() != Some(&b' ')
}

// === impl InvalidTraceState ===

impl InvalidTraceState {
    /// Every reason, e.g. to pre-register metric label values.
    pub const ALL: [InvalidTraceState; 5] = [
        InvalidTraceState::Member,
        InvalidTraceState::Key,
        InvalidTraceState::Value,
        InvalidTraceState::TooManyMembers,
        InvalidTraceState::DuplicateKey,
    ];

    /// A snake_case label value, prefixed `tracestate_` (see
    /// [`InvalidTraceParent::as_str`](super::InvalidTraceParent::as_str)).
    pub const fn as_str(self) -> &'static str {
        match self {
            InvalidTraceState::Member => "tracestate_member",
            InvalidTraceState::Key => "tracestate_key",
            InvalidTraceState::Value => "tracestate_value",
            InvalidTraceState::TooManyMembers => "tracestate_too_many_members",
            InvalidTraceState::DuplicateKey => "tracestate_duplicate_key",
        }
    }
}
