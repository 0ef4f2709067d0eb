//! Teardown, in order, whatever happened before: faults still in place undone (most recent
//! first), processes stopped, proxies removed, namespaces deleted, receivers closed. Every
//! step is attempted even when an earlier one failed; each is recorded on the timeline.
//!
//! ```text
//! undo faults (reverse) -> gateway fault headers cleared -> every process SIGKILLed and
//! reaped (gateway, upstreams, in namespaces too) -> fault proxy: embedded stopped / our
//! proxies deleted from a shared Toxiproxy -> namespace hosts torn down (partition tables,
//! veths, namespaces) + sweep of this run's names -> OTLP receivers closed
//! ```
//!
//! The query API of the embedded trace store keeps serving (the caller owns it through
//! `RunOutput`), so objectives can still be judged.

use crate::env::{Sweep, sweep};
use crate::journal::EventKind;

use super::environment::{Environment, lock_host};
use super::error::{RunError, chain};
use super::faults::{FaultContext, record_shutdown};
use super::timeline::Timeline;

/// Tears `env` down; returns the errors met (each also on the timeline).
pub(crate) async fn teardown(
    env: &mut Environment,
    timeline: Option<&mut Timeline>,
    ctx: Option<&FaultContext>,
) -> Vec<String> {
    let mut errors = Vec::new();
    let recorder = env.recorder.clone();
    let mut failed = |message: String| {
        recorder.record(EventKind::Error {
            message: message.clone(),
        });
        errors.push(message);
    };

    if let (Some(timeline), Some(ctx)) = (timeline, ctx) {
        for error in timeline.undo_remaining(ctx).await {
            failed(chain(&error));
        }
        ctx.headers.clear();
        env.recorder.step("faults undone", "");
    }

    // SIGKILL to every group and reap (bounded to 5 s in all); blocks this worker briefly.
    let events = env.supervisor.shutdown();
    record_shutdown(&env.recorder, &events);
    env.recorder.step(
        "processes stopped",
        format!("{} still running were killed", events.len()),
    );

    if let Some(proxy) = env.fault_proxy.as_mut() {
        match &proxy.embedded {
            Some(embedded) => {
                embedded.engine.shutdown().await;
                embedded.stop.cancel();
            }
            None => {
                for name in proxy.created.drain(..) {
                    if let Err(err) = proxy.client.delete_proxy(&name).await {
                        let error = RunError::FaultProxy {
                            api: proxy.client.base_url().to_owned(),
                            action: format!("delete proxy {name}"),
                            source: Box::new(err),
                        };
                        failed(chain(&error));
                    }
                }
            }
        }
        env.recorder.step("fault proxy stopped", "");
    }

    if !env.hosts.is_empty() {
        let hosts = std::mem::take(&mut env.hosts);
        let run = env.run_id.clone();
        let removed = tokio::task::spawn_blocking(move || {
            let mut problems = Vec::new();
            for host in &hosts {
                if let Err(err) = lock_host(host).teardown() {
                    problems.push(chain(&err));
                }
            }
            // Backstop: anything named after this run that is still there.
            match sweep(&Sweep::Run(run)) {
                Ok(report) => problems.extend(report.failures.iter().map(|e| chain(e))),
                Err(err) => problems.push(chain(&err)),
            }
            problems
        })
        .await;
        match removed {
            Ok(problems) => problems.into_iter().for_each(&mut failed),
            Err(join) => failed(format!("namespace teardown task failed: {join}")),
        }
        env.recorder.step("namespaces removed", "");
    }

    if let Some(service) = env.traces.as_ref().and_then(|t| t.embedded.as_ref()) {
        service.stop_receivers();
    }
    errors
}
