//! Path normalisation: the one form of a request path that is routed and forwarded, so a
//! route's rules cannot be bypassed with `/./admin`, `/public/../admin` or `//admin`.
//!
//! Policy (applied once, before route matching; the query string is not touched):
//! - **Dot segments** are removed as RFC 3986 §5.2.4 says; `..` above the root stays at the
//!   root. A segment that is `.` or `..` once `%2E`/`%2e` are decoded counts too
//!   (`/%2e%2e/admin`), as it does for any server that decodes before resolving.
//! - **Repeated slashes** are merged (`//a///b` is `/a/b`), as Envoy's `merge_slashes` does:
//!   upstream frameworks treat them as one separator, so routing must too.
//! - **Encoded slashes and backslashes** (`%2F`, `%5C`) are rejected with 400: whether an
//!   upstream decodes them into separators is unknowable, so no route decision based on the
//!   encoded form is safe (Envoy's `REJECT_REQUEST` option). An encoded NUL (`%00`) is rejected
//!   too.
//! - Other percent-escapes are kept as sent; matching compares the escaped form.
//!
//! A trailing slash is kept (`/a/b/` stays `/a/b/`; `/a/b/.` becomes `/a/b/`).

use std::borrow::Cow;

/// Why a path is refused (the request gets 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathRejection {
    /// `%2F` or `%5C` in the path.
    #[error("percent-encoded slash or backslash in the path")]
    EncodedSeparator,
    /// `%00` in the path.
    #[error("percent-encoded NUL in the path")]
    EncodedNul,
    /// The path does not start with `/` (and is not `*`).
    #[error("path does not start with `/`")]
    NotAbsolute,
}

/// The normalised form of `path` (without query), or why it is refused. Borrows when the path
/// is already normal, which is the common case.
pub fn normalize_path(path: &str) -> Result<Cow<'_, str>, PathRejection> {
    if path == "*" {
        return Ok(Cow::Borrowed(path));
    }
    if !path.starts_with('/') {
        return Err(PathRejection::NotAbsolute);
    }
    check_escapes(path)?;
    if is_normal(path) {
        return Ok(Cow::Borrowed(path));
    }
    let trailing_slash = path.ends_with('/') || ends_with_dot_segment(path);
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        match dot_kind(segment) {
            Some(Dot::Current) => {}
            Some(Dot::Parent) => {
                out.pop();
            }
            None => out.push(segment),
        }
    }
    let mut normal = String::with_capacity(path.len());
    for segment in &out {
        normal.push('/');
        normal.push_str(segment);
    }
    if out.is_empty() || trailing_slash {
        normal.push('/');
    }
    Ok(Cow::Owned(normal))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dot {
    Current,
    Parent,
}

/// `.` or `..`, also when written with `%2E`.
fn dot_kind(segment: &str) -> Option<Dot> {
    let bytes = segment.as_bytes();
    let mut dots = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i..i + 3) {
            Some([b'%', b'2', b'e' | b'E']) => i += 3,
            _ if bytes.get(i) == Some(&b'.') => i += 1,
            _ => return None,
        }
        dots += 1;
        if dots > 2 {
            return None;
        }
    }
    match dots {
        1 => Some(Dot::Current),
        2 => Some(Dot::Parent),
        _ => None,
    }
}

fn ends_with_dot_segment(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| dot_kind(last).is_some())
}

/// No empty segment (other than a trailing slash) and no dot segment.
fn is_normal(path: &str) -> bool {
    let body = &path[1..];
    let body = body.strip_suffix('/').unwrap_or(body);
    body.is_empty()
        || body
            .split('/')
            .all(|s| !s.is_empty() && dot_kind(s).is_none())
}

fn check_escapes(path: &str) -> Result<(), PathRejection> {
    let bytes = path.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'%' {
            continue;
        }
        match bytes.get(i + 1..i + 3) {
            Some([b'2', b'f' | b'F']) | Some([b'5', b'c' | b'C']) => {
                return Err(PathRejection::EncodedSeparator);
            }
            Some([b'0', b'0']) => return Err(PathRejection::EncodedNul),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn norm(p: &str) -> String {
        normalize_path(p).unwrap().into_owned()
    }

    #[test]
    fn normalize_keeps_normal_paths_borrowed() {
        for p in ["/", "/a", "/a/b", "/a/b/", "/a%20b/c", "/a.b/..c/...", "*"] {
            assert!(matches!(normalize_path(p), Ok(Cow::Borrowed(_))), "{p}");
            assert_eq!(norm(p), p);
        }
    }

    #[test]
    fn normalize_removes_dot_segments_per_rfc3986() {
        assert_eq!(norm("/public/../internal/keys"), "/internal/keys");
        assert_eq!(norm("/./admin"), "/admin");
        assert_eq!(norm("/a/b/c/./../../g"), "/a/g");
        assert_eq!(norm("/a/b/."), "/a/b/");
        assert_eq!(norm("/a/b/.."), "/a/");
        assert_eq!(norm("/a/.."), "/");
    }

    #[test]
    fn normalize_clamps_parent_segments_at_the_root() {
        assert_eq!(norm("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("/.."), "/");
    }

    #[test]
    fn normalize_treats_percent_encoded_dots_as_dot_segments() {
        assert_eq!(norm("/public/%2e%2e/admin"), "/admin");
        assert_eq!(norm("/public/%2E./admin"), "/admin");
        assert_eq!(norm("/%2e/admin"), "/admin");
        assert_eq!(
            norm("/a/%2e%2e%2e/b"),
            "/a/%2e%2e%2e/b",
            "three dots are a name"
        );
    }

    #[test]
    fn normalize_merges_repeated_slashes() {
        assert_eq!(norm("//admin"), "/admin");
        assert_eq!(norm("/a///b//"), "/a/b/");
    }

    #[test]
    fn normalize_rejects_encoded_separators_and_nul() {
        assert_eq!(
            normalize_path("/api%2Fadmin"),
            Err(PathRejection::EncodedSeparator)
        );
        assert_eq!(
            normalize_path("/api%2fadmin"),
            Err(PathRejection::EncodedSeparator)
        );
        assert_eq!(
            normalize_path("/api%5Cadmin"),
            Err(PathRejection::EncodedSeparator)
        );
        assert_eq!(normalize_path("/a%00b"), Err(PathRejection::EncodedNul));
    }

    #[test]
    fn normalize_rejects_relative_paths() {
        assert_eq!(normalize_path("admin"), Err(PathRejection::NotAbsolute));
        assert_eq!(normalize_path(""), Err(PathRejection::NotAbsolute));
    }

    proptest! {
        #[test]
        fn normalized_path_has_no_dot_or_empty_segments_and_is_stable(
            segments in proptest::collection::vec("(\\.|\\.\\.|%2e|%2E%2e|[a-z]{1,3}|)", 0..8),
            trailing in any::<bool>(),
        ) {
            let mut path = format!("/{}", segments.join("/"));
            if trailing { path.push('/'); }
            let normal = norm(&path);
            prop_assert!(normal.starts_with('/'));
            prop_assert!(is_normal(&normal), "{normal}");
            prop_assert_eq!(norm(&normal), normal, "normalising twice changes nothing");
        }
    }
}
