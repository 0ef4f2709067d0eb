//! The total order routes are tried in (documented for users in the module docs of `routing`).

use std::cmp::Reverse;

use super::host::HostPattern;
use super::path::{PathMatch, Segment};
use super::table::RouteMatch;

/// Sort key of one (route, host pattern) entry: smaller is tried first.
///
/// Field order is the order of the rules in the `routing` docs; derived `Ord` compares fields
/// top to bottom and enum variants in declaration order, so the key reads as the documentation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Priority {
    host: HostRank,
    path: PathRank,
    /// `false` (a method list) sorts before `true` (any method).
    any_method: bool,
    /// More header matchers first.
    headers: Reverse<usize>,
    /// Earlier in the config first.
    declared: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum HostRank {
    Exact,
    /// Longer suffix (after `*.`) first.
    Wildcard(Reverse<usize>),
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PathRank {
    /// No wildcards: one path only.
    Exact,
    /// `*` segments but no `**`: a fixed number of segments.
    Fixed {
        literals: Reverse<usize>,
        shape: Shape,
    },
    /// Ends in `**`.
    CatchAll {
        /// Segments before the `**`.
        depth: Reverse<usize>,
        literals: Reverse<usize>,
        shape: Shape,
    },
    /// Raw prefix, longer first.
    Prefix(Reverse<usize>),
}

/// Wildcard positions, left to right (`true` = `*`). Compared lexicographically, so between
/// otherwise equal patterns the one whose first `*` comes later (`/users/*` before `/*/orders`)
/// wins: the left of a path is its most significant part.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Shape(Vec<bool>);

/// The priority of `route` for requests matched through `host` (`None`: the route has no hosts).
pub(crate) fn priority(
    route: &RouteMatch,
    host: Option<&HostPattern>,
    declared: usize,
) -> Priority {
    Priority {
        host: match host {
            None => HostRank::Any,
            Some(pattern) => match pattern.suffix() {
                Some(suffix) => HostRank::Wildcard(Reverse(suffix.len())),
                None => HostRank::Exact,
            },
        },
        path: path_rank(&route.path),
        any_method: route.methods.is_empty(),
        headers: Reverse(route.headers.len()),
        declared,
    }
}

fn path_rank(path: &PathMatch) -> PathRank {
    let pattern = match path {
        PathMatch::Prefix(prefix) => return PathRank::Prefix(Reverse(prefix.len())),
        PathMatch::Pattern(pattern) => pattern,
    };
    let segments = pattern.segments();
    let shape = Shape(
        segments
            .iter()
            .map(|s| matches!(s, Segment::Star))
            .collect(),
    );
    let literals = Reverse(shape.0.iter().filter(|star| !**star).count());
    if pattern.is_catch_all() {
        PathRank::CatchAll {
            depth: Reverse(segments.len()),
            literals,
            shape,
        }
    } else if pattern.is_exact() {
        PathRank::Exact
    } else {
        PathRank::Fixed { literals, shape }
    }
}
