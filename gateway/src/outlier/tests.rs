use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use proptest::prelude::*;
use tokio::time::{Instant, advance};

use super::*;
use crate::classify::{CallOutcome, Failure};

const OK: CallOutcome = CallOutcome::Success;
const FAIL: CallOutcome = CallOutcome::Failure(Failure::Status(StatusCode::SERVICE_UNAVAILABLE));
const RESET: CallOutcome = CallOutcome::Failure(Failure::Reset);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn config(failures: u32, base: u64, max: u64, percent: f64) -> OutlierConfig {
    OutlierParams {
        consecutive_failures: Some(failures),
        base_ejection: Some(secs(base)),
        max_ejection: Some(secs(max)),
        max_ejection_percent: Some(percent),
        ..OutlierParams::default()
    }
    .validate()
    .unwrap()
}

fn states(n: usize) -> Vec<Arc<OutlierState>> {
    (0..n).map(|_| Arc::new(OutlierState::new())).collect()
}

fn detector(config: OutlierConfig, n: usize) -> OutlierDetector {
    OutlierDetector::new(config, states(n))
}

/// Feeds `n` copies of `outcome` to endpoint `index`; returns the ejections they caused.
fn feed(d: &OutlierDetector, index: usize, outcome: CallOutcome, n: u32) -> Vec<Ejection> {
    (0..n)
        .filter_map(|_| d.on_outcome(index, outcome, Instant::now()))
        .collect()
}

/// Ejects endpoint `index` with a full failure streak, returning the one ejection.
fn eject(d: &OutlierDetector, index: usize) -> Ejection {
    let threshold = d.config().consecutive_failures().get();
    let mut ejections = feed(d, index, FAIL, threshold);
    assert_eq!(ejections.len(), 1, "a full streak ejects exactly once");
    ejections.remove(0)
}

// === config ===

#[test]
fn outlier_config_defaults_follow_documented_values() {
    let c = OutlierParams::default().validate().unwrap();
    assert_eq!(c, OutlierConfig::default());
    assert_eq!(c.consecutive_failures().get(), 5);
    assert_eq!(c.base_ejection(), secs(10));
    assert_eq!(c.max_ejection(), secs(300));
    assert_eq!(c.max_ejection_percent(), 0.5);
    assert_eq!(c.decay_interval(), secs(10));
    assert!(c.uneject_on_active_check());
    assert_eq!(c.max_multiplier(), 30);
}

#[test]
fn outlier_config_default_max_follows_a_larger_base() {
    let c = OutlierParams {
        base_ejection: Some(secs(600)),
        ..OutlierParams::default()
    }
    .validate()
    .unwrap();
    assert_eq!(c.max_ejection(), secs(600));
    assert_eq!(c.decay_interval(), secs(600));
    assert_eq!(c.max_multiplier(), 1);
}

#[test]
fn outlier_config_invalid_values_are_all_reported() {
    let errors = OutlierParams {
        consecutive_failures: Some(0),
        base_ejection: Some(secs(30)),
        max_ejection: Some(secs(10)),
        max_ejection_percent: Some(1.5),
        decay_interval: Some(Duration::ZERO),
        uneject_on_active_check: None,
    }
    .validate()
    .unwrap_err();
    assert_eq!(
        errors,
        vec![
            OutlierConfigError::ConsecutiveFailuresZero,
            OutlierConfigError::MaxEjectionBelowBase {
                max: secs(10),
                base: secs(30)
            },
            OutlierConfigError::MaxEjectionPercentOutOfRange { value: 1.5 },
            OutlierConfigError::DecayIntervalZero,
        ]
    );
    let fields: Vec<_> = errors.iter().map(OutlierConfigError::field).collect();
    assert_eq!(
        fields,
        [
            "consecutive_failures",
            "max_ejection",
            "max_ejection_percent",
            "decay_interval"
        ]
    );
    assert_eq!(
        errors[1].to_string(),
        "max ejection time 10s is below the base ejection time 30s"
    );
    assert_eq!(
        errors[1].expected(),
        "at least the base ejection time (30s), e.g. 300s"
    );
}

#[test]
fn outlier_config_zero_base_nan_share_and_long_max_are_rejected() {
    let errors = OutlierParams {
        base_ejection: Some(Duration::ZERO),
        max_ejection: Some(secs(2 * 24 * 3600)),
        max_ejection_percent: Some(f64::NAN),
        ..OutlierParams::default()
    }
    .validate()
    .unwrap_err();
    let fields: Vec<_> = errors.iter().map(OutlierConfigError::field).collect();
    assert_eq!(
        fields,
        [
            "base_ejection",
            "max_ejection",
            "max_ejection_percent",
            "decay_interval"
        ]
    );
    assert!(matches!(
        errors[1],
        OutlierConfigError::MaxEjectionTooLong { max } if max == secs(2 * 24 * 3600)
    ));
}

#[test]
fn outlier_max_ejected_is_floor_of_share_but_at_least_one() {
    assert_eq!(config(5, 10, 300, 0.5).max_ejected(4), 2);
    assert_eq!(config(5, 10, 300, 0.5).max_ejected(5), 2);
    assert_eq!(config(5, 10, 300, 0.1).max_ejected(2), 1);
    assert_eq!(config(5, 10, 300, 0.0).max_ejected(10), 1);
    assert_eq!(config(5, 10, 300, 1.0).max_ejected(3), 3);
    // 0.29 × 100 is 28.999999999999996 in f64: the share must still allow 29.
    assert_eq!(config(5, 10, 300, 0.29).max_ejected(100), 29);
}

// === streaks and ejection ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_ejects_at_exactly_consecutive_failures() {
    let d = detector(config(3, 10, 300, 1.0), 2);
    let now = Instant::now();
    assert_eq!(d.on_outcome(0, FAIL, now), None);
    assert_eq!(d.on_outcome(0, FAIL, now), None);
    assert_eq!(d.snapshot(now)[0].consecutive_failures, 2);
    assert!(!d.is_ejected(0, now));

    let ejection = d.on_outcome(0, RESET, now).expect("third failure ejects");
    assert_eq!(
        ejection,
        Ejection {
            endpoint: 0,
            at: now,
            until: now + secs(10),
            duration: secs(10),
            count: 1,
            reason: EjectionReason::ConsecutiveFailures {
                failures: 3,
                last: Failure::Reset
            },
            returned: None,
        }
    );
    assert_eq!(ejection.reason.label(), "consecutive_failures");
    assert!(d.is_ejected(0, now));
    assert!(!d.is_ejected(1, now), "other endpoints are untouched");
    let snap = d.snapshot(now)[0];
    assert_eq!(
        snap.consecutive_failures, 0,
        "the streak restarts on ejection"
    );
    assert_eq!(snap.ejection_count, 1);
    assert_eq!(snap.ejections_total, 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_success_between_failures_resets_streak() {
    let d = detector(config(3, 10, 300, 1.0), 1);
    assert!(feed(&d, 0, FAIL, 2).is_empty());
    assert_eq!(d.on_outcome(0, OK, Instant::now()), None);
    assert_eq!(d.snapshot(Instant::now())[0].consecutive_failures, 0);
    assert!(
        feed(&d, 0, FAIL, 2).is_empty(),
        "2 + 2 with a success between"
    );
    assert!(!d.is_ejected(0, Instant::now()));
    assert_eq!(feed(&d, 0, FAIL, 1).len(), 1, "the third in a row ejects");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_unknown_endpoint_index_is_ignored() {
    let d = detector(config(1, 10, 300, 1.0), 1);
    assert_eq!(d.on_outcome(7, FAIL, Instant::now()), None);
    assert!(!d.is_ejected(7, Instant::now()));
    assert_eq!(d.on_active_check_passed(7, Instant::now()), None);
    assert_eq!(d.ejected_count(Instant::now()), 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_outcomes_while_ejected_are_ignored() {
    let d = detector(config(2, 10, 300, 1.0), 1);
    eject(&d, 0);
    assert!(
        feed(&d, 0, FAIL, 10).is_empty(),
        "no re-ejection while ejected"
    );
    assert_eq!(d.snapshot(Instant::now())[0].consecutive_failures, 0);
    assert_eq!(d.snapshot(Instant::now())[0].ejections_total, 1);
    advance(secs(10)).await;
    assert!(!d.is_ejected(0, Instant::now()));
    assert!(
        feed(&d, 0, FAIL, 1).is_empty(),
        "a fresh streak after return"
    );
    assert_eq!(feed(&d, 0, FAIL, 1).len(), 1);
}

// === ejection time ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_ejection_time_is_base_times_count_capped_at_max() {
    let d = detector(config(1, 10, 25, 1.0), 1);
    let mut durations = Vec::new();
    for _ in 0..5 {
        let e = eject(&d, 0);
        assert_eq!(e.until - e.at, e.duration);
        durations.push((e.count, e.duration));
        // Come back and fail at once: no healthy period, so no decay.
        advance(e.duration).await;
    }
    assert_eq!(
        durations,
        [
            (1, secs(10)),
            (2, secs(20)),
            (3, secs(25)),
            (3, secs(25)),
            (3, secs(25))
        ],
        "the multiplier stops at the first count reaching max (ceil(25 / 10) = 3)"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_ejected_endpoint_returns_after_ejection_time() {
    let d = detector(config(1, 10, 300, 1.0), 2);
    let e = eject(&d, 1);
    assert_eq!(d.next_return(), Some(e.until));

    advance(secs(10) - Duration::from_millis(1)).await;
    let now = Instant::now();
    assert!(
        d.is_ejected(1, now),
        "still ejected 1ms before the deadline"
    );
    assert_eq!(d.uneject_expired(now), []);
    assert_eq!(d.snapshot(now)[1].remaining, Some(Duration::from_millis(1)));

    advance(Duration::from_millis(1)).await;
    let now = Instant::now();
    assert!(
        !d.is_ejected(1, now),
        "back at the deadline, before any sweep"
    );
    assert_eq!(d.ejected_count(now), 0);

    advance(secs(3)).await;
    let returned = d.uneject_expired(Instant::now());
    assert_eq!(
        returned,
        [Uneject {
            endpoint: 1,
            ejected_at: e.at,
            returned_at: e.until,
            reason: ReturnReason::Expired
        }],
        "the event carries the deadline, not the sweep time"
    );
    assert_eq!(returned[0].reason.label(), "expired");
    assert_eq!(d.uneject_expired(Instant::now()), [], "reported once");
    assert_eq!(d.next_return(), None);
    let snap = d.snapshot(Instant::now())[1];
    assert!(!snap.ejected);
    assert_eq!(snap.ejected_until, None);
    assert_eq!(snap.remaining, None);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_returns_future_resolves_at_the_deadline() {
    let d = detector(config(1, 10, 300, 1.0), 3);
    let start = Instant::now();
    let first = eject(&d, 0);
    advance(secs(4)).await;
    let second = eject(&d, 2);

    let returned = d.returns().await;
    assert_eq!(
        Instant::now() - start,
        secs(10),
        "wakes exactly at the first deadline"
    );
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0].endpoint, 0);
    assert_eq!(returned[0].returned_at, first.until);

    let returned = d.returns().await;
    assert_eq!(Instant::now() - start, secs(14));
    assert_eq!(returned[0].endpoint, 2);
    assert_eq!(returned[0].returned_at, second.until);
    assert_eq!(d.next_return(), None);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_returns_future_replans_on_a_new_ejection() {
    let d = Arc::new(detector(config(1, 10, 300, 1.0), 2));
    let start = Instant::now();
    let waiter = tokio::spawn({
        let d = Arc::clone(&d);
        async move { (d.returns().await, Instant::now()) }
    });
    // Nothing is ejected: the waiter must sleep on the notification, not spin or return.
    tokio::task::yield_now().await;
    advance(secs(3)).await;
    assert!(!waiter.is_finished());
    let e = eject(&d, 1);
    let (returned, at) = waiter.await.unwrap();
    assert_eq!(at - start, secs(13));
    assert_eq!(returned[0].endpoint, 1);
    assert_eq!(returned[0].returned_at, e.until);
}

// === decay ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_multiplier_decays_after_healthy_period() {
    let d = detector(config(2, 10, 300, 1.0), 1);
    assert_eq!(eject(&d, 0).count, 1);
    advance(secs(10)).await;
    assert_eq!(eject(&d, 0).count, 2);
    advance(secs(20)).await;
    assert_eq!(eject(&d, 0).count, 3);
    advance(secs(30)).await;
    assert_eq!(d.snapshot(Instant::now())[0].ejection_count, 3);

    // Just under one healthy period (decay_interval = base = 10s): no decay yet.
    advance(secs(10) - Duration::from_millis(1)).await;
    assert_eq!(d.snapshot(Instant::now())[0].ejection_count, 3);
    advance(Duration::from_millis(1)).await;
    assert_eq!(d.snapshot(Instant::now())[0].ejection_count, 2);
    // A failure below the threshold does not interrupt the healthy period.
    assert!(feed(&d, 0, FAIL, 1).is_empty());
    advance(secs(10)).await;
    assert_eq!(d.snapshot(Instant::now())[0].ejection_count, 1);

    // The streak's second failure ejects with the decayed multiplier + 1.
    let e = feed(&d, 0, FAIL, 1);
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].count, e[0].duration),
        (2, secs(20)),
        "decayed 3 -> 1, then +1"
    );
    assert_eq!(d.snapshot(Instant::now())[0].ejections_total, 4);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_multiplier_decays_to_zero_and_no_further() {
    let d = detector(config(1, 10, 300, 1.0), 1);
    eject(&d, 0);
    advance(secs(10)).await;
    eject(&d, 0);
    advance(secs(20) + secs(10 * 50)).await;
    assert_eq!(d.snapshot(Instant::now())[0].ejection_count, 0);
    let e = eject(&d, 0);
    assert_eq!(
        (e.count, e.duration),
        (1, secs(10)),
        "back to a first ejection"
    );
}

// === the cap ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_max_percent_caps_ejections() {
    let d = detector(config(2, 10, 300, 0.5), 4);
    assert_eq!(d.max_ejected(), 2);
    eject(&d, 0);
    eject(&d, 1);
    assert!(
        feed(&d, 2, FAIL, 2).is_empty(),
        "a third ejection of four is refused"
    );
    let now = Instant::now();
    assert_eq!(d.ejected_count(now), 2);
    assert!(!d.is_ejected(2, now));
    assert_eq!(d.overflows_total(), 1);
    assert_eq!(
        d.snapshot(now)[2].consecutive_failures,
        0,
        "a refused request restarts the streak"
    );

    // Once one returns there is room, but the refused endpoint needs a new full streak.
    advance(secs(10)).await;
    assert!(feed(&d, 2, FAIL, 1).is_empty());
    let e = feed(&d, 2, FAIL, 1);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].endpoint, 2);
    assert_eq!(
        d.ejected_count(Instant::now()),
        1,
        "0 and 1 returned, 2 ejected"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_one_endpoint_is_always_ejectable() {
    // 10% of 2 endpoints is 0.2: Envoy's rule still allows one.
    let d = detector(config(2, 10, 300, 0.1), 2);
    assert_eq!(d.max_ejected(), 1);
    eject(&d, 0);
    assert!(feed(&d, 1, FAIL, 2).is_empty(), "but only one");
    assert_eq!(d.ejected_count(Instant::now()), 1);
    assert_eq!(d.overflows_total(), 1);

    // A share of 0 is "one at a time", not "never".
    let zero = detector(config(2, 10, 300, 0.0), 3);
    eject(&zero, 2);
    assert!(feed(&zero, 0, FAIL, 2).is_empty());
    assert_eq!(zero.ejected_count(Instant::now()), 1);
}

// === active checks ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_active_check_pass_unejects_early() {
    let d = detector(config(2, 10, 300, 1.0), 2);
    let e = eject(&d, 0);
    advance(secs(3)).await;
    let now = Instant::now();
    let returned = d.on_active_check_passed(0, now).expect("ends the ejection");
    assert_eq!(
        returned,
        Uneject {
            endpoint: 0,
            ejected_at: e.at,
            returned_at: now,
            reason: ReturnReason::ActiveCheckPassed
        }
    );
    assert_eq!(returned.reason.label(), "active_check_passed");
    assert!(!d.is_ejected(0, now));
    assert_eq!(
        d.uneject_expired(now + secs(60)),
        [],
        "no second return event"
    );
    assert_eq!(d.next_return(), None);
    let snap = d.snapshot(now)[0];
    assert_eq!((snap.ejection_count, snap.consecutive_failures), (1, 0));
    // The multiplier was kept: the next ejection lasts twice as long.
    assert_eq!(eject(&d, 0).count, 2);
    // A passing check on an endpoint that is not ejected changes nothing.
    assert!(feed(&d, 1, FAIL, 1).is_empty());
    assert_eq!(d.on_active_check_passed(1, Instant::now()), None);
    assert_eq!(d.snapshot(Instant::now())[1].consecutive_failures, 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_active_check_pass_keeps_ejection_when_disabled() {
    let config = OutlierParams {
        consecutive_failures: Some(1),
        uneject_on_active_check: Some(false),
        ..OutlierParams::default()
    }
    .validate()
    .unwrap();
    let d = detector(config, 1);
    eject(&d, 0);
    assert_eq!(d.on_active_check_passed(0, Instant::now()), None);
    assert!(d.is_ejected(0, Instant::now()));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_active_check_after_deadline_reports_expiry() {
    let d = detector(config(1, 10, 300, 1.0), 1);
    let e = eject(&d, 0);
    advance(secs(12)).await;
    let returned = d.on_active_check_passed(0, Instant::now()).unwrap();
    assert_eq!(returned.reason, ReturnReason::Expired);
    assert_eq!(returned.returned_at, e.until);
}

// === events and reloads ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_reejection_carries_the_unreported_return() {
    let d = detector(config(1, 10, 300, 1.0), 1);
    let first = eject(&d, 0);
    advance(secs(10)).await;
    // No sweep ran: the next ejection carries the pending return.
    let second = eject(&d, 0);
    assert_eq!(
        second.returned,
        Some(Uneject {
            endpoint: 0,
            ejected_at: first.at,
            returned_at: first.until,
            reason: ReturnReason::Expired
        })
    );
    assert_eq!(d.uneject_expired(Instant::now()), [], "not reported twice");
    assert_eq!(d.next_return(), Some(second.until));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn outlier_state_survives_a_new_detector() {
    let shared = states(2);
    let old = OutlierDetector::new(config(3, 10, 300, 0.5), shared.clone());
    let e = eject(&old, 0);
    assert!(feed(&old, 1, FAIL, 2).is_empty());

    // A reload: new settings, same endpoint states.
    let new = OutlierDetector::new(config(3, 10, 300, 0.5), shared);
    let now = Instant::now();
    assert!(new.is_ejected(0, now), "the ejection carries over");
    assert_eq!(
        new.snapshot(now)[1].consecutive_failures,
        2,
        "so does the streak"
    );
    assert!(
        feed(&new, 1, FAIL, 1).is_empty(),
        "the carried ejection fills the cap of one"
    );
    assert_eq!(new.overflows_total(), 1);

    advance(secs(10)).await;
    let returned = new.uneject_expired(Instant::now());
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0].returned_at, e.until);
    assert_eq!(
        old.uneject_expired(Instant::now()),
        [],
        "one report across versions"
    );
}

// === property ===

#[derive(Debug, Clone)]
enum Op {
    Call { endpoint: usize, failed: bool },
    Advance { millis: u64 },
    ActiveCheckPassed { endpoint: usize },
    Sweep,
}

fn op(endpoints: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..endpoints, prop::bool::weighted(0.8))
            .prop_map(|(endpoint, failed)| Op::Call { endpoint, failed }),
        2 => (0u64..15_000).prop_map(|millis| Op::Advance { millis }),
        1 => (0..endpoints).prop_map(|endpoint| Op::ActiveCheckPassed { endpoint }),
        1 => Just(Op::Sweep),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, u32, f64, Vec<Op>)> {
    (1usize..=8, 1u32..=4, 0.0f64..=1.0).prop_flat_map(|(n, threshold, percent)| {
        (
            Just(n),
            Just(threshold),
            Just(percent),
            prop::collection::vec(op(n), 0..300),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Never more than `max(1, floor(percent × N))` ejected at once, and every ejection
    /// follows at least `threshold` consecutive failures counted since that endpoint's last
    /// success or ejection (outcomes during an ejection are not counted, as documented).
    #[test]
    fn outlier_random_outcomes_respect_cap_and_threshold(
        (n, threshold, percent, ops) in scenario()
    ) {
        let config = OutlierParams {
            consecutive_failures: Some(threshold),
            base_ejection: Some(secs(5)),
            max_ejection: Some(secs(40)),
            max_ejection_percent: Some(percent),
            ..OutlierParams::default()
        }
        .validate()
        .unwrap();
        let cap = ((percent * n as f64 + 1e-9).floor() as usize).max(1);
        let d = OutlierDetector::new(config, states(n));
        prop_assert_eq!(d.max_ejected(), cap);
        let start = Instant::now();
        let mut now = start;
        let mut run = vec![0u32; n];
        for op in ops {
            match op {
                Op::Call { endpoint, failed } => {
                    let was_ejected = d.is_ejected(endpoint, now);
                    let outcome = if failed { FAIL } else { OK };
                    let ejection = d.on_outcome(endpoint, outcome, now);
                    if !was_ejected {
                        run[endpoint] = if failed { run[endpoint] + 1 } else { 0 };
                    }
                    if let Some(e) = ejection {
                        prop_assert!(!was_ejected);
                        prop_assert_eq!(e.endpoint, endpoint);
                        prop_assert!(
                            run[endpoint] >= threshold,
                            "ejected after {} consecutive failures, threshold {}",
                            run[endpoint], threshold
                        );
                        prop_assert!(e.count >= 1 && e.count <= 8);
                        prop_assert_eq!(e.duration, secs(5 * u64::from(e.count)));
                        run[endpoint] = 0;
                    }
                }
                Op::Advance { millis } => now += Duration::from_millis(millis),
                Op::ActiveCheckPassed { endpoint } => {
                    if let Some(u) = d.on_active_check_passed(endpoint, now) {
                        prop_assert!(u.returned_at <= now);
                    }
                    prop_assert!(!d.is_ejected(endpoint, now));
                }
                Op::Sweep => {
                    for u in d.uneject_expired(now) {
                        prop_assert!(u.returned_at <= now);
                        prop_assert!(!d.is_ejected(u.endpoint, now));
                    }
                }
            }
            let ejected = (0..n).filter(|&i| d.is_ejected(i, now)).count();
            prop_assert_eq!(ejected, d.ejected_count(now));
            prop_assert!(ejected <= cap, "{} ejected of {}, cap {}", ejected, n, cap);
        }
    }
}

#[test]
fn outlier_default_threshold_constant_is_five() {
    assert_eq!(DEFAULT_CONSECUTIVE_FAILURES, NonZeroU32::new(5).unwrap());
}
