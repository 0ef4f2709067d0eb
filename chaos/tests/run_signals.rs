//! SIGINT in the middle of a drill, with the real `chaos run` binary: every fault in place
//! (a killed, a paused, a slowed and a partitioned upstream) is undone, and no process,
//! listener, namespace or nftables table remains. A second signal tears down at once.

mod run_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use run_support::{CHAOS, assert_nothing_left, fault, fixture, read_journal, wait_output};

/// Longest wait for the faults to be in place.
const APPLIED_WITHIN: Duration = Duration::from_secs(30);

/// `chaos run FIXTURE` with its stderr collected as it comes.
fn start_drill(dir: &std::path::Path, scenario: &str) -> (Child, Arc<Mutex<String>>) {
    run_support::require_gateway();
    run_support::require_netns();
    let mut child = Command::new(CHAOS)
        // -v: the info lines below say when each fault is in place.
        .args([
            "-v",
            "run",
            fixture(scenario).to_str().unwrap(),
            "--run-dir",
        ])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let collected = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = collected.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    (child, log)
}

/// Waits until the log holds every one of `needles`.
fn wait_for_log(log: &Mutex<String>, needles: &[&str]) {
    let deadline = Instant::now() + APPLIED_WITHIN;
    loop {
        {
            let log = log.lock().unwrap();
            if needles.iter().all(|needle| log.contains(needle)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{needles:?} not logged in time; log:\n{log}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the log shows every fault of `interrupted.yaml` applied.
fn wait_until_faults_applied(log: &Mutex<String>) {
    wait_for_log(log, &["Partitioned", "signal=SIGSTOP", "signal=SIGKILL"]);
}

fn sigint(child: &Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
}

#[test]
fn sigint_mid_drill_undoes_every_fault_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (child, log) = start_drill(dir.path(), "interrupted.yaml");
    wait_until_faults_applied(&log);
    let sent = Instant::now();
    sigint(&child);
    let output = wait_output(child, Duration::from_secs(30));
    let took = sent.elapsed();
    let log = log.lock().unwrap().clone();
    assert_eq!(output.status.code(), Some(3), "log:\n{log}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("interrupted: interrupted: interrupted by SIGINT; everything undone"),
        "{stdout}"
    );
    // 60 s of load planned: the stop and teardown take a few seconds at most.
    assert!(took < Duration::from_secs(10), "teardown took {took:?}");

    let journal = read_journal(dir.path()).expect("journal written at teardown");
    assert_eq!(journal["run"]["outcome"], "interrupted");
    assert_eq!(journal["run"]["exit_code"], 3);
    for name in ["slow", "cut", "paused"] {
        let fault = fault(&journal, name);
        assert!(fault["applied"].is_object(), "{fault}");
        assert!(fault["undone"].is_object(), "{fault}");
        assert_eq!(fault["undone_at_teardown"], true, "{fault}");
        assert_eq!(fault["error"], serde_json::Value::Null);
    }
    // Undone most recent first: the partition (applied last) before the toxic.
    let undone: Vec<String> = journal["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "fault" && e["phase"] == "undone")
        .map(|e| e["fault"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(undone.len(), 3, "{undone:?}");
    let crash = fault(&journal, "crash");
    assert!(crash["applied"].is_object());
    assert_eq!(
        crash["undone"],
        serde_json::Value::Null,
        "stay_down is held to the end"
    );
    assert_nothing_left(&journal);
}

#[test]
fn second_sigint_tears_down_at_once_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (child, log) = start_drill(dir.path(), "slow-teardown.yaml");
    wait_for_log(&log, &["Partitioned"]);
    let pid = child.id();
    sigint(&child);
    // The first signal starts the teardown, whose command fault's stop takes 20 s; the
    // second one must not wait for it. (Signals sent back to back would merge into one.)
    wait_for_log(&log, &["Stopping the drill"]);
    let second = Instant::now();
    sigint(&child);
    let output = wait_output(child, Duration::from_secs(30));
    let took = second.elapsed();
    let log = log.lock().unwrap().clone();
    assert_eq!(output.status.code(), Some(3), "log:\n{log}");
    assert!(
        log.contains("Second signal: tearing down at once"),
        "log:\n{log}"
    );
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} after the second signal"
    );

    // No journal to read the pids from: the run folder and the run id (the runner's pid in
    // base 36) name everything the run started.
    let run_dir = dir.path().to_str().unwrap().to_owned();
    let ps = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    let left: Vec<&str> = ps.lines().filter(|l| l.contains(&run_dir)).collect();
    assert!(left.is_empty(), "processes of the run left: {left:?}");
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let netns = String::from_utf8_lossy(&netns.stdout);
    let owner = base36(pid);
    assert!(
        !netns.contains(&format!("chaos-{owner}")),
        "namespaces left:\n{netns}"
    );
    let links = Command::new("ip").args(["link", "show"]).output().unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(
        !links.contains(&format!("chv{owner}")),
        "veths left:\n{links}"
    );
}

/// `pid` as the 5 base-36 digits that start its run ids.
fn base36(mut pid: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut text = [b'0'; 5];
    for slot in text.iter_mut().rev() {
        *slot = DIGITS[(pid % 36) as usize];
        pid /= 36;
    }
    String::from_utf8(text.to_vec()).unwrap()
}
