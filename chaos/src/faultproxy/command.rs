//! `chaos proxy`: the fault proxy's API served standalone, like `toxiproxy-server`.
//!
//! ```text
//! bind the API (exit 3 on failure) -> "listening on ADDR" on stdout
//!   -> serve until SIGTERM/SIGINT -> API drains -> every proxy stopped
//!      (listeners and every proxied connection closed) -> exit 0
//! ```

use std::io::{self, Write};
use std::net::SocketAddr;

use thiserror::Error;
use tokio::net::TcpListener;
use tracing::info;

use super::api::serve_api;
use super::engine::FaultProxy;
use crate::Exit;
use crate::cli::ProxyArgs;
use crate::signal;

/// Everything `run` needs, typed and validated (by clap).
#[derive(Debug)]
pub(crate) struct Settings {
    listen: SocketAddr,
    seed: u64,
}

impl From<ProxyArgs> for Settings {
    fn from(args: ProxyArgs) -> Self {
        Settings {
            listen: args.listen,
            seed: args.seed,
        }
    }
}

/// A failure that stops `chaos proxy` before it serves.
#[derive(Debug, Error)]
pub(crate) enum CommandError {
    /// The API address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address from `--listen`.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The bound socket did not report its address, so the port cannot be announced.
    #[error("cannot read the bound address")]
    LocalAddr(#[source] io::Error),
    /// The `listening on` line could not be written (e.g. stdout closed).
    #[error("cannot announce the listening address on stdout")]
    Announce(#[source] io::Error),
    /// SIGTERM/SIGINT handlers could not be installed, so a graceful stop is impossible.
    #[error("cannot install signal handlers")]
    Signal(#[source] io::Error),
}

// === impl CommandError ===

impl CommandError {
    /// Every variant is the environment's fault: the arguments were already valid.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            CommandError::Bind { .. }
            | CommandError::LocalAddr(_)
            | CommandError::Announce(_)
            | CommandError::Signal(_) => Exit::Environment,
        }
    }
}

/// Binds the API, announces it, serves until SIGTERM/SIGINT, then closes everything.
pub(crate) async fn run(settings: Settings) -> Result<(), CommandError> {
    // Handlers first, so a stop signal sent right after the announcement is never lost.
    let stop = signal::stop_signal().map_err(CommandError::Signal)?;
    let listener =
        TcpListener::bind(settings.listen)
            .await
            .map_err(|source| CommandError::Bind {
                addr: settings.listen,
                source,
            })?;
    let local = listener.local_addr().map_err(CommandError::LocalAddr)?;
    announce(local).map_err(CommandError::Announce)?;
    info!(address = %local, seed = settings.seed, "Fault proxy API listening");

    let proxies = FaultProxy::new(settings.seed);
    serve_api(listener, proxies.clone(), async {
        let signal = stop.await;
        info!(%signal, "Stopping");
    })
    .await;
    proxies.shutdown().await;
    info!("Every proxied connection closed");
    Ok(())
}

/// Writes the one line parents wait for, flushed at once (stdout is a pipe when spawned).
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}
