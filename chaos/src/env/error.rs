//! Errors of the drill environment: preflight, system commands, namespaces and processes.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::Signal;
use thiserror::Error;

use super::process::{ExitKind, Ready};

/// The machine cannot host network partitions; the runner maps this to exit 3.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EnvUnavailable {
    /// Network namespaces and nftables exist only on Linux.
    #[error("network partitions need Linux (network namespaces, nftables); this is {os}")]
    NotLinux {
        /// `std::env::consts::OS` of this machine.
        os: &'static str,
    },
    /// Creating namespaces and loading nftables rules needs root.
    #[error("network partitions need root (effective uid 0), running as uid {euid}: run as root")]
    NotRoot {
        /// The effective uid of this process.
        euid: u32,
    },
    /// `ip` or `nft` is missing or refused to work.
    #[error("`{tool}` is missing or not working: install the Debian package {package}")]
    Tool {
        /// The program, `ip` or `nft`.
        tool: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
        /// What running it produced.
        #[source]
        source: CommandError,
    },
}

/// Running a system tool (`ip`, `nft`) failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The program could not be started (not installed, not executable).
    #[error("cannot run `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it could not start.
        #[source]
        source: io::Error,
    },
    /// Waiting for the program or reading its output failed.
    #[error("cannot wait for `{command}`")]
    Wait {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The program ran past its deadline and was killed.
    #[error("`{command}` did not finish within {after:?} and was killed")]
    TimedOut {
        /// The command line.
        command: String,
        /// The deadline.
        after: Duration,
    },
    /// The program exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr, trimmed.
        stderr: String,
    },
}

/// Creating, partitioning, tearing down or sweeping a network-namespace host failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NetnsError {
    /// Host indexes are bounded so interface names stay within 15 characters.
    #[error("host index {index} is out of range: 0 to {max}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u8,
        /// The largest index allowed.
        max: u8,
    },
    /// The lock that serializes subnet allocation across processes could not be taken.
    #[error("cannot lock {path} to allocate a subnet")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Every /30 of the pool overlaps an address or route of this host.
    #[error("no free /30 left in {pool}: each overlaps an address or route on this host")]
    NoFreeSubnet {
        /// The pool searched, e.g. `10.200.0.0/16`.
        pool: &'static str,
    },
    /// The namespace name is taken, most likely by a leftover of a crashed run.
    #[error("network namespace {name} already exists (a leftover? `sweep` removes them)")]
    Exists {
        /// The namespace name.
        name: String,
    },
    /// A step of setting up or removing a host failed.
    #[error("cannot {step} for {name}")]
    Step {
        /// What was being done, e.g. "create the veth pair".
        step: &'static str,
        /// The namespace name.
        name: String,
        /// The failed command.
        #[source]
        source: CommandError,
    },
    /// A tool printed JSON this code does not understand.
    #[error("unexpected output from `{command}`: {problem}")]
    Output {
        /// The command line.
        command: String,
        /// What was wrong with it.
        problem: String,
    },
}

/// Starting, checking or signalling a supervised process failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// Names become log file names, so they are restricted.
    #[error("invalid process name {name:?}: use 1 to 64 characters from A-Z a-z 0-9 . _ -")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// Each supervised process needs a distinct name (its log files are named after it).
    #[error("a process named {name} is already supervised")]
    DuplicateName {
        /// The name given.
        name: String,
    },
    /// `shutdown` already ran; nothing new is started.
    #[error("the supervisor is shut down: not starting {name}")]
    ShutDown {
        /// The process that was not started.
        name: String,
    },
    /// The run directory or a log file could not be created.
    #[error("cannot create {path} for process {name}")]
    Files {
        /// The process.
        name: String,
        /// The directory or file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The program could not be started.
    #[error("cannot start process {name} ({program})")]
    Spawn {
        /// The process.
        name: String,
        /// The program as given (or `ip` when run in a namespace).
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The readiness check did not pass in time; the process was killed.
    #[error(
        "process {name} (pid {pid}) not ready after {timeout:?}: waited for {waited_for}; \
         stderr: {stderr_tail}"
    )]
    NotReady {
        /// The process.
        name: String,
        /// Its pid.
        pid: u32,
        /// The check that did not pass.
        waited_for: Ready,
        /// How long it was given.
        timeout: Duration,
        /// The last lines of its stderr, joined by ` | `.
        stderr_tail: String,
    },
    /// The process exited before its readiness check passed.
    #[error(
        "process {name} (pid {pid}) exited ({exit}) before it was ready: waited for \
         {waited_for}; stderr: {stderr_tail}"
    )]
    ExitedBeforeReady {
        /// The process.
        name: String,
        /// Its pid.
        pid: u32,
        /// How it ended.
        exit: ExitKind,
        /// The check that did not pass.
        waited_for: Ready,
        /// The last lines of its stderr, joined by ` | `.
        stderr_tail: String,
    },
    /// A fault was asked of a process that has already exited.
    #[error("process {name} (pid {pid}) is not running: it exited ({exit})")]
    NotRunning {
        /// The process.
        name: String,
        /// Its last pid.
        pid: u32,
        /// How it ended.
        exit: ExitKind,
    },
    /// Sending a signal to the process group failed.
    #[error("cannot send {signal} to process {name} (group {pid})")]
    Signal {
        /// The process.
        name: String,
        /// Its pid, which is also its process group id.
        pid: u32,
        /// The signal.
        signal: Signal,
        /// Why.
        #[source]
        source: nix::Error,
    },
    /// The process did not exit (or stop, for SIGSTOP) in time after a signal.
    #[error("process {name} (pid {pid}) did not react to {signal} within {waited:?}")]
    Unresponsive {
        /// The process.
        name: String,
        /// Its pid.
        pid: u32,
        /// The signal sent.
        signal: Signal,
        /// How long it was given.
        waited: Duration,
    },
}
