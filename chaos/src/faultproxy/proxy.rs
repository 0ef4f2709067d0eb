//! One named proxy: its listener, its accept loop, its live connections, and the
//! enable/disable/update lifecycle (Toxiproxy's `proxy.go`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, debug_span, info, warn};

use super::collection::{ToxicCollection, mix};
use super::connection::{Sockets, pump};
use super::error::FaultProxyError;
use super::model::{ProxyConfig, ProxyState, ProxyUpdate};

/// Where an empty `listen` binds: loopback, any free port (Go would bind every interface).
const DEFAULT_LISTEN: &str = "127.0.0.1:0";

/// Pause after a failed accept (EMFILE and the like persist; retrying at once would spin).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A proxy and everything it runs.
#[derive(Debug)]
pub(crate) struct Proxy {
    name: String,
    toxics: Arc<ToxicCollection>,
    connections: Arc<Connections>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// As configured until started, then the bound address.
    listen: String,
    upstream: String,
    /// The running accept loop; `Some` exactly when enabled.
    acceptor: Option<Acceptor>,
}

#[derive(Debug)]
struct Acceptor {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// The live connections of a proxy, each with the switch that closes it at once.
#[derive(Debug, Default)]
struct Connections {
    next_id: AtomicU64,
    // A std mutex: held for one insert, remove or sweep, never across an await.
    live: StdMutex<HashMap<u64, CancellationToken>>,
    tasks: TaskTracker,
}

// === impl Proxy ===

impl Proxy {
    /// A stopped proxy; `seed` is the fault proxy's seed.
    pub(crate) fn new(config: &ProxyConfig, seed: u64) -> Self {
        let proxy_seed = mix(seed, fnv1a(config.name.as_bytes()));
        Proxy {
            name: config.name.clone(),
            toxics: Arc::new(ToxicCollection::new(&config.name, proxy_seed)),
            connections: Arc::default(),
            state: Mutex::new(State {
                listen: config.listen.clone(),
                upstream: config.upstream.clone(),
                acceptor: None,
            }),
        }
    }

    pub(crate) fn toxics(&self) -> &Arc<ToxicCollection> {
        &self.toxics
    }

    /// The proxy as the API shows it.
    pub(crate) async fn snapshot(&self) -> ProxyState {
        let (listen, upstream, enabled) = {
            let state = self.state.lock().await;
            (
                state.listen.clone(),
                state.upstream.clone(),
                state.acceptor.is_some(),
            )
        };
        ProxyState {
            name: self.name.clone(),
            listen,
            upstream,
            enabled,
            toxics: self.toxics.list().await,
        }
    }

    /// Whether `config` asks for this proxy's listen and upstream (for `/populate`).
    pub(crate) async fn matches(&self, config: &ProxyConfig) -> bool {
        let state = self.state.lock().await;
        same_listen(&config.listen, &state.listen) && config.upstream == state.upstream
    }

    /// Binds and starts accepting; does nothing when already started.
    pub(crate) async fn start(&self) -> Result<(), FaultProxyError> {
        let mut state = self.state.lock().await;
        self.start_locked(&mut state).await
    }

    /// Closes the listener (new connects are refused) and every live connection.
    pub(crate) async fn stop(&self) {
        let mut state = self.state.lock().await;
        self.stop_locked(&mut state).await;
    }

    /// Applies a partial update: a new listen or upstream restarts the proxy (dropping its
    /// connections); `enabled` starts or stops it.
    pub(crate) async fn update(&self, update: ProxyUpdate) -> Result<(), FaultProxyError> {
        let mut state = self.state.lock().await;
        let enabled = update.enabled.unwrap_or(state.acceptor.is_some());
        let listen = update.listen.unwrap_or_else(|| state.listen.clone());
        let upstream = update.upstream.unwrap_or_else(|| state.upstream.clone());
        if !same_listen(&listen, &state.listen) || upstream != state.upstream {
            self.stop_locked(&mut state).await;
            state.listen = listen;
            state.upstream = upstream;
        }
        match (enabled, state.acceptor.is_some()) {
            (true, false) => self.start_locked(&mut state).await,
            (false, true) => {
                self.stop_locked(&mut state).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn start_locked(&self, state: &mut State) -> Result<(), FaultProxyError> {
        if state.acceptor.is_some() {
            return Ok(());
        }
        let addr = match state.listen.as_str() {
            "" => DEFAULT_LISTEN,
            listen => listen,
        };
        let listen_error = |source| FaultProxyError::Listen {
            addr: addr.to_owned(),
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(listen_error)?;
        let local = listener.local_addr().map_err(listen_error)?;
        state.listen = local.to_string();
        info!(proxy = %self.name, listen = %local, upstream = %state.upstream, "Proxy listening");

        let stop = CancellationToken::new();
        let accept = accept_loop(
            listener,
            stop.clone(),
            state.upstream.clone(),
            Arc::clone(&self.toxics),
            Arc::clone(&self.connections),
        );
        let span = debug_span!("proxy", name = %self.name);
        state.acceptor = Some(Acceptor {
            stop,
            task: tokio::spawn(accept.instrument(span)),
        });
        Ok(())
    }

    async fn stop_locked(&self, state: &mut State) {
        if let Some(acceptor) = state.acceptor.take() {
            acceptor.stop.cancel();
            // The listener is dropped when the loop returns: connects are refused after this.
            let _ = acceptor.task.await;
            info!(proxy = %self.name, "Proxy stopped");
        }
        self.connections.close_all().await;
    }
}

/// `listen` values name the same address: equal text, or equal once parsed (so the bound
/// `127.0.0.1:8080` matches a request for it); an empty request matches nothing.
fn same_listen(requested: &str, current: &str) -> bool {
    if requested == current {
        return true;
    }
    match (
        requested.parse::<SocketAddr>(),
        current.parse::<SocketAddr>(),
    ) {
        (Ok(a), Ok(b)) => a == b && a.port() != 0,
        _ => false,
    }
}

/// FNV-1a, to turn a proxy name into seed material.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

async fn accept_loop(
    listener: TcpListener,
    stop: CancellationToken,
    upstream: String,
    toxics: Arc<ToxicCollection>,
    connections: Arc<Connections>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((client, peer)) => {
                connections.spawn(client, peer, upstream.clone(), Arc::clone(&toxics));
            }
            Err(error) => {
                warn!(%error, "Accept failed");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }
}

// === impl Connections ===

impl Connections {
    fn spawn(
        self: &Arc<Self>,
        client: TcpStream,
        peer: SocketAddr,
        upstream: String,
        toxics: Arc<ToxicCollection>,
    ) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let kill = CancellationToken::new();
        if let Ok(mut live) = self.live.lock() {
            live.insert(id, kill.clone());
        }
        let connections = Arc::clone(self);
        let span = debug_span!("connection", id, %peer);
        self.tasks.spawn(
            async move {
                serve(id, client, &upstream, &toxics, &kill).await;
                // Stages still running (e.g. ahead of a closed `limit_data`) stop here.
                kill.cancel();
                toxics.end_links(id).await;
                if let Ok(mut live) = connections.live.lock() {
                    live.remove(&id);
                }
            }
            .instrument(span),
        );
    }

    /// Closes every live connection at once and waits until their tasks have let go of
    /// the sockets.
    async fn close_all(&self) {
        if let Ok(live) = self.live.lock() {
            live.values().for_each(CancellationToken::cancel);
        }
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }
}

/// Dials the upstream for an accepted client, then pipes both links until they end or the
/// connection is killed. A failed dial just closes the client (it saw a successful connect
/// then EOF, as with Toxiproxy).
async fn serve(
    id: u64,
    client: TcpStream,
    upstream: &str,
    toxics: &ToxicCollection,
    kill: &CancellationToken,
) {
    let dialed = tokio::select! {
        () = kill.cancelled() => return,
        dialed = TcpStream::connect(upstream) => dialed,
    };
    let server = match dialed {
        Ok(server) => server,
        Err(error) => {
            debug!(%upstream, %error, "Upstream dial failed; closing the client");
            return;
        }
    };
    // Go's sockets default to TCP_NODELAY: chunks leave as the toxics release them.
    for socket in [&client, &server] {
        if let Err(error) = socket.set_nodelay(true) {
            debug!(%error, "Cannot set TCP_NODELAY");
        }
    }
    let (client, server) = (Arc::new(client), Arc::new(server));
    let sockets = Arc::new(Sockets::new(&client, &server));
    let [to_upstream, to_client] = tokio::select! {
        () = kill.cancelled() => return,
        ends = toxics.start_links(id, &sockets, kill) => ends,
    };
    debug!("Connection open");
    tokio::select! {
        () = kill.cancelled() => debug!("Connection killed"),
        () = pump(client, server, to_upstream, to_client) => debug!("Connection closed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_listen_compares_parsed_addresses_but_never_port_zero() {
        assert!(same_listen("127.0.0.1:80", "127.0.0.1:80"));
        assert!(same_listen("[0:0:0:0:0:0:0:1]:80", "[::1]:80"));
        assert!(!same_listen("127.0.0.1:0", "127.0.0.1:4000"));
        assert!(!same_listen("", "127.0.0.1:4000"));
        assert!(!same_listen("127.0.0.1:81", "127.0.0.1:80"));
    }
}
