//! Process signals that ask a long-running command to stop: SIGTERM and SIGINT (Ctrl-C).

use std::fmt;
use std::future::Future;
use std::io;

/// Which signal asked the command to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopSignal {
    /// SIGTERM, e.g. from a supervisor or `kill`.
    Terminate,
    /// SIGINT, e.g. Ctrl-C in a terminal.
    Interrupt,
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Interrupt => "SIGINT",
        })
    }
}

/// Installs the handlers now and returns a future that resolves on the first stop signal.
///
/// Installing eagerly matters: a parent that sends SIGTERM right after reading our first
/// stdout line must not hit the default disposition (immediate death, no drain).
/// Must be called inside a tokio runtime.
#[cfg(unix)]
pub(crate) fn stop_signal() -> io::Result<impl Future<Output = StopSignal>> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => StopSignal::Terminate,
            _ = interrupt.recv() => StopSignal::Interrupt,
        }
    })
}

/// Installs the Ctrl-C handler and returns a future that resolves when it fires.
#[cfg(not(unix))]
pub(crate) fn stop_signal() -> io::Result<impl Future<Output = StopSignal>> {
    Ok(async {
        // Without a handler there is no graceful stop; the default handling still ends us.
        let _ = tokio::signal::ctrl_c().await;
        StopSignal::Interrupt
    })
}
