//! Process faults through the supervisor: kill, terminate, pause, restart (and the restart
//! that undoes a kill), each recorded as a process event.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;

use super::requests::set_behavior;
use super::{FaultContext, Partial, Undo, each, finish, split};
use crate::env::{ManagedProcess, ProcessAction, ProcessEvent};
use crate::journal::{EventKind, Recorder};
use crate::run::environment::Instance;
use crate::run::error::FaultError;
use crate::scenario::{AfterKill, Target};

/// Grace a terminated upstream gets before SIGKILL.
const TERMINATE_GRACE: Duration = Duration::from_secs(3);
pub(super) async fn kill(
    ctx: &FaultContext,
    target: &Target,
    then: AfterKill,
    graceful: bool,
) -> Partial {
    let instances = match ctx.targets(target) {
        Ok(found) => found,
        Err(error) => return Partial::failed(error),
    };
    let results = join_all(instances.iter().map(|i| async move {
        let process = managed(i)?;
        let event = if graceful {
            process.terminate(TERMINATE_GRACE).await?
        } else {
            process.kill().await?
        };
        ctx.process_event(&event);
        Ok::<_, FaultError>(())
    }))
    .await;
    let (done, error) = split(&instances, results);
    let undo = match then {
        AfterKill::Restart => Undo::Restart(done),
        AfterKill::StayDown => Undo::Nothing,
    };
    finish(undo, error)
}

pub(super) async fn pause(ctx: &FaultContext, target: &Target) -> Partial {
    let instances = match ctx.targets(target) {
        Ok(found) => found,
        Err(error) => return Partial::failed(error),
    };
    let results = join_all(instances.iter().map(|i| async move {
        let event = managed(i)?.pause().await?;
        ctx.process_event(&event);
        Ok::<_, FaultError>(())
    }))
    .await;
    let (done, error) = split(&instances, results);
    finish(Undo::Resume(done), error)
}

pub(super) async fn restart(ctx: &FaultContext, target: &Target) -> Partial {
    let instances = match ctx.targets(target) {
        Ok(found) => found,
        Err(error) => return Partial::failed(error),
    };
    finish(Undo::Nothing, restart_all(ctx, &instances).await.err())
}

/// Restarts each instance on its port and restores a builtin's `healthy: false`.
pub(super) async fn restart_all(
    ctx: &FaultContext,
    instances: &[Arc<Instance>],
) -> Result<(), FaultError> {
    each(instances, |i| async move {
        let event = managed(&i)?.restart().await?;
        ctx.process_event(&event);
        if i.builtin.as_ref().is_some_and(|b| !b.healthy) {
            set_behavior(&ctx.control, &i, &json!({ "healthy": false })).await?;
        }
        Ok(())
    })
    .await
}

pub(super) fn managed(instance: &Instance) -> Result<&ManagedProcess, FaultError> {
    instance
        .process
        .as_ref()
        .ok_or_else(|| FaultError::NotStarted {
            instance: instance.name.clone(),
        })
}

pub(super) fn action_name(event: &ProcessEvent) -> String {
    match event.action {
        ProcessAction::Started { .. } => "started",
        ProcessAction::Killed => "killed",
        ProcessAction::Terminated => "terminated",
        ProcessAction::Paused => "paused",
        ProcessAction::Resumed => "resumed",
        ProcessAction::Restarted { .. } => "restarted",
        ProcessAction::ShutDown => "shut_down",
    }
    .to_owned()
}

/// Records process events of a supervisor shutdown.
pub(crate) fn record_shutdown(recorder: &Recorder, events: &[ProcessEvent]) {
    for event in events {
        recorder.record(EventKind::Process {
            process: event.process.clone(),
            pid: event.pid,
            action: action_name(event),
            signal: event.signal.map(|s| s.to_string()),
            exit: event.exit.map(|e| e.to_string()),
        });
    }
}
