//! Host patterns (`api.example.com`, `*.example.com`) and the request's host.

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use http::header::HOST;
use http::{HeaderMap, Uri};

/// Longest host name DNS allows (RFC 1035 §2.3.4, without the trailing dot).
const MAX_HOST_LEN: usize = 253;
/// Longest DNS label.
const MAX_LABEL_LEN: usize = 63;

/// A validated host a route applies to: an exact name or a leading wildcard.
///
/// * `api.example.com` matches exactly that host.
/// * `*.example.com` matches one **or more** labels in front of `.example.com`
///   (`a.example.com`, `a.b.example.com`) but **not** `example.com` itself; list both
///   patterns to cover the apex too.
///
/// Matching ignores ASCII case: patterns are stored lowercase. A pattern never carries a port
/// (the port a request arrived on is not part of routing). IPv6 literals are written in
/// brackets (`[2001:db8::1]`) and compared in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern {
    /// The lowercase pattern text, including the leading `*.` for wildcards.
    pattern: Box<str>,
    wildcard: bool,
}

/// Why a host pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostPatternError {
    /// The pattern was empty.
    #[error("host pattern is empty; expected a host like `api.example.com` or `*.example.com`")]
    Empty,
    /// A bare `*` was given.
    #[error("host pattern `*` is not allowed; leave `hosts` empty to match any host")]
    BareWildcard,
    /// The pattern carries a port.
    #[error(
        "host pattern `{pattern}` contains a port; hosts are matched without ports, remove `:{port}`"
    )]
    Port {
        /// The pattern as given.
        pattern: String,
        /// The text after the colon.
        port: String,
    },
    /// A `*` appears somewhere other than as the whole first label.
    #[error(
        "host pattern `{pattern}` has a misplaced `*`; a wildcard must be the whole first label, as in `*.example.com`"
    )]
    MisplacedWildcard {
        /// The pattern as given.
        pattern: String,
    },
    /// A character outside letters, digits, `-`, `_` and `.`.
    #[error(
        "host pattern `{pattern}` contains {ch:?}; host names allow ASCII letters, digits, `-`, `_` and `.`"
    )]
    InvalidCharacter {
        /// The pattern as given.
        pattern: String,
        /// The first offending character.
        ch: char,
    },
    /// Two dots in a row, or a leading or trailing dot.
    #[error(
        "host pattern `{pattern}` has an empty label (leading, trailing or doubled `.`); write labels separated by single dots"
    )]
    EmptyLabel {
        /// The pattern as given.
        pattern: String,
    },
    /// A label or the whole name is longer than DNS allows.
    #[error(
        "host pattern `{pattern}` is too long; DNS allows at most 63 characters per label and 253 in total"
    )]
    TooLong {
        /// The pattern as given.
        pattern: String,
    },
    /// A bracketed IPv6 literal that does not parse.
    #[error("host pattern `{pattern}` is not a valid bracketed IPv6 address like `[2001:db8::1]`")]
    InvalidIpv6 {
        /// The pattern as given.
        pattern: String,
    },
}

// === impl HostPattern ===

impl HostPattern {
    /// Parses and validates a host pattern; see the type docs for the accepted forms.
    pub fn parse(pattern: &str) -> Result<Self, HostPatternError> {
        if pattern.is_empty() {
            return Err(HostPatternError::Empty);
        }
        if pattern == "*" {
            return Err(HostPatternError::BareWildcard);
        }
        if let Some(inner) = pattern.strip_prefix('[') {
            // Brackets only ever hold an IPv6 literal; anything after `]` is a port or junk.
            return match inner.split_once(']') {
                Some((addr, "")) => match addr.parse::<Ipv6Addr>() {
                    Ok(addr) => Ok(Self {
                        pattern: format!("[{addr}]").into(),
                        wildcard: false,
                    }),
                    Err(_) => Err(HostPatternError::InvalidIpv6 {
                        pattern: pattern.to_owned(),
                    }),
                },
                Some((_, rest)) if rest.starts_with(':') => Err(HostPatternError::Port {
                    pattern: pattern.to_owned(),
                    port: rest.trim_start_matches(':').to_owned(),
                }),
                _ => Err(HostPatternError::InvalidIpv6 {
                    pattern: pattern.to_owned(),
                }),
            };
        }
        if pattern.matches(':').count() > 1 {
            return Err(HostPatternError::InvalidIpv6 {
                pattern: pattern.to_owned(),
            });
        }
        if let Some((_, port)) = pattern.rsplit_once(':') {
            return Err(HostPatternError::Port {
                pattern: pattern.to_owned(),
                port: port.to_owned(),
            });
        }
        let (wildcard, name) = match pattern.strip_prefix("*.") {
            Some(suffix) => (true, suffix),
            None => (false, pattern),
        };
        if name.contains('*') {
            return Err(HostPatternError::MisplacedWildcard {
                pattern: pattern.to_owned(),
            });
        }
        check_host_name(name).map_err(|problem| problem.into_error(pattern))?;
        Ok(Self {
            pattern: pattern.to_ascii_lowercase().into(),
            wildcard,
        })
    }

    /// Whether this is a `*.suffix` pattern.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The pattern as written in config, lowercased (`*.example.com`, `api.example.com`).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether `host` (without port) matches, ignoring ASCII case.
    pub fn matches(&self, host: &str) -> bool {
        match self.suffix() {
            // `host` must be `<one or more labels>.<suffix>`: strictly longer than `.suffix`.
            Some(suffix) => {
                host.len() > suffix.len() + 1
                    && host
                        .get(host.len() - suffix.len() - 1..)
                        .and_then(|tail| tail.strip_prefix('.'))
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
            }
            None => host.eq_ignore_ascii_case(&self.pattern),
        }
    }

    /// For a wildcard, the part after `*.`; `None` for an exact host.
    pub(crate) fn suffix(&self) -> Option<&str> {
        if self.wildcard {
            self.pattern.strip_prefix("*.")
        } else {
            None
        }
    }
}

impl FromStr for HostPattern {
    type Err = HostPatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

// === host names ===

/// What is wrong with a host name, before we know which pattern to blame.
enum NameProblem {
    Empty,
    Char(char),
    EmptyLabel,
    TooLong,
}

impl NameProblem {
    fn into_error(self, pattern: &str) -> HostPatternError {
        let pattern = pattern.to_owned();
        match self {
            Self::Empty | Self::EmptyLabel => HostPatternError::EmptyLabel { pattern },
            Self::Char(ch) => HostPatternError::InvalidCharacter { pattern, ch },
            Self::TooLong => HostPatternError::TooLong { pattern },
        }
    }
}

/// Checks a registered name or IPv4 address: dot-separated labels of letters, digits, `-`, `_`.
///
/// `_` is outside RFC 1123 but common in internal names (container service names), so both
/// patterns and requests accept it.
fn check_host_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(NameProblem::Char(ch));
    }
    if name.len() > MAX_HOST_LEN {
        return Err(NameProblem::TooLong);
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(NameProblem::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameProblem::TooLong);
        }
    }
    Ok(())
}

/// The host a request is addressed to, normalised for routing; `None` if absent or invalid.
///
/// Takes the URI's authority when present (HTTP/2 `:authority`, HTTP/1.1 absolute-form, which
/// RFC 9112 §3.2.2 says wins over `Host`), otherwise the single `Host` header; several `Host`
/// headers make the request ambiguous and yield `None`. The port and any userinfo are removed, one
/// trailing dot (`example.com.`) is dropped, and the result is lowercased. IPv6 literals keep their
/// brackets and are put in canonical form (`[2001:db8::1]`). Allocates only when the host needs
/// lowercasing or is an IPv6 literal.
///
/// ```
/// use gateway::routing::request_host;
/// use http::{HeaderMap, HeaderValue, Uri, header::HOST};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(HOST, HeaderValue::from_static("API.Example.com:8443"));
/// let uri = Uri::from_static("/users");
/// assert_eq!(request_host(&uri, &headers).as_deref(), Some("api.example.com"));
/// ```
pub fn request_host<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<Cow<'a, str>> {
    let host = match uri.authority() {
        Some(authority) => authority.host(),
        None => {
            let mut values = headers.get_all(HOST).iter();
            let value = values.next()?;
            if values.next().is_some() {
                return None;
            }
            strip_port(value.to_str().ok()?)?
        }
    };
    normalize_host(host)
}

/// Splits `host[:port]` from a `Host` header value, checking the port is numeric.
fn strip_port(authority: &str) -> Option<&str> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')? + 1;
        (authority.get(..end)?, authority.get(end..)?)
    } else {
        match authority.find(':') {
            Some(colon) => (authority.get(..colon)?, authority.get(colon..)?),
            None => (authority, ""),
        }
    };
    let port_ok = match port.strip_prefix(':') {
        Some(digits) => digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()),
        None => port.is_empty(),
    };
    port_ok.then_some(host)
}

/// Validates and lowercases a host without port.
fn normalize_host(host: &str) -> Option<Cow<'_, str>> {
    if let Some(inner) = host.strip_prefix('[') {
        let addr = inner.strip_suffix(']')?.parse::<Ipv6Addr>().ok()?;
        return Some(Cow::Owned(format!("[{addr}]")));
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    check_host_name(host).ok()?;
    Some(lowercase(host))
}

/// Lowercases ASCII, borrowing when the input already is lowercase (the common case).
pub(crate) fn lowercase(host: &str) -> Cow<'_, str> {
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}
