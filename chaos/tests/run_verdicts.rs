//! `chaos run` judging a drill end to end: a gateway with no protection loses requests while
//! its only endpoint is down, so the drill must fail (exit 1) and say why in every report,
//! while its recovery objective passes from both views and an objective whose evidence
//! cannot be fetched is inconclusive, never passed.

mod run_support;

use run_support::{assert_nothing_left, code, fixture, run};
use serde_json::Value;

fn verdict<'a>(journal: &'a Value, kind: &str) -> &'a Value {
    journal["verdicts"]
        .as_array()
        .and_then(|all| all.iter().find(|v| v["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} verdict in {}", journal["verdicts"]))
}

#[test]
fn unprotected_kill_fails_its_error_objective_in_every_report_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let junit = dir.path().join("junit.xml");
    let html = dir.path().join("drill.html");
    let (output, journal) = run(
        &fixture("unprotected-kill.yaml"),
        &run_dir,
        &[
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--color",
            "never",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(code(&output), 1, "stdout:\n{stdout}");
    assert_eq!(journal["run"]["outcome"], "completed");
    assert_nothing_left(&journal);

    // Terminal: one line per objective, then the summary.
    for expected in [
        "  fail          expect[0] errors during crash: ",
        "  pass          expect[1] rto from crash.end: ",
        "  inconclusive  expect[2] metric sum(gateway_requests_total) whole: - (expected >= 1)",
        "unprotected-kill: 1 passed, 1 failed, 1 inconclusive (exit 1)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(!stdout.contains('\u{1b}'), "--color never: {stdout:?}");

    // The journal carries the verdicts with their measured values and evidence.
    assert_eq!(
        journal["summary"],
        serde_json::json!({"passed": 1, "failed": 1, "inconclusive": 1, "status": "fail", "exit_code": 1})
    );
    let errors = verdict(&journal, "errors");
    assert_eq!(errors["status"], "fail");
    assert_eq!(errors["threshold"], "< 1%");
    let rate = errors["value"]["ratio"]
        .as_f64()
        .unwrap_or_else(|| panic!("no ratio in {errors}"));
    assert!(
        rate > 0.5,
        "the endpoint was down for the whole window: {errors}"
    );

    let rto = verdict(&journal, "rto");
    assert_eq!(rto["status"], "pass", "{rto}");
    let checks = rto["evidence"]["checks"].as_array().unwrap();
    let seconds = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["value"]["seconds"].as_f64())
            .unwrap_or_else(|| panic!("no {name} figure in {rto}"))
    };
    // Restarted at the window's end and served at once: recovery within one window (500ms),
    // seen the same from the clients and from the gateway's spans.
    let (client, spans) = (seconds("client"), seconds("spans"));
    assert!((0.0..=0.5).contains(&client), "client rto {client}s");
    assert!(
        (client - spans).abs() <= 0.2,
        "client {client}s vs spans {spans}s"
    );

    let metric = verdict(&journal, "metric");
    assert_eq!(metric["status"], "inconclusive");
    assert!(
        metric["message"].as_str().unwrap().contains("127.0.0.1:9"),
        "{metric}"
    );

    // JUnit: one testsuite, one testcase per objective, the failure says measured vs expected.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(
            r#"<testsuite name="unprotected-kill" tests="3" skipped="0" errors="1" failures="1""#
        ),
        "{xml}"
    );
    assert!(xml.contains(r#"<failure message="measured "#), "{xml}");
    assert!(xml.contains(r#"type="inconclusive""#), "{xml}");

    // HTML: the file asked for and the run folder's copy, both self-contained pages.
    for page in [html, run_dir.join("report.html")] {
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(text.starts_with("<!DOCTYPE html>"), "{}", page.display());
        assert!(text.contains("unprotected-kill") && text.contains("<svg"));
        assert!(!text.contains("<script src") && !text.contains("<link "));
    }
}
