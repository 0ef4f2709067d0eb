//! Drill reports: what a run tells people and CI. A [`DrillResult`] gathers one drill's
//! verdicts with the timeline they came from, and is written as terminal lines
//! ([`write_terminal`]), JSON ([`attach`] to the runner's journal, [`to_json`]), JUnit XML
//! ([`junit_xml`], one testsuite per scenario) and a self-contained HTML page with a
//! timeline chart ([`html`]). [`exit_code`] turns verdicts into the process exit code.
//!
//! ```text
//! Plan + Evidence + Vec<Verdict> + how the run ended
//!   -> DrillResult { verdicts, 100 ms intervals, fault windows, breaker bands }
//!        -> terminal (colour policy) | JSON | JUnit (quick-junit) | HTML (inline SVG)
//!        -> exit code: 0 met, 1 failed (or aborted by a guard), 3 not judged / harness error
//! ```
//!
//! Files: `timeline` (the chart's data from the evidence), `terminal`, `json`, `junit`,
//! `html` (page and objective table), `chart` (the SVG), `error`.
//!
//! How `chaos run` uses it, once the drill is over:
//!
//! ```no_run
//! # async fn finish(
//! #     plan: &chaos::scenario::Plan,
//! #     evidence: &chaos::evidence::Evidence,
//! #     mut journal: serde_json::Value,
//! # ) -> Result<u8, chaos::report::ReportError> {
//! use std::path::Path;
//!
//! use chaos::report::{self, ColorChoice, DrillOutcome, DrillResult};
//! use chaos::verdict;
//!
//! let verdicts = verdict::evaluate(plan, evidence).await;
//! let result = DrillResult::new(plan, evidence, verdicts, DrillOutcome::Completed);
//! let color = ColorChoice::Auto.enabled(std::io::IsTerminal::is_terminal(&std::io::stdout()));
//! let _ = report::write_terminal(&mut std::io::stdout(), &result, color);
//! report::attach(&mut journal, &result.verdicts)?;
//! report::write_json(Path::new("journal.json"), &journal)?;
//! report::write_junit(Path::new("junit.xml"), std::slice::from_ref(&result))?;
//! report::write_html(Path::new("report.html"), &result)?;
//! Ok(result.exit_code())
//! # }
//! ```
//!
//! # Exit codes
//!
//! | code | when |
//! |---|---|
//! | 0 | every objective passed (also: a drill without objectives that ran to its end) |
//! | 1 | at least one objective failed, or a guard stopped the drill |
//! | 2 | invalid input (decided before a `DrillResult` exists) |
//! | 3 | no objective failed but at least one was inconclusive (the harness could not judge), or the drill could not be carried out |
//!
//! A failed objective wins over inconclusive ones: the system was shown to be fragile, and
//! that must not hide behind lost evidence. Over several drills the exit code is the first
//! of 1, 3, 0 that any drill has.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod chart;
mod error;
mod html;
mod json;
mod junit;
mod terminal;
mod timeline;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::evidence::Evidence;
use crate::scenario::Plan;
use crate::verdict::{Status, Verdict};

pub use error::ReportError;
pub use html::{html, write_html};
pub use json::{attach, summary, to_json, write_json};
pub use junit::{junit, junit_xml, write_junit};
pub use terminal::{ColorChoice, ColorChoiceError, write_summary, write_terminal};
pub use timeline::{BreakerBand, BreakerSegment, BreakerState, FaultBand, IntervalPoint};

/// How a drill's run ended, apart from its verdicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillOutcome {
    /// The load ran to its end and every fault was applied and undone.
    Completed,
    /// A guard stopped the drill early (every fault undone); exit 1.
    Aborted {
        /// The guard's name.
        guard: String,
    },
    /// The drill could not be carried out (a fault not injected, the load generator died);
    /// exit 3.
    Error {
        /// What went wrong.
        message: String,
    },
}

/// One drill's result: its verdicts and the timeline they were judged on.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillResult {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file.
    pub path: PathBuf,
    /// The scenario's description.
    pub description: String,
    /// The seed the drill ran with.
    pub seed: u64,
    /// How the run ended.
    pub outcome: DrillOutcome,
    /// Wall-clock start of the load.
    pub started_at: SystemTime,
    /// How long the load ran.
    pub duration: Duration,
    /// The verdicts, in the scenario's order.
    pub verdicts: Vec<Verdict>,
    /// Client figures per 100 ms interval (by intended start).
    pub intervals: Vec<IntervalPoint>,
    /// The faults as they actually ran.
    pub faults: Vec<FaultBand>,
    /// Breaker states over time, per upstream.
    pub breakers: Vec<BreakerBand>,
}

/// How many verdicts came out each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Inconclusive.
    pub inconclusive: usize,
}

// === impl DrillOutcome ===

impl DrillOutcome {
    /// `completed`, `aborted` or `error`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DrillOutcome::Completed => "completed",
            DrillOutcome::Aborted { .. } => "aborted",
            DrillOutcome::Error { .. } => "error",
        }
    }

    /// One sentence, e.g. `aborted by guard too-many-errors`.
    pub fn describe(&self) -> String {
        match self {
            DrillOutcome::Completed => "completed".to_owned(),
            DrillOutcome::Aborted { guard } => format!("aborted by guard {guard}"),
            DrillOutcome::Error { message } => format!("could not be carried out: {message}"),
        }
    }
}

// === impl DrillResult ===

impl DrillResult {
    /// The result of `plan` run with `evidence`, judged as `verdicts`.
    pub fn new(
        plan: &Plan,
        evidence: &Evidence,
        verdicts: Vec<Verdict>,
        outcome: DrillOutcome,
    ) -> DrillResult {
        DrillResult {
            scenario: plan.name.clone(),
            path: plan.source.clone(),
            description: plan.description.clone(),
            seed: plan.seed,
            outcome,
            started_at: evidence.load_started_at,
            duration: evidence.load_duration,
            intervals: timeline::intervals(&evidence.records, evidence.load_duration),
            faults: timeline::faults(plan, evidence),
            breakers: timeline::breakers(evidence, &verdicts),
            verdicts,
        }
    }

    /// The verdict counts.
    pub fn counts(&self) -> Counts {
        Counts::of(&self.verdicts)
    }

    /// The process exit code for this drill (module docs).
    pub fn exit_code(&self) -> u8 {
        match &self.outcome {
            DrillOutcome::Completed => exit_code(&self.verdicts),
            DrillOutcome::Aborted { .. } => 1,
            DrillOutcome::Error { .. } => 3,
        }
    }

    /// The overall status: fail on exit 1, inconclusive on 3, else pass.
    pub fn status(&self) -> Status {
        match self.exit_code() {
            0 => Status::Pass,
            1 => Status::Fail,
            _ => Status::Inconclusive,
        }
    }
}

// === impl Counts ===

impl Counts {
    /// Counts `verdicts`.
    pub fn of(verdicts: &[Verdict]) -> Counts {
        let mut counts = Counts::default();
        for v in verdicts {
            match v.status {
                Status::Pass => counts.passed += 1,
                Status::Fail => counts.failed += 1,
                Status::Inconclusive => counts.inconclusive += 1,
            }
        }
        counts
    }
}

/// The exit code for a drill's verdicts: 1 if any failed, else 3 if any was inconclusive,
/// else 0.
pub fn exit_code(verdicts: &[Verdict]) -> u8 {
    let counts = Counts::of(verdicts);
    if counts.failed > 0 {
        1
    } else if counts.inconclusive > 0 {
        3
    } else {
        0
    }
}

/// The exit code for several drills: 1 if any drill's is 1, else 3 if any is 3, else 0.
pub fn exit_code_of(results: &[DrillResult]) -> u8 {
    let codes: Vec<u8> = results.iter().map(DrillResult::exit_code).collect();
    if codes.contains(&1) {
        1
    } else if codes.iter().any(|c| *c != 0) {
        3
    } else {
        0
    }
}

/// `2026-01-31T12:00:00.250Z` (UTC, milliseconds).
pub(crate) fn utc(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_civil_time() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_769_860_800_250);
        assert_eq!(utc(at), "2026-01-31T12:00:00.250Z");
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29T00:00:00.000Z");
    }
}
