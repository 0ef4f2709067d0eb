//! The JSON report: verdicts attached to the runner's journal (`--json FILE`), or a drill's
//! result on its own.
//!
//! [`attach`] adds two keys to the journal object: `verdicts` (every [`Verdict`] with its
//! checks and evidence; times in seconds from the load's start) and `summary`
//! (`{ passed, failed, inconclusive, status, exit_code }`).

use std::path::Path;

use serde_json::{Value, json};

use crate::verdict::{Status, Verdict};

use super::error::{self, ReportError};
use super::{Counts, DrillResult, exit_code};

/// Adds `verdicts` and `summary` to `journal`, replacing earlier ones.
pub fn attach(journal: &mut Value, verdicts: &[Verdict]) -> Result<(), ReportError> {
    let kind = match journal {
        Value::Object(_) => None,
        Value::Null => Some("null"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(_) => Some("number"),
        Value::String(_) => Some("string"),
        Value::Array(_) => Some("array"),
    };
    if let Some(kind) = kind {
        return Err(ReportError::JournalNotObject { kind });
    }
    let encoded = serde_json::to_value(verdicts).map_err(ReportError::Json)?;
    if let Value::Object(map) = journal {
        map.insert("verdicts".to_owned(), encoded);
        map.insert("summary".to_owned(), summary(verdicts));
    }
    Ok(())
}

/// `{ passed, failed, inconclusive, status, exit_code }` of `verdicts`.
pub fn summary(verdicts: &[Verdict]) -> Value {
    let c = Counts::of(verdicts);
    let code = exit_code(verdicts);
    let status = match code {
        0 => Status::Pass,
        1 => Status::Fail,
        _ => Status::Inconclusive,
    };
    json!({
        "passed": c.passed,
        "failed": c.failed,
        "inconclusive": c.inconclusive,
        "status": status,
        "exit_code": code,
    })
}

/// A drill's result as JSON: scenario, outcome, verdicts, and the chart's timeline.
pub fn to_json(result: &DrillResult) -> Result<Value, ReportError> {
    let verdicts = serde_json::to_value(&result.verdicts).map_err(ReportError::Json)?;
    let c = result.counts();
    Ok(json!({
        "scenario": result.scenario,
        "path": result.path.display().to_string(),
        "description": result.description,
        "seed": result.seed,
        "started_at": super::utc(result.started_at),
        "duration_s": result.duration.as_secs_f64(),
        "outcome": {
            "status": result.outcome.as_str(),
            "detail": result.outcome.describe(),
        },
        "summary": {
            "passed": c.passed,
            "failed": c.failed,
            "inconclusive": c.inconclusive,
            "status": result.status(),
            "exit_code": result.exit_code(),
        },
        "verdicts": verdicts,
        "timeline": {
            "interval_ms": 100,
            "intervals": serde_json::to_value(&result.intervals).map_err(ReportError::Json)?,
            "faults": serde_json::to_value(&result.faults).map_err(ReportError::Json)?,
            "breakers": serde_json::to_value(&result.breakers).map_err(ReportError::Json)?,
        },
    }))
}

/// Writes `value` to `path`, pretty-printed.
pub fn write_json(path: &Path, value: &Value) -> Result<(), ReportError> {
    let mut text = serde_json::to_string_pretty(value).map_err(ReportError::Json)?;
    text.push('\n');
    error::write(path, text.as_bytes())
}
