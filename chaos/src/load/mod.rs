//! The open-model HTTP load generator: requests at a fixed offered rate, one record per
//! request, joinable with the gateway's traces.
//!
//! A drill judges recovery from what clients saw, so the generator has to report the system's
//! behavior, not its own. Three decisions follow (see `chaos-practice.md` §5):
//!
//! - **Open model.** Request `i` is due at a time computed from the rate alone
//!   ([`Schedule`]: `i / rate`, or the inverse of the integrated ramp), and is sent then
//!   whatever earlier requests are doing: a slow system does not slow the offered load.
//!   One timer drives the schedule; each request runs in its own task.
//! - **No coordinated omission.** Latency is measured from the *intended* start. If the
//!   system stalls, every request queued behind the stall shows the wait (wrk2's approach).
//!   If the generator itself falls behind, overdue requests go out at once and still carry
//!   their intended time, so its lag counts against latency rather than hiding;
//!   [`LoadReport::send_lag`] shows how large that lag was.
//! - **Dropped, not delayed.** A request due while `max_in_flight` requests are in flight is
//!   not sent; it is recorded as [`ErrorKind::Dropped`] with its intended time (k6's
//!   `dropped_iterations`), and counts as a failure, so overload cannot hide.
//!
//! Every request carries its own W3C `traceparent`: a new trace id from the seeded generator
//! (so a seed reproduces the ids), sampled for a configured share of requests. The record
//! keeps the trace id, joining client outcomes with gateway spans.
//!
//! ```text
//! LoadInput --validate--> LoadSpec --> Draws (seq, intended, mix entry, trace context)
//!   --timer at start + intended--> max_in_flight? --no--> RequestRecord(dropped)
//!                                                  --yes--> task: client.send --> RequestRecord
//!   --end or cancel, drain (bounded)--> records by seq --> 100 ms intervals --> LoadReport
//! ```
//!
//! Components: `spec` (input and validation), `schedule` (due times), `mix` (weighted
//! choice), `draw` (seeded per-request decisions), `client` (HTTP/1.1 pool, error kinds),
//! `hooks` (headers changed mid-run, live records), `record`, `aggregate` (intervals,
//! HdrHistogram), `progress` (live counters), `run`.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use chaos::load::{self, LoadInput, LoadSpec, Rate, RequestInput};
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let mut input = LoadInput::new(
//!     "http://127.0.0.1:8080",
//!     Rate::Constant { per_second: 200.0 },
//!     Duration::from_secs(10),
//! );
//! input.mix.push(RequestInput::new("GET", "/api/items"));
//! let spec = LoadSpec::validate(input).map_err(|errors| format!("{errors:?}"))?;
//! let report = load::run(spec, CancellationToken::new()).await?;
//! for interval in &report.intervals {
//!     println!("{:?}: {} ok of {}", interval.start, interval.successes, interval.count);
//! }
//! # Ok(())
//! # }
//! ```

mod aggregate;
mod client;
mod draw;
mod hooks;
mod mix;
mod progress;
mod record;
mod run;
mod schedule;
mod spec;

pub use aggregate::{
    ErrorCounts, INTERVAL, IntervalStats, LATENCY_SIGNIFICANT_DIGITS, LatencySummary, StatusCounts,
};
pub use hooks::ExtraHeaders;
pub use progress::{LoadProgress, ProgressHandle};
pub use record::{ErrorKind, Outcome, RequestRecord, StatusClass};
pub use run::{LoadError, LoadGenerator, LoadReport, run};
pub use schedule::Schedule;
pub use spec::{
    DEFAULT_CANCEL_DRAIN, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT,
    LoadInput, LoadSpec, MAX_RATE, MAX_REQUESTS, Rate, RequestInput, SpecError, SpecProblem, Stage,
};
