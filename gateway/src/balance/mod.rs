//! Load balancing: choosing one endpoint of an upstream for each request attempt.
//!
//! A [`Balancer`] is built once per endpoint list (config order) and then shared by every task
//! proxying to that upstream. For each attempt the caller decides which endpoints may be used
//! (health, outlier ejection, retry exclusion) and passes their indices as `eligible`; the
//! balancer only chooses among them. Picks run on the request path, concurrently: none
//! allocates, and the only locks are short, never held across `.await`, and listed below.
//!
//! | Algorithm | File | Shared state per pick |
//! |---|---|---|
//! | Round robin | `round_robin.rs` | one atomic counter |
//! | Smooth weighted round robin | `smooth_weighted.rs` | one mutex over the current weights |
//! | Least request | `least_request.rs` | reads `in_flight`; an atomic counter on ties |
//! | Consistent hash | `consistent_hash.rs` | none (immutable ring) |
//! | P2C + peak EWMA | `p2c.rs`, `ewma.rs` | one atomic RNG; one short mutex per candidate |
//!
//! Why each works the way it does:
//!
//! - **Round robin** rotates over the *current* eligible list, so every eligible endpoint is
//!   visited once per cycle whatever was excluded; the counter starts at the seed so replicas
//!   started together do not all begin with the same endpoint.
//! - **Smooth weighted round robin** is nginx's: exact shares per cycle (`weight` picks out of
//!   `sum(weights)`) with the heavy endpoint's picks spread out, not bunched. Ineligible
//!   endpoints are skipped like nginx's down peers. The update touches every eligible
//!   endpoint's state at once, so it runs under a mutex (see the file for why no atomics).
//! - **Least request** scans all eligible endpoints for the lowest `(in_flight + 1) / weight`,
//!   which guarantees never choosing a strictly busier endpoint; ties rotate. Envoy's P2C
//!   shortcut for equal weights cannot give that guarantee.
//! - **Consistent hash** is a ketama-style ring (160 points per unit of weight, a fixed hash we
//!   own): an ineligible endpoint's keys go to its ring successors and no other key moves.
//!   Maglev would need a table per eligible set and moves more keys.
//! - **P2C with peak EWMA** compares two random endpoints by latency × load / weight, following
//!   tower's `PeakEwma` (peak on slow samples, exponential decay, decay toward zero while
//!   idle). The estimate lives on the [`Endpoint`] so it survives config reloads, and its
//!   `decay` / `default_rtt` are given when the endpoint is built.

mod consistent_hash;
mod ewma;
mod least_request;
mod p2c;
mod round_robin;
mod smooth_weighted;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use http::header::HeaderName;
use tokio::time::Instant;

use self::consistent_hash::ConsistentHash;
pub(crate) use self::ewma::PeakEwma;
use self::least_request::LeastRequest;
use self::p2c::P2cPeakEwma;
use self::round_robin::RoundRobin;
use self::smooth_weighted::SmoothWeighted;
use crate::upstream::Endpoint;

/// Which balancing algorithm an upstream uses (validated config).
#[derive(Debug, Clone, PartialEq)]
pub enum BalancerConfig {
    /// Each eligible endpoint in turn, ignoring weights.
    RoundRobin,
    /// nginx's smooth weighted round robin.
    SmoothWeightedRoundRobin,
    /// The endpoint with the fewest requests in flight relative to its weight.
    LeastRequest,
    /// A consistent-hash ring keyed by client IP or a header.
    ConsistentHash {
        /// What the hash is computed from.
        key: HashKey,
    },
    /// Power of two random choices, comparing peak-EWMA latency times load.
    P2cPeakEwma {
        /// Time constant of the latency average's decay.
        decay: Duration,
        /// Latency assumed for an endpoint before it has answered anything.
        default_rtt: Duration,
    },
}

/// The input of the consistent-hash balancer.
#[derive(Debug, Clone, PartialEq)]
pub enum HashKey {
    /// The client's IP address.
    ClientIp,
    /// A request header's value; requests without it fall back to the client IP.
    Header(HeaderName),
}

/// What a balancer may look at about the request.
#[derive(Debug)]
pub(crate) struct PickContext<'a> {
    pub(crate) client_ip: IpAddr,
    pub(crate) headers: &'a HeaderMap,
}

/// A balancer for one upstream's endpoint list (built once per endpoint list).
#[derive(Debug)]
pub(crate) struct Balancer {
    algorithm: Algorithm,
}

/// The per-algorithm state behind a [`Balancer`].
#[derive(Debug)]
enum Algorithm {
    RoundRobin(RoundRobin),
    SmoothWeighted(SmoothWeighted),
    LeastRequest(LeastRequest),
    ConsistentHash(ConsistentHash),
    P2cPeakEwma(P2cPeakEwma),
}

// === impl Balancer ===

impl Balancer {
    /// Builds the balancer for `endpoints` (the full list, in config order).
    ///
    /// `seed` fixes every random or rotating choice (P2C draws, round-robin and tie-rotation
    /// start), so tests and replays are reproducible.
    pub(crate) fn new(config: &BalancerConfig, endpoints: &[Arc<Endpoint>], seed: u64) -> Self {
        // Truncating the seed on 32-bit targets only changes where a rotation starts.
        let start = seed as usize;
        let algorithm = match config {
            BalancerConfig::RoundRobin => Algorithm::RoundRobin(RoundRobin::new(start)),
            BalancerConfig::SmoothWeightedRoundRobin => {
                Algorithm::SmoothWeighted(SmoothWeighted::new(endpoints))
            }
            BalancerConfig::LeastRequest => Algorithm::LeastRequest(LeastRequest::new(start)),
            BalancerConfig::ConsistentHash { key } => {
                Algorithm::ConsistentHash(ConsistentHash::new(key.clone(), endpoints))
            }
            // `decay` and `default_rtt` configure each endpoint's `PeakEwma`, built with the
            // endpoint; the picker itself only needs its random source.
            BalancerConfig::P2cPeakEwma { .. } => Algorithm::P2cPeakEwma(P2cPeakEwma::new(seed)),
        };
        Self { algorithm }
    }

    /// Picks one of `eligible` (indices into `endpoints`, ascending, non-empty unless no endpoint
    /// may be used) and returns its index into `endpoints`, or `None` when `eligible` is empty.
    pub(crate) fn pick(
        &self,
        endpoints: &[Arc<Endpoint>],
        eligible: &[usize],
        ctx: &PickContext<'_>,
    ) -> Option<usize> {
        match &self.algorithm {
            Algorithm::RoundRobin(rr) => rr.pick(eligible),
            Algorithm::SmoothWeighted(swrr) => swrr.pick(eligible),
            Algorithm::LeastRequest(lr) => lr.pick(endpoints, eligible),
            Algorithm::ConsistentHash(ring) => ring.pick(eligible, ctx),
            Algorithm::P2cPeakEwma(p2c) => p2c.pick(endpoints, eligible, Instant::now()),
        }
    }
}
