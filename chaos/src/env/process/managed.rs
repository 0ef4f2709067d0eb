//! [`ManagedProcess`]: one supervised process and the faults a drill applies to it.

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tracing::{info, warn};

use super::child::{Incarnation, NotSent};
use super::{
    Current, ExitKind, KILL_WAIT, ProcessAction, ProcessEvent, REBIND_PAUSE, Registry, STOP_WAIT,
    Slot, event, launch, lock,
};
use crate::env::error::ProcessError;

/// A process started by a [`Supervisor`](super::Supervisor), with the faults that can be applied to it.
///
/// Holding it does not keep the process alive past the supervisor's shutdown.
#[derive(Debug)]
pub struct ManagedProcess {
    registry: Arc<Registry>,
    slot: Arc<Slot>,
    started: ProcessEvent,
}

// === impl ManagedProcess ===

impl ManagedProcess {
    pub(super) fn new(registry: Arc<Registry>, slot: Arc<Slot>, started: ProcessEvent) -> Self {
        ManagedProcess {
            registry,
            slot,
            started,
        }
    }

    /// The process's name.
    pub fn name(&self) -> &str {
        &self.slot.name
    }

    /// The current incarnation's pid, also its process group id.
    pub fn pid(&self) -> u32 {
        self.current().incarnation.pid()
    }

    /// The address the current incarnation announced on stdout, if its readiness check
    /// reads one.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.current().addr
    }

    /// The record of the first start.
    pub fn started(&self) -> &ProcessEvent {
        &self.started
    }

    /// The captured stdout (all incarnations, appended).
    pub fn stdout_path(&self) -> &Path {
        &self.slot.logs.stdout
    }

    /// The captured stderr (all incarnations, appended).
    pub fn stderr_path(&self) -> &Path {
        &self.slot.logs.stderr
    }

    /// How the current incarnation ended, once it has.
    pub fn exit_status(&self) -> Option<ExitKind> {
        self.current().incarnation.exit()
    }

    /// Whether the current incarnation has not exited (a paused one is running).
    pub fn is_running(&self) -> bool {
        self.exit_status().is_none()
    }

    /// Waits up to `limit` for the current incarnation to exit.
    pub async fn wait(&self, limit: Duration) -> Option<ExitKind> {
        self.current().incarnation.wait(limit).await
    }

    /// SIGKILL to the group; returns once the leader has exited.
    pub async fn kill(&self) -> Result<ProcessEvent, ProcessError> {
        let incarnation = self.current().incarnation;
        self.send(&incarnation, Signal::SIGKILL)?;
        let exit = self
            .exit_within(&incarnation, Signal::SIGKILL, KILL_WAIT)
            .await?;
        Ok(self.record(
            &incarnation,
            ProcessAction::Killed,
            Signal::SIGKILL,
            Some(exit),
        ))
    }

    /// SIGTERM (plus SIGCONT, so a paused process acts on it) to the group, then SIGKILL
    /// if it is still running after `grace`; returns once the leader has exited.
    pub async fn terminate(&self, grace: Duration) -> Result<ProcessEvent, ProcessError> {
        let incarnation = self.current().incarnation;
        self.send(&incarnation, Signal::SIGTERM)?;
        // A stopped process keeps SIGTERM pending; if it exits meanwhile, nothing to wake.
        let _ = incarnation.signal(Signal::SIGCONT);
        let (signal, exit) = match incarnation.wait(grace).await {
            Some(exit) => (Signal::SIGTERM, exit),
            None => {
                // Exited between the wait and now: the SIGTERM did it after all.
                if let Err(NotSent::Exited(exit)) = incarnation.signal(Signal::SIGKILL) {
                    (Signal::SIGTERM, exit)
                } else {
                    let exit = self
                        .exit_within(&incarnation, Signal::SIGKILL, KILL_WAIT)
                        .await?;
                    (Signal::SIGKILL, exit)
                }
            }
        };
        Ok(self.record(&incarnation, ProcessAction::Terminated, signal, Some(exit)))
    }

    /// SIGSTOP to the group; returns once the leader shows as stopped, so its listening
    /// socket still completes handshakes but nothing answers.
    pub async fn pause(&self) -> Result<ProcessEvent, ProcessError> {
        let incarnation = self.current().incarnation;
        self.send(&incarnation, Signal::SIGSTOP)?;
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        while !is_stopped(incarnation.pid()) {
            if let Some(exit) = incarnation.exit() {
                return Err(self.not_running(&incarnation, exit));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ProcessError::Unresponsive {
                    name: self.slot.name.clone(),
                    pid: incarnation.pid(),
                    signal: Signal::SIGSTOP,
                    waited: STOP_WAIT,
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(self.record(&incarnation, ProcessAction::Paused, Signal::SIGSTOP, None))
    }

    /// SIGCONT to the group.
    pub async fn resume(&self) -> Result<ProcessEvent, ProcessError> {
        let incarnation = self.current().incarnation;
        self.send(&incarnation, Signal::SIGCONT)?;
        Ok(self.record(&incarnation, ProcessAction::Resumed, Signal::SIGCONT, None))
    }

    /// Kills the process (if running), waits for its exit, and starts it again from the
    /// same spec, with the address it announced passed through the spec's `listen_flag`.
    ///
    /// Rebinding the same port right away works: std and tokio (mio) listeners set
    /// `SO_REUSEADDR` on Unix, so the old connections' TIME_WAIT does not block the bind,
    /// and the killed listener's socket is closed before its exit is observed. A bind can
    /// still fail while some other process holds the port (a surviving grandchild that
    /// inherited the socket, or a stranger that took it); a new incarnation that exits
    /// before ready with "Address already in use" in its stderr is retried every 50ms
    /// within the spec's `ready_timeout`.
    pub async fn restart(&self) -> Result<ProcessEvent, ProcessError> {
        let previous = self.current();
        let old = &previous.incarnation;
        let (signal, exit) = match old.signal(Signal::SIGKILL) {
            Ok(()) => (
                Some(Signal::SIGKILL),
                self.exit_within(old, Signal::SIGKILL, KILL_WAIT).await?,
            ),
            Err(NotSent::Exited(exit)) => (None, exit),
            Err(NotSent::Failed(source)) => {
                return Err(self.signal_error(old, Signal::SIGKILL, source));
            }
        };
        let spec = {
            let mut spec = lock(&self.slot.spec);
            if let Some(addr) = previous.addr {
                *spec = spec.with_listen(addr);
            }
            spec.clone()
        };
        let deadline = Instant::now() + spec.ready_timeout;
        loop {
            let launched = launch(&spec, &self.slot.logs)?;
            *lock(&self.slot.current) = Current {
                incarnation: Arc::clone(&launched.incarnation),
                addr: None,
            };
            match self
                .registry
                .until_ready(&spec, &self.slot.logs, &launched)
                .await
            {
                Ok(addr) => {
                    lock(&self.slot.current).addr = addr;
                    let action = ProcessAction::Restarted {
                        previous_pid: old.pid(),
                        addr,
                    };
                    info!(process = %self.slot.name, pid = launched.incarnation.pid(), addr = ?addr, "Process restarted");
                    return Ok(ProcessEvent {
                        signal,
                        exit: Some(exit),
                        ..event(&self.slot, launched.incarnation.pid(), action)
                    });
                }
                Err(err) if is_address_in_use(&err) && Instant::now() + REBIND_PAUSE < deadline => {
                    warn!(process = %self.slot.name, "Address still in use; binding again");
                    tokio::time::sleep(REBIND_PAUSE).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn current(&self) -> Current {
        lock(&self.slot.current).clone()
    }

    fn send(&self, incarnation: &Incarnation, signal: Signal) -> Result<(), ProcessError> {
        incarnation
            .signal(signal)
            .map_err(|not_sent| match not_sent {
                NotSent::Exited(exit) => self.not_running(incarnation, exit),
                NotSent::Failed(source) => self.signal_error(incarnation, signal, source),
            })
    }

    async fn exit_within(
        &self,
        incarnation: &Incarnation,
        signal: Signal,
        limit: Duration,
    ) -> Result<ExitKind, ProcessError> {
        incarnation
            .wait(limit)
            .await
            .ok_or_else(|| ProcessError::Unresponsive {
                name: self.slot.name.clone(),
                pid: incarnation.pid(),
                signal,
                waited: limit,
            })
    }

    fn record(
        &self,
        incarnation: &Incarnation,
        action: ProcessAction,
        signal: Signal,
        exit: Option<ExitKind>,
    ) -> ProcessEvent {
        info!(process = %self.slot.name, pid = incarnation.pid(), %signal, exit = ?exit, "Process signalled");
        ProcessEvent {
            signal: Some(signal),
            exit,
            ..event(&self.slot, incarnation.pid(), action)
        }
    }

    fn not_running(&self, incarnation: &Incarnation, exit: ExitKind) -> ProcessError {
        ProcessError::NotRunning {
            name: self.slot.name.clone(),
            pid: incarnation.pid(),
            exit,
        }
    }

    fn signal_error(
        &self,
        incarnation: &Incarnation,
        signal: Signal,
        source: nix::Error,
    ) -> ProcessError {
        ProcessError::Signal {
            name: self.slot.name.clone(),
            pid: incarnation.pid(),
            signal,
            source,
        }
    }
}

/// Whether a failed start was a bind on a port still held (EADDRINUSE's message).
fn is_address_in_use(err: &ProcessError) -> bool {
    matches!(err, ProcessError::ExitedBeforeReady { stderr_tail, .. }
        if stderr_tail.contains("Address already in use") || stderr_tail.contains("os error 98"))
}

/// Whether `/proc/<pid>/stat` shows the process stopped (`T`).
fn is_stopped(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .is_some_and(|stat| stat_state(&stat) == Some('T'))
}

/// The state field of a `/proc/<pid>/stat` line: the first character after the command
/// name's closing parenthesis (the name itself may contain spaces and parentheses).
fn stat_state(stat: &str) -> Option<char> {
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::process::Ready;

    #[test]
    fn stat_state_reads_past_a_tricky_command_name() {
        assert_eq!(stat_state("42 (a) b (c)) T 1 42 42"), Some('T'));
        assert_eq!(stat_state("42 (sleep) S 1"), Some('S'));
        assert_eq!(stat_state("garbage"), None);
    }

    #[test]
    fn address_in_use_is_recognised_from_the_stderr_tail() {
        let err = |tail: &str| ProcessError::ExitedBeforeReady {
            name: "a".to_owned(),
            pid: 1,
            exit: ExitKind::Code(3),
            waited_for: Ready::None,
            stderr_tail: tail.to_owned(),
        };
        assert!(is_address_in_use(&err(
            "bind: Address already in use (os error 98)"
        )));
        assert!(!is_address_in_use(&err("unknown flag --lisen")));
    }
}
