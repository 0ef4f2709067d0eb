//! The scenario examples in the documentation stay true: README's drill is the file it
//! says it is, and docs/scenarios.md's complete example validates where it says it lives.

use std::path::{Path, PathBuf};

use chaos::scenario::load_str;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The first ```yaml block after `heading` in `file`.
fn yaml_after(file: &str, heading: &str) -> String {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    let from = text
        .find(heading)
        .unwrap_or_else(|| panic!("{heading} not in {file}"));
    let rest = &text[from..];
    let start = rest.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let len = rest[start..].find("```").expect("the block's end");
    rest[start..start + len].to_owned()
}

#[test]
fn readme_drill_is_the_shipped_kill_failover_scenario() {
    let shown = yaml_after("README.md", "## Failure drills");
    let shipped = std::fs::read_to_string(repo().join("scenarios/kill-failover.yaml")).unwrap();
    assert_eq!(shown, shipped);
}

#[test]
fn scenario_language_complete_example_validates_in_the_scenarios_folder() {
    let example = yaml_after("docs/scenarios.md", "## A complete example");
    let path = repo().join("scenarios/users-failover.yaml");
    let plan = load_str(&path, &example).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(plan.name, "users-failover");
    assert_eq!(plan.faults.len(), 2);
    assert_eq!(plan.objectives.len(), 4);
}
