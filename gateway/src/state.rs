//! Process-wide gateway state: the current config version (swapped atomically on reload),
//! the state that outlives versions, and lifecycle flags read by the admin API.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::stack::{self, Runtime, Shared};

/// Shared by the data plane, the admin API and the reloader.
#[derive(Debug)]
pub(crate) struct GatewayState {
    runtime: ArcSwap<Runtime>,
    shared: Shared,
    next_version: AtomicU64,
    draining: AtomicBool,
    pub(crate) reloads: ReloadStats,
}

/// Reload outcomes since start.
#[derive(Debug, Default)]
pub(crate) struct ReloadStats {
    pub(crate) applied: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) last_error: std::sync::Mutex<Option<String>>,
}

impl GatewayState {
    /// Builds version 1 from `config`. Must run inside a Tokio runtime.
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let shared = Shared::default();
        let runtime = stack::build(config, &shared, 1);
        Arc::new(Self {
            runtime: ArcSwap::from_pointee(runtime),
            shared,
            next_version: AtomicU64::new(2),
            draining: AtomicBool::new(false),
            reloads: ReloadStats::default(),
        })
    }

    /// The current version. In-flight requests keep the version they started with.
    pub(crate) fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// Builds `config` and makes it current; the previous version's health checkers stop.
    /// Returns the new version number.
    pub(crate) fn apply(&self, config: Config) -> u64 {
        let version = self.next_version.fetch_add(1, Ordering::Relaxed);
        let runtime = stack::build(config, &self.shared, version);
        let previous = self.runtime.swap(Arc::new(runtime));
        previous.retire();
        version
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
