//! `chaos run` as a command: invalid scenarios (exit 2, located errors, nothing started),
//! `--dry-run` (the plan, nothing started), and a preflight failure (exit 3 with the
//! reason, never a skip).

mod run_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use run_support::{CHAOS, fixture, read_journal, scenario};

/// `chaos ARGS` in `cwd` with `envs`.
fn chaos_in(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let child = Command::new(CHAOS)
        .args(args)
        .current_dir(cwd)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    run_support::wait_output(child, run_support::RUN_LIMIT)
}

#[test]
fn run_invalid_scenario_exits_2_with_located_errors_and_starts_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    let file = fixture("invalid.yaml");
    let output = chaos_in(cwd.path(), &["run", file.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = file.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{shown}:7:13: load.duration: invalid duration: missing unit"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{shown}:8:3: load.requestz: unknown field `requestz`"
        )),
        "{stderr}"
    );
    assert_eq!(output.stdout, b"");
    assert!(!cwd.path().join("target").exists(), "a run folder was made");
}

#[test]
fn run_folder_with_one_invalid_scenario_exits_2_before_running_any() {
    let cwd = tempfile::tempdir().unwrap();
    let folder = fixture("");
    let output = chaos_in(cwd.path(), &["run", folder.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid.yaml:7:13: load.duration"),
        "{stderr}"
    );
    assert_eq!(output.stdout, b"", "nothing ran");
    assert!(!cwd.path().join("target").exists());
}

#[test]
fn dry_run_prints_the_plan_and_starts_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    let file = scenario("three-faults.yaml");
    // Even without `ip` and `nft` on PATH: a dry run checks nothing on the machine.
    let output = chaos_in(
        cwd.path(),
        &["run", file.to_str().unwrap(), "--dry-run"],
        &[("PATH", "/nonexistent")],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in [
        "plan: three-faults (",
        "load: 60/s for 12.000s: GET /api/users/1 (weight 2), GET /api/orders/1 (weight 1)",
        "  orders: builtin (latency 2ms, error rate 0%, status 500, healthy true), in a network namespace; instances orders",
        "  users-b: builtin (latency 2ms, error rate 0%, status 500, healthy true), via fault proxy; instances users-b",
        "    +2.000s ..   +6.000s  crash            kill users-a (SIGKILL), then restart",
        "    +3.000s ..   +7.000s  slow             latency on users-b's proxy (latency downstream, toxicity 100%)",
        "    +4.000s ..   +8.000s  cut              partition orders (nftables drop)",
        "  meltdown: errors > 50% over 2.000s, from 1.000s",
        "needs: network namespaces (Linux, root, ip, nft) for upstream orders (via: netns); checked when the run starts",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert!(!cwd.path().join("target").exists(), "a run folder was made");
}

#[test]
fn dry_run_of_a_folder_prints_every_plan_in_name_order() {
    let cwd = tempfile::tempdir().unwrap();
    let folder = scenario("");
    let output = chaos_in(
        cwd.path(),
        &["run", folder.to_str().unwrap(), "--dry-run"],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("plan: "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(names.len() >= 7, "{names:?}");
}

#[test]
fn tag_filter_runs_only_tagged_scenarios_and_refuses_a_tag_nobody_has() {
    let cwd = tempfile::tempdir().unwrap();
    let folder = scenario("");
    let folder = folder.to_str().unwrap();
    let output = chaos_in(
        cwd.path(),
        &[
            "run",
            folder,
            "--dry-run",
            "--tag",
            "breaker",
            "--tag",
            "degradation",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("plan: "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["latency-breaker", "redis-outage", "upstream-down-fallback"]
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("skipped (not tagged breaker or degradation): crash-restart"));

    let output = chaos_in(cwd.path(), &["run", folder, "--tag", "nope"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(output.stdout, b"", "nothing ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no scenario is tagged nope"), "{stderr}");
    assert!(!cwd.path().join("target").exists(), "a run folder was made");
}

#[test]
fn preflight_without_nft_on_path_exits_3_with_the_reason_and_starts_nothing() {
    run_support::require_gateway();
    // A PATH holding `ip` but not `nft`: what a machine without nftables looks like to the
    // runner (the gateway and builtin upstreams are found next to the chaos binary).
    let bin = tempfile::tempdir().unwrap();
    let ip = which("ip");
    std::os::unix::fs::symlink(&ip, bin.path().join("ip")).unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let output = chaos_in(
        run_dir.path(),
        &[
            "-q",
            "run",
            fixture("netns-needed.yaml").to_str().unwrap(),
            "--run-dir",
            run_dir.path().to_str().unwrap(),
        ],
        &[("PATH", bin.path().to_str().unwrap())],
    );
    assert_eq!(output.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(
            "failed: netns-needed: upstream users (via: netns) needs network namespaces, which \
             this machine cannot provide: `nft` is missing or not working: install the Debian \
             package nftables"
        ),
        "{stdout}"
    );
    let journal = read_journal(run_dir.path()).expect("journal");
    assert_eq!(journal["run"]["outcome"], "failed");
    assert_eq!(journal["topology"]["upstreams"], serde_json::json!([]));
    let started = journal["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "process")
        .count();
    assert_eq!(started, 0, "a process was started");
}

fn which(program: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} not found on PATH"))
}
