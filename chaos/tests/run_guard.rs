//! A guard stops a drill early: the only upstream answers 500 to everything, the error-rate
//! guard is breached at its first check, `chaos run` exits 1 naming it, and the fault in
//! place (a toxic) is undone at teardown.

mod run_support;

use std::time::{Duration, Instant};

use run_support::{assert_nothing_left, code, fault, fixture, run};

#[test]
fn guard_breach_aborts_the_drill_with_exit_1_and_undoes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let began = Instant::now();
    let (output, journal) = run(&fixture("guard-abort.yaml"), dir.path(), &[]);
    let took = began.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 1, "stderr:\n{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("aborted: guard-abort: guard error-storm breached (error rate 100.0%)"),
        "{stdout}"
    );
    // 30 s of load planned; the guard is judged from 500 ms on.
    assert!(took < Duration::from_secs(15), "took {took:?}");

    assert_eq!(journal["run"]["outcome"], "aborted");
    assert_eq!(journal["run"]["exit_code"], 1);
    let guard = &journal["guards"][0];
    assert_eq!(guard["name"], "error-storm");
    assert_eq!(guard["condition"], "errors > 50%");
    let breach = &guard["breach"];
    assert_eq!(breach["measured"], "error rate 100.0%");
    let at = breach["at_us"].as_i64().unwrap();
    assert!((500_000..2_000_000).contains(&at), "breached at {at}µs");
    assert!(breach["samples"].as_u64().unwrap() >= 5);
    let stop = journal["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "stop")
        .expect("stop event");
    assert_eq!(
        stop["reason"],
        "guard error-storm breached: error rate 100.0%"
    );

    // The load was cut short; the toxic was removed at teardown.
    let cancelled = journal["load"]["cancelled_us"]
        .as_i64()
        .expect("load cancelled");
    assert!(
        cancelled >= at && cancelled < at + 500_000,
        "cancelled at {cancelled}µs"
    );
    let slow = fault(&journal, "slow");
    assert!(slow["applied"].is_object());
    assert!(slow["undone"].is_object(), "{slow}");
    assert_eq!(slow["undone_at_teardown"], true);
    assert_nothing_left(&journal);
}
