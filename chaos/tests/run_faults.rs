//! Fault families through the library API (`chaos::run::execute`), checked on the journal
//! and the evidence: a `command` fault's output is kept, `gateway_fault` headers reach the
//! gateway during their window only, and every action begins within 50 ms of its plan (the
//! typical figures are printed).

mod run_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use chaos::run::{Outcome, ProgressMode, RunOptions, execute};
use chaos::scenario::load_file;
use run_support::{CHAOS, fixture, lateness, summary};
use tokio_util::sync::CancellationToken;

/// How late an action may begin after its planned time (the runner aims for < 5 ms).
const MAX_LATE_US: i64 = 50_000;

fn options(run_dir: &Path) -> RunOptions {
    run_support::require_gateway();
    RunOptions {
        run_dir: Some(run_dir.to_owned()),
        chaos_exe: CHAOS.into(),
        gateway_exe: Some(Path::new(CHAOS).with_file_name("gateway")),
        progress: ProgressMode::Off,
        ..RunOptions::new()
    }
}

/// `GET url` (HTTP/1.1, `Connection: close`): the whole answer as text.
fn get(base: &str, path: &str) -> String {
    let authority = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_output_gateway_fault_window_and_fault_timing_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let plan = load_file(&fixture("command-headers.yaml")).unwrap();
    let output = execute(&plan, &options(dir.path()), CancellationToken::new())
        .await
        .unwrap();
    assert!(
        matches!(output.outcome, Outcome::Completed),
        "{:?}",
        output.outcome
    );
    let journal = serde_json::to_value(&output.journal).unwrap();
    let evidence = &output.evidence;

    // The command ran at its start and its stop, with the placeholders replaced and the
    // output kept.
    let users = evidence.endpoints["users"].clone();
    assert_eq!(users.len(), 1);
    let script = run_support::fault(&journal, "script");
    let commands = script["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 2, "{script}");
    assert_eq!(commands[0]["phase"], "start");
    assert_eq!(commands[0]["argv"][2], format!("echo started {}", users[0]));
    assert_eq!(commands[0]["stdout"], format!("started {}\n", users[0]));
    assert_eq!(commands[0]["exit_code"], 0);
    assert_eq!(commands[1]["phase"], "stop");
    assert_eq!(commands[1]["stderr"], "stopped\n");
    assert_eq!(commands[1]["timed_out"], false);

    // gateway_fault: every request due inside the window (50 ms margins) was aborted by
    // the gateway (503, never reached the upstream); every one outside was not.
    let window = evidence.faults["aborts"];
    let (applied, undone) = (window.applied, window.undone.unwrap());
    assert!(applied >= Duration::from_secs(2) && applied < Duration::from_millis(2_050));
    assert!(undone >= Duration::from_secs(4) && undone < Duration::from_millis(4_050));
    let (mut inside, mut outside) = (0, 0);
    for record in &evidence.records {
        let status = record.outcome.status().map(|s| s.as_u16());
        let at = record.intended;
        if at >= Duration::from_millis(2_050) && at < Duration::from_millis(3_950) {
            inside += 1;
            assert_eq!(status, Some(503), "request due at {at:?}");
            assert_eq!(record.upstream, None, "request due at {at:?}");
        } else if at < Duration::from_millis(1_950) || at >= Duration::from_millis(4_050) {
            outside += 1;
            assert_eq!(status, Some(200), "request due at {at:?}");
            assert_eq!(
                record.upstream.as_deref(),
                Some("users"),
                "request due at {at:?}"
            );
        }
    }
    assert!(
        inside >= 90 && outside >= 290,
        "{inside} inside, {outside} outside"
    );

    // Timing: every action on schedule began within 50 ms of its plan.
    let late = lateness(&journal);
    assert_eq!(late.len(), 18, "9 faults applied and undone");
    let (median, p90, max) = summary(&late);
    eprintln!("fault timing (began - planned): median {median}µs, p90 {p90}µs, max {max}µs");
    assert!(
        late.iter().all(|l| (0..MAX_LATE_US).contains(l)),
        "{late:?}"
    );

    // The rest of the evidence: scrapes every 500 ms, the config as run, traces queryable
    // after the teardown (the embedded store lives as long as the output).
    assert_eq!(evidence.load_duration, Duration::from_secs(8));
    assert_eq!(evidence.records.len(), 400);
    let scrapes = &evidence.metrics.scrapes;
    assert!(scrapes.len() >= 14, "{} scrapes", scrapes.len());
    assert!(scrapes.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(
        evidence
            .gateway_config
            .as_deref()
            .unwrap()
            .contains(&users[0])
    );
    let traces = evidence.traces.as_ref().expect("trace backend");
    assert_eq!(traces.gateway_service, "gateway");
    assert_eq!(journal["traces"]["settled"], true);
    let services = get(&traces.query_url, "/api/services");
    assert!(services.starts_with("HTTP/1.1 200"), "{services}");
    assert!(
        services.contains("\"gateway\"") && services.contains("\"users\""),
        "{services}"
    );
    assert!(output.traces.is_some());
    run_support::assert_nothing_left_but_traces(&journal);
}
