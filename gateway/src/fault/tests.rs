//! Fault filter tests: rates within binomial bounds, reproducibility, header control, the
//! active-fault guard, and delays on the paused clock.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use tokio::time::{Instant, advance};
use tokio_test::{assert_pending, assert_ready, task};

use super::*;

const N: usize = 10_000;

fn settings() -> FaultSettings {
    FaultSettings {
        abort: None,
        delay: None,
        header_control: false,
        max_active: None,
        seed: 42,
    }
}

fn abort(status: u16, ratio: f64) -> Option<Abort> {
    Some(Abort {
        status: StatusCode::from_u16(status).unwrap(),
        ratio,
    })
}

fn delay(ms: u64, ratio: f64) -> Option<Delay> {
    Some(Delay {
        duration: Duration::from_millis(ms),
        ratio,
    })
}

fn filter(settings: FaultSettings) -> FaultFilter {
    FaultFilter::new(settings.validate().unwrap())
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(n, v)| {
            (
                header::HeaderName::from_static(n),
                HeaderValue::from_static(v),
            )
        })
        .collect()
}

/// The first `n` decisions as plain values (each decision dropped at once).
fn run(
    filter: &FaultFilter,
    headers: &HeaderMap,
    n: usize,
) -> Vec<(Option<Duration>, Option<StatusCode>)> {
    (0..n)
        .map(|_| {
            let d = filter.decide(headers);
            (d.delay, d.abort)
        })
        .collect()
}

/// Asserts `hits` out of `n` is within five standard deviations of a Binomial(n, p) mean:
/// a false failure has probability below 6e-7.
fn assert_binomial(hits: usize, n: usize, p: f64) {
    let (n, hits) = (n as f64, hits as f64);
    let mean = n * p;
    let bound = 5.0 * (n * p * (1.0 - p)).sqrt();
    assert!(
        (hits - mean).abs() <= bound,
        "{hits} hits, expected {mean} ± {bound}"
    );
}

// === rates and reproducibility ===

#[test]
fn fault_rates_follow_configured_ratios_within_binomial_bounds() {
    // Abort 30%: mean 3000, sigma 45.8. Delay 50%: mean 5000, sigma 50. Both (independent
    // draws): 15%, mean 1500, sigma 35.7.
    let filter = filter(FaultSettings {
        abort: abort(503, 0.3),
        delay: delay(10, 0.5),
        ..settings()
    });

    let decisions = run(&filter, &HeaderMap::new(), N);

    let aborts = decisions.iter().filter(|(_, a)| a.is_some()).count();
    let delays = decisions.iter().filter(|(d, _)| d.is_some()).count();
    let both = decisions
        .iter()
        .filter(|(d, a)| d.is_some() && a.is_some())
        .count();
    assert_binomial(aborts, N, 0.3);
    assert_binomial(delays, N, 0.5);
    assert_binomial(both, N, 0.15);
    assert!(
        decisions
            .iter()
            .flat_map(|(_, a)| a)
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE)
    );
    assert!(
        decisions
            .iter()
            .flat_map(|(d, _)| d)
            .all(|d| *d == Duration::from_millis(10))
    );
    let stats = filter.stats();
    assert_eq!(
        (stats.aborts_injected, stats.delays_injected),
        (aborts as u64, delays as u64)
    );
    assert_eq!((stats.active, stats.overflow), (0, 0));
}

#[test]
fn fault_ratio_zero_and_one_are_exact() {
    let never = filter(FaultSettings {
        abort: abort(503, 0.0),
        delay: delay(5, 0.0),
        ..settings()
    });
    let always = filter(FaultSettings {
        abort: abort(503, 1.0),
        delay: delay(5, 1.0),
        ..settings()
    });

    assert!(
        run(&never, &HeaderMap::new(), N)
            .iter()
            .all(|d| *d == (None, None))
    );
    let all = run(&always, &HeaderMap::new(), N);
    assert!(all.iter().all(|d| *d
        == (
            Some(Duration::from_millis(5)),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        )));
    assert_eq!(never.stats(), FaultStats::default());
    assert_eq!(always.stats().aborts_injected, N as u64);
}

#[test]
fn fault_decisions_are_reproducible_for_a_seed() {
    let config = FaultSettings {
        abort: abort(503, 0.5),
        delay: delay(5, 0.5),
        ..settings()
    };
    let first = run(&filter(config.clone()), &HeaderMap::new(), 1000);
    let again = run(&filter(config.clone()), &HeaderMap::new(), 1000);
    let other = run(
        &filter(FaultSettings { seed: 43, ..config }),
        &HeaderMap::new(),
        1000,
    );

    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[test]
fn fault_concurrent_decisions_draw_the_same_values_as_sequential_ones() {
    let config = FaultSettings {
        abort: abort(503, 0.3),
        ..settings()
    };
    let sequential = run(&filter(config.clone()), &HeaderMap::new(), N)
        .iter()
        .filter(|(_, a)| a.is_some())
        .count();

    let shared = Arc::new(filter(config));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || run(&shared, &HeaderMap::new(), N / 4))
        })
        .collect();
    let concurrent = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .filter(|(_, a)| a.is_some())
        .count();

    // Every call reserved a distinct index of the same sequence: the same draws, reordered.
    assert_eq!(concurrent, sequential);
}

// === header control ===

#[test]
fn fault_headers_are_ignored_without_header_control() {
    let filter = filter(FaultSettings {
        abort: abort(503, 1.0),
        ..settings()
    });
    let asked = headers(&[(ABORT_HEADER, "418"), (DELAY_HEADER, "100")]);

    let decision = filter.decide(&asked);

    assert_eq!(decision.abort, Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(
        decision.delay, None,
        "a header never enables an unconfigured fault"
    );
}

#[test]
fn fault_header_control_injects_only_into_requests_that_ask() {
    let filter = filter(FaultSettings {
        abort: abort(503, 1.0),
        delay: delay(10, 1.0),
        header_control: true,
        ..settings()
    });

    let plain = filter.decide(&HeaderMap::new());
    assert!(plain.is_empty());
    drop(plain);
    let abort_only = filter.decide(&headers(&[(ABORT_HEADER, "418")]));
    assert_eq!(
        (abort_only.abort, abort_only.delay),
        (Some(StatusCode::IM_A_TEAPOT), None)
    );
    drop(abort_only);
    let delay_only = filter.decide(&headers(&[(DELAY_HEADER, "250")]));
    assert_eq!(
        (delay_only.abort, delay_only.delay),
        (None, Some(Duration::from_millis(250)))
    );
    drop(delay_only);
    // A percentage header alone does not ask for a fault.
    assert!(
        filter
            .decide(&headers(&[(ABORT_PERCENTAGE_HEADER, "100")]))
            .is_empty()
    );
}

#[test]
fn fault_invalid_header_values_fall_back_to_configured_ones() {
    let filter = filter(FaultSettings {
        abort: abort(503, 1.0),
        delay: delay(10, 1.0),
        header_control: true,
        ..settings()
    });
    for (status, ms) in [
        ("banana", "x"),
        ("199", "0"),
        ("600", "60001"),
        ("", "-5"),
        ("5.0e2", "1.5"),
    ] {
        let asked: HeaderMap = [
            (ABORT_HEADER, HeaderValue::from_static(status)),
            (DELAY_HEADER, HeaderValue::from_static(ms)),
        ]
        .into_iter()
        .map(|(n, v)| (header::HeaderName::from_static(n), v))
        .collect();

        let decision = filter.decide(&asked);

        assert_eq!(
            decision.abort,
            Some(StatusCode::SERVICE_UNAVAILABLE),
            "{status:?}"
        );
        assert_eq!(decision.delay, Some(Duration::from_millis(10)), "{ms:?}");
    }
    let at_cap = filter.decide(&headers(&[(DELAY_HEADER, "60000")]));
    assert_eq!(at_cap.delay, Some(MAX_HEADER_DELAY));
}

#[test]
fn fault_header_percentage_is_capped_by_configured_ratio() {
    // Same seed, same draws: a header-controlled filter must decide exactly as a plain
    // filter configured with the effective ratio.
    let controlled = |ratio| {
        filter(FaultSettings {
            abort: abort(503, ratio),
            header_control: true,
            ..settings()
        })
    };
    let plain = |ratio| {
        filter(FaultSettings {
            abort: abort(503, ratio),
            ..settings()
        })
    };
    let ask = |pct: &'static str| headers(&[(ABORT_HEADER, "503"), (ABORT_PERCENTAGE_HEADER, pct)]);
    let expect = |ratio| run(&plain(ratio), &HeaderMap::new(), N);

    // Above the configured 20%: capped to it.
    assert_eq!(run(&controlled(0.2), &ask("100"), N), expect(0.2));
    // Below: the header's 5% applies.
    assert_eq!(run(&controlled(0.2), &ask("5"), N), expect(0.05));
    assert_eq!(run(&controlled(0.2), &ask("12.5"), N), expect(0.125));
    // Invalid or absent: the configured ratio.
    for invalid in ["-1", "101", "NaN", "ten"] {
        assert_eq!(
            run(&controlled(0.2), &ask(invalid), N),
            expect(0.2),
            "{invalid}"
        );
    }
    assert_eq!(
        run(&controlled(0.2), &headers(&[(ABORT_HEADER, "503")]), N),
        expect(0.2)
    );
    let hits = run(&controlled(0.2), &ask("5"), N)
        .iter()
        .filter(|(_, a)| a.is_some())
        .count();
    assert_binomial(hits, N, 0.05);
}

#[test]
fn fault_delay_percentage_header_is_capped_too() {
    let controlled = filter(FaultSettings {
        delay: delay(10, 0.3),
        header_control: true,
        ..settings()
    });
    let plain = filter(FaultSettings {
        delay: delay(10, 0.3),
        ..settings()
    });
    let ask = headers(&[(DELAY_HEADER, "10"), (DELAY_PERCENTAGE_HEADER, "90")]);

    assert_eq!(run(&controlled, &ask, N), run(&plain, &HeaderMap::new(), N));
}

// === max_active ===

#[test]
fn fault_max_active_skips_faults_beyond_the_bound() {
    let filter = filter(FaultSettings {
        abort: abort(503, 1.0),
        max_active: Some(2),
        ..settings()
    });

    let first = filter.decide(&HeaderMap::new());
    let second = filter.decide(&HeaderMap::new());
    let third = filter.decide(&HeaderMap::new());

    assert!(first.abort.is_some() && second.abort.is_some());
    assert!(
        third.is_empty(),
        "the third concurrent fault is not injected"
    );
    assert_eq!(
        filter.stats(),
        FaultStats {
            active: 2,
            delays_injected: 0,
            aborts_injected: 2,
            overflow: 1
        }
    );
    drop(first);
    let fourth = filter.decide(&HeaderMap::new());
    assert!(fourth.abort.is_some(), "a released slot is reused");
    drop((second, third, fourth));
    assert_eq!(filter.stats().active, 0);
}

#[test]
fn fault_max_active_holds_under_concurrent_decisions() {
    let filter = Arc::new(filter(FaultSettings {
        delay: delay(10, 1.0),
        max_active: Some(3),
        ..settings()
    }));
    let threads = 8;
    let all_decided = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (filter, all_decided) = (Arc::clone(&filter), Arc::clone(&all_decided));
            std::thread::spawn(move || {
                let decision = filter.decide(&HeaderMap::new());
                // Hold every decision until all threads decided.
                all_decided.wait();
                !decision.is_empty()
            })
        })
        .collect();
    let injected = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|x| *x)
        .count();

    assert_eq!(injected, 3);
    let stats = filter.stats();
    assert_eq!(
        (stats.delays_injected, stats.overflow, stats.active),
        (3, 5, 0)
    );
}

// === enforcement ===

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn fault_delay_waits_exactly_on_the_paused_clock() {
    let filter = filter(FaultSettings {
        delay: delay(200, 1.0),
        ..settings()
    });
    let decision = filter.decide(&HeaderMap::new());

    let mut wait = task::spawn(decision.apply_delay());
    assert_pending!(wait.poll());
    advance(Duration::from_millis(199)).await;
    assert_pending!(wait.poll());
    advance(Duration::from_millis(1)).await;
    assert_ready!(wait.poll());
    drop(wait);

    // No delay decided: no wait at all.
    let none = FaultDecision::default();
    let start = Instant::now();
    none.apply_delay().await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn fault_delay_is_cancelled_by_dropping_it() {
    let filter = filter(FaultSettings {
        delay: delay(10_000, 1.0),
        max_active: Some(1),
        ..settings()
    });
    let decision = filter.decide(&HeaderMap::new());
    let start = Instant::now();

    let outcome = tokio::time::timeout(Duration::from_millis(50), decision.apply_delay()).await;

    assert!(outcome.is_err(), "the delay outlives the timeout");
    assert_eq!(start.elapsed(), Duration::from_millis(50));
    assert_eq!(
        filter.stats().active,
        1,
        "the slot is held until the decision is dropped"
    );
    drop(decision);
    assert_eq!(filter.stats().active, 0);
}

#[tokio::test]
async fn fault_abort_response_is_json_with_fault_header() {
    let filter = filter(FaultSettings {
        abort: abort(503, 1.0),
        delay: delay(1, 1.0),
        ..settings()
    });
    let decision = filter.decide(&HeaderMap::new());

    let response = decision.abort_response().unwrap();

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let marks: Vec<_> = response.headers().get_all(FAULT_HEADER).iter().collect();
    assert_eq!(marks, ["delay", "abort"]);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "fault_injected");
    assert_eq!(json["status"], 503);
}

#[test]
fn fault_delay_only_marks_the_forwarded_response() {
    let filter = filter(FaultSettings {
        delay: delay(1, 1.0),
        ..settings()
    });
    let decision = filter.decide(&HeaderMap::new());
    let mut response = Response::new(());

    assert!(decision.abort_response().is_none());
    decision.mark(&mut response);

    assert_eq!(response.headers()[FAULT_HEADER], "delay");
    assert_eq!(
        decision.kinds().map(FaultKind::as_str).collect::<Vec<_>>(),
        ["delay"]
    );
}

// === config ===

#[test]
fn fault_config_reports_every_problem() {
    let errors = FaultSettings {
        abort: abort(600, 1.5),
        delay: Some(Delay {
            duration: Duration::ZERO,
            ratio: f64::NAN,
        }),
        header_control: false,
        max_active: Some(0),
        seed: 0,
    }
    .validate()
    .unwrap_err();

    let fields: Vec<_> = errors.iter().map(FaultConfigError::field).collect();
    assert_eq!(
        fields,
        [
            "abort.ratio",
            "delay.ratio",
            "abort.status",
            "delay.duration",
            "max_active"
        ],
        "{errors:?}"
    );
    assert_eq!(errors[2], FaultConfigError::AbortStatus { status: 600 });
    assert_eq!(
        settings().validate().unwrap_err(),
        [FaultConfigError::Empty]
    );
}
