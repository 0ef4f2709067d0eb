//! Pooled keep-alive HTTP clients to upstream endpoints, shared across config versions so a
//! reload does not throw away warm connections.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::body::ProxyBody;

/// The client type: HTTP/1.1 over pooled TCP connections.
pub(crate) type HttpClient = Client<HttpConnector, ProxyBody>;

/// How long an idle pooled connection is kept. Below the common upstream keep-alive timeouts
/// (nginx 75s, Go 90s) so the gateway, not the upstream, closes idle connections in most
/// setups, which avoids racing a request against the upstream's close.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a client whose connects give up after `connect_timeout`.
pub(crate) fn http_client(connect_timeout: Duration, pool: bool) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    connector.enforce_http(true);
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT);
    if !pool {
        builder.pool_max_idle_per_host(0);
    }
    builder.build(connector)
}

/// Clients by connect timeout. The pool inside each is keyed by endpoint address, so one
/// client serves every upstream with that timeout.
#[derive(Debug, Default)]
pub(crate) struct ClientCache {
    clients: Mutex<HashMap<Duration, HttpClient>>,
}

impl ClientCache {
    /// The shared pooled client for `connect_timeout`.
    pub(crate) fn client(&self, connect_timeout: Duration) -> HttpClient {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients
            .entry(connect_timeout)
            .or_insert_with(|| http_client(connect_timeout, true))
            .clone()
    }
}
