//! Parsing YAML text into a document: what is rejected, and where.

use config_yaml::{Document, FieldPath, Location};

/// The parse diagnostics for `text` as displayed, one string per line.
fn parse_errors(text: &str) -> Vec<String> {
    let diagnostics = Document::parse("t.yaml", text).expect_err("parsing should fail");
    diagnostics.iter().map(ToString::to_string).collect()
}

#[test]
fn syntax_error_is_located_with_parser_message() {
    assert_eq!(
        parse_errors("a: 1\n  b: 2\n"),
        ["t.yaml:2:4: (root): invalid YAML: mapping values are not allowed in this context"]
    );
}

#[test]
fn syntax_error_inside_nested_value_names_its_path() {
    assert_eq!(
        parse_errors("routes:\n  - name: \"users\n"),
        [
            "t.yaml:2:11: routes[0].name: invalid YAML: while scanning a quoted scalar, found unexpected end of stream"
        ]
    );
}

#[test]
fn multiple_documents_are_rejected_at_the_separator() {
    assert_eq!(
        parse_errors("a: 1\n---\nb: 2\n"),
        [
            "t.yaml:2:1: (root): multiple documents are not supported (hint: keep one document per file: remove the `---` separator)"
        ]
    );
}

#[test]
fn single_document_with_explicit_markers_is_accepted() {
    let document = Document::parse("t.yaml", "---\na: 1\n...\n").expect("one document");
    assert_eq!(
        document.locate(&FieldPath::root().key("a")),
        Some(Location::new(2, 4))
    );
}

#[test]
fn duplicate_key_is_located_at_the_second_key() {
    assert_eq!(
        parse_errors("routes:\n  - name: a\n    upstream: x\n    name: b\n"),
        [
            "t.yaml:4:5: routes[0].name: duplicate key `name` (hint: the first `name` is at line 2; keep one)"
        ]
    );
}

#[test]
fn every_duplicate_key_is_reported() {
    assert_eq!(
        parse_errors("a: 1\nb: 2\na: 3\nb: 4\n"),
        [
            "t.yaml:3:1: a: duplicate key `a` (hint: the first `a` is at line 1; keep one)",
            "t.yaml:4:1: b: duplicate key `b` (hint: the first `b` is at line 2; keep one)",
        ]
    );
}

#[test]
fn merge_key_is_rejected_as_unsupported() {
    assert_eq!(
        parse_errors("base: &b { x: 1 }\nderived:\n  <<: *b\n  y: 2\n"),
        [
            "t.yaml:3:3: derived: merge keys (`<<`) are not supported (hint: write the keys out, or alias the whole mapping)"
        ]
    );
}

#[test]
fn non_scalar_key_is_rejected() {
    assert_eq!(
        parse_errors("? [a, b]\n: 1\n{x: 1}: 2\n"),
        [
            "t.yaml:1:3: (root): mapping keys must be scalars, not a sequence (hint: use a plain string as the key)",
            "t.yaml:3:1: (root): mapping keys must be scalars, not a mapping (hint: use a plain string as the key)",
        ]
    );
}

#[test]
fn custom_tag_is_rejected() {
    assert_eq!(
        parse_errors("a: !secret xyz\n"),
        ["t.yaml:1:4: a: tag `!secret` is not supported (hint: remove the tag)"]
    );
}

#[test]
fn str_tag_makes_a_plain_scalar_a_string() {
    let document = Document::parse("t.yaml", "a: !!str 5\n").expect("core tags are fine");
    let errors = document.deserialize::<std::collections::BTreeMap<String, u8>>();
    let lines: Vec<String> = errors
        .expect_err("a string is not a u8")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "t.yaml:1:4: a: invalid type (got \"5\"; expected u8; hint: quoted values are always strings: remove the quotes)"
        ]
    );
}

#[test]
fn alias_inside_its_own_anchor_is_rejected() {
    assert_eq!(
        parse_errors("a: &x [1, *x]\n"),
        ["t.yaml:1:11: a[1]: alias refers to the node that contains it"]
    );
}

#[test]
fn alias_expanding_past_the_node_limit_is_rejected() {
    // Each level holds ten copies of the previous one: 10^7 scalars at the last level.
    let mut text = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..=7 {
        let previous = format!("*l{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        text.push_str(&format!("l{level}: &l{level} [{items}]\n"));
    }
    let errors = parse_errors(&text);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .contains("document too large: more than 1000000 values once aliases are expanded"),
        "{}",
        errors[0]
    );
}

#[test]
fn empty_text_is_a_null_document() {
    let document = Document::parse("t.yaml", "").expect("empty is valid");
    assert_eq!(document.deserialize::<Option<u8>>(), Ok(None));
    assert_eq!(
        document.locate(&FieldPath::root()),
        Some(Location::new(1, 1))
    );
}

#[test]
fn scalar_styles_keep_their_text() {
    let text = "a: 'it''s'\nb: \"tab\\tend\"\nc: |\n  line 1\n  line 2\nd: >\n  folded\n  text\n";
    let map: std::collections::BTreeMap<String, String> =
        config_yaml::from_str("t.yaml", text).expect("all strings");
    assert_eq!(map["a"], "it's");
    assert_eq!(map["b"], "tab\tend");
    assert_eq!(map["c"], "line 1\nline 2\n");
    assert_eq!(map["d"], "folded text\n");
}
