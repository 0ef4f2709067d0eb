//! The only place a validated [`Config`] becomes running services: upstreams with their
//! balancers, breakers, limits, outlier detectors and health checkers, and one pipeline per
//! route, built once per config version.
//!
//! Per route (see `proxy::pipeline` for the order of the resilience concerns and why):
//! 1. `proxy::prepare` (in `service.rs`): path rewrite, hop-by-hop removal, `X-Forwarded-*`,
//!    `Host`; done first so every later step sees the request the upstream will see.
//! 2. `proxy::pipeline::Pipeline`: authentication, rate limit, fault filter, fallback, total
//!    timeout, retries, then per attempt the breaker, concurrency limits, endpoint choice and
//!    the call.
//!
//! State that must outlive a version lives in [`Shared`]: endpoints (health, in-flight,
//! latency, ejection), pooled clients, breakers, limits, retry budgets, fallback caches,
//! fault filters, rate limiters and JWKS caches, each kept while its settings are unchanged.
//! Auth providers are built per version (cheap: keys were read by validation), sharing their
//! JWKS cache.

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use tokio_util::sync::{CancellationToken, DropGuard};

use crate::auth::{JwksRegistry, KeySource, Provider, RouteAuth};
use crate::config::Config;
use crate::fallback::Fallback;
use crate::fault::FaultFilter;
use crate::health::spawn_checkers;
use crate::instrument::Instruments;
use crate::limits::UpstreamLimits;
use crate::metrics::EndpointLabels;
use crate::proxy::client::ClientCache;
use crate::proxy::forward::Forward;
use crate::proxy::pipeline::{Pipeline, PipelineParts};
use crate::ratelimit::RateLimiter;
use crate::retained::{
    BreakerKey, BreakerRegistry, BudgetRegistry, FallbackRegistry, FaultRegistry, LimitsRegistry,
    RateLimitRegistry,
};
use crate::retry::{RetryBudget, RetryPolicy};
use crate::route::Route;
use crate::routing::RouteTable;
use crate::upstream::{EndpointRegistry, Upstream};

/// State shared by every config version: live endpoints, pooled clients, metrics and tracer,
/// and the process's balancer seed.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) endpoints: EndpointRegistry,
    pub(crate) clients: ClientCache,
    pub(crate) instruments: Arc<Instruments>,
    pub(crate) breakers: BreakerRegistry,
    pub(crate) limits: LimitsRegistry,
    pub(crate) budgets: BudgetRegistry,
    pub(crate) fallbacks: FallbackRegistry,
    pub(crate) faults: FaultRegistry,
    pub(crate) rate_limits: RateLimitRegistry,
    pub(crate) jwks: JwksRegistry,
    pub(crate) seed: u64,
}

impl Shared {
    pub(crate) fn new(instruments: Arc<Instruments>) -> Self {
        Self {
            endpoints: EndpointRegistry::default(),
            clients: ClientCache::default(),
            instruments,
            breakers: BreakerRegistry::default(),
            limits: LimitsRegistry::default(),
            budgets: BudgetRegistry::default(),
            fallbacks: FallbackRegistry::default(),
            faults: FaultRegistry::default(),
            rate_limits: RateLimitRegistry::default(),
            jwks: JwksRegistry::default(),
            seed: rand::random(),
        }
    }
}

/// Everything built from one config version.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) version: u64,
    pub(crate) config: Arc<Config>,
    pub(crate) table: RouteTable<Arc<Route>>,
    pub(crate) upstreams: BTreeMap<String, Arc<Upstream>>,
    health: CancellationToken,
    _health_guard: DropGuard,
}

impl Runtime {
    /// Stops this version's health checkers (its successor runs its own).
    pub(crate) fn retire(&self) {
        self.health.cancel();
    }
}

/// Builds the runtime for `config`. Must run inside a Tokio runtime (health checkers and
/// breaker timers spawn).
/// Also returns the breakers that start fresh (new, or with changed settings), named
/// `upstream` or `upstream/route`.
pub(crate) fn build(config: Config, shared: &Shared, version: u64) -> (Runtime, Vec<String>) {
    let instruments = &shared.instruments;
    let mut fresh = Vec::new();
    let mut used_breakers = HashSet::new();
    let mut upstreams = BTreeMap::new();
    for up in &config.upstreams {
        let endpoints = up
            .endpoints
            .iter()
            .map(|e| {
                shared
                    .endpoints
                    .endpoint(&up.name, &e.address, e.weight, &up.balancer)
            })
            .collect();
        // Seeded per process and upstream, so replicas started together do not all send
        // their first requests to the same endpoint.
        let mut hasher = DefaultHasher::new();
        (shared.seed, &up.name).hash(&mut hasher);
        let breaker = up.breaker.map(|cfg| {
            let key = BreakerKey {
                upstream: up.name.clone(),
                route: String::new(),
            };
            let (breaker, was_kept) = shared.breakers.breaker(&key, cfg, instruments);
            if !was_kept {
                fresh.push(up.name.clone());
            }
            used_breakers.insert(key);
            breaker
        });
        let limits = shared
            .limits
            .get(&up.name, &up.limits, || UpstreamLimits::new(up.limits));
        let upstream = Upstream::new(up.clone(), endpoints, hasher.finish(), breaker, limits);
        upstreams.insert(up.name.clone(), Arc::new(upstream));
    }

    for upstream in upstreams.values() {
        for endpoint in upstream.endpoints() {
            let labels = EndpointLabels {
                upstream: upstream.label(),
                endpoint: endpoint.address().to_owned(),
            };
            instruments
                .metrics
                .endpoint_healthy
                .get_or_create(&labels)
                .set(i64::from(endpoint.is_healthy()));
        }
    }
    let tasks = CancellationToken::new();
    spawn_checkers(upstreams.values(), &tasks, instruments);
    spawn_outlier_returns(upstreams.values(), &tasks, instruments);

    let mut providers = BTreeMap::new();
    let mut used_jwks = HashSet::new();
    for p in &config.auth.providers {
        let remote = match &p.keys {
            KeySource::JwksUrl(source) => {
                used_jwks.insert(p.name.clone());
                Some(shared.jwks.get(&p.name, source))
            }
            _ => None,
        };
        providers.insert(p.name.clone(), Arc::new(Provider::new(p.clone(), remote)));
    }
    shared.jwks.retain(&used_jwks);

    let mut routes = Vec::with_capacity(config.routes.len());
    let mut used_budgets = HashSet::new();
    let mut used_fallbacks = HashSet::new();
    let mut used_faults = HashSet::new();
    let mut used_rate_limits = HashSet::new();
    let client_ip = Arc::new(config.client_ip.clone());
    for route in &config.routes {
        // validate() guarantees the upstream exists; a route without one is skipped rather
        // than panicking, and cannot happen for a validated Config.
        let Some(upstream) = upstreams.get(&route.upstream) else {
            continue;
        };
        // validate() guarantees the provider exists; were it missing, the route is left out
        // (404) rather than served without authentication.
        let auth = match &route.auth {
            None => None,
            Some(a) => match providers.get(&a.provider) {
                Some(p) => Some(RouteAuth::new(Arc::clone(p), a.clone())),
                None => continue,
            },
        };
        let breaker = match route.breaker {
            Some(cfg) => {
                let key = BreakerKey {
                    upstream: route.upstream.clone(),
                    route: route.name.clone(),
                };
                let (breaker, was_kept) = shared.breakers.breaker(&key, cfg, instruments);
                if !was_kept {
                    fresh.push(format!("{}/{}", route.upstream, route.name));
                }
                used_breakers.insert(key);
                Some(breaker)
            }
            None => upstream.breaker().cloned(),
        };
        let retry = route.retry.clone().map(|cfg| {
            used_budgets.insert(route.name.clone());
            let budget = shared
                .budgets
                .get(&route.name, &cfg.budget, || RetryBudget::new(cfg.budget));
            RetryPolicy::new(cfg, budget)
        });
        let client = shared.clients.client(
            upstream.config().connect_timeout,
            upstream.config().tls.as_ref(),
        );
        let forward = Forward::new(
            Arc::clone(upstream),
            client,
            route.host_header.clone(),
            Arc::clone(instruments),
        );
        let pipeline = Pipeline::new(PipelineParts {
            route: route.clone(),
            upstream: Arc::clone(upstream),
            breaker,
            retry,
            fallback: route.fallback.as_ref().map(|f| {
                used_fallbacks.insert(route.name.clone());
                shared
                    .fallbacks
                    .get(&route.name, f, || Fallback::new(f.clone()))
            }),
            fault: route.fault.as_ref().map(|f| {
                used_faults.insert(route.name.clone());
                shared
                    .faults
                    .get(&route.name, f, || FaultFilter::new(f.clone()))
            }),
            rate_limit: route.rate_limit.as_ref().map(|r| {
                used_rate_limits.insert(route.name.clone());
                crate::proxy::pipeline::RouteRateLimit {
                    limiter: shared
                        .rate_limits
                        .get(&route.name, r, || RateLimiter::new(r.clone())),
                    client_ip: Arc::clone(&client_ip),
                }
            }),
            auth,
            forward,
            instruments: Arc::clone(instruments),
        });
        routes.push((
            route.matcher.clone(),
            Arc::new(Route {
                label: pipeline.label(),
                pipeline,
            }),
        ));
    }
    shared.breakers.retain(&used_breakers, instruments);
    shared
        .limits
        .retain(&config.upstreams.iter().map(|u| u.name.clone()).collect());
    shared.budgets.retain(&used_budgets);
    shared.fallbacks.retain(&used_fallbacks);
    shared.faults.retain(&used_faults);
    shared.rate_limits.retain(&used_rate_limits);

    let runtime = Runtime {
        version,
        config: Arc::new(config),
        table: RouteTable::new(routes),
        upstreams,
        _health_guard: tasks.clone().drop_guard(),
        health: tasks,
    };
    (runtime, fresh)
}

/// Reports ejected endpoints coming back (their ejection time passed), until `cancel`.
fn spawn_outlier_returns<'a>(
    upstreams: impl Iterator<Item = &'a Arc<Upstream>>,
    cancel: &CancellationToken,
    instruments: &Arc<Instruments>,
) {
    for upstream in upstreams {
        if upstream.outlier().is_none() {
            continue;
        }
        let (upstream, cancel, instruments) = (
            Arc::clone(upstream),
            cancel.clone(),
            Arc::clone(instruments),
        );
        tokio::spawn(async move {
            let Some(detector) = upstream.outlier() else {
                return;
            };
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    returned = detector.returns() => {
                        for r in &returned {
                            instruments.returned(&upstream, r);
                        }
                    }
                }
            }
        });
    }
}
