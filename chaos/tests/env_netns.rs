//! Network-namespace hosts and real partitions (root, Linux, iproute2, nftables): an
//! upstream inside a namespace, reached over its veth, cut off by nftables, healed.
//!
//! Every test first runs `preflight` and fails with its message where namespaces are not
//! available: these tests are never skipped.

mod env_support;

use std::mem::ManuallyDrop;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use chaos::env::{
    ExitKind, NetnsError, NetnsHost, PartitionAction, ProcessSpec, RunId, Supervisor, Sweep,
    preflight, sweep,
};
use nix::sys::signal::Signal;

use env_support::{
    CHAOS, Connect, HELPER_ENV, Helper, WAIT, connect, get_status, require_netns, run_dir,
};

/// Bound on the connect attempt that must time out during a partition.
const PARTITIONED_CONNECT: Duration = Duration::from_secs(1);

fn run(command: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(command)
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{command} {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn netns_list() -> String {
    run("ip", &["netns", "list"])
}

fn links() -> String {
    run("ip", &["link", "show"])
}

fn host_tables() -> String {
    run("nft", &["list", "tables"])
}

/// `chaos upstream` inside `host`'s namespace, on its address with a free port.
fn upstream_in(host: &NetnsHost, name: &str) -> ProcessSpec {
    let listen = SocketAddr::new(host.addr().into(), 0);
    ProcessSpec::chaos_upstream(CHAOS, name, listen).in_netns(host.netns())
}

#[test]
fn preflight_passes_on_this_machine() {
    // CI runs as root with iproute2 and nftables; anything else must fail loudly.
    require_netns();
    assert!(preflight().is_ok());
}

#[tokio::test]
async fn netns_upstream_answers_then_partition_times_out_then_heal_answers() {
    require_netns();
    let dir = run_dir();
    let host = NetnsHost::create(&RunId::generate(), 0).unwrap();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let upstream = supervisor
        .spawn(upstream_in(&host, "users-b"))
        .await
        .unwrap();
    let addr = upstream.addr().expect("announced address");
    assert_eq!(addr.ip(), host.addr());
    assert_eq!(get_status(addr, "/healthz").await, 200);

    let cut = host.partition().unwrap();

    assert_eq!(
        (cut.action, cut.netns.as_str()),
        (PartitionAction::Partitioned, host.netns())
    );
    assert!(host.is_partitioned().unwrap());
    assert!(
        !host_tables().contains(host.table()),
        "rules live in the namespace only"
    );
    let began = Instant::now();
    let outcome = connect(addr, PARTITIONED_CONNECT).await;
    let took = began.elapsed();
    assert!(
        matches!(outcome, Connect::TimedOut),
        "no SYN-ACK expected, got {outcome:?}"
    );
    assert!(
        took >= PARTITIONED_CONNECT && took < PARTITIONED_CONNECT * 2,
        "{took:?}"
    );
    assert!(upstream.is_running(), "a partition is not a crash");

    let healed = host.heal().unwrap();

    assert_eq!(healed.action, PartitionAction::Healed);
    assert!(healed.at >= cut.at);
    assert!(!host.is_partitioned().unwrap());
    assert_eq!(get_status(addr, "/healthz").await, 200);
}

#[tokio::test]
async fn partition_and_heal_are_idempotent() {
    require_netns();
    let host = NetnsHost::create(&RunId::generate(), 0).unwrap();

    host.partition().unwrap();
    host.partition().unwrap();
    assert!(host.is_partitioned().unwrap());
    host.heal().unwrap();
    host.heal().unwrap();

    assert!(!host.is_partitioned().unwrap());
}

#[tokio::test]
async fn restart_inside_a_namespace_keeps_its_address() {
    require_netns();
    let dir = run_dir();
    let host = NetnsHost::create(&RunId::generate(), 0).unwrap();
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let upstream = supervisor
        .spawn(upstream_in(&host, "users-c"))
        .await
        .unwrap();
    let addr = upstream.addr().unwrap();

    upstream.restart().await.unwrap();

    assert_eq!(upstream.addr(), Some(addr));
    assert_eq!(get_status(addr, "/healthz").await, 200);
}

#[tokio::test]
async fn teardown_removes_namespace_veth_and_table_and_kills_what_ran_inside() {
    require_netns();
    let dir = run_dir();
    let mut host = NetnsHost::create(&RunId::generate(), 0).unwrap();
    let (netns, link, table) = (
        host.netns().to_owned(),
        host.host_interface().to_owned(),
        host.table().to_owned(),
    );
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let inside = supervisor
        .spawn(
            ProcessSpec::new("inside", "sleep")
                .args(["1000"])
                .in_netns(&netns),
        )
        .await
        .unwrap();
    host.partition().unwrap();
    assert!(netns_list().contains(&netns) && links().contains(&link));

    host.teardown().unwrap();

    assert!(!netns_list().contains(&netns));
    assert!(!links().contains(&link));
    assert!(!host_tables().contains(&table));
    assert_eq!(
        inside.wait(WAIT).await,
        Some(ExitKind::Signal(Signal::SIGKILL))
    );
    host.teardown().unwrap();
}

#[test]
fn dropping_a_host_tears_it_down() {
    require_netns();
    let host = NetnsHost::create(&RunId::generate(), 0).unwrap();
    let (netns, link) = (host.netns().to_owned(), host.host_interface().to_owned());
    host.partition().unwrap();

    drop(host);

    assert!(!netns_list().contains(&netns));
    assert!(!links().contains(&link));
}

#[tokio::test]
async fn two_hosts_at_once_get_distinct_subnets_and_partition_independently() {
    require_netns();
    let dir = run_dir();
    let run = RunId::generate();
    // Created concurrently: the allocation lock must keep their subnets apart.
    let (a, b) = thread::scope(|scope| {
        let a = scope.spawn(|| NetnsHost::create(&run, 0));
        let b = scope.spawn(|| NetnsHost::create(&run, 1));
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert_ne!(a.addr(), b.addr());
    assert_ne!(a.host_addr(), b.host_addr());
    let supervisor = Supervisor::new(dir.path()).unwrap();
    let up_a = supervisor.spawn(upstream_in(&a, "a")).await.unwrap();
    let up_b = supervisor.spawn(upstream_in(&b, "b")).await.unwrap();
    let (addr_a, addr_b) = (up_a.addr().unwrap(), up_b.addr().unwrap());

    a.partition().unwrap();

    assert!(matches!(
        connect(addr_a, PARTITIONED_CONNECT).await,
        Connect::TimedOut
    ));
    assert_eq!(get_status(addr_b, "/healthz").await, 200);
    a.heal().unwrap();
    assert_eq!(get_status(addr_a, "/healthz").await, 200);
}

#[test]
fn create_rejects_an_index_over_99() {
    let result = NetnsHost::create(&RunId::generate(), 100);

    assert!(
        matches!(
            result,
            Err(NetnsError::IndexOutOfRange {
                index: 100,
                max: 99
            })
        ),
        "{result:?}"
    );
}

#[test]
fn sweep_of_a_run_removes_that_run_only() {
    require_netns();
    // A host whose drop never runs, as after a crash.
    let leftover = ManuallyDrop::new(NetnsHost::create(&RunId::generate(), 0).unwrap());
    let gone_run: RunId = leftover.netns()["chaos-".len()..][..6].parse().unwrap();
    let kept = NetnsHost::create(&RunId::generate(), 0).unwrap();

    let report = sweep(&Sweep::Run(gone_run)).unwrap();

    assert_eq!(report.netns, [leftover.netns().to_owned()]);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(!netns_list().contains(leftover.netns()));
    assert!(!links().contains(leftover.host_interface()));
    assert!(netns_list().contains(kept.netns()));
}

const NETNS: &str = "crashed runner netns ";
const LINK: &str = "crashed runner link ";

#[tokio::test]
async fn sweep_of_stale_removes_a_killed_runners_hosts_and_keeps_live_ones() {
    require_netns();
    let mut helper = Helper::start("crashed_runner_helper", "1");
    let (netns, link) = (helper.line(NETNS).await, helper.line(LINK).await);
    let live = NetnsHost::create(&RunId::generate(), 0).unwrap();
    assert!(netns_list().contains(&netns));

    let before = sweep(&Sweep::Stale).unwrap();
    assert!(
        !before.netns.contains(&netns),
        "its runner is alive: {before:?}"
    );
    helper.sigkill().await;
    let report = sweep(&Sweep::Stale).unwrap();

    assert!(report.netns.contains(&netns), "{report:?}");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(!report.netns.iter().any(|name| name == live.netns()));
    assert!(!netns_list().contains(&netns));
    assert!(!links().contains(&link));
    assert!(netns_list().contains(live.netns()));
}

/// Helper mode of `sweep_of_stale_removes_a_killed_runners_hosts_and_keeps_live_ones`: a
/// runner that creates a host, prints its names and waits to be killed.
#[test]
#[ignore = "helper process, started by sweep_of_stale_removes_a_killed_runners_hosts_and_keeps_live_ones"]
fn crashed_runner_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let host = NetnsHost::create(&RunId::generate(), 0).unwrap();
    println!("\n{NETNS}{}", host.netns());
    println!("{LINK}{}", host.host_interface());
    loop {
        thread::park();
    }
}
