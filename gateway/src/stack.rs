//! The only place a validated [`Config`] becomes running services: upstreams with their
//! balancers and health checkers, and one service stack per route, built once per config
//! version.
//!
//! Layers per route, outer to inner (later issues add layers here, each with the reason for
//! its position):
//! 1. `proxy::prepare` (in `service.rs`): path rewrite, hop-by-hop removal, `X-Forwarded-*`,
//!    `Host`; done before the stack so every layer sees the request the upstream will see.
//! 2. `proxy::forward::Forward`: endpoint choice (health, panic mode, balancer), the pooled
//!    client call and the response timeout.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use tokio_util::sync::{CancellationToken, DropGuard};
use tower::util::BoxCloneSyncService;

use crate::config::Config;
use crate::health::spawn_checkers;
use crate::instrument::Instruments;
use crate::metrics::EndpointLabels;
use crate::proxy::client::ClientCache;
use crate::proxy::forward::Forward;
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
    pub(crate) seed: u64,
}

impl Shared {
    pub(crate) fn new(instruments: Arc<Instruments>) -> Self {
        Self {
            endpoints: EndpointRegistry::default(),
            clients: ClientCache::default(),
            instruments,
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

/// Builds the runtime for `config`. Must run inside a Tokio runtime (health checkers spawn).
pub(crate) fn build(config: Config, shared: &Shared, version: u64) -> Runtime {
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
        let upstream = Upstream::new(up.clone(), endpoints, hasher.finish());
        upstreams.insert(up.name.clone(), Arc::new(upstream));
    }

    for upstream in upstreams.values() {
        for endpoint in upstream.endpoints() {
            shared
                .instruments
                .metrics
                .endpoint_healthy
                .get_or_create(&EndpointLabels {
                    upstream: upstream.label(),
                    endpoint: endpoint.address().to_owned(),
                })
                .set(i64::from(endpoint.is_healthy()));
        }
    }
    let health = CancellationToken::new();
    spawn_checkers(upstreams.values(), &health, &shared.instruments);

    let mut routes = Vec::with_capacity(config.routes.len());
    for route in &config.routes {
        // validate() guarantees the upstream exists; a route without one is skipped rather
        // than panicking, and cannot happen for a validated Config.
        let Some(upstream) = upstreams.get(&route.upstream) else {
            continue;
        };
        let client = shared.clients.client(upstream.config().connect_timeout);
        let forward = Forward::new(
            Arc::clone(upstream),
            client,
            route.timeout,
            route.host_header.clone(),
            Arc::clone(&shared.instruments),
        );
        let service = BoxCloneSyncService::new(forward);
        routes.push((
            route.matcher.clone(),
            Arc::new(Route {
                config: route.clone(),
                label: Arc::new(route.name.clone()),
                service,
            }),
        ));
    }

    Runtime {
        version,
        config: Arc::new(config),
        table: RouteTable::new(routes),
        upstreams,
        _health_guard: health.clone().drop_guard(),
        health,
    }
}
