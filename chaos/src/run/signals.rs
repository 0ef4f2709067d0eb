//! SIGINT (Ctrl-C) and SIGTERM during `chaos run`: the first cancels the drill and lets
//! teardown finish (every fault undone, every process stopped); a second one asks for an
//! immediate teardown, which the command does by dropping the run, so that the drop guards
//! (supervisor: SIGKILL to every child; namespace hosts: tables, veths and namespaces
//! deleted) do the cleanup at once.

use std::io;
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::signal::StopSignal;

/// The installed handlers; dropping this removes nothing (tokio keeps handlers installed)
/// but stops listening.
#[derive(Debug)]
pub(crate) struct Signals {
    first: Arc<OnceLock<StopSignal>>,
    immediate: CancellationToken,
    _task: AbortOnDropHandle<()>,
}

// === impl Signals ===

impl Signals {
    /// Installs the handlers now: the first signal cancels `cancel`, the second fires
    /// [`immediate`](Self::immediate).
    #[cfg(unix)]
    pub(crate) fn install(cancel: CancellationToken) -> io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};

        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let first = Arc::new(OnceLock::new());
        let immediate = CancellationToken::new();
        let task = {
            let first = Arc::clone(&first);
            let immediate = immediate.clone();
            tokio::spawn(async move {
                loop {
                    let received = tokio::select! {
                        _ = terminate.recv() => StopSignal::Terminate,
                        _ = interrupt.recv() => StopSignal::Interrupt,
                    };
                    if !on_signal(received, &first, &cancel, &immediate) {
                        return;
                    }
                }
            })
        };
        Ok(Signals {
            first,
            immediate,
            _task: AbortOnDropHandle::new(task),
        })
    }

    /// Without Unix signals, only Ctrl-C is handled, the same way.
    #[cfg(not(unix))]
    pub(crate) fn install(cancel: CancellationToken) -> io::Result<Signals> {
        let first = Arc::new(OnceLock::new());
        let immediate = CancellationToken::new();
        let task = {
            let first = Arc::clone(&first);
            let immediate = immediate.clone();
            tokio::spawn(async move {
                while tokio::signal::ctrl_c().await.is_ok() {
                    if !on_signal(StopSignal::Interrupt, &first, &cancel, &immediate) {
                        return;
                    }
                }
            })
        };
        Ok(Signals {
            first,
            immediate,
            _task: AbortOnDropHandle::new(task),
        })
    }

    /// The first signal received, if any.
    pub(crate) fn received(&self) -> Option<StopSignal> {
        self.first.get().copied()
    }

    /// Fires on the second signal.
    pub(crate) fn immediate(&self) -> &CancellationToken {
        &self.immediate
    }
}

/// One received signal: the first cancels the drill, the second asks for an immediate
/// teardown. `false` once nothing more is to be listened for.
fn on_signal(
    received: StopSignal,
    first: &OnceLock<StopSignal>,
    cancel: &CancellationToken,
    immediate: &CancellationToken,
) -> bool {
    if first.set(received).is_ok() {
        tracing::warn!(signal = %received, "Stopping the drill: undoing faults and tearing down (send it again to tear down at once)");
        cancel.cancel();
        true
    } else {
        tracing::warn!(signal = %received, "Second signal: tearing down at once");
        immediate.cancel();
        false
    }
}
