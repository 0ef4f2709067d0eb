//! What objectives and guards refer to: faults, upstreams, points in time and windows, and
//! thresholds; each resolved or reported where it is written.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use config_yaml::FieldPath;
use config_yaml::units;

use super::fault::{FaultPlan, Target};
use super::placeholders::GatewayProbe;
use super::plan::{MetricsBackend, resolve_window};
use super::raw::{NameOr, RawWindow};
use super::report::{Report, did_you_mean, one_of};
use super::threshold::ThresholdError;
use super::upstreams::Upstreams;
use super::window::{Anchor, TimeRef, Window};

const WINDOW_FORMS: &str = "`before`, `after`, `whole`, or `{ from: REF, to: REF }`";

/// What objective checks need to know about the rest of the scenario.
pub(crate) struct Context<'a> {
    pub(crate) upstreams: &'a Upstreams,
    pub(crate) duration: Option<Duration>,
    /// Valid faults.
    pub(crate) faults: &'a [FaultPlan],
    /// Every fault name declared, valid or not.
    pub(crate) declared: &'a BTreeSet<String>,
    pub(crate) metrics: Option<&'a MetricsBackend>,
    pub(crate) probe: Option<&'a GatewayProbe>,
}

/// A required threshold field.
pub(crate) fn required<T: FromStr<Err = ThresholdError>>(
    report: &mut Report<'_>,
    parent: &FieldPath,
    key: &str,
    text: Option<&str>,
    example: &str,
) -> Option<T> {
    match text {
        Some(text) => threshold(report, parent.key(key), text),
        None => {
            report
                .missing(parent, key, format!("a threshold, e.g. {example}"))
                .value = None;
            None
        }
    }
}

/// A threshold, reported at `path` with what is allowed.
pub(crate) fn threshold<T: FromStr<Err = ThresholdError>>(
    report: &mut Report<'_>,
    path: FieldPath,
    text: &str,
) -> Option<T> {
    match text.parse() {
        Ok(t) => Some(t),
        Err(e) => {
            let ThresholdError {
                problem,
                expected,
                hint,
            } = e;
            report
                .invalid(path, format!("invalid threshold: {problem}"), expected)
                .hint = hint;
            None
        }
    }
}

/// The window of an objective: `during: FAULT` or `window:`, default `whole`.
pub(crate) fn window(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    parent: &FieldPath,
    during: Option<&str>,
    raw: Option<&RawWindow>,
) -> Option<Window> {
    let (window, path) = match (during, raw) {
        (Some(_), Some(_)) => {
            report.invalid(
                parent.key("window"),
                "`during` and `window` are exclusive",
                "one window",
            );
            return None;
        }
        (None, None) => (Window::Whole, parent.clone()),
        (Some(name), None) => (
            Window::During(fault(report, ctx, parent.key("during"), name)?),
            parent.key("during"),
        ),
        (None, Some(NameOr::Name(name))) => {
            let path = parent.key("window");
            let window = match name.as_str() {
                "before" => Window::Before,
                "after" => Window::After,
                "whole" => Window::Whole,
                other => {
                    let hint = ctx
                        .declared
                        .contains(other)
                        .then(|| format!("write `during: {other}` for a fault's window"));
                    report.invalid(path, "unknown window", WINDOW_FORMS).hint = hint;
                    return None;
                }
            };
            (window, path)
        }
        (None, Some(NameOr::Map(range))) => {
            let path = parent.key("window");
            let from = match &range.from {
                Some(text) => time_ref(report, ctx, path.key("from"), text),
                None => {
                    report.missing(&path, "from", TimeRef::EXPECTED).value = None;
                    None
                }
            };
            let to = match &range.to {
                Some(text) => time_ref(report, ctx, path.key("to"), text),
                None => {
                    report.missing(&path, "to", TimeRef::EXPECTED).value = None;
                    None
                }
            };
            (
                Window::Range {
                    from: from?,
                    to: to?,
                },
                path,
            )
        }
    };
    check_window(report, ctx, path, &window).then_some(window)
}

/// Whether the window holds some time within the load (unknown when the load or a fault it
/// names is invalid: then it passes, the cause being reported already).
pub(crate) fn check_window(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    path: FieldPath,
    window: &Window,
) -> bool {
    let Some(duration) = ctx.duration else {
        return true;
    };
    if window
        .faults()
        .iter()
        .any(|f| !ctx.faults.iter().any(|p| p.name == *f))
    {
        return true;
    }
    let load = units::Duration::new(duration);
    let Some(interval) = resolve_window(window, ctx.faults, duration) else {
        report
            .invalid(
                path,
                format!("window `{window}` starts before the load"),
                format!("a window within the load (0s to {load})"),
            )
            .value = None;
        return false;
    };
    let problem = if interval.end > duration {
        format!(
            "window `{window}` ends at {} after the load ends",
            units::Duration::new(interval.end)
        )
    } else if interval.is_empty() {
        format!("window `{window}` is empty ({interval})")
    } else {
        return true;
    };
    report
        .invalid(
            path,
            problem,
            format!("a window holding some time within the load (0s to {load})"),
        )
        .value = None;
    false
}

pub(crate) fn during(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    parent: &FieldPath,
    name: Option<&str>,
) -> Option<String> {
    let Some(name) = name else {
        report
            .missing(parent, "during", "the fault whose window is judged")
            .value = None;
        return None;
    };
    let name = fault(report, ctx, parent.key("during"), name)?;
    check_window(
        report,
        ctx,
        parent.key("during"),
        &Window::During(name.clone()),
    )
    .then_some(name)
}

/// A reference to a declared fault.
pub(crate) fn fault(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    path: FieldPath,
    name: &str,
) -> Option<String> {
    if ctx.declared.contains(name) {
        return Some(name.to_owned());
    }
    let names = ctx.declared.iter().map(String::as_str);
    let hint = did_you_mean(name, names.clone());
    report.invalid(path, "unknown fault", one_of(names)).hint = hint;
    None
}

pub(crate) fn time_ref(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    path: FieldPath,
    text: &str,
) -> Option<TimeRef> {
    let at = match TimeRef::parse(text) {
        Ok(at) => at,
        Err(e) => {
            report.invalid(path, e.problem, TimeRef::EXPECTED).hint = e.hint;
            return None;
        }
    };
    match &at.anchor {
        Anchor::FaultStart(name) | Anchor::FaultEnd(name) if !ctx.declared.contains(name) => {
            let names = ctx.declared.iter().map(String::as_str);
            let hint = did_you_mean(name, names.clone());
            report
                .invalid(path, format!("unknown fault `{name}`"), one_of(names))
                .hint = hint;
            None
        }
        _ => Some(at),
    }
}

/// An upstream or replica named by an objective.
pub(crate) fn target(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    path: FieldPath,
    text: &str,
) -> Option<Target> {
    let (name, replica) = match text.rsplit_once('.') {
        Some((name, n)) => (name, n.parse::<u32>().ok()),
        None => (text, None),
    };
    let Some(upstream) = ctx.upstreams.get(name) else {
        let names = ctx.upstreams.keys().map(String::as_str);
        let hint = did_you_mean(name, names.clone());
        report.invalid(path, "unknown upstream", one_of(names)).hint = hint;
        return None;
    };
    let count = upstream.as_ref().map_or(u32::MAX, |u| u.instances());
    if text.contains('.') && replica.is_none_or(|r| r >= count) {
        report.invalid(
            path,
            "no such replica",
            format!("{name}.N with N from 0 to {}", count.saturating_sub(1)),
        );
        return None;
    }
    Some(Target {
        upstream: name.to_owned(),
        replica,
    })
}
