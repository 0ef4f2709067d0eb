//! `guards:` → [`Guard`]s: abort conditions checked while the drill runs.

use std::collections::BTreeSet;
use std::time::Duration;

use config_yaml::FieldPath;
use config_yaml::units;

use super::objective::{Guard, GuardCondition};
use super::raw::RawGuard;
use super::references::{Context, threshold};
use super::report::{NAME_RULE, Report, is_name};

const DEFAULT_GUARD_WINDOW: Duration = Duration::from_secs(1);

/// Validates `guards`.
pub(crate) fn guards(report: &mut Report<'_>, ctx: &Context<'_>, raw: &[RawGuard]) -> Vec<Guard> {
    let mut names = BTreeSet::new();
    let mut guards = Vec::new();
    for (i, g) in raw.iter().enumerate() {
        let path = FieldPath::root().key("guards").index(i);
        let before = report.count();
        match &g.name {
            None => {
                report
                    .missing(&path, "name", format!("a unique name ({NAME_RULE})"))
                    .value = None;
            }
            Some(name) if !is_name(name) => {
                report.invalid(path.key("name"), "invalid guard name", NAME_RULE);
            }
            Some(name) if !names.insert(name.clone()) => {
                report.invalid(
                    path.key("name"),
                    "duplicate guard name",
                    "a name no other guard uses",
                );
            }
            Some(_) => {}
        }
        let condition = match (&g.errors, &g.latency) {
            (Some(_), Some(_)) => {
                report.invalid(
                    path.key("latency"),
                    "`errors` and `latency` are exclusive",
                    "one condition per guard",
                );
                None
            }
            (None, None) => {
                let expected = "`errors: \"> 50%\"` or `latency: \"p(99) > 2s\"`";
                report.missing(&path, "errors", expected).value = None;
                None
            }
            (Some(text), None) => {
                threshold(report, path.key("errors"), text).map(GuardCondition::Errors)
            }
            (None, Some(text)) => {
                threshold(report, path.key("latency"), text).map(GuardCondition::Latency)
            }
        };
        let window = g.window.map_or(DEFAULT_GUARD_WINDOW, |d| d.get());
        if window.is_zero() {
            report.invalid(
                path.key("window"),
                "zero window",
                "a duration above 0, e.g. `2s`",
            );
        }
        let after = g.after.map_or(Duration::ZERO, |d| d.get());
        if let Some(duration) = ctx.duration
            && after >= duration
        {
            report.invalid(
                path.key("after"),
                "never checked: starts after the load ends",
                format!(
                    "less than the load's duration ({})",
                    units::Duration::new(duration)
                ),
            );
        }
        if let (Some(name), Some(condition)) = (g.name.clone(), condition)
            && report.count() == before
        {
            guards.push(Guard {
                name,
                condition,
                window,
                after,
            });
        }
    }
    guards
}
