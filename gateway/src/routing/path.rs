//! Path matching: segment-aware patterns (`/api/*/orders`, `/api/**`) and raw prefixes.

use std::fmt;
use std::str::FromStr;

/// How a route matches the request path.
///
/// Both forms compare the path byte for byte, exactly as the table is given it: normalise the
/// path once beforehand (dot segments, merged slashes, escaped slashes) and route, authorise and
/// forward that same string, or `/admin` rules can be bypassed with `/./admin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// A segment-aware pattern; see [`PathPattern`].
    Pattern(PathPattern),
    /// A raw string prefix, as Envoy's `prefix`: `/api` matches `/api`, `/api/users` **and
    /// `/apiv2`**. Prefer the pattern `/api/**` unless that looseness is wanted.
    ///
    /// Build it with [`PathMatch::prefix`] to validate it; an unvalidated string still matches as
    /// a plain byte prefix.
    Prefix(String),
}

/// A validated, segment-aware path pattern.
///
/// Syntax, segment by segment after the leading `/`:
/// * a literal segment matches itself exactly (case-sensitive);
/// * `*` matches exactly one non-empty segment;
/// * `**`, only as the last segment, matches zero or more trailing segments, so `/api/users/**`
///   matches `/api/users`, `/api/users/`, `/api/users/42` and `/api/users/42/orders`, but not
///   `/api/usersX`.
///
/// A pattern without wildcards is an exact match. A trailing `/` is significant: `/users/` matches
/// only `/users/`, `/users` only `/users`; use `/users/**` for both. Literals may use RFC 3986
/// path characters and `%HH` escapes; `*` inside a segment, empty segments (`//`), `.`/`..`
/// segments and `?`/`#` are rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    raw: Box<str>,
    /// The segments before any trailing `**`.
    segments: Vec<Segment>,
    /// Whether the pattern ends in `**`.
    catch_all: bool,
}

/// One segment of a [`PathPattern`] (the trailing `**` is kept apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Matches this exact text.
    Literal(Box<str>),
    /// `*`: any one non-empty segment.
    Star,
}

/// Why a path pattern or prefix was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Nothing was given.
    #[error("path is empty; expected a path starting with `/`, such as `/api/users/**`")]
    Empty,
    /// The first character is not `/`.
    #[error("path `{path}` must start with `/`")]
    MissingLeadingSlash {
        /// The path as given.
        path: String,
    },
    /// `//` inside the pattern.
    #[error(
        "path pattern `{path}` has an empty segment (`//`); only a single trailing `/` is allowed"
    )]
    EmptySegment {
        /// The pattern as given.
        path: String,
    },
    /// `**` followed by more segments.
    #[error(
        "path pattern `{path}` has `**` before its end; `**` is only allowed as the last segment"
    )]
    DoubleStarNotLast {
        /// The pattern as given.
        path: String,
    },
    /// `*` mixed with other characters in one segment.
    #[error(
        "path pattern `{path}` has `*` inside the segment `{segment}`; `*` and `**` must be whole segments"
    )]
    WildcardInSegment {
        /// The pattern as given.
        path: String,
        /// The offending segment.
        segment: String,
    },
    /// A `.` or `..` segment, which never survives normalisation.
    #[error(
        "path pattern `{path}` has a `{segment}` segment; requests are normalised, so it could never match"
    )]
    DotSegment {
        /// The pattern as given.
        path: String,
        /// `.` or `..`.
        segment: String,
    },
    /// A character outside RFC 3986 path characters.
    #[error(
        "path `{path}` contains {ch:?}; allowed are ASCII letters, digits, `-._~!$&'()+,;=:@/` and `%HH` escapes (no query `?` or fragment `#`)"
    )]
    InvalidCharacter {
        /// The path as given.
        path: String,
        /// The first offending character.
        ch: char,
    },
    /// `%` not followed by two hex digits.
    #[error("path `{path}` has a `%` not followed by two hex digits")]
    InvalidPercentEncoding {
        /// The path as given.
        path: String,
    },
    /// `*` in a raw prefix, which would be compared literally.
    #[error(
        "path prefix `{path}` contains `*`; prefixes are literal, use a path pattern for wildcards"
    )]
    WildcardInPrefix {
        /// The prefix as given.
        path: String,
    },
}

// === impl PathMatch ===

impl PathMatch {
    /// Parses a [`PathPattern`] into `PathMatch::Pattern`.
    pub fn pattern(pattern: &str) -> Result<Self, PathError> {
        PathPattern::parse(pattern).map(Self::Pattern)
    }

    /// Validates a raw prefix (starts with `/`, path characters only, no `*`) into
    /// `PathMatch::Prefix`.
    pub fn prefix(prefix: &str) -> Result<Self, PathError> {
        let body = leading_slash(prefix)?;
        if prefix.contains('*') {
            return Err(PathError::WildcardInPrefix {
                path: prefix.to_owned(),
            });
        }
        body.split('/')
            .try_for_each(|segment| check_chars(prefix, segment))?;
        Ok(Self::Prefix(prefix.to_owned()))
    }

    /// Whether `path` (without query) matches.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Self::Pattern(pattern) => pattern.matches(path),
            Self::Prefix(prefix) => path.starts_with(prefix.as_str()),
        }
    }
}

// === impl PathPattern ===

impl PathPattern {
    /// Parses and validates a pattern; see the type docs for the syntax.
    pub fn parse(pattern: &str) -> Result<Self, PathError> {
        let body = leading_slash(pattern)?;
        let mut segments = Vec::new();
        let mut catch_all = false;
        let mut parts = body.split('/').peekable();
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            let segment = match part {
                // `/` alone and a trailing `/` both end in one empty segment.
                "" if last => Segment::Literal("".into()),
                "" => {
                    return Err(PathError::EmptySegment {
                        path: pattern.to_owned(),
                    });
                }
                "**" if last => {
                    catch_all = true;
                    break;
                }
                "**" => {
                    return Err(PathError::DoubleStarNotLast {
                        path: pattern.to_owned(),
                    });
                }
                "*" => Segment::Star,
                "." | ".." => {
                    return Err(PathError::DotSegment {
                        path: pattern.to_owned(),
                        segment: part.to_owned(),
                    });
                }
                _ if part.contains('*') => {
                    return Err(PathError::WildcardInSegment {
                        path: pattern.to_owned(),
                        segment: part.to_owned(),
                    });
                }
                _ => {
                    check_chars(pattern, part)?;
                    Segment::Literal(part.into())
                }
            };
            segments.push(segment);
        }
        Ok(Self {
            raw: pattern.into(),
            segments,
            catch_all,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the pattern has no wildcards and so matches one path only.
    pub fn is_exact(&self) -> bool {
        !self.catch_all
            && self
                .segments
                .iter()
                .all(|s| matches!(s, Segment::Literal(_)))
    }

    /// Whether `path` (without query) matches.
    ///
    /// This is the reference definition, a straight walk over the segments; the route table's
    /// trie must agree with it (a property test checks that).
    pub fn matches(&self, path: &str) -> bool {
        let Some(mut rest) = path.strip_prefix('/').map(Some) else {
            return false;
        };
        for segment in &self.segments {
            let Some((head, tail)) = rest.map(split_segment) else {
                return false;
            };
            let ok = match segment {
                Segment::Literal(literal) => head == &**literal,
                Segment::Star => !head.is_empty(),
            };
            if !ok {
                return false;
            }
            rest = tail;
        }
        self.catch_all || rest.is_none()
    }

    /// The segments before any trailing `**`.
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether the pattern ends in `**`.
    pub(crate) fn is_catch_all(&self) -> bool {
        self.catch_all
    }
}

impl FromStr for PathPattern {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Splits the next segment off the text after a `/`; the tail is `None` when no `/` follows.
pub(crate) fn split_segment(rest: &str) -> (&str, Option<&str>) {
    match rest.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (rest, None),
    }
}

fn leading_slash(path: &str) -> Result<&str, PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    path.strip_prefix('/')
        .ok_or_else(|| PathError::MissingLeadingSlash {
            path: path.to_owned(),
        })
}

/// Checks one segment against RFC 3986 `pchar` (minus `*`, handled by the caller).
fn check_chars(path: &str, segment: &str) -> Result<(), PathError> {
    let bytes = segment.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'%' => {
                let hex = |j: usize| bytes.get(i + j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(1) && hex(2)) {
                    return Err(PathError::InvalidPercentEncoding {
                        path: path.to_owned(),
                    });
                }
            }
            b if b.is_ascii_alphanumeric() || b"-._~!$&'()+,;=:@*".contains(&b) => {}
            _ => {
                let ch = segment
                    .get(i..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or(char::REPLACEMENT_CHARACTER);
                return Err(PathError::InvalidCharacter {
                    path: path.to_owned(),
                    ch,
                });
            }
        }
    }
    Ok(())
}
