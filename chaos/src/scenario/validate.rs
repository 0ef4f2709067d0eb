//! `raw` → [`Plan`]: the only place a plan is made. Every problem is reported at once, each
//! with its field path, the value received, what is allowed and file:line:col.
//!
//! Order of the steps: `system` first (fault targets, placeholders and objectives refer to its
//! upstreams), then `load` (every time on the timeline is checked against its duration), then
//! `faults`, `guards` and `expect`. A part with problems is left out of the later checks that
//! depend on it, so one mistake is reported once, not again by every reference to it.

use std::collections::BTreeSet;
use std::path::Path;

use config_yaml::{Diagnostics, Document, FieldPath};

use super::faults::{FaultContext, faults};
use super::guards::guards;
use super::objectives::objectives;
use super::plan::{Gateway, Plan, System};
use super::raw::RawScenario;
use super::references::Context;
use super::report::{NAME_RULE, Report, is_name};
use super::system::system;
use super::traffic::{LoadTarget, SPAWNED_TARGET, load};

/// Validates a deserialized scenario; `document` locates problems, `file` is the scenario's
/// path (files it names are relative to its folder).
pub(crate) fn validate(
    document: &Document,
    raw: RawScenario,
    file: &Path,
) -> Result<Plan, Diagnostics> {
    let mut report = Report::new(document);
    let root = FieldPath::root();
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();

    match raw.name.as_deref() {
        None => {
            report
                .missing(&root, "name", format!("the drill's name ({NAME_RULE})"))
                .value = None;
        }
        Some(name) if !is_name(name) => {
            report.invalid(root.key("name"), "invalid scenario name", NAME_RULE);
        }
        Some(_) => {}
    }
    match raw.description.as_deref().map(str::trim) {
        None => {
            report
                .missing(
                    &root,
                    "description",
                    "one sentence: what fails and what must hold",
                )
                .value = None;
        }
        Some("") => {
            report.invalid(
                root.key("description"),
                "empty description",
                "one sentence: what fails and what must hold",
            );
        }
        Some(_) => {}
    }
    let mut seen = BTreeSet::new();
    for (i, tag) in raw.tags.iter().enumerate() {
        if tag.is_empty() || tag.contains(|c: char| c.is_whitespace() || c == ',') {
            report.invalid(
                root.key("tags").index(i),
                "invalid tag",
                "a non-empty label without spaces or commas",
            );
        } else if !seen.insert(tag.as_str()) {
            report.invalid(root.key("tags").index(i), "duplicate tag", "each tag once");
        }
    }
    let seed = raw.seed.unwrap_or(1);

    let system = system(&mut report, raw.system.as_ref(), &base_dir);
    let target = match &system.gateway {
        Some(Gateway::Attach(attach)) => LoadTarget {
            url: attach.url.to_string(),
            path: Some(root.key("system").key("gateway").key("url")),
        },
        _ => LoadTarget {
            url: SPAWNED_TARGET.to_owned(),
            path: None,
        },
    };
    let load = load(&mut report, raw.load.as_ref(), seed, &target);
    let duration = load.as_ref().map(|l| l.duration);

    let fault_ctx = FaultContext {
        upstreams: &system.upstreams,
        duration,
        probe: system.probe.as_ref(),
    };
    let fault_parts = faults(&mut report, &fault_ctx, &raw.faults);
    let plans: Vec<_> = fault_parts
        .plans
        .iter()
        .map(|(_, plan)| plan.clone())
        .collect();
    let ctx = Context {
        upstreams: &system.upstreams,
        duration,
        faults: &plans,
        declared: &fault_parts.declared,
        metrics: system.backends.as_ref().map(|b| &b.metrics),
        probe: system.probe.as_ref(),
    };
    let guards = guards(&mut report, &ctx, &raw.guards);
    let objectives = objectives(&mut report, &ctx, &raw.expect);

    let upstreams = system
        .upstreams
        .into_iter()
        .map(|(name, up)| up.map(|up| (name, up)))
        .collect::<Option<_>>();
    let parts = (
        raw.name,
        raw.description,
        system.gateway,
        upstreams,
        system.backends,
        load,
    );
    match parts {
        (
            Some(name),
            Some(description),
            Some(gateway),
            Some(upstreams),
            Some(backends),
            Some(load),
        ) if report.count() == 0 => Ok(Plan {
            source: file.to_path_buf(),
            name,
            description,
            tags: raw.tags,
            seed,
            system: System {
                gateway,
                upstreams,
                backends,
            },
            load,
            faults: plans,
            guards,
            objectives,
        }),
        _ => {
            if report.count() == 0 {
                // Unreachable in practice: every part left out above was reported.
                report.invalid(
                    root,
                    "the scenario could not be validated",
                    "a valid scenario",
                );
            }
            Err(report.finish())
        }
    }
}
