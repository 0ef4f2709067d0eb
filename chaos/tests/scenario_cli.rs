//! Binary tests of `chaos validate` and `chaos list`: exit codes and stdout.

use std::process::{Command, Output};

use chaos::scenario::{KINDS, Kind};

/// Runs `chaos ARGS...` from the crate folder (where the fixture paths start), without any
/// inherited `CHAOS_*` variable, plus `env`.
fn chaos(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chaos"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CHAOS_") {
            command.env_remove(key);
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-q"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run chaos");
    (
        status.code().expect("an exit code"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

const VALID: &str = "tests/fixtures/scenarios/valid";
const INVALID: &str = "tests/fixtures/scenarios/invalid";

#[test]
fn scenario_validate_valid_file_prints_ok_and_exits_0() {
    let file = format!("{VALID}/users-failover.yaml");
    let (code, stdout, _) = chaos(&["validate", &file], &[]);
    assert_eq!(code, 0);
    assert_eq!(stdout, format!("ok: {file}\n"));
}

#[test]
fn scenario_validate_invalid_file_prints_every_problem_and_exits_2() {
    let file = format!("{INVALID}/ramp-stages.yaml");
    let (code, stdout, _) = chaos(&["validate", &file], &[]);
    assert_eq!(code, 2);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert_eq!(
        lines[0],
        format!(
            "{file}:10:7: load.ramp[1].over: missing field `over` \
             (expected how long the change takes, e.g. `10s`)"
        )
    );
    assert!(lines.iter().all(|l| l.starts_with(&format!("{file}:"))));
}

#[test]
fn scenario_validate_folder_validates_every_yaml_file_sorted() {
    let (code, stdout, _) = chaos(&["validate", VALID], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        format!(
            "ok: {VALID}/attach-minimal.yaml\nok: {VALID}/every-kind.yaml\n\
             ok: {VALID}/ramp.yaml\nok: {VALID}/users-failover.yaml\n4 valid, 0 invalid\n"
        )
    );
}

#[test]
fn scenario_validate_with_one_invalid_file_among_valid_ones_exits_2() {
    let valid = format!("{VALID}/attach-minimal.yaml");
    let invalid = format!("{INVALID}/gateway-forms.yaml");
    let (code, stdout, _) = chaos(&["validate", &valid, &invalid], &[]);
    assert_eq!(code, 2);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("ok: {valid}"));
    assert!(
        lines[1].starts_with(&format!(
            "{invalid}:6:10: system.gateway.url: `config` and `url` are exclusive"
        )),
        "{stdout}"
    );
    assert_eq!(lines[2], "1 valid, 1 invalid");
    assert_eq!(lines.len(), 3);
}

#[test]
fn scenario_validate_invalid_folder_reports_each_file() {
    let (code, stdout, _) = chaos(&["validate", INVALID], &[]);
    assert_eq!(code, 2);
    let files = std::fs::read_dir(INVALID).unwrap().count();
    assert!(
        stdout.ends_with(&format!("0 valid, {files} invalid\n")),
        "{stdout}"
    );
    assert!(!stdout.contains("ok: "));
}

#[test]
fn scenario_validate_missing_file_or_empty_folder_exits_2() {
    let (code, stdout, _) = chaos(&["validate", "tests/fixtures/scenarios/nope.yaml"], &[]);
    assert_eq!(code, 2);
    assert!(
        stdout
            .starts_with("tests/fixtures/scenarios/nope.yaml: (root): cannot read scenario file: "),
        "{stdout}"
    );
    let (code, stdout, _) = chaos(&["validate", "tests/fixtures/scenarios"], &[]);
    assert_eq!(code, 2);
    assert_eq!(
        stdout,
        "tests/fixtures/scenarios: (root): no scenario files (*.yaml) in this folder\n"
    );
}

#[test]
fn scenario_validate_without_files_is_a_usage_error() {
    let (code, stdout, stderr) = chaos(&["validate"], &[]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert!(stderr.contains("FILE|DIR"), "{stderr}");
}

#[test]
fn scenario_list_prints_every_kind_with_its_parameters() {
    let (code, stdout, _) = chaos(&["list"], &[]);
    assert_eq!(code, 0);
    for spec in KINDS {
        let header = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{}: ", spec.kind.name())))
            .unwrap_or_else(|| panic!("no {} in\n{stdout}", spec.kind.name()));
        for param in spec.params {
            assert!(header.contains(param.name), "{header}");
        }
        assert!(stdout.contains(spec.on_wire), "{}", spec.kind.name());
    }
    assert!(stdout.contains("kill: TARGET | { target, then }\n"));
    assert!(stdout.contains("latency: { target, latency, jitter, stream, toxicity }\n"));
    let (code, alias, _) = chaos(&["list-faults"], &[]);
    assert_eq!((code, alias), (0, stdout));
}

#[test]
fn scenario_list_json_is_one_array_with_every_kind() {
    let json = |args: &[&str], env: &[(&str, &str)]| {
        let (code, stdout, _) = chaos(args, env);
        assert_eq!(code, 0);
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let value = json(&["list", "--format", "json"], &[]);
    let kinds: Vec<&str> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, Kind::ALL.map(Kind::name));
    // The environment twin, and the flag winning over it.
    assert_eq!(json(&["list"], &[("CHAOS_LIST_FORMAT", "json")]), value);
    let (code, stdout, _) = chaos(
        &["list", "--format", "text"],
        &[("CHAOS_LIST_FORMAT", "json")],
    );
    assert_eq!(code, 0);
    assert!(stdout.starts_with("kill: "), "{stdout}");
}

#[test]
fn scenario_list_with_unknown_format_is_a_usage_error() {
    let (code, stdout, stderr) = chaos(&["list", "--format", "yaml"], &[]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(stderr.contains("yaml"), "{stderr}");
}
