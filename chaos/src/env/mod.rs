//! The drill's environment: the processes it supervises and the network namespaces it
//! partitions, each built so that whatever a drill does to them is undone.
//!
//! What each piece guarantees about cleanup:
//!
//! - [`Supervisor`] (`process`): every child leads its own process group and carries a
//!   parent-death signal. [`Supervisor::shutdown`], also run on drop, SIGKILLs every live
//!   group and waits until each is reaped. If the runner dies, even by SIGKILL, the kernel
//!   SIGKILLs its direct children (`PR_SET_PDEATHSIG`). Faults are undone by the process
//!   operations themselves (`resume`, `restart`) or by shutdown.
//! - [`NetnsHost`] (`netns`, `partition`): [`NetnsHost::teardown`], also run on drop,
//!   kills what still runs inside, then deletes the partition table, the veth pair and
//!   the namespace; idempotent, errors are logged and never panic. The partition rules
//!   live inside the namespace, so the host's own firewall is never changed and a
//!   partition cannot outlive its namespace.
//! - [`sweep`]: a runner killed by SIGKILL cannot tear down its namespaces; names carry
//!   the owner's pid, and `sweep(&Sweep::Stale)` removes those whose owner is gone
//!   without touching live runs. The runner calls it after [`preflight`], before creating
//!   hosts.
//! - [`preflight`]: checks Linux, root, `ip` and `nft` before anything is created; the
//!   runner maps its error to exit 3.
//!
//! ```text
//! preflight -> sweep(Stale) -> NetnsHost::create ─┐
//!                              Supervisor::spawn(spec.in_netns(host.netns())) ─┐
//!   faults: kill | terminate | pause/resume | restart | host.partition/heal    │
//!   end (or error, or Ctrl-C): heal -> Supervisor::shutdown -> host.teardown ──┘
//! ```
//!
//! Files: `process/` (supervisor), `netns` (hosts), `partition` (nftables rules),
//! `subnet` (address allocation), `run_id` (names), `sweep`, `preflight`, `command`
//! (running `ip`/`nft` with deadlines), `error`.

mod command;
mod error;
mod netns;
mod partition;
mod preflight;
mod process;
mod run_id;
mod subnet;
mod sweep;

pub use self::error::{CommandError, EnvUnavailable, NetnsError, ProcessError};
pub use self::netns::NetnsHost;
pub use self::partition::{PartitionAction, PartitionEvent};
pub use self::preflight::preflight;
pub use self::process::{
    DEFAULT_READY_TIMEOUT, ExitKind, LISTENING_ON, ManagedProcess, ProcessAction, ProcessEvent,
    ProcessSpec, Ready, Supervisor,
};
pub use self::run_id::{InvalidRunId, RunId};
pub use self::sweep::{Sweep, SweepReport, sweep};
