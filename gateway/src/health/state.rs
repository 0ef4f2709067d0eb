//! Health thresholds: consecutive probe results turned into healthy / unhealthy transitions.

/// A change of an endpoint's health verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Enough consecutive successes: the endpoint takes traffic again.
    BecameHealthy,
    /// Enough consecutive failures: the endpoint gets no traffic (outside panic mode).
    BecameUnhealthy,
}

/// Consecutive-result counter with separate thresholds in each direction.
///
/// Only results that disagree with the current verdict count; one agreeing result resets the
/// streak, so a flapping endpoint with alternating results never changes state.
#[derive(Debug, Clone)]
pub(crate) struct HealthCounter {
    healthy: bool,
    streak: u32,
    healthy_after: u32,
    unhealthy_after: u32,
}

impl HealthCounter {
    pub(crate) fn new(healthy: bool, healthy_after: u32, unhealthy_after: u32) -> Self {
        Self {
            healthy,
            streak: 0,
            healthy_after: healthy_after.max(1),
            unhealthy_after: unhealthy_after.max(1),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy
    }

    /// Records one probe result; returns the transition it completes, if any.
    pub(crate) fn record(&mut self, success: bool) -> Option<Transition> {
        if success == self.healthy {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if self.healthy {
            self.unhealthy_after
        } else {
            self.healthy_after
        };
        if self.streak < needed {
            return None;
        }
        self.healthy = success;
        self.streak = 0;
        Some(if success {
            Transition::BecameHealthy
        } else {
            Transition::BecameUnhealthy
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_becomes_unhealthy_after_exact_failure_threshold() {
        let mut c = HealthCounter::new(true, 2, 3);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), Some(Transition::BecameUnhealthy));
        assert!(!c.is_healthy());
    }

    #[test]
    fn health_becomes_healthy_after_exact_success_threshold() {
        let mut c = HealthCounter::new(false, 2, 3);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), Some(Transition::BecameHealthy));
        assert!(c.is_healthy());
    }

    #[test]
    fn health_agreeing_result_resets_the_streak() {
        let mut c = HealthCounter::new(true, 2, 2);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(false), None);
        assert!(
            c.is_healthy(),
            "alternating results must not flip the verdict"
        );
        assert_eq!(c.record(false), Some(Transition::BecameUnhealthy));
    }

    #[test]
    fn health_threshold_of_one_flips_immediately_both_ways() {
        let mut c = HealthCounter::new(true, 1, 1);
        assert_eq!(c.record(false), Some(Transition::BecameUnhealthy));
        assert_eq!(c.record(true), Some(Transition::BecameHealthy));
    }
}
