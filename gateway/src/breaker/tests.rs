//! Breaker tests: every transition and threshold in paused time, plus a property test of the
//! count window against a naive recomputation.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use proptest::prelude::*;
use tokio::time::{Instant, advance};

use super::*;
use crate::classify::{CallOutcome, Failure};

const FAST: Duration = Duration::from_millis(10);
const SLOW: Duration = Duration::from_secs(2);
const FAILURE: CallOutcome = CallOutcome::Failure(Failure::Status(StatusCode::BAD_GATEWAY));

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// Count window of 10, minimum 10, 50% failure or slow (> 1s), 5s open, 3 probes, no time box.
fn config() -> BreakerConfig {
    BreakerConfig {
        window: Window::Count(nz(10)),
        failure_rate_threshold: 0.5,
        slow_call_duration: Duration::from_secs(1),
        slow_call_rate_threshold: 0.5,
        minimum_calls: nz(10),
        wait_in_open: Duration::from_secs(5),
        permitted_calls_in_half_open: nz(3),
        max_wait_in_half_open: None,
        automatic_transition: true,
    }
}

/// Observer keeping every transition.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Transition>>>);

impl Recorder {
    fn all(&self) -> Vec<Transition> {
        self.0.lock().unwrap().clone()
    }

    fn moves(&self) -> Vec<(State, State, Cause)> {
        self.all().iter().map(|t| (t.from, t.to, t.cause)).collect()
    }

    fn last(&self) -> Transition {
        *self.0.lock().unwrap().last().expect("a transition")
    }
}

impl BreakerObserver for Recorder {
    fn on_transition(&self, transition: &Transition) {
        self.0.lock().unwrap().push(*transition);
    }
}

fn observed(config: BreakerConfig) -> (Breaker, Recorder) {
    let recorder = Recorder::default();
    (Breaker::with_observer(config, recorder.clone()), recorder)
}

fn call(breaker: &Breaker, outcome: CallOutcome, duration: Duration) {
    breaker.try_acquire().unwrap().record(outcome, duration);
}

fn calls(breaker: &Breaker, n: usize, outcome: CallOutcome, duration: Duration) {
    for _ in 0..n {
        call(breaker, outcome, duration);
    }
}

/// Trips a breaker built from `config()` (10 failures) and returns the instant it opened.
fn trip(breaker: &Breaker) -> Instant {
    calls(breaker, 10, FAILURE, FAST);
    assert_eq!(breaker.state(), State::Open);
    Instant::now()
}

fn rejection(breaker: &Breaker) -> Rejected {
    breaker.try_acquire().unwrap_err()
}

// === config ===

#[test]
fn config_default_is_valid_and_gateway_tuned() {
    let c = BreakerConfig::default();
    assert_eq!(c.validate(), Ok(()));
    assert_eq!(c.window, Window::Count(nz(20)));
    assert_eq!(c.minimum_calls, nz(10));
    assert_eq!(c.failure_rate_threshold, 0.5);
    assert_eq!(c.slow_call_duration, Duration::from_secs(5));
    assert_eq!(c.slow_call_rate_threshold, 1.0);
    assert_eq!(c.wait_in_open, Duration::from_secs(5));
    assert_eq!(c.permitted_calls_in_half_open, nz(3));
    assert_eq!(c.max_wait_in_half_open, Some(Duration::from_secs(30)));
    assert!(c.automatic_transition);
    assert_eq!(c, BreakerConfig::default(), "equal settings compare equal");
    assert_ne!(
        c,
        BreakerConfig {
            wait_in_open: Duration::from_secs(6),
            ..c
        }
    );
}

#[test]
fn config_validate_reports_every_out_of_range_field() {
    let c = BreakerConfig {
        window: Window::Time(Duration::from_millis(1500)),
        failure_rate_threshold: 0.0,
        slow_call_rate_threshold: f64::NAN,
        wait_in_open: Duration::ZERO,
        max_wait_in_half_open: Some(Duration::ZERO),
        ..BreakerConfig::default()
    };
    let errors = c.validate().unwrap_err();
    let fields: Vec<_> = errors.iter().map(BreakerConfigError::field).collect();
    assert_eq!(
        fields,
        [
            "window",
            "failure_rate_threshold",
            "slow_call_rate_threshold",
            "wait_in_open",
            "max_wait_in_half_open"
        ]
    );
    assert_eq!(
        errors[1].to_string(),
        "failure_rate_threshold must be above 0 and at most 1 (got 0)"
    );
    let too_big = BreakerConfig {
        window: Window::Count(nz(MAX_COUNT_WINDOW + 1)),
        failure_rate_threshold: 1.5,
        ..BreakerConfig::default()
    };
    assert_eq!(
        too_big.validate().unwrap_err(),
        [
            BreakerConfigError::CountWindowTooLarge { calls: 100_001 },
            BreakerConfigError::RateOutOfRange {
                field: "failure_rate_threshold",
                value: 1.5
            },
        ]
    );
}

#[test]
fn state_labels_and_gauge_values_are_stable() {
    let all = [
        (State::Closed, "closed", 0),
        (State::Open, "open", 1),
        (State::HalfOpen, "half_open", 2),
        (State::ForcedOpen, "forced_open", 3),
        (State::Disabled, "disabled", 4),
        (State::MetricsOnly, "metrics_only", 5),
    ];
    for (state, label, gauge) in all {
        assert_eq!((state.as_str(), state.gauge_value()), (label, gauge));
        assert_eq!(state.to_string(), label);
    }
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Breaker>();
    send_sync::<Permit>();
}

// === closed ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn breaker_failure_rate_at_threshold_opens() {
    let (b, rec) = observed(config());
    calls(&b, 5, CallOutcome::Success, FAST);
    calls(&b, 4, FAILURE, FAST);
    assert_eq!(b.state(), State::Closed, "9 calls: below minimum");
    call(&b, FAILURE, FAST);
    let t = rec.last();
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::Closed, State::Open, Cause::FailureRate)
    );
    assert_eq!(
        (t.failure_rate, t.slow_call_rate, t.calls, t.seq),
        (0.5, 0.0, 10, 1)
    );
    assert_eq!(t.at, Instant::now());
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.calls, s.failed, s.failure_rate),
        (State::Open, 10, 5, 0.5)
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn breaker_failure_rate_just_below_threshold_stays_closed() {
    let (b, rec) = observed(config());
    calls(&b, 6, CallOutcome::Success, FAST);
    calls(&b, 4, FAILURE, FAST);
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.calls, s.failed, s.failure_rate),
        (State::Closed, 10, 4, 0.4)
    );
    assert!(rec.all().is_empty());
    assert!(b.try_acquire().is_ok());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn breaker_slow_calls_trip_via_slow_call_rate() {
    let (b, rec) = observed(config());
    calls(&b, 5, CallOutcome::Success, FAST);
    // Exactly slow_call_duration is not slow (strictly longer is).
    calls(&b, 4, CallOutcome::Success, Duration::from_secs(1));
    assert_eq!(b.snapshot().slow, 0);
    call(&b, CallOutcome::Success, SLOW);
    assert_eq!(b.state(), State::Closed, "1 slow in 10");
    calls(&b, 4, CallOutcome::Success, SLOW);
    let t = rec.last();
    assert_eq!((t.to, t.cause), (State::Open, Cause::SlowCallRate));
    assert_eq!((t.failure_rate, t.slow_call_rate, t.calls), (0.0, 0.5, 10));
    assert_eq!(b.snapshot().slow, 5);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn breaker_below_minimum_calls_stays_closed() {
    let (b, _) = observed(BreakerConfig {
        window: Window::Count(nz(20)),
        ..config()
    });
    calls(&b, 9, FAILURE, FAST);
    let s = b.snapshot();
    assert_eq!((s.state, s.calls, s.failure_rate), (State::Closed, 9, 1.0));
    call(&b, FAILURE, FAST);
    assert_eq!(b.state(), State::Open, "10th call reaches minimum_calls");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn breaker_minimum_calls_above_count_window_is_clamped_to_window() {
    let (b, rec) = observed(BreakerConfig {
        window: Window::Count(nz(4)),
        ..config()
    });
    calls(&b, 3, FAILURE, FAST);
    assert_eq!(b.state(), State::Closed);
    call(&b, FAILURE, FAST);
    assert_eq!((b.state(), rec.last().calls), (State::Open, 4));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn count_window_full_evicts_oldest_outcome() {
    let (b, _) = observed(BreakerConfig {
        window: Window::Count(nz(4)),
        minimum_calls: nz(4),
        failure_rate_threshold: 0.75,
        ..config()
    });
    call(&b, FAILURE, FAST);
    calls(&b, 3, CallOutcome::Success, FAST);
    assert_eq!((b.snapshot().calls, b.snapshot().failed), (4, 1));
    call(&b, CallOutcome::Success, FAST);
    assert_eq!(
        (b.snapshot().calls, b.snapshot().failed),
        (4, 0),
        "the failure left"
    );
    calls(&b, 2, FAILURE, FAST);
    assert_eq!(
        (b.state(), b.snapshot().failed),
        (State::Closed, 2),
        "2 of 4"
    );
    call(&b, FAILURE, FAST);
    assert_eq!(b.state(), State::Open, "3 of the last 4");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn time_window_evicts_buckets_older_than_window() {
    let (b, _) = observed(BreakerConfig {
        window: Window::Time(Duration::from_secs(10)),
        minimum_calls: nz(1000),
        ..config()
    });
    calls(&b, 3, FAILURE, FAST);
    advance(Duration::from_millis(5500)).await;
    calls(&b, 2, CallOutcome::Success, FAST);
    advance(Duration::from_millis(4499)).await;
    assert_eq!(
        (b.snapshot().calls, b.snapshot().failed),
        (5, 3),
        "9.999s: all in"
    );
    advance(Duration::from_millis(1)).await;
    assert_eq!(
        (b.snapshot().calls, b.snapshot().failed),
        (2, 0),
        "10s: second 0 out"
    );
    advance(Duration::from_secs(5)).await;
    assert_eq!(b.snapshot().calls, 0, "15.5s: second 5 out");
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn time_window_burst_within_window_opens() {
    let (b, _) = observed(BreakerConfig {
        window: Window::Time(Duration::from_secs(10)),
        ..config()
    });
    calls(&b, 5, FAILURE, FAST);
    advance(Duration::from_secs(9)).await;
    calls(&b, 4, CallOutcome::Success, FAST);
    assert_eq!(b.state(), State::Closed);
    call(&b, CallOutcome::Success, FAST);
    assert_eq!(b.state(), State::Open, "5 of 10 failed within 10s");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn time_window_burst_older_than_window_ages_out() {
    let (b, rec) = observed(BreakerConfig {
        window: Window::Time(Duration::from_secs(10)),
        ..config()
    });
    calls(&b, 5, FAILURE, FAST);
    advance(Duration::from_secs(10)).await;
    calls(&b, 10, CallOutcome::Success, FAST);
    let s = b.snapshot();
    assert_eq!((s.state, s.calls, s.failed), (State::Closed, 10, 0));
    assert!(rec.all().is_empty());
}

// === open ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn open_rejects_until_wait_passes_and_reports_remaining_wait() {
    let (b, _) = observed(config());
    trip(&b);
    advance(Duration::from_secs(2)).await;
    let r = rejection(&b);
    assert_eq!(
        (r.reason, r.retry_after),
        (RejectReason::Open, Some(Duration::from_secs(3)))
    );
    assert_eq!(
        r.to_string(),
        "circuit breaker rejected the call: breaker is open"
    );
    advance(Duration::from_millis(2999)).await;
    assert_eq!(rejection(&b).retry_after, Some(Duration::from_millis(1)));
    let s = b.snapshot();
    assert_eq!((s.state, s.not_permitted), (State::Open, 2));
    assert_eq!(s.until_half_open, Some(Duration::from_millis(1)));
    advance(Duration::from_millis(1)).await;
    let permit = b.try_acquire().unwrap();
    assert!(permit.is_probe());
    assert_eq!(b.state(), State::HalfOpen);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn lazy_open_moves_to_half_open_on_first_call_after_wait() {
    let (b, rec) = observed(BreakerConfig {
        automatic_transition: false,
        ..config()
    });
    trip(&b);
    assert_eq!(b.next_deadline(), None, "lazy: no timer");
    advance(Duration::from_secs(7)).await;
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.until_half_open),
        (State::Open, Some(Duration::ZERO))
    );
    assert_eq!(b.poll_timers(), State::Open);
    let permit = b.try_acquire().unwrap();
    assert!(permit.is_probe(), "the first call is a probe");
    let t = rec.last();
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::Open, State::HalfOpen, Cause::WaitElapsed)
    );
    assert_eq!(t.at, Instant::now(), "stamped with the call that moved it");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn automatic_open_moves_to_half_open_at_deadline_without_calls() {
    let (b, rec) = observed(config());
    let opened = trip(&b);
    let deadline = opened + Duration::from_secs(5);
    assert_eq!(b.next_deadline(), Some(deadline));
    advance(Duration::from_secs(7)).await;
    assert_eq!(
        rec.all().len(),
        1,
        "nothing moves while nobody asks or drives"
    );
    assert_eq!(b.poll_timers(), State::HalfOpen);
    let t = rec.last();
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::Open, State::HalfOpen, Cause::WaitElapsed)
    );
    assert_eq!(
        t.at, deadline,
        "stamped with the deadline, not the late poll"
    );
    assert_eq!(
        (t.failure_rate, t.calls),
        (1.0, 10),
        "the window that tripped"
    );
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.calls, s.until_half_open),
        (State::HalfOpen, 0, None)
    );
    assert_eq!(b.next_deadline(), None);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn run_timers_drives_automatic_transition_at_deadline() {
    let (b, rec) = observed(config());
    let driver = tokio::spawn({
        let b = b.clone();
        async move { b.run_timers().await }
    });
    tokio::task::yield_now().await;
    let opened = trip(&b);
    tokio::task::yield_now().await;
    advance(Duration::from_millis(4999)).await;
    tokio::task::yield_now().await;
    assert_eq!(rec.all().len(), 1, "still open at 4.999s");
    advance(Duration::from_millis(1)).await;
    tokio::task::yield_now().await;
    let t = rec.last();
    assert_eq!(
        (t.to, t.at),
        (State::HalfOpen, opened + Duration::from_secs(5))
    );
    assert!(!driver.is_finished());
    driver.abort();
    assert_eq!(b.state(), State::HalfOpen);
}

// === half-open ===

async fn half_open(config: BreakerConfig) -> (Breaker, Recorder) {
    let (b, rec) = observed(config);
    trip(&b);
    advance(config.wait_in_open).await;
    assert_eq!(b.state(), State::HalfOpen);
    (b, rec)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn half_open_permits_exactly_n_probes_and_rejects_the_rest() {
    let (b, _) = half_open(config()).await;
    let probes: Vec<Permit> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    assert!(probes.iter().all(Permit::is_probe));
    let r = rejection(&b);
    assert_eq!(
        (r.reason, r.retry_after),
        (RejectReason::HalfOpenFull, None)
    );
    let progress = b.snapshot().half_open.unwrap();
    assert_eq!(
        (progress.permitted, progress.in_flight, progress.completed),
        (3, 3, 0)
    );
    assert_eq!(b.snapshot().not_permitted, 1);
    let mut probes = probes.into_iter();
    probes.next().unwrap().record(CallOutcome::Success, FAST);
    // A completed probe does not free a slot: calls are limited when placed.
    assert_eq!(rejection(&b).reason, RejectReason::HalfOpenFull);
    let progress = b.snapshot().half_open.unwrap();
    assert_eq!((progress.in_flight, progress.completed), (2, 1));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn half_open_passing_probes_close_after_n_despite_minimum_calls() {
    // minimum_calls 10 > 3 probes: half-open still decides after the 3rd (resilience4j #1869).
    let (b, rec) = half_open(config()).await;
    let probes: Vec<Permit> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    let mut probes = probes.into_iter();
    probes.next().unwrap().record(FAILURE, FAST);
    probes.next().unwrap().record(CallOutcome::Success, FAST);
    assert_eq!(b.state(), State::HalfOpen, "2 of 3 completed");
    probes.next().unwrap().record(CallOutcome::Success, FAST);
    let t = rec.last();
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::HalfOpen, State::Closed, Cause::ProbesPassed)
    );
    assert_eq!((t.calls, t.failure_rate), (3, 1.0 / 3.0));
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.calls, s.half_open),
        (State::Closed, 0, None),
        "fresh window"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn half_open_failing_probes_reopen_after_n_despite_minimum_calls() {
    let (b, rec) = half_open(config()).await;
    let probes: Vec<Permit> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    let mut probes = probes.into_iter();
    probes.next().unwrap().record(FAILURE, FAST);
    probes.next().unwrap().record(FAILURE, FAST);
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "rate 1.0 but only 2 of 3 completed"
    );
    probes.next().unwrap().record(CallOutcome::Success, SLOW);
    let t = rec.last();
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::HalfOpen, State::Open, Cause::FailureRate)
    );
    assert_eq!(
        (t.calls, t.failure_rate, t.slow_call_rate),
        (3, 2.0 / 3.0, 1.0 / 3.0)
    );
    let r = rejection(&b);
    assert_eq!(
        (r.reason, r.retry_after),
        (RejectReason::Open, Some(Duration::from_secs(5)))
    );
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.calls, s.failed),
        (State::Open, 3, 2),
        "the probes that tripped"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn half_open_slow_probes_reopen_via_slow_call_rate() {
    let (b, rec) = half_open(config()).await;
    let probes: Vec<Permit> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    for (i, p) in probes.into_iter().enumerate() {
        p.record(CallOutcome::Success, if i < 2 { SLOW } else { FAST });
    }
    let t = rec.last();
    assert_eq!(
        (t.to, t.cause, t.slow_call_rate),
        (State::Open, Cause::SlowCallRate, 2.0 / 3.0)
    );
    assert_eq!(b.state(), State::Open);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn half_open_time_box_sends_stuck_half_open_back_to_open() {
    let cfg = BreakerConfig {
        max_wait_in_half_open: Some(Duration::from_secs(10)),
        ..config()
    };
    let (b, rec) = half_open(cfg).await;
    advance(Duration::from_secs(60)).await;
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "idle half-open: no probe, no time box"
    );
    assert_eq!(b.next_deadline(), None);
    let stuck = b.try_acquire().unwrap();
    let placed = Instant::now();
    assert_eq!(b.next_deadline(), Some(placed + Duration::from_secs(10)));
    b.try_acquire().unwrap().record(CallOutcome::Success, FAST);
    advance(Duration::from_secs(4)).await;
    assert_eq!(
        b.snapshot().half_open.unwrap().time_left,
        Some(Duration::from_secs(6))
    );
    advance(Duration::from_secs(6)).await;
    assert_eq!(b.state(), State::Open);
    let t = rec.last();
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::HalfOpen, State::Open, Cause::HalfOpenTimeout)
    );
    assert_eq!(
        (t.at, t.calls, t.failure_rate),
        (placed + Duration::from_secs(10), 1, 0.0)
    );
    // The stuck probe finishing late is stale: it changes nothing.
    stuck.record(CallOutcome::Success, FAST);
    let s = b.snapshot();
    assert_eq!((s.state, s.calls), (State::Open, 1));
    assert_eq!(s.until_half_open, Some(Duration::from_secs(5)));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn half_open_dropped_permit_releases_its_slot() {
    let (b, _) = half_open(BreakerConfig {
        permitted_calls_in_half_open: nz(1),
        ..config()
    })
    .await;
    let probe = b.try_acquire().unwrap();
    assert_eq!(rejection(&b).reason, RejectReason::HalfOpenFull);
    drop(probe);
    let progress = b.snapshot().half_open.unwrap();
    assert_eq!((progress.in_flight, progress.completed), (0, 0));
    let probe = b.try_acquire().unwrap();
    probe.ignore();
    b.try_acquire().unwrap().record(CallOutcome::Success, FAST);
    assert_eq!(
        b.state(),
        State::Closed,
        "the one probe that completed decided"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn closed_era_outcome_finishing_in_half_open_is_not_a_probe() {
    let (b, _) = observed(config());
    let late = b.try_acquire().unwrap();
    assert!(!late.is_probe());
    trip(&b);
    advance(Duration::from_secs(5)).await;
    late.record(FAILURE, FAST);
    let s = b.snapshot();
    assert_eq!((s.state, s.calls), (State::HalfOpen, 0));
    assert_eq!(s.half_open.unwrap().completed, 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn breaker_full_cycle_transitions_carry_their_rates_in_order() {
    let (b, rec) = half_open(config()).await;
    calls(&b, 3, CallOutcome::Success, FAST);
    assert_eq!(
        rec.moves(),
        [
            (State::Closed, State::Open, Cause::FailureRate),
            (State::Open, State::HalfOpen, Cause::WaitElapsed),
            (State::HalfOpen, State::Closed, Cause::ProbesPassed),
        ]
    );
    let all = rec.all();
    let figures: Vec<_> = all
        .iter()
        .map(|t| (t.failure_rate, t.calls, t.seq))
        .collect();
    assert_eq!(figures, [(1.0, 10, 1), (1.0, 10, 2), (0.0, 3, 3)]);
}

// === manual states ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn forced_open_rejects_everything_and_never_transitions() {
    let (b, rec) = observed(config());
    let in_flight = b.try_acquire().unwrap();
    let t = b.force_open().unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::Closed, State::ForcedOpen, Cause::Manual)
    );
    assert_eq!(rec.all(), [t], "the observer gets it too");
    in_flight.record(FAILURE, FAST);
    let r = rejection(&b);
    assert_eq!((r.reason, r.retry_after), (RejectReason::ForcedOpen, None));
    advance(Duration::from_secs(3600)).await;
    assert_eq!((b.state(), b.next_deadline()), (State::ForcedOpen, None));
    assert_eq!(b.force_open(), None, "already forced open");
    let s = b.snapshot();
    assert_eq!((s.calls, s.not_permitted, rec.all().len()), (0, 1, 1));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn disabled_permits_everything_and_records_nothing() {
    let (b, rec) = observed(config());
    trip(&b);
    assert_eq!(
        b.disable().map(|t| (t.from, t.to)),
        Some((State::Open, State::Disabled))
    );
    let permit = b.try_acquire().unwrap();
    assert!(!permit.is_probe());
    permit.record(FAILURE, FAST);
    calls(&b, 50, FAILURE, SLOW);
    advance(Duration::from_secs(60)).await;
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.calls, s.failed, s.not_permitted),
        (State::Disabled, 0, 0, 0)
    );
    assert_eq!(rec.all().len(), 2);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn metrics_only_records_outcomes_but_never_trips() {
    let (b, rec) = observed(config());
    b.metrics_only().unwrap();
    calls(&b, 20, FAILURE, FAST);
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.calls, s.failure_rate),
        (State::MetricsOnly, 10, 1.0)
    );
    assert_eq!(rec.all().len(), 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn reset_returns_to_closed_with_an_empty_window() {
    let (b, rec) = observed(config());
    trip(&b);
    rejection(&b);
    let t = b.reset().unwrap();
    assert_eq!(
        (t.from, t.to, t.cause),
        (State::Open, State::Closed, Cause::Manual)
    );
    let s = b.snapshot();
    assert_eq!((s.state, s.calls, s.not_permitted), (State::Closed, 0, 0));
    assert_eq!(b.next_deadline(), None);
    // Reset of a closed breaker: no transition, but the window is emptied and calls placed
    // before it do not count.
    calls(&b, 9, FAILURE, FAST);
    let before = b.try_acquire().unwrap();
    assert_eq!(b.reset(), None);
    before.record(FAILURE, FAST);
    let s = b.snapshot();
    assert_eq!((s.state, s.calls), (State::Closed, 0));
    assert_eq!(rec.all().len(), 2);
}

// === property ===

proptest! {
    /// For any outcome sequence, a count-window breaker is open exactly when the naive
    /// recomputation over the last N outcomes says so (calls >= min(minimum, N) and a rate at
    /// or above its threshold), and the transition carries the naive rates.
    #[test]
    fn count_window_opens_iff_naive_recomputation_says_so(
        outcomes in prop::collection::vec((any::<bool>(), any::<bool>()), 1..60),
        size in 1u32..=12,
        minimum in 1u32..=15,
        failure_threshold in prop::sample::select(vec![0.2, 0.25, 1.0 / 3.0, 0.5, 0.6, 1.0]),
        slow_threshold in prop::sample::select(vec![0.3, 0.5, 0.75, 1.0]),
    ) {
        let (b, rec) = observed(BreakerConfig {
            window: Window::Count(nz(size)),
            minimum_calls: nz(minimum),
            failure_rate_threshold: failure_threshold,
            slow_call_rate_threshold: slow_threshold,
            wait_in_open: Duration::from_secs(3600),
            ..config()
        });
        for i in 0..outcomes.len() {
            let (failed, slow) = outcomes[i];
            let outcome = if failed { FAILURE } else { CallOutcome::Success };
            call(&b, outcome, if slow { SLOW } else { FAST });

            let start = (i + 1).saturating_sub(size as usize);
            let last = &outcomes[start..=i];
            let n = last.len() as f64;
            let f = last.iter().filter(|o| o.0).count() as f64 / n;
            let s = last.iter().filter(|o| o.1).count() as f64 / n;
            let open = last.len() >= minimum.min(size) as usize
                && (f >= failure_threshold || s >= slow_threshold);
            prop_assert_eq!(b.state() == State::Open, open, "after call {}", i);
            if open {
                let t = rec.last();
                prop_assert_eq!((t.failure_rate, t.slow_call_rate), (f, s));
                prop_assert_eq!(t.calls, last.len() as u64);
                break;
            }
            prop_assert!(rec.all().is_empty());
        }
    }
}
