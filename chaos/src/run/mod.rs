//! `chaos run`: executes a validated [`Plan`] against a real system and always cleans up.
//!
//! # Lifecycle
//!
//! ```text
//! run folder (target/chaos-runs/<name>-<timestamp>, or --run-dir)
//!   -> preflight (only when the scenario needs namespaces: Linux, root, ip, nft; else exit 3)
//!   -> trace backend: embedded store (OTLP + Jaeger query API on 127.0.0.1:0) or Jaeger URLs
//!   -> fault proxy (only with `via: proxy`): embedded engine + API on 127.0.0.1:0, or a
//!      Toxiproxy; always driven through ToxiproxyClient
//!   -> upstream instances: builtin `chaos upstream` (--otlp to the trace backend), command
//!      programs on a free port, or attached addresses; `via: proxy` -> one proxy each,
//!      `via: netns` -> one namespace host each, the process started inside it
//!   -> gateway: template rendered with the real addresses into <run>/gateway.yaml, spawned,
//!      `listening data=A admin=B` read, /readyz awaited; or attached by URL
//!   -> t = 0: load (open model) || fault timeline (apply at `at`, undo at the window's end)
//!             || guards (every 100 ms; the steady-state gate once, just before the first
//!             fault) || /metrics scrapes (every 500 ms) || progress
//!   -> load end: POST /admin/telemetry/flush, wait for the span count to settle (<= 5 s)
//!   -> teardown (see below) -> journal.json in the run folder -> Journal + Evidence
//! ```
//!
//! # Cleanup guarantees
//!
//! - **Normal end, guard breach, failed fault, failed setup:** `teardown` undoes every fault
//!   still in place (most recent first), SIGKILLs and reaps every process, stops or deletes
//!   the proxies, deletes the namespaces (with their nftables tables), and closes the OTLP
//!   receivers. Every step runs even if an earlier one failed.
//! - **SIGINT / SIGTERM** (`chaos run`): the first cancels the run, which then takes the
//!   path above; a second drops the run at once, leaving the cleanup to the drop guards.
//! - **Panic, or a dropped `execute` future:** drop guards: the `Supervisor` SIGKILLs every
//!   child and reaps it, each `NetnsHost` deletes its table, veth pair and namespace, and
//!   every task of the run (load, faults, guards, scrapes, servers) is aborted. Toxics of the
//!   embedded proxy die with its tasks; a shared Toxiproxy keeps ours until the next run
//!   replaces proxies of the same names.
//! - **The runner killed by SIGKILL:** children die by their parent-death signal; leftover
//!   namespaces are swept by the next run's preflight.
//!
//! Files: `mod` (options, [`execute`], setup order), `environment` (what runs, drop order),
//! `traces` (embedded trace store), `upstreams`, `gateway`, `drive` (t = 0 onwards),
//! `timeline` (precise fault timing), `faults/` (one function per fault family: `process`,
//! `network`, `requests`), `commands` (`command` faults), `guards`, `steady` (the
//! steady-state gate), `observe` (scrapes, trace settling), `progress`, `teardown`,
//! `signals`, `outcome` (how a run ends, stopping early), `control` (admin and behaviour
//! calls), `error`, `finish` (journal and evidence), `command` and `view` (the CLI,
//! `--dry-run`).

mod command;
mod commands;
mod control;
mod drive;
mod environment;
mod error;
mod faults;
mod finish;
mod gateway;
mod guards;
mod observe;
mod outcome;
mod progress;
mod signals;
mod steady;
mod teardown;
mod timeline;
mod traces;
mod upstreams;
mod view;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio_util::sync::CancellationToken;

pub use self::control::ControlError;
pub use self::error::{FaultError, RunError};
pub use self::outcome::Outcome;
pub use self::progress::ProgressMode;
pub use self::traces::TraceService;

pub(crate) use self::command::run as command;

use self::environment::Environment;
use self::finish::Drill;
use self::outcome::Stop;
use self::progress::Progress;
use crate::evidence::Evidence;
use crate::journal::{EventKind, Journal, Recorder};
use crate::scenario::Plan;

/// Settings of a run that are not in the scenario.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run folder; default `<runs_root>/<name>-<timestamp>`.
    pub run_dir: Option<PathBuf>,
    /// Where run folders are made by default: `target/chaos-runs`.
    pub runs_root: PathBuf,
    /// The `chaos` binary that serves builtin upstreams (`chaos upstream`); default the
    /// running executable.
    pub chaos_exe: PathBuf,
    /// A gateway binary overriding the scenario's (and the default lookup).
    pub gateway_exe: Option<PathBuf>,
    /// Progress display on stderr.
    pub progress: ProgressMode,
}

/// Everything a run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The journal (also written to `journal.json` in the run folder).
    pub journal: Journal,
    /// What the objectives are judged on.
    pub evidence: Evidence,
    /// How the run ended.
    pub outcome: Outcome,
    /// The run folder.
    pub run_dir: PathBuf,
    /// The embedded trace store, still answering queries at `evidence.traces.query_url`
    /// until dropped; `None` with an external Jaeger.
    pub traces: Option<TraceService>,
}

impl RunOptions {
    /// Defaults: runs under `target/chaos-runs`, this executable for builtin upstreams, the
    /// scenario's gateway binary, progress on stderr.
    pub fn new() -> RunOptions {
        RunOptions {
            run_dir: None,
            runs_root: PathBuf::from("target/chaos-runs"),
            chaos_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("chaos")),
            gateway_exe: None,
            progress: ProgressMode::Auto,
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions::new()
    }
}

/// Runs `plan`: environment up, load and fault timeline, settling, teardown.
///
/// Always tears down what it started before returning, and always returns a journal, except
/// when the run folder itself cannot be made (`Err`). Cancelling `cancel` stops the drill
/// early ([`Outcome::Interrupted`]); dropping the future tears down through the drop guards.
pub async fn execute(
    plan: &Plan,
    options: &RunOptions,
    cancel: CancellationToken,
) -> Result<RunOutput, RunError> {
    let started = (Instant::now(), SystemTime::now());
    let run_dir = prepare_run_dir(plan, options)?;
    let recorder = Recorder::default();
    recorder.step("run folder", run_dir.display().to_string());
    let progress = Progress::new(options.progress, &plan.name);
    progress.phase("setup");
    let stop = Arc::new(Stop::new(cancel.child_token()));
    let mut env = Environment::new(run_dir, recorder.clone())?;
    let mut drill = Drill::default();

    match race(&stop, setup(&mut env, plan, options)).await {
        Some(Ok(())) => drive::drive(&mut env, plan, &stop, &progress, &mut drill).await,
        Some(Err(error)) => stop.fail(error),
        None => {}
    }
    if stop.token().is_cancelled() {
        recorder.record(EventKind::Stop {
            reason: stop.reason_text(),
        });
    }

    progress.phase("teardown");
    let problems =
        teardown::teardown(&mut env, drill.timeline.as_mut(), drill.ctx.as_deref()).await;
    progress.finish();
    let outcome = match stop.outcome() {
        // A drill that leaves something behind is not a clean run.
        Outcome::Completed | Outcome::Aborted { .. } if !problems.is_empty() => {
            Outcome::Failed(RunError::Teardown {
                problems: problems.join("; "),
            })
        }
        outcome => outcome,
    };
    Ok(finish::assemble(plan, env, drill, outcome, started))
}

/// Sets the environment up, in order.
async fn setup(env: &mut Environment, plan: &Plan, options: &RunOptions) -> Result<(), RunError> {
    env.preflight(plan).await?;
    env.start_traces(&plan.system.backends.traces).await?;
    env.start_fault_proxy(plan).await?;
    upstreams::start(env, plan, &options.chaos_exe).await?;
    gateway::start(env, plan, options.gateway_exe.as_deref()).await
}

/// Runs `work` unless the run is stopped first (`None`).
async fn race<T>(stop: &Stop, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        result = work => Some(result),
        () = stop.token().cancelled() => None,
    }
}

/// Creates the run folder: `options.run_dir`, or `<runs_root>/<name>-<UTC timestamp>`
/// (with `-2`, `-3`.. when taken).
fn prepare_run_dir(plan: &Plan, options: &RunOptions) -> Result<PathBuf, RunError> {
    let dir = match &options.run_dir {
        Some(dir) => dir.clone(),
        None => unique(
            &options.runs_root,
            &format!("{}-{}", plan.name, timestamp()),
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|source| RunError::RunDir {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

fn unique(root: &Path, name: &str) -> PathBuf {
    let first = root.join(name);
    if !first.exists() {
        return first;
    }
    (2..1000)
        .map(|n| root.join(format!("{name}-{n}")))
        .find(|candidate| !candidate.exists())
        .unwrap_or(first)
}

/// `20250102T030405Z`.
fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}
