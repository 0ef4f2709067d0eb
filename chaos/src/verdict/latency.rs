//! `latency`: a client latency statistic over a window.

use crate::scenario::LatencyObjective;

use super::client;
use super::judge::Judge;
use super::outcome::Verdict;

/// Judges a `latency` objective.
pub(crate) fn judge(j: &Judge<'_>, index: usize, o: &LatencyObjective) -> Verdict {
    let label = format!("latency {} {}", o.value.stat, o.window);
    let window = match j.timeline.window(&o.window) {
        Ok(window) => window,
        Err(missing) => {
            return Verdict::unjudged(index, "latency", label, o.value.to_string(), &missing);
        }
    };
    let records = j.records(window.interval);
    let check = client::latency_check("latency", &window.describe(), &records, &o.value);
    Verdict::from_checks(
        index,
        "latency",
        label,
        Some(window.verdict_window()),
        vec![check],
        serde_json::Value::Null,
    )
}
