//! Round robin: each eligible endpoint in turn, ignoring weights.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A shared rotation counter; the n-th pick takes the `n mod len`-th eligible endpoint.
#[derive(Debug)]
pub(super) struct RoundRobin {
    next: AtomicUsize,
}

// === impl RoundRobin ===

impl RoundRobin {
    /// Starts the rotation at `start` (the balancer seed), so gateway replicas started
    /// together do not all send their first requests to the same endpoint.
    pub(super) fn new(start: usize) -> Self {
        Self {
            next: AtomicUsize::new(start),
        }
    }

    /// The next eligible endpoint in rotation, or `None` when `eligible` is empty.
    ///
    /// The counter counts picks, not endpoints, so when the eligible set changes the rotation
    /// continues over the new set from the same counter value: every eligible endpoint is
    /// still visited once per `eligible.len()` consecutive picks.
    pub(super) fn pick(&self, eligible: &[usize]) -> Option<usize> {
        let len = eligible.len();
        if len == 0 {
            return None;
        }
        // Relaxed is enough: only the counter's own atomicity matters, no other memory is
        // published through it.
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        eligible.get(n % len).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::RoundRobin;

    #[test]
    fn round_robin_visits_each_eligible_once_per_cycle() {
        let rr = RoundRobin::new(0);
        let eligible = [0, 2, 3];

        let picks: Vec<_> = (0..9).map(|_| rr.pick(&eligible).unwrap()).collect();

        assert_eq!(picks, [0, 2, 3, 0, 2, 3, 0, 2, 3]);
    }

    #[test]
    fn round_robin_start_offset_rotates_first_pick() {
        let rr = RoundRobin::new(4);

        let picks: Vec<_> = (0..3).map(|_| rr.pick(&[1, 5, 7]).unwrap()).collect();

        // 4 mod 3 = 1: the rotation starts at the second eligible endpoint.
        assert_eq!(picks, [5, 7, 1]);
    }

    #[test]
    fn round_robin_counter_wraps_without_skipping() {
        let rr = RoundRobin::new(usize::MAX);

        assert_eq!(rr.pick(&[0, 1]), Some(1)); // usize::MAX is odd
        assert_eq!(rr.pick(&[0, 1]), Some(0)); // wrapped to 0
    }

    #[test]
    fn round_robin_empty_eligible_returns_none_without_advancing() {
        let rr = RoundRobin::new(0);

        assert_eq!(rr.pick(&[]), None);
        assert_eq!(rr.pick(&[3, 4]), Some(3));
    }
}
