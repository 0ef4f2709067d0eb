//! Power of two choices over peak-EWMA cost (Finagle / linkerd / tower style).
//!
//! Each pick draws two distinct eligible endpoints at random and takes the cheaper, where
//! `cost = rtt_estimate × (in_flight + 1) / weight` and `rtt_estimate` is the endpoint's
//! [`PeakEwma`](super::PeakEwma) decayed to now. Sampling two instead of scanning all keeps the
//! pick O(1) and, unlike "always the cheapest", does not herd every concurrent pick onto the
//! same endpoint between cost updates; the worst endpoint is never picked (it loses every
//! comparison) and an endpoint whose estimate decayed toward zero after going quiet gets at
//! most `2/N` of picks until its first response sets a new estimate.
//!
//! The random source is a `SplitMix64` sequence whose state is one atomic counter: a pick costs
//! one `fetch_add` (no lock, no allocation) and the sequence is fixed by the balancer seed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;

use crate::upstream::Endpoint;

/// `SplitMix64`'s increment (2^64 / golden ratio).
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The P2C picker: only its random state; costs are read from the endpoints.
#[derive(Debug)]
pub(super) struct P2cPeakEwma {
    rng: SplitMix64,
}

/// `SplitMix64` with the state in an atomic, so concurrent picks draw distinct values.
#[derive(Debug)]
struct SplitMix64 {
    state: AtomicU64,
}

// === impl P2cPeakEwma ===

impl P2cPeakEwma {
    /// A picker whose random choices are determined by `seed`.
    pub(super) fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
        }
    }

    /// The cheaper of two random distinct eligible endpoints; the only one when there is one;
    /// `None` when `eligible` is empty. Costs are evaluated at `now`.
    pub(super) fn pick(
        &self,
        endpoints: &[Arc<Endpoint>],
        eligible: &[usize],
        now: Instant,
    ) -> Option<usize> {
        let len = eligible.len();
        if len < 2 {
            return eligible.first().copied();
        }
        let (a, b) = self.candidates(len);
        // `candidates` returns positions below `len`; the fallback keeps this panic-free.
        let (Some(&a), Some(&b)) = (eligible.get(a), eligible.get(b)) else {
            return eligible.first().copied();
        };
        if cost(endpoints, b, now) < cost(endpoints, a, now) {
            Some(b)
        } else {
            Some(a)
        }
    }

    /// Two distinct positions in `0..len` (`len >= 2`), uniformly among ordered pairs.
    fn candidates(&self, len: usize) -> (usize, usize) {
        let (x, y) = self.rng.next_pair();
        let a = bounded(x, len);
        // Draw from the `len - 1` other positions and step over `a`.
        let b = bounded(y, len - 1);
        (a, if b >= a { b + 1 } else { b })
    }
}

/// `rtt_estimate × (in_flight + 1) / weight`; infinite for an index outside `endpoints`, so
/// it never wins.
fn cost(endpoints: &[Arc<Endpoint>], index: usize, now: Instant) -> f64 {
    let Some(endpoint) = endpoints.get(index) else {
        return f64::INFINITY;
    };
    let rtt = endpoint.latency().rtt_estimate_secs(now);
    rtt * (endpoint.in_flight() as f64 + 1.0) / f64::from(endpoint.weight().max(1))
}

/// Maps a random `u64` onto `0..len` (multiply-shift; bias below `len / 2^64`).
fn bounded(random: u64, len: usize) -> usize {
    ((u128::from(random) * len as u128) >> 64) as usize
}

// === impl SplitMix64 ===

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }

    /// The next two outputs of the sequence, reserved with one atomic add.
    fn next_pair(&self) -> (u64, u64) {
        // Relaxed: only the counter's atomicity matters; distinct callers get distinct states.
        let state = self
            .state
            .fetch_add(GOLDEN_GAMMA.wrapping_mul(2), Ordering::Relaxed);
        (
            mix(state.wrapping_add(GOLDEN_GAMMA)),
            mix(state.wrapping_add(GOLDEN_GAMMA.wrapping_mul(2))),
        )
    }
}

/// `SplitMix64`'s output function (Stafford's mix13).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::{P2cPeakEwma, SplitMix64};
    use crate::balance::tests::{endpoints, start_requests};

    #[test]
    fn p2c_splitmix_matches_reference_output() {
        // First outputs of Vigna's reference `splitmix64.c` seeded with 1234567.
        let rng = SplitMix64::new(1_234_567);

        assert_eq!(
            rng.next_pair(),
            (6_457_827_717_110_365_317, 3_203_168_211_198_807_973)
        );
    }

    #[test]
    fn p2c_candidates_are_distinct_and_cover_all_pairs() {
        let p2c = P2cPeakEwma::new(7);
        let mut seen = [[0u32; 4]; 4];

        for _ in 0..12_000 {
            let (a, b) = p2c.candidates(4);
            assert_ne!(a, b);
            seen[a][b] += 1;
        }

        // 12 ordered pairs, 1000 expected each; binomial sd ≈ 30, so ±200 is > 6 sd.
        for (a, row) in seen.iter().enumerate() {
            for (b, &count) in row.iter().enumerate() {
                if a != b {
                    assert!((800..=1200).contains(&count), "pair {a},{b}: {count}");
                }
            }
        }
    }

    #[test]
    fn p2c_single_eligible_returns_it_without_drawing() {
        let upstream = endpoints(&[1, 1, 1]);
        let p2c = P2cPeakEwma::new(0);

        assert_eq!(p2c.pick(&upstream, &[2], Instant::now()), Some(2));
        assert_eq!(p2c.pick(&upstream, &[], Instant::now()), None);
        assert_eq!(p2c.rng.next_pair(), SplitMix64::new(0).next_pair());
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn p2c_two_endpoints_always_takes_lower_latency() {
        let upstream = endpoints(&[1, 1]);
        upstream[1]
            .latency()
            .observe(Duration::from_millis(200), Instant::now());
        let p2c = P2cPeakEwma::new(3);

        for _ in 0..100 {
            assert_eq!(p2c.pick(&upstream, &[0, 1], Instant::now()), Some(0));
        }
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn p2c_in_flight_raises_cost() {
        // Same default estimate; 2 in flight triples endpoint 0's cost.
        let upstream = endpoints(&[1, 1]);
        let _in_flight = start_requests(&upstream, &[2, 0]);
        let p2c = P2cPeakEwma::new(3);

        for _ in 0..100 {
            assert_eq!(p2c.pick(&upstream, &[0, 1], Instant::now()), Some(1));
        }
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn p2c_weight_divides_cost() {
        // Endpoint 0: 3 in flight, weight 8 → 4/8; endpoint 1: idle, weight 1 → 1/1.
        let upstream = endpoints(&[8, 1]);
        let _in_flight = start_requests(&upstream, &[3, 0]);
        let p2c = P2cPeakEwma::new(3);

        for _ in 0..100 {
            assert_eq!(p2c.pick(&upstream, &[0, 1], Instant::now()), Some(0));
        }
    }

    #[test]
    fn p2c_same_seed_gives_same_picks() {
        let upstream = endpoints(&[1, 1, 1, 1, 1]);
        let now = Instant::now();
        let picks = |seed| {
            let p2c = P2cPeakEwma::new(seed);
            (0..50)
                .map(|_| p2c.pick(&upstream, &[0, 1, 2, 3, 4], now).unwrap())
                .collect::<Vec<_>>()
        };

        assert_eq!(picks(11), picks(11));
        assert_ne!(picks(11), picks(12));
    }
}
