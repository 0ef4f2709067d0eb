//! Why `chaos upstream` could not run, and which exit status each reason maps to.

use std::io;
use std::net::SocketAddr;

use thiserror::Error;

use crate::Exit;

/// A failure that stops `chaos upstream` before or while it serves.
#[derive(Debug, Error)]
pub(crate) enum UpstreamError {
    /// The listen address could not be bound (in use, not local, no permission).
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

// === impl UpstreamError ===

impl UpstreamError {
    /// Every variant is the environment's fault: the arguments were already valid.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            UpstreamError::Bind { .. }
            | UpstreamError::LocalAddr(_)
            | UpstreamError::Announce(_)
            | UpstreamError::Signal(_) => Exit::Environment,
        }
    }
}
