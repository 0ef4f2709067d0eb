//! Shared harness of the `run_*` tests: the real `chaos run` binary on fixture scenarios,
//! its journal, and the checks that a run left nothing behind (processes, listeners,
//! namespaces, nftables tables, veths).

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use serde_json::Value;

/// The `chaos` binary under test.
pub const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");

/// Upper bound on one whole drill run by a test.
pub const RUN_LIMIT: Duration = Duration::from_secs(90);

/// A fixture scenario of `chaos/tests/fixtures/run`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run")
        .join(name)
}

/// A scenario of the repository's `scenarios/` folder.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name)
}

/// Fails (never skips) when the gateway binary the runner spawns was not built.
pub fn require_gateway() {
    let gateway = Path::new(CHAOS).with_file_name("gateway");
    assert!(
        gateway.is_file(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`)",
        gateway.display()
    );
}

/// Fails (never skips) when the machine cannot host namespaces.
pub fn require_netns() {
    if let Err(err) = chaos::env::preflight() {
        panic!("these tests need real network namespaces (run as root on Linux): {err}");
    }
}

/// `chaos ARGS` with `envs`, waited for within [`RUN_LIMIT`] (killed past it).
pub fn chaos(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(CHAOS);
    command
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("start chaos");
    wait_output(child, RUN_LIMIT)
}

/// Waits for `child` to exit within `limit`, killing it past the limit.
pub fn wait_output(mut child: std::process::Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait().expect("wait for chaos") {
            Some(_) => return child.wait_with_output().expect("chaos output"),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let output = child.wait_with_output().expect("chaos output");
                panic!(
                    "chaos did not exit within {limit:?}; stderr:\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// `chaos run SCENARIO --run-dir DIR -q` (plus `extra`); returns the output and the journal.
pub fn run(scenario: &Path, dir: &Path, extra: &[&str]) -> (Output, Value) {
    require_gateway();
    let mut args = vec![
        "-q",
        "run",
        scenario.to_str().expect("utf-8 path"),
        "--run-dir",
        dir.to_str().expect("utf-8 path"),
    ];
    args.extend(extra);
    let output = chaos(&args, &[]);
    let journal = read_journal(dir).unwrap_or_else(|| {
        panic!(
            "no journal in {}; exit {:?}, stderr:\n{}",
            dir.display(),
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, journal)
}

/// The journal a run wrote into `dir`.
pub fn read_journal(dir: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join("journal.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The exit code, with stderr on failure.
pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or_else(|| {
        panic!(
            "chaos was killed by a signal; stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The journal's record of fault `name`.
pub fn fault<'a>(journal: &'a Value, name: &str) -> &'a Value {
    journal["faults"]
        .as_array()
        .and_then(|faults| faults.iter().find(|f| f["name"] == name))
        .unwrap_or_else(|| panic!("no fault {name} in the journal"))
}

/// `(began - planned, done - planned)` of a fault's apply and undo, microseconds.
pub fn timing(fault: &Value, action: &str) -> (i64, i64) {
    let planned = match action {
        "applied" => fault["planned_start_us"].as_i64(),
        _ => fault["planned_end_us"].as_i64(),
    }
    .expect("planned time");
    let record = &fault[action];
    let began = record["began_us"]
        .as_i64()
        .unwrap_or_else(|| panic!("{} not {action}: {fault}", fault["name"]));
    let done = record["done_us"].as_i64().expect("done time");
    (began - planned, done - planned)
}

/// Every lateness `began - planned` (µs) of actions run on schedule (not at teardown).
pub fn lateness(journal: &Value) -> Vec<i64> {
    let mut late = Vec::new();
    for fault in journal["faults"].as_array().into_iter().flatten() {
        if fault["applied"].is_object() {
            late.push(timing(fault, "applied").0);
        }
        if fault["undone"].is_object() && fault["undone_at_teardown"] == false {
            late.push(timing(fault, "undone").0);
        }
    }
    late
}

/// Every pid the journal names (process events and topology).
pub fn pids(journal: &Value) -> BTreeSet<i32> {
    let mut pids = BTreeSet::new();
    for event in journal["timeline"].as_array().into_iter().flatten() {
        if event["event"] == "process" {
            pids.insert(event["pid"].as_i64().expect("pid") as i32);
        }
    }
    pids
}

/// Every address something of the run listened on: gateway, instances, proxies, the
/// embedded trace store and fault proxy.
pub fn addresses(journal: &Value) -> BTreeSet<String> {
    let topology = &journal["topology"];
    let mut addresses = BTreeSet::new();
    let mut add = |value: &Value| {
        if let Some(text) = value.as_str() {
            addresses.insert(text.trim_start_matches("http://").to_owned());
        }
    };
    add(&topology["gateway"]["data"]);
    add(&topology["gateway"]["admin"]);
    for instance in topology["upstreams"].as_array().into_iter().flatten() {
        add(&instance["address"]);
        add(&instance["gateway_address"]);
    }
    add(&topology["traces"]["url"]);
    add(&topology["traces"]["query"]);
    add(&topology["fault_proxy"]["url"]);
    addresses
}

/// Asserts that nothing of the run is left: no process, no listener, no namespace, veth
/// or nftables table named after its run id.
pub fn assert_nothing_left(journal: &Value) {
    assert_nothing_left_except(journal, &[]);
}

/// [`assert_nothing_left`], for a run in this process whose embedded trace store still
/// serves queries (the caller holds it).
pub fn assert_nothing_left_but_traces(journal: &Value) {
    let query = journal["topology"]["traces"]["query"]
        .as_str()
        .unwrap_or_default();
    assert_nothing_left_except(journal, &[query.trim_start_matches("http://")]);
}

/// [`assert_nothing_left`], except the listeners at `kept` (servers the run did not start).
pub fn assert_nothing_left_except(journal: &Value, kept: &[&str]) {
    let pids = pids(journal);
    assert!(!pids.is_empty(), "the journal names no process");
    for pid in &pids {
        let alive = kill(Pid::from_raw(*pid), None);
        assert_eq!(alive, Err(Errno::ESRCH), "process {pid} is still there");
    }
    for address in addresses(journal) {
        if kept.contains(&address.as_str()) {
            continue;
        }
        let addr: SocketAddr = address.parse().expect("socket address");
        let connected = TcpStream::connect_timeout(&addr, Duration::from_millis(300));
        assert!(connected.is_err(), "{address} still accepts connections");
    }
    let run_id = journal["run"]["run_id"]
        .as_str()
        .expect("run id")
        .to_owned();
    let netns = text_of("ip", &["netns", "list"]);
    assert!(
        !netns.contains(&run_id),
        "namespaces of run {run_id} left:\n{netns}"
    );
    let links = text_of("ip", &["link", "show"]);
    assert!(
        !links.contains(&format!("chv{run_id}")),
        "veths of run {run_id} left:\n{links}"
    );
    let tables = text_of("nft", &["list", "tables"]);
    assert!(
        !tables.contains(&run_id),
        "nftables tables of run {run_id} left:\n{tables}"
    );
}

fn text_of(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(output.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `(median, p90, max)` of `values`.
pub fn summary(values: &[i64]) -> (i64, i64, i64) {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.9), at(1.0))
}
