//! Turning what a run gathered into its [`Journal`] and [`Evidence`], and writing the journal
//! into the run folder.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::environment::{Environment, TraceService};
use super::error::chain;
use super::faults::FaultContext;
use super::guards::GuardState;
use super::observe::Scrapes;
use super::steady::Gate;
use super::timeline::Timeline;
use super::{Outcome, RunOutput};
use crate::evidence::{Evidence, MetricsEvidence, TraceBackend};
use crate::journal::{
    BackendRecord, EventKind, FORMAT_VERSION, GatewayRecord, InstanceRecord, Journal, LoadRecord,
    MetricsRecord, RunInfo, ScenarioInfo, TimeBase, TopologyRecord, TracesRecord, Versions,
    WallTime,
};
use crate::load::LoadReport;
use crate::scenario::{MetricsBackend, Plan};

/// What the drive phase gathered.
#[derive(Debug, Default)]
pub(crate) struct Drill {
    /// `t = 0`, monotonic and wall clock.
    pub(crate) t0: Option<(Instant, SystemTime)>,
    pub(crate) ctx: Option<Arc<FaultContext>>,
    pub(crate) timeline: Option<Timeline>,
    pub(crate) report: Option<LoadReport>,
    pub(crate) load: Option<LoadRecord>,
    pub(crate) guards: Vec<GuardState>,
    /// The steady-state gate, if the scenario has one.
    pub(crate) gate: Option<Gate>,
    pub(crate) metrics_url: Option<String>,
    pub(crate) scrapes: Scrapes,
    pub(crate) traces: TracesRecord,
}

/// Builds the output, writes `journal.json`, and hands the embedded trace store over.
pub(crate) fn assemble(
    plan: &Plan,
    mut env: Environment,
    drill: Drill,
    outcome: Outcome,
    started: (Instant, SystemTime),
) -> RunOutput {
    let ended = Instant::now();
    // Without a load, setup's end stands in for t = 0, so offsets stay meaningful.
    let (t0, t0_wall) = drill.t0.unwrap_or((ended, SystemTime::now()));
    let base = TimeBase { t0 };

    if let Outcome::Failed(error) = &outcome {
        env.recorder.record(EventKind::Error {
            message: chain(error),
        });
    }
    let reason = match &outcome {
        Outcome::Completed => None,
        Outcome::Aborted { guard, measured } => Some(format!("guard {guard} breached: {measured}")),
        Outcome::Interrupted => Some("interrupted".to_owned()),
        Outcome::Failed(error) => Some(chain(error)),
    };
    let timeline = env.recorder.timeline(base);
    let mut errors: Vec<String> = timeline
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Error { message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    errors.dedup();

    let gateway = env.gateway.as_ref();
    let traces = env.traces.as_ref();
    let topology = TopologyRecord {
        gateway: gateway.map(|g| GatewayRecord {
            data: g.data_addr().to_owned(),
            admin: g.admin_addr().to_owned(),
            pid: g.process.as_ref().map(|p| p.started().pid),
            config: g
                .config
                .as_ref()
                .map(|(path, _)| path.display().to_string()),
        }),
        upstreams: env
            .instances
            .iter()
            .map(|i| InstanceRecord {
                name: i.name.clone(),
                upstream: i.upstream.clone(),
                replica: i.replica,
                address: i.address.clone(),
                gateway_address: i.gateway_address.clone(),
                pid: i.process.as_ref().map(|p| p.started().pid),
                proxy: i.proxy.clone(),
                netns: i.netns.clone(),
            })
            .collect(),
        traces: traces.map(|t| BackendRecord {
            embedded: t.embedded.is_some(),
            url: t.otlp.clone(),
            query: Some(t.query.clone()),
        }),
        fault_proxy: env.fault_proxy.as_ref().map(|p| BackendRecord {
            embedded: p.embedded.is_some(),
            url: p.client.base_url().to_owned(),
            query: None,
        }),
    };
    let prometheus = match &plan.system.backends.metrics {
        MetricsBackend::Prometheus(url) => Some(url.to_string().trim_end_matches('/').to_owned()),
        MetricsBackend::Scrape => None,
    };
    let journal = Journal {
        format: FORMAT_VERSION,
        scenario: ScenarioInfo {
            name: plan.name.clone(),
            description: plan.description.clone(),
            file: plan.source.display().to_string(),
            tags: plan.tags.clone(),
            seed: plan.seed,
            duration_ms: u64::try_from(plan.duration().as_millis()).unwrap_or(u64::MAX),
        },
        versions: Versions {
            chaos: env!("CARGO_PKG_VERSION").to_owned(),
            gateway: gateway.and_then(|g| g.version.clone()),
        },
        run: RunInfo {
            run_id: env.run_id.as_str().to_owned(),
            run_dir: env.run_dir.display().to_string(),
            started_at: WallTime::of(started.1),
            load_started_at: drill.t0.map(|(_, wall)| WallTime::of(wall)),
            started_us: base.offset(started.0),
            ended_us: base.offset(ended),
            outcome: outcome.name().to_owned(),
            reason,
            exit_code: outcome.exit().code(),
        },
        topology,
        timeline,
        faults: drill
            .timeline
            .as_ref()
            .map(|t| t.records(base))
            .unwrap_or_default(),
        guards: drill
            .gate
            .iter()
            .map(|g| g.record(base))
            .chain(drill.guards.iter().map(|g| g.record(base)))
            .collect(),
        load: drill.load,
        metrics: MetricsRecord {
            url: drill.metrics_url,
            scraped_us: drill
                .scrapes
                .pages
                .iter()
                .map(|(at, _)| base.offset(*at))
                .collect(),
            failures: drill.scrapes.failures,
            prometheus: prometheus.clone(),
        },
        traces: drill.traces,
        errors,
        verdicts: Vec::new(),
    };

    let report = drill.report;
    let evidence = Evidence {
        load_started_at: report.as_ref().map_or(t0_wall, |r| r.started_at),
        load_duration: report
            .as_ref()
            .map_or(Duration::ZERO, |r| r.cancelled_at.unwrap_or(r.duration)),
        records: report.map(|r| r.records).unwrap_or_default(),
        faults: drill
            .timeline
            .as_ref()
            .map(|t| t.windows(t0))
            .unwrap_or_default(),
        traces: match (traces, gateway) {
            (Some(t), Some(g)) => Some(TraceBackend {
                query_url: t.query.clone(),
                gateway_service: g.service_name.clone(),
            }),
            _ => None,
        },
        metrics: MetricsEvidence {
            scrapes: drill
                .scrapes
                .pages
                .into_iter()
                .map(|(at, page)| (at.saturating_duration_since(t0), page))
                .collect(),
            prometheus_url: prometheus,
        },
        endpoints: env.endpoints(),
        gateway_config: gateway.and_then(|g| g.config.as_ref().map(|(_, text)| text.clone())),
    };

    let path = env.run_dir.join("journal.json");
    if let Err(err) = write_json(&path, &journal) {
        tracing::warn!(path = %path.display(), error = %err, "Cannot write the journal");
    }
    let service: Option<TraceService> = env.traces.take().and_then(|t| t.embedded);
    RunOutput {
        journal,
        evidence,
        outcome,
        run_dir: env.run_dir.clone(),
        traces: service,
    }
}

/// Writes `value` as pretty JSON to `path`.
pub(crate) fn write_json(
    path: &std::path::Path,
    value: &impl serde::Serialize,
) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
