//! Smooth weighted round robin, as nginx's `ngx_http_upstream_get_peer`.
//!
//! Each pick adds every eligible endpoint's weight to its `current` weight, takes the endpoint
//! with the largest `current` (the first in config order on ties) and subtracts the total
//! eligible weight from the winner. Over any `sum(weights)` consecutive picks from a fresh
//! start every endpoint is picked exactly `weight` times, and picks of a heavy endpoint are
//! interleaved with the others instead of arriving in a burst (5,1,1 gives `a a b a c a a`).
//!
//! Ineligible endpoints are skipped the way nginx skips down peers: their `current` weight is
//! neither raised nor lowered while they are out, and they rejoin where they left off.
//! Unlike nginx we do not lower an `effective_weight` after failures: outlier ejection and
//! health checks decide eligibility, so "failure" means one thing everywhere.

use std::sync::{Arc, Mutex, PoisonError};

use crate::upstream::Endpoint;

/// Per-endpoint weights (fixed) and current weights (updated by every pick).
#[derive(Debug)]
pub(super) struct SmoothWeighted {
    /// `Endpoint::weight` per endpoint, in config order.
    weights: Box<[i64]>,
    /// nginx's `current_weight` per endpoint, in config order.
    ///
    /// A pick reads and writes the current weight of every eligible endpoint as one step;
    /// per-endpoint atomics would let concurrent picks interleave their additions and
    /// subtractions and break the exact sequence. The critical section is one pass of integer
    /// additions over the eligible endpoints (no allocation, no `.await`), so a plain mutex
    /// costs less than any lock-free scheme that keeps the guarantee.
    current: Mutex<Box<[i64]>>,
}

// === impl SmoothWeighted ===

impl SmoothWeighted {
    /// State for `endpoints`, every current weight starting at zero.
    pub(super) fn new(endpoints: &[Arc<Endpoint>]) -> Self {
        let weights: Box<[i64]> = endpoints
            .iter()
            .map(|endpoint| i64::from(endpoint.weight()))
            .collect();
        let current = vec![0; weights.len()].into_boxed_slice();
        Self {
            weights,
            current: Mutex::new(current),
        }
    }

    /// The next endpoint of the smooth weighted sequence over `eligible`.
    pub(super) fn pick(&self, eligible: &[usize]) -> Option<usize> {
        // NOTE: a poisoned lock is recovered: any integers are a valid state (at worst one
        // pick's adjustment is lost, which the sequence absorbs within one cycle).
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);

        let mut total = 0i64;
        let mut best: Option<(usize, i64)> = None;
        for &index in eligible {
            // Indices outside the list the balancer was built for are skipped (the caller
            // passes the same list; this only keeps a contract breach from panicking).
            let (Some(&weight), Some(current)) = (self.weights.get(index), current.get_mut(index))
            else {
                continue;
            };
            *current += weight;
            total += weight;
            // Strictly greater: the first endpoint wins ties, as in nginx.
            if best.is_none_or(|(_, best_current)| *current > best_current) {
                best = Some((index, *current));
            }
        }

        match best {
            Some((index, _)) => {
                if let Some(winner) = current.get_mut(index) {
                    *winner -= total;
                }
                Some(index)
            }
            None => eligible.first().copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SmoothWeighted;
    use crate::balance::tests::endpoints;

    fn sequence(balancer: &SmoothWeighted, eligible: &[usize], picks: usize) -> Vec<usize> {
        (0..picks)
            .map(|_| balancer.pick(eligible).unwrap())
            .collect()
    }

    #[test]
    fn smooth_weighted_weights_5_1_1_give_nginx_sequence() {
        let balancer = SmoothWeighted::new(&endpoints(&[5, 1, 1]));

        let picks = sequence(&balancer, &[0, 1, 2], 21);

        let (a, b, c) = (0, 1, 2);
        let cycle = [a, a, b, a, c, a, a];
        assert_eq!(picks, [cycle, cycle, cycle].concat());
        assert_eq!(*balancer.current.lock().unwrap(), [0, 0, 0].into());
    }

    #[test]
    fn smooth_weighted_skips_ineligible_and_keeps_proportions() {
        let balancer = SmoothWeighted::new(&endpoints(&[3, 5, 2]));

        let picks = sequence(&balancer, &[0, 2], 500);

        // nginx's sequence for weights 3,2 is a c a c a; endpoint 1 is never touched.
        assert_eq!(picks[..5], [0, 2, 0, 2, 0]);
        assert_eq!(picks.iter().filter(|&&i| i == 0).count(), 300);
        assert_eq!(picks.iter().filter(|&&i| i == 2).count(), 200);
        assert_eq!(*balancer.current.lock().unwrap(), [0, 0, 0].into());
    }

    #[test]
    fn smooth_weighted_rejoining_endpoint_resumes_its_share() {
        let balancer = SmoothWeighted::new(&endpoints(&[2, 1]));
        sequence(&balancer, &[0, 1], 1); // current: -1, 1

        // Endpoint 0 out for a while: its current weight stays frozen at -1.
        assert_eq!(sequence(&balancer, &[1], 4), [1, 1, 1, 1]);
        assert_eq!(*balancer.current.lock().unwrap(), [-1, 1].into());

        // Back in: over the next 3k picks the 2:1 split holds exactly.
        let picks = sequence(&balancer, &[0, 1], 300);
        assert_eq!(picks.iter().filter(|&&i| i == 0).count(), 200);
        assert_eq!(picks.iter().filter(|&&i| i == 1).count(), 100);
    }

    #[test]
    fn smooth_weighted_empty_eligible_returns_none() {
        let balancer = SmoothWeighted::new(&endpoints(&[1, 1]));

        assert_eq!(balancer.pick(&[]), None);
        assert_eq!(*balancer.current.lock().unwrap(), [0, 0].into());
    }

    #[test]
    fn smooth_weighted_unknown_index_is_returned_not_panicked_on() {
        let balancer = SmoothWeighted::new(&endpoints(&[1]));

        assert_eq!(balancer.pick(&[7]), Some(7));
    }
}
