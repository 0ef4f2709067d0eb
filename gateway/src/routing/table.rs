//! The route table: what a route matches on, and finding the route for a request.

use http::{HeaderMap, Method};

use super::header::HeaderMatcher;
use super::host::{HostPattern, lowercase};
use super::index::HostIndex;
use super::path::PathMatch;
use super::priority::priority;

/// The conditions a request must meet to take a route; all of them must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// Hosts the route serves; empty means any host (including requests without one).
    pub hosts: Vec<HostPattern>,
    /// The request path condition.
    pub path: PathMatch,
    /// Allowed methods, compared exactly (list `HEAD` next to `GET` if wanted); empty means any.
    pub methods: Vec<Method>,
    /// Header conditions, all of which must hold; empty means none.
    pub headers: Vec<HeaderMatcher>,
}

/// The parts of a request routing looks at, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// The host from [`request_host`](super::request_host): lowercase, no port. `None` if the
    /// request named none (or an invalid one); it then only matches routes without hosts.
    pub host: Option<&'a str>,
    /// The normalised path, without the query.
    pub path: &'a str,
    /// The request method.
    pub method: &'a Method,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

/// Routes indexed for lookup by host, path, method and headers.
///
/// [`find`](Self::find) returns the value of the highest-priority route matching the request,
/// by the rules in the [module docs](super). A lookup costs about the path's depth plus the
/// host's label count, not the number of routes, and does not allocate (unless the host has
/// uppercase letters, which [`request_host`](super::request_host) never returns). Built once
/// per config version and shared read-only.
///
/// ```
/// use gateway::routing::{PathMatch, RequestView, RouteMatch, RouteTable};
/// use http::{HeaderMap, Method};
///
/// let table = RouteTable::new(vec![
///     (RouteMatch::new(PathMatch::pattern("/api/**")?), "api"),
///     (RouteMatch::new(PathMatch::pattern("/api/health")?), "health"),
/// ]);
/// let headers = HeaderMap::new();
/// let request = |path| RequestView { host: None, path, method: &Method::GET, headers: &headers };
/// assert_eq!(table.find(&request("/api/health")), Some(&"health"));
/// assert_eq!(table.find(&request("/api/users/42")), Some(&"api"));
/// assert_eq!(table.find(&request("/other")), None);
/// # Ok::<(), gateway::routing::PathError>(())
/// ```
#[derive(Debug)]
pub struct RouteTable<T> {
    /// In declaration order.
    routes: Vec<(RouteMatch, T)>,
    /// One per (route, host pattern), in priority order; an entry's index is its rank.
    entries: Vec<Entry>,
    index: HostIndex,
}

/// A route as the table tries it: one per host pattern of the route (or one if it has none).
#[derive(Debug)]
pub struct RankedRoute<'a, T> {
    /// The host pattern this entry is ranked by; `None` for a route without hosts.
    pub host: Option<&'a HostPattern>,
    /// The route's match conditions.
    pub route: &'a RouteMatch,
    /// The route's value.
    pub value: &'a T,
    /// The route's position in the list given to [`RouteTable::new`].
    pub declared: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    route: usize,
    host: Option<usize>,
}

// === impl RouteMatch ===

impl RouteMatch {
    /// A route matching `path` on any host, method and headers.
    pub fn new(path: PathMatch) -> Self {
        Self {
            hosts: Vec::new(),
            path,
            methods: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Whether the request meets every condition (a direct check, without the table's index).
    pub fn matches(&self, request: &RequestView<'_>) -> bool {
        let host_ok = self.hosts.is_empty()
            || request
                .host
                .is_some_and(|host| self.hosts.iter().any(|pattern| pattern.matches(host)));
        host_ok && self.path.matches(request.path) && self.accepts(request)
    }

    /// The conditions the index does not cover: method and headers.
    fn accepts(&self, request: &RequestView<'_>) -> bool {
        (self.methods.is_empty() || self.methods.contains(request.method))
            && self.headers.iter().all(|h| h.matches(request.headers))
    }
}

// === impl RouteTable ===

impl<T> RouteTable<T> {
    /// Indexes `routes`, given in declaration order.
    pub fn new(routes: Vec<(RouteMatch, T)>) -> Self {
        let mut ranked = Vec::new();
        for (route_id, (route, _)) in routes.iter().enumerate() {
            if route.hosts.is_empty() {
                ranked.push((
                    priority(route, None, route_id),
                    Entry {
                        route: route_id,
                        host: None,
                    },
                ));
            }
            for (host_id, host) in route.hosts.iter().enumerate() {
                // A repeated pattern would only list the route twice.
                if route
                    .hosts
                    .get(..host_id)
                    .is_some_and(|seen| seen.contains(host))
                {
                    continue;
                }
                let entry = Entry {
                    route: route_id,
                    host: Some(host_id),
                };
                ranked.push((priority(route, Some(host), route_id), entry));
            }
        }
        // Keys are unique up to the declaration index, and ties within one route cannot change
        // the answer, so the unstable sort is deterministic where it matters.
        ranked.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let entries: Vec<Entry> = ranked.into_iter().map(|(_, entry)| entry).collect();
        let index = HostIndex::build(entries.iter().enumerate().filter_map(|(rank, entry)| {
            let (route, _) = routes.get(entry.route)?;
            let host = entry.host.and_then(|id| route.hosts.get(id));
            Some((rank, host, &route.path))
        }));
        Self {
            routes,
            entries,
            index,
        }
    }

    /// The value of the highest-priority route matching `request`, if any.
    pub fn find(&self, request: &RequestView<'_>) -> Option<&T> {
        // `request_host` already lowercases, so this borrows unless a caller passed mixed case.
        let host = request.host.map(lowercase);
        let accept = |rank: usize| {
            self.route_at(rank)
                .is_some_and(|(route, _)| route.accepts(request))
        };
        let rank = self.index.find(host.as_deref(), request.path, &accept)?;
        self.route_at(rank).map(|(_, value)| value)
    }

    /// Every route once, in evaluation order, for listings such as the admin API.
    ///
    /// A route with several hosts is ranked once per host pattern; it is listed at the position
    /// of its most specific one. [`iter_entries`](Self::iter_entries) shows every position.
    pub fn iter_by_priority(&self) -> impl Iterator<Item = (&RouteMatch, &T)> {
        let mut listed = vec![false; self.routes.len()];
        self.iter_entries().filter_map(move |entry| {
            let seen = listed.get_mut(entry.declared)?;
            let first = !*seen;
            *seen = true;
            first.then_some((entry.route, entry.value))
        })
    }

    /// Every (route, host pattern) entry in the exact order lookups try them.
    pub fn iter_entries(&self) -> impl Iterator<Item = RankedRoute<'_, T>> {
        self.entries.iter().filter_map(|entry| {
            let (route, value) = self.routes.get(entry.route)?;
            Some(RankedRoute {
                host: entry.host.and_then(|id| route.hosts.get(id)),
                route,
                value,
                declared: entry.route,
            })
        })
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table has no routes (and so matches nothing).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    fn route_at(&self, rank: usize) -> Option<&(RouteMatch, T)> {
        let entry = self.entries.get(rank)?;
        self.routes.get(entry.route)
    }
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}
