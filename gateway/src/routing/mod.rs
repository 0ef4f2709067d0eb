//! Routing: which route a request takes, by host, path, method and headers.
//!
//! Config is validated into the types here ([`HostPattern`], [`PathPattern`], [`PathMatch`],
//! [`HeaderMatcher`], [`Rewrite`]), whose parsers say what is allowed when they reject a value.
//! A [`RouteTable`] indexes the routes of one config version; the proxy builds a [`RequestView`]
//! (host from [`request_host`]) and asks [`RouteTable::find`] for the route.
//!
//! # What a route matches
//!
//! A route matches a request when **all** of its conditions hold:
//!
//! * `hosts`: any of the patterns; empty means any host. `api.example.com` is exact;
//!   `*.example.com` matches one or more labels before `.example.com` but not `example.com`
//!   itself. Case-insensitive, ports ignored.
//! * `path`: a segment-aware pattern or a raw prefix. In a pattern, `*` is exactly one non-empty
//!   segment and a final `**` is zero or more segments (`/api/**` matches `/api`, `/api/`,
//!   `/api/a/b`, not `/apiv2`); without wildcards it is an exact match. A raw prefix compares
//!   characters, as Envoy's `prefix` does (`/api` also matches `/apiv2`). A trailing `/` in a
//!   pattern is significant: `/users/` does not match `/users`.
//! * `methods`: any of them, compared exactly (`HEAD` is not implied by `GET`); empty means any
//!   method.
//! * `headers`: every matcher (exact value, value prefix, present, absent); for a repeated
//!   header, any of its values may satisfy it.
//!
//! Paths are normalised once before matching ([`normalize_path`]: dot segments removed,
//! slashes merged, encoded slashes refused), and the normalised string that was matched is
//! the one rewritten and forwarded.
//!
//! # Which route wins
//!
//! A request takes the **highest-priority route that matches it in full**. If a more specific
//! route matches the host and path but not the method or headers, the next route in priority
//! order is tried, so a `GET`-only route never hides a broader route for `POST`.
//!
//! Priority is most specific first. A route with several hosts is ranked separately for each
//! host pattern, and a request is judged by the most specific one it matches. Rules, each only
//! breaking ties left by the rules above it:
//!
//! 1. **Host**: exact host, then wildcards with a longer suffix (`*.eu.example.com`), then
//!    shorter (`*.example.com`), then routes without hosts. The host is the tenant or service
//!    boundary, so a route written for a host always beats a catch-all route, whatever its path.
//! 2. **Path**, in four tiers:
//!    1. exact paths (no wildcards);
//!    2. patterns with `*` but no `**`, more literal segments first; on a tie, the one whose
//!       first `*` comes later (`/users/*/orders` before `/*/42/orders`);
//!    3. patterns ending in `**`, more segments before the `**` first (`/api/*/**` before
//!       `/api/**`), then more literal segments, then the later first `*`;
//!    4. raw prefixes, longer first.
//!
//!    A pattern that fixes the number of segments constrains the path more than one that
//!    accepts any tail, and a deeper tail pins more of the path than a shallow one. Raw prefixes
//!    come last because they can cut through a segment (`/api` matches `/apiv2`): they are the
//!    loosest rule, kept for Envoy-style configs.
//! 3. **Methods**: routes listing methods before routes accepting any method.
//! 4. **Headers**: more header matchers before fewer.
//! 5. **Declaration order**: earlier in the config first.
//!
//! The resulting order is total and does not depend on the request, so the admin API lists it
//! with [`RouteTable::iter_by_priority`].
//!
//! # Rewrites
//!
//! A route may rewrite the path before forwarding ([`Rewrite`]): `strip_prefix` or
//! `replace_prefix`, both segment-aware. Validation calls [`Rewrite::check_against`] so the
//! rewrite applies to every path the route can match.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod header;
mod host;
mod index;
mod normalize;
mod path;
mod priority;
mod rewrite;
mod table;

#[cfg(test)]
mod tests;

pub use header::{HeaderMatcher, HeaderMatcherError, HeaderRule};
pub use host::{HostPattern, HostPatternError, request_host};
pub use normalize::{PathRejection, normalize_path};
pub use path::{PathError, PathMatch, PathPattern};
pub use rewrite::{Rewrite, RewriteError};
pub use table::{RankedRoute, RequestView, RouteMatch, RouteTable};
