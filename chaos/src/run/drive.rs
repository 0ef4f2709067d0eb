//! The drive phase: the load from `t = 0` with everything that runs beside it (fault
//! timeline, guards, `/metrics` scrapes, progress), then the trace settling.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::environment::{Environment, TraceService};
use super::error::RunError;
use super::faults::FaultContext;
use super::finish::Drill;
use super::outcome::Stop;
use super::progress::Progress;
use super::steady::Gate;
use super::timeline::Timeline;
use super::{guards, observe};
use crate::journal::{EventKind, LoadRecord};
use crate::load::{LoadGenerator, LoadReport, LoadSpec};
use crate::scenario::Plan;

/// How many of the last answered, sampled requests must have their trace in the backend.
const PROBE_TRACES: usize = 10;

/// The load with everything that runs beside it, then the settling.
pub(crate) async fn drive(
    env: &mut Environment,
    plan: &Plan,
    stop: &Arc<Stop>,
    progress: &Progress,
    drill: &mut Drill,
) {
    let Some(gateway) = env.gateway.as_ref() else {
        return;
    };
    let mut input = plan.load.clone();
    input.target = gateway.data_url.clone();
    let target = input.target.clone();
    let spec = match LoadSpec::validate(input) {
        Ok(spec) => spec,
        Err(errors) => {
            let problems = errors.iter().map(ToString::to_string).collect::<Vec<_>>();
            return stop.fail(RunError::LoadSpec {
                target,
                problems: problems.join("; "),
            });
        }
    };
    let planned = spec.planned();
    let mut generator = match LoadGenerator::new(spec) {
        Ok(generator) => generator,
        Err(error) => return stop.fail(RunError::Load(error)),
    };
    let records = generator.subscribe();
    let live = generator.progress();
    let ctx = Arc::new(FaultContext {
        instances: env.instances.clone(),
        proxy: env.fault_proxy.as_ref().map(|p| p.client.clone()),
        control: env.control.clone(),
        headers: generator.extra_headers(),
        topology: env.topology.clone(),
        recorder: env.recorder.clone(),
    });
    drill.ctx = Some(Arc::clone(&ctx));

    // t0 is taken in the load's task and handed to the generator as its schedule's start:
    // the journal, the fault timeline and the load's records share one time base.
    let (started_tx, started_rx) = oneshot::channel();
    let load_stop = stop.token().clone();
    let load = AbortOnDropHandle::new(tokio::spawn(async move {
        let t0 = Instant::now();
        let _ = started_tx.send((t0, SystemTime::now()));
        generator.run_from(t0.into(), load_stop).await
    }));
    let Ok((t0, t0_wall)) = started_rx.await else {
        return stop.fail(task_failed("load"));
    };
    drill.t0 = Some((t0, t0_wall));
    env.recorder.record_at(
        t0,
        EventKind::Load {
            phase: "started".to_owned(),
            detail: format!("target {target}, {planned} requests planned"),
        },
    );
    progress.phase("load");

    let mut timeline = Timeline::start(&ctx, plan, t0, stop);
    let guards = AbortOnDropHandle::new(tokio::spawn(guards::watch(
        plan.guards.clone(),
        Gate::of(plan),
        records,
        t0,
        Arc::clone(stop),
        env.recorder.clone(),
    )));
    let load_done = CancellationToken::new();
    let scrapes = gateway_admin(env).map(|admin| {
        let url = format!("{admin}/metrics");
        drill.metrics_url = Some(url.clone());
        let task = observe::scrape_loop(url, t0, load_done.clone(), env.recorder.clone());
        AbortOnDropHandle::new(tokio::spawn(task))
    });
    let ticker = progress.track(live, plan.duration(), timeline.active(), load_done.clone());

    let report = load.await;
    load_done.cancel();
    drop(ticker);
    timeline.join().await;
    match report {
        Ok(report) => {
            env.recorder.record(EventKind::Load {
                phase: "finished".to_owned(),
                detail: format!(
                    "{} requests recorded, {} successful",
                    report.records.len(),
                    report.overall.successes
                ),
            });
            drill.load = Some(LoadRecord::from_report(target, &report));
            drill.report = Some(report);
        }
        Err(join) => stop.fail(RunError::Task {
            what: "load",
            reason: join.to_string(),
        }),
    }
    drill.timeline = Some(timeline);
    (drill.guards, drill.gate) = guards.await.unwrap_or_default();
    if let Some(scrapes) = scrapes {
        drill.scrapes = scrapes.await.unwrap_or_default();
    }
    // A drill stopped by a signal or a harness failure is left quickly; one that ended or
    // was aborted by a guard gets its traces settled for the judging.
    if stop.settles() {
        progress.phase("settling traces");
        let traces = env.traces.as_ref();
        let store = traces
            .and_then(|t| t.embedded.as_ref())
            .map(TraceService::store);
        let query = traces.map(|t| t.query.as_str());
        let probes = drill.report.as_ref().map(probe_traces).unwrap_or_default();
        drill.traces = observe::settle_traces(
            &env.control,
            gateway_admin(env),
            query,
            store,
            probes,
            &env.recorder,
        )
        .await;
    }
}

/// Trace ids (hex) of the last answered, sampled requests.
fn probe_traces(report: &LoadReport) -> Vec<String> {
    report
        .records
        .iter()
        .rev()
        .filter(|r| r.sampled && r.outcome.status().is_some())
        .take(PROBE_TRACES)
        .map(|r| r.trace_id.to_string())
        .collect()
}

fn gateway_admin(env: &Environment) -> Option<&str> {
    env.gateway.as_ref().map(|g| g.admin_url.as_str())
}

fn task_failed(what: &'static str) -> RunError {
    RunError::Task {
        what,
        reason: "ended without an answer".to_owned(),
    }
}
