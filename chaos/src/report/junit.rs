//! The JUnit XML report (`--junit FILE`), for CI test views (GitHub, GitLab): one
//! `testsuite` per scenario with its path, seed and outcome as properties, one `testcase`
//! per objective.
//!
//! A failed objective is a `<failure>` whose message is "measured X, expected Y"; an
//! inconclusive one is an `<error type="inconclusive">` (the harness could not judge, which
//! CI must not read as green); the text of either lists every check. A drill stopped by a
//! guard or unable to run adds a `drill` testcase with a failure or an error.

use std::path::Path;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::verdict::{Status, Verdict};

use super::error::{self, ReportError};
use super::{DrillOutcome, DrillResult};

/// The JUnit report of `results`.
pub fn junit(results: &[DrillResult]) -> Report {
    let mut report = Report::new("chaos");
    for result in results {
        report.add_test_suite(suite(result));
    }
    report
}

/// The JUnit XML text of `results`.
pub fn junit_xml(results: &[DrillResult]) -> Result<String, ReportError> {
    junit(results).to_string().map_err(ReportError::Junit)
}

/// Writes the JUnit XML of `results` to `path`.
pub fn write_junit(path: &Path, results: &[DrillResult]) -> Result<(), ReportError> {
    error::write(path, junit_xml(results)?.as_bytes())
}

fn suite(result: &DrillResult) -> TestSuite {
    let mut suite = TestSuite::new(result.scenario.as_str());
    suite.set_time(result.duration);
    suite.add_properties([
        Property::new("scenario.path", result.path.display().to_string()),
        Property::new("scenario.description", result.description.as_str()),
        Property::new("seed", result.seed.to_string()),
        Property::new("started_at", super::utc(result.started_at)),
        Property::new("outcome", result.outcome.describe()),
        Property::new("exit_code", result.exit_code().to_string()),
    ]);
    let classname = format!("chaos.{}", result.scenario);
    for verdict in &result.verdicts {
        let mut case = TestCase::new(
            format!("{} {}", verdict.reference(), verdict.label),
            status(verdict),
        );
        case.set_classname(classname.as_str());
        case.add_property(Property::new("kind", verdict.kind));
        if let Some(w) = &verdict.window {
            case.add_property(Property::new(
                "window",
                format!(
                    "{} [{:.3}s, {:.3}s)",
                    w.name,
                    w.start.as_secs_f64(),
                    w.end.as_secs_f64()
                ),
            ));
        }
        suite.add_test_case(case);
    }
    let drill = match &result.outcome {
        DrillOutcome::Completed => None,
        DrillOutcome::Aborted { .. } => Some(NonSuccessKind::Failure),
        DrillOutcome::Error { .. } => Some(NonSuccessKind::Error),
    };
    if let Some(kind) = drill {
        let mut status = TestCaseStatus::non_success(kind);
        status.set_message(result.outcome.describe());
        status.set_type(result.outcome.as_str());
        let mut case = TestCase::new("drill", status);
        case.set_classname(classname.as_str());
        suite.add_test_case(case);
    }
    suite
}

fn status(v: &Verdict) -> TestCaseStatus {
    let kind = match v.status {
        Status::Pass => return TestCaseStatus::success(),
        Status::Fail => NonSuccessKind::Failure,
        Status::Inconclusive => NonSuccessKind::Error,
    };
    let mut status = TestCaseStatus::non_success(kind);
    let message = match v.status {
        Status::Inconclusive => format!("inconclusive: {}", v.message),
        _ => format!(
            "measured {}, expected {}: {}",
            v.measured, v.threshold, v.message
        ),
    };
    status.set_message(message);
    status.set_type(match v.status {
        Status::Inconclusive => "inconclusive".to_owned(),
        _ => v.kind.to_owned(),
    });
    let lines: Vec<String> = v
        .checks
        .iter()
        .map(|c| {
            format!(
                "{}: {} measured {}, expected {} -- {}",
                c.name, c.status, c.measured, c.threshold, c.message
            )
        })
        .collect();
    status.set_description(lines.join("\n"));
    status
}
