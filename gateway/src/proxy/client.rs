//! Pooled keep-alive HTTP clients to upstream endpoints, shared across config versions so a
//! reload does not throw away warm connections.
//!
//! Cleartext upstreams use hyper-util's client over a plain `HttpConnector`, as before TLS
//! existed; upstreams with `tls:` use the same client over hyper-rustls' connector (https only,
//! so a misbuilt `http://` URI can never leak a request in cleartext), with the upstream's own
//! `ClientConfig` and, if set, a fixed server name for SNI and verification.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use http::Request;
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Builder, Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::body::ProxyBody;
use crate::tls::UpstreamTlsConfig;

/// A pooled HTTP/1.1 client, cleartext or https; cheap to clone (clones share the pool).
#[derive(Debug, Clone)]
pub(crate) enum HttpClient {
    /// `http://` endpoints.
    Plain(Client<HttpConnector, ProxyBody>),
    /// `https://` endpoints.
    Https(Client<HttpsConnector<HttpConnector>, ProxyBody>),
}

impl HttpClient {
    /// Sends `request` (absolute URI) over a pooled or new connection.
    pub(crate) fn request(&self, request: Request<ProxyBody>) -> ResponseFuture {
        match self {
            Self::Plain(client) => client.request(request),
            Self::Https(client) => client.request(request),
        }
    }
}

/// How long an idle pooled connection is kept. Below the common upstream keep-alive timeouts
/// (nginx 75s, Go 90s) so the gateway, not the upstream, closes idle connections in most
/// setups, which avoids racing a request against the upstream's close.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a client whose connects give up after `connect_timeout` (the TCP connect; the TLS
/// handshake, if any, is bounded by the request's timeouts), speaking https with `tls`.
pub(crate) fn http_client(
    connect_timeout: Duration,
    pool: bool,
    tls: Option<&UpstreamTlsConfig>,
) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT);
    if !pool {
        builder.pool_max_idle_per_host(0);
    }
    match tls {
        None => {
            connector.enforce_http(true);
            HttpClient::Plain(builder.build(connector))
        }
        Some(tls) => HttpClient::Https(https(&builder, connector, tls)),
    }
}

fn https(
    builder: &Builder,
    mut connector: HttpConnector,
    tls: &UpstreamTlsConfig,
) -> Client<HttpsConnector<HttpConnector>, ProxyBody> {
    // The https connector hands `https://` URIs to the TCP connector, which must accept them.
    connector.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config((*tls.client).clone())
        .https_only();
    let https = match &tls.server_name {
        Some(name) => https.with_server_name_resolver(FixedServerNameResolver::new(name.clone())),
        None => https,
    };
    builder.build(https.enable_http1().wrap_connector(connector))
}

/// Clients by connect timeout and TLS settings. The pool inside each is keyed by endpoint
/// address, so one client serves every upstream with the same settings.
#[derive(Debug, Default)]
pub(crate) struct ClientCache {
    // A list, not a map: TLS settings have no hash, and there are a handful of entries.
    clients: Mutex<Vec<(ClientKey, HttpClient)>>,
}

/// What makes two upstreams share a client: connect timeout and TLS settings.
type ClientKey = (Duration, Option<UpstreamTlsConfig>);

impl ClientCache {
    /// The shared pooled client for `connect_timeout` and `tls`.
    pub(crate) fn client(
        &self,
        connect_timeout: Duration,
        tls: Option<&UpstreamTlsConfig>,
    ) -> HttpClient {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, client)) = clients
            .iter()
            .find(|((t, s), _)| *t == connect_timeout && s.as_ref() == tls)
        {
            return client.clone();
        }
        let client = http_client(connect_timeout, true, tls);
        clients.push(((connect_timeout, tls.cloned()), client.clone()));
        client
    }
}
