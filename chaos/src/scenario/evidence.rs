//! The `trace` objective and the `metric` objective's `sample`: what selects spans and series,
//! checked against the names the gateway and `chaos upstream` emit
//! (`observability::names`), since a misspelt name would select nothing and pass vacuously.

use std::collections::BTreeMap;
use std::time::Duration;

use config_yaml::FieldPath;
use config_yaml::units;
use observability::names;

use super::objective::{MetricSource, SpanSelect, SpanStatus, TraceAggregate, TraceObjective};
use super::placeholders::{Scope, template};
use super::plan::resolve_window;
use super::raw::{RawSpanStatus, RawTrace};
use super::references::{Context, threshold, window};
use super::report::{Report, did_you_mean, one_of};

pub(crate) fn trace(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    path: FieldPath,
    t: &RawTrace,
) -> Option<TraceObjective> {
    let window = window(report, ctx, &path, t.during.as_deref(), t.window.as_ref());
    let select = match &t.select {
        None => {
            report
                .missing(
                    &path,
                    "select",
                    "`{ name: SPAN, service, attributes, status }`",
                )
                .value = None;
            None
        }
        Some(s) => {
            let at = path.key("select");
            let service = s.service.clone().unwrap_or_else(|| "gateway".to_owned());
            let name = match &s.name {
                None => {
                    report
                        .missing(&at, "name", "a span name, e.g. `upstream.attempt`")
                        .value = None;
                    None
                }
                Some(name) => {
                    // Spans of the gateway and of `chaos upstream` are known: a typo there would
                    // select nothing and pass `count: "== 0"` vacuously.
                    let builtin = ctx.upstreams.values().flatten().any(|u| {
                        matches!(u.source, super::plan::UpstreamSource::Builtin(_))
                            && (0..u.instances()).any(|n| u.instance_name(n) == service)
                    });
                    if (service == "gateway" || builtin) && !KNOWN_SPANS.contains(&name.as_str()) {
                        let hint = did_you_mean(name, KNOWN_SPANS);
                        report
                            .invalid(
                                at.key("name"),
                                format!("unknown span name for service `{service}`"),
                                one_of(KNOWN_SPANS),
                            )
                            .hint = hint;
                    }
                    Some(name.clone())
                }
            };
            let attributes: BTreeMap<_, _> = s
                .attributes
                .iter()
                .filter_map(|(k, v)| {
                    let t = template(
                        report,
                        ctx.upstreams,
                        Scope::Topology,
                        v,
                        at.key("attributes").key(k),
                    )?;
                    Some((k.clone(), t))
                })
                .collect();
            let status = s.status.map(|s| match s {
                RawSpanStatus::Ok => SpanStatus::Ok,
                RawSpanStatus::Error => SpanStatus::Error,
                RawSpanStatus::Unset => SpanStatus::Unset,
            });
            name.map(|name| SpanSelect {
                service,
                name,
                attributes,
                status,
            })
        }
    };
    let aggregates = [
        ("count", &t.count),
        ("ratio", &t.ratio),
        ("duration", &t.duration),
    ];
    let written: Vec<(&str, &String)> = aggregates
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .collect();
    let aggregate = match written.as_slice() {
        [] => {
            report
                .missing(
                    &path,
                    "count",
                    "one of `count: \"== 0\"`, `ratio: \">= 99%\"`, `duration: \"p(99) < 250ms\"`",
                )
                .value = None;
            None
        }
        [_, (second, _), ..] => {
            report.invalid(
                path.key(*second),
                "one aggregate per trace objective",
                "one of `count`, `ratio`, `duration`",
            );
            None
        }
        [("count", text)] => threshold(report, path.key("count"), text).map(TraceAggregate::Count),
        [("ratio", text)] => threshold(report, path.key("ratio"), text).map(TraceAggregate::Ratio),
        [(_, text)] => threshold(report, path.key("duration"), text).map(TraceAggregate::Duration),
    };
    let after = t.after.map_or(Duration::ZERO, |d| d.get());
    if let (Some(w), Some(duration)) = (&window, ctx.duration)
        && let Some(interval) = resolve_window(w, ctx.faults, duration)
        && !interval.is_empty()
        && after >= interval.len()
    {
        report.invalid(
            path.key("after"),
            "skips the whole window",
            format!(
                "less than the window's {}",
                units::Duration::new(interval.len())
            ),
        );
    }
    Some(TraceObjective {
        select: select?,
        window: window?,
        after,
        aggregate: aggregate?,
    })
}

/// Span names the gateway and `chaos upstream` emit.
const KNOWN_SPANS: [&str; 9] = [
    names::span::REQUEST,
    names::span::UPSTREAM_ATTEMPT,
    names::span::ENDPOINT_HEALTH,
    names::span::CONFIG_RELOAD,
    names::span::UPSTREAM_REQUEST,
    names::span::UPSTREAM_CALLBACK,
    names::span::BREAKER_TRANSITION,
    names::span::ENDPOINT_EJECTED,
    names::span::ENDPOINT_RETURNED,
];

/// `NAME` or `NAME{k="v",...}` with NAME a gateway metric (histograms may add a suffix).
pub(crate) fn sample(report: &mut Report<'_>, path: FieldPath, text: &str) -> Option<MetricSource> {
    let expected =
        "NAME or NAME{label=\"value\",...}, e.g. gateway_breaker_state{upstream=\"users\"}";
    let (name, labels) = match text.split_once('{') {
        None => (text.trim(), ""),
        Some((name, rest)) => match rest.trim_end().strip_suffix('}') {
            Some(labels) => (name.trim(), labels),
            None => {
                report.invalid(path, "unclosed `{`", expected);
                return None;
            }
        },
    };
    let mut parsed = BTreeMap::new();
    for pair in labels.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let label = pair.split_once('=').and_then(|(k, v)| {
            let v = v.trim().strip_prefix('"')?.strip_suffix('"')?;
            let k = k.trim();
            (!k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                .then(|| (k.to_owned(), v.to_owned()))
        });
        match label {
            Some((k, v)) => {
                parsed.insert(k, v);
            }
            None => {
                report.invalid(path, format!("invalid label matcher `{pair}`"), expected);
                return None;
            }
        }
    }
    let base = ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|b| names::metric::ALL.contains(b));
    if !names::metric::ALL.contains(&name) && base.is_none() {
        let hint = did_you_mean(name, names::metric::ALL);
        report
            .invalid(
                path,
                format!("unknown metric `{name}`"),
                one_of(names::metric::ALL),
            )
            .hint = hint;
        return None;
    }
    Some(MetricSource::Sample {
        name: name.to_owned(),
        labels: parsed,
    })
}
