//! Secondary indexes of the store: service → operations (with span kinds) and service →
//! traces / (service, operation) → traces, each ordered by the trace's first-ingest sequence.
//!
//! ```text
//! services: BTreeMap<service, ServiceEntry>          sorted, so listings need no sort
//!   ServiceEntry.spans                               live spans; the entry goes at 0
//!   ServiceEntry.traces: BTreeMap<seq, TraceId>      newest-first scan = .iter().rev()
//!   ServiceEntry.operations: BTreeMap<name, OperationEntry>
//!     OperationEntry.kinds: [live spans; 6]          one counter per OTLP span kind
//!     OperationEntry.traces: BTreeMap<seq, TraceId>
//! ```
//!
//! A search by service (and operation) walks only that service's (operation's) traces,
//! newest first, and stops after `depth` hits, so its cost is bounded by the candidates it
//! must reject, not by the store size. Attribute filters are not indexed: their values are
//! high-cardinality (ids, URLs) and an index would cost more memory than the spans; they are
//! checked on the candidates' spans instead.
//!
//! Counters are per live span, so services and operations disappear when their last span is
//! evicted (Jaeger's memory store keeps them forever; a bounded store should not).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::model::{TraceId, span_kind_name};

/// Number of OTLP span kinds (unspecified, internal, server, client, producer, consumer).
const KINDS: usize = 6;

/// One service's operations and traces.
#[derive(Debug, Default)]
struct ServiceEntry {
    spans: usize,
    traces: BTreeMap<u64, TraceId>,
    operations: BTreeMap<Arc<str>, OperationEntry>,
}

/// One operation's spans per kind, and the traces containing it.
#[derive(Debug, Default)]
struct OperationEntry {
    kinds: [usize; KINDS],
    traces: BTreeMap<u64, TraceId>,
}

/// An operation with one span kind, as the operations endpoints list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The span name.
    pub(crate) name: String,
    /// Lowercase kind name, `""` for unspecified.
    pub(crate) span_kind: &'static str,
}

/// The service and operation indexes.
#[derive(Debug, Default)]
pub(crate) struct Index {
    services: BTreeMap<Arc<str>, ServiceEntry>,
}

// === impl Index ===

impl Index {
    /// Records one span of trace `seq`/`id`.
    pub(crate) fn add(&mut self, seq: u64, id: TraceId, service: &Arc<str>, name: &str, kind: i32) {
        let entry = self.services.entry(Arc::clone(service)).or_default();
        entry.spans += 1;
        entry.traces.insert(seq, id);
        let operation = match entry.operations.get_mut(name) {
            Some(operation) => operation,
            None => entry.operations.entry(Arc::from(name)).or_default(),
        };
        if let Some(count) = operation.kinds.get_mut(kind_slot(kind)) {
            *count += 1;
        }
        operation.traces.insert(seq, id);
    }

    /// Forgets one span of the evicted trace `seq`; called once per span of that trace.
    pub(crate) fn remove(&mut self, seq: u64, service: &str, name: &str, kind: i32) {
        let Some(entry) = self.services.get_mut(service) else {
            return;
        };
        entry.spans = entry.spans.saturating_sub(1);
        entry.traces.remove(&seq);
        if let Some(operation) = entry.operations.get_mut(name) {
            if let Some(count) = operation.kinds.get_mut(kind_slot(kind)) {
                *count = count.saturating_sub(1);
            }
            operation.traces.remove(&seq);
            if operation.kinds.iter().all(|&n| n == 0) {
                entry.operations.remove(name);
            }
        }
        if entry.spans == 0 {
            self.services.remove(service);
        }
    }

    /// Service names, sorted.
    pub(crate) fn services(&self) -> Vec<String> {
        self.services.keys().map(|s| s.to_string()).collect()
    }

    /// The service's operations, one entry per (name, kind) pair, sorted by name then kind;
    /// with `kind`, only that kind (`""` selects unspecified).
    pub(crate) fn operations(&self, service: &str, kind: Option<&str>) -> Vec<Operation> {
        let Some(entry) = self.services.get(service) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, operation) in &entry.operations {
            for (slot, &count) in operation.kinds.iter().enumerate() {
                let span_kind = span_kind_name(slot as i32);
                if count > 0 && kind.is_none_or(|k| k == span_kind) {
                    out.push(Operation {
                        name: name.to_string(),
                        span_kind,
                    });
                }
            }
        }
        out
    }

    /// `(seq, id)` of the service's (and operation's) traces first ingested before `before`,
    /// newest first; searches resume from the last `seq` they saw.
    pub(crate) fn traces_before<'a>(
        &'a self,
        service: &str,
        operation: Option<&str>,
        before: u64,
    ) -> Box<dyn Iterator<Item = (u64, TraceId)> + 'a> {
        let Some(entry) = self.services.get(service) else {
            return Box::new(std::iter::empty());
        };
        let traces = match operation {
            None => &entry.traces,
            Some(name) => match entry.operations.get(name) {
                Some(operation) => &operation.traces,
                None => return Box::new(std::iter::empty()),
            },
        };
        Box::new(traces.range(..before).rev().map(|(&seq, &id)| (seq, id)))
    }
}

/// The counter slot of an OTLP kind; unknown values count as unspecified.
fn kind_slot(kind: i32) -> usize {
    usize::try_from(kind)
        .ok()
        .filter(|&k| k < KINDS)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> TraceId {
        TraceId([n; 16])
    }

    #[test]
    fn index_lists_operations_per_kind_and_filters_by_kind() {
        let gw: Arc<str> = Arc::from("gw");
        let mut index = Index::default();
        index.add(1, id(1), &gw, "GET", 2);
        index.add(1, id(1), &gw, "GET", 3);
        index.add(2, id(2), &gw, "work", 0);
        let all = index.operations("gw", None);
        assert_eq!(
            all.iter()
                .map(|o| (o.name.as_str(), o.span_kind))
                .collect::<Vec<_>>(),
            [("GET", "server"), ("GET", "client"), ("work", "")]
        );
        assert_eq!(index.operations("gw", Some("client")).len(), 1);
        assert_eq!(index.operations("gw", Some("")).len(), 1);
        assert!(index.operations("nope", None).is_empty());
    }

    #[test]
    fn index_traces_come_newest_first_and_vanish_with_their_spans() {
        let gw: Arc<str> = Arc::from("gw");
        let mut index = Index::default();
        index.add(1, id(1), &gw, "GET", 2);
        index.add(2, id(2), &gw, "GET", 2);
        index.add(3, id(3), &gw, "PUT", 2);
        let ids = |op, before| {
            index
                .traces_before("gw", op, before)
                .map(|(_, id)| id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(None, u64::MAX), [id(3), id(2), id(1)]);
        assert_eq!(ids(Some("GET"), u64::MAX), [id(2), id(1)]);
        assert_eq!(ids(None, 3), [id(2), id(1)]);

        index.remove(1, "gw", "GET", 2);
        index.remove(3, "gw", "PUT", 2);
        let left: Vec<_> = index.traces_before("gw", None, u64::MAX).collect();
        assert_eq!(left, [(2, id(2))]);
        assert_eq!(index.operations("gw", None).len(), 1);
        index.remove(2, "gw", "GET", 2);
        assert!(index.services().is_empty());
    }
}
