//! Process-wide gateway state: the current config version (swapped atomically on reload),
//! the state that outlives versions, and lifecycle flags read by the admin API.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::instrument::Instruments;
use crate::metrics::EndpointLabels;
use crate::stack::{self, Runtime, Shared};

/// Shared by the data plane, the admin API and the reloader.
#[derive(Debug)]
pub(crate) struct GatewayState {
    runtime: ArcSwap<Runtime>,
    shared: Shared,
    next_version: AtomicU64,
    draining: AtomicBool,
}

/// What a reload changed.
#[derive(Debug)]
pub(crate) struct Applied {
    pub(crate) version: u64,
    /// Upstreams added, removed or with changed settings (their breaker and health state, where
    /// settings changed, start fresh).
    pub(crate) changed_upstreams: Vec<String>,
    /// Breakers that start fresh (closed, empty window): new, or with changed settings.
    pub(crate) fresh_breakers: Vec<String>,
}

/// Names of upstreams that differ between two configs.
fn changed_upstreams(old: &Config, new: &Config) -> Vec<String> {
    let mut names: Vec<String> = old
        .upstreams
        .iter()
        .filter(|u| new.upstream(&u.name) != Some(*u))
        .chain(
            new.upstreams
                .iter()
                .filter(|u| old.upstream(&u.name).is_none()),
        )
        .map(|u| u.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

impl GatewayState {
    /// Builds version 1 from `config`. Must run inside a Tokio runtime.
    pub(crate) fn new(config: Config, instruments: Arc<Instruments>) -> Arc<Self> {
        instruments.metrics.config_version.set(1);
        let shared = Shared::new(instruments);
        let (runtime, _) = stack::build(config, &shared, 1);
        Arc::new(Self {
            runtime: ArcSwap::from_pointee(runtime),
            shared,
            next_version: AtomicU64::new(2),
            draining: AtomicBool::new(false),
        })
    }

    /// The current version. In-flight requests keep the version they started with.
    pub(crate) fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    pub(crate) fn instruments(&self) -> &Instruments {
        &self.shared.instruments
    }

    /// Builds `config` and makes it current; the previous version's health checkers stop.
    pub(crate) fn apply(&self, config: Config) -> Applied {
        let version = self.next_version.fetch_add(1, Ordering::Relaxed);
        let (runtime, fresh_breakers) = stack::build(config, &self.shared, version);
        let runtime = Arc::new(runtime);
        let previous = self.runtime.swap(Arc::clone(&runtime));
        previous.retire();
        self.forget_removed_endpoints(&previous, &runtime);
        self.shared
            .instruments
            .metrics
            .config_version
            .set(i64::try_from(version).unwrap_or(i64::MAX));
        Applied {
            version,
            changed_upstreams: changed_upstreams(&previous.config, &runtime.config),
            fresh_breakers,
        }
    }

    /// Drops the health gauge of endpoints the new version no longer has, so dashboards do not
    /// show endpoints that are gone.
    fn forget_removed_endpoints(&self, previous: &Runtime, current: &Runtime) {
        let labels = |r: &Runtime| -> HashSet<EndpointLabels> {
            r.upstreams
                .values()
                .flat_map(|u| {
                    u.endpoints().iter().map(move |e| EndpointLabels {
                        upstream: u.label(),
                        endpoint: e.address().to_owned(),
                    })
                })
                .collect()
        };
        let keep = labels(current);
        for gone in labels(previous).difference(&keep) {
            self.shared
                .instruments
                .metrics
                .endpoint_healthy
                .remove(gone);
        }
    }

    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Ready to take traffic: not draining, and every health-checked endpoint has been
    /// probed at least once (so the first requests do not go to endpoints known to be down).
    pub(crate) fn is_ready(&self) -> bool {
        if self.is_draining() {
            return false;
        }
        let runtime = self.runtime();
        runtime
            .upstreams
            .values()
            .filter(|u| u.config().health_check.is_some())
            .flat_map(|u| u.endpoints())
            .all(|e| e.is_probed())
    }
}
