//! The shared, thread-safe breaker of one upstream and the permit each admitted call carries.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::config::BreakerConfig;
use super::error::Rejected;
use super::machine::{Events, Machine};
use super::state::{BreakerObserver, Snapshot, State, Transition};
use super::window::Counts;
use crate::classify::CallOutcome;

/// The circuit breaker of one upstream, shared by all its requests (cloning is cheap and
/// shares the state).
///
/// The state sits behind a `std::sync::Mutex`: a decision reads and updates several fields at
/// once (state, window, probe counts), every critical section is a few comparisons and
/// additions (a time window may also drop its aged-out buckets), nothing inside awaits or
/// calls out, and the observer runs after the lock is released. Contention is per upstream.
#[derive(Clone)]
pub struct Breaker {
    shared: Arc<Shared>,
}

struct Shared {
    config: BreakerConfig,
    machine: Mutex<Machine>,
    observer: Option<Box<dyn BreakerObserver>>,
    /// Wakes [`Breaker::run_timers`] when a new timer deadline appears.
    timers: Notify,
}

// === impl Breaker ===

impl Breaker {
    /// A closed breaker with an empty window and no observer.
    pub fn new(config: BreakerConfig) -> Self {
        Self::build(config, None)
    }

    /// A closed breaker whose transitions are all reported to `observer`.
    pub fn with_observer(config: BreakerConfig, observer: impl BreakerObserver + 'static) -> Self {
        Self::build(config, Some(Box::new(observer)))
    }

    fn build(config: BreakerConfig, observer: Option<Box<dyn BreakerObserver>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                machine: Mutex::new(Machine::new(config, Instant::now())),
                observer,
                timers: Notify::new(),
            }),
        }
    }

    /// The settings this breaker was built with (a reload keeps the breaker when they are
    /// equal).
    pub fn config(&self) -> &BreakerConfig {
        &self.shared.config
    }

    /// Asks to place one call. `Ok`: place it and report its outcome through the [`Permit`];
    /// `Err`: do not place it (the gateway answers 503).
    pub fn try_acquire(&self) -> Result<Permit, Rejected> {
        let admitted = self.shared.with(|m, now, events| m.acquire(now, events))?;
        Ok(Permit {
            shared: admitted.map(|_| Arc::clone(&self.shared)),
            epoch: admitted.map_or(0, |a| a.epoch),
            probe: admitted.is_some_and(|a| a.probe),
        })
    }

    /// The current state (applying any timer transition that is due).
    pub fn state(&self) -> State {
        self.shared.with(|m, now, events| {
            m.advance(now, events);
            m.state()
        })
    }

    /// Figures for the admin API (applying any timer transition that is due).
    pub fn snapshot(&self) -> Snapshot {
        self.shared.with(|m, now, events| m.snapshot(now, events))
    }

    /// Operator action: reject every call until [`reset`](Self::reset). Returns the
    /// transition, or `None` when already forced open. The observer gets it too.
    pub fn force_open(&self) -> Option<Transition> {
        self.set(State::ForcedOpen)
    }

    /// Operator action: permit every call and record nothing until [`reset`](Self::reset).
    pub fn disable(&self) -> Option<Transition> {
        self.set(State::Disabled)
    }

    /// Operator action: permit every call and record outcomes (rates visible in the snapshot)
    /// but never transition, until [`reset`](Self::reset).
    pub fn metrics_only(&self) -> Option<Transition> {
        self.set(State::MetricsOnly)
    }

    /// Operator action: back to automatic operation, `closed` with an empty window and a zero
    /// rejection count. Outcomes of calls placed before the reset are dropped. Returns the
    /// transition, or `None` when the breaker was already closed (it is still emptied).
    pub fn reset(&self) -> Option<Transition> {
        self.set(State::Closed)
    }

    fn set(&self, target: State) -> Option<Transition> {
        self.shared
            .with(|m, now, events| m.set(target, now, events))
    }

    /// When a timer transition is next due, if any: the end of the open wait (automatic mode
    /// only) or the end of the half-open time box. A driver calls
    /// [`poll_timers`](Self::poll_timers) at that instant.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.shared.with(|m, _, _| m.next_deadline())
    }

    /// Applies the timer transitions due now (each stamped with its deadline) and returns the
    /// resulting state.
    pub fn poll_timers(&self) -> State {
        self.state()
    }

    /// Drives the timers so automatic transitions happen on time without traffic: sleeps
    /// until [`next_deadline`](Self::next_deadline), applies what is due, repeats; woken
    /// early when a new deadline appears. Never returns: the gateway spawns it per upstream
    /// (or runs it inside a `select!` with its shutdown token) and drops or aborts it when the breaker is retired. Cancel-safe.
    ///
    /// ```no_run
    /// # async fn spawn(breaker: gateway::breaker::Breaker) {
    /// let driver = tokio::spawn(async move { breaker.run_timers().await });
    /// // ... when the upstream is removed or its breaker replaced:
    /// driver.abort();
    /// # }
    /// ```
    ///
    /// Without a driver the breaker is still correct: every method applies due transitions
    /// first; the state only looks stale to someone who does not ask.
    pub async fn run_timers(&self) {
        loop {
            let deadline = self.shared.with(|m, now, events| {
                m.advance(now, events);
                // The driver is about to learn this deadline: no need to wake it for it.
                m.take_new_deadline();
                m.next_deadline()
            });
            match deadline {
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = self.shared.timers.notified() => {}
                    }
                }
                None => self.shared.timers.notified().await,
            }
        }
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("config", &self.shared.config)
            .field("state", &self.shared.with(|m, _, _| m.state()))
            .finish_non_exhaustive()
    }
}

// === impl Shared ===

impl Shared {
    /// Runs `f` under the lock with the current time, then wakes the timer driver if a new
    /// deadline appeared and delivers the transitions `f` made, outside the lock.
    fn with<R>(&self, f: impl FnOnce(&mut Machine, Instant, &mut Events) -> R) -> R {
        let mut events = Events::new();
        let (result, wake) = {
            // The machine never panics, so the lock cannot be poisoned by it; if it ever were,
            // its data is still consistent between operations.
            let mut machine = self.machine.lock().unwrap_or_else(PoisonError::into_inner);
            // Read under the lock so the machine sees time move forward only.
            let now = Instant::now();
            let result = f(&mut machine, now, &mut events);
            (result, machine.take_new_deadline())
        };
        if wake {
            self.timers.notify_one();
        }
        if let Some(observer) = &self.observer {
            for transition in &events {
                observer.on_transition(transition);
            }
        }
        result
    }
}

/// Leave to place one call; report its outcome with [`Permit::record`].
///
/// Dropping a permit without recording (request cancelled, client gone) counts the call as
/// *ignored*: nothing is recorded and, in `half_open`, its probe slot is released for another
/// call, so a cancelled probe cannot keep the breaker half-open forever.
#[must_use = "dropping a permit counts the call as ignored"]
pub struct Permit {
    /// `None` for an untracked call (disabled breaker) or once recorded.
    shared: Option<Arc<Shared>>,
    epoch: u64,
    probe: bool,
}

// === impl Permit ===

impl Permit {
    /// Reports the call's outcome and how long it took (slow when longer than
    /// `slow_call_duration`). Outcomes of calls placed before the latest state change (for
    /// instance placed while closed, completed after the breaker opened) are dropped: they
    /// must not count as half-open probes or refill a fresh window.
    pub fn record(mut self, outcome: CallOutcome, duration: Duration) {
        if let Some(shared) = self.shared.take() {
            let call = Counts::one(
                outcome.is_failure(),
                duration > shared.config.slow_call_duration,
            );
            let epoch = self.epoch;
            shared.with(|m, now, events| m.record(now, epoch, call, events));
        }
    }

    /// Ends the call without an outcome (same as dropping the permit): see [`Permit`].
    pub fn ignore(self) {}

    /// Whether this call is a half-open probe (for the request span).
    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take()
            && self.probe
        {
            let epoch = self.epoch;
            shared.with(|m, now, events| m.release(now, epoch, events));
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("tracked", &self.shared.is_some())
            .field("epoch", &self.epoch)
            .field("probe", &self.probe)
            .finish()
    }
}
