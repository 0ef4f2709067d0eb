//! Why `chaos upstream` could not run, and which exit status each reason maps to.

use std::io;
use std::net::SocketAddr;

use observability::telemetry::{SettingsError, TelemetryError};
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
    /// An `OTEL_*` variable the span export reads is unusable.
    #[error("invalid trace export settings")]
    TraceSettings(#[source] SettingsError),
    /// The span export pipeline could not start.
    #[error("cannot start span export")]
    Telemetry(#[source] TelemetryError),
}

// === impl UpstreamError ===

impl UpstreamError {
    /// Input problems exit 2; everything else is the environment's fault (3), since the
    /// arguments themselves were already validated by clap.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            UpstreamError::TraceSettings(_)
            // Only a bad endpoint URL (from `OTEL_EXPORTER_OTLP_*`) fails to build an exporter.
            | UpstreamError::Telemetry(TelemetryError::Exporter { .. }) => Exit::Usage,
            UpstreamError::Bind { .. }
            | UpstreamError::LocalAddr(_)
            | UpstreamError::Announce(_)
            | UpstreamError::Signal(_)
            | UpstreamError::Telemetry(TelemetryError::Thread(_) | TelemetryError::Export(_)) => {
                Exit::Environment
            }
        }
    }
}
