//! Tests of the retry policy, backoff, budget and replayable body.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::time::{Instant, advance};

use super::*;
use crate::classify::{CallOutcome, FailureStatuses};

// === helpers ===

fn n(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap()
}

fn fail(failure: crate::classify::Failure) -> CallOutcome {
    CallOutcome::Failure(failure)
}

fn status(code: u16) -> CallOutcome {
    fail(crate::classify::Failure::Status(
        StatusCode::from_u16(code).unwrap(),
    ))
}

use crate::classify::Failure::{ConnectFailure, ConnectTimeout, Reset, Timeout};

/// A budget that never runs out within a test.
fn roomy_budget() -> BudgetConfig {
    BudgetConfig {
        ratio: 1.0,
        min_per_second: 1000,
        window: Duration::from_secs(10),
    }
}

fn policy_with(config: RetryConfig) -> RetryPolicy {
    let budget = Arc::new(RetryBudget::new(config.budget));
    RetryPolicy::new(config, budget)
}

fn policy() -> RetryPolicy {
    policy_with(RetryConfig {
        attempts: n(3),
        budget: roomy_budget(),
        ..RetryConfig::default()
    })
}

/// The decision on attempt `number` of a `method` request with `headers`.
fn decide(
    policy: &RetryPolicy,
    method: &Method,
    headers: &HeaderMap,
    number: u32,
    outcome: CallOutcome,
) -> Decision {
    let attempt = Attempt {
        method,
        headers,
        number: n(number),
        body_replayable: true,
    };
    policy.should_retry(&attempt, &outcome)
}

fn get(policy: &RetryPolicy, outcome: CallOutcome) -> Decision {
    decide(policy, &Method::GET, &HeaderMap::new(), 1, outcome)
}

#[derive(Debug, thiserror::Error)]
#[error("client went away")]
struct ClientGone;

/// A body yielding `items` in order, then `trailers`, announcing `exact` as its length.
struct TestBody {
    items: VecDeque<Result<Bytes, ClientGone>>,
    trailers: Option<HeaderMap>,
    exact: Option<u64>,
}

impl TestBody {
    fn chunks(chunks: &[&[u8]]) -> Self {
        Self {
            items: chunks
                .iter()
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect(),
            trailers: None,
            exact: None,
        }
    }

    fn with_trailers(mut self, trailers: HeaderMap) -> Self {
        self.trailers = Some(trailers);
        self
    }

    fn announcing(mut self, len: u64) -> Self {
        self.exact = Some(len);
        self
    }

    fn then_error(mut self) -> Self {
        self.items.push_back(Err(ClientGone));
        self
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = ClientGone;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientGone>>> {
        if let Some(item) = self.items.pop_front() {
            if let (Ok(data), Some(exact)) = (&item, self.exact.as_mut()) {
                *exact = exact.saturating_sub(data.len() as u64);
            }
            return Poll::Ready(Some(item.map(Frame::data)));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn size_hint(&self) -> SizeHint {
        self.exact.map(SizeHint::with_exact).unwrap_or_default()
    }
}

/// Everything a body yields: its data and its trailers.
async fn read_all<B>(body: B) -> (Bytes, Option<HeaderMap>)
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    (collected.to_bytes(), trailers)
}

async fn next_data<B: Body<Data = Bytes> + Unpin>(body: &mut B) -> Bytes
where
    B::Error: std::fmt::Debug,
{
    body.frame().await.unwrap().unwrap().into_data().unwrap()
}

fn trailers() -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert("checksum", HeaderValue::from_static("abc"));
    map
}

fn replay_error(error: &crate::errors::BoxError) -> ReplayError {
    *error.downcast_ref::<ReplayError>().unwrap()
}

// === config ===

#[test]
fn config_default_uses_documented_values_and_is_valid() {
    let config = RetryConfig::default();
    assert_eq!(config.attempts.get(), 2);
    assert!(config.idempotent_only);
    assert!(!config.honor_idempotency_key);
    assert_eq!(config.backoff.base, Duration::from_millis(25));
    assert_eq!(config.backoff.max, Duration::from_millis(250));
    assert_eq!(config.budget.ratio, 0.2);
    assert_eq!(config.budget.min_per_second, 10);
    assert_eq!(config.budget.window, Duration::from_secs(10));
    assert_eq!(config.max_replay_body_bytes, 65_536);
    let on = &config.retry_on;
    assert!(on.connect_failure && on.reset && !on.per_try_timeout);
    assert_eq!(on.statuses.ranges(), vec![(502, 504)]);
    assert_eq!(config.problems(), vec![]);
}

#[test]
fn config_out_of_range_values_are_all_reported_with_their_fields() {
    let config = RetryConfig {
        attempts: n(11),
        backoff: Backoff::new(Duration::from_millis(100), Duration::from_millis(50)),
        budget: BudgetConfig {
            ratio: 1.5,
            min_per_second: 0,
            window: Duration::from_millis(500),
        },
        max_replay_body_bytes: 5 * 1024 * 1024,
        ..RetryConfig::default()
    };
    let problems = config.problems();
    let fields: Vec<_> = problems.iter().map(RetryConfigError::field).collect();
    assert_eq!(
        fields,
        [
            "attempts",
            "backoff.max",
            "budget.ratio",
            "budget.window",
            "max_replay_body_bytes"
        ]
    );
    assert_eq!(
        problems[0],
        RetryConfigError::TooManyAttempts { value: 11, max: 10 }
    );
    assert_eq!(
        problems[2].to_string(),
        "budget ratio must be between 0.0 and 1.0 (got 1.5)"
    );
}

#[test]
fn config_zero_backoff_base_and_nan_ratio_are_rejected() {
    let config = RetryConfig {
        backoff: Backoff::new(Duration::ZERO, Duration::ZERO),
        budget: BudgetConfig {
            ratio: f64::NAN,
            ..BudgetConfig::default()
        },
        ..RetryConfig::default()
    };
    let fields: Vec<_> = config.problems().iter().map(|p| p.field()).collect();
    assert_eq!(fields, ["backoff.base", "budget.ratio"]);
}

#[test]
fn retry_on_unclassified_statuses_lists_codes_the_classifier_accepts() {
    let on = RetryOn::nothing().with_statuses(&[429, 501, 503]);
    assert_eq!(
        on.unclassified_statuses(&FailureStatuses::default_5xx()),
        vec![429, 501]
    );
    assert_eq!(
        RetryOn::default().unclassified_statuses(&FailureStatuses::default_5xx()),
        Vec::<u16>::new()
    );
}

// === policy ===

#[test]
fn policy_connect_failure_and_connect_timeout_retry_as_connect_failure() {
    let p = policy();
    let retry = Decision::Retry(RetryReason::ConnectFailure);
    assert_eq!(get(&p, fail(ConnectFailure)), retry);
    assert_eq!(get(&p, fail(ConnectTimeout)), retry);
}

#[test]
fn policy_reset_retries_with_reset_reason() {
    assert_eq!(
        get(&policy(), fail(Reset)),
        Decision::Retry(RetryReason::Reset)
    );
}

#[test]
fn policy_per_try_timeout_retries_only_when_enabled() {
    assert_eq!(
        get(&policy(), fail(Timeout)),
        Decision::NoRetry(NoRetry::NotRetryableOutcome)
    );
    let p = policy_with(RetryConfig {
        retry_on: RetryOn {
            per_try_timeout: true,
            ..RetryOn::nothing()
        },
        budget: roomy_budget(),
        ..RetryConfig::default()
    });
    assert_eq!(
        get(&p, fail(Timeout)),
        Decision::Retry(RetryReason::PerTryTimeout)
    );
    assert_eq!(
        get(&p, fail(Reset)),
        Decision::NoRetry(NoRetry::NotRetryableOutcome)
    );
}

#[test]
fn policy_listed_statuses_retry_and_others_do_not() {
    let p = policy();
    for code in [502, 503, 504] {
        assert_eq!(
            get(&p, status(code)),
            Decision::Retry(RetryReason::Status),
            "{code}"
        );
    }
    for code in [500, 505, 599] {
        assert_eq!(
            get(&p, status(code)),
            Decision::NoRetry(NoRetry::NotRetryableOutcome),
            "{code}"
        );
    }
}

#[test]
fn policy_success_is_not_retried_and_costs_no_budget() {
    let p = policy();
    assert_eq!(
        get(&p, CallOutcome::Success),
        Decision::NoRetry(NoRetry::NotRetryableOutcome)
    );
    assert_eq!(p.budget().snapshot().withdrawals, 0);
}

#[test]
fn policy_idempotent_methods_retry_and_others_do_not() {
    let p = policy();
    let headers = HeaderMap::new();
    for method in [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::PUT,
        Method::DELETE,
    ] {
        assert_eq!(
            decide(&p, &method, &headers, 1, status(503)),
            Decision::Retry(RetryReason::Status),
            "{method}"
        );
    }
    let propfind = Method::from_bytes(b"PROPFIND").unwrap();
    for method in [Method::POST, Method::PATCH, Method::CONNECT, propfind] {
        assert_eq!(
            decide(&p, &method, &headers, 1, fail(Reset)),
            Decision::NoRetry(NoRetry::NonIdempotent),
            "{method}"
        );
    }
    assert_eq!(p.budget().snapshot().withdrawals, 6);
}

#[test]
fn policy_post_retries_when_route_opts_in() {
    let p = policy_with(RetryConfig {
        idempotent_only: false,
        budget: roomy_budget(),
        ..RetryConfig::default()
    });
    let headers = HeaderMap::new();
    assert_eq!(
        decide(&p, &Method::POST, &headers, 1, status(503)),
        Decision::Retry(RetryReason::Status)
    );
    assert_eq!(
        decide(&p, &Method::PATCH, &headers, 1, fail(Reset)),
        Decision::Retry(RetryReason::Reset)
    );
}

#[test]
fn policy_post_retries_connect_failure_because_nothing_was_sent() {
    let p = policy();
    assert_eq!(
        decide(
            &p,
            &Method::POST,
            &HeaderMap::new(),
            1,
            fail(ConnectTimeout)
        ),
        Decision::Retry(RetryReason::ConnectFailure)
    );
}

#[test]
fn policy_idempotency_key_counts_only_when_honored() {
    let mut headers = HeaderMap::new();
    headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("8e03978e"));
    let ignoring = policy();
    assert_eq!(
        decide(&ignoring, &Method::POST, &headers, 1, status(503)),
        Decision::NoRetry(NoRetry::NonIdempotent)
    );
    let honoring = policy_with(RetryConfig {
        honor_idempotency_key: true,
        budget: roomy_budget(),
        ..RetryConfig::default()
    });
    assert_eq!(
        decide(&honoring, &Method::POST, &headers, 1, status(503)),
        Decision::Retry(RetryReason::Status)
    );
    let mut empty = HeaderMap::new();
    empty.insert(IDEMPOTENCY_KEY, HeaderValue::from_static(""));
    assert_eq!(
        decide(&honoring, &Method::POST, &empty, 1, status(503)),
        Decision::NoRetry(NoRetry::NonIdempotent)
    );
}

#[test]
fn policy_last_attempt_is_attempts_exhausted() {
    let p = policy(); // 3 attempts
    let h = HeaderMap::new();
    assert_eq!(
        decide(&p, &Method::GET, &h, 2, fail(Reset)),
        Decision::Retry(RetryReason::Reset)
    );
    assert_eq!(
        decide(&p, &Method::GET, &h, 3, fail(Reset)),
        Decision::NoRetry(NoRetry::AttemptsExhausted)
    );
    let single = policy_with(RetryConfig {
        attempts: n(1),
        ..RetryConfig::default()
    });
    assert_eq!(
        get(&single, fail(ConnectFailure)),
        Decision::NoRetry(NoRetry::AttemptsExhausted)
    );
    assert_eq!(p.budget().snapshot().withdrawals, 1);
}

#[test]
fn policy_unreplayable_body_stops_retry_without_charging_budget() {
    let p = policy();
    let headers = HeaderMap::new();
    let attempt = Attempt {
        method: &Method::PUT,
        headers: &headers,
        number: n(1),
        body_replayable: false,
    };
    assert_eq!(
        p.should_retry(&attempt, &fail(Reset)),
        Decision::NoRetry(NoRetry::BodyNotReplayable)
    );
    assert_eq!(p.budget().snapshot().withdrawals, 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn policy_spent_budget_is_budget_exhausted() {
    let p = policy_with(RetryConfig {
        attempts: n(3),
        budget: BudgetConfig {
            ratio: 0.5,
            min_per_second: 0,
            window: Duration::from_secs(10),
        },
        ..RetryConfig::default()
    });
    p.budget().deposit();
    p.budget().deposit();
    assert_eq!(get(&p, fail(Reset)), Decision::Retry(RetryReason::Reset));
    assert_eq!(
        get(&p, fail(Reset)),
        Decision::NoRetry(NoRetry::BudgetExhausted)
    );
    let snapshot = p.budget().snapshot();
    assert_eq!((snapshot.withdrawals, snapshot.remaining), (1, 0));
}

#[test]
fn policy_reason_labels_are_bounded_snake_case() {
    let reasons = [
        RetryReason::ConnectFailure,
        RetryReason::Reset,
        RetryReason::PerTryTimeout,
        RetryReason::Status,
    ];
    let labels: Vec<_> = reasons.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        labels,
        ["connect_failure", "reset", "per_try_timeout", "status"]
    );
    let no_retry = [
        NoRetry::NotRetryableOutcome,
        NoRetry::NonIdempotent,
        NoRetry::AttemptsExhausted,
        NoRetry::BudgetExhausted,
        NoRetry::BodyNotReplayable,
    ];
    let labels: Vec<_> = no_retry.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        labels,
        [
            "not_retryable_outcome",
            "non_idempotent",
            "attempts_exhausted",
            "budget_exhausted",
            "body_not_replayable"
        ]
    );
}

// === backoff ===

proptest! {
    #[test]
    fn backoff_delay_is_within_zero_and_max(
        base_ms in 0u64..10_000,
        extra_ms in 0u64..100_000,
        retry in 1u32..200,
        seed: u64,
    ) {
        let backoff = Backoff::new(
            Duration::from_millis(base_ms),
            Duration::from_millis(base_ms + extra_ms),
        );
        let mut rng = SmallRng::seed_from_u64(seed);
        let ceiling = backoff.ceiling(n(retry));
        prop_assert!(ceiling <= backoff.max);
        let delay = backoff.delay(n(retry), &mut rng);
        prop_assert!(delay <= backoff.max);
        prop_assert!(delay < ceiling || ceiling.is_zero());
    }

    #[test]
    fn backoff_ceiling_never_decreases_with_retry_number(
        base_ms in 1u64..10_000,
        extra_ms in 0u64..100_000,
        retry in 1u32..100,
    ) {
        let backoff = Backoff::new(
            Duration::from_millis(base_ms),
            Duration::from_millis(base_ms + extra_ms),
        );
        prop_assert!(backoff.ceiling(n(retry)) <= backoff.ceiling(n(retry + 1)));
    }

    #[test]
    fn backoff_same_seed_gives_same_delays(seed: u64) {
        let backoff = Backoff::default();
        let delays = |seed| {
            let mut rng = SmallRng::seed_from_u64(seed);
            (1..=8).map(|r| backoff.delay(n(r), &mut rng)).collect::<Vec<_>>()
        };
        prop_assert_eq!(delays(seed), delays(seed));
    }
}

#[test]
fn backoff_delays_spread_over_the_whole_jitter_range() {
    // Full jitter: draws cover [0, ceiling), not a band around it. 2000 seeded draws of the
    // third retry (ceiling 175ms) average near 87.5ms and reach both ends.
    let backoff = Backoff::default();
    let mut rng = SmallRng::seed_from_u64(42);
    let draws: Vec<Duration> = (0..2000).map(|_| backoff.delay(n(3), &mut rng)).collect();
    let mean = draws.iter().sum::<Duration>() / 2000;
    assert!(
        (Duration::from_millis(80)..Duration::from_millis(95)).contains(&mean),
        "{mean:?}"
    );
    assert!(draws.iter().any(|d| *d < Duration::from_millis(5)));
    assert!(draws.iter().any(|d| *d > Duration::from_millis(170)));
    assert!(draws.iter().all(|d| *d < Duration::from_millis(175)));
}

// === budget ===

fn ratio_budget(ratio: f64, min_per_second: u32) -> RetryBudget {
    RetryBudget::new(BudgetConfig {
        ratio,
        min_per_second,
        window: Duration::from_secs(10),
    })
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn budget_without_deposits_or_reserve_denies_retries() {
    let budget = ratio_budget(0.2, 0);
    assert!(!budget.try_withdraw());
    assert_eq!(
        budget.snapshot(),
        BudgetSnapshot {
            deposits: 0,
            withdrawals: 0,
            remaining: 0
        }
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn budget_ratio_allows_one_retry_per_five_requests() {
    let budget = ratio_budget(0.2, 0);
    for _ in 0..100 {
        budget.deposit();
    }
    let granted = (0..50).filter(|_| budget.try_withdraw()).count();
    assert_eq!(granted, 20);
    assert_eq!(
        budget.snapshot(),
        BudgetSnapshot {
            deposits: 100,
            withdrawals: 20,
            remaining: 0
        }
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn budget_min_per_second_lets_a_trickle_through_without_traffic() {
    let budget = ratio_budget(0.2, 1); // reserve: 1/s × 10s = 10 per window
    assert_eq!(budget.snapshot().remaining, 10);
    let granted = (0..15).filter(|_| budget.try_withdraw()).count();
    assert_eq!(granted, 10);
    assert_eq!(budget.snapshot().remaining, 0);

    // The withdrawals leave the window, and the reserve is available again.
    advance(Duration::from_secs(10)).await;
    assert_eq!(budget.snapshot().withdrawals, 0);
    let granted = (0..15).filter(|_| budget.try_withdraw()).count();
    assert_eq!(granted, 10);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn budget_deposits_count_within_window_and_expire_after_it() {
    let budget = ratio_budget(0.2, 0);
    for _ in 0..10 {
        budget.deposit();
    }
    advance(Duration::from_secs(5)).await;
    assert_eq!(budget.snapshot().deposits, 10);
    assert!(budget.try_withdraw());

    advance(Duration::from_secs(5)).await;
    let snapshot = budget.snapshot();
    // The deposits (at 0s) left the window; the withdrawal (at 5s) is still counted.
    assert_eq!((snapshot.deposits, snapshot.withdrawals), (0, 1));
    assert!(!budget.try_withdraw());

    advance(Duration::from_secs(5)).await;
    assert_eq!(budget.snapshot().withdrawals, 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn budget_counts_live_between_nine_tenths_of_window_and_window() {
    let budget = ratio_budget(1.0, 0);
    budget.deposit();
    advance(Duration::from_millis(8_999)).await;
    assert_eq!(budget.snapshot().deposits, 1);
    advance(Duration::from_millis(1_001)).await;
    assert_eq!(budget.snapshot().deposits, 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn budget_long_idle_gap_clears_every_slot() {
    let budget = ratio_budget(0.5, 0);
    for _ in 0..4 {
        budget.deposit();
        advance(Duration::from_secs(2)).await;
    }
    advance(Duration::from_secs(3600)).await;
    assert_eq!(
        budget.snapshot(),
        BudgetSnapshot {
            deposits: 0,
            withdrawals: 0,
            remaining: 0
        }
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn budget_out_of_range_settings_are_clamped() {
    let over = ratio_budget(7.0, 0);
    over.deposit();
    assert_eq!(over.snapshot().remaining, 1);
    let nan = ratio_budget(f64::NAN, 0);
    nan.deposit();
    assert_eq!(nan.snapshot().remaining, 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn budget_keep_or_rebuild_keeps_state_only_when_config_unchanged() {
    let config = BudgetConfig::default();
    let old = Arc::new(RetryBudget::new(config));
    old.deposit();
    let kept = RetryBudget::keep_or_rebuild(Some(&old), &config);
    assert!(Arc::ptr_eq(&old, &kept));
    assert_eq!(kept.snapshot().deposits, 1);

    let changed = BudgetConfig {
        ratio: 0.1,
        ..config
    };
    let rebuilt = RetryBudget::keep_or_rebuild(Some(&old), &changed);
    assert!(!Arc::ptr_eq(&old, &rebuilt));
    assert_eq!(rebuilt.snapshot().deposits, 0);
    assert_eq!(rebuilt.config(), &changed);
}

#[derive(Debug, Clone)]
enum Op {
    Deposit,
    Withdraw,
    Wait(Duration),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Deposit),
        3 => Just(Op::Withdraw),
        1 => (0u64..4_000).prop_map(|ms| Op::Wait(Duration::from_millis(ms))),
    ]
}

proptest! {
    #[test]
    fn budget_withdrawals_never_exceed_ratio_of_deposits(
        ops in prop::collection::vec(op(), 1..600),
        ratio in prop_oneof![Just(0.2), 0.0f64..=1.0],
    ) {
        let budget = ratio_budget(ratio, 0);
        let ppm = (ratio * 1e6).round() as u128;
        let mut now = Instant::now();
        let (mut deposits, mut withdrawals) = (0u128, 0u128);
        for op in ops {
            match op {
                Op::Deposit => {
                    budget.deposit_at(now);
                    deposits += 1;
                }
                Op::Withdraw => {
                    if budget.try_withdraw_at(now) {
                        withdrawals += 1;
                        // Within the window, at the moment of every retry...
                        let s = budget.snapshot_at(now);
                        prop_assert!(
                            u128::from(s.withdrawals) * 1_000_000
                                <= ppm * u128::from(s.deposits)
                        );
                    }
                }
                Op::Wait(d) => now += d,
            }
            // ...and over the whole run, however the window slides.
            prop_assert!(withdrawals * 1_000_000 <= ppm * deposits);
        }
    }
}

// === replay body ===

#[test]
fn replay_body_of_proxy_body_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync + Unpin + 'static>() {}
    assert_send_sync::<ReplayBody<crate::ProxyBody>>();
}

#[tokio::test]
async fn replay_small_body_replays_byte_identical_twice() {
    let source = TestBody::chunks(&[b"hello ", b"", b"world"]).with_trailers(trailers());
    let handle = ReplayBody::new(source, 1024);
    let expected = (Bytes::from_static(b"hello world"), Some(trailers()));
    // Attempt 1 reads the client's body; attempts 2 and 3 replay the kept copy.
    for attempt in 1..=3 {
        let body = handle.try_clone().unwrap();
        assert_eq!(read_all(body).await, expected, "attempt {attempt}");
        assert!(handle.is_replayable());
    }
}

#[tokio::test]
async fn replay_clone_after_partial_read_replays_then_continues_from_source() {
    let mut first = ReplayBody::new(TestBody::chunks(&[b"ab", b"cd", b"ef"]), 1024);
    assert_eq!(next_data(&mut first).await, Bytes::from_static(b"ab"));
    let second = first.try_clone().unwrap();
    assert_eq!(second.size_hint().lower(), 2);
    let (bytes, _) = read_all(second).await;
    assert_eq!(&bytes[..], b"abcdef");
}

#[tokio::test]
async fn replay_large_body_streams_fully_once_and_is_not_replayable() {
    let chunk = vec![7u8; 40 * 1024];
    let source = TestBody::chunks(&[&chunk, &chunk, &chunk]).with_trailers(trailers());
    let mut first = ReplayBody::new(source, 64 * 1024);
    assert_eq!(next_data(&mut first).await.len(), 40 * 1024);
    assert!(first.is_replayable(), "40 KiB of 64 KiB is still kept");
    let second = first.try_clone().unwrap();

    // The retry reads past the limit: it still gets every byte, and no third attempt can be.
    let (bytes, tail) = read_all(second).await;
    assert_eq!(bytes.len(), 120 * 1024);
    assert!(bytes.iter().all(|&b| b == 7));
    assert_eq!(tail, Some(trailers()));
    assert!(!first.is_replayable());
    assert!(first.try_clone().is_none());
}

#[tokio::test]
async fn replay_announced_large_body_keeps_nothing_but_streams_all() {
    let source = TestBody::chunks(&[b"0123456789", b"0123456789"]).announcing(20);
    let mut body = ReplayBody::new(source, 8);
    // Nothing sent yet: a connect failure could still be retried.
    assert!(body.is_replayable());
    assert_eq!(body.size_hint().exact(), Some(20));
    assert_eq!(
        next_data(&mut body).await,
        Bytes::from_static(b"0123456789")
    );
    assert!(!body.is_replayable());
    assert_eq!(
        next_data(&mut body).await,
        Bytes::from_static(b"0123456789")
    );
    assert!(body.frame().await.is_none());
    assert!(body.try_clone().is_none());
}

#[tokio::test]
async fn replay_zero_limit_is_replayable_until_first_data() {
    let body = ReplayBody::new(TestBody::chunks(&[b"x"]), 0);
    let retry = body.try_clone().unwrap();
    let (bytes, _) = read_all(retry).await;
    assert_eq!(&bytes[..], b"x");
    assert!(!body.is_replayable());

    let empty = ReplayBody::new(TestBody::chunks(&[]), 0);
    let again = empty.try_clone().unwrap();
    assert_eq!(read_all(again).await.0.len(), 0);
    assert!(empty.is_replayable());
}

#[tokio::test]
async fn replay_source_error_propagates_and_ends_replay() {
    let body = ReplayBody::new(TestBody::chunks(&[b"part"]).then_error(), 1024);
    let retry = body.try_clone().unwrap();
    let mut retry_of_retry = retry.try_clone().unwrap();
    drop(retry);

    assert_eq!(
        next_data(&mut retry_of_retry).await,
        Bytes::from_static(b"part")
    );
    let error = retry_of_retry.frame().await.unwrap().unwrap_err();
    assert!(error.downcast_ref::<ClientGone>().is_some(), "{error}");
    assert!(!body.is_replayable());
    assert!(body.try_clone().is_none());
    assert!(!retry_of_retry.is_end_stream());
    let again = retry_of_retry.frame().await.unwrap().unwrap_err();
    assert_eq!(replay_error(&again), ReplayError::SourceFailed);
}

#[tokio::test]
async fn replay_older_clone_is_superseded_by_newer_one() {
    let mut first = ReplayBody::new(TestBody::chunks(&[b"ab", b"cd"]), 1024);
    assert_eq!(next_data(&mut first).await, Bytes::from_static(b"ab"));
    let second = first.try_clone().unwrap();
    assert!(!first.is_end_stream());
    let error = first.frame().await.unwrap().unwrap_err();
    assert_eq!(replay_error(&error), ReplayError::Superseded);
    let (bytes, _) = read_all(second).await;
    assert_eq!(&bytes[..], b"abcd");
}

#[tokio::test]
async fn replay_size_hint_counts_replayed_and_announced_bytes() {
    let source = TestBody::chunks(&[b"abc", b"defg"]).announcing(7);
    let mut first = ReplayBody::new(source, 1024);
    assert_eq!(first.size_hint().exact(), Some(7));
    next_data(&mut first).await;
    assert_eq!(first.size_hint().exact(), Some(4));
    let mut second = first.try_clone().unwrap();
    assert_eq!(second.size_hint().exact(), Some(7));
    next_data(&mut second).await;
    next_data(&mut second).await;
    assert_eq!(second.size_hint().exact(), Some(0));
    assert!(second.frame().await.is_none());
    assert!(second.is_end_stream());
    let third = second.try_clone().unwrap();
    assert_eq!(third.size_hint().exact(), Some(7));
    assert!(!third.is_end_stream());
}
