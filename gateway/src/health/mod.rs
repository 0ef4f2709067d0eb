//! Active health checking: periodic HTTP probes of each endpoint, with thresholds that turn
//! probe results into a healthy / unhealthy verdict the balancer respects.

mod checker;
mod state;

use std::time::Duration;

pub(crate) use checker::spawn_checkers;
pub(crate) use state::{HealthCounter, Transition};

/// Validated active health-check settings of an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckConfig {
    /// Path probed with `GET`; any 2xx or 3xx answer is a success.
    pub path: String,
    /// Time between probes of one endpoint. Default 5s.
    pub interval: Duration,
    /// Longest wait for a probe's response headers. Default 1s; at most `interval`.
    pub timeout: Duration,
    /// Consecutive failed probes that mark a healthy endpoint unhealthy. Default 2.
    pub unhealthy_after: u32,
    /// Consecutive successful probes that mark an unhealthy endpoint healthy. Default 2.
    pub healthy_after: u32,
}
