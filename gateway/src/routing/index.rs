//! The lookup structure behind `RouteTable`: host maps, each holding a segment trie and a prefix trie.
//!
//! Entries are identified by their *rank*: their position in priority order (0 is tried first).
//! Every list below is sorted by rank, and a lookup looks for the smallest rank whose route
//! accepts the request, so the index can prune anything that cannot beat the best found so far.
//! That is what makes the index answer exactly what a linear scan in priority order would.
//!
//! No lookup allocates: the tries are walked on the stack (recursion depth is bounded by the
//! deepest configured pattern, not by the request), and candidates are never collected, only
//! compared against the best rank so far.

use std::collections::HashMap;

use super::host::HostPattern;
use super::path::{PathMatch, PathPattern, Segment, split_segment};

/// Entries grouped by host: one path index per exact host, per wildcard suffix, and for any host.
#[derive(Debug, Default)]
pub(crate) struct HostIndex {
    exact: HashMap<Box<str>, PathIndex>,
    /// Keyed by the suffix after `*.`.
    wildcard: HashMap<Box<str>, PathIndex>,
    any: PathIndex,
}

impl HostIndex {
    /// Builds the index from `(rank, host, path)` entries given in ascending rank order.
    pub(crate) fn build<'a>(
        entries: impl IntoIterator<Item = (usize, Option<&'a HostPattern>, &'a PathMatch)>,
    ) -> Self {
        let mut exact = HashMap::<Box<str>, PathIndexBuilder>::new();
        let mut wildcard = HashMap::<Box<str>, PathIndexBuilder>::new();
        let mut any = PathIndexBuilder::default();
        for (rank, host, path) in entries {
            let group = match host {
                None => &mut any,
                Some(pattern) => match pattern.suffix() {
                    Some(suffix) => wildcard.entry(suffix.into()).or_default(),
                    None => exact.entry(pattern.as_str().into()).or_default(),
                },
            };
            group.insert(path, rank);
        }
        let finish = |map: HashMap<Box<str>, PathIndexBuilder>| {
            map.into_iter()
                .map(|(host, group)| (host, group.finish()))
                .collect()
        };
        Self {
            exact: finish(exact),
            wildcard: finish(wildcard),
            any: any.finish(),
        }
    }

    /// The smallest rank matching `host` (lowercase) and `path` that `accept` agrees to.
    ///
    /// Host rank is the first priority rule, so groups are tried from the most specific host
    /// down and the first group with an answer wins: exact host, then wildcards from the longest
    /// suffix (the one after the first dot) to the shortest, then any host.
    pub(crate) fn find(
        &self,
        host: Option<&str>,
        path: &str,
        accept: &impl Fn(usize) -> bool,
    ) -> Option<usize> {
        if let Some(host) = host {
            let exact = self
                .exact
                .get(host)
                .and_then(|group| group.find(path, accept));
            if exact.is_some() {
                return exact;
            }
            if !self.wildcard.is_empty() {
                // A dot at 0 would leave an empty label in front of the suffix, which `*.` does
                // not match.
                for (dot, _) in host.match_indices('.').filter(|(dot, _)| *dot > 0) {
                    let found = host
                        .get(dot + 1..)
                        .and_then(|suffix| self.wildcard.get(suffix))
                        .and_then(|group| group.find(path, accept));
                    if found.is_some() {
                        return found;
                    }
                }
            }
        }
        self.any.find(path, accept)
    }
}

/// The entries of one host group.
#[derive(Debug, Default)]
struct PathIndex {
    patterns: SegmentTrie,
    prefixes: PrefixTrie,
}

impl PathIndex {
    fn find(&self, path: &str, accept: &impl Fn(usize) -> bool) -> Option<usize> {
        let mut best = None;
        if let Some(rest) = path.strip_prefix('/') {
            self.patterns.search(0, Some(rest), &mut best, accept);
        }
        // Raw prefixes rank after every pattern in the same host group, so they only matter when
        // no pattern accepted the request.
        best.or_else(|| self.prefixes.find(path, accept))
    }
}

/// Scans a rank-sorted list for the first accepted rank that beats `best`.
fn scan(ranks: &[usize], best: &mut Option<usize>, accept: &impl Fn(usize) -> bool) {
    for &rank in ranks {
        if best.is_some_and(|best| rank >= best) {
            return;
        }
        if accept(rank) {
            *best = Some(rank);
            return;
        }
    }
}

// === segment trie ===

/// Segment patterns: one node per pattern prefix, with literal children, a `*` child, the
/// patterns that end at the node, and the `**` patterns rooted at it. Node 0 is the root.
#[derive(Debug, Default)]
struct SegmentTrie {
    nodes: Vec<SegmentNode>,
}

#[derive(Debug, Default)]
struct SegmentNode {
    /// Sorted by segment for binary search.
    literals: Vec<(Box<str>, usize)>,
    star: Option<usize>,
    /// Patterns ending here (exact and fixed-shape).
    ends: Vec<usize>,
    /// `<this node>/**` patterns.
    catch_all: Vec<usize>,
    /// Smallest rank in this subtree, to skip subtrees that cannot beat the best so far.
    min_rank: usize,
}

impl SegmentTrie {
    /// Depth-first search for the smallest accepted rank matching `rest` (the path after the `/`
    /// that led to node `id`; `None` once every segment is consumed).
    ///
    /// Each trie node is visited at most once (literal and `*` children are different nodes), so
    /// the cost is bounded by the trie's size, and in practice by the path's depth.
    fn search(
        &self,
        id: usize,
        rest: Option<&str>,
        best: &mut Option<usize>,
        accept: &impl Fn(usize) -> bool,
    ) {
        let Some(node) = self.nodes.get(id) else {
            return;
        };
        if best.is_some_and(|best| node.min_rank >= best) {
            return;
        }
        match rest {
            None => scan(&node.ends, best, accept),
            Some(rest) => {
                let (head, tail) = split_segment(rest);
                // Literal first: it usually holds the better ranks, which tightens `best` early.
                let literal = node
                    .literals
                    .binary_search_by(|(literal, _)| (**literal).cmp(head))
                    .ok()
                    .and_then(|at| node.literals.get(at));
                if let Some(&(_, child)) = literal {
                    self.search(child, tail, best, accept);
                }
                if let Some(child) = node.star.filter(|_| !head.is_empty()) {
                    self.search(child, tail, best, accept);
                }
            }
        }
        // `**` matches zero or more remaining segments, whatever they are.
        scan(&node.catch_all, best, accept);
    }
}

#[derive(Debug, Default)]
struct PathIndexBuilder {
    nodes: Vec<SegmentNode>,
    parents: Vec<usize>,
    /// (parent, segment) -> child, so wide nodes build in linear time.
    edges: HashMap<(usize, Box<str>), usize>,
    prefixes: PrefixTrie,
}

impl PathIndexBuilder {
    fn insert(&mut self, path: &PathMatch, rank: usize) {
        match path {
            PathMatch::Pattern(pattern) => self.insert_pattern(pattern, rank),
            PathMatch::Prefix(prefix) => self.prefixes.insert(prefix, rank),
        }
    }

    fn insert_pattern(&mut self, pattern: &PathPattern, rank: usize) {
        let mut id = self.node(None, None);
        for segment in pattern.segments() {
            id = self.node(Some(id), Some(segment));
        }
        if let Some(node) = self.nodes.get_mut(id) {
            let list = match pattern.is_catch_all() {
                true => &mut node.catch_all,
                false => &mut node.ends,
            };
            list.push(rank);
        }
    }

    /// The child of `parent` for `segment` (root for `None`), created if missing.
    fn node(&mut self, parent: Option<usize>, segment: Option<&Segment>) -> usize {
        let existing = match (parent, segment) {
            (Some(parent), Some(Segment::Literal(literal))) => {
                self.edges.get(&(parent, literal.clone())).copied()
            }
            (Some(parent), Some(Segment::Star)) => self.nodes.get(parent).and_then(|n| n.star),
            _ => (!self.nodes.is_empty()).then_some(0),
        };
        if let Some(id) = existing {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(SegmentNode {
            min_rank: usize::MAX,
            ..SegmentNode::default()
        });
        self.parents.push(parent.unwrap_or(id));
        match (parent, segment) {
            (Some(parent), Some(Segment::Literal(literal))) => {
                self.edges.insert((parent, literal.clone()), id);
                if let Some(node) = self.nodes.get_mut(parent) {
                    node.literals.push((literal.clone(), id));
                }
            }
            (Some(parent), Some(Segment::Star)) => {
                if let Some(node) = self.nodes.get_mut(parent) {
                    node.star = Some(id);
                }
            }
            _ => {}
        }
        id
    }

    fn finish(mut self) -> PathIndex {
        self.prefixes.finish();
        // Children always have larger ids than their parents, so one backwards pass carries
        // each subtree's minimum up to the root.
        for id in (0..self.nodes.len()).rev() {
            let Some(node) = self.nodes.get_mut(id) else {
                continue;
            };
            node.literals.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let own = node.ends.iter().chain(&node.catch_all).copied().min();
            node.min_rank = node.min_rank.min(own.unwrap_or(usize::MAX));
            let min = node.min_rank;
            if let Some(parent) = self.parents.get(id).copied().filter(|&p| p != id)
                && let Some(parent) = self.nodes.get_mut(parent)
            {
                parent.min_rank = parent.min_rank.min(min);
            }
        }
        PathIndex {
            patterns: SegmentTrie { nodes: self.nodes },
            prefixes: self.prefixes,
        }
    }
}

// === prefix trie ===

/// Raw prefixes as a byte trie. Each node links to the nearest node at or above it that holds
/// entries, so a lookup walks down the path once and then climbs from the longest matching
/// prefix to the shortest without revisiting anything. Node 0 is the root (the empty prefix).
#[derive(Debug, Default)]
struct PrefixTrie {
    nodes: Vec<PrefixNode>,
}

#[derive(Debug, Default)]
struct PrefixNode {
    /// Sorted by byte.
    children: Vec<(u8, usize)>,
    entries: Vec<usize>,
    /// This node if it has entries, else the nearest ancestor that has.
    nearest: Option<usize>,
    /// The nearest strict ancestor with entries.
    above: Option<usize>,
}

impl PrefixTrie {
    fn insert(&mut self, prefix: &str, rank: usize) {
        if self.nodes.is_empty() {
            self.nodes.push(PrefixNode::default());
        }
        let mut id = 0;
        for byte in prefix.bytes() {
            let Some(node) = self.nodes.get(id) else {
                return;
            };
            id = match node.children.binary_search_by_key(&byte, |&(b, _)| b) {
                Ok(at) => node.children.get(at).map_or(id, |&(_, child)| child),
                Err(at) => {
                    let child = self.nodes.len();
                    self.nodes.push(PrefixNode::default());
                    if let Some(node) = self.nodes.get_mut(id) {
                        node.children.insert(at, (byte, child));
                    }
                    child
                }
            };
        }
        if let Some(node) = self.nodes.get_mut(id) {
            node.entries.push(rank);
        }
    }

    /// Sets the `nearest`/`above` links once every prefix is inserted.
    ///
    /// Parents precede children in `nodes`, so a forward pass sees each parent before its
    /// children and can hand them its `nearest`.
    fn finish(&mut self) {
        let mut above = vec![None; self.nodes.len()];
        for id in 0..self.nodes.len() {
            let Some(node) = self.nodes.get_mut(id) else {
                continue;
            };
            node.above = above.get(id).copied().flatten();
            node.nearest = match node.entries.is_empty() {
                true => node.above,
                false => Some(id),
            };
            for &(_, child) in &node.children {
                if let Some(slot) = above.get_mut(child) {
                    *slot = node.nearest;
                }
            }
        }
    }

    /// The best accepted rank among prefixes of `path`: longest prefix first, then rank.
    fn find(&self, path: &str, accept: &impl Fn(usize) -> bool) -> Option<usize> {
        let mut id = 0;
        for byte in path.bytes() {
            let node = self.nodes.get(id)?;
            match node.children.binary_search_by_key(&byte, |&(b, _)| b) {
                Ok(at) => id = node.children.get(at).map_or(id, |&(_, child)| child),
                Err(_) => break,
            }
        }
        let mut next = self.nodes.get(id)?.nearest;
        let mut best = None;
        while let Some(id) = next {
            let node = self.nodes.get(id)?;
            scan(&node.entries, &mut best, accept);
            if best.is_some() {
                return best;
            }
            next = node.above;
        }
        None
    }
}
