//! The "done when" drill end to end, with the real `chaos run` binary: one of two users
//! endpoints killed, latency injected on the other through the fault proxy, and the orders
//! upstream partitioned in its network namespace. The journal's timeline must match the
//! scenario within a few milliseconds, and nothing may be left behind.

mod run_support;

use run_support::{assert_nothing_left, code, fault, lateness, run, scenario, summary, timing};

/// How late an action may begin after its planned time (the runner aims for < 5 ms).
const MAX_LATE_US: i64 = 50_000;
/// How long an action may take to complete (a restart waits for readiness; nftables rules
/// load in ~15 ms).
const MAX_TOOK_US: i64 = 500_000;

#[test]
fn drill_with_kill_latency_and_partition_follows_its_timeline_and_leaves_nothing() {
    run_support::require_netns();
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let json = dir.path().join("journal-copy.json");
    let (output, journal) = run(
        &scenario("three-faults.yaml"),
        &run_dir,
        &["--json", json.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 0, "stderr:\n{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("completed: three-faults: "), "{stdout}");
    assert_eq!(journal["run"]["outcome"], "completed");
    assert_eq!(journal["run"]["exit_code"], 0);
    assert_eq!(journal["errors"], serde_json::json!([]));

    // --json writes the same journal.
    let copy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(copy["run"]["run_id"], journal["run"]["run_id"]);

    // The timeline matches the scenario: planned times as written, actual ones close.
    for (name, kind, target, at_ms, end_ms) in [
        ("crash", "kill", "users-a", 2_000, 6_000),
        ("slow", "latency", "users-b", 3_000, 7_000),
        ("cut", "partition", "orders", 4_000, 8_000),
    ] {
        let fault = fault(&journal, name);
        assert_eq!(fault["kind"], kind);
        assert_eq!(fault["target"], target);
        assert_eq!(fault["planned_start_us"], at_ms * 1_000);
        assert_eq!(fault["planned_end_us"], end_ms * 1_000);
        assert_eq!(fault["error"], serde_json::Value::Null);
        assert_eq!(fault["undone_at_teardown"], false);
        for action in ["applied", "undone"] {
            let (late, done) = timing(fault, action);
            assert!(
                (0..MAX_LATE_US).contains(&late),
                "{name} {action} began {late}µs late"
            );
            assert!(
                done >= late && done < MAX_TOOK_US,
                "{name} {action} done at +{done}µs"
            );
        }
    }
    let events: Vec<_> = journal["timeline"].as_array().unwrap().iter().collect();
    let offsets: Vec<i64> = events
        .iter()
        .map(|e| e["at_us"].as_i64().unwrap())
        .collect();
    assert!(
        offsets.windows(2).all(|w| w[0] <= w[1]),
        "timeline not sorted"
    );
    assert!(offsets[0] < 0, "setup events come before t = 0");
    let phases: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "fault")
        .map(|e| {
            format!(
                "{}:{}",
                e["fault"].as_str().unwrap(),
                e["phase"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            "crash:applied",
            "slow:applied",
            "cut:applied",
            "crash:undone",
            "slow:undone",
            "cut:undone"
        ]
    );
    let kill = events
        .iter()
        .find(|e| e["event"] == "process" && e["action"] == "killed")
        .expect("kill event");
    assert_eq!(kill["process"], "users-a");
    assert_eq!(kill["signal"], "SIGKILL");

    // Topology: the proxy and the namespace are where the scenario put them.
    let upstreams = journal["topology"]["upstreams"].as_array().unwrap();
    let instance = |name: &str| upstreams.iter().find(|u| u["name"] == name).unwrap();
    assert!(instance("users-b")["proxy"].is_string());
    assert!(instance("orders")["netns"].is_string());
    assert_ne!(
        instance("users-b")["address"],
        instance("users-b")["gateway_address"]
    );

    // The load ran its whole schedule and clients did not notice the faults.
    let load = &journal["load"];
    assert_eq!(load["planned"], 720);
    assert_eq!(load["recorded"], 720);
    let successes = load["overall"]["successes"].as_u64().unwrap();
    assert!(successes >= 713, "{successes} of 720 succeeded");
    assert_eq!(
        load["records"]["intended_us"].as_array().unwrap().len(),
        720
    );
    assert!(journal["metrics"]["scraped_us"].as_array().unwrap().len() >= 20);
    assert_eq!(journal["traces"]["settled"], true);

    let late = lateness(&journal);
    let (median, p90, max) = summary(&late);
    eprintln!("fault timing (began - planned): median {median}µs, p90 {p90}µs, max {max}µs");
    let took = journal["run"]["ended_us"].as_i64().unwrap()
        - journal["run"]["started_us"].as_i64().unwrap();
    eprintln!("wall time {:.2}s for a 12s load", took as f64 / 1e6);

    assert_nothing_left(&journal);
}
