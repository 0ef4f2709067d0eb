//! Run-time hooks into a running load: headers added to every request from a moment on, and
//! a live stream of finished records.
//!
//! A drill needs both while the schedule runs: the `gateway_fault` fault asks the gateway's
//! fault filter for aborts and delays through request headers during its window only, and
//! guards judge the error rate and latency of the last seconds without waiting for the report.

use std::sync::Arc;

use arc_swap::ArcSwap;
use http::HeaderMap;
use tokio::sync::mpsc;

use super::record::RequestRecord;

/// Headers added to every request sent from now on; cheap to clone, every clone shares them.
///
/// Read once per request without locking (`arc-swap`), so changing them during a run costs
/// the requests nothing. A header set here replaces a mix entry's header of the same name.
///
/// ```
/// use chaos::load::ExtraHeaders;
/// use http::{HeaderMap, HeaderValue};
///
/// let extra = ExtraHeaders::default();
/// let mut headers = HeaderMap::new();
/// headers.insert("x-fault-abort-request", HeaderValue::from_static("503"));
/// extra.set(headers);
/// assert_eq!(extra.current().len(), 1);
/// extra.clear();
/// assert!(extra.current().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct ExtraHeaders {
    current: Arc<ArcSwap<HeaderMap>>,
}

/// What the request tasks share with the generator's owner.
#[derive(Debug, Default)]
pub(crate) struct Hooks {
    pub(crate) headers: ExtraHeaders,
    pub(crate) finished: Option<mpsc::UnboundedSender<RequestRecord>>,
}

// === impl ExtraHeaders ===

impl ExtraHeaders {
    /// Replaces the added headers; requests sent after this call carry them.
    pub fn set(&self, headers: HeaderMap) {
        self.current.store(Arc::new(headers));
    }

    /// Stops adding headers.
    pub fn clear(&self) {
        self.current.store(Arc::new(HeaderMap::new()));
    }

    /// The headers added now.
    pub fn current(&self) -> Arc<HeaderMap> {
        self.current.load_full()
    }

    /// Writes the added headers into `headers`, replacing values of the same names.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        let extra = self.current.load();
        for name in extra.keys() {
            headers.remove(name);
            for value in extra.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
    }
}

// === impl Hooks ===

impl Hooks {
    /// Hands a finished (or never sent) request's record to the subscriber, if any.
    pub(crate) fn on_record(&self, record: &RequestRecord) {
        if let Some(finished) = &self.finished {
            // A subscriber that went away no longer wants records.
            let _ = finished.send(record.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn extra_headers_replace_same_names_and_keep_others() {
        let extra = ExtraHeaders::default();
        let mut request = HeaderMap::new();
        request.insert("accept", HeaderValue::from_static("text/plain"));
        request.insert("x-fault-delay-request", HeaderValue::from_static("1"));

        extra.apply(&mut request);
        assert_eq!(request.len(), 2, "nothing set, nothing changed");

        let mut set = HeaderMap::new();
        set.insert("x-fault-delay-request", HeaderValue::from_static("100"));
        set.append("x-multi", HeaderValue::from_static("a"));
        set.append("x-multi", HeaderValue::from_static("b"));
        extra.clone().set(set);
        extra.apply(&mut request);
        assert_eq!(request["x-fault-delay-request"], "100");
        assert_eq!(request["accept"], "text/plain");
        let multi: Vec<_> = request.get_all("x-multi").iter().collect();
        assert_eq!(multi, ["a", "b"]);

        extra.clear();
        let mut fresh = HeaderMap::new();
        extra.apply(&mut fresh);
        assert!(fresh.is_empty());
    }
}
