//! Removes namespace hosts left behind by runners that died without tearing them down.
//!
//! A runner killed by SIGKILL (or the OOM killer, or a power cut of its container) cannot
//! run `NetnsHost`'s drop: its namespaces and veths stay. Every name carries the owning
//! run id, which carries the owner's pid (see `run_id`), so a sweep can remove leftovers
//! without touching the hosts of runs still going on the same machine.
//!
//! When it runs: the runner calls `sweep(&Sweep::Stale)` after `preflight` and before
//! creating its own hosts, and `sweep(&Sweep::Run(own_id))` after tearing its hosts down,
//! as a backstop. The partition tables live inside the namespaces and go with them.
//!
//! NOTE(pid namespaces): owners are checked in this process's pid namespace. Two runners in
//! different pid namespaces sharing one network namespace (e.g. containers with
//! `--network host`) would see each other as dead; give such runners separate network
//! namespaces.

use std::path::Path;

use tracing::info;

use super::error::NetnsError;
use super::netns::{delete_link, delete_netns, kill_processes, list_links, list_netns};
use super::run_id::{RunId, host_veth_owner, netns_owner};

/// Which leftovers [`sweep`] removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sweep {
    /// Everything of one run, whether or not its owner is alive.
    Run(RunId),
    /// Everything whose owning process no longer exists.
    Stale,
}

/// What [`sweep`] removed, and what it could not.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SweepReport {
    /// Namespaces deleted (their processes killed first).
    pub netns: Vec<String>,
    /// Host-side veth interfaces deleted that had outlived their namespace.
    pub links: Vec<String>,
    /// Objects that could not be removed, one error each.
    pub failures: Vec<NetnsError>,
}

/// Removes the namespaces and host-side veths that `scope` selects among those named by
/// this module. Errors listing the host's state abort; errors removing one object are
/// collected in the report and the sweep goes on.
pub fn sweep(scope: &Sweep) -> Result<SweepReport, NetnsError> {
    let selected = |owner: Option<RunId>| match (owner, scope) {
        (Some(owner), Sweep::Run(run)) => owner == *run,
        (Some(owner), Sweep::Stale) => !is_alive(owner.owner_pid()),
        (None, _) => false,
    };
    let mut report = SweepReport::default();
    for netns in list_netns()? {
        if !selected(netns_owner(&netns)) {
            continue;
        }
        let removed = kill_processes(&netns).and_then(|()| delete_netns(&netns));
        match removed {
            Ok(()) => report.netns.push(netns),
            Err(err) => report.failures.push(err),
        }
    }
    // Deleting a namespace deletes its veth pair once its processes are gone; what is
    // left here lost its namespace some other way.
    for link in list_links()? {
        if !selected(host_veth_owner(&link)) {
            continue;
        }
        match delete_link(&link, &link) {
            Ok(()) => report.links.push(link),
            Err(err) => report.failures.push(err),
        }
    }
    if !report.netns.is_empty() || !report.links.is_empty() {
        info!(netns = ?report.netns, links = ?report.links, "Swept leftover namespace hosts");
    }
    Ok(report)
}

/// Whether `pid` names a process (zombies included) in this pid namespace.
fn is_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
}
