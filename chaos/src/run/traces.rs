//! The embedded trace backend of a run: one in-process store (`observability::store`) with
//! its Jaeger-compatible query API on the loopback, and OTLP/HTTP receivers feeding it (one
//! on the loopback, one per namespace host on its host-side address).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};

use observability::store::{
    OtlpReceiver, QueryApi, ReceiverConfig, StoreLimits, TraceStore, serve_otlp, serve_query,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::error::RunError;

/// The embedded trace store with its OTLP receivers and Jaeger-compatible query API, all
/// on the loopback (plus one receiver per namespace host). Keeps serving queries until
/// dropped, so objectives can be judged after the run's teardown.
#[derive(Debug)]
pub struct TraceService {
    store: TraceStore,
    query_url: String,
    otlp_stop: CancellationToken,
    query_stop: CancellationToken,
    /// The query server and every receiver; aborted on drop.
    tasks: Mutex<Vec<AbortOnDropHandle<()>>>,
}

// === impl TraceService ===

impl TraceService {
    /// The store with its query API on `127.0.0.1:0`; OTLP receivers are added with
    /// [`add_otlp_listener`](Self::add_otlp_listener).
    pub(crate) async fn start() -> Result<TraceService, RunError> {
        let store = TraceStore::new(StoreLimits::default());
        let addr = "127.0.0.1:0";
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| bind("trace query API", addr, source))?;
        let local = listener
            .local_addr()
            .map_err(|source| bind("trace query API", addr, source))?;
        let query_stop = CancellationToken::new();
        let task = tokio::spawn(serve_query(
            listener,
            QueryApi::new(store.clone()),
            query_stop.clone().cancelled_owned(),
        ));
        Ok(TraceService {
            store,
            query_url: format!("http://{local}"),
            otlp_stop: CancellationToken::new(),
            query_stop,
            tasks: Mutex::new(vec![AbortOnDropHandle::new(task)]),
        })
    }

    /// One more OTLP/HTTP receiver feeding the store, on `ip:0` (a namespace host's address
    /// lets processes inside reach it); returns its base URL.
    pub(crate) async fn add_otlp_listener(&self, ip: IpAddr) -> Result<String, RunError> {
        let addr = SocketAddr::new(ip, 0);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| bind("trace OTLP receiver", &addr.to_string(), source))?;
        let local = listener
            .local_addr()
            .map_err(|source| bind("trace OTLP receiver", &addr.to_string(), source))?;
        let receiver = OtlpReceiver::new(self.store.clone(), ReceiverConfig::default());
        let task = tokio::spawn(serve_otlp(
            listener,
            receiver,
            self.otlp_stop.clone().cancelled_owned(),
        ));
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(AbortOnDropHandle::new(task));
        Ok(format!("http://{local}"))
    }

    /// The store (its span counters tell when exports have settled).
    pub fn store(&self) -> &TraceStore {
        &self.store
    }

    /// Base URL of the Jaeger-compatible query API.
    pub fn query_url(&self) -> &str {
        &self.query_url
    }

    /// Stops every OTLP receiver (at teardown); queries keep working.
    pub(crate) fn stop_receivers(&self) {
        self.otlp_stop.cancel();
    }
}

impl Drop for TraceService {
    fn drop(&mut self) {
        self.otlp_stop.cancel();
        self.query_stop.cancel();
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

fn bind(what: &'static str, addr: &str, source: std::io::Error) -> RunError {
    RunError::Bind {
        what,
        addr: addr.to_owned(),
        source,
    }
}
