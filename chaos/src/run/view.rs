//! The plan as `chaos run --dry-run` prints it: topology and timeline, nothing started.

use std::fmt::Write as _;
use std::time::Duration;

use crate::load::Rate;
use crate::scenario::{
    AfterKill, FaultKind, FaultPlan, FaultProxyBackend, Gateway, GatewayBinary, GuardCondition,
    MetricsBackend, Plan, TracesBackend, UpstreamSource, Via,
};

use super::environment::netns_needed_by;

/// The plan as text, one block per section.
pub(crate) fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan: {} ({}), seed {}",
        plan.name,
        plan.source.display(),
        plan.seed
    );
    let _ = writeln!(out, "  {}", plan.description);
    write_load(&mut out, plan);
    write_system(&mut out, plan);
    let _ = writeln!(out, "timeline (from the load's start):");
    if plan.faults.is_empty() {
        let _ = writeln!(out, "  no faults");
    }
    let mut faults: Vec<&FaultPlan> = plan.faults.iter().collect();
    faults.sort_by_key(|f| f.at);
    for fault in faults {
        let end = fault.end(plan.duration());
        let _ = writeln!(
            out,
            "  {:>9} .. {:>9}  {:<16} {}",
            seconds(fault.at),
            seconds(end),
            fault.name,
            describe(&fault.kind)
        );
    }
    if !plan.guards.is_empty() {
        let _ = writeln!(out, "guards (checked every 100ms):");
        for guard in &plan.guards {
            let condition = match &guard.condition {
                GuardCondition::Errors(t) => format!("errors {t}"),
                GuardCondition::Latency(t) => format!("latency {t}"),
            };
            let _ = writeln!(
                out,
                "  {}: {condition} over {}, from {}",
                guard.name,
                span(guard.window),
                span(guard.after)
            );
        }
    }
    let _ = writeln!(
        out,
        "objectives: {} (judged after the run)",
        plan.objectives.len()
    );
    if let Some(needed_by) = netns_needed_by(plan) {
        let _ = writeln!(
            out,
            "needs: network namespaces (Linux, root, ip, nft) for {needed_by}; checked when the run starts"
        );
    }
    out
}

fn write_load(out: &mut String, plan: &Plan) {
    let rate = match &plan.load.rate {
        Rate::Constant { per_second } => format!("{per_second}/s"),
        Rate::Ramp(stages) => stages
            .iter()
            .map(|s| {
                format!(
                    "{}->{}/s over {}",
                    s.rate_from,
                    s.rate_to,
                    seconds(s.duration)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mix = plan
        .load
        .mix
        .iter()
        .map(|r| format!("{} {} (weight {})", r.method, r.path, r.weight))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(out, "load: {rate} for {}: {mix}", span(plan.duration()));
}

fn write_system(out: &mut String, plan: &Plan) {
    let system = &plan.system;
    let gateway = match &system.gateway {
        Gateway::Attach(attach) => format!("attach {} (admin {})", attach.url, attach.admin),
        Gateway::Spawn(spawn) => {
            let binary = match &spawn.binary {
                GatewayBinary::Default => "gateway (next to chaos, else on PATH)".to_owned(),
                GatewayBinary::Path(path) => path.display().to_string(),
                GatewayBinary::Program(name) => format!("{name} (on PATH)"),
            };
            format!(
                "spawn {binary} with {} rendered into the run folder, ready within {}",
                spawn.config.display(),
                span(spawn.ready)
            )
        }
    };
    let _ = writeln!(out, "gateway: {gateway}");
    let traces = match &system.backends.traces {
        TracesBackend::Embedded => "embedded store".to_owned(),
        TracesBackend::Jaeger { query, otlp } => format!("jaeger {query} (otlp {otlp})"),
    };
    let metrics = match &system.backends.metrics {
        MetricsBackend::Scrape => "scrape /metrics every 500ms".to_owned(),
        MetricsBackend::Prometheus(url) => format!("prometheus {url} (and scrapes)"),
    };
    let proxy = match &system.backends.fault_proxy {
        FaultProxyBackend::Embedded => "embedded".to_owned(),
        FaultProxyBackend::Toxiproxy(url) => format!("toxiproxy {url}"),
    };
    let _ = writeln!(
        out,
        "backends: traces {traces}; metrics {metrics}; fault proxy {proxy}"
    );
    let _ = writeln!(out, "upstreams:");
    for upstream in system.upstreams.values() {
        let source = match &upstream.source {
            UpstreamSource::Builtin(b) => format!(
                "builtin (latency {:?}, error rate {}%, status {}, healthy {})",
                b.latency,
                b.error_rate * 100.0,
                b.error_status,
                b.healthy
            ),
            UpstreamSource::Command(c) => format!(
                "command {}",
                c.argv
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            UpstreamSource::Address(a) => format!("address {a} (not started)"),
        };
        let via = match upstream.via {
            Via::Direct => "direct",
            Via::Proxy => "via fault proxy",
            Via::Netns => "in a network namespace",
        };
        let instances: Vec<String> = (0..upstream.instances())
            .map(|r| upstream.instance_name(r))
            .collect();
        let _ = writeln!(
            out,
            "  {}: {source}, {via}; instances {}",
            upstream.name,
            instances.join(", ")
        );
    }
}

/// One fault's action, as text.
fn describe(kind: &FaultKind) -> String {
    let then = |then: &AfterKill| match then {
        AfterKill::Restart => "then restart",
        AfterKill::StayDown => "then stay down",
    };
    match kind {
        FaultKind::Kill { target, then: t } => format!("kill {target} (SIGKILL), {}", then(t)),
        FaultKind::Terminate { target, then: t } => {
            format!("terminate {target} (SIGTERM), {}", then(t))
        }
        FaultKind::Pause { target } => format!("pause {target} (SIGSTOP, SIGCONT at the end)"),
        FaultKind::Restart { target } => format!("restart {target}"),
        FaultKind::Toxic(toxic) => format!(
            "{} on {}'s proxy ({} {}, toxicity {}%)",
            toxic.kind.name(),
            toxic.target,
            toxic.toxic.type_name(),
            toxic.stream.as_str(),
            toxic.toxicity * 100.0
        ),
        FaultKind::Refuse { target } => format!("refuse {target} (proxy disabled)"),
        FaultKind::Partition { target } => format!("partition {target} (nftables drop)"),
        FaultKind::HttpErrors(e) => format!(
            "http_errors on {}: {}% {}{}",
            e.target,
            e.rate * 100.0,
            e.status,
            if e.hang { ", hang" } else { "" }
        ),
        FaultKind::GatewayFault(g) => {
            let mut parts = Vec::new();
            if let Some(abort) = &g.abort {
                parts.push(format!(
                    "abort {} for {}%",
                    abort.status,
                    abort.ratio * 100.0
                ));
            }
            if let Some(delay) = &g.delay {
                parts.push(format!(
                    "delay {:?} for {}%",
                    delay.duration,
                    delay.ratio * 100.0
                ));
            }
            format!("gateway_fault headers: {}", parts.join(", "))
        }
        FaultKind::Command(c) => {
            let argv = |a: &[crate::scenario::Template]| {
                a.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            match &c.stop {
                Some(stop) => format!("command `{}`, stop `{}`", argv(&c.start), argv(stop)),
                None => format!("command `{}`", argv(&c.start)),
            }
        }
    }
}

/// `+1.500s`: an offset from the load's start.
fn seconds(d: Duration) -> String {
    format!("+{}", span(d))
}

/// `1.500s`: a length of time.
fn span(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}
