//! Diagnostics: the display format, the builder for semantic errors, and locating paths.

use config_yaml::{Diagnostic, Diagnostics, Document, FieldPath, Location};

const GATEWAY: &str = "\
upstreams:
  users:
    endpoints:
      - address: 10.0.0.1:80
        weight: 0
routes:
  - name: users
    upstream: users2
    timeout: 2s
";

fn document() -> Document {
    Document::parse("gateway.yaml", GATEWAY).expect("valid YAML")
}

#[test]
fn diagnostic_display_shows_location_path_problem_and_details() {
    let diagnostic = Diagnostic::new(
        "gateway.yaml",
        FieldPath::root().key("routes").index(2).key("upstream"),
        "unknown upstream",
    )
    .at(Location::new(12, 7))
    .value("\"users2\"")
    .expected("one of: users, orders")
    .hint("define `users2` under `upstreams`");
    assert_eq!(
        diagnostic.to_string(),
        "gateway.yaml:12:7: routes[2].upstream: unknown upstream (got \"users2\"; expected one of: users, orders; hint: define `users2` under `upstreams`)"
    );
}

#[test]
fn diagnostic_display_leaves_out_absent_parts() {
    let bare = Diagnostic::new("a.yaml", FieldPath::root(), "empty document");
    assert_eq!(bare.to_string(), "a.yaml: (root): empty document");
    let hinted = bare.at(Location::new(1, 1)).hint("add a `routes:` list");
    assert_eq!(
        hinted.to_string(),
        "a.yaml:1:1: (root): empty document (hint: add a `routes:` list)"
    );
}

#[test]
fn document_diagnostic_fills_location_and_scalar_value() {
    let path = FieldPath::root().key("routes").index(0).key("upstream");
    let diagnostic = document()
        .diagnostic(path, "unknown upstream")
        .expected("one of: users");
    assert_eq!(
        diagnostic.to_string(),
        "gateway.yaml:8:15: routes[0].upstream: unknown upstream (got \"users2\"; expected one of: users)"
    );
    let weight = FieldPath::root()
        .key("upstreams")
        .key("users")
        .key("endpoints")
        .index(0)
        .key("weight");
    let diagnostic = document()
        .diagnostic(weight, "weight out of range")
        .expected("1 to 1000");
    assert_eq!(
        diagnostic.to_string(),
        "gateway.yaml:5:17: upstreams.users.endpoints[0].weight: weight out of range (got 0; expected 1 to 1000)"
    );
}

#[test]
fn document_diagnostic_for_missing_path_uses_nearest_ancestor_without_value() {
    let path = FieldPath::root().key("routes").index(0).key("match");
    let diagnostic = document().diagnostic(path, "missing field `match`");
    assert_eq!(diagnostic.location, Some(Location::new(7, 5)));
    assert_eq!(diagnostic.value, None);
    assert_eq!(
        diagnostic.to_string(),
        "gateway.yaml:7:5: routes[0].match: missing field `match`"
    );
}

#[test]
fn locate_finds_values_and_falls_back_to_ancestors() {
    let document = document();
    let root = FieldPath::root();
    assert_eq!(document.locate(&root), Some(Location::new(1, 1)));
    assert_eq!(
        document.locate(&root.key("routes")),
        Some(Location::new(7, 3))
    );
    assert_eq!(
        document.locate(&root.key("routes").index(0).key("timeout")),
        Some(Location::new(9, 14))
    );
    assert_eq!(
        document.locate(&root.key("routes").index(5).key("name")),
        Some(Location::new(7, 3))
    );
    assert_eq!(
        document.locate(&root.key("nope").key("deeper")),
        Some(Location::new(1, 1))
    );
    assert_eq!(document.source(), "gateway.yaml");
}

#[test]
fn diagnostics_sort_puts_document_order_then_unlocated() {
    let at = |line, problem: &str| {
        let d = Diagnostic::new("a.yaml", FieldPath::root(), problem);
        match line {
            Some(line) => d.at(Location::new(line, 1)),
            None => d,
        }
    };
    let mut diagnostics: Diagnostics = [
        at(None, "x"),
        at(Some(9), "y"),
        at(Some(2), "z"),
        at(Some(2), "w"),
    ]
    .into_iter()
    .collect();
    diagnostics.sort();
    let problems: Vec<&str> = diagnostics.iter().map(|d| d.problem.as_str()).collect();
    assert_eq!(problems, ["z", "w", "y", "x"]);
    assert_eq!(diagnostics.len(), 4);
}

#[test]
fn diagnostics_display_one_per_line_and_act_as_error() {
    let mut diagnostics = Diagnostics::new();
    assert!(diagnostics.is_empty());
    assert_eq!(diagnostics.clone().into_result(7), Ok(7));
    diagnostics.push(Diagnostic::new(
        "a.yaml",
        FieldPath::root().key("a"),
        "first",
    ));
    diagnostics.push(Diagnostic::new(
        "a.yaml",
        FieldPath::root().key("b"),
        "second",
    ));
    assert_eq!(
        diagnostics.to_string(),
        "a.yaml: a: first\na.yaml: b: second"
    );
    let error: Box<dyn std::error::Error> = Box::new(diagnostics.clone());
    assert_eq!(error.to_string(), diagnostics.to_string());
    let owned: Vec<Diagnostic> = diagnostics.clone().into_iter().collect();
    assert_eq!(owned.len(), 2);
    assert_eq!(diagnostics.into_result(7).map_err(|d| d.len()), Err(2));
}
