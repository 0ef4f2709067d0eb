//! Per-upstream circuit breaker with resilience4j's semantics: failure- and slow-call-rate
//! thresholds over a sliding window, a timed open state, and a fixed number of half-open probes.
//!
//! # Use
//!
//! ```
//! use std::time::Duration;
//! use gateway::breaker::{Breaker, BreakerConfig, State};
//! use gateway::classify::CallOutcome;
//!
//! let breaker = Breaker::new(BreakerConfig::default());
//! match breaker.try_acquire() {
//!     // Place the call, classify it, report outcome and duration.
//!     Ok(permit) => permit.record(CallOutcome::Success, Duration::from_millis(20)),
//!     // Answer 503 (with Retry-After from `rejected.retry_after`) without calling upstream.
//!     Err(rejected) => println!("{rejected}"),
//! }
//! assert_eq!(breaker.state(), State::Closed);
//! ```
//!
//! # States
//!
//! ```text
//!            failure or slow rate >= threshold        wait_in_open over
//!            (and calls >= minimum_calls)             (timer, or next call if lazy)
//!   CLOSED ----------------------------------> OPEN ---------------------------> HALF_OPEN
//!     ^                                         ^                                   |
//!     |                                         +--- probe rate >= threshold, ------+
//!     |                                              or probes not done in time     |
//!     +-------------- every permitted probe completed, both rates below ------------+
//!
//!   Admin API, from any state: force_open -> FORCED_OPEN (rejects all)
//!   disable -> DISABLED (permits all, records nothing)   metrics_only -> METRICS_ONLY
//!   (permits and records all, never trips)   reset -> CLOSED with an empty window
//! ```
//!
//! - **Outcomes.** A call is *failed* when the shared classifier ([`crate::classify`]) says
//!   so, and *slow* when it took strictly longer than `slow_call_duration`, whatever its
//!   outcome (a slow failure counts as both).
//! - **Closed.** Every completed call enters the window: the last N calls (`Window::Count`)
//!   or the last N seconds in one-second buckets (`Window::Time`: the current, partial
//!   second plus the N-1 before it, bucket edges anchored at the breaker's creation). Running
//!   totals with subtract-on-evict keep each check O(1). After each call, once the window
//!   holds at least `minimum_calls` (clamped to N for a count window), the breaker opens when
//!   the failure rate **or** the slow-call rate is **at or above** its threshold.
//! - **Open.** Every call is rejected with [`RejectReason::Open`] and the time left, until
//!   `wait_in_open` has passed.
//! - **Half-open.** A fresh window of exactly `permitted_calls_in_half_open` probes. That many
//!   calls are *placed* (permits handed out), the rest rejected with
//!   [`RejectReason::HalfOpenFull`]. When all of them have *completed*, their rates decide:
//!   at or above a threshold -> open again (a full new wait), else -> closed with an empty
//!   window.
//!
//! # Choices (where resilience4j leaves room, or where we differ)
//!
//! 1. **`minimum_calls` applies in closed only** (resilience4j 2.x, maintainer answer in
//!    issue #1869; an older answer, #1351, said otherwise). Half-open decides as soon as the
//!    permitted probes have completed, even when they are fewer than `minimum_calls`, so a
//!    breaker with 3 probes and a minimum of 10 cannot stay half-open forever (kora #246).
//! 2. **A permit dropped without an outcome** (client gone, request cancelled) counts as
//!    *ignored*: nothing is recorded, and a half-open probe's slot is released so another call
//!    can probe. A cancelled probe cannot wedge the breaker (resilience4j #903).
//! 3. **Stale outcomes are dropped.** A permit remembers the state it was issued in; an
//!    outcome arriving after a state change (placed while closed, completed after the breaker
//!    opened or while it probes) is ignored. resilience4j records it into the current state,
//!    where a closed-era call can be miscounted as a probe. A reset drops in-flight outcomes
//!    the same way.
//! 4. **The half-open time box** (`max_wait_in_half_open`, resilience4j
//!    `maxWaitDurationInHalfOpenState`) starts at the *first probe placed*, not on entering
//!    half-open: an idle upstream stays half-open (its next call is a probe) instead of
//!    cycling open/half-open with no traffic, which would flood the transition metrics. With
//!    traffic the two agree within one request's inter-arrival time.
//! 5. **Automatic open -> half-open is the default** (resilience4j: lazy), so the state seen
//!    from outside changes on time. It needs no thread of its own: any method called after
//!    the deadline applies it first, stamped with the deadline, not the late call's time;
//!    [`Breaker::run_timers`] is the optional driver the gateway spawns per upstream to make
//!    it happen without traffic ([`Breaker::next_deadline`] / [`Breaker::poll_timers`] for a
//!    custom one). Lazy mode (`automatic_transition: false`) moves on the first call after
//!    the wait, and that call is the first probe; until then the snapshot shows `open` with
//!    zero time left.
//! 6. **Manual states** (admin API) are resilience4j's: `force_open`, `disable`,
//!    `metrics_only` (implemented), and `reset`, which returns to automatic operation:
//!    closed, empty window, rejection count zeroed. Each emits a transition with
//!    [`Cause::Manual`]; asking for the current state is a no-op without one (a reset of a
//!    closed breaker still empties it).
//! 7. **Rates are always reported** (0.0 with no calls) next to the call count;
//!    resilience4j reports -1 below `minimum_calls`. The figures are those of the current
//!    state: window (closed, metrics-only), the window that tripped (open), the probes
//!    (half-open), zero (forced open, disabled).
//! 8. **The open wait is constant.** resilience4j's interval function (e.g. exponential
//!    backoff on repeated trips) is not implemented.
//! 9. **Settings are immutable per breaker.** `BreakerConfig` is `PartialEq`: on reload the
//!    gateway keeps the breaker (and its state) when the settings are equal, and builds a new,
//!    closed one when they changed.
//!
//! # Defaults (gateway-tuned)
//!
//! | setting | default | resilience4j | why |
//! |---|---|---|---|
//! | `window` | last 20 calls | 100 calls | reacts within a second at modest traffic |
//! | `minimum_calls` | 10 | 100 | no verdict from two or three calls |
//! | `failure_rate_threshold` | 0.5 | 50% | |
//! | `slow_call_duration` | 5s | 60s | a third of the 15s route timeout |
//! | `slow_call_rate_threshold` | 1.0 | 100% | slowness alone trips only when every call is slow |
//! | `wait_in_open` | 5s | 60s | short outages recover fast (Hystrix's sleep window) |
//! | `permitted_calls_in_half_open` | 3 | 10 | a majority of 3 decides; little load on a sick upstream |
//! | `max_wait_in_half_open` | 30s | none | twice the route timeout: only a wedged probe hits it |
//! | `automatic_transition` | true | false | state measurable from outside without traffic |
//!
//! # Observability
//!
//! Every transition is a [`Transition`] (`from`, `to`, [`Cause`], the failure and slow-call
//! rates and call count that caused it, `at`, a sequence number) handed to the
//! [`BreakerObserver`] given at construction, after the lock is released; manual transitions
//! are also returned to the admin caller. [`State::as_str`] and [`State::gauge_value`] are
//! the stable label and gauge value; [`Breaker::snapshot`] gives the admin API the state,
//! rates, counts, rejections, time until half-open, and half-open probe progress.
//!
//! # Time
//!
//! All timing uses `tokio::time::Instant`, so tests run in paused virtual time.

mod config;
mod error;
mod handle;
mod machine;
mod state;
mod window;

#[cfg(test)]
mod tests;

pub use config::{BreakerConfig, MAX_COUNT_WINDOW, MAX_TIME_WINDOW, Window};
pub use error::{BreakerConfigError, RejectReason, Rejected};
pub use handle::{Breaker, Permit};
pub use state::{BreakerObserver, Cause, HalfOpenProgress, Snapshot, State, Transition};
