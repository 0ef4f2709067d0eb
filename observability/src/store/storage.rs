//! The bounded, thread-safe trace store: spans joined into traces by id, the oldest whole
//! traces evicted when a limit is crossed, and the indexes searches use.
//!
//! # Structure
//!
//! ```text
//! RwLock<State>
//!   traces:  HashMap<TraceId, TraceEntry>     lookup by id; a trace's spans in arrival order
//!   arrival: VecDeque<(seq, TraceId)>         first-ingest order: evict from the front,
//!                                             search without a service from the back
//!   index:   Index                            service → operations / traces (see `index`)
//! ```
//!
//! A span joins the trace with its id whatever batch, process or service it comes from; the
//! trace keeps the sequence number of its first span, so eviction and result order follow
//! first-ingest time, as in Jaeger's memory store.
//!
//! # Concurrency
//!
//! One `std::sync::RwLock` rather than shards: a search walks one index in sequence order,
//! which sharding by trace id would turn into a k-way merge. Ingest decodes, validates, sizes
//! and allocates spans before taking the write lock, then holds it only to link them in
//! (O(spans · log traces)) and evict. A search takes the read lock only to copy the `Arc`s of
//! up to 1024 candidate traces at a time, and checks their spans, adjusts and renders JSON
//! with the lock released, so a search that rejects most of a million spans (the worst case,
//! ~0.1 s, see the `store` benchmark) delays ingest by one chunk at most, never by the whole
//! scan. Queries run in parallel with each other. The lock is never held across `.await`.

use std::collections::{HashMap, VecDeque};
use std::num::{NonZeroU64, NonZeroUsize};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::index::{Index, Operation};
use super::ingest;
use super::model::{SpanRecord, TraceId};
use super::search::TraceQuery;

/// A stored trace's spans, in arrival order. Readers hold the `Arc` after the lock is gone;
/// a later append copies the list only if a reader still holds it (`Arc::make_mut`).
pub(crate) type TraceSpans = Arc<Vec<Arc<SpanRecord>>>;

/// Candidate traces examined per read-lock acquisition during a search: bounds how long a
/// search that rejects many candidates can keep ingest waiting.
const SCAN_CHUNK: usize = 1024;

/// How much the store may hold before it evicts the oldest traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    max_spans: NonZeroUsize,
    max_bytes: NonZeroU64,
}

// === impl StoreLimits ===

impl StoreLimits {
    // `MIN` (1) plus the rest: a non-zero constant without an unwrap.
    /// Default span limit: 1,000,000 spans.
    pub const DEFAULT_MAX_SPANS: NonZeroUsize = NonZeroUsize::MIN.saturating_add(999_999);
    /// Default byte limit: 1 GiB of approximate span size.
    pub const DEFAULT_MAX_BYTES: NonZeroU64 = NonZeroU64::MIN.saturating_add((1 << 30) - 1);

    /// Limits of `max_spans` spans and `max_bytes` approximate bytes (each span counts its
    /// protobuf-encoded size plus a fixed bookkeeping overhead of 160 bytes).
    pub fn new(max_spans: NonZeroUsize, max_bytes: NonZeroU64) -> Self {
        Self {
            max_spans,
            max_bytes,
        }
    }

    /// The span limit.
    pub fn max_spans(&self) -> NonZeroUsize {
        self.max_spans
    }

    /// The byte limit.
    pub fn max_bytes(&self) -> NonZeroU64 {
        self.max_bytes
    }
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_SPANS, Self::DEFAULT_MAX_BYTES)
    }
}

/// A snapshot of the store's size and its lifetime counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Spans held now.
    pub spans_stored: u64,
    /// Traces held now.
    pub traces_stored: u64,
    /// Approximate bytes held now.
    pub bytes_stored: u64,
    /// Spans accepted since start (including ones evicted since).
    pub spans_accepted_total: u64,
    /// Spans dropped by eviction since start.
    pub spans_evicted_total: u64,
    /// Traces dropped by eviction since start.
    pub traces_evicted_total: u64,
    /// Spans refused at ingest (invalid ids) since start.
    pub spans_rejected_total: u64,
}

/// What one export request did to the store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IngestSummary {
    /// Spans stored.
    pub accepted: u64,
    /// Spans refused, reported as OTLP `partial_success.rejected_spans`.
    pub rejected: u64,
    /// Why the first refused span was refused, with the count; `None` when nothing was.
    pub error_message: Option<String>,
}

/// The embedded trace store; cheap to clone (all clones share one store).
///
/// ```
/// use observability::store::{StoreLimits, TraceStore};
///
/// let store = TraceStore::new(StoreLimits::default());
/// assert_eq!(store.stats().spans_stored, 0);
/// ```
#[derive(Debug, Clone)]
pub struct TraceStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    limits: StoreLimits,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    next_seq: u64,
    traces: HashMap<TraceId, TraceEntry>,
    arrival: VecDeque<(u64, TraceId)>,
    index: Index,
    stats: StoreStats,
}

#[derive(Debug)]
struct TraceEntry {
    seq: u64,
    spans: TraceSpans,
    bytes: u64,
    first_start_ns: u64,
    last_start_ns: u64,
}

// === impl TraceStore ===

impl TraceStore {
    /// An empty store bounded by `limits`.
    pub fn new(limits: StoreLimits) -> Self {
        Self {
            shared: Arc::new(Shared {
                limits,
                state: RwLock::new(State::default()),
            }),
        }
    }

    /// The limits the store was built with.
    pub fn limits(&self) -> StoreLimits {
        self.shared.limits
    }

    /// Current size and lifetime counters.
    pub fn stats(&self) -> StoreStats {
        self.read().stats
    }

    /// Stores every valid span of `request`, joining spans into traces by trace id, then
    /// evicts the oldest traces while a limit is exceeded. Spans with invalid ids are counted
    /// as rejected and skipped; the rest are stored.
    pub fn ingest(&self, request: ExportTraceServiceRequest) -> IngestSummary {
        let batch = ingest::records(request);
        let accepted = batch.spans.len() as u64;
        let rejected = batch.rejected;
        // Allocate before locking: the write lock covers linking only.
        let spans: Vec<Arc<SpanRecord>> = batch.spans.into_iter().map(Arc::new).collect();
        let mut state = self.write();
        state.stats.spans_rejected_total += rejected;
        state.insert(spans);
        state.evict(self.shared.limits);
        IngestSummary {
            accepted,
            rejected,
            error_message: batch.error_message,
        }
    }

    /// The spans of trace `id`, in arrival order.
    pub(crate) fn trace(&self, id: TraceId) -> Option<TraceSpans> {
        self.read()
            .traces
            .get(&id)
            .map(|entry| Arc::clone(&entry.spans))
    }

    /// Up to `query.depth` matching traces, the most recently first-ingested first.
    ///
    /// Candidates are taken under the read lock in chunks of [`SCAN_CHUNK`] and their spans
    /// checked after it is released; the next chunk resumes below the last sequence number
    /// seen, so traces ingested meanwhile are not visited and evicted ones are skipped.
    pub(crate) fn find(&self, query: &TraceQuery) -> Vec<TraceSpans> {
        let mut found = Vec::new();
        let mut before = u64::MAX;
        while found.len() < query.depth {
            let (chunk, last_seq) = self.candidates(query, before);
            for spans in chunk {
                if spans.iter().any(|span| query.matches(span)) {
                    found.push(spans);
                    if found.len() == query.depth {
                        break;
                    }
                }
            }
            match last_seq {
                Some(seq) => before = seq,
                None => break,
            }
        }
        found
    }

    /// The next chunk of candidates first-ingested before `before` whose span start range
    /// overlaps the query's window, and the lowest sequence number examined (`None`: none left).
    fn candidates(&self, query: &TraceQuery, before: u64) -> (Vec<TraceSpans>, Option<u64>) {
        let state = self.read();
        let ids: Box<dyn Iterator<Item = (u64, TraceId)> + '_> = match &query.service {
            Some(service) => state
                .index
                .traces_before(service, query.operation.as_deref(), before),
            None => {
                let end = state.arrival.partition_point(|&(seq, _)| seq < before);
                Box::new(state.arrival.range(..end).rev().copied())
            }
        };
        let mut chunk = Vec::new();
        let mut last_seq = None;
        for (seq, id) in ids.take(SCAN_CHUNK) {
            last_seq = Some(seq);
            if let Some(entry) = state.traces.get(&id)
                && query.may_overlap(entry.first_start_ns, entry.last_start_ns)
            {
                chunk.push(Arc::clone(&entry.spans));
            }
        }
        (chunk, last_seq)
    }

    /// Services with at least one stored span, sorted.
    pub(crate) fn services(&self) -> Vec<String> {
        self.read().index.services()
    }

    /// The service's operations (see [`Index::operations`]).
    pub(crate) fn operations(&self, service: &str, kind: Option<&str>) -> Vec<Operation> {
        self.read().index.operations(service, kind)
    }

    // A panic while holding the lock cannot leave a half-linked trace visible in a way that
    // breaks readers (every map access tolerates missing entries), so poisoning is ignored.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

// === impl State ===

impl State {
    fn insert(&mut self, spans: Vec<Arc<SpanRecord>>) {
        for span in spans {
            let start = span.start_ns();
            let entry = match self.traces.get_mut(&span.trace_id) {
                Some(entry) => entry,
                None => {
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    self.arrival.push_back((seq, span.trace_id));
                    self.stats.traces_stored += 1;
                    self.traces.entry(span.trace_id).or_insert(TraceEntry {
                        seq,
                        spans: Arc::default(),
                        bytes: 0,
                        first_start_ns: start,
                        last_start_ns: start,
                    })
                }
            };
            if let Some(service) = &span.resource.service {
                self.index.add(
                    entry.seq,
                    span.trace_id,
                    service,
                    &span.span.name,
                    span.span.kind,
                );
            }
            entry.first_start_ns = entry.first_start_ns.min(start);
            entry.last_start_ns = entry.last_start_ns.max(start);
            entry.bytes += span.size;
            self.stats.bytes_stored += span.size;
            self.stats.spans_stored += 1;
            self.stats.spans_accepted_total += 1;
            Arc::make_mut(&mut entry.spans).push(span);
        }
    }

    /// Drops whole traces, oldest first-ingest first, until both limits hold again. A trace
    /// larger than a limit on its own is dropped too: the store never holds more than allowed.
    fn evict(&mut self, limits: StoreLimits) {
        while self.stats.spans_stored > limits.max_spans.get() as u64
            || self.stats.bytes_stored > limits.max_bytes.get()
        {
            let Some((_, id)) = self.arrival.pop_front() else {
                break;
            };
            let Some(entry) = self.traces.remove(&id) else {
                continue;
            };
            for span in entry.spans.iter() {
                if let Some(service) = &span.resource.service {
                    self.index
                        .remove(entry.seq, service, &span.span.name, span.span.kind);
                }
            }
            let count = entry.spans.len() as u64;
            self.stats.spans_stored -= count;
            self.stats.bytes_stored -= entry.bytes;
            self.stats.traces_stored -= 1;
            self.stats.spans_evicted_total += count;
            self.stats.traces_evicted_total += 1;
        }
    }
}
