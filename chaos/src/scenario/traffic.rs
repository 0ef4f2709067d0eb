//! `load:` → [`LoadInput`]: the scenario's traffic in the load generator's terms, checked by
//! [`LoadSpec::validate`] with each of its problems mapped back to the scenario field it is
//! about.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use config_yaml::FieldPath;
use config_yaml::units::Rate as RateUnit;

use super::raw::{RawLoad, RawRequest, RawStage};
use super::report::Report;
use crate::load::{LoadInput, LoadSpec, Rate, RequestInput, SpecError, SpecProblem, Stage};

/// The load generator's target while the gateway's address is unknown (spawned gateway).
pub(crate) const SPAWNED_TARGET: &str = "http://127.0.0.1:0";

/// Where the load goes: the attached gateway's URL (with its field, for problems), or
/// [`SPAWNED_TARGET`].
pub(crate) struct LoadTarget {
    pub(crate) url: String,
    pub(crate) path: Option<FieldPath>,
}

/// How each mix entry maps back to the scenario: its index under `requests`, its method key
/// and its header names in the order given to the generator.
struct MixSource {
    index: usize,
    method: &'static str,
    headers: Vec<String>,
}

/// Validates `load`.
pub(crate) fn load(
    report: &mut Report<'_>,
    raw: Option<&RawLoad>,
    seed: u64,
    target: &LoadTarget,
) -> Option<LoadInput> {
    let path = FieldPath::root().key("load");
    let Some(raw) = raw else {
        report.missing(
            &FieldPath::root(),
            "load",
            "the traffic: `rate`, `duration`, `requests`",
        );
        return None;
    };
    let before = report.count();
    let (rate, duration) = rate_and_duration(report, &path, raw);
    let (mix, sources) = mix(report, &path, raw.requests.as_deref());

    // A stand-in for a rate or duration already reported keeps the rest of the checks going.
    let stand_in = rate.is_none() || duration.is_none();
    let mut input = LoadInput::new(
        target.url.clone(),
        rate.unwrap_or(Rate::Constant { per_second: 1.0 }),
        duration.unwrap_or(Duration::from_secs(1)),
    );
    input.mix = mix;
    input.seed = seed;
    input.max_in_flight = raw.max_in_flight;
    input.timeout = raw.timeout.map(|d| d.get());
    input.sample_traces = raw.sample_traces.map(|p| p.ratio());
    if let Err(errors) = LoadSpec::validate(input.clone()) {
        for error in errors {
            let skip = stand_in && (error.path.starts_with("rate") || error.path == "duration");
            if !skip {
                spec_error(report, &path, raw, &sources, target, &error);
            }
        }
    }
    (report.count() == before).then_some(input)
}

/// The offered rate and the load's duration (with a ramp, the sum of its stages).
fn rate_and_duration(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: &RawLoad,
) -> (Option<Rate>, Option<Duration>) {
    match (&raw.rate, &raw.ramp) {
        (Some(_), Some(_)) => {
            report.invalid(
                path.key("ramp"),
                "`rate` and `ramp` are exclusive",
                "`rate` with `duration` for a constant rate, or `ramp` alone",
            );
            (None, None)
        }
        (None, None) => {
            report
                .missing(
                    path,
                    "rate",
                    "a constant rate such as `200/s` (with `duration`), or `ramp`",
                )
                .value = None;
            (None, raw.duration.map(|d| d.get()))
        }
        (Some(rate), None) => {
            let duration = raw.duration.map(|d| d.get());
            if duration.is_none() {
                report
                    .missing(path, "duration", "how long the load runs, e.g. `30s`")
                    .value = None;
            }
            (
                Some(Rate::Constant {
                    per_second: rate.per_second(),
                }),
                duration,
            )
        }
        (None, Some(stages)) => {
            let Some(stages) = ramp(report, &path.key("ramp"), stages) else {
                return (None, None);
            };
            let total = stages.iter().map(|s| s.duration).sum::<Duration>();
            if let Some(written) = raw.duration
                && written.get() != total
            {
                report.invalid(
                    path.key("duration"),
                    "`duration` differs from the sum of the ramp's stages",
                    format!(
                        "{} (or leave `duration` out)",
                        config_yaml::units::Duration::new(total)
                    ),
                );
            }
            (Some(Rate::Ramp(stages)), Some(total))
        }
    }
}

fn ramp(report: &mut Report<'_>, path: &FieldPath, raw: &[RawStage]) -> Option<Vec<Stage>> {
    if raw.is_empty() {
        report.invalid(path.clone(), "empty ramp", "at least one stage");
        return None;
    }
    let before = report.count();
    let mut stages = Vec::with_capacity(raw.len());
    let mut rate = 0.0;
    for (i, stage) in raw.iter().enumerate() {
        let at = path.index(i);
        let forms = "`{ to: RATE, over: DURATION }` or `{ hold: DURATION }`";
        match (&stage.to, stage.over, stage.hold) {
            (Some(to), Some(over), None) => {
                let Some(to) = ramp_rate(report, at.key("to"), to) else {
                    continue;
                };
                stages.push(Stage {
                    rate_from: rate,
                    rate_to: to,
                    duration: over.get(),
                });
                rate = to;
            }
            (None, None, Some(hold)) => {
                stages.push(Stage {
                    rate_from: rate,
                    rate_to: rate,
                    duration: hold.get(),
                });
            }
            (Some(_), None, None) => {
                report
                    .missing(&at, "over", "how long the change takes, e.g. `10s`")
                    .value = None;
            }
            (None, Some(_), None) => {
                report
                    .missing(&at, "to", "the rate reached, e.g. `200/s`")
                    .value = None;
            }
            (None, None, None) => {
                report.invalid(at, "empty stage", forms).value = None;
            }
            (_, _, Some(_)) => {
                report.invalid(at.key("hold"), "`hold` stands alone", forms);
            }
        }
    }
    (report.count() == before).then_some(stages)
}

/// A ramp stage's rate: a [`RateUnit`], or zero (`0/s`) for a ramp down.
fn ramp_rate(report: &mut Report<'_>, path: FieldPath, text: &str) -> Option<f64> {
    if matches!(text.split_once('/'), Some((n, "s" | "m" | "h")) if n.parse::<f64>() == Ok(0.0)) {
        return Some(0.0);
    }
    match text.parse::<RateUnit>() {
        Ok(rate) => Some(rate.per_second()),
        Err(e) => {
            report.unit(path, &e);
            None
        }
    }
}

fn mix(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: Option<&[RawRequest]>,
) -> (Vec<RequestInput>, Vec<MixSource>) {
    let Some(raw) = raw else {
        report
            .missing(
                path,
                "requests",
                "the request mix, e.g. `- { get: /api/users/42 }`",
            )
            .value = None;
        return (Vec::new(), Vec::new());
    };
    let methods = "exactly one of: get, post, put, delete, patch, head (holding the path)";
    let mut mix = Vec::with_capacity(raw.len());
    let mut sources = Vec::with_capacity(raw.len());
    for (index, request) in raw.iter().enumerate() {
        let at = path.key("requests").index(index);
        let (method, request_path) = match request.methods().as_slice() {
            [] => {
                report.invalid(at, "missing method", methods).value = None;
                continue;
            }
            [_, (second, _), ..] => {
                report.invalid(at.key(*second), "several methods in one request", methods);
                continue;
            }
            [(method, p)] => (*method, *p),
        };
        let headers: BTreeMap<&String, &String> = request.headers.iter().flatten().collect();
        let mut input = RequestInput::new(method.to_ascii_uppercase(), request_path);
        input.headers = headers
            .iter()
            .map(|(k, v)| ((*k).clone(), (*v).clone()))
            .collect();
        input.body = request.body.clone().map(Bytes::from).unwrap_or_default();
        input.weight = request.weight.unwrap_or(1);
        mix.push(input);
        sources.push(MixSource {
            index,
            method,
            headers: headers.keys().map(|k| (*k).clone()).collect(),
        });
    }
    (mix, sources)
}

/// Reports one [`SpecError`] at the scenario field it is about.
fn spec_error(
    report: &mut Report<'_>,
    load: &FieldPath,
    raw: &RawLoad,
    sources: &[MixSource],
    target: &LoadTarget,
    error: &SpecError,
) {
    let ramp = raw.ramp.as_deref().unwrap_or_default();
    let field = error.path.as_str();
    let path = if field == "target" {
        target
            .path
            .clone()
            .unwrap_or_else(|| FieldPath::root().key("system"))
    } else if field == "rate.per_second" || (field == "rate" && raw.ramp.is_none()) {
        load.key("rate")
    } else if field.starts_with("rate") {
        ramp_path(load, ramp, field)
    } else if field == "duration" {
        load.key(if raw.ramp.is_some() {
            "ramp"
        } else {
            "duration"
        })
    } else if let Some(rest) = field.strip_prefix("mix[") {
        mix_path(load, sources, rest)
    } else if field == "mix" {
        load.key("requests")
    } else {
        load.key(field)
    };
    let (problem, expected, hint) = describe(&error.problem);
    let diagnostic = report.invalid(path, problem, expected);
    diagnostic.hint = hint;
}

/// `rate.stages[i].rate_to` → `load.ramp[i].to`, `...duration` → `.over` or `.hold`.
fn ramp_path(load: &FieldPath, ramp: &[RawStage], field: &str) -> FieldPath {
    let ramp_path = load.key("ramp");
    let Some(rest) = field.strip_prefix("rate.stages[") else {
        return ramp_path;
    };
    let Some((index, leaf)) = rest.split_once("].") else {
        return ramp_path;
    };
    let Ok(index) = index.parse::<usize>() else {
        return ramp_path;
    };
    match (leaf, ramp.get(index)) {
        ("duration", Some(stage)) if stage.hold.is_some() => ramp_path.index(index).key("hold"),
        ("duration", _) => ramp_path.index(index).key("over"),
        // A stage starts where the previous one ended: its `to` is the culprit.
        ("rate_from", _) if index > 0 => ramp_path.index(index - 1).key("to"),
        _ => ramp_path.index(index).key("to"),
    }
}

/// `mix[i].path` → `load.requests[j].<method>`, `mix[i].headers[k]` → `...headers.<name>`.
fn mix_path(load: &FieldPath, sources: &[MixSource], rest: &str) -> FieldPath {
    let requests = load.key("requests");
    let Some((index, leaf)) = rest.split_once("].") else {
        return requests;
    };
    let Some(source) = index.parse::<usize>().ok().and_then(|i| sources.get(i)) else {
        return requests;
    };
    let at = requests.index(source.index);
    if leaf == "path" || leaf == "method" {
        return at.key(source.method);
    }
    if let Some(header) = leaf
        .strip_prefix("headers[")
        .and_then(|h| h.strip_suffix(']'))
    {
        let name = header
            .parse::<usize>()
            .ok()
            .and_then(|k| source.headers.get(k));
        return match name {
            Some(name) => at.key("headers").key(name.as_str()),
            None => at.key("headers"),
        };
    }
    at.key(leaf)
}

/// A [`SpecProblem`] as (problem, expected, hint).
fn describe(problem: &SpecProblem) -> (String, String, Option<String>) {
    let plain = |p: &str, e: String| (p.to_owned(), e, None);
    match problem {
        SpecProblem::Target { expected, .. } => plain(
            "invalid gateway URL for the load",
            format!("a base URL like http://127.0.0.1:8080 ({expected})"),
        ),
        SpecProblem::Rate { range, .. } => {
            plain("rate out of range", format!("a rate {range} requests/s"))
        }
        SpecProblem::NoStages => plain("empty ramp", "at least one stage".to_owned()),
        SpecProblem::ZeroDuration => plain("zero duration", "a duration above 0".to_owned()),
        SpecProblem::RequestCount { planned, max } => (
            format!("the rate and duration plan {planned} requests"),
            format!("1 to {max} requests"),
            Some("change the rate or the duration".to_owned()),
        ),
        SpecProblem::EmptyMix => plain(
            "no requests",
            "at least one request, e.g. `- { get: /api/users/42 }`".to_owned(),
        ),
        SpecProblem::ZeroWeight => plain("weight out of range", "at least 1".to_owned()),
        SpecProblem::Method { .. } => plain("invalid method", "an HTTP method".to_owned()),
        SpecProblem::Path { .. } => plain(
            "invalid path",
            "a path starting with / (a query is allowed)".to_owned(),
        ),
        SpecProblem::HeaderName { .. } => {
            plain("invalid header name", "a header name token".to_owned())
        }
        SpecProblem::HeaderValue { name } => plain(
            "invalid header value",
            format!("visible ASCII characters for header `{name}`"),
        ),
        SpecProblem::ReservedHeader { name } => (
            format!("header `{name}` is set by the load generator"),
            "any other header".to_owned(),
            Some("remove it".to_owned()),
        ),
        SpecProblem::ZeroInFlight => {
            plain("out of range", "at least 1 request in flight".to_owned())
        }
        SpecProblem::SampleShare { .. } => plain("out of range", "0% to 100%".to_owned()),
    }
}
