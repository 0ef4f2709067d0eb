//! Faults that cannot be active at the same time on one upstream instance.
//!
//! Two faults whose catalog slots conflict ([`Slot::conflicts_with`]) must not be active at
//! the same time on a shared instance. A `kill`/`terminate` with `then: stay_down` holds its
//! instance until the load ends. A bare upstream name covers every replica, so it shares
//! instances with any replica of that upstream.

use std::time::Duration;

use config_yaml::FieldPath;

use super::catalog::Slot;
use super::fault::{AfterKill, FaultKind, FaultPlan};
use super::faults::FaultContext;
use super::report::Report;
use super::window::Interval;

/// Reports each fault that overlaps an earlier one in a conflicting slot on a shared instance.
pub(crate) fn overlaps(
    report: &mut Report<'_>,
    ctx: &FaultContext<'_>,
    duration: Duration,
    plans: &[(usize, FaultPlan)],
) {
    for (j, (index, later)) in plans.iter().enumerate() {
        let Some(slot) = later.kind.kind().spec().slot else {
            continue;
        };
        for (_, earlier) in plans.iter().take(j) {
            let Some(other) = earlier.kind.kind().spec().slot else {
                continue;
            };
            if !slot.conflicts_with(other) || !shares_instance(ctx, earlier, later) {
                continue;
            }
            let (a, b) = (held(earlier, duration), held(later, duration));
            if !a.overlaps(&b) {
                continue;
            }
            let reason = match (slot, other) {
                _ if b.start >= earlier.end(duration) => {
                    "the earlier fault keeps the instance down until the load ends (`then: stay_down`)"
                }
                (Slot::Process, Slot::Process) => "one process fault at a time per instance",
                (Slot::Process, _) | (_, Slot::Process) => {
                    "a process fault restarts the instance and loses the behaviour `http_errors` set"
                }
                (Slot::Behaviour, _) => "undoing one `http_errors` would undo the other",
                (Slot::Listener, _) => "the first `refuse` to end would listen again",
                (Slot::Partition, _) => "the first `partition` to end would heal the other",
                (Slot::GatewayFilter, _) => "each request carries one set of fault headers",
            };
            let target = later
                .kind
                .target()
                .map_or_else(|| "the gateway".to_owned(), |t| format!("`{t}`"));
            let d = report.invalid(
                FieldPath::root().key("faults").index(*index).key("at"),
                format!(
                    "`{}` overlaps `{}` on {target} ({} and {})",
                    later.name, earlier.name, b, a
                ),
                format!("faults that do not overlap: {reason}"),
            );
            d.value = None;
        }
    }
}

/// When a fault holds its slot: its window, or to the end with `then: stay_down`.
fn held(plan: &FaultPlan, duration: Duration) -> Interval {
    let stays_down = matches!(
        plan.kind,
        FaultKind::Kill {
            then: AfterKill::StayDown,
            ..
        } | FaultKind::Terminate {
            then: AfterKill::StayDown,
            ..
        }
    );
    let mut interval = plan.interval(duration);
    if stays_down {
        interval.end = duration;
    }
    interval
}

fn shares_instance(ctx: &FaultContext<'_>, a: &FaultPlan, b: &FaultPlan) -> bool {
    match (a.kind.target(), b.kind.target()) {
        (None, None) => true,
        (Some(x), Some(y)) if x.upstream == y.upstream => {
            let single = ctx
                .upstreams
                .get(&x.upstream)
                .and_then(Option::as_ref)
                .is_some_and(|u| u.instances() == 1);
            single || x.replica.is_none() || y.replica.is_none() || x.replica == y.replica
        }
        _ => false,
    }
}
