//! One incarnation of a supervised process: forked, watched and reaped by a thread of its
//! own.
//!
//! Why a thread per child: the parent-death signal fires when the *thread* that forked the
//! child exits, not the process (prctl(2)). Forking from a tokio worker is fragile (a
//! blocking-pool thread exits after 10s idle, and runtimes shut down); forking from a
//! thread that then blocks until the child exits means the signal fires exactly when the
//! runner dies.
//!
//! Why `waitid(WNOWAIT)` before reaping: while the exited leader is a zombie its pid still
//! names its process group and cannot be reused, so the thread can SIGKILL what is left of
//! the group (the leader's own children) and every signal sent through [`Incarnation`]
//! checks "not reaped yet" under the same lock that reaping takes. No signal can ever hit
//! a recycled pid.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use tokio::sync::watch;

use super::event::ExitKind;
use super::pdeathsig;

/// Everything needed to start one incarnation.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) stdout: File,
    pub(crate) stderr: File,
}

/// A started process: its pid (also its process group id) and, once it has exited and
/// been reaped, how it ended.
#[derive(Debug)]
pub(crate) struct Incarnation {
    pid: Pid,
    exit: Mutex<Option<ExitKind>>,
    exited: Condvar,
    exit_watch: watch::Sender<Option<ExitKind>>,
}

/// Why a signal was not sent.
#[derive(Debug)]
pub(crate) enum NotSent {
    /// The process has exited and was reaped.
    Exited(ExitKind),
    /// `killpg` failed.
    Failed(nix::Error),
}

/// Starts `launch` in its own process group with a parent-death signal, on a new thread
/// that then waits for it. Returns once the program was exec'd (or failed to be).
pub(crate) fn launch(launch: Launch) -> io::Result<Arc<Incarnation>> {
    let (started, outcome) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("chaos-env-child".to_owned())
        .spawn(move || supervise(launch, started))?;
    outcome
        .recv()
        .map_err(|_| io::Error::other("the child's thread ended before starting it"))?
}

fn supervise(launch: Launch, started: mpsc::SyncSender<io::Result<Arc<Incarnation>>>) {
    let mut command = Command::new(&launch.program);
    command
        .args(&launch.args)
        .envs(launch.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(launch.stdout)
        .stderr(launch.stderr)
        // Its own group: signals reach the program and whatever it forks, not the runner.
        .process_group(0);
    if let Some(cwd) = &launch.cwd {
        command.current_dir(cwd);
    }
    pdeathsig::kill_with_parent(&mut command);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            let _ = started.send(Err(err));
            return;
        }
    };
    let incarnation = Arc::new(Incarnation::new(Pid::from_raw(child.id() as i32)));
    if started.send(Ok(Arc::clone(&incarnation))).is_err() {
        // Nobody will ever manage it.
        let _ = killpg(incarnation.pid, Signal::SIGKILL);
    }
    let exit = wait_leader(incarnation.pid);
    // The leader is a zombie: its pid still names the group. Take the rest along.
    let _ = killpg(incarnation.pid, Signal::SIGKILL);
    incarnation.reap(child, exit);
}

/// Blocks until the leader exits, leaving it a zombie.
fn wait_leader(pid: Pid) -> ExitKind {
    loop {
        match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
            Ok(WaitStatus::Exited(_, code)) => return ExitKind::Code(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => return ExitKind::Signal(signal),
            Err(Errno::EINTR) => continue,
            Ok(_) | Err(_) => return ExitKind::Unknown,
        }
    }
}

// === impl Incarnation ===

impl Incarnation {
    fn new(pid: Pid) -> Incarnation {
        Incarnation {
            pid,
            exit: Mutex::new(None),
            exited: Condvar::new(),
            exit_watch: watch::Sender::new(None),
        }
    }

    /// The pid, which is also the process group id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// How it ended, once reaped.
    pub(crate) fn exit(&self) -> Option<ExitKind> {
        *self.lock()
    }

    /// Sends `signal` to the process group, unless the leader has been reaped.
    pub(crate) fn signal(&self, signal: Signal) -> Result<(), NotSent> {
        let exit = self.lock();
        if let Some(exit) = *exit {
            return Err(NotSent::Exited(exit));
        }
        // Under the lock: the leader cannot be reaped (and its pid recycled) meanwhile.
        killpg(self.pid, signal).map_err(NotSent::Failed)
    }

    /// Waits up to `limit` for the exit.
    pub(crate) async fn wait(&self, limit: Duration) -> Option<ExitKind> {
        let mut exits = self.exit_watch.subscribe();
        match tokio::time::timeout(limit, exits.wait_for(Option::is_some)).await {
            Ok(Ok(exit)) => *exit,
            _ => self.exit(),
        }
    }

    /// Waits up to `limit` for the exit, blocking the thread (for `Drop`).
    pub(crate) fn wait_blocking(&self, limit: Duration) -> Option<ExitKind> {
        let deadline = Instant::now() + limit;
        let mut exit = self.lock();
        while exit.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            exit = self
                .exited
                .wait_timeout(exit, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *exit
    }

    /// Reaps the zombie and publishes the exit, atomically for [`signal`](Self::signal).
    fn reap(&self, mut child: Child, exit: ExitKind) {
        let mut slot = self.lock();
        // Returns at once: the leader is already a zombie.
        let _ = child.wait();
        *slot = Some(exit);
        drop(slot);
        self.exited.notify_all();
        self.exit_watch.send_replace(Some(exit));
    }

    fn lock(&self) -> MutexGuard<'_, Option<ExitKind>> {
        self.exit.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
