//! What a load run does: the raw [`LoadInput`] a scenario fills in, and the validated
//! [`LoadSpec`] the generator runs.

use std::time::Duration;

use bytes::Bytes;
use http::uri::Authority;
use observability::tracecontext::Sampler;

use super::mix::Mix;
use super::schedule::Schedule;

mod error;
#[cfg(test)]
mod tests;
mod validate;

pub use error::{SpecError, SpecProblem};

/// Highest rate a spec may ask for, requests per second: far above what one generator on a
/// small machine can send, low enough that a typo (`10000000`) is caught.
pub const MAX_RATE: f64 = 100_000.0;
/// Most requests one run may plan: every record is kept in memory until the run ends.
pub const MAX_REQUESTS: u64 = 1_000_000;
/// Per-request timeout when [`LoadInput::timeout`] is unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connect timeout when [`LoadInput::connect_timeout`] is unset.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// In-flight limit when [`LoadInput::max_in_flight`] is unset.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1_000;
/// How long in-flight requests may finish after cancellation when
/// [`LoadInput::cancel_drain`] is unset (never longer than the request timeout).
pub const DEFAULT_CANCEL_DRAIN: Duration = Duration::from_secs(1);

/// The offered arrival rate over time.
#[derive(Clone, Debug, PartialEq)]
pub enum Rate {
    /// The same rate for the whole run.
    Constant {
        /// Requests per second, above 0 and at most [`MAX_RATE`].
        per_second: f64,
    },
    /// Stages run back to back, the rate moving linearly from `rate_from` to `rate_to` within
    /// each; after the last stage its `rate_to` holds until the run's duration, and stages
    /// past the duration are cut.
    Ramp(Vec<Stage>),
}

/// One linear stretch of a [`Rate::Ramp`].
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// Rate at the stage's start, requests per second, 0 to [`MAX_RATE`].
    pub rate_from: f64,
    /// Rate at the stage's end, requests per second, 0 to [`MAX_RATE`].
    pub rate_to: f64,
    /// The stage's length, above 0.
    pub duration: Duration,
}

/// Raw settings of a load run, as a scenario states them; [`LoadSpec::validate`] checks them.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadInput {
    /// Base URL: `http://host:port`, explicit port, no path (or `/`), no query.
    pub target: String,
    /// The offered rate.
    pub rate: Rate,
    /// How long requests are started for, above 0.
    pub duration: Duration,
    /// Requests to choose from, by weight; at least one.
    pub mix: Vec<RequestInput>,
    /// Requests allowed in flight at once; a request due while the limit is reached is not
    /// sent and is recorded as dropped. At least 1; default [`DEFAULT_MAX_IN_FLIGHT`].
    pub max_in_flight: Option<usize>,
    /// Time from sending a request to the end of its response body, above 0; default
    /// [`DEFAULT_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// Time to open a TCP connection, above 0; default [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Option<Duration>,
    /// Idle keep-alive connections kept in the pool (0 closes each after use); default
    /// `max_in_flight`.
    pub max_idle_per_host: Option<usize>,
    /// Seeds the request mix choice and the trace ids: the same seed gives the same requests
    /// with the same ids.
    pub seed: u64,
    /// Share of requests whose `traceparent` has the sampled flag, 0 to 1; default 1. Decided
    /// from the trace id, the way the gateway's ratio sampler decides.
    pub sample_traces: Option<f64>,
    /// After cancellation, how long in-flight requests may still finish before they are
    /// recorded as cancelled; default [`DEFAULT_CANCEL_DRAIN`], at most the timeout.
    pub cancel_drain: Option<Duration>,
}

/// One entry of the request mix.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestInput {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path and optional query, starting with `/`.
    pub path: String,
    /// Extra request headers. `traceparent`, `tracestate` (set per request by the generator),
    /// `content-length` and `transfer-encoding` (set from the body) are rejected.
    pub headers: Vec<(String, String)>,
    /// Request body; empty for none.
    pub body: Bytes,
    /// Relative weight, at least 1: an entry is chosen with probability weight / sum.
    pub weight: u32,
}

/// A validated load run: only [`LoadSpec::validate`] makes one.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    pub(crate) authority: Authority,
    pub(crate) schedule: Schedule,
    pub(crate) mix: Mix,
    pub(crate) max_in_flight: usize,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_idle_per_host: usize,
    pub(crate) seed: u64,
    pub(crate) sampler: Sampler,
    pub(crate) cancel_drain: Duration,
}

// === impl LoadInput ===

impl LoadInput {
    /// Settings with every optional field at its default and seed 0.
    pub fn new(target: impl Into<String>, rate: Rate, duration: Duration) -> Self {
        LoadInput {
            target: target.into(),
            rate,
            duration,
            mix: Vec::new(),
            max_in_flight: None,
            timeout: None,
            connect_timeout: None,
            max_idle_per_host: None,
            seed: 0,
            sample_traces: None,
            cancel_drain: None,
        }
    }
}

// === impl RequestInput ===

impl RequestInput {
    /// A bodiless request with weight 1 and no extra headers.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        RequestInput {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Bytes::new(),
            weight: 1,
        }
    }
}

// === impl LoadSpec ===

impl LoadSpec {
    /// The target's `host:port`.
    pub fn target(&self) -> &Authority {
        &self.authority
    }

    /// When each request is due.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Requests the run plans (sent or dropped).
    pub fn planned(&self) -> u64 {
        self.schedule.len()
    }

    /// How long requests are started for.
    pub fn duration(&self) -> Duration {
        self.schedule.duration()
    }

    /// Per-request timeout, from sending to the end of the response body.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Requests allowed in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The seed of the mix choice and trace ids.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
