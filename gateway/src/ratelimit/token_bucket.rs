//! The token bucket, computed as GCRA (the generic cell rate algorithm).
//!
//! GCRA is equivalent to a token bucket of `burst` tokens refilled at `rate`: it admits the
//! same requests, but keeps one timestamp per key instead of a token count and a refill time.
//! The timestamp is the theoretical arrival time (TAT): when the bucket would be full again.
//! With emission interval `T = 1 / rate` and tolerance `τ = T × (burst − 1)`, a request at
//! `now` is admitted when `TAT − now ≤ τ` (the bucket holds at least one token), and then
//! `TAT = max(TAT, now) + T` (one token taken). The Redis backend runs the same arithmetic in
//! its Lua script.

use std::num::NonZeroU32;
use std::time::Duration;

use tokio::time::Instant;

use super::decision::{Decision, Quota, nanos};

/// A token bucket's settings as GCRA parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// `T`: time to refill one token, at least 1ns.
    interval: Duration,
    /// The bucket size.
    burst: NonZeroU32,
}

// === impl Gcra ===

impl Gcra {
    /// A bucket of `burst` tokens refilled at `per_second` tokens a second (above zero).
    pub fn new(per_second: f64, burst: NonZeroU32) -> Self {
        let interval = Duration::try_from_secs_f64(1.0 / per_second)
            .unwrap_or(Duration::MAX)
            .max(Duration::from_nanos(1));
        Self { interval, burst }
    }

    /// `T`, the emission interval: one token's refill time.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The bucket size.
    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// `τ`: how far ahead of `now` the TAT may be for a request to be admitted.
    pub fn tolerance(&self) -> Duration {
        self.interval.saturating_mul(self.burst.get() - 1)
    }

    /// The policy: `burst` requests per time to refill an empty bucket.
    pub fn quota(&self) -> Quota {
        Quota {
            quota: u64::from(self.burst.get()),
            window: self.interval.saturating_mul(self.burst.get()),
        }
    }

    /// Decides a request at `now` for a key whose TAT is `tat` (`None`: never seen, a full
    /// bucket); returns the decision and the key's new TAT.
    pub fn check(&self, tat: Option<Instant>, now: Instant) -> (Decision, Instant) {
        let tat = tat.map_or(now, |t| t.max(now));
        let ahead = tat - now;
        let tolerance = self.tolerance();
        if ahead > tolerance {
            let decision = Decision {
                allowed: false,
                remaining: 0,
                reset: ahead,
                retry_after: ahead - tolerance,
            };
            return (decision, tat);
        }
        let new_tat = tat + self.interval;
        let ahead = new_tat - now;
        // Tokens left: what fits in the bucket (burst × T) beyond the new TAT.
        let capacity = nanos(self.interval) * u64::from(self.burst.get());
        let remaining = capacity.saturating_sub(nanos(ahead)) / nanos(self.interval);
        let decision = Decision {
            allowed: true,
            remaining,
            reset: ahead,
            retry_after: Duration::ZERO,
        };
        (decision, new_tat)
    }

    /// Whether a key with this TAT is indistinguishable from a key never seen (a full
    /// bucket), so forgetting it changes no decision.
    pub fn is_idle(tat: Instant, now: Instant) -> bool {
        tat <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(per_second: f64, burst: u32) -> Gcra {
        Gcra::new(per_second, NonZeroU32::new(burst).unwrap())
    }

    /// Sends `n` requests at `now`, threading the TAT; returns how many were admitted.
    fn admit_at(g: &Gcra, tat: &mut Option<Instant>, now: Instant, n: u32) -> u32 {
        let mut admitted = 0;
        for _ in 0..n {
            let (d, t) = g.check(*tat, now);
            *tat = Some(t);
            admitted += u32::from(d.allowed);
        }
        admitted
    }

    #[tokio::test(start_paused = true)]
    async fn gcra_admits_exactly_burst_at_once_then_one_per_interval() {
        let g = bucket(10.0, 5);
        let mut tat = None;
        let start = Instant::now();
        assert_eq!(
            admit_at(&g, &mut tat, start, 20),
            5,
            "a full bucket admits the burst"
        );

        for step in 1..=30u32 {
            tokio::time::advance(Duration::from_millis(100)).await;
            let now = Instant::now();
            assert_eq!(
                admit_at(&g, &mut tat, now, 3),
                1,
                "one token per 100ms at step {step}"
            );
        }
        assert_eq!(tat, Some(start + Duration::from_millis(3_500)));
    }

    #[tokio::test(start_paused = true)]
    async fn gcra_reports_remaining_reset_and_retry_after() {
        let g = bucket(2.0, 3);
        let now = Instant::now();
        let (first, tat) = g.check(None, now);
        assert!(first.allowed);
        assert_eq!(first.remaining, 2);
        assert_eq!(first.reset, Duration::from_millis(500));
        let (_, tat) = g.check(Some(tat), now);
        let (third, tat) = g.check(Some(tat), now);
        assert_eq!((third.allowed, third.remaining), (true, 0));
        assert_eq!(third.reset, Duration::from_millis(1_500));

        let (refused, same) = g.check(Some(tat), now);
        assert!(!refused.allowed);
        assert_eq!(same, tat, "a refusal takes no token");
        assert_eq!(refused.retry_after, Duration::from_millis(500));

        tokio::time::advance(Duration::from_millis(499)).await;
        assert!(!g.check(Some(tat), Instant::now()).0.allowed);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(
            g.check(Some(tat), Instant::now()).0.allowed,
            "admitted exactly at retry_after"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gcra_refills_to_burst_and_no_further_after_idle_time() {
        let g = bucket(100.0, 4);
        let mut tat = None;
        assert_eq!(admit_at(&g, &mut tat, Instant::now(), 4), 4);
        tokio::time::advance(Duration::from_secs(60)).await;
        let now = Instant::now();
        assert!(Gcra::is_idle(tat.unwrap(), now));
        assert_eq!(
            admit_at(&g, &mut tat, now, 10),
            4,
            "idle time never banks beyond burst"
        );
    }

    #[test]
    fn gcra_quota_is_burst_per_refill_time() {
        let q = bucket(100.0, 20).quota();
        assert_eq!(q.quota, 20);
        assert_eq!(q.window, Duration::from_millis(200));
    }
}
