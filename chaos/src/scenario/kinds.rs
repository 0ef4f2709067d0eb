//! One fault kind's parameters into a typed [`FaultKind`], through the catalog (`params`),
//! and the checks that the target is what the kind needs.

use config_yaml::FieldPath;

use super::catalog::{Kind, Requirement};
use super::fault::{
    CommandFault, FaultKind, GatewayAbort, GatewayDelay, GatewayFault, HttpErrors, Target,
    ToxicFault,
};
use super::faults::FaultContext;
use super::params::Params;
use super::placeholders::{Scope, template};
use super::plan::{UpstreamSource, Via};
use super::raw::RawParam;
use super::report::{Report, did_you_mean, one_of};
use super::template::Template;
use crate::faultproxy::{
    Bandwidth, Latency, LimitData, ResetPeer, Slicer, SlowClose, Timeout, ToxicKind,
};

/// One kind's parameters into a [`FaultKind`].
pub(crate) fn fault_kind(
    report: &mut Report<'_>,
    ctx: &FaultContext<'_>,
    kind: Kind,
    path: FieldPath,
    body: &RawParam,
) -> Option<FaultKind> {
    let p = Params::new(report, kind, path.clone(), body)?;
    let before = report.count();
    let target = if kind.has_shorthand() {
        p.target(report)
    } else {
        None
    };
    if let Some((target, at)) = &target {
        check_target(report, ctx, kind, target, at);
    }
    let t = target.map(|(t, _)| t);
    let r = report;
    let built = match kind {
        Kind::Kill | Kind::Terminate => {
            let then = p.then(r);
            t.zip(then).map(|(target, then)| match kind {
                Kind::Kill => FaultKind::Kill { target, then },
                _ => FaultKind::Terminate { target, then },
            })
        }
        Kind::Pause => t.map(|target| FaultKind::Pause { target }),
        Kind::Restart => t.map(|target| FaultKind::Restart { target }),
        Kind::Refuse => t.map(|target| FaultKind::Refuse { target }),
        Kind::Partition => t.map(|target| FaultKind::Partition { target }),
        Kind::Latency => {
            let (latency, jitter) = (p.millis(r, "latency"), p.millis(r, "jitter"));
            let toxic = latency.zip(jitter).map(|(latency_ms, jitter_ms)| {
                ToxicKind::Latency(Latency {
                    latency_ms,
                    jitter_ms,
                })
            });
            toxic_fault(r, &p, kind, t, toxic)
        }
        Kind::Bandwidth => {
            let rate = p.integer(r, "rate_kbps");
            let toxic = rate.map(|rate_kb_per_s| ToxicKind::Bandwidth(Bandwidth { rate_kb_per_s }));
            toxic_fault(r, &p, kind, t, toxic)
        }
        Kind::SlowClose => {
            let toxic = p
                .millis(r, "delay")
                .map(|delay_ms| ToxicKind::SlowClose(SlowClose { delay_ms }));
            toxic_fault(r, &p, kind, t, toxic)
        }
        Kind::Blackhole => {
            let toxic = Some(ToxicKind::Timeout(Timeout { timeout_ms: 0 }));
            toxic_fault(r, &p, kind, t, toxic)
        }
        Kind::Timeout => {
            let toxic = p
                .millis(r, "after")
                .map(|timeout_ms| ToxicKind::Timeout(Timeout { timeout_ms }));
            toxic_fault(r, &p, kind, t, toxic)
        }
        Kind::ResetPeer => {
            let toxic = p
                .millis(r, "after")
                .map(|timeout_ms| ToxicKind::ResetPeer(ResetPeer { timeout_ms }));
            toxic_fault(r, &p, kind, t, toxic)
        }
        Kind::Slicer => {
            let average = p.bytes(r, "average_size");
            let variation = p.bytes(r, "size_variation");
            let delay = p.micros(r, "delay");
            let toxic = match (average, variation, delay) {
                (Some(average_size_bytes), Some(size_variation_bytes), Some(delay_us)) => {
                    Some(ToxicKind::Slicer(Slicer {
                        average_size_bytes,
                        size_variation_bytes,
                        delay_us,
                    }))
                }
                _ => None,
            };
            toxic_fault(r, &p, kind, t, toxic)
        }
        Kind::LimitData => {
            let toxic = p
                .integer(r, "bytes")
                .map(|bytes| ToxicKind::LimitData(LimitData { bytes }));
            toxic_fault(r, &p, kind, t, toxic)
        }
        Kind::HttpErrors => {
            let status = p.integer(r, "status").and_then(|s| u16::try_from(s).ok());
            let rate = p.percent(r, "rate");
            let latency = p.duration(r, "latency").map(|d| d.get());
            let hang = p.flag(r, "hang");
            match (t, status, rate, hang) {
                (Some(target), Some(status), Some(rate), Some(hang)) => {
                    Some(FaultKind::HttpErrors(HttpErrors {
                        target,
                        status,
                        rate: rate.ratio(),
                        latency,
                        hang,
                    }))
                }
                _ => None,
            }
        }
        Kind::GatewayFault => gateway_fault(r, ctx, &p, &path),
        Kind::Command => {
            let start = p.argv(r, "start").map(|argv| templates(r, ctx, argv));
            let stop = p.argv(r, "stop").map(|argv| templates(r, ctx, argv));
            let timeout = p.duration(r, "timeout").map(|d| d.get());
            if timeout.is_some_and(|d| d.is_zero()) {
                r.invalid(path.key("timeout"), "zero timeout", "a duration above 0");
            }
            match (start, timeout) {
                (Some(start), Some(timeout)) => Some(FaultKind::Command(CommandFault {
                    start,
                    stop,
                    timeout,
                })),
                _ => None,
            }
        }
    };
    built.filter(|_| r.count() == before)
}

fn toxic_fault(
    report: &mut Report<'_>,
    p: &Params<'_>,
    kind: Kind,
    target: Option<Target>,
    toxic: Option<ToxicKind>,
) -> Option<FaultKind> {
    let stream = p.stream(report);
    let toxicity = p.percent(report, "toxicity");
    Some(FaultKind::Toxic(ToxicFault {
        kind,
        target: target?,
        stream: stream?,
        // A percentage is at most 100, so the ratio fits an f32 without loss that matters.
        toxicity: toxicity?.ratio() as f32,
        toxic: toxic?,
    }))
}

fn gateway_fault(
    report: &mut Report<'_>,
    ctx: &FaultContext<'_>,
    p: &Params<'_>,
    path: &FieldPath,
) -> Option<FaultKind> {
    let before = report.count();
    let abort = p.group(report, "abort").map(|g| {
        let status = g
            .integer(report, "status")
            .and_then(|s| u16::try_from(s).ok());
        let percent = g.percent(report, "percent");
        status.zip(percent).map(|(status, p)| GatewayAbort {
            status,
            ratio: p.ratio(),
        })
    });
    let delay = p.group(report, "delay").map(|g| {
        let duration = g.duration(report, "duration");
        let percent = g.percent(report, "percent");
        duration.zip(percent).map(|(d, p)| GatewayDelay {
            duration: d.get(),
            ratio: p.ratio(),
        })
    });
    if let Some(probe) = ctx.probe
        && !probe
            .routes
            .iter()
            .any(|(_, header_control)| *header_control)
    {
        let d = report.invalid(
            path.clone(),
            "no route of the gateway config lets requests drive its fault filter",
            format!(
                "a route with `fault: {{ header_control: true }}` in {}",
                probe.source
            ),
        );
        d.value = None;
    }
    let fault = GatewayFault {
        abort: abort.flatten(),
        delay: delay.flatten(),
    };
    (report.count() == before).then_some(FaultKind::GatewayFault(fault))
}

fn templates(
    report: &mut Report<'_>,
    ctx: &FaultContext<'_>,
    argv: Vec<(String, FieldPath)>,
) -> Vec<Template> {
    argv.into_iter()
        .filter_map(|(text, path)| template(report, ctx.upstreams, Scope::Topology, &text, path))
        .collect()
}

/// The target exists, its replica is in range, and it is what the kind needs.
fn check_target(
    report: &mut Report<'_>,
    ctx: &FaultContext<'_>,
    kind: Kind,
    target: &Target,
    path: &FieldPath,
) {
    let names = ctx.upstreams.keys().map(String::as_str);
    let Some(upstream) = ctx.upstreams.get(&target.upstream) else {
        let hint = did_you_mean(&target.upstream, names.clone());
        report
            .invalid(path.clone(), "unknown upstream", one_of(names))
            .hint = hint;
        return;
    };
    let Some(upstream) = upstream else {
        return;
    };
    let n = upstream.instances();
    if let Some(r) = target.replica
        && r >= n
    {
        report.invalid(
            path.clone(),
            format!("no replica {r} of upstream `{}`", target.upstream),
            format!("a replica from 0 to {} (it has {n})", n - 1),
        );
    }
    let name = &target.upstream;
    let via = match upstream.via {
        Via::Direct => "direct",
        Via::Proxy => "proxy",
        Via::Netns => "netns",
    };
    let requirement = kind.spec().requires;
    let (ok, why) = match requirement {
        Requirement::Nothing => (true, String::new()),
        Requirement::SpawnedUpstream => (
            upstream.is_spawned(),
            format!("`{name}` is an `address` upstream"),
        ),
        Requirement::ProxiedUpstream => (
            upstream.via == Via::Proxy,
            format!("`{name}` has `via: {via}`"),
        ),
        Requirement::NetnsUpstream => (
            upstream.via == Via::Netns,
            format!("`{name}` has `via: {via}`"),
        ),
        Requirement::BuiltinUpstream => (
            matches!(upstream.source, UpstreamSource::Builtin(_)),
            format!("`{name}` is not a `builtin` upstream"),
        ),
    };
    if !ok {
        let d = report.invalid(
            path.clone(),
            format!("`{}` needs {}", kind.name(), requirement.describe()),
            format!("{}; {why}", requirement.describe()),
        );
        d.hint = match requirement {
            Requirement::ProxiedUpstream => {
                Some(format!("set `via: proxy` on system.upstreams.{name}"))
            }
            Requirement::NetnsUpstream => {
                Some(format!("set `via: netns` on system.upstreams.{name}"))
            }
            _ => None,
        };
    }
}
