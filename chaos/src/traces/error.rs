//! Why `chaos traces` could not run, and which exit status each reason maps to.

use std::io;
use std::net::SocketAddr;

use thiserror::Error;

use crate::Exit;

/// A failure that stops `chaos traces` before it serves.
#[derive(Debug, Error)]
pub(crate) enum TracesError {
    /// A listen address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr} for {role}")]
    Bind {
        /// Which listener: `otlp` or `query`.
        role: &'static str,
        /// The address from `--otlp-listen` or `--query-listen`.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A bound socket did not report its address, so the port cannot be announced.
    #[error("cannot read the bound address")]
    LocalAddr(#[source] io::Error),
    /// The `listening` line could not be written (e.g. stdout closed).
    #[error("cannot announce the listening addresses on stdout")]
    Announce(#[source] io::Error),
    /// SIGTERM/SIGINT handlers could not be installed, so a graceful stop is impossible.
    #[error("cannot install signal handlers")]
    Signal(#[source] io::Error),
}

// === impl TracesError ===

impl TracesError {
    /// Every variant is the environment's fault: the arguments were already valid.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            TracesError::Bind { .. }
            | TracesError::LocalAddr(_)
            | TracesError::Announce(_)
            | TracesError::Signal(_) => Exit::Environment,
        }
    }
}
