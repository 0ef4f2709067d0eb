//! Concurrency limits per upstream, as Envoy's "circuit breakers" (its thresholds, not the
//! error-rate breaker in `breaker`): `max_requests` in flight, `max_connections` busy at
//! once, and `max_pending` requests waiting for one.
//!
//! Upstream connections carry HTTP/1.1, one exchange at a time, so "a busy connection" is an
//! exchange in progress: a request holds a connection slot from the moment it is sent until
//! its response headers arrive or it fails. A request that finds every slot busy waits in the
//! pending queue (bounded by `max_pending`, and by the attempt's timeout) rather than opening
//! more connections. Every refusal is a 503 with `x-gateway-reject-reason` naming the limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default of each limit (Envoy's).
pub const DEFAULT_LIMIT: u32 = 1024;

/// Validated limits of one upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Exchanges in progress at once (HTTP/1.1 connections busy). Default 1024.
    pub max_connections: u32,
    /// Requests waiting for a free connection slot. Default 1024; 0 = never wait.
    pub max_pending: u32,
    /// Requests in flight to the upstream, waiting or not. Default 1024.
    pub max_requests: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_LIMIT,
            max_pending: DEFAULT_LIMIT,
            max_requests: DEFAULT_LIMIT,
        }
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitExceeded {
    /// `max_requests`.
    Requests,
    /// `max_pending`.
    Pending,
}

impl LimitExceeded {
    /// The limit's config key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requests => "max_requests",
            Self::Pending => "max_pending",
        }
    }
}

/// The live limits of one upstream; shared across config versions while unchanged.
#[derive(Debug)]
pub(crate) struct UpstreamLimits {
    config: LimitsConfig,
    requests: Arc<Semaphore>,
    connections: Arc<Semaphore>,
    pending: AtomicU32,
}

/// Held while a request is in flight; releases its slots when dropped.
#[derive(Debug)]
pub(crate) struct Admission {
    _request: OwnedSemaphorePermit,
    _connection: OwnedSemaphorePermit,
}

impl UpstreamLimits {
    pub(crate) fn new(config: LimitsConfig) -> Self {
        Self {
            config,
            requests: Arc::new(Semaphore::new(config.max_requests as usize)),
            connections: Arc::new(Semaphore::new(config.max_connections as usize)),
            pending: AtomicU32::new(0),
        }
    }

    pub(crate) fn config(&self) -> LimitsConfig {
        self.config
    }

    /// Requests in flight (waiting or sending).
    pub(crate) fn in_flight(&self) -> u32 {
        self.config
            .max_requests
            .saturating_sub(self.requests.available_permits() as u32)
    }

    /// Requests waiting for a connection slot.
    pub(crate) fn pending(&self) -> u32 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Admits a request: a request slot at once or `Requests`, then a connection slot, waiting
    /// for one (cancel-safe: the caller's timeout bounds the wait) unless the pending queue is
    /// full (`Pending`).
    pub(crate) async fn admit(&self) -> Result<Admission, LimitExceeded> {
        let request = Arc::clone(&self.requests)
            .try_acquire_owned()
            .map_err(|_| LimitExceeded::Requests)?;
        if let Ok(connection) = Arc::clone(&self.connections).try_acquire_owned() {
            return Ok(Admission {
                _request: request,
                _connection: connection,
            });
        }
        if self.pending.fetch_add(1, Ordering::AcqRel) >= self.config.max_pending {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(LimitExceeded::Pending);
        }
        // Decrement the queue length however the wait ends (granted, or cancelled by the
        // caller's timeout dropping this future).
        let _queued = Queued(&self.pending);
        match Arc::clone(&self.connections).acquire_owned().await {
            Ok(connection) => Ok(Admission {
                _request: request,
                _connection: connection,
            }),
            // The semaphore is never closed; treat it like a full queue if it were.
            Err(_) => Err(LimitExceeded::Pending),
        }
    }
}

struct Queued<'a>(&'a AtomicU32);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(max_connections: u32, max_pending: u32, max_requests: u32) -> UpstreamLimits {
        UpstreamLimits::new(LimitsConfig {
            max_connections,
            max_pending,
            max_requests,
        })
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn limits_max_requests_refuses_at_once() {
        let l = limits(10, 10, 2);
        let _a = l.admit().await.unwrap();
        let _b = l.admit().await.unwrap();
        assert_eq!(l.admit().await.unwrap_err(), LimitExceeded::Requests);
        assert_eq!(l.in_flight(), 2);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn limits_busy_connections_queue_up_to_max_pending() {
        let l = Arc::new(limits(1, 1, 10));
        let first = l.admit().await.unwrap();
        let waiter = {
            let l = Arc::clone(&l);
            tokio::spawn(async move { l.admit().await.map(|_| ()) })
        };
        tokio::task::yield_now().await;
        assert_eq!(l.pending(), 1);
        assert_eq!(
            l.admit().await.unwrap_err(),
            LimitExceeded::Pending,
            "queue of 1 is full"
        );
        drop(first);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(l.pending(), 0);
        assert_eq!(l.in_flight(), 0);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn limits_cancelled_wait_leaves_the_queue() {
        let l = limits(1, 5, 10);
        let _busy = l.admit().await.unwrap();
        let timed_out = tokio::time::timeout(Duration::from_millis(100), l.admit()).await;
        assert!(timed_out.is_err());
        assert_eq!(l.pending(), 0);
        assert_eq!(
            l.in_flight(),
            1,
            "the cancelled request released its request slot"
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn limits_zero_pending_never_waits() {
        let l = limits(1, 0, 10);
        let _busy = l.admit().await.unwrap();
        assert_eq!(l.admit().await.unwrap_err(), LimitExceeded::Pending);
    }
}
