//! Resilience state retained across config versions while its settings are unchanged:
//! circuit breakers (with their timer tasks), concurrency limits, retry budgets and fallback
//! caches. A reload
//! that changes an upstream's or route's settings gives it fresh state; one that does not
//! keeps the window, the open/half-open timing, the in-flight counts and the budget.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::JoinHandle;

use crate::breaker::{Breaker, BreakerConfig, Transition};
use crate::fallback::{Fallback, FallbackConfig};
use crate::instrument::Instruments;
use crate::limits::{LimitsConfig, UpstreamLimits};
use crate::metrics::{BreakerLabels, Name};
use crate::retry::{BudgetConfig, RetryBudget};

/// Which breaker: an upstream's own, or a route's override (for its upstream).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BreakerKey {
    pub(crate) upstream: String,
    /// Empty for the upstream's own breaker.
    pub(crate) route: String,
}

#[derive(Debug)]
struct KeptBreaker {
    config: BreakerConfig,
    breaker: Breaker,
    timers: JoinHandle<()>,
}

/// Breakers by key.
#[derive(Debug, Default)]
pub(crate) struct BreakerRegistry {
    breakers: Mutex<HashMap<BreakerKey, KeptBreaker>>,
}

impl BreakerRegistry {
    /// The breaker for `key` with `config`: the live one when the settings are unchanged,
    /// else a new one (closed, empty window) whose transitions are recorded by `instruments`.
    /// Returns whether the live one was kept. Must run inside a Tokio runtime.
    pub(crate) fn breaker(
        &self,
        key: &BreakerKey,
        config: BreakerConfig,
        instruments: &Arc<Instruments>,
    ) -> (Breaker, bool) {
        let mut map = self.breakers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(kept) = map.get(key)
            && kept.config == config
        {
            return (kept.breaker.clone(), true);
        }
        let upstream: Name = Arc::new(key.upstream.clone());
        let route: Name = Arc::new(key.route.clone());
        let observer = TransitionRecorder {
            instruments: Arc::clone(instruments),
            upstream,
            route,
            last_seq: AtomicU64::new(0),
        };
        observer.reset_gauge();
        let breaker = Breaker::with_observer(config, observer);
        let driver = breaker.clone();
        let timers = tokio::spawn(async move { driver.run_timers().await });
        if let Some(old) = map.insert(
            key.clone(),
            KeptBreaker {
                config,
                breaker: breaker.clone(),
                timers,
            },
        ) {
            old.timers.abort();
        }
        (breaker, false)
    }

    /// Drops the breakers no longer used (stopping their timers and their state gauge).
    pub(crate) fn retain(&self, used: &HashSet<BreakerKey>, instruments: &Instruments) {
        let mut map = self.breakers.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|key, kept| {
            let keep = used.contains(key);
            if !keep {
                kept.timers.abort();
                instruments.metrics.breaker_state.remove(&BreakerLabels {
                    upstream: Arc::new(key.upstream.clone()),
                    route: Arc::new(key.route.clone()),
                });
            }
            keep
        });
    }
}

/// Turns one breaker's transitions into evidence.
struct TransitionRecorder {
    instruments: Arc<Instruments>,
    upstream: Name,
    route: Name,
    /// Transitions may be delivered out of order (observers run outside the breaker's lock);
    /// the gauge keeps the newest.
    last_seq: AtomicU64,
}

impl TransitionRecorder {
    fn reset_gauge(&self) {
        let labels = BreakerLabels {
            upstream: Arc::clone(&self.upstream),
            route: Arc::clone(&self.route),
        };
        self.instruments
            .metrics
            .breaker_state
            .get_or_create(&labels)
            .set(0);
    }
}

impl crate::breaker::BreakerObserver for TransitionRecorder {
    fn on_transition(&self, transition: &Transition) {
        if self.last_seq.fetch_max(transition.seq, Ordering::AcqRel) > transition.seq {
            // An older transition arriving late: count it, but keep the newer gauge value.
            let to = transition.to.as_str();
            self.instruments
                .metrics
                .breaker_transitions
                .get_or_create(&crate::metrics::BreakerTransitionLabels {
                    upstream: Arc::clone(&self.upstream),
                    route: Arc::clone(&self.route),
                    to,
                })
                .inc();
            return;
        }
        self.instruments
            .breaker_transition(&self.upstream, &self.route, transition);
    }
}

/// Concurrency limits by upstream name.
#[derive(Debug, Default)]
pub(crate) struct LimitsRegistry {
    limits: Mutex<HashMap<String, Arc<UpstreamLimits>>>,
}

impl LimitsRegistry {
    /// The limits of `upstream`: the live ones when `config` is unchanged (their in-flight
    /// counts carry over), else new ones.
    pub(crate) fn limits(&self, upstream: &str, config: LimitsConfig) -> Arc<UpstreamLimits> {
        let mut map = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(kept) = map.get(upstream)
            && kept.config() == config
        {
            return Arc::clone(kept);
        }
        let limits = Arc::new(UpstreamLimits::new(config));
        map.insert(upstream.to_owned(), Arc::clone(&limits));
        limits
    }

    pub(crate) fn retain(&self, used: &HashSet<String>) {
        self.limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| used.contains(k));
    }
}

/// Route fallbacks (and their stale caches) by route name.
#[derive(Debug, Default)]
pub(crate) struct FallbackRegistry {
    fallbacks: Mutex<HashMap<String, (FallbackConfig, Arc<Fallback>)>>,
}

impl FallbackRegistry {
    /// The fallback of `route`: the live one (with its cached responses) when `config` is
    /// unchanged, else a new one.
    pub(crate) fn fallback(&self, route: &str, config: &FallbackConfig) -> Arc<Fallback> {
        let mut map = self
            .fallbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((kept_config, kept)) = map.get(route)
            && kept_config == config
        {
            return Arc::clone(kept);
        }
        let fallback = Arc::new(Fallback::new(config.clone()));
        map.insert(route.to_owned(), (config.clone(), Arc::clone(&fallback)));
        fallback
    }

    pub(crate) fn retain(&self, used: &HashSet<String>) {
        self.fallbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| used.contains(k));
    }
}

/// Retry budgets by route name.
#[derive(Debug, Default)]
pub(crate) struct BudgetRegistry {
    budgets: Mutex<HashMap<String, Arc<RetryBudget>>>,
}

impl BudgetRegistry {
    /// The budget of `route`: the live one when `config` is unchanged, else a new one.
    pub(crate) fn budget(&self, route: &str, config: &BudgetConfig) -> Arc<RetryBudget> {
        let mut map = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        let budget = RetryBudget::keep_or_rebuild(map.get(route), config);
        map.insert(route.to_owned(), Arc::clone(&budget));
        budget
    }

    pub(crate) fn retain(&self, used: &HashSet<String>) {
        self.budgets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| used.contains(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_registry_keeps_unchanged_limits_and_replaces_changed_ones() {
        let registry = LimitsRegistry::default();
        let a = registry.limits("users", LimitsConfig::default());
        let same = registry.limits("users", LimitsConfig::default());
        assert!(Arc::ptr_eq(&a, &same));
        let changed = registry.limits(
            "users",
            LimitsConfig {
                max_requests: 5,
                ..LimitsConfig::default()
            },
        );
        assert!(!Arc::ptr_eq(&a, &changed));
        assert_eq!(changed.config().max_requests, 5);
    }

    #[test]
    fn budget_registry_keeps_unchanged_budget() {
        let registry = BudgetRegistry::default();
        let config = BudgetConfig::default();
        let a = registry.budget("r", &config);
        assert!(Arc::ptr_eq(&a, &registry.budget("r", &config)));
        let other = BudgetConfig {
            ratio: 0.5,
            ..config
        };
        assert!(!Arc::ptr_eq(&a, &registry.budget("r", &other)));
    }
}
