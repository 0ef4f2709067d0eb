//! The breaker's state machine: plain data driven by an explicit clock (`now`), no locking, no
//! I/O. [`Breaker`](super::Breaker) wraps it in a mutex and delivers the transitions it
//! reports.

use std::time::Duration;

use smallvec::SmallVec;
use tokio::time::Instant;

use super::config::BreakerConfig;
use super::error::{RejectReason, Rejected};
use super::state::{Cause, HalfOpenProgress, Snapshot, State, Transition};
use super::window::{Counts, SlidingWindow};

/// Transitions made by one operation (a timer catch-up makes at most three).
pub(crate) type Events = SmallVec<[Transition; 2]>;

#[derive(Debug)]
enum Phase {
    Closed,
    Open {
        /// End of the wait.
        until: Instant,
        /// The counts that tripped the breaker, kept for the snapshot.
        tripped: Counts,
    },
    HalfOpen {
        /// Probes handed out and not released (completed ones included).
        placed: u32,
        /// Completed probes.
        probes: Counts,
        /// Time box, set when the first probe is placed.
        deadline: Option<Instant>,
    },
    ForcedOpen,
    Disabled,
    MetricsOnly,
}

impl Phase {
    fn state(&self) -> State {
        match self {
            Self::Closed => State::Closed,
            Self::Open { .. } => State::Open,
            Self::HalfOpen { .. } => State::HalfOpen,
            Self::ForcedOpen => State::ForcedOpen,
            Self::Disabled => State::Disabled,
            Self::MetricsOnly => State::MetricsOnly,
        }
    }
}

/// A call the machine admitted and tracks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admission {
    /// Epoch of issue; the outcome must come back with it.
    pub(crate) epoch: u64,
    /// A half-open probe: releasing it frees a slot.
    pub(crate) probe: bool,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Machine {
    config: BreakerConfig,
    phase: Phase,
    /// The closed / metrics-only window; emptied whenever one of those states is entered.
    window: SlidingWindow,
    /// Bumped on every state entry and reset. A permit remembers the epoch it was issued in;
    /// outcomes and releases from another epoch are stale and dropped.
    epoch: u64,
    /// Number of transitions so far (`Transition::seq`).
    seq: u64,
    not_permitted: u64,
    /// The timer deadline the driver was last told about.
    announced: Option<Instant>,
}

impl Machine {
    pub(crate) fn new(config: BreakerConfig, now: Instant) -> Self {
        Self {
            config,
            phase: Phase::Closed,
            window: SlidingWindow::new(config.window, now),
            epoch: 0,
            seq: 0,
            not_permitted: 0,
            announced: None,
        }
    }

    pub(crate) fn state(&self) -> State {
        self.phase.state()
    }

    /// Applies the timer transitions due at `now`, each stamped with its own deadline.
    ///
    /// Terminates: a half-open timeout re-opens, the automatic wait then re-enters half-open
    /// without a time box (it starts with the first probe), so at most three steps.
    pub(crate) fn advance(&mut self, now: Instant, events: &mut Events) {
        loop {
            match self.phase {
                Phase::Open { until, .. } if self.config.automatic_transition && now >= until => {
                    self.transition(Self::half_open(), until, Cause::WaitElapsed, events);
                }
                Phase::HalfOpen {
                    deadline: Some(deadline),
                    ..
                } if now >= deadline => self.trip(deadline, Cause::HalfOpenTimeout, events),
                _ => return,
            }
        }
    }

    /// The next instant at which [`advance`](Self::advance) has work: the end of the open wait
    /// (automatic mode only) or the half-open time box.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Open { until, .. } if self.config.automatic_transition => Some(until),
            Phase::HalfOpen { deadline, .. } => deadline,
            _ => None,
        }
    }

    /// Whether the timer driver must be woken: the deadline changed to a new instant.
    pub(crate) fn take_new_deadline(&mut self) -> bool {
        let next = self.next_deadline();
        let changed = next.is_some() && next != self.announced;
        self.announced = next;
        changed
    }

    /// Admits or rejects one call. `Ok(Some(_))`: a tracked call whose outcome must come back
    /// to [`record`](Self::record) or [`release`](Self::release); `Ok(None)`: an untracked
    /// call (disabled).
    pub(crate) fn acquire(
        &mut self,
        now: Instant,
        events: &mut Events,
    ) -> Result<Option<Admission>, Rejected> {
        self.advance(now, events);
        if let Phase::Open { until, .. } = self.phase
            && now >= until
        {
            // Lazy mode: the first call after the wait moves the breaker and is a probe.
            self.transition(Self::half_open(), now, Cause::WaitElapsed, events);
        }
        let permitted = self.config.permitted_calls_in_half_open.get();
        let max_wait = self.config.max_wait_in_half_open;
        let rejected = match &mut self.phase {
            Phase::Closed | Phase::MetricsOnly => {
                return Ok(Some(Admission {
                    epoch: self.epoch,
                    probe: false,
                }));
            }
            Phase::Disabled => return Ok(None),
            // Probes are limited when placed, not when completed, so a slow upstream cannot
            // be hit by a stampede while the first probes are in flight.
            Phase::HalfOpen {
                placed, deadline, ..
            } if *placed < permitted => {
                if deadline.is_none() {
                    *deadline = max_wait.map(|wait| later(now, wait));
                }
                *placed += 1;
                return Ok(Some(Admission {
                    epoch: self.epoch,
                    probe: true,
                }));
            }
            Phase::HalfOpen { .. } => Rejected {
                reason: RejectReason::HalfOpenFull,
                retry_after: None,
            },
            Phase::Open { until, .. } => Rejected {
                reason: RejectReason::Open,
                retry_after: Some(until.saturating_duration_since(now)),
            },
            Phase::ForcedOpen => Rejected {
                reason: RejectReason::ForcedOpen,
                retry_after: None,
            },
        };
        self.not_permitted += 1;
        Err(rejected)
    }

    /// Records the outcome of a call admitted in `epoch`.
    pub(crate) fn record(&mut self, now: Instant, epoch: u64, call: Counts, events: &mut Events) {
        self.advance(now, events);
        if epoch != self.epoch {
            return;
        }
        let permitted = u64::from(self.config.permitted_calls_in_half_open.get());
        match &mut self.phase {
            Phase::Closed => {
                self.window.record(now, call);
                let totals = self.window.totals(now);
                // minimum_calls gates the closed state only (resilience4j 2.x, issue #1869).
                if totals.calls >= self.config.effective_minimum_calls()
                    && let Some(cause) = self.exceeded(totals)
                {
                    self.trip(now, cause, events);
                }
            }
            Phase::MetricsOnly => self.window.record(now, call),
            Phase::HalfOpen { probes, .. } => {
                probes.add(call);
                let probes = *probes;
                if probes.calls >= permitted {
                    match self.exceeded(probes) {
                        Some(cause) => self.trip(now, cause, events),
                        None => self.transition(Phase::Closed, now, Cause::ProbesPassed, events),
                    }
                }
            }
            // No tracked permit is issued in these states, so no outcome of this epoch exists.
            Phase::Open { .. } | Phase::ForcedOpen | Phase::Disabled => {}
        }
    }

    /// A call admitted in `epoch` ended without an outcome: in half-open its slot is freed
    /// for another probe.
    pub(crate) fn release(&mut self, now: Instant, epoch: u64, events: &mut Events) {
        self.advance(now, events);
        if epoch != self.epoch {
            return;
        }
        if let Phase::HalfOpen { placed, .. } = &mut self.phase {
            *placed = placed.saturating_sub(1);
        }
    }

    /// Operator action: enter `target` (`Closed` = reset). Returns the transition made, if
    /// the state changed. A reset always empties the window and the rejection count.
    pub(crate) fn set(
        &mut self,
        target: State,
        now: Instant,
        events: &mut Events,
    ) -> Option<Transition> {
        self.advance(now, events);
        let phase = match target {
            State::ForcedOpen => Phase::ForcedOpen,
            State::Disabled => Phase::Disabled,
            State::MetricsOnly => Phase::MetricsOnly,
            State::Closed | State::Open | State::HalfOpen => Phase::Closed,
        };
        let reset = matches!(phase, Phase::Closed);
        if reset {
            self.not_permitted = 0;
        }
        if phase.state() == self.phase.state() {
            if reset {
                self.epoch += 1;
                self.window.clear();
            }
            return None;
        }
        self.transition(phase, now, Cause::Manual, events);
        events.last().copied()
    }

    pub(crate) fn snapshot(&mut self, now: Instant, events: &mut Events) -> Snapshot {
        self.advance(now, events);
        let counts = self.counts(now);
        let (until_half_open, half_open) = match self.phase {
            Phase::Open { until, .. } => (Some(until.saturating_duration_since(now)), None),
            Phase::HalfOpen {
                placed,
                probes,
                deadline,
            } => {
                let completed = u32::try_from(probes.calls).unwrap_or(u32::MAX);
                let progress = HalfOpenProgress {
                    permitted: self.config.permitted_calls_in_half_open.get(),
                    in_flight: placed.saturating_sub(completed),
                    completed,
                    time_left: deadline.map(|d| d.saturating_duration_since(now)),
                };
                (None, Some(progress))
            }
            _ => (None, None),
        };
        Snapshot {
            state: self.phase.state(),
            failure_rate: counts.failure_rate(),
            slow_call_rate: counts.slow_call_rate(),
            calls: counts.calls,
            failed: counts.failed,
            slow: counts.slow,
            not_permitted: self.not_permitted,
            until_half_open,
            half_open,
        }
    }

    fn half_open() -> Phase {
        Phase::HalfOpen {
            placed: 0,
            probes: Counts::default(),
            deadline: None,
        }
    }

    /// The counts the current state is judged on (see `Snapshot`).
    fn counts(&mut self, now: Instant) -> Counts {
        match self.phase {
            Phase::Closed | Phase::MetricsOnly => self.window.totals(now),
            Phase::Open { tripped, .. } => tripped,
            Phase::HalfOpen { probes, .. } => probes,
            Phase::ForcedOpen | Phase::Disabled => Counts::default(),
        }
    }

    /// Which threshold `counts` reaches, failure rate first.
    fn exceeded(&self, counts: Counts) -> Option<Cause> {
        if counts.failure_rate() >= self.config.failure_rate_threshold {
            Some(Cause::FailureRate)
        } else if counts.slow_call_rate() >= self.config.slow_call_rate_threshold {
            Some(Cause::SlowCallRate)
        } else {
            None
        }
    }

    /// Opens at `at`, keeping the counts that caused it.
    fn trip(&mut self, at: Instant, cause: Cause, events: &mut Events) {
        let tripped = self.counts(at);
        let until = later(at, self.config.wait_in_open);
        self.transition(Phase::Open { until, tripped }, at, cause, events);
    }

    fn transition(&mut self, to: Phase, at: Instant, cause: Cause, events: &mut Events) {
        let counts = self.counts(at);
        self.epoch += 1;
        self.seq += 1;
        events.push(Transition {
            from: self.phase.state(),
            to: to.state(),
            cause,
            failure_rate: counts.failure_rate(),
            slow_call_rate: counts.slow_call_rate(),
            calls: counts.calls,
            at,
            seq: self.seq,
        });
        if matches!(to, Phase::Closed | Phase::MetricsOnly) {
            self.window.clear();
        }
        self.phase = to;
    }
}

/// `at + wait`, saturating at a century for absurd (unvalidated) waits instead of panicking.
fn later(at: Instant, wait: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    at.checked_add(wait.min(CENTURY)).unwrap_or(at)
}
