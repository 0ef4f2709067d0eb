//! Resilience state retained across config versions while its settings are unchanged:
//! circuit breakers (with their timer tasks), concurrency limits, retry budgets, fallback
//! caches, fault filters and rate limiters. A reload
//! that changes an upstream's or route's settings gives it fresh state; one that does not
//! keeps the window, the open/half-open timing, the in-flight counts and the budget.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::JoinHandle;

use crate::breaker::{Breaker, BreakerConfig, Transition};
use crate::fallback::{Fallback, FallbackConfig};
use crate::fault::{FaultConfig, FaultFilter};
use crate::instrument::Instruments;
use crate::limits::{LimitsConfig, UpstreamLimits};
use crate::metrics::{BreakerLabels, Name};
use crate::ratelimit::{RateLimitConfig, RateLimiter};
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
    /// Set when this breaker is replaced or dropped: requests still in flight on an older
    /// config version keep recording into it, and its transitions must no longer touch the
    /// live breaker's gauge, counters or evidence.
    retired: Arc<AtomicBool>,
}

impl KeptBreaker {
    fn retire(&self) {
        self.timers.abort();
        self.retired.store(true, Ordering::Release);
    }
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
        let retired = Arc::new(AtomicBool::new(false));
        let observer = TransitionRecorder {
            instruments: Arc::clone(instruments),
            upstream,
            route,
            last_seq: AtomicU64::new(0),
            retired: Arc::clone(&retired),
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
                retired,
            },
        ) {
            old.retire();
        }
        (breaker, false)
    }

    /// Drops the breakers no longer used (stopping their timers and their state gauge).
    pub(crate) fn retain(&self, used: &HashSet<BreakerKey>, instruments: &Instruments) {
        let mut map = self.breakers.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|key, kept| {
            let keep = used.contains(key);
            if !keep {
                kept.retire();
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
    /// See [`KeptBreaker::retired`].
    retired: Arc<AtomicBool>,
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
        if self.retired.load(Ordering::Acquire) {
            return;
        }
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

/// Values built from a config fragment, by name (an upstream's limits, a route's retry
/// budget, fallback or fault filter): the live value is kept while its fragment is unchanged
/// (in-flight counts, budget window, cached responses, fault draw sequence carry over), and
/// rebuilt when it changes.
#[derive(Debug)]
pub(crate) struct KeptByName<C, T> {
    items: Mutex<HashMap<String, (C, Arc<T>)>>,
}

impl<C, T> Default for KeptByName<C, T> {
    fn default() -> Self {
        Self {
            items: Mutex::new(HashMap::new()),
        }
    }
}

impl<C: PartialEq + Clone, T> KeptByName<C, T> {
    /// The value for `name`: the live one when `config` is unchanged, else `make()`.
    pub(crate) fn get(&self, name: &str, config: &C, make: impl FnOnce() -> T) -> Arc<T> {
        let mut map = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((kept_config, kept)) = map.get(name)
            && kept_config == config
        {
            return Arc::clone(kept);
        }
        let value = Arc::new(make());
        map.insert(name.to_owned(), (config.clone(), Arc::clone(&value)));
        value
    }

    /// Forgets the values whose names are no longer used.
    pub(crate) fn retain(&self, used: &HashSet<String>) {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| used.contains(k));
    }
}

/// Concurrency limits by upstream name.
pub(crate) type LimitsRegistry = KeptByName<LimitsConfig, UpstreamLimits>;
/// Retry budgets by route name.
pub(crate) type BudgetRegistry = KeptByName<BudgetConfig, RetryBudget>;
/// Fallbacks (with their stale caches) by route name.
pub(crate) type FallbackRegistry = KeptByName<FallbackConfig, Fallback>;
/// Fault filters (with their draw sequence and active count) by route name.
pub(crate) type FaultRegistry = KeptByName<FaultConfig, FaultFilter>;
/// Rate limiters (with their buckets and Redis connections) by route name: a reload that
/// leaves a route's `rate_limit` unchanged neither refills its buckets nor reconnects.
pub(crate) type RateLimitRegistry = KeptByName<RateLimitConfig, RateLimiter>;

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(registry: &LimitsRegistry, config: LimitsConfig) -> Arc<UpstreamLimits> {
        registry.get("users", &config, || UpstreamLimits::new(config))
    }

    #[test]
    fn kept_by_name_keeps_unchanged_values_and_replaces_changed_ones() {
        let registry = LimitsRegistry::default();
        let a = limits(&registry, LimitsConfig::default());
        assert!(Arc::ptr_eq(&a, &limits(&registry, LimitsConfig::default())));
        let changed = limits(
            &registry,
            LimitsConfig {
                max_requests: 5,
                ..LimitsConfig::default()
            },
        );
        assert!(!Arc::ptr_eq(&a, &changed));
        assert_eq!(changed.config().max_requests, 5);
    }

    #[test]
    fn kept_by_name_forgets_unused_names() {
        let registry = BudgetRegistry::default();
        let config = BudgetConfig::default();
        let a = registry.get("r", &config, || RetryBudget::new(config));
        registry.retain(&HashSet::new());
        let b = registry.get("r", &config, || RetryBudget::new(config));
        assert!(
            !Arc::ptr_eq(&a, &b),
            "a dropped name's state must not come back"
        );
    }
}
