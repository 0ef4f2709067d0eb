//! The stale-response store: last good response per request key, bounded by entry count and
//! total bytes, evicting the least recently used entry first.
//!
//! One `std::sync::Mutex` guards a hash map (key -> entry) and a `BTreeMap` ordered by last
//! use (tick -> key), so every operation is O(log n) under the lock and nothing allocates
//! while it is held except the map nodes themselves. The lock is never held across an
//! `.await` or while a response is built: readers clone an `Arc` to the entry and build
//! outside. Writes happen once per completed cacheable response, reads only on the failure
//! path, so contention stays low; if it ever shows, shard by key hash.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tokio::time::Instant;

/// What identifies "the same request": method, path and query, and the values of the
/// configured key headers (in configured order; all values of a repeated header). Cheap to
/// clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(Arc<KeyParts>);

#[derive(Debug, PartialEq, Eq, Hash)]
struct KeyParts {
    method: Method,
    target: Box<str>,
    headers: Box<[Box<[HeaderValue]>]>,
}

/// A stored response.
#[derive(Debug)]
pub(super) struct StoredResponse {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    /// When the response headers arrived.
    pub(super) stored_at: Instant,
    /// Bytes charged against the budget (see [`StaleCache`]).
    weight: usize,
}

/// Counters and gauges of one [`StaleCache`], for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Entries held now.
    pub entries: usize,
    /// Bytes held now.
    pub bytes: usize,
    /// Responses stored (new or replacing an older one for the same key).
    pub stored: u64,
    /// Lookups that found an entry young enough.
    pub hits: u64,
    /// Lookups that found nothing (expired entries count here too).
    pub misses: u64,
    /// Entries dropped on lookup because they were older than `max_age`.
    pub expired: u64,
    /// Entries evicted to stay within `max_entries`.
    pub evicted_for_count: u64,
    /// Entries evicted to stay within `max_total_bytes`.
    pub evicted_for_bytes: u64,
    /// Responses not stored because the body exceeded `max_entry_bytes` (or the entry the
    /// whole budget).
    pub skipped_oversize: u64,
    /// Responses not stored because the body failed, carried trailers or was abandoned.
    pub skipped_incomplete: u64,
}

/// Why a response that looked storable was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Skipped {
    Oversize,
    Incomplete,
}

/// The bounded LRU store of last good responses, shared by a route's requests.
///
/// An entry costs the byte lengths of its body, its header names and values, and its key's
/// request target and header values (map overhead is not counted): an estimate of memory
/// held, close enough to bound it.
#[derive(Debug)]
pub struct StaleCache {
    max_entries: usize,
    max_total_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<CacheKey, Slot>,
    /// Last-use tick -> key; the first entry is the least recently used.
    order: BTreeMap<u64, CacheKey>,
    next_tick: u64,
    stats: CacheStats,
}

#[derive(Debug)]
struct Slot {
    entry: Arc<StoredResponse>,
    tick: u64,
}

// === impl CacheKey ===

impl CacheKey {
    pub(super) fn new(method: Method, target: &str, headers: Vec<Box<[HeaderValue]>>) -> Self {
        Self(Arc::new(KeyParts {
            method,
            target: target.into(),
            headers: headers.into_boxed_slice(),
        }))
    }

    fn weight(&self) -> usize {
        let values = self
            .0
            .headers
            .iter()
            .flatten()
            .map(HeaderValue::len)
            .sum::<usize>();
        self.0.target.len() + values
    }
}

// === impl StoredResponse ===

impl StoredResponse {
    pub(super) fn new(
        key: &CacheKey,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        stored_at: Instant,
    ) -> Self {
        let header_bytes = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum::<usize>();
        Self {
            weight: body.len() + header_bytes + key.weight(),
            status,
            headers,
            body,
            stored_at,
        }
    }
}

// === impl StaleCache ===

impl StaleCache {
    /// An empty cache holding at most `max_entries` entries and `max_total_bytes` bytes.
    pub fn new(max_entries: usize, max_total_bytes: usize) -> Self {
        Self {
            max_entries,
            max_total_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            entries: inner.entries.len(),
            ..inner.stats
        }
    }

    /// Stores `entry` under `key` (replacing any older one), then evicts least recently used
    /// entries until both bounds hold. An entry alone over the byte budget is not stored.
    pub(super) fn insert(&self, key: CacheKey, entry: StoredResponse) {
        let mut inner = self.lock();
        if entry.weight > self.max_total_bytes {
            inner.stats.skipped_oversize += 1;
            return;
        }
        inner.remove(&key);
        let tick = inner.touch(key.clone());
        inner.stats.bytes += entry.weight;
        inner.stats.stored += 1;
        let entry = Arc::new(entry);
        inner.entries.insert(key, Slot { entry, tick });
        while inner.entries.len() > self.max_entries {
            inner.evict_oldest();
            inner.stats.evicted_for_count += 1;
        }
        // Terminates: the new entry alone fits, so eviction stops at it at the latest.
        while inner.stats.bytes > self.max_total_bytes && inner.evict_oldest() {
            inner.stats.evicted_for_bytes += 1;
        }
    }

    /// The entry for `key` if it is younger than `max_age` at `now`; marks it recently used.
    /// An older entry is removed.
    pub(super) fn get(
        &self,
        key: &CacheKey,
        now: Instant,
        max_age: Duration,
    ) -> Option<Arc<StoredResponse>> {
        let mut inner = self.lock();
        let Some(slot) = inner.entries.get(key) else {
            inner.stats.misses += 1;
            return None;
        };
        // RFC 9111 §4.2: fresh while the age is below the lifetime.
        if now.saturating_duration_since(slot.entry.stored_at) >= max_age {
            inner.remove(key);
            inner.stats.expired += 1;
            inner.stats.misses += 1;
            return None;
        }
        let (entry, old_tick) = (Arc::clone(&slot.entry), slot.tick);
        inner.order.remove(&old_tick);
        let tick = inner.touch(key.clone());
        if let Some(slot) = inner.entries.get_mut(key) {
            slot.tick = tick;
        }
        inner.stats.hits += 1;
        Some(entry)
    }

    /// Counts a response that was not stored.
    pub(super) fn skipped(&self, why: Skipped) {
        let mut inner = self.lock();
        match why {
            Skipped::Oversize => inner.stats.skipped_oversize += 1,
            Skipped::Incomplete => inner.stats.skipped_incomplete += 1,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // NOTE: no code under this lock panics; if a bug ever made it, the maps are still
        // consistent enough to serve from, so poisoning is ignored rather than spread.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// === impl Inner ===

impl Inner {
    /// Records a use of `key` and returns its new tick.
    fn touch(&mut self, key: CacheKey) -> u64 {
        let tick = self.next_tick;
        self.next_tick += 1;
        self.order.insert(tick, key);
        tick
    }

    fn remove(&mut self, key: &CacheKey) {
        if let Some(slot) = self.entries.remove(key) {
            self.order.remove(&slot.tick);
            self.stats.bytes -= slot.entry.weight;
        }
    }

    /// Evicts the least recently used entry; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        let Some((_, key)) = self.order.pop_first() else {
            return false;
        };
        if let Some(slot) = self.entries.remove(&key) {
            self.stats.bytes -= slot.entry.weight;
        }
        true
    }
}
