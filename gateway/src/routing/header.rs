//! Header conditions a route can require (`x-canary: exact "1"`, `authorization: present`).

use http::HeaderMap;
use http::header::{HOST, HeaderName, HeaderValue};

/// One header condition of a route; a route's matchers must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMatcher {
    /// The header looked at (case-insensitive, as all header names).
    pub name: HeaderName,
    /// What its values must satisfy.
    pub rule: HeaderRule,
}

/// What a header's values must satisfy.
///
/// A header sent several times matches if **any** of its values matches (for `Absent`: if it has
/// no value at all). A comma-separated list in one value is one value: `Exact("b")` does not match
/// `x: a, b`. Values compare byte for byte, case-sensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderRule {
    /// Some value equals this text.
    Exact(String),
    /// Some value starts with this text.
    Prefix(String),
    /// The header is present, with any value.
    Present,
    /// The header is not present.
    Absent,
}

/// Why a header matcher was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderMatcherError {
    /// The name is not a valid HTTP header name.
    #[error(
        "header name `{name}` is invalid; header names are ASCII letters, digits and `!#$%&'*+-.^_|~` with no spaces or colons"
    )]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// `Host` was used; it is not a header under HTTP/2.
    #[error(
        "header `host` cannot be matched as a header (HTTP/2 carries it as `:authority`); list it under `hosts` instead"
    )]
    Host,
    /// The value to compare with could never appear in a header.
    #[error(
        "header `{name}` match value {value:?} is invalid; header values are visible ASCII, spaces and tabs"
    )]
    InvalidValue {
        /// The header name.
        name: String,
        /// The value as given.
        value: String,
    },
}

// === impl HeaderMatcher ===

impl HeaderMatcher {
    /// Validates a header name and rule: the name must be a valid header name other than `host`,
    /// and `Exact`/`Prefix` text must be a valid header value (otherwise it could never match).
    pub fn new(name: &str, rule: HeaderRule) -> Result<Self, HeaderMatcherError> {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            HeaderMatcherError::InvalidName {
                name: name.to_owned(),
            }
        })?;
        if header == HOST {
            return Err(HeaderMatcherError::Host);
        }
        if let HeaderRule::Exact(value) | HeaderRule::Prefix(value) = &rule
            && HeaderValue::from_str(value).is_err()
        {
            return Err(HeaderMatcherError::InvalidValue {
                name: name.to_owned(),
                value: value.clone(),
            });
        }
        Ok(Self { name: header, rule })
    }

    /// Whether `headers` satisfy this matcher.
    pub fn matches(&self, headers: &HeaderMap) -> bool {
        let mut values = headers.get_all(&self.name).iter();
        match &self.rule {
            HeaderRule::Exact(want) => values.any(|v| v.as_bytes() == want.as_bytes()),
            HeaderRule::Prefix(want) => values.any(|v| v.as_bytes().starts_with(want.as_bytes())),
            HeaderRule::Present => values.next().is_some(),
            HeaderRule::Absent => values.next().is_none(),
        }
    }
}
