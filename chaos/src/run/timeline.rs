//! The fault timeline: each fault applied at `t0 + at` and undone at the end of its window,
//! on time, with both the planned and the actual times kept.
//!
//! Precision: each fault runs in its own task. It sleeps on tokio's timer until
//! [`SPIN`] before its deadline (the timer wheel has 1 ms ticks and wakes up to a tick
//! late), then yields in a loop until the deadline passes, so an action begins within tens
//! of microseconds of plan on an idle worker. The action itself then takes what it takes
//! (a SIGKILL and the reaping: ~1 ms; a toxic through the API: <1 ms; loading nftables
//! rules: a few ms; a restart: until the new process is ready); both instants are recorded.
//!
//! A stop (guard, signal, failed fault) ends the waiting: faults not yet applied never are,
//! and applied ones are left for teardown, which undoes them in reverse order of application.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::task::AbortOnDropHandle;

use super::Stop;
use super::error::RunError;
use super::faults::{self, FaultContext, Undo};
use crate::evidence::FaultWindow;
use crate::journal::{ActionRecord, CommandRecord, EventKind, FaultRecord, TimeBase, micros};
use crate::scenario::{AfterKill, FaultKind, FaultPlan, Plan};

/// How long before a deadline the timer hands over to yielding.
const SPIN: Duration = Duration::from_millis(2);

/// The running timeline.
#[derive(Debug)]
pub(crate) struct Timeline {
    t0: Instant,
    faults: Vec<Arc<Mutex<FaultState>>>,
    tasks: Vec<AbortOnDropHandle<()>>,
}

/// One fault's progress.
#[derive(Debug)]
struct FaultState {
    plan: FaultPlan,
    planned_end: Duration,
    applied: Option<Timed>,
    undone: Option<Timed>,
    undone_at_teardown: bool,
    /// What undoing takes, while the fault is in place.
    undo: Option<Undo>,
    /// Applied, and meant to stay until teardown (`then: stay_down`).
    held: bool,
    error: Option<String>,
    commands: Vec<CommandRecord>,
}

/// When an action began and when it was complete.
#[derive(Debug, Clone, Copy)]
struct Timed {
    began: Instant,
    done: Instant,
    planned: Instant,
}

// === impl Timeline ===

impl Timeline {
    /// Starts one task per fault of `plan`, timed from `t0`.
    pub(crate) fn start(
        ctx: &Arc<FaultContext>,
        plan: &Plan,
        t0: Instant,
        stop: &Arc<Stop>,
    ) -> Timeline {
        let duration = plan.duration();
        let faults: Vec<_> = plan
            .faults
            .iter()
            .map(|fault| {
                Arc::new(Mutex::new(FaultState {
                    planned_end: fault.end(duration),
                    plan: fault.clone(),
                    applied: None,
                    undone: None,
                    undone_at_teardown: false,
                    undo: None,
                    held: false,
                    error: None,
                    commands: Vec::new(),
                }))
            })
            .collect();
        let tasks = faults
            .iter()
            .map(|state| {
                let task = run_fault(Arc::clone(ctx), Arc::clone(state), t0, Arc::clone(stop));
                AbortOnDropHandle::new(tokio::spawn(task))
            })
            .collect();
        Timeline { t0, faults, tasks }
    }

    /// Waits until every fault task has ended (each action is bounded).
    pub(crate) async fn join(&mut self) {
        for task in self.tasks.drain(..) {
            // A task that panicked left its fault's state as it was; teardown still sees it.
            let _ = task.await;
        }
    }

    /// A reader of the names of the faults in place, for the progress display.
    pub(crate) fn active(&self) -> impl Fn() -> Vec<String> + Send + 'static {
        let faults = self.faults.clone();
        move || {
            faults
                .iter()
                .filter_map(|state| {
                    let state = lock(state);
                    (state.applied.is_some() && state.undone.is_none())
                        .then(|| state.plan.name.clone())
                })
                .collect()
        }
    }

    /// Undoes every fault still in place, most recently applied first (teardown).
    pub(crate) async fn undo_remaining(&mut self, ctx: &FaultContext) -> Vec<RunError> {
        self.join().await;
        let mut pending = Vec::new();
        for state in &self.faults {
            let mut locked = lock(state);
            if locked.held {
                continue;
            }
            let (Some(applied), Some(undo)) = (locked.applied, locked.undo.take()) else {
                continue;
            };
            let planned = self.t0 + locked.planned_end;
            drop(locked);
            pending.push((applied.done, planned, Arc::clone(state), undo));
        }
        pending.sort_by_key(|(applied, _, _, _)| std::cmp::Reverse(*applied));
        let mut errors = Vec::new();
        for (_, planned, state, undo) in pending {
            let name = lock(&state).plan.name.clone();
            let began = Instant::now();
            let (commands, result) = faults::undo(ctx, undo, "teardown").await;
            let done = Instant::now();
            let mut state = lock(&state);
            state.commands.extend(commands);
            state.undone_at_teardown = true;
            match result {
                Ok(()) => {
                    // `planned` stays the window's end: `late` is then negative (early).
                    state.undone = Some(Timed {
                        began,
                        done,
                        planned,
                    });
                    ctx.recorder
                        .record_at(done, fault_event(&name, "undone", None, done - began, None));
                }
                Err(source) => {
                    let error = RunError::Fault {
                        fault: name.clone(),
                        phase: "undo",
                        source: Box::new(source),
                    };
                    let text = super::error::chain(&error);
                    ctx.recorder.record(fault_event(
                        &name,
                        "failed",
                        None,
                        done - began,
                        Some(text.clone()),
                    ));
                    state.error.get_or_insert(text);
                    errors.push(error);
                }
            }
        }
        errors
    }

    /// The journal's fault records, in file order.
    pub(crate) fn records(&self, base: TimeBase) -> Vec<FaultRecord> {
        self.faults
            .iter()
            .map(|state| {
                let state = lock(state);
                let action = |timed: Option<Timed>| {
                    timed.map(|t| ActionRecord {
                        began_us: base.offset(t.began),
                        done_us: base.offset(t.done),
                        late_us: base.offset(t.began) - base.offset(t.planned),
                    })
                };
                FaultRecord {
                    name: state.plan.name.clone(),
                    kind: state.plan.kind.kind().name().to_owned(),
                    target: state.plan.kind.target().map(ToString::to_string),
                    planned_start_us: micros(state.plan.at),
                    planned_end_us: micros(state.planned_end),
                    applied: action(state.applied),
                    undone: action(state.undone),
                    undone_at_teardown: state.undone_at_teardown,
                    error: state.error.clone(),
                    commands: state.commands.clone(),
                }
            })
            .collect()
    }

    /// Each applied fault's real window, from `t0`.
    pub(crate) fn windows(&self, t0: Instant) -> BTreeMap<String, FaultWindow> {
        self.faults
            .iter()
            .filter_map(|state| {
                let state = lock(state);
                let applied = state.applied?;
                let window = FaultWindow {
                    applied: applied.done.saturating_duration_since(t0),
                    undone: state.undone.map(|u| u.done.saturating_duration_since(t0)),
                };
                Some((state.plan.name.clone(), window))
            })
            .collect()
    }
}

/// One fault: wait, apply, wait, undo.
async fn run_fault(
    ctx: Arc<FaultContext>,
    state: Arc<Mutex<FaultState>>,
    t0: Instant,
    stop: Arc<Stop>,
) {
    let (name, at, end, kind) = {
        let state = lock(&state);
        let plan = &state.plan;
        (
            plan.name.clone(),
            t0 + plan.at,
            t0 + state.planned_end,
            plan.kind.clone(),
        )
    };
    if !wait_until(at, &stop).await {
        return;
    }
    let began = Instant::now();
    let applied = faults::apply(&ctx, &name, &kind).await;
    let done = Instant::now();
    let timed = Timed {
        began,
        done,
        planned: at,
    };
    let stays_down = matches!(
        kind,
        FaultKind::Kill {
            then: AfterKill::StayDown,
            ..
        } | FaultKind::Terminate {
            then: AfterKill::StayDown,
            ..
        }
    );
    {
        let mut state = lock(&state);
        state.applied = Some(timed);
        state.undo = Some(applied.undo);
        state.commands = applied.commands;
        state.held = stays_down;
    }
    if let Some(source) = applied.error {
        let error = RunError::Fault {
            fault: name.clone(),
            phase: "apply",
            source: Box::new(source),
        };
        let text = super::error::chain(&error);
        ctx.recorder.record_at(
            done,
            fault_event(
                &name,
                "failed",
                Some(began - at),
                done - began,
                Some(text.clone()),
            ),
        );
        lock(&state).error = Some(text);
        stop.fail(error);
        return;
    }
    ctx.recorder.record_at(
        done,
        fault_event(&name, "applied", Some(late(began, at)), done - began, None),
    );
    if stays_down {
        ctx.recorder
            .record_at(done, fault_event(&name, "held", None, Duration::ZERO, None));
        return;
    }
    if !wait_until(end, &stop).await {
        return;
    }
    let Some(undo) = lock(&state).undo.take() else {
        return;
    };
    let began = Instant::now();
    let (commands, result) = faults::undo(&ctx, undo, "stop").await;
    let done = Instant::now();
    let mut locked = lock(&state);
    locked.commands.extend(commands);
    match result {
        Ok(()) => {
            locked.undone = Some(Timed {
                began,
                done,
                planned: end,
            });
            drop(locked);
            ctx.recorder.record_at(
                done,
                fault_event(&name, "undone", Some(late(began, end)), done - began, None),
            );
        }
        Err(source) => {
            let error = RunError::Fault {
                fault: name.clone(),
                phase: "undo",
                source: Box::new(source),
            };
            let text = super::error::chain(&error);
            locked.error = Some(text.clone());
            drop(locked);
            ctx.recorder.record_at(
                done,
                fault_event(
                    &name,
                    "failed",
                    Some(late(began, end)),
                    done - began,
                    Some(text),
                ),
            );
            stop.fail(error);
        }
    }
}

/// Waits until `deadline` (precisely, see the module docs); `false` when stopped first.
pub(crate) async fn wait_until(deadline: Instant, stop: &Stop) -> bool {
    if let Some(early) = deadline.checked_sub(SPIN) {
        tokio::select! {
            () = stop.token().cancelled() => return false,
            () = tokio::time::sleep_until(early.into()) => {}
        }
    }
    while Instant::now() < deadline {
        if stop.token().is_cancelled() {
            return false;
        }
        tokio::task::yield_now().await;
    }
    !stop.token().is_cancelled()
}

/// `began - planned`, signed.
fn late(began: Instant, planned: Instant) -> Duration {
    began.saturating_duration_since(planned)
}

fn fault_event(
    fault: &str,
    phase: &str,
    late: Option<Duration>,
    took: Duration,
    error: Option<String>,
) -> EventKind {
    EventKind::Fault {
        fault: fault.to_owned(),
        phase: phase.to_owned(),
        late_us: late.map(micros),
        took_us: Some(micros(took)),
        error,
    }
}

fn lock(state: &Mutex<FaultState>) -> MutexGuard<'_, FaultState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
