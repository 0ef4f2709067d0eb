//! `faults:` → [`FaultPlan`]s: names, the timeline, and each entry's single kind (built in
//! `kinds`); then the overlaps between valid faults (`overlaps`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use config_yaml::FieldPath;
use config_yaml::units;

use super::catalog::Kind;
use super::fault::{FaultPlan, FaultWindow};
use super::kinds::fault_kind;
use super::overlaps::overlaps;
use super::placeholders::GatewayProbe;
use super::raw::{FAULT_KEYS, RawFault};
use super::report::{NAME_RULE, Report, did_you_mean, is_name, one_of};
use super::upstreams::Upstreams;

/// What fault checks need to know about the rest of the scenario.
pub(crate) struct FaultContext<'a> {
    pub(crate) upstreams: &'a Upstreams,
    /// The load's duration, when the load is valid.
    pub(crate) duration: Option<Duration>,
    /// The spawned gateway's config, when it could be read.
    pub(crate) probe: Option<&'a GatewayProbe>,
}

/// The validated faults, with their index in `faults`, and every name declared (including
/// those of invalid faults, so references to them are not reported again).
pub(crate) struct FaultParts {
    pub(crate) plans: Vec<(usize, FaultPlan)>,
    pub(crate) declared: BTreeSet<String>,
}

/// Validates every fault entry, then the overlaps between valid ones.
pub(crate) fn faults(
    report: &mut Report<'_>,
    ctx: &FaultContext<'_>,
    raw: &[RawFault],
) -> FaultParts {
    let mut parts = FaultParts {
        plans: Vec::new(),
        declared: BTreeSet::new(),
    };
    let mut first_index = BTreeMap::new();
    for (i, fault) in raw.iter().enumerate() {
        let path = FieldPath::root().key("faults").index(i);
        if let Some(name) = &fault.name {
            if let Some(first) = first_index.get(name) {
                report
                    .invalid(
                        path.key("name"),
                        "duplicate fault name",
                        "a name no other fault uses",
                    )
                    .hint = Some(format!("faults[{first}] is named `{name}` too"));
            } else {
                first_index.insert(name.clone(), i);
            }
            parts.declared.insert(name.clone());
        }
        if let Some(plan) = fault_entry(report, ctx, &path, fault) {
            parts.plans.push((i, plan));
        }
    }
    if let Some(duration) = ctx.duration {
        overlaps(report, ctx, duration, &parts.plans);
    }
    parts
}

fn fault_entry(
    report: &mut Report<'_>,
    ctx: &FaultContext<'_>,
    path: &FieldPath,
    raw: &RawFault,
) -> Option<FaultPlan> {
    let before = report.count();
    let allowed: Vec<&str> = FAULT_KEYS
        .into_iter()
        .chain(Kind::ALL.map(Kind::name))
        .collect();
    for key in &raw.unknown {
        let d = report.invalid(
            path.key(key),
            format!("unknown field `{key}`"),
            one_of(allowed.iter().copied()),
        );
        d.value = None;
        d.hint = did_you_mean(key, allowed.iter().copied());
    }
    match raw.name.as_deref() {
        None => {
            report
                .missing(path, "name", format!("a unique name ({NAME_RULE})"))
                .value = None;
        }
        Some("load") => {
            report.invalid(
                path.key("name"),
                "reserved name",
                "any name but `load` (`load.start` and `load.end` are time references)",
            );
        }
        Some(name) if !is_name(name) => {
            report.invalid(path.key("name"), "invalid fault name", NAME_RULE);
        }
        Some(_) => {}
    }
    let window = match (raw.for_, raw.until.as_deref()) {
        (Some(_), Some(_)) => {
            report.invalid(
                path.key("until"),
                "`for` and `until` are exclusive",
                "`for: DURATION` or `until: end`",
            );
            None
        }
        (None, None) => {
            report
                .missing(path, "for", "the window: `for: DURATION` or `until: end`")
                .value = None;
            None
        }
        (Some(d), None) if d.get().is_zero() => {
            report.invalid(
                path.key("for"),
                "zero-length window",
                "a duration above 0, e.g. `10s`",
            );
            None
        }
        (Some(d), None) => Some(FaultWindow::For(d.get())),
        (None, Some("end")) => Some(FaultWindow::UntilEnd),
        (None, Some(_)) => {
            report.invalid(
                path.key("until"),
                "invalid value",
                "`end` (the end of the load)",
            );
            None
        }
    };
    let at = raw.at.map(|d| d.get());
    if at.is_none() {
        report
            .missing(
                path,
                "at",
                "when it starts, from the start of the load, e.g. `at: 5s`",
            )
            .value = None;
    }
    if let (Some(at), Some(duration)) = (at, ctx.duration) {
        timeline(report, path, at, window, duration);
    }
    let kind = match raw.kinds.as_slice() {
        [] => {
            let expected = format!("exactly one of: {}", Kind::names());
            report
                .invalid(path.clone(), "missing fault kind", expected)
                .value = None;
            None
        }
        [(first, _), (second, _), ..] => {
            let d = report.invalid(
                path.key(second.name()),
                format!(
                    "several fault kinds: `{}` and `{}`",
                    first.name(),
                    second.name()
                ),
                format!("exactly one of: {}", Kind::names()),
            );
            d.value = None;
            d.hint = Some("write one fault per entry".to_owned());
            None
        }
        [(kind, body)] => fault_kind(report, ctx, *kind, path.key(kind.name()), body),
    };
    match (raw.name.clone(), at, window, kind) {
        (Some(name), Some(at), Some(window), Some(kind)) if report.count() == before => {
            Some(FaultPlan {
                name,
                at,
                window,
                kind,
            })
        }
        _ => None,
    }
}

/// `at` within the load, and the window's end too.
fn timeline(
    report: &mut Report<'_>,
    path: &FieldPath,
    at: Duration,
    window: Option<FaultWindow>,
    duration: Duration,
) {
    let load = units::Duration::new(duration);
    if at >= duration {
        report.invalid(
            path.key("at"),
            "starts after the load ends",
            format!("less than the load's duration ({load})"),
        );
        return;
    }
    if let Some(FaultWindow::For(d)) = window
        && at.saturating_add(d) > duration
    {
        let left = units::Duration::new(duration - at);
        let d = report.invalid(
            path.key("for"),
            format!(
                "ends after the load ends (at {})",
                units::Duration::new(at.saturating_add(d))
            ),
            format!("at most {left} (the load runs {load})"),
        );
        d.hint = Some("shorten it, or write `until: end`".to_owned());
    }
}
