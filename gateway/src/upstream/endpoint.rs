//! One upstream endpoint's live state: address, weight, active-health verdict, requests in
//! flight and a peak-EWMA latency estimate.
//!
//! An `Endpoint` is shared (`Arc`) between the balancer, the health checker, the proxy and the
//! admin API, and it outlives config reloads when its upstream and address are unchanged, so
//! health state survives a reload.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::time::Instant;

use crate::balance::PeakEwma;
use crate::outlier::OutlierState;

/// The live state of one endpoint of an upstream.
#[derive(Debug)]
pub struct Endpoint {
    address: String,
    /// `address` parsed once, for the request URI of every attempt.
    authority: Option<http::uri::Authority>,
    weight: u32,
    in_flight: AtomicUsize,
    healthy: AtomicBool,
    probed: AtomicBool,
    latency: PeakEwma,
    outlier: Arc<OutlierState>,
}

// === impl Endpoint ===

impl Endpoint {
    /// A new endpoint, healthy until an active check says otherwise.
    ///
    /// `address` is `host:port`; `weight` is at least 1 (validated config guarantees it).
    pub(crate) fn new(address: impl Into<String>, weight: u32, latency: PeakEwma) -> Self {
        let address = address.into();
        Self {
            authority: address.parse().ok(),
            address,
            weight: weight.max(1),
            in_flight: AtomicUsize::new(0),
            healthy: AtomicBool::new(true),
            probed: AtomicBool::new(false),
            latency,
            outlier: Arc::new(OutlierState::new()),
        }
    }

    /// `host:port` the gateway connects to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The address as a URI authority (`None` only for an address validation would reject).
    pub(crate) fn authority(&self) -> Option<&http::uri::Authority> {
        self.authority.as_ref()
    }

    /// Relative weight for weighted balancers (at least 1).
    pub fn weight(&self) -> u32 {
        self.weight
    }

    /// Requests currently sent to this endpoint and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The active health checker's current verdict.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    pub(crate) fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Release);
    }

    /// Whether an active probe has completed since this endpoint was created (readiness).
    pub fn is_probed(&self) -> bool {
        self.probed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_probed(&self) {
        self.probed.store(true, Ordering::Release);
    }

    /// Passive-health (outlier) state, shared across config versions.
    pub(crate) fn outlier(&self) -> &Arc<OutlierState> {
        &self.outlier
    }

    /// Takes over the health verdict and outlier state of the endpoint this one replaces (same
    /// address, new settings), so a reload neither flips an unhealthy endpoint back to healthy
    /// nor forgets an ejection.
    pub(crate) fn inherit_health(&mut self, previous: &Endpoint) {
        self.outlier = Arc::clone(&previous.outlier);
        self.set_healthy(previous.is_healthy());
        if previous.is_probed() {
            self.mark_probed();
        }
    }

    /// The peak-EWMA latency estimate used by the P2C balancer.
    pub(crate) fn latency(&self) -> &PeakEwma {
        &self.latency
    }

    /// Marks a request as started; the returned guard ends it when dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight {
            endpoint: Arc::clone(self),
            started: Instant::now(),
        }
    }
}

/// A request in flight to an endpoint: counted in `Endpoint::in_flight` until dropped.
#[derive(Debug)]
pub(crate) struct InFlight {
    endpoint: Arc<Endpoint>,
    started: Instant,
}

// === impl InFlight ===

impl InFlight {
    /// Records the time to response headers as a latency sample. Call once, when the upstream
    /// answered; failed attempts are not latency samples (the breaker and outlier detection
    /// account for them).
    pub(crate) fn observe_response(&self) {
        let now = Instant::now();
        self.endpoint.latency.observe(now - self.started, now);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.endpoint.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
