//! Drill verdicts: every objective of a [`Plan`] judged on a run's [`Evidence`], each
//! [`Verdict`] pass, fail or inconclusive, with the measured value, the threshold, the
//! window and the evidence that decided it.
//!
//! ```text
//! Plan.objectives ─┐                     ┌─ client records (error rate, latency, RTO)
//!                  ├─ evaluate ─ Judge ──┼─ trace backend: JaegerClient (spans by name/attrs)
//! Evidence ────────┘   (one per          ├─ /metrics scrapes (gauge series) or PromQL
//!                      objective)        └─ actual fault windows (windows)
//!                         └─> Vec<Verdict> ─> report (terminal, JSON, JUnit, HTML, exit code)
//! ```
//!
//! Files: one per objective kind (`steady_state`, `errors`, `latency`, `failover`,
//! `degradation`, `rto`, `breaker`, `trace`, `metric`); shared: `windows` (windows against
//! the actual fault times), `client` (records), `spans` (trace queries), `series` (metric
//! series), `judge` (the context), `gateway_config` (what is read from the gateway config),
//! `outcome` (the verdict model), `missing` (why evidence is missing), `figures` (how values
//! are written).
//!
//! # Rules
//!
//! **Inconclusive, never passed.** A check is inconclusive when the harness could not judge
//! it: its window or reference names a fault the run never applied; the trace backend or
//! Prometheus is absent or unreachable; the backend holds no span of the service in the
//! window at all (so "zero matching spans" would prove nothing); a series is absent from
//! every scrape; or there are too few samples. An objective is **fail** if any of its checks
//! failed (a definite violation stands whatever else is missing), else **inconclusive** if
//! any check was, else **pass**. Objectives judged from several views (rto: client and
//! spans; degradation: client and spans; breaker: spans, cross-checked with the gauge) need
//! every view they name.
//!
//! **Minimum samples.** A rate needs 10 records (or spans); `p(N)` needs
//! `max(10, ceil(100 / (100 - N)))` samples (`p(99)`: 100); `avg`/`max` need 10 (see
//! `client`). A metric needs one scrape in the window showing the series; with `for`, the
//! samples must span the hold time.
//!
//! **RTO.** From the reference `ref` (the fault's actual end or start), steps `s` every
//! 10 ms; a step is *good* when the samples due in the window `[s, s + W)` number at least
//! 10 (else it is *undecided*), their success ratio meets `success` and, if set, their
//! latency meets `latency` (with that statistic's minimum). Recovery is the first step
//! `t >= ref` such that every step in `[t, t + H]` is good, and `rto = t - ref` (compared
//! with `max`). Windows look forward from their step, so `t` is the instant from which the
//! system behaved, not the later instant at which a trailing average would show it: for a
//! clean switch at `T` the figure is `T` rounded up to the next step (with `success` below
//! 100%, up to the tolerated failures' share of `W` earlier). Windows must end by the load's
//! end. Not recovered: **fail** when the observation covered `ref + max + H + W` with every
//! step decided, else **inconclusive**; a figure above `max` with undecided steps before that
//! deadline is inconclusive too. The same computation runs on the gateway's
//! `gateway.request` spans (success: status code below 500 and span status not error;
//! bucketed by span start); both figures and their difference are reported.
//!
//! **Exit codes** (`report::exit_code`): 0 every objective passed; 1 at least one failed;
//! 3 none failed but at least one was inconclusive (the harness could not judge: CI must
//! not read it as green). A definite failure wins over inconclusive ones, so "the system is
//! fragile" is never hidden behind "part of the evidence was lost". 2 (invalid input) is
//! decided before any verdict exists.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod breaker;
pub(crate) mod client;
mod degradation;
mod errors;
mod failover;
pub(crate) mod figures;
mod gateway_config;
mod judge;
mod latency;
mod metric;
mod missing;
mod outcome;
mod rto;
mod series;
mod spans;
mod steady_state;
mod trace;
mod windows;

use std::time::Duration;

use crate::evidence::Evidence;
use crate::scenario::{Objective, Plan};

pub use missing::MissingEvidence;
pub use outcome::{Check, Measured, Status, Verdict, VerdictWindow};

use judge::Judge;

/// Limits and timeouts of the evidence queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Timeout of each trace or Prometheus request. Default 10s.
    pub query_timeout: Duration,
    /// Traces asked for per trace search; a full page is split in two. Default 1000.
    pub traces_per_page: u32,
    /// Searches one span query may make while paging. Default 256.
    pub max_queries: usize,
    /// Trace ids kept in a verdict's evidence. Default 20.
    pub evidence_ids: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            query_timeout: Duration::from_secs(10),
            traces_per_page: 1000,
            max_queries: 256,
            evidence_ids: 20,
        }
    }
}

/// Judges every objective of `plan` on `evidence`, in the plan's order, with default
/// [`Options`].
pub async fn evaluate(plan: &Plan, evidence: &Evidence) -> Vec<Verdict> {
    evaluate_with(plan, evidence, &Options::default()).await
}

/// Judges every objective of `plan` on `evidence`, in the plan's order.
pub async fn evaluate_with(plan: &Plan, evidence: &Evidence, options: &Options) -> Vec<Verdict> {
    let judge = Judge::new(plan, evidence, options);
    let mut verdicts = Vec::with_capacity(plan.objectives.len());
    for (index, objective) in plan.objectives.iter().enumerate() {
        let verdict = match objective {
            Objective::SteadyState(o) => steady_state::judge(&judge, index, o),
            Objective::Errors(o) => errors::judge(&judge, index, o),
            Objective::Latency(o) => latency::judge(&judge, index, o),
            Objective::Failover(o) => failover::judge(&judge, index, o).await,
            Objective::Degradation(o) => degradation::judge(&judge, index, o).await,
            Objective::Rto(o) => rto::judge(&judge, index, o).await,
            Objective::Breaker(o) => breaker::judge(&judge, index, o).await,
            Objective::Trace(o) => trace::judge(&judge, index, o).await,
            Objective::Metric(o) => metric::judge(&judge, index, o).await,
        };
        tracing::debug!(
            objective = %verdict.reference(),
            label = %verdict.label,
            status = %verdict.status,
            measured = %verdict.measured,
            "Objective judged"
        );
        verdicts.push(verdict);
    }
    verdicts
}
