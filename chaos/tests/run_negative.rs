//! Negative proofs: drills whose system cannot meet what they claim must fail, with exactly
//! the objectives that are wrong marked failed (exit 1), and a drill whose evidence cannot be
//! fetched must be inconclusive (exit 3), never passed. Each runs the real `chaos run`
//! binary against real processes; every objective kind has a variant here that must fail,
//! and the first also checks every report format.

mod run_support;

use run_support::{assert_nothing_left, code, fixture, run};
use serde_json::Value;

/// What one drill gave.
struct Drill {
    code: i32,
    stdout: String,
    /// `(kind, status)` per objective, in order.
    verdicts: Vec<(String, String)>,
    journal: Value,
    /// Holds the run folder (`run/`) and any report files.
    dir: tempfile::TempDir,
}

/// Runs fixture `name` with `extra` arguments (`{dir}` stands for the drill's folder).
fn drill(name: &str, extra: &[&str]) -> Drill {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().to_str().unwrap().to_owned();
    let mut args: Vec<String> = vec!["--color".into(), "never".into()];
    args.extend(extra.iter().map(|a| a.replace("{dir}", &folder)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (output, journal) = run(
        &fixture(&format!("{name}.yaml")),
        &dir.path().join("run"),
        &args,
    );
    let verdicts = journal["verdicts"]
        .as_array()
        .unwrap_or_else(|| panic!("no verdicts in the journal of {name}"))
        .iter()
        .map(|v| {
            (
                v["kind"].as_str().unwrap_or_default().to_owned(),
                v["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_nothing_left(&journal);
    Drill {
        code: code(&output),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        verdicts,
        journal,
        dir,
    }
}

fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, s)| ((*k).to_owned(), (*s).to_owned()))
        .collect()
}

#[test]
fn unprotected_kill_fails_errors_failover_rto_trace_and_metric_objectives_in_every_report() {
    let d = drill(
        "unprotected-kill",
        &["--junit", "{dir}/junit.xml", "--html", "{dir}/drill.html"],
    );
    assert_eq!(
        d.verdicts,
        expect(&[
            ("errors", "fail"),
            ("failover", "fail"),
            ("rto", "pass"),
            ("rto", "fail"),
            ("trace", "fail"),
            ("metric", "fail"),
        ]),
        "{}",
        d.journal["verdicts"]
    );
    assert_eq!(d.code, 1);
    assert_eq!(d.journal["run"]["outcome"], "completed");

    // Restarted at the window's end and serving at once: recovery from the crash's end is
    // immediate, seen alike from the clients and from the gateway's spans. From its start,
    // the impossible RTO is measured as what it is: the outage's length (2s).
    for (index, low, high) in [(2, 0.0, 0.05), (3, 1.95, 2.1)] {
        let rto = &d.journal["verdicts"][index];
        let checks = rto["evidence"]["checks"].as_array().unwrap();
        let seconds: Vec<f64> = checks
            .iter()
            .map(|c| c["value"]["seconds"].as_f64().unwrap())
            .collect();
        assert_eq!(seconds.len(), 2, "client and spans: {rto}");
        for s in &seconds {
            assert!((low..=high).contains(s), "{index}: {s}s in {rto}");
        }
        assert!((seconds[0] - seconds[1]).abs() <= 0.1, "{rto}");
    }

    // Terminal: one line per objective, measured against expected, then the summary.
    for line in [
        "  fail          expect[0] errors during crash: ",
        "  pass          expect[2] rto from crash.end: ",
        "  fail          expect[5] metric gateway_http_requests_total{status_class=\"5xx\"} whole: ",
        "unprotected-kill: 1 passed, 5 failed, 0 inconclusive (exit 1)",
    ] {
        assert!(
            d.stdout.contains(line),
            "missing {line:?} in:\n{}",
            d.stdout
        );
    }
    assert!(
        !d.stdout.contains('\u{1b}'),
        "--color never: {:?}",
        d.stdout
    );

    // JSON: the journal carries the verdicts, measured values and a summary.
    assert_eq!(
        d.journal["summary"],
        serde_json::json!({"passed": 1, "failed": 5, "inconclusive": 0, "status": "fail", "exit_code": 1})
    );
    let errors = &d.journal["verdicts"][0];
    assert_eq!(errors["threshold"], "< 1%");
    assert!(errors["value"]["ratio"].as_f64().unwrap() > 0.5, "{errors}");

    // JUnit: one testsuite, one testcase per objective; failures say measured vs expected.
    let xml = std::fs::read_to_string(d.dir.path().join("junit.xml")).unwrap();
    assert!(
        xml.contains(
            r#"<testsuite name="unprotected-kill" tests="6" skipped="0" errors="0" failures="5""#
        ),
        "{xml}"
    );
    assert!(xml.contains(r#"<failure message="measured "#), "{xml}");

    // HTML: the file asked for and the run folder's copy, both self-contained.
    for page in [
        d.dir.path().join("drill.html"),
        d.dir.path().join("run/report.html"),
    ] {
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(text.starts_with("<!DOCTYPE html>"), "{}", page.display());
        assert!(text.contains("unprotected-kill") && text.contains("<svg"));
        assert!(!text.contains("<script src") && !text.contains("<link "));
    }
}

#[test]
fn breaker_drill_without_a_breaker_fails_breaker_and_latency_objectives() {
    let Drill {
        code,
        verdicts,
        journal,
        ..
    } = drill("breaker-disabled", &[]);
    assert_eq!(
        verdicts,
        expect(&[
            ("breaker", "fail"),
            ("latency", "fail"),
            ("steady_state", "pass")
        ]),
        "{}",
        journal["verdicts"]
    );
    assert_eq!(code, 1);
    assert!(
        journal["verdicts"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no transition to open"),
        "{}",
        journal["verdicts"][0]
    );
}

#[test]
fn fallback_drill_without_a_fallback_fails_degradation() {
    let Drill {
        code,
        verdicts,
        journal,
        ..
    } = drill("no-fallback", &[]);
    assert_eq!(
        verdicts,
        expect(&[("degradation", "fail")]),
        "{}",
        journal["verdicts"]
    );
    assert_eq!(code, 1);
}

#[test]
fn unsteady_system_stops_the_drill_before_its_first_fault() {
    let Drill {
        code,
        verdicts,
        journal,
        ..
    } = drill("unsteady", &[]);
    assert_eq!(code, 1);
    assert_eq!(verdicts, expect(&[("steady_state", "fail")]));
    assert_eq!(journal["run"]["outcome"], "aborted");
    assert_eq!(journal["run"]["exit_code"], 1);
    let reason = journal["run"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("guard steady_state.before breached: error rate"),
        "{reason}"
    );
    // The gate is listed with the guards, and the fault never touched the system.
    assert_eq!(journal["guards"][0]["name"], "steady_state.before");
    assert!(
        journal["guards"][0]["breach"].is_object(),
        "{}",
        journal["guards"]
    );
    let fault = &journal["faults"][0];
    assert_eq!(fault["applied"], Value::Null, "{fault}");
    let events = journal["timeline"].as_array().unwrap();
    assert!(
        !events
            .iter()
            .any(|e| e["event"] == "fault" || (e["event"] == "process" && e["action"] == "killed")),
        "no fault event, nothing killed: {events:?}"
    );
    let gate = events
        .iter()
        .find(|e| e["event"] == "guard")
        .and_then(|e| e["at_us"].as_i64())
        .unwrap();
    assert!(
        gate < 2_000_000,
        "judged before the fault's start (2s): {gate}µs"
    );
}

#[test]
fn drill_with_unreachable_trace_backend_and_prometheus_is_inconclusive() {
    let Drill {
        code,
        verdicts,
        journal,
        ..
    } = drill("blind", &[]);
    assert_eq!(
        verdicts,
        expect(&[
            ("errors", "pass"),
            ("rto", "inconclusive"),
            ("metric", "inconclusive")
        ]),
        "{}",
        journal["verdicts"]
    );
    assert_eq!(code, 3);
    assert_eq!(journal["summary"]["status"], "inconclusive");
    let rto = &journal["verdicts"][1];
    assert!(
        rto["message"]
            .as_str()
            .unwrap()
            .contains("trace query failed"),
        "{rto}"
    );
}
