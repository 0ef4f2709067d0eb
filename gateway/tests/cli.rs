//! The `gateway` command line: `validate` output and exit codes, `--help`, and `run` failing
//! before it serves (invalid config: 2, port in use: 1).
//!
//! Commands run in a temp dir with a relative `--config`, so diagnostics start with the bare
//! file name and can be compared line for line.

mod support;

use std::path::Path;

use support::{Finished, run_to_end};
use tempfile::TempDir;

/// A temp dir holding `gateway.yaml` with `yaml`.
fn config_dir(yaml: &str) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("gateway.yaml"), yaml).expect("write config");
    dir
}

async fn validate(dir: &Path) -> Finished {
    run_to_end(dir, &["validate", "--config", "gateway.yaml"]).await
}

/// The diagnostics lines of stderr (all but the summary line), and the summary line.
fn diagnostics(finished: &Finished) -> (Vec<&str>, &str) {
    let mut lines: Vec<&str> = finished.stderr.lines().collect();
    let summary = lines.pop().unwrap_or_default();
    (lines, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_valid_config_prints_ok_and_exits_0() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    let dir = tempfile::tempdir().unwrap();

    let finished = run_to_end(dir.path(), &["validate", "--config", example]).await;

    assert_eq!(finished.status.code(), Some(0), "{finished:?}");
    assert_eq!(finished.stdout, format!("ok: {example}\n"));
    assert_eq!(finished.stderr, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_config_with_several_errors_prints_each_located_and_exits_2() {
    let dir = config_dir(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
upstreams:
  users:
    endpoints:
      - address: 127.0.0.1:9101
        weight: 0
routes:
  - name: api
    match:
      path: /api/**
    upstream: userz
  - name: api
    match:
      path: /other/**
    upstream: users
    timeout: 0s
",
    );

    let finished = validate(dir.path()).await;

    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    assert_eq!(finished.stdout, "");
    let (lines, summary) = diagnostics(&finished);
    assert_eq!(
        lines,
        [
            "gateway.yaml:8:17: upstreams.users.endpoints[0].weight: weight out of range \
             (got 0; expected 1 to 1000)",
            "gateway.yaml:13:15: routes[0].upstream: unknown upstream \
             (got \"userz\"; expected one of: users)",
            "gateway.yaml:14:11: routes[1].name: duplicate route name \
             (got \"api\"; expected a name no other route uses)",
            "gateway.yaml:18:14: routes[1].timeout: must be above zero \
             (got \"0s\"; expected a positive duration, e.g. 15s)",
        ]
    );
    assert_eq!(summary, "gateway: invalid config (4 problems)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_unknown_field_suggests_the_closest_name() {
    let dir = config_dir(
        "\
listen: 127.0.0.1:0
upstreams:
  users:
    endpoints:
      - address: 127.0.0.1:9101
routes:
  - name: api
    match:
      path: /api/**
    upstream: users
    tiemout: 5s
",
    );

    let finished = validate(dir.path()).await;

    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    let (lines, summary) = diagnostics(&finished);
    assert_eq!(
        lines,
        [
            "gateway.yaml:11:5: routes[0].tiemout: unknown field `tiemout` \
          (expected one of: name, match, upstream, rewrite, host_header, timeout, \
          per_try_timeout, retry, circuit_breaker, fallback, fault, rate_limit, auth; \
          hint: did you mean `timeout`?)"
        ]
    );
    assert_eq!(summary, "gateway: invalid config (1 problem)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_duration_without_unit_is_rejected_with_a_hint() {
    let dir = config_dir(
        "\
listen: 127.0.0.1:0
shutdown:
  drain_timeout: 30
",
    );

    let finished = validate(dir.path()).await;

    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    let (lines, _) = diagnostics(&finished);
    assert_eq!(
        lines,
        [
            "gateway.yaml:3:18: shutdown.drain_timeout: invalid duration: missing unit \
          (got 30; expected a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`; \
          hint: add a unit, e.g. `30s`)"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_duplicate_key_points_at_both_occurrences() {
    let dir = config_dir("listen: 127.0.0.1:0\nlisten: 127.0.0.1:1\n");

    let finished = validate(dir.path()).await;

    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    let (lines, _) = diagnostics(&finished);
    assert_eq!(
        lines,
        ["gateway.yaml:2:1: listen: duplicate key `listen` \
          (hint: the first `listen` is at line 1; keep one)"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_missing_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();

    let finished = run_to_end(dir.path(), &["validate", "--config", "absent.yaml"]).await;

    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    assert_eq!(finished.stdout, "");
    assert!(
        finished
            .stderr
            .starts_with("gateway: cannot read config file absent.yaml: "),
        "{}",
        finished.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_without_config_argument_is_a_usage_error_exiting_2() {
    let dir = tempfile::tempdir().unwrap();

    let finished = run_to_end(dir.path(), &["validate"]).await;

    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    assert_eq!(finished.stdout, "");
    assert!(finished.stderr.contains("--config"), "{}", finished.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_run_and_validate_and_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();

    let finished = run_to_end(dir.path(), &["--help"]).await;

    assert_eq!(finished.status.code(), Some(0), "{finished:?}");
    let help = &finished.stdout;
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(commands, ["run", "validate", "help"], "{help}");
    assert!(help.contains("Exit codes:"), "{help}");
    for code in [
        "0 success",
        "1 the gateway could not run",
        "2 invalid command line or config",
    ] {
        assert!(help.contains(code), "{code:?} missing from:\n{help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_invalid_config_exits_2_without_listening() {
    let dir = config_dir(
        "\
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
routes:
  - name: api
    match:
      path: /api/**
    upstream: users
",
    );

    let finished = run_to_end(dir.path(), &["run", "--config", "gateway.yaml"]).await;

    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    assert_eq!(
        finished.stdout, "",
        "no `listening` line for a config that never ran"
    );
    let (lines, summary) = diagnostics(&finished);
    assert_eq!(
        lines,
        ["gateway.yaml:8:15: routes[0].upstream: unknown upstream \
          (got \"users\"; expected an upstream defined under `upstreams` (none are))"]
    );
    assert_eq!(summary, "gateway: invalid config (1 problem)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_data_port_in_use_exits_1() {
    // Held for the whole test, so the gateway cannot bind it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = config_dir(&format!("listen: {addr}\nadmin:\n  listen: 127.0.0.1:0\n"));

    let finished = run_to_end(dir.path(), &["run", "--config", "gateway.yaml"]).await;

    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert_eq!(finished.stdout, "");
    let last = finished.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("gateway: cannot listen on {addr} (data): ")),
        "{}",
        finished.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_admin_port_in_use_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = config_dir(&format!("listen: 127.0.0.1:0\nadmin:\n  listen: {addr}\n"));

    let finished = run_to_end(dir.path(), &["run", "--config", "gateway.yaml"]).await;

    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert_eq!(finished.stdout, "");
    let last = finished.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("gateway: cannot listen on {addr} (admin): ")),
        "{}",
        finished.stderr
    );
}
