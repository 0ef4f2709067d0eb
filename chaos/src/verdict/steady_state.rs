//! `steady_state`: client error rate and latency thresholds before the first fault and after
//! the last, in k6's vocabulary.

use serde_json::json;

use crate::scenario::{ClientThresholds, Interval, SteadyState, Window};

use super::client;
use super::judge::Judge;
use super::missing::MissingEvidence;
use super::outcome::{Check, Verdict, VerdictWindow};

/// Judges a `steady_state` objective: one check per threshold and phase
/// (`before.errors`, `before.latency`, `after.errors`, `after.latency`).
pub(crate) fn judge(j: &Judge<'_>, index: usize, o: &SteadyState) -> Verdict {
    let phases = [
        ("before", Window::Before, o.before.as_ref()),
        ("after", Window::After, o.after.as_ref()),
    ];
    let named = match (o.before.is_some(), o.after.is_some()) {
        (true, true) => "before, after",
        (true, false) => "before",
        _ => "after",
    };
    let label = format!("steady state {}", named.replace(", ", " and "));
    let mut checks = Vec::new();
    let mut spanned: Option<Interval> = None;
    let mut windows = serde_json::Map::new();
    for (phase, window, thresholds) in phases {
        let Some(thresholds) = thresholds else {
            continue;
        };
        match j.timeline.window(&window) {
            Ok(resolved) => {
                let i = resolved.interval;
                spanned = Some(match spanned {
                    None => i,
                    Some(s) => Interval {
                        start: s.start.min(i.start),
                        end: s.end.max(i.end),
                    },
                });
                windows.insert(
                    phase.to_owned(),
                    json!({ "start_s": i.start.as_secs_f64(), "end_s": i.end.as_secs_f64() }),
                );
                let records = j.records(i);
                let name = resolved.describe();
                checks.extend(phase_checks(phase, thresholds, |check_name, t| match t {
                    Threshold::Errors(t) => client::errors_check(check_name, &name, &records, t),
                    Threshold::Latency(t) => client::latency_check(check_name, &name, &records, t),
                }));
            }
            Err(missing) => {
                checks.extend(phase_checks(phase, thresholds, |check_name, t| {
                    unresolved(check_name, t, &missing)
                }));
            }
        }
    }
    let window = spanned.map(|i| VerdictWindow::new(named, i));
    Verdict::from_checks(
        index,
        "steady_state",
        label,
        window,
        checks,
        json!({ "windows": windows }),
    )
}

/// One threshold of a phase.
enum Threshold<'t> {
    Errors(&'t crate::scenario::Threshold<config_yaml::units::Percent>),
    Latency(&'t crate::scenario::StatThreshold),
}

fn phase_checks(
    phase: &str,
    thresholds: &ClientThresholds,
    mut check: impl FnMut(&str, Threshold<'_>) -> Check,
) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(t) = &thresholds.errors {
        out.push(check(&format!("{phase}.errors"), Threshold::Errors(t)));
    }
    if let Some(t) = &thresholds.latency {
        out.push(check(&format!("{phase}.latency"), Threshold::Latency(t)));
    }
    out
}

fn unresolved(name: &str, t: Threshold<'_>, missing: &MissingEvidence) -> Check {
    let threshold = match t {
        Threshold::Errors(t) => t.to_string(),
        Threshold::Latency(t) => t.to_string(),
    };
    Check::inconclusive(name, threshold, missing, None, serde_json::Value::Null)
}
