//! Placeholder checks: every templated string (the gateway config template, gateway args and
//! env, trace attributes, command argv) is parsed and each placeholder resolved against the
//! upstreams; and the gateway config, rendered with stand-in addresses, is probed for the
//! routes and upstreams objectives refer to.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use config_yaml::{Document, FieldPath, Location, units};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::plan::Upstream;
use super::report::{Report, did_you_mean, one_of};
use super::template::{Placeholder, Template, Topology};
use super::upstreams::Upstreams;

/// The parts of the gateway config that scenario checks rely on.
#[derive(Debug, Default)]
pub(crate) struct GatewayProbe {
    /// The template file, as diagnostics name it.
    pub(crate) source: String,
    /// Upstream names, with the breaker's `open_for` when the config sets it.
    pub(crate) upstreams: BTreeMap<String, Option<Duration>>,
    /// Route names, with whether the route sets `fault.header_control: true`.
    pub(crate) routes: Vec<(String, bool)>,
}

/// Which placeholders a string may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Gateway config, gateway args and env, trace attributes, command faults:
    /// `{{upstream.*}}`, `{{endpoints.*}}`, `{{otlp}}`, `{{run_dir}}`.
    Topology,
    /// A `command` upstream's arguments and env: `{{port}}`, `{{run_dir}}`.
    Process,
}

/// Reads and checks the config template; reads the routes and upstreams it declares.
pub(crate) fn config_template(
    report: &mut Report<'_>,
    path: FieldPath,
    file: &Path,
    upstreams: &Upstreams,
) -> (Option<Template>, Option<GatewayProbe>) {
    let source = file.display().to_string();
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            report
                .invalid(
                    path,
                    format!("cannot read the gateway config template {source}: {e}"),
                    "a gateway config file, relative to this scenario file",
                )
                .value = None;
            return (None, None);
        }
    };
    let before = report.count();
    let parsed = Template::parse(&text);
    for f in &parsed.found {
        if let Some(p) = problem(&f.placeholder, upstreams, Scope::Topology) {
            let location = Location::new(f.line, f.column);
            let d = report.elsewhere(&source, location, path.clone(), p.problem);
            d.value = Some(format!("{:?}", f.text));
            d.expected = Some(p.expected);
            d.hint = p.hint;
        }
    }
    for m in &parsed.malformed {
        let location = Location::new(m.line, m.column);
        let (problem, hint) = if m.closed {
            ("unknown placeholder", None)
        } else {
            (
                "unclosed placeholder",
                Some("close it with `}}`".to_owned()),
            )
        };
        let d = report.elsewhere(&source, location, path.clone(), problem);
        d.value = Some(format!("{:?}", m.text));
        d.expected = Some(Placeholder::FORMS.to_owned());
        d.hint = hint;
    }
    let template = parsed.template;
    if report.count() > before {
        return (None, None);
    }
    let probe = probe(report, &source, &template, upstreams);
    (Some(template), probe)
}

/// Renders the template with stand-in addresses and reads the gateway's routes and upstreams.
/// A template that does not render to YAML is reported; one that is YAML but not a config the
/// probe understands is left to `gateway validate`.
fn probe(
    report: &mut Report<'_>,
    source: &str,
    template: &Template,
    upstreams: &Upstreams,
) -> Option<GatewayProbe> {
    #[derive(Deserialize)]
    struct ProbeConfig {
        #[serde(default)]
        upstreams: BTreeMap<String, ProbeUpstream>,
        #[serde(default)]
        routes: Vec<ProbeRoute>,
        #[serde(flatten)]
        _rest: BTreeMap<String, IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct ProbeUpstream {
        circuit_breaker: Option<ProbeBreaker>,
        #[serde(flatten)]
        _rest: BTreeMap<String, IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct ProbeBreaker {
        open_for: Option<units::Duration>,
        #[serde(flatten)]
        _rest: BTreeMap<String, IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct ProbeRoute {
        name: Option<String>,
        fault: Option<ProbeFault>,
        #[serde(flatten)]
        _rest: BTreeMap<String, IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct ProbeFault {
        header_control: Option<bool>,
        #[serde(flatten)]
        _rest: BTreeMap<String, IgnoredAny>,
    }

    let stand_in = Topology {
        upstreams: upstreams
            .iter()
            .map(|(name, up)| {
                let n = up.as_ref().map_or(1, Upstream::instances);
                (
                    name.clone(),
                    (0..n).map(|_| "127.0.0.1:1".to_owned()).collect(),
                )
            })
            .collect(),
        otlp: "http://127.0.0.1:4318".to_owned(),
        run_dir: PathBuf::from("/tmp/chaos-run"),
    };
    let rendered = template.render(&stand_in).ok()?;
    let document = match Document::parse(source, &rendered) {
        Ok(document) => document,
        Err(diagnostics) => {
            for d in diagnostics {
                report.push(d);
            }
            return None;
        }
    };
    let config: ProbeConfig = document.deserialize().ok()?;
    Some(GatewayProbe {
        source: source.to_owned(),
        upstreams: config
            .upstreams
            .into_iter()
            .map(|(name, u)| {
                let open_for = u.circuit_breaker.and_then(|b| b.open_for).map(|d| d.get());
                (name, open_for)
            })
            .collect(),
        routes: config
            .routes
            .into_iter()
            .filter_map(|r| {
                let header_control = r.fault.and_then(|f| f.header_control).unwrap_or(false);
                r.name.map(|name| (name, header_control))
            })
            .collect(),
    })
}

/// Parses a templated scenario string and checks each placeholder against the upstreams.
pub(crate) fn template(
    report: &mut Report<'_>,
    upstreams: &Upstreams,
    scope: Scope,
    text: &str,
    path: FieldPath,
) -> Option<Template> {
    let forms = match scope {
        Scope::Topology => Placeholder::FORMS,
        Scope::Process => "{{port}}, {{run_dir}}",
    };
    let before = report.count();
    let parsed = Template::parse(text);
    for f in parsed.found {
        if let Some(p) = problem(&f.placeholder, upstreams, scope) {
            report.invalid(path.clone(), p.problem, p.expected).hint = p.hint;
        }
    }
    for m in parsed.malformed {
        let problem = if m.closed {
            format!("unknown placeholder `{}`", m.text)
        } else {
            format!("unclosed placeholder `{}`", m.text)
        };
        report.invalid(path.clone(), problem, forms);
    }
    (report.count() == before).then_some(parsed.template)
}

/// What is wrong with a placeholder.
struct PlaceholderProblem {
    problem: String,
    expected: String,
    hint: Option<String>,
}

/// What is wrong with a placeholder in `scope`, if anything.
fn problem(p: &Placeholder, upstreams: &Upstreams, scope: Scope) -> Option<PlaceholderProblem> {
    let found = |problem: String, expected: String| {
        Some(PlaceholderProblem {
            problem,
            expected,
            hint: None,
        })
    };
    let unavailable = |forms: &str| found(format!("`{p}` is not available here"), forms.to_owned());
    match (scope, p) {
        (Scope::Process, Placeholder::Port | Placeholder::RunDir) => return None,
        (Scope::Process, _) => return unavailable("{{port}}, {{run_dir}}"),
        (Scope::Topology, Placeholder::Port) => return unavailable(Placeholder::FORMS),
        (Scope::Topology, Placeholder::Otlp | Placeholder::RunDir) => return None,
        (Scope::Topology, Placeholder::Upstream { .. } | Placeholder::Endpoints(_)) => {}
    }
    let name = p.upstream()?;
    let Some(upstream) = upstreams.get(name) else {
        return Some(PlaceholderProblem {
            problem: format!("unknown upstream `{name}` in `{p}`"),
            expected: one_of(upstreams.keys().map(String::as_str)),
            hint: did_you_mean(name, upstreams.keys().map(String::as_str)),
        });
    };
    let n = upstream.as_ref()?.instances();
    match p {
        Placeholder::Upstream { replica: None, .. } if n > 1 => found(
            format!("upstream `{name}` has {n} replicas"),
            format!(
                "`{{{{upstream.{name}.N}}}}` for one (N from 0 to {}), or `{{{{endpoints.{name}}}}}` for all",
                n - 1
            ),
        ),
        Placeholder::Upstream {
            replica: Some(r), ..
        } if *r >= n => found(
            format!("no replica {r} of upstream `{name}`"),
            format!("a replica from 0 to {}", n - 1),
        ),
        _ => None,
    }
}

/// `path` without `.` and with each `..` folded into its parent where there is one, without
/// touching the file system (so diagnostics name `scenarios/../gw.yaml` as `gw.yaml`).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
