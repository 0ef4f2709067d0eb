//! Journal records of what the supervisor did to a process, and how processes end.

use std::fmt;
use std::net::SocketAddr;
use std::time::SystemTime;

use nix::sys::signal::Signal;

/// One operation on a supervised process, for the drill's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessEvent {
    /// When the operation completed (the process was ready, had exited, had stopped).
    pub at: SystemTime,
    /// The process's name.
    pub process: String,
    /// The pid operated on; for a restart, the new one.
    pub pid: u32,
    /// What was done.
    pub action: ProcessAction,
    /// The last signal sent to the process group, if any.
    pub signal: Option<Signal>,
    /// How the process ended, for operations that end it.
    pub exit: Option<ExitKind>,
}

/// What a [`ProcessEvent`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessAction {
    /// Spawned and ready; `addr` is the address it announced, if any.
    Started {
        /// The announced address.
        addr: Option<SocketAddr>,
    },
    /// SIGKILL to the group, exit observed.
    Killed,
    /// SIGTERM to the group (with SIGCONT, so a paused process acts on it), then SIGKILL
    /// if it outlived the grace period; `signal` says which ended it.
    Terminated,
    /// SIGSTOP to the group; the leader is stopped.
    Paused,
    /// SIGCONT to the group.
    Resumed,
    /// Killed (if still running) and started again from the same spec and address.
    Restarted {
        /// The pid of the incarnation that was replaced.
        previous_pid: u32,
        /// The address the new incarnation announced, if any.
        addr: Option<SocketAddr>,
    },
    /// SIGKILL to the group by `Supervisor::shutdown`.
    ShutDown,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(Signal),
    /// The status could not be read (e.g. someone else reaped it).
    Unknown,
}

impl fmt::Display for ExitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitKind::Code(code) => write!(f, "exit code {code}"),
            ExitKind::Signal(signal) => write!(f, "killed by {signal}"),
            ExitKind::Unknown => f.write_str("exit status unknown"),
        }
    }
}
