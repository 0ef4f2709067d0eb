//! Applying and undoing each fault family: one function per family, each returning what its
//! undo needs ([`Undo`]), so a fault applied to some replicas before a failure is still
//! undone on those.
//!
//! | family | apply | undo |
//! |---|---|---|
//! | kill / terminate | SIGKILL / SIGTERM via the supervisor | restart on the same port (`then: restart`) |
//! | pause | SIGSTOP | SIGCONT |
//! | restart | kill and start again, readiness awaited | nothing |
//! | toxics | add a toxic named after the fault to each proxy | remove it |
//! | refuse | disable the proxy | enable it |
//! | partition | `NetnsHost::partition` | `heal` |
//! | http_errors | `POST /_chaos/behavior` (previous behaviour kept) | the previous behaviour |
//! | gateway_fault | `x-fault-*` headers on every load request | headers cleared |
//! | command | run `start` (bounded) | run `stop` (bounded) |

mod network;
mod process;
mod requests;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;

use self::network::{add_toxic, partition, proxy_client, refuse};
pub(crate) use self::process::record_shutdown;
use self::process::{action_name, kill, managed, pause, restart, restart_all};
use self::requests::{gateway_fault, http_errors, set_behavior};
use super::commands::{command_result, run_command, start_command};
use super::control::Control;
use super::environment::{Instance, SharedHost, lock_host};
use super::error::FaultError;
use crate::env::{NetnsError, ProcessEvent};
use crate::faultproxy::{ClientError, ToxiproxyClient};
use crate::journal::{CommandRecord, EventKind, Recorder};
use crate::load::ExtraHeaders;
use crate::scenario::{FaultKind, Target, Topology};

/// What the fault functions act through.
#[derive(Debug, Clone)]
pub(crate) struct FaultContext {
    pub(crate) instances: Vec<Arc<Instance>>,
    pub(crate) proxy: Option<ToxiproxyClient>,
    pub(crate) control: Control,
    pub(crate) headers: ExtraHeaders,
    pub(crate) topology: Topology,
    pub(crate) recorder: Recorder,
}

/// What undoing an applied fault takes.
#[derive(Debug, Clone)]
pub(crate) enum Undo {
    /// Nothing to undo (a restart, or a kill that stays down).
    Nothing,
    /// Start killed or terminated instances again on their ports.
    Restart(Vec<Arc<Instance>>),
    /// SIGCONT paused instances.
    Resume(Vec<Arc<Instance>>),
    /// Remove the toxic from these proxies.
    RemoveToxic {
        /// The proxies.
        proxies: Vec<String>,
        /// The toxic's name.
        toxic: String,
    },
    /// Enable these proxies again.
    Enable(Vec<String>),
    /// Heal these namespace hosts.
    Heal(Vec<SharedHost>),
    /// Restore each instance's previous behaviour.
    Behavior(Vec<(Arc<Instance>, Value)>),
    /// Stop adding the fault headers.
    ClearHeaders,
    /// Run the `stop` program.
    Command {
        /// Program and arguments.
        argv: Vec<String>,
        /// Longest run.
        timeout: Duration,
    },
}

/// The result of applying a fault: the undo for what took effect, and the first failure.
#[derive(Debug)]
pub(crate) struct Applied {
    pub(crate) undo: Undo,
    pub(crate) commands: Vec<CommandRecord>,
    pub(crate) error: Option<FaultError>,
}

// === impl FaultContext ===

impl FaultContext {
    fn targets(&self, target: &Target) -> Result<Vec<Arc<Instance>>, FaultError> {
        let found: Vec<_> = self
            .instances
            .iter()
            .filter(|i| {
                i.upstream == target.upstream && target.replica.is_none_or(|r| r == i.replica)
            })
            .cloned()
            .collect();
        if found.is_empty() {
            return Err(FaultError::NoInstances {
                target: target.to_string(),
            });
        }
        Ok(found)
    }

    fn process_event(&self, event: &ProcessEvent) {
        self.recorder.record(EventKind::Process {
            process: event.process.clone(),
            pid: event.pid,
            action: action_name(event),
            signal: event.signal.map(|s| s.to_string()),
            exit: event.exit.map(|e| e.to_string()),
        });
    }
}

/// Applies `kind` (of the fault named `name`).
pub(crate) async fn apply(ctx: &FaultContext, name: &str, kind: &FaultKind) -> Applied {
    let result = match kind {
        FaultKind::Kill { target, then } => kill(ctx, target, *then, false).await,
        FaultKind::Terminate { target, then } => kill(ctx, target, *then, true).await,
        FaultKind::Pause { target } => pause(ctx, target).await,
        FaultKind::Restart { target } => restart(ctx, target).await,
        FaultKind::Toxic(toxic) => add_toxic(ctx, name, toxic).await,
        FaultKind::Refuse { target } => refuse(ctx, target).await,
        FaultKind::Partition { target } => partition(ctx, target).await,
        FaultKind::HttpErrors(errors) => http_errors(ctx, errors).await,
        FaultKind::GatewayFault(fault) => gateway_fault(ctx, fault),
        FaultKind::Command(command) => return start_command(ctx, command).await,
    };
    Applied {
        undo: result.undo,
        commands: Vec::new(),
        error: result.error,
    }
}

/// Undoes what [`apply`] did; every part is attempted, the first failure is returned.
/// `phase` names the undo in command records (`stop` at the window's end, `teardown`).
pub(crate) async fn undo(
    ctx: &FaultContext,
    undo: Undo,
    phase: &str,
) -> (Vec<CommandRecord>, Result<(), FaultError>) {
    if let Undo::Command { argv, timeout } = undo {
        let record = run_command(phase, argv, timeout).await;
        let result = command_result(&record);
        return (vec![record], result);
    }
    (Vec::new(), undo_inner(ctx, undo).await)
}

async fn undo_inner(ctx: &FaultContext, undo: Undo) -> Result<(), FaultError> {
    match undo {
        Undo::Nothing | Undo::Command { .. } => Ok(()),
        Undo::Restart(instances) => restart_all(ctx, &instances).await,
        Undo::Resume(instances) => {
            each(&instances, |i| async move {
                let event = managed(&i)?.resume().await?;
                ctx.process_event(&event);
                Ok(())
            })
            .await
        }
        Undo::RemoveToxic { proxies, toxic } => {
            let client = proxy_client(ctx)?;
            first_error(join_all(proxies.iter().map(|p| client.remove_toxic(p, &toxic))).await)
        }
        Undo::Enable(proxies) => {
            let client = proxy_client(ctx)?;
            first_error(join_all(proxies.iter().map(|p| client.set_enabled(p, true))).await)
        }
        Undo::Heal(hosts) => {
            blocking(move || {
                hosts
                    .iter()
                    .map(|h| lock_host(h).heal().map(drop))
                    .find_map(Result::err)
                    .map_or(Ok(()), Err)
            })
            .await
        }
        Undo::Behavior(previous) => {
            each_with(&previous, |(i, before)| async move {
                set_behavior(&ctx.control, &i, &before).await
            })
            .await
        }
        Undo::ClearHeaders => {
            ctx.headers.clear();
            Ok(())
        }
    }
}

/// What a family function did: the undo for what took effect, and the first failure.
pub(super) struct Partial {
    pub(super) undo: Undo,
    pub(super) error: Option<FaultError>,
}

impl Partial {
    pub(super) fn failed(error: FaultError) -> Partial {
        Partial {
            undo: Undo::Nothing,
            error: Some(error),
        }
    }
}

/// Runs `f` on each item concurrently; every one is attempted, the first error returned.
pub(super) async fn each<'a, F, Fut>(instances: &'a [Arc<Instance>], f: F) -> Result<(), FaultError>
where
    F: Fn(Arc<Instance>) -> Fut,
    Fut: Future<Output = Result<(), FaultError>> + 'a,
{
    first_error(join_all(instances.iter().cloned().map(f)).await)
}

pub(super) async fn each_with<'a, T: Clone + 'a, F, Fut>(
    items: &'a [T],
    f: F,
) -> Result<(), FaultError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), FaultError>> + 'a,
{
    first_error(join_all(items.iter().cloned().map(f)).await)
}

pub(super) fn first_error<T, E: Into<FaultError>>(
    results: Vec<Result<T, E>>,
) -> Result<(), FaultError> {
    results
        .into_iter()
        .find_map(Result::err)
        .map_or(Ok(()), |e| Err(e.into()))
}

/// The instances whose operation succeeded, and the first error.
pub(super) fn split(
    instances: &[Arc<Instance>],
    results: Vec<Result<(), FaultError>>,
) -> (Vec<Arc<Instance>>, Option<FaultError>) {
    let mut done = Vec::new();
    let mut error = None;
    for (instance, result) in instances.iter().zip(results) {
        match result {
            Ok(()) => done.push(Arc::clone(instance)),
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    (done, error)
}

pub(super) fn split_names<T>(
    names: &[String],
    results: Vec<Result<T, ClientError>>,
) -> (Vec<String>, Option<FaultError>) {
    let mut done = Vec::new();
    let mut error = None;
    for (name, result) in names.iter().zip(results) {
        match result {
            Ok(_) => done.push(name.clone()),
            Err(e) => {
                error.get_or_insert(FaultError::from(e));
            }
        }
    }
    (done, error)
}

pub(super) fn finish(undo: Undo, error: Option<FaultError>) -> Partial {
    Partial { undo, error }
}

/// Runs blocking `ip`/`nft` work off the async workers.
pub(super) async fn blocking<F>(f: F) -> Result<(), FaultError>
where
    F: FnOnce() -> Result<(), NetnsError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(FaultError::from),
        Err(join) => Err(FaultError::Task(join.to_string())),
    }
}
