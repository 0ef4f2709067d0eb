//! How a run ends ([`Outcome`]) and how it is stopped early ([`Stop`]): the first reason
//! (a guard, a harness failure) wins; a cancellation without one is an interruption.

use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use super::error::{RunError, chain};
use crate::Exit;

/// How a run ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The load ran to its end; every fault was applied and undone on schedule.
    Completed,
    /// A guard was breached; the drill stopped early and everything was undone.
    Aborted {
        /// The guard.
        guard: String,
        /// What it measured.
        measured: String,
    },
    /// Stopped by the caller (a signal) before its end.
    Interrupted,
    /// The harness failed: something could not be started, or a fault not applied or undone.
    Failed(RunError),
}

/// Why the run stops early; the first reason wins.
#[derive(Debug)]
pub(crate) struct Stop {
    token: CancellationToken,
    reason: Mutex<Option<Outcome>>,
}

// === impl Stop ===

impl Stop {
    pub(crate) fn new(token: CancellationToken) -> Stop {
        Stop {
            token,
            reason: Mutex::new(None),
        }
    }

    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Stops the run because a guard was breached.
    pub(crate) fn guard(&self, guard: &str, measured: String) {
        self.set(Outcome::Aborted {
            guard: guard.to_owned(),
            measured,
        });
    }

    /// Stops the run because the harness failed.
    pub(crate) fn fail(&self, error: RunError) {
        self.set(Outcome::Failed(error));
    }

    fn set(&self, outcome: Outcome) {
        {
            let mut reason = self.reason.lock().unwrap_or_else(PoisonError::into_inner);
            if reason.is_none() {
                *reason = Some(outcome);
            }
        }
        self.token.cancel();
    }

    /// Whether the run ended (or was aborted by a guard), so traces are worth settling.
    pub(crate) fn settles(&self) -> bool {
        match &*self.reason.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(Outcome::Aborted { .. }) => true,
            Some(_) => false,
            None => !self.token.is_cancelled(),
        }
    }

    /// Why the run was stopped, as text for the journal.
    pub(crate) fn reason_text(&self) -> String {
        match &*self.reason.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(Outcome::Aborted { guard, measured }) => {
                format!("guard {guard} breached: {measured}")
            }
            Some(Outcome::Failed(error)) => chain(error),
            Some(Outcome::Interrupted) | None => "interrupted".to_owned(),
            Some(Outcome::Completed) => "completed".to_owned(),
        }
    }

    /// The outcome: the first reason, else interrupted if cancelled, else completed.
    pub(crate) fn outcome(&self) -> Outcome {
        let reason = self
            .reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match reason {
            Some(outcome) => outcome,
            None if self.token.is_cancelled() => Outcome::Interrupted,
            None => Outcome::Completed,
        }
    }
}

// === impl Outcome ===

impl Outcome {
    /// The exit code `chaos run` gives it: 0 completed, 1 aborted by a guard, 3 otherwise.
    pub fn exit(&self) -> Exit {
        match self {
            Outcome::Completed => Exit::Ok,
            Outcome::Aborted { .. } => Exit::Failed,
            Outcome::Interrupted | Outcome::Failed(_) => Exit::Environment,
        }
    }

    /// `completed`, `aborted`, `interrupted` or `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Aborted { .. } => "aborted",
            Outcome::Interrupted => "interrupted",
            Outcome::Failed(_) => "failed",
        }
    }
}
