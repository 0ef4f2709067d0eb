//! Least request: the eligible endpoint with the lowest `(in_flight + 1) / weight`.
//!
//! Every pick scans all eligible endpoints, so it never sends a request to an endpoint that is
//! strictly more loaded (relative to its weight) than another eligible one at the time it
//! reads the counters. Envoy instead samples two endpoints (P2C) when weights are equal, which
//! is O(1) but can pick the worse of the two best; a scan over an upstream's endpoints (tens,
//! rarely hundreds) is a few nanoseconds each and keeps the guarantee exact.
//!
//! Ties rotate: a counter picks the `n mod ties`-th of the equally loaded endpoints, so an idle
//! upstream with equal weights degrades to round robin instead of always choosing the first.
//!
//! NOTE: weights only matter under concurrency. With unequal weights and at most one request
//! in flight at a time, `1 / weight` is lowest for the heaviest endpoint, which then takes every
//! request; Envoy's weighted variant schedules by `weight / (active + 1)` with EDF instead.

use std::cmp::Ordering;
use std::sync::Arc;
use std::sync::atomic::{self, AtomicUsize};

use crate::upstream::Endpoint;

/// Least-request picker: a tie-rotation counter; the load is read from the endpoints.
#[derive(Debug)]
pub(super) struct LeastRequest {
    ties: AtomicUsize,
}

/// `(in_flight + 1) / weight` kept as a fraction so comparisons are exact.
#[derive(Debug, Clone, Copy)]
struct Load {
    requests: u128,
    weight: u128,
}

// === impl LeastRequest ===

impl LeastRequest {
    /// Starts the tie rotation at `start` (the balancer seed).
    pub(super) fn new(start: usize) -> Self {
        Self {
            ties: AtomicUsize::new(start),
        }
    }

    /// The least loaded eligible endpoint (rotating among ties), or `None` when `eligible` is
    /// empty.
    pub(super) fn pick(&self, endpoints: &[Arc<Endpoint>], eligible: &[usize]) -> Option<usize> {
        // Pass 1: the lowest load, the first endpoint having it and how many share it.
        let mut best: Option<(usize, Load)> = None;
        let mut ties = 0usize;
        for &index in eligible {
            let Some(load) = Load::of(endpoints, index) else {
                continue;
            };
            match best.map(|(_, best_load)| load.cmp(&best_load)) {
                None | Some(Ordering::Less) => {
                    best = Some((index, load));
                    ties = 1;
                }
                Some(Ordering::Equal) => ties += 1,
                Some(Ordering::Greater) => {}
            }
        }
        let Some((first_best, best_load)) = best else {
            // No eligible index is in `endpoints` (a contract breach) or `eligible` is empty.
            return eligible.first().copied();
        };
        if ties == 1 {
            return Some(first_best);
        }

        // Pass 2: the `n mod ties`-th endpoint at the lowest load. Counters may have moved
        // since pass 1; if no endpoint is at that load any more, the first best still is a
        // correct answer for the snapshot pass 1 saw.
        let nth = self.ties.fetch_add(1, atomic::Ordering::Relaxed) % ties;
        eligible
            .iter()
            .copied()
            .filter(|&index| Load::of(endpoints, index).is_some_and(|load| load == best_load))
            .nth(nth)
            .or(Some(first_best))
    }
}

// === impl Load ===

impl Load {
    fn of(endpoints: &[Arc<Endpoint>], index: usize) -> Option<Self> {
        let endpoint = endpoints.get(index)?;
        Some(Self {
            requests: endpoint.in_flight() as u128 + 1,
            weight: u128::from(endpoint.weight().max(1)),
        })
    }
}

impl Ord for Load {
    /// Compares `a.requests / a.weight` with `b.requests / b.weight` by cross-multiplying;
    /// both factors fit in 64 bits, so the products cannot overflow `u128`.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.requests * other.weight).cmp(&(other.requests * self.weight))
    }
}

impl PartialOrd for Load {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Load {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Load {}

#[cfg(test)]
mod tests {
    use super::LeastRequest;
    use crate::balance::tests::{endpoints, start_requests};

    #[test]
    fn least_request_picks_lowest_in_flight_per_weight() {
        let upstream = endpoints(&[1, 4, 2]);
        // Loads: (2+1)/1 = 3, (7+1)/4 = 2, (4+1)/2 = 2.5.
        let _in_flight = start_requests(&upstream, &[2, 7, 4]);
        let balancer = LeastRequest::new(0);

        assert_eq!(balancer.pick(&upstream, &[0, 1, 2]), Some(1));
        assert_eq!(balancer.pick(&upstream, &[0, 2]), Some(2));
        assert_eq!(balancer.pick(&upstream, &[0]), Some(0));
    }

    #[test]
    fn least_request_equal_ratios_are_ties() {
        let upstream = endpoints(&[1, 2]);
        // (0+1)/1 = (1+1)/2.
        let _in_flight = start_requests(&upstream, &[0, 1]);
        let balancer = LeastRequest::new(0);

        let picks: Vec<_> = (0..4)
            .map(|_| balancer.pick(&upstream, &[0, 1]).unwrap())
            .collect();

        assert_eq!(picks, [0, 1, 0, 1]);
    }

    #[test]
    fn least_request_idle_equal_weights_rotate_like_round_robin() {
        let upstream = endpoints(&[3, 3, 3, 3]);
        let balancer = LeastRequest::new(0);

        let picks: Vec<_> = (0..6)
            .map(|_| balancer.pick(&upstream, &[0, 2, 3]).unwrap())
            .collect();

        assert_eq!(picks, [0, 2, 3, 0, 2, 3]);
    }

    #[test]
    fn least_request_rotates_only_among_the_tied() {
        let upstream = endpoints(&[1, 1, 1, 1]);
        let _in_flight = start_requests(&upstream, &[1, 0, 1, 0]);
        let balancer = LeastRequest::new(0);

        let picks: Vec<_> = (0..4)
            .map(|_| balancer.pick(&upstream, &[0, 1, 2, 3]).unwrap())
            .collect();

        assert_eq!(picks, [1, 3, 1, 3]);
    }

    #[test]
    fn least_request_unique_minimum_does_not_advance_rotation() {
        let upstream = endpoints(&[1, 1]);
        let balancer = LeastRequest::new(0);
        {
            let _in_flight = start_requests(&upstream, &[1, 0]);
            assert_eq!(balancer.pick(&upstream, &[0, 1]), Some(1));
        }

        // Rotation still at 0: the next tie goes to the first tied endpoint.
        assert_eq!(balancer.pick(&upstream, &[0, 1]), Some(0));
    }

    #[test]
    fn least_request_empty_eligible_returns_none() {
        let upstream = endpoints(&[1, 1]);

        assert_eq!(LeastRequest::new(0).pick(&upstream, &[]), None);
    }
}
