//! Request counts for `GET /_chaos/stats`: how many requests the echo and `/healthz` received,
//! in total and per path, so tests and drills can count what reached the upstream rather than
//! what the gateway says it sent.
//!
//! A request is counted when it arrives, before hang, latency and the error draw apply: a
//! request held by `hang` has reached the upstream and is counted, and so is one answered with
//! an injected failure. Control paths (`/_chaos/*`) are never counted.
//!
//! JSON shape: `{"requests": N, "by_path": {"/x": N, ...}, "other_paths": N}`. `by_path` keeps
//! at most [`MAX_PATHS`] distinct paths (the first seen); requests to further paths are
//! counted in `requests` and `other_paths` only, so a scan of random paths cannot grow the
//! process without bound.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde_json::{Value, json};

/// Most distinct paths `by_path` keeps.
pub(crate) const MAX_PATHS: usize = 1024;

/// The counters of one upstream process (shared by all its connections).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    // A std Mutex: held for one map update, never across an await.
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    by_path: BTreeMap<String, u64>,
    other_paths: u64,
}

// === impl Stats ===

impl Stats {
    /// Counts one request to `path`.
    pub(crate) fn record(&self, path: &str) {
        // The update cannot panic, so a poisoned lock still holds consistent counts.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.requests += 1;
        if let Some(n) = counts.by_path.get_mut(path) {
            *n += 1;
        } else if counts.by_path.len() < MAX_PATHS {
            counts.by_path.insert(path.to_owned(), 1);
        } else {
            counts.other_paths += 1;
        }
    }

    /// The JSON shape documented at the top of this module.
    pub(crate) fn to_json(&self) -> Value {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        json!({
            "requests": counts.requests,
            "by_path": counts.by_path,
            "other_paths": counts.other_paths,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_new_counts_nothing() {
        assert_eq!(
            Stats::default().to_json(),
            json!({"requests": 0, "by_path": {}, "other_paths": 0})
        );
    }

    #[test]
    fn stats_record_counts_total_and_per_path() {
        let stats = Stats::default();
        for path in ["/a", "/b", "/a", "/healthz", "/a"] {
            stats.record(path);
        }
        assert_eq!(
            stats.to_json(),
            json!({"requests": 5, "by_path": {"/a": 3, "/b": 1, "/healthz": 1}, "other_paths": 0})
        );
    }

    #[test]
    fn stats_past_max_paths_counts_new_paths_as_other_only() {
        let stats = Stats::default();
        for i in 0..MAX_PATHS {
            stats.record(&format!("/p{i}"));
        }
        stats.record("/one-too-many");
        stats.record("/another");
        // A path already kept is still counted under its name.
        stats.record("/p0");
        let json = stats.to_json();
        assert_eq!(json["requests"], MAX_PATHS as u64 + 3);
        assert_eq!(json["other_paths"], 2);
        assert_eq!(json["by_path"].as_object().unwrap().len(), MAX_PATHS);
        assert_eq!(json["by_path"]["/p0"], 2);
        assert!(json["by_path"].get("/one-too-many").is_none());
    }
}
