//! Path rewrites applied after routing (`strip_prefix`, `replace_prefix`).

use std::borrow::Cow;

use super::path::{PathError, PathMatch, Segment};

/// How a route rewrites the request path before forwarding it upstream.
///
/// Prefixes are matched segment by segment: `/api` applies to `/api` and `/api/users` but not to
/// `/apiv2`. A path the prefix does not apply to is left as it is. The rewrite sees the path only;
/// the caller re-attaches the query. The result always starts with `/`.
///
/// Build it with [`Rewrite::strip_prefix`] or [`Rewrite::replace_prefix`] to validate it, and call
/// [`Rewrite::check_against`] with the route's path so the rewrite applies to every path the route
/// can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewrite {
    /// Removes the prefix: with `/api`, `/api/users` becomes `/users` and `/api` becomes `/`.
    StripPrefix(String),
    /// Replaces the prefix: `from: /api, to: /v2` turns `/api/users` into `/v2/users`.
    ReplacePrefix {
        /// The prefix to take away.
        from: String,
        /// What to put in its place (`/` to strip).
        to: String,
    },
}

/// Why a rewrite was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// The prefix is not a valid path.
    #[error("{field} `{value}` is not a valid path prefix")]
    InvalidPrefix {
        /// `strip_prefix`, `replace_prefix.from` or `replace_prefix.to`.
        field: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        #[source]
        source: PathError,
    },
    /// A trailing `/` on a prefix, which would make `/api/` not apply to `/api`.
    #[error(
        "{field} `{value}` ends with `/`; prefixes are matched by whole segments, write it without the trailing `/`"
    )]
    TrailingSlash {
        /// `strip_prefix`, `replace_prefix.from` or `replace_prefix.to`.
        field: &'static str,
        /// The value as given.
        value: String,
    },
    /// `strip_prefix: /`, which changes nothing.
    #[error("strip_prefix `/` changes nothing; remove the rewrite or name a longer prefix")]
    StripRoot,
}

// === impl Rewrite ===

impl Rewrite {
    /// Validates a `strip_prefix` rewrite: a path prefix other than `/`, without trailing `/`.
    pub fn strip_prefix(prefix: &str) -> Result<Self, RewriteError> {
        if prefix == "/" {
            return Err(RewriteError::StripRoot);
        }
        check_prefix("strip_prefix", prefix)?;
        Ok(Self::StripPrefix(prefix.to_owned()))
    }

    /// Validates a `replace_prefix` rewrite: both sides are path prefixes, `/` or without
    /// trailing `/`.
    pub fn replace_prefix(from: &str, to: &str) -> Result<Self, RewriteError> {
        check_prefix("replace_prefix.from", from)?;
        check_prefix("replace_prefix.to", to)?;
        Ok(Self::ReplacePrefix {
            from: from.to_owned(),
            to: to.to_owned(),
        })
    }

    /// Rewrites `path` (no query); borrows when nothing changes.
    ///
    /// The result always starts with `/`, even for an unvalidated rewrite or a path that does not
    /// start with `/` (a `/` is put in front).
    pub fn apply<'a>(&self, path: &'a str) -> Cow<'a, str> {
        let rewritten = match self {
            Self::StripPrefix(prefix) => rest_under(prefix, path).map(Cow::Borrowed),
            Self::ReplacePrefix { from, to } => rest_under(from, path)
                .map(|rest| Cow::Owned(format!("{}{rest}", to.trim_end_matches('/')))),
        };
        let path = rewritten.unwrap_or(Cow::Borrowed(path));
        if path.starts_with('/') {
            path
        } else {
            Cow::Owned(format!("/{path}"))
        }
    }

    /// Checks that the rewrite applies to every path `path_match` can match, so no request is
    /// forwarded half-rewritten; the error explains which path escapes the prefix.
    ///
    /// `strip_prefix: /api` fits `/api/users/**`, `/api` and the raw prefix `/api/`, but not
    /// `/other/**`, `/*/users` or the raw prefix `/api` (which also matches `/apiv2`).
    pub fn check_against(&self, path_match: &PathMatch) -> Result<(), String> {
        let prefix = self.prefix().trim_end_matches('/');
        let example = match path_match {
            PathMatch::Pattern(pattern) => {
                let mut have = pattern.segments().iter();
                let fits = prefix.is_empty()
                    || prefix_segments(prefix).all(
                        |want| matches!(have.next(), Some(Segment::Literal(l)) if **l == *want),
                    );
                (!fits).then(|| example_outside(pattern.segments(), prefix))
            }
            PathMatch::Prefix(raw) => match rest_under(prefix, raw) {
                Some(rest) if rest.starts_with('/') => None,
                Some(_) => Some(format!("{raw}x")),
                None => Some(raw.clone()),
            },
        };
        let Some(example) = example else {
            return Ok(());
        };
        let path = match path_match {
            PathMatch::Pattern(pattern) => format!("path `{pattern}`"),
            PathMatch::Prefix(raw) => format!("prefix `{raw}`"),
        };
        let (kind, prefix) = (self.kind(), self.prefix());
        Err(format!(
            "{kind} `{prefix}` does not apply to every request the route matches: {path} also \
             matches `{example}`, which is neither `{prefix}` nor under `{prefix}/`"
        ))
    }

    /// The prefix the rewrite applies under.
    pub fn prefix(&self) -> &str {
        match self {
            Self::StripPrefix(prefix) => prefix,
            Self::ReplacePrefix { from, .. } => from,
        }
    }

    /// Whether the rewrite applies to `path`, i.e. `path` is the prefix or under `prefix/`.
    pub fn applies_to(&self, path: &str) -> bool {
        rest_under(self.prefix(), path).is_some()
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::StripPrefix(_) => "strip_prefix",
            Self::ReplacePrefix { .. } => "replace_prefix",
        }
    }
}

/// The part of `path` after `prefix` if `path` is `prefix` or under `prefix/`: `""` or `/...`.
///
/// A trailing `/` on `prefix` is ignored, so `/` (and the empty prefix) applies to every path
/// starting with `/`.
fn rest_under<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix.trim_end_matches('/'))?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// A path matched by a pattern with these `segments` that is not `prefix` or under it.
///
/// Only called when the pattern does not start with all of the prefix's segments, so the walk
/// below diverges from the prefix: at a different literal, at a `*` (filled with a value unlike
/// the prefix's segment), or by ending early (a trailing `**` contributes no segments).
fn example_outside(segments: &[Segment], prefix: &str) -> String {
    let mut wanted = prefix_segments(prefix);
    let mut example = String::new();
    for segment in segments {
        let want = wanted.next().unwrap_or_default();
        example.push('/');
        match segment {
            Segment::Literal(literal) => example.push_str(literal),
            Segment::Star if want == "x" => example.push('y'),
            Segment::Star => example.push('x'),
        }
    }
    if example.is_empty() {
        example.push('/');
    }
    example
}

/// The segments of a prefix without trailing `/`: `/api/v1` gives `api`, `v1`.
fn prefix_segments(prefix: &str) -> std::str::Split<'_, char> {
    prefix.strip_prefix('/').unwrap_or(prefix).split('/')
}

fn check_prefix(field: &'static str, value: &str) -> Result<(), RewriteError> {
    PathMatch::prefix(value).map_err(|source| RewriteError::InvalidPrefix {
        field,
        value: value.to_owned(),
        source,
    })?;
    if value.len() > 1 && value.ends_with('/') {
        return Err(RewriteError::TrailingSlash {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}
