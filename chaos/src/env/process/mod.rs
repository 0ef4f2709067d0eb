//! The drill's child processes: started, checked for readiness, faulted, and always
//! stopped.
//!
//! Guarantees:
//!
//! - Each child leads its own process group, and every signal goes to the group, so a
//!   program's helpers share its fate.
//! - Each child carries a parent-death signal (SIGKILL): if the runner dies, even by
//!   SIGKILL, the kernel kills it. (Its own children are killed by the supervisor when it
//!   exits, not by the kernel when the runner dies.)
//! - [`Supervisor::shutdown`], also run on drop, SIGKILLs every live group and waits
//!   (bounded) until each leader is reaped; a spawn racing it is killed too.
//! - A signal never reaches a recycled pid: exits are observed before reaping (`child`).
//!
//! Files: `spec` (what to run), `managed` (the faults), `event` (journal records),
//! `child` (fork, wait, reap), `ready` (readiness checks, log reading), `pdeathsig` (the
//! one `unsafe` block).

mod child;
mod event;
mod managed;
mod pdeathsig;
mod ready;
mod spec;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;
use tracing::{info, warn};

pub use self::event::{ExitKind, ProcessAction, ProcessEvent};
pub use self::managed::ManagedProcess;
pub use self::spec::{DEFAULT_READY_TIMEOUT, LISTENING_ON, ProcessSpec, Ready};

use self::child::{Incarnation, Launch};
use self::ready::Unready;
use super::error::ProcessError;

/// How long a SIGKILLed group may take to be reaped.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// How long a SIGSTOPped leader may take to show as stopped.
const STOP_WAIT: Duration = Duration::from_secs(1);
/// Pause between two binds of a restart that hit EADDRINUSE.
const REBIND_PAUSE: Duration = Duration::from_millis(50);

/// Starts and owns a drill's processes; stops them all on [`shutdown`](Self::shutdown)
/// or drop.
#[derive(Debug)]
pub struct Supervisor {
    registry: Arc<Registry>,
}

#[derive(Debug)]
struct Registry {
    run_dir: PathBuf,
    shut_down: AtomicBool,
    inner: Mutex<Members>,
}

#[derive(Debug, Default)]
struct Members {
    names: HashSet<String>,
    slots: Vec<Arc<Slot>>,
}

/// One named process across its incarnations (restarts).
#[derive(Debug)]
struct Slot {
    name: String,
    logs: Logs,
    spec: Mutex<ProcessSpec>,
    current: Mutex<Current>,
}

#[derive(Debug, Clone)]
struct Current {
    incarnation: Arc<Incarnation>,
    addr: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
struct Logs {
    stdout: PathBuf,
    stderr: PathBuf,
}

/// An incarnation just launched, with where its output starts in the (appended) logs.
struct Launched {
    incarnation: Arc<Incarnation>,
    stdout_offset: u64,
    stderr_offset: u64,
}

// === impl Supervisor ===

impl Supervisor {
    /// A supervisor writing `<name>.stdout.log` and `<name>.stderr.log` into `run_dir`
    /// (created if missing).
    pub fn new(run_dir: impl Into<PathBuf>) -> Result<Supervisor, ProcessError> {
        let run_dir = run_dir.into();
        fs::create_dir_all(&run_dir).map_err(|source| ProcessError::Files {
            name: "(supervisor)".to_owned(),
            path: run_dir.clone(),
            source,
        })?;
        Ok(Supervisor {
            registry: Arc::new(Registry {
                run_dir,
                shut_down: AtomicBool::new(false),
                inner: Mutex::new(Members::default()),
            }),
        })
    }

    /// The directory holding the processes' logs.
    pub fn run_dir(&self) -> &Path {
        &self.registry.run_dir
    }

    /// Starts `spec` and waits until it is ready. On a readiness failure the process is
    /// killed and the error names it, what was awaited, and the tail of its stderr.
    pub async fn spawn(&self, spec: ProcessSpec) -> Result<ManagedProcess, ProcessError> {
        let registry = &self.registry;
        let name = spec.name.clone();
        registry.reserve(&name)?;
        let logs = Logs {
            stdout: registry.run_dir.join(format!("{name}.stdout.log")),
            stderr: registry.run_dir.join(format!("{name}.stderr.log")),
        };
        let launched = match launch(&spec, &logs) {
            Ok(launched) => launched,
            Err(err) => {
                registry.release(&name, None);
                return Err(err);
            }
        };
        let slot = Arc::new(Slot {
            name: name.clone(),
            logs,
            spec: Mutex::new(spec.clone()),
            current: Mutex::new(Current {
                incarnation: Arc::clone(&launched.incarnation),
                addr: None,
            }),
        });
        registry.members().slots.push(Arc::clone(&slot));
        let addr = match registry.until_ready(&spec, &slot.logs, &launched).await {
            Ok(addr) => addr,
            Err(err) => {
                registry.release(&name, Some(&slot));
                return Err(err);
            }
        };
        lock(&slot.current).addr = addr;
        let started = event(
            &slot,
            launched.incarnation.pid(),
            ProcessAction::Started { addr },
        );
        info!(process = %name, pid = started.pid, addr = ?addr, "Process started");
        Ok(ManagedProcess::new(Arc::clone(registry), slot, started))
    }

    /// SIGKILLs every live process group and waits (up to 5s in all) until each leader is
    /// reaped; nothing can be spawned afterwards. Idempotent: a second call finds nothing
    /// alive and returns no events. Blocks the calling thread; runs on drop.
    pub fn shutdown(&self) -> Vec<ProcessEvent> {
        self.registry.shutdown()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.registry.shutdown();
    }
}

// === impl Registry ===

impl Registry {
    fn members(&self) -> MutexGuard<'_, Members> {
        lock(&self.inner)
    }

    fn reserve(&self, name: &str) -> Result<(), ProcessError> {
        if !spec::is_valid_name(name) {
            return Err(ProcessError::InvalidName {
                name: name.to_owned(),
            });
        }
        let mut members = self.members();
        if self.shut_down.load(Ordering::SeqCst) {
            return Err(ProcessError::ShutDown {
                name: name.to_owned(),
            });
        }
        if !members.names.insert(name.to_owned()) {
            return Err(ProcessError::DuplicateName {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    fn release(&self, name: &str, slot: Option<&Arc<Slot>>) {
        let mut members = self.members();
        members.names.remove(name);
        if let Some(slot) = slot {
            members.slots.retain(|kept| !Arc::ptr_eq(kept, slot));
        }
    }

    /// Waits for readiness of a launched incarnation that is already visible to
    /// `shutdown`; kills it on failure.
    async fn until_ready(
        &self,
        spec: &ProcessSpec,
        logs: &Logs,
        launched: &Launched,
    ) -> Result<Option<SocketAddr>, ProcessError> {
        let incarnation = &launched.incarnation;
        // A shutdown that ran while this was forking did not see it: do its job.
        if self.shut_down.load(Ordering::SeqCst) {
            kill_and_wait(incarnation).await;
            return Err(ProcessError::ShutDown {
                name: spec.name.clone(),
            });
        }
        let outcome = ready::wait(
            &spec.ready,
            incarnation,
            &logs.stdout,
            launched.stdout_offset,
            spec.ready_timeout,
        )
        .await;
        match outcome {
            Ok(addr) => Ok(addr),
            Err(Unready::Exited(exit)) => Err(ProcessError::ExitedBeforeReady {
                name: spec.name.clone(),
                pid: incarnation.pid(),
                exit,
                waited_for: spec.ready.clone(),
                stderr_tail: ready::stderr_tail(&logs.stderr, launched.stderr_offset),
            }),
            Err(Unready::TimedOut) => {
                kill_and_wait(incarnation).await;
                Err(ProcessError::NotReady {
                    name: spec.name.clone(),
                    pid: incarnation.pid(),
                    waited_for: spec.ready.clone(),
                    timeout: spec.ready_timeout,
                    stderr_tail: ready::stderr_tail(&logs.stderr, launched.stderr_offset),
                })
            }
        }
    }

    fn shutdown(&self) -> Vec<ProcessEvent> {
        self.shut_down.store(true, Ordering::SeqCst);
        let slots = self.members().slots.clone();
        let killed: Vec<_> = slots
            .iter()
            .filter_map(|slot| {
                let incarnation = Arc::clone(&lock(&slot.current).incarnation);
                incarnation
                    .signal(Signal::SIGKILL)
                    .ok()
                    .map(|()| (slot, incarnation))
            })
            .collect();
        let deadline = Instant::now() + KILL_WAIT;
        killed
            .into_iter()
            .map(|(slot, incarnation)| {
                let exit =
                    incarnation.wait_blocking(deadline.saturating_duration_since(Instant::now()));
                if exit.is_none() {
                    warn!(process = %slot.name, pid = incarnation.pid(), "Process not reaped after SIGKILL");
                }
                ProcessEvent {
                    signal: Some(Signal::SIGKILL),
                    exit,
                    ..event(slot, incarnation.pid(), ProcessAction::ShutDown)
                }
            })
            .collect()
    }
}

/// Opens the logs for appending and launches one incarnation of `spec`.
fn launch(spec: &ProcessSpec, logs: &Logs) -> Result<Launched, ProcessError> {
    let (stdout, stdout_offset) = open_log(&spec.name, &logs.stdout)?;
    let (stderr, stderr_offset) = open_log(&spec.name, &logs.stderr)?;
    let (program, args) = spec.command_line();
    let incarnation = child::launch(Launch {
        program: program.clone(),
        args,
        env: spec.env.clone(),
        cwd: spec.cwd.clone(),
        stdout,
        stderr,
    })
    .map_err(|source| ProcessError::Spawn {
        name: spec.name.clone(),
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    Ok(Launched {
        incarnation,
        stdout_offset,
        stderr_offset,
    })
}

fn open_log(name: &str, path: &Path) -> Result<(File, u64), ProcessError> {
    let error = |source| ProcessError::Files {
        name: name.to_owned(),
        path: path.to_owned(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(error)?;
    let offset = file.metadata().map_err(error)?.len();
    Ok((file, offset))
}

async fn kill_and_wait(incarnation: &Incarnation) {
    let _ = incarnation.signal(Signal::SIGKILL);
    let _ = incarnation.wait(KILL_WAIT).await;
}

fn event(slot: &Slot, pid: u32, action: ProcessAction) -> ProcessEvent {
    ProcessEvent {
        at: SystemTime::now(),
        process: slot.name.clone(),
        pid,
        action,
        signal: None,
        exit: None,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
