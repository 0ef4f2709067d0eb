//! Network-namespace hosts: an upstream's own network stack behind a veth pair, so a
//! partition is a real one (dropped packets, connect timeouts), not a proxy's imitation.
//!
//! ```text
//!  host namespace                         namespace chaos-<run>-<n>
//!  gateway ── chv<run><n>h 10.200.X.1/30 ═══ chv<run><n>n 10.200.X.2/30 ── upstream
//!                                            table inet chaos_<run>_<n> (while partitioned)
//! ```
//!
//! Everything is done with the `ip` and `nft` commands (iproute2, nftables), each with a
//! deadline. Calls block for a few milliseconds each; async callers that care wrap them in
//! `spawn_blocking`.

use std::net::Ipv4Addr;
use std::time::SystemTime;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tracing::{debug, info, warn};

use super::command::Tool;
use super::error::{CommandError, NetnsError};
use super::partition::{self, PartitionAction, PartitionEvent};
use super::run_id::{HostNames, MAX_INDEX, RunId};
use super::subnet::{self, AllocationLock, POOL, Subnet};

/// A network namespace with a veth pair to the host and a /30 of its own.
///
/// Dropping it tears it down (see [`NetnsHost::teardown`]).
#[derive(Debug)]
pub struct NetnsHost {
    names: HostNames,
    subnet: Subnet,
    torn_down: bool,
}

// === impl NetnsHost ===

impl NetnsHost {
    /// Creates namespace `chaos-<run>-<index>`, its veth pair and addresses, with the
    /// namespace's loopback up and its default route via the host side.
    ///
    /// `index` (0 to 99) tells the hosts of one run apart. The /30 is the first free one
    /// of 10.200.0.0/16 from slot `index` on, chosen under a machine-wide lock so
    /// concurrent runs get distinct subnets. A failure part way removes what was made.
    pub fn create(run: &RunId, index: u8) -> Result<NetnsHost, NetnsError> {
        if index > MAX_INDEX {
            return Err(NetnsError::IndexOutOfRange {
                index,
                max: MAX_INDEX,
            });
        }
        let names = HostNames::new(run, index);
        // Dropped last (declared first): a failed setup is torn down under the lock.
        let lock = AllocationLock::acquire()?;
        let subnet = subnet::pick(u32::from(index), &subnet::used_networks()?)
            .ok_or(NetnsError::NoFreeSubnet { pool: POOL })?;
        if list_netns()?.contains(&names.netns) {
            return Err(NetnsError::Exists { name: names.netns });
        }
        step(
            &names.netns,
            "create the namespace",
            ["netns", "add", &names.netns],
        )?;
        let host = NetnsHost {
            names,
            subnet,
            torn_down: false,
        };
        let n = &host.names;
        let host_cidr = Subnet::with_prefix(subnet.host());
        let ns_cidr = Subnet::with_prefix(subnet.netns());
        let gateway = subnet.host().to_string();
        host.step(
            "create the veth pair",
            [
                "link",
                "add",
                &n.host_veth,
                "type",
                "veth",
                "peer",
                "name",
                &n.ns_veth,
                "netns",
                &n.netns,
            ],
        )?;
        host.step(
            "address the host side",
            ["addr", "add", &host_cidr, "dev", &n.host_veth],
        )?;
        // Other allocators see the /30 as used from here on.
        drop(lock);
        host.step(
            "bring the host side up",
            ["link", "set", &n.host_veth, "up"],
        )?;
        host.step(
            "address the namespace side",
            ["-n", &n.netns, "addr", "add", &ns_cidr, "dev", &n.ns_veth],
        )?;
        host.step(
            "bring the namespace side up",
            ["-n", &n.netns, "link", "set", &n.ns_veth, "up"],
        )?;
        host.step(
            "bring loopback up",
            ["-n", &n.netns, "link", "set", "lo", "up"],
        )?;
        host.step(
            "route the namespace via the host",
            ["-n", &n.netns, "route", "add", "default", "via", &gateway],
        )?;
        info!(netns = %n.netns, addr = %subnet.netns(), host_addr = %subnet.host(), "Namespace host created");
        Ok(host)
    }

    /// The namespace's name, for `ip netns exec` and `ProcessSpec::netns`.
    pub fn netns(&self) -> &str {
        &self.names.netns
    }

    /// The namespace side's address: where the gateway reaches processes inside.
    pub fn addr(&self) -> Ipv4Addr {
        self.subnet.netns()
    }

    /// The host side's address: where processes inside reach the host (their default
    /// route goes through it too).
    pub fn host_addr(&self) -> Ipv4Addr {
        self.subnet.host()
    }

    /// The host-side veth interface, e.g. for `ip link` checks.
    pub fn host_interface(&self) -> &str {
        &self.names.host_veth
    }

    /// The nftables table that holds the partition rules, inside the namespace.
    pub fn table(&self) -> &str {
        &self.names.table
    }

    /// Drops all traffic between the host and the namespace, in both directions, until
    /// [`heal`](Self::heal). Partitioning a partitioned host is a no-op.
    pub fn partition(&self) -> Result<PartitionEvent, NetnsError> {
        let n = &self.names;
        partition::install(&n.netns, &n.table, &n.ns_veth)
            .map_err(|source| self.error("load the partition rules", source))?;
        info!(netns = %n.netns, table = %n.table, "Partitioned");
        Ok(self.event(PartitionAction::Partitioned))
    }

    /// Removes the partition rules; healing an unpartitioned host is a no-op.
    pub fn heal(&self) -> Result<PartitionEvent, NetnsError> {
        let n = &self.names;
        partition::remove(&n.netns, &n.table)
            .map_err(|source| self.error("delete the partition rules", source))?;
        info!(netns = %n.netns, "Healed");
        Ok(self.event(PartitionAction::Healed))
    }

    /// Whether the partition table is loaded, as nftables reports it.
    pub fn is_partitioned(&self) -> Result<bool, NetnsError> {
        partition::is_installed(&self.names.netns, &self.names.table)
            .map_err(|source| self.error("list the namespace's tables", source))
    }

    /// Kills every process left in the namespace, then deletes the partition table, the
    /// veth pair and the namespace.
    ///
    /// Idempotent: each step checks whether its object still exists, so a second call,
    /// or a call after [`sweep`](super::sweep), succeeds. Every step is attempted even
    /// when one fails; the first error is returned and all are logged. Runs on drop.
    pub fn teardown(&mut self) -> Result<(), NetnsError> {
        if self.torn_down {
            return Ok(());
        }
        let n = &self.names;
        let mut first = None;
        let mut note = |result: Result<(), NetnsError>| {
            if let Err(err) = result {
                warn!(netns = %n.netns, error = %err, "Namespace teardown step failed");
                first.get_or_insert(err);
            }
        };
        let exists = list_netns().map(|names| names.contains(&n.netns));
        if matches!(exists, Ok(true)) {
            note(kill_processes(&n.netns));
            note(
                partition::remove(&n.netns, &n.table)
                    .map_err(|source| self.error("delete the partition rules", source)),
            );
        }
        note(exists.map(drop));
        note(delete_link(&n.netns, &n.host_veth));
        note(delete_netns(&n.netns));
        match first {
            Some(err) => Err(err),
            None => {
                self.torn_down = true;
                debug!(netns = %n.netns, "Namespace host torn down");
                Ok(())
            }
        }
    }

    fn step<const N: usize>(&self, what: &'static str, args: [&str; N]) -> Result<(), NetnsError> {
        step(&self.names.netns, what, args)
    }

    fn error(&self, step: &'static str, source: CommandError) -> NetnsError {
        NetnsError::Step {
            step,
            name: self.names.netns.clone(),
            source,
        }
    }

    fn event(&self, action: PartitionAction) -> PartitionEvent {
        PartitionEvent {
            at: SystemTime::now(),
            netns: self.names.netns.clone(),
            action,
        }
    }
}

impl Drop for NetnsHost {
    fn drop(&mut self) {
        if let Err(err) = self.teardown() {
            warn!(netns = %self.names.netns, error = %err, "Namespace host not fully removed; `sweep` will retry");
        }
    }
}

/// Runs `ip ARGS` as one named step of setting up or removing `netns`.
fn step<const N: usize>(
    netns: &str,
    what: &'static str,
    args: [&str; N],
) -> Result<(), NetnsError> {
    Tool::ip(args)
        .run()
        .map(drop)
        .map_err(|source| NetnsError::Step {
            step: what,
            name: netns.to_owned(),
            source,
        })
}

/// Names of all network namespaces (`ip -j netns list`).
pub(crate) fn list_netns() -> Result<Vec<String>, NetnsError> {
    let items = subnet::json_array(&Tool::ip(["-j", "netns", "list"]))?;
    Ok(names_of(&items, "name"))
}

/// Names of all links in the host's namespace (`ip -j link show`).
pub(crate) fn list_links() -> Result<Vec<String>, NetnsError> {
    let items = subnet::json_array(&Tool::ip(["-j", "link", "show"]))?;
    Ok(names_of(&items, "ifname"))
}

fn names_of(items: &[serde_json::Value], key: &str) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| item[key].as_str().map(str::to_owned))
        .collect()
}

/// SIGKILLs every process inside `netns`, so deleting it frees it at once.
pub(crate) fn kill_processes(netns: &str) -> Result<(), NetnsError> {
    let pids = Tool::ip(["netns", "pids", netns])
        .run()
        .map_err(|source| NetnsError::Step {
            step: "list the processes inside",
            name: netns.to_owned(),
            source,
        })?;
    for pid in pids.split_whitespace().filter_map(|pid| pid.parse().ok()) {
        warn!(netns, pid, "Killing a process left in the namespace");
        // ESRCH: it exited meanwhile, which is the goal.
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    Ok(())
}

/// Deletes a host-side link (and with it its veth peer); fine if it is already gone.
pub(crate) fn delete_link(netns: &str, link: &str) -> Result<(), NetnsError> {
    ensure_gone(netns, "delete the veth pair", ["link", "del", link], || {
        list_links().map(|links| links.iter().any(|name| name == link))
    })
}

/// Deletes a namespace's name; fine if it is already gone.
pub(crate) fn delete_netns(netns: &str) -> Result<(), NetnsError> {
    ensure_gone(
        netns,
        "delete the namespace",
        ["netns", "del", netns],
        || list_netns().map(|names| names.iter().any(|name| name == netns)),
    )
}

/// Runs a delete; when it fails, it counts as done if the object no longer exists (it
/// was already gone, or vanished along with its namespace or veth peer).
fn ensure_gone<const N: usize>(
    netns: &str,
    what: &'static str,
    args: [&str; N],
    exists: impl Fn() -> Result<bool, NetnsError>,
) -> Result<(), NetnsError> {
    match step(netns, what, args) {
        Ok(()) => Ok(()),
        Err(err) => match exists() {
            Ok(false) => Ok(()),
            _ => Err(err),
        },
    }
}
