//! `expect:` → [`Objective`]s: each objective's fields, thresholds and references.

use std::time::Duration;

use config_yaml::{FieldPath, units};

use super::evidence::{sample, trace};
use super::objective::{
    BreakerObjective, ClientThresholds, Degradation, ErrorsObjective, Failover, LatencyObjective,
    MetricObjective, MetricSource, Objective, Rto, SteadyState,
};
use super::plan::MetricsBackend;
use super::raw::{RawClientThresholds, RawObjective};
use super::references::{
    Context, check_window, during, fault, required, target, threshold, time_ref, window,
};
use super::report::{Report, did_you_mean, one_of};
use super::window::Window;

const DEFAULT_WITHIN: Duration = Duration::from_secs(1);
const DEFAULT_RTO_WINDOW: Duration = Duration::from_secs(1);
const DEFAULT_RTO_HOLD: Duration = Duration::from_secs(1);

/// Validates `expect`.
pub(crate) fn objectives(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    raw: &[RawObjective],
) -> Vec<Objective> {
    let mut objectives = Vec::new();
    for (i, o) in raw.iter().enumerate() {
        let base = FieldPath::root().key("expect").index(i);
        let before = report.count();
        let objective = objective(report, ctx, &base, o);
        if let Some(objective) = objective.filter(|_| report.count() == before) {
            objectives.push(objective);
        }
    }
    objectives
}

fn objective(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    base: &FieldPath,
    raw: &RawObjective,
) -> Option<Objective> {
    match raw {
        RawObjective::SteadyState(s) => {
            let path = base.key("steady_state");
            if s.before.is_none() && s.after.is_none() {
                let expected = "`before` and/or `after`, each with `errors` and/or `latency`";
                report.missing(&path, "before", expected).value = None;
            }
            let before = s
                .before
                .as_ref()
                .map(|t| client(report, ctx, path.key("before"), Window::Before, t));
            let after = s
                .after
                .as_ref()
                .map(|t| client(report, ctx, path.key("after"), Window::After, t));
            Some(Objective::SteadyState(SteadyState {
                before: before.flatten(),
                after: after.flatten(),
            }))
        }
        RawObjective::Errors(e) => {
            let path = base.key("errors");
            let window = window(report, ctx, &path, e.during.as_deref(), e.window.as_ref());
            let rate = required(report, &path, "rate", e.rate.as_deref(), "`rate: \"< 1%\"`");
            Some(Objective::Errors(ErrorsObjective {
                window: window?,
                rate: rate?,
            }))
        }
        RawObjective::Latency(l) => {
            let path = base.key("latency");
            let window = window(report, ctx, &path, l.during.as_deref(), l.window.as_ref());
            let value = required(
                report,
                &path,
                "value",
                l.value.as_deref(),
                "`value: \"p(99) < 250ms\"`",
            );
            Some(Objective::Latency(LatencyObjective {
                window: window?,
                value: value?,
            }))
        }
        RawObjective::Failover(f) => {
            let path = base.key("failover");
            let during = during(report, ctx, &path, f.during.as_deref());
            let errors = f
                .errors
                .as_deref()
                .and_then(|t| threshold(report, path.key("errors"), t));
            let stops = f
                .stops_reaching
                .as_deref()
                .and_then(|t| target(report, ctx, path.key("stops_reaching"), t));
            if f.errors.is_none() && f.stops_reaching.is_none() {
                report
                    .missing(&path, "errors", "`errors` and/or `stops_reaching`")
                    .value = None;
            }
            Some(Objective::Failover(Failover {
                during: during?,
                errors,
                stops_reaching: stops,
                within: f.within.map_or(DEFAULT_WITHIN, |d| d.get()),
            }))
        }
        RawObjective::Degradation(d) => {
            let path = base.key("degradation");
            let during = during(report, ctx, &path, d.during.as_deref());
            let fallbacks = d
                .fallbacks
                .as_deref()
                .and_then(|t| threshold(report, path.key("fallbacks"), t));
            if d.fallbacks.is_none() && d.no_5xx.is_none() {
                report
                    .missing(&path, "fallbacks", "`fallbacks` and/or `no_5xx: true`")
                    .value = None;
            }
            let route = match &d.route {
                None => {
                    report
                        .missing(&path, "route", "the gateway route's name")
                        .value = None;
                    None
                }
                Some(route) => {
                    if let Some(probe) = ctx.probe {
                        let names = probe.routes.iter().map(|(n, _)| n.as_str());
                        if !names.clone().any(|n| n == route) {
                            let hint = did_you_mean(route, names.clone());
                            report
                                .invalid(
                                    path.key("route"),
                                    "unknown route",
                                    format!("{} (routes of {})", one_of(names), probe.source),
                                )
                                .hint = hint;
                        }
                    }
                    Some(route.clone())
                }
            };
            Some(Objective::Degradation(Degradation {
                during: during?,
                route: route?,
                fallbacks,
                no_5xx: d.no_5xx.unwrap_or(false),
            }))
        }
        RawObjective::Rto(r) => {
            let path = base.key("rto");
            let from = match &r.from {
                None => {
                    report
                        .missing(&path, "from", "`FAULT.end` or `FAULT.start`")
                        .value = None;
                    None
                }
                Some(text) => time_ref(report, ctx, path.key("from"), text).filter(|at| {
                    let ok = at.fault().is_some();
                    if !ok {
                        report.invalid(
                            path.key("from"),
                            "recovery counts from a fault",
                            "`FAULT.end` or `FAULT.start`, optionally `+ 1s`",
                        );
                    }
                    ok
                }),
            };
            let success = required(
                report,
                &path,
                "success",
                r.success.as_deref(),
                "`success: \">= 99%\"`",
            );
            let max = r.max.map(|d| d.get());
            if max.is_none() {
                report
                    .missing(&path, "max", "the recovery time objective, e.g. `3s`")
                    .value = None;
            }
            let latency = r
                .latency
                .as_deref()
                .and_then(|t| threshold(report, path.key("latency"), t));
            let window = r.window.map_or(DEFAULT_RTO_WINDOW, |d| d.get());
            for (key, value) in [("window", window), ("max", max.unwrap_or(window))] {
                if value.is_zero() {
                    report.invalid(path.key(key), "zero duration", "a duration above 0");
                }
            }
            Some(Objective::Rto(Rto {
                from: from?,
                success: success?,
                window,
                hold: r.hold.map_or(DEFAULT_RTO_HOLD, |d| d.get()),
                max: max?,
                latency,
            }))
        }
        RawObjective::Breaker(b) => {
            let path = base.key("breaker");
            let upstream = match &b.upstream {
                None => {
                    report
                        .missing(
                            &path,
                            "upstream",
                            "the gateway upstream whose breaker is watched",
                        )
                        .value = None;
                    None
                }
                Some(name) => {
                    if let Some(probe) = ctx.probe
                        && !probe.upstreams.contains_key(name)
                    {
                        let names = probe.upstreams.keys().map(String::as_str);
                        let hint = did_you_mean(name, names.clone());
                        report
                            .invalid(
                                path.key("upstream"),
                                "unknown gateway upstream",
                                format!("{} (upstreams of {})", one_of(names), probe.source),
                            )
                            .hint = hint;
                    }
                    Some(name.clone())
                }
            };
            let open_for = ctx
                .probe
                .and_then(|p| Some((p, (*p.upstreams.get(b.upstream.as_deref()?)?)?)));
            if let (Some((probe, open_for)), Some(after)) = (open_for, b.half_open_after)
                && after.get() < open_for
            {
                report.invalid(
                    path.key("half_open_after"),
                    "shorter than the breaker's configured wait",
                    format!(
                        "at least {} (`circuit_breaker.open_for` in {})",
                        units::Duration::new(open_for),
                        probe.source
                    ),
                );
            }
            if b.opens_within.is_none() && b.half_open_after.is_none() && b.closes_within.is_none()
            {
                report
                    .missing(
                        &path,
                        "opens_within",
                        "`opens_within`, `half_open_after` and/or `closes_within`",
                    )
                    .value = None;
            }
            let of =
                b.of.as_deref()
                    .and_then(|name| fault(report, ctx, path.key("of"), name));
            if b.of.is_none() && (b.opens_within.is_some() || b.closes_within.is_some()) {
                report.missing(&path, "of", "the fault `opens_within` counts from (its start) and `closes_within` counts from (its end)").value = None;
            }
            Some(Objective::Breaker(BreakerObjective {
                upstream: upstream?,
                of,
                opens_within: b.opens_within.map(|d| d.get()),
                half_open_after: b.half_open_after.map(|d| d.get()),
                closes_within: b.closes_within.map(|d| d.get()),
            }))
        }
        RawObjective::Trace(t) => trace(report, ctx, base.key("trace"), t).map(Objective::Trace),
        RawObjective::Metric(m) => {
            let path = base.key("metric");
            let source = match (&m.query, &m.sample) {
                (Some(_), Some(_)) => {
                    report.invalid(
                        path.key("sample"),
                        "`query` and `sample` are exclusive",
                        "one source",
                    );
                    None
                }
                (None, None) => {
                    report
                        .missing(&path, "sample", "`sample: NAME{labels}` or `query: PROMQL`")
                        .value = None;
                    None
                }
                (Some(query), None) => {
                    if !matches!(ctx.metrics, Some(MetricsBackend::Prometheus(_)) | None) {
                        report.invalid(path.key("query"), "a PromQL query needs Prometheus", "`system.backends.metrics: { prometheus: URL }`, or `sample: NAME{labels}`").value = None;
                    }
                    Some(MetricSource::Query(query.clone()))
                }
                (None, Some(sample)) => self::sample(report, path.key("sample"), sample),
            };
            let window = window(report, ctx, &path, m.during.as_deref(), m.window.as_ref());
            let value = required(
                report,
                &path,
                "value",
                m.value.as_deref(),
                "`value: \"< 1\"`",
            );
            Some(Objective::Metric(MetricObjective {
                source: source?,
                value: value?,
                window: window?,
                hold_for: m.for_.map(|d| d.get()),
            }))
        }
    }
}

fn client(
    report: &mut Report<'_>,
    ctx: &Context<'_>,
    path: FieldPath,
    window: Window,
    raw: &RawClientThresholds,
) -> Option<ClientThresholds> {
    if raw.errors.is_none() && raw.latency.is_none() {
        report
            .missing(
                &path,
                "errors",
                "`errors: \"< 1%\"` and/or `latency: \"p(99) < 100ms\"`",
            )
            .value = None;
    }
    check_window(report, ctx, path.clone(), &window);
    Some(ClientThresholds {
        errors: raw
            .errors
            .as_deref()
            .and_then(|t| threshold(report, path.key("errors"), t)),
        latency: raw
            .latency
            .as_deref()
            .and_then(|t| threshold(report, path.key("latency"), t)),
    })
}
