//! Reports of a judged drill: exit codes, the terminal lines and colour, the JSON journal
//! attachment, and the JUnit XML shape CI tools read.

mod verdict_support;

use std::time::Duration;

use chaos::report::{
    self, ColorChoice, DrillOutcome, DrillResult, ReportError, attach, exit_code, exit_code_of,
    junit_xml, write_terminal,
};
use chaos::verdict::{Status, Verdict, evaluate};
use quick_junit::{NonSuccessKind, TestCaseStatus};
use serde_json::json;
use verdict_support::*;

/// A judged drill: objective 0 passes, 1 fails, 2 is inconclusive (no trace backend).
async fn judged() -> DrillResult {
    let plan = plan(
        "faults:\n  - { name: crash, at: 5s, for: 10s, kill: users }\nexpect:\n\
         \x20 - errors: { during: crash, rate: \"< 5%\" }\n\
         \x20 - latency: { window: after, value: \"p(99) < 20ms\" }\n\
         \x20 - trace: { during: crash, select: { name: upstream.attempt }, count: \"== 0\" }\n",
    );
    let recs = records(100, ms(0), secs(30), |_, at| {
        let outcome = if at >= secs(5) && at < ms(5_100) {
            status(503)
        } else {
            ok()
        };
        (outcome, if at >= secs(15) { ms(30) } else { ms(5) })
    });
    let mut ev = evidence(origin(), recs, &[("crash", secs(5), Some(secs(15)))]);
    ev.metrics.scrapes = (0..30)
        .map(|i| {
            let v = if (6..12).contains(&i) { 1.0 } else { 0.0 };
            (secs(i), breaker_scrape(v))
        })
        .collect();
    let verdicts = evaluate(&plan, &ev).await;
    DrillResult::new(&plan, &ev, verdicts, DrillOutcome::Completed)
}

fn with_status(result: &DrillResult, statuses: &[Status]) -> Vec<Verdict> {
    statuses
        .iter()
        .map(|s| {
            let mut v = result.verdicts[0].clone();
            v.status = *s;
            v
        })
        .collect()
}

#[tokio::test]
async fn exit_code_is_1_on_any_failure_then_3_on_inconclusive_then_0() {
    let r = judged().await;
    let statuses: Vec<Status> = r.verdicts.iter().map(|v| v.status).collect();
    assert_eq!(statuses, [Status::Pass, Status::Fail, Status::Inconclusive]);
    assert_eq!(
        r.exit_code(),
        1,
        "a failure wins over an inconclusive objective"
    );
    assert_eq!(
        exit_code(&with_status(&r, &[Status::Pass, Status::Pass])),
        0
    );
    assert_eq!(
        exit_code(&with_status(&r, &[Status::Pass, Status::Inconclusive])),
        3
    );
    assert_eq!(
        exit_code(&with_status(&r, &[Status::Inconclusive, Status::Fail])),
        1
    );
    assert_eq!(exit_code(&[]), 0);

    let mut aborted = r.clone();
    aborted.verdicts = with_status(&r, &[Status::Pass]);
    aborted.outcome = DrillOutcome::Aborted {
        guard: "too-many-errors".into(),
    };
    assert_eq!(aborted.exit_code(), 1);
    let mut broken = aborted.clone();
    broken.outcome = DrillOutcome::Error {
        message: "fault crash was not injected".into(),
    };
    assert_eq!(broken.exit_code(), 3);
    let mut green = aborted;
    green.outcome = DrillOutcome::Completed;
    assert_eq!(exit_code_of(&[green.clone(), broken.clone()]), 3);
    assert_eq!(exit_code_of(&[green.clone(), broken, r]), 1);
    assert_eq!(exit_code_of(&[green]), 0);
}

#[tokio::test]
async fn drill_result_carries_the_chart_timeline() {
    let r = judged().await;
    assert_eq!(r.intervals.len(), 300);
    let at_5s = r.intervals[50];
    assert_eq!(
        (at_5s.start, at_5s.requests, at_5s.errors),
        (secs(5), 10, 10)
    );
    assert_eq!(at_5s.throughput(), 100.0);
    assert_eq!(at_5s.error_rate(), 1.0);
    assert_eq!(at_5s.p99, Some(ms(5)));
    assert_eq!(r.faults.len(), 1);
    assert_eq!(
        (r.faults[0].name.as_str(), r.faults[0].kind.as_str()),
        ("crash", "kill")
    );
    assert_eq!((r.faults[0].start, r.faults[0].end), (secs(5), secs(15)));
    let band = &r.breakers[0];
    assert_eq!((band.upstream.as_str(), band.source), ("users", "gauge"));
    let open: Vec<(Duration, Duration)> = band
        .segments
        .iter()
        .filter(|s| s.state == report::BreakerState::Open)
        .map(|s| (s.start, s.end))
        .collect();
    assert_eq!(open, [(secs(6), secs(12))]);
}

#[tokio::test]
async fn terminal_prints_one_line_per_objective_and_a_summary() {
    let r = judged().await;
    let mut out = Vec::new();
    write_terminal(&mut out, &r, false).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[0], "drill (drill.yaml, seed 7): completed");
    assert_eq!(
        lines[1],
        "  pass          expect[0] errors during crash: 1% (expected < 5%) [during crash 5s..15s]"
    );
    assert!(
        lines[2].starts_with("  fail          expect[1] latency p(99) after: 30ms (expected p(99) < 20ms) [after 15s..30s] -- p(99) 30ms over 1500 requests"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with(
            "  inconclusive  expect[2] trace upstream.attempt count during crash: - (expected == 0)"
        ),
        "{}",
        lines[3]
    );
    assert!(
        lines[3].ends_with("-- no trace backend in this run"),
        "{}",
        lines[3]
    );
    assert_eq!(
        lines[4],
        "drill: 1 passed, 1 failed, 1 inconclusive (exit 1)"
    );
    assert!(!text.contains('\x1b'), "no colour when disabled");

    let mut out = Vec::new();
    write_terminal(&mut out, &r, true).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\x1b[32mpass"), "{text:?}");
    assert!(text.contains("\x1b[1;31mfail"), "{text:?}");
    assert!(text.contains("\x1b[33minconclusive"), "{text:?}");

    let mut out = Vec::new();
    report::write_summary(&mut out, &[r.clone(), r], false).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "2 drills: 2 passed, 2 failed, 2 inconclusive (exit 1)\n"
    );
}

#[test]
fn color_policy_follows_the_flag_then_tty_and_no_color() {
    use std::ffi::OsStr;
    let tty = true;
    assert!(ColorChoice::Auto.decide(tty, None, None));
    assert!(!ColorChoice::Auto.decide(!tty, None, None));
    assert!(!ColorChoice::Auto.decide(tty, Some(OsStr::new("1")), None));
    assert!(ColorChoice::Always.decide(!tty, Some(OsStr::new("1")), None));
    assert!(!ColorChoice::Never.decide(tty, None, None));
}

#[tokio::test]
async fn json_attach_adds_verdicts_and_summary_to_the_journal() {
    let r = judged().await;
    let mut journal = json!({ "scenario": "drill", "events": [1, 2] });
    attach(&mut journal, &r.verdicts).unwrap();
    assert_eq!(journal["events"], json!([1, 2]), "the journal is kept");
    let verdicts = journal["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 3);
    assert_eq!(verdicts[0]["kind"], "errors");
    assert_eq!(verdicts[0]["status"], "pass");
    assert_eq!(verdicts[0]["value"], json!({ "ratio": 0.01 }));
    assert_eq!(verdicts[0]["threshold"], "< 5%");
    assert_eq!(
        verdicts[0]["window"],
        json!({ "name": "during crash", "start": 5.0, "end": 15.0 })
    );
    assert_eq!(
        verdicts[0]["evidence"]["checks"][0]["evidence"]["requests"],
        1000
    );
    assert_eq!(verdicts[1]["value"], json!({ "seconds": 0.03 }));
    assert_eq!(
        verdicts[2]["evidence"]["checks"][0]["evidence"]["missing"],
        "no_trace_backend"
    );
    assert_eq!(
        journal["summary"],
        json!({ "passed": 1, "failed": 1, "inconclusive": 1, "status": "fail", "exit_code": 1 })
    );

    let mut wrong = json!([1]);
    let err = attach(&mut wrong, &r.verdicts).unwrap_err();
    assert!(
        matches!(err, ReportError::JournalNotObject { kind: "array" }),
        "{err:?}"
    );

    let whole = report::to_json(&r).unwrap();
    assert_eq!(whole["summary"]["exit_code"], 1);
    assert_eq!(
        whole["timeline"]["intervals"].as_array().unwrap().len(),
        300
    );
    assert_eq!(
        whole["timeline"]["faults"][0],
        json!({ "name": "crash", "kind": "kill", "start": 5000, "end": 15000 })
    );
    assert_eq!(
        whole["timeline"]["breakers"][0]["segments"][1]["state"],
        "open"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.json");
    report::write_json(&path, &journal).unwrap();
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(back, journal);
}

#[tokio::test]
async fn junit_has_one_suite_per_scenario_and_one_case_per_objective() {
    let r = judged().await;
    let mut other = r.clone();
    other.scenario = "second".into();
    other.outcome = DrillOutcome::Aborted {
        guard: "errors-guard".into(),
    };
    let xml = junit_xml(&[r, other]).unwrap();

    // The raw shape GitHub and GitLab parse.
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuites name=\"chaos\" tests=\"7\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuite name=\"drill\" tests=\"3\""),
        "{xml}"
    );
    assert!(
        xml.contains("<property name=\"seed\" value=\"7\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains("<property name=\"scenario.path\" value=\"drill.yaml\"/>"),
        "{xml}"
    );
    assert!(xml.contains("<failure message=\"measured 30ms, expected p(99) &lt; 20ms: p(99) 30ms over 1500 requests\" type=\"latency\">"), "{xml}");
    assert!(
        xml.contains(
            "<error message=\"inconclusive: no trace backend in this run\" type=\"inconclusive\">"
        ),
        "{xml}"
    );

    // And it reads back as the same report.
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(report.test_suites.len(), 2);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "drill");
    let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "expect[0] errors during crash",
            "expect[1] latency p(99) after",
            "expect[2] trace upstream.attempt count during crash"
        ]
    );
    assert_eq!(
        suite.test_cases[0].classname.as_ref().map(|c| c.as_str()),
        Some("chaos.drill")
    );
    assert!(matches!(
        suite.test_cases[0].status,
        TestCaseStatus::Success { .. }
    ));
    match &suite.test_cases[1].status {
        TestCaseStatus::NonSuccess {
            kind, description, ..
        } => {
            assert_eq!(*kind, NonSuccessKind::Failure);
            assert_eq!(
                description.as_ref().map(|d| d.as_str()),
                Some(
                    "latency: fail measured 30ms, expected p(99) < 20ms -- p(99) 30ms over 1500 requests"
                )
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        suite.test_cases[2].status,
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Error,
            ..
        }
    ));
    let props: Vec<(&str, &str)> = suite
        .properties
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert!(props.contains(&("outcome", "completed")), "{props:?}");
    assert!(props.contains(&("exit_code", "1")), "{props:?}");
    // The aborted drill gets a `drill` case that fails.
    let aborted = &report.test_suites[1];
    let last = aborted.test_cases.last().unwrap();
    assert_eq!(last.name.as_str(), "drill");
    assert!(matches!(
        last.status,
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Failure,
            ..
        }
    ));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junit.xml");
    report::write_junit(&path, &[judged().await]).unwrap();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("<testsuite name=\"drill\"")
    );
    let err = report::write_junit(&dir.path().join("missing/junit.xml"), &[]).unwrap_err();
    assert!(matches!(err, ReportError::Write { .. }), "{err:?}");
}
