//! Applies the current behavior to a request: hang, latency and seeded error draws.
//!
//! The behavior lives in a `watch` channel rather than behind a lock: readers take a cheap
//! snapshot, and a hanging request waits on the same channel, so turning `hang` off wakes
//! every held request at once without any bookkeeping of who is waiting.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::watch;

use super::behavior::{Behavior, BehaviorUpdate, ErrorRate};

/// The behavior switch plus the seeded source of error draws.
#[derive(Debug)]
pub(crate) struct Faults {
    behavior: watch::Sender<Behavior>,
    // A std Mutex is enough: it is held for one draw and never across an await.
    rng: Mutex<StdRng>,
}

// === impl Faults ===

impl Faults {
    pub(crate) fn new(initial: Behavior, seed: u64) -> Self {
        Faults {
            behavior: watch::Sender::new(initial),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// A snapshot of the current behavior.
    pub(crate) fn current(&self) -> Behavior {
        self.behavior.borrow().clone()
    }

    /// Applies a validated update atomically and returns the resulting behavior.
    ///
    /// Releases held requests when the update turns `hang` off.
    pub(crate) fn update(&self, update: &BehaviorUpdate) -> Behavior {
        let mut after = None;
        // Apply and snapshot under the channel's lock, so two concurrent updates cannot
        // interleave and each caller sees the state its own update produced.
        self.behavior.send_modify(|behavior| {
            behavior.apply(update);
            after = Some(behavior.clone());
        });
        after.unwrap_or_else(|| self.current())
    }

    /// Waits while `hang` is on, then sleeps the latency; returns the behavior it applied.
    ///
    /// Cancel-safe: when the client goes away hyper drops the request future, and with it
    /// this wait.
    pub(crate) async fn delay(&self) -> Behavior {
        let mut changes = self.behavior.subscribe();
        // `wait_for` only errs once the sender is gone, and `self` owns the sender.
        let behavior = match changes.wait_for(|behavior| !behavior.hang).await {
            Ok(behavior) => behavior.clone(),
            Err(_) => self.current(),
        };
        if !behavior.latency.is_zero() {
            tokio::time::sleep(behavior.latency).await;
        }
        behavior
    }

    /// Decides whether this request gets an injected error.
    ///
    /// Always consumes exactly one draw, whatever the rate, so the n-th affected request
    /// sees the n-th number of the seeded sequence even across rate changes.
    pub(crate) fn draw_failure(&self, rate: ErrorRate) -> bool {
        // A panic cannot happen while the lock is held (drawing does not panic), and an RNG
        // has no invariant a panic could break, so a poisoned lock is simply reused.
        let sample: f64 = match self.rng.lock() {
            Ok(mut rng) => rng.random(),
            Err(poisoned) => poisoned.into_inner().random(),
        };
        // `sample` is in [0, 1): rate 0.0 never fails, rate 1.0 always does.
        sample < rate.get()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;
    use tokio_test::{assert_pending, assert_ready, task};

    use super::*;
    use crate::upstream::behavior::ErrorStatus;

    fn behavior(latency_ms: u64, hang: bool) -> Behavior {
        Behavior {
            latency: Duration::from_millis(latency_ms),
            error_rate: ErrorRate::new(0.0).unwrap(),
            error_status: ErrorStatus::new(500).unwrap(),
            hang,
            healthy: true,
        }
    }

    fn set(faults: &Faults, body: &str) -> Behavior {
        faults.update(&BehaviorUpdate::from_json(body.as_bytes()).unwrap())
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn delay_with_latency_waits_exactly_the_latency() {
        let faults = Faults::new(behavior(50, false), 1);
        let start = Instant::now();
        let applied = faults.delay().await;
        assert_eq!(start.elapsed(), Duration::from_millis(50));
        assert_eq!(applied.latency, Duration::from_millis(50));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn delay_while_hang_is_on_waits_until_turned_off() {
        let faults = Faults::new(behavior(0, true), 1);
        let mut held = task::spawn(faults.delay());
        assert_pending!(held.poll());
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_pending!(held.poll());

        // An unrelated change wakes the waiter, which must keep holding.
        set(&faults, r#"{"healthy":false}"#);
        assert!(held.is_woken());
        assert_pending!(held.poll());

        set(&faults, r#"{"hang":false}"#);
        assert!(held.is_woken());
        let applied = assert_ready!(held.poll());
        assert!(!applied.hang);
        assert!(!applied.healthy);
    }

    #[test]
    fn update_returns_the_new_full_behavior() {
        let faults = Faults::new(behavior(5, false), 1);
        let after = set(&faults, r#"{"latency":"20ms"}"#);
        assert_eq!(after, behavior(20, false));
        assert_eq!(faults.current(), after);
    }

    #[test]
    fn draw_failure_with_rate_zero_or_one_is_constant() {
        let faults = Faults::new(behavior(0, false), 1);
        let never = ErrorRate::new(0.0).unwrap();
        let always = ErrorRate::new(1.0).unwrap();
        assert!((0..1000).all(|_| !faults.draw_failure(never)));
        assert!((0..1000).all(|_| faults.draw_failure(always)));
    }

    #[test]
    fn draw_failure_with_same_seed_repeats_the_sequence() {
        let rate = ErrorRate::new(0.3).unwrap();
        let draws = |seed| {
            let faults = Faults::new(behavior(0, false), seed);
            (0..1000)
                .map(|_| faults.draw_failure(rate))
                .collect::<Vec<_>>()
        };
        let first = draws(7);
        assert_eq!(first, draws(7));
        assert_ne!(first, draws(8));
        // 1000 draws at p = 0.3: mean 300, sd ~14.5; 5 sd either side.
        let failures = first.iter().filter(|failed| **failed).count();
        assert!((228..=372).contains(&failures), "{failures}");
    }
}
