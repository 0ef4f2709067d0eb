//! `errors`: the client error rate over a window.

use crate::scenario::ErrorsObjective;

use super::client;
use super::judge::Judge;
use super::outcome::Verdict;

/// Judges an `errors` objective.
pub(crate) fn judge(j: &Judge<'_>, index: usize, o: &ErrorsObjective) -> Verdict {
    let label = format!("errors {}", o.window);
    let window = match j.timeline.window(&o.window) {
        Ok(window) => window,
        Err(missing) => {
            return Verdict::unjudged(index, "errors", label, o.rate.to_string(), &missing);
        }
    };
    let records = j.records(window.interval);
    let check = client::errors_check("errors", &window.describe(), &records, &o.rate);
    Verdict::from_checks(
        index,
        "errors",
        label,
        Some(window.verdict_window()),
        vec![check],
        serde_json::Value::Null,
    )
}
