//! Deserialization into serde types: every error collected, located and explained.

use std::collections::BTreeMap;

use config_yaml::units::Duration;
use config_yaml::{Document, from_str};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The diagnostics for `text` as displayed, one string per line.
fn errors<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> Vec<String> {
    let document = Document::parse("t.yaml", text).expect("valid YAML");
    let diagnostics = document
        .deserialize::<T>()
        .expect_err("deserialization should fail");
    diagnostics.iter().map(ToString::to_string).collect()
}

fn ok<T: DeserializeOwned>(text: &str) -> T {
    match from_str("t.yaml", text) {
        Ok(value) => value,
        Err(diagnostics) => panic!("unexpected errors:\n{diagnostics}"),
    }
}

// === a gateway-like config with several problems ===

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Gateway {
    listen: String,
    upstreams: BTreeMap<String, Upstream>,
    routes: Vec<Route>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Upstream {
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Endpoint {
    address: String,
    weight: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Route {
    name: String,
    #[serde(rename = "match")]
    matcher: Match,
    upstream: String,
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Match {
    path: String,
    methods: Option<Vec<Method>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
}

const GATEWAY: &str = "\
listen: 0.0.0.0:8080
upstreams:
  users:
    endpoints:
      - address: 10.0.0.1:80
        weight: -1
      - address: 10.0.0.2:80
        wieght: 3
routes:
  - name: users
    match: { path: /users, methods: [GET, PUTT] }
    upstream: users
    timeout: 5
  - name: orders
    match:
      path: [/orders]
    upstream: orders
  - match: { path: /x }
    upstream: users
    timeout: 1.5s
";

#[test]
fn deserialize_document_with_several_problems_reports_all_in_document_order() {
    assert_eq!(
        errors::<Gateway>(GATEWAY),
        [
            "t.yaml:6:17: upstreams.users.endpoints[0].weight: integer out of range (got -1; expected an integer from 0 to 4294967295)",
            "t.yaml:8:9: upstreams.users.endpoints[1].wieght: unknown field `wieght` (expected one of: address, weight; hint: did you mean `weight`?)",
            "t.yaml:11:43: routes[0].match.methods[1]: unknown variant `PUTT` (expected one of: GET, POST)",
            "t.yaml:13:14: routes[0].timeout: invalid duration: missing unit (got 5; expected a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`; hint: add a unit, e.g. `5s`)",
            "t.yaml:16:13: routes[1].match.path: invalid type (got a sequence; expected a string)",
            "t.yaml:18:5: routes[2]: missing field `name`",
        ]
    );
}

#[test]
fn deserialize_valid_document_returns_value() {
    let text = "\
listen: 0.0.0.0:8080
upstreams:
  users:
    endpoints: [{ address: 10.0.0.1:80, weight: 2 }]
routes:
  - name: users
    match: { path: /users, methods: [GET, POST] }
    upstream: users
    timeout: 1.5s
";
    let gateway: Gateway = ok(text);
    assert_eq!(gateway.upstreams["users"].endpoints[0].weight, Some(2));
    let route = &gateway.routes[0];
    assert_eq!(route.matcher.methods, Some(vec![Method::Get, Method::Post]));
    assert_eq!(
        route.timeout.map(Duration::get),
        Some(std::time::Duration::from_millis(1500))
    );
}

// === unknown keys ===

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Timeouts {
    connect: Option<u32>,
    request: Option<u32>,
}

#[test]
fn unknown_key_near_a_field_hints_did_you_mean() {
    assert_eq!(
        errors::<Timeouts>("conect: 1\nrequest: 2\n"),
        [
            "t.yaml:1:1: conect: unknown field `conect` (expected one of: connect, request; hint: did you mean `connect`?)"
        ]
    );
}

#[test]
fn unknown_key_far_from_every_field_has_no_hint() {
    assert_eq!(
        errors::<Timeouts>("idle: 1\n"),
        ["t.yaml:1:1: idle: unknown field `idle` (expected one of: connect, request)"]
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Strict {
    a: Option<u8>,
    b: Option<u8>,
}

#[test]
fn unknown_keys_with_deny_unknown_fields_are_each_reported_once() {
    assert_eq!(
        errors::<Strict>("x: 1\na: 2\ny: 3\nb: 300\n"),
        [
            "t.yaml:1:1: x: unknown field `x` (expected one of: a, b)",
            "t.yaml:3:1: y: unknown field `y` (expected one of: a, b)",
            "t.yaml:4:4: b: integer out of range (got 300; expected an integer from 0 to 255)",
        ]
    );
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct WithFlatten {
    name: String,
    #[serde(flatten)]
    rest: BTreeMap<String, u32>,
}

#[test]
fn flattened_struct_passes_other_keys_to_flattened_field() {
    let value: WithFlatten = ok("name: a\nx: 1\ny: 2\n");
    assert_eq!(value.name, "a");
    assert_eq!(
        value.rest,
        BTreeMap::from([("x".to_owned(), 1), ("y".to_owned(), 2)])
    );
}

// === scalars ===

#[derive(Debug, Deserialize)]
struct Port {
    port: u32,
}

#[test]
fn quoted_number_into_u32_is_rejected_with_hint() {
    assert_eq!(
        errors::<Port>("port: \"8080\"\n"),
        [
            "t.yaml:1:7: port: invalid type (got \"8080\"; expected u32; hint: quoted values are always strings: remove the quotes)"
        ]
    );
}

#[test]
fn non_numeric_into_u32_is_rejected_without_hint() {
    assert_eq!(
        errors::<Port>("port: http\n"),
        ["t.yaml:1:7: port: invalid type (got \"http\"; expected u32)"]
    );
}

#[test]
fn integer_forms_into_u32_are_accepted() {
    assert_eq!(ok::<Port>("port: 8080\n").port, 8080);
    assert_eq!(ok::<Port>("port: 0x1F\n").port, 31);
    assert_eq!(ok::<Port>("port: 0o17\n").port, 15);
}

#[test]
fn integer_too_large_for_128_bits_is_out_of_range() {
    assert_eq!(
        errors::<Port>("port: 999999999999999999999999999999999999999999\n"),
        [
            "t.yaml:1:7: port: integer out of range (got 999999999999999999999999999999999999999999; expected an integer from 0 to 4294967295)"
        ]
    );
}

#[derive(Debug, Deserialize, PartialEq)]
struct Texts {
    a: String,
    b: String,
    c: String,
    d: String,
}

#[test]
fn plain_number_and_bool_into_string_are_accepted_as_written() {
    let texts: Texts = ok("a: 8080\nb: true\nc: 1.50\nd: 0x1F\n");
    assert_eq!((texts.a.as_str(), texts.b.as_str()), ("8080", "true"));
    assert_eq!((texts.c.as_str(), texts.d.as_str()), ("1.50", "0x1F"));
}

#[test]
fn null_into_string_is_rejected() {
    assert_eq!(
        errors::<Texts>("a: ~\nb: \"\"\nc: x\nd:\n"),
        [
            "t.yaml:1:4: a: invalid type (got null; expected a string)",
            "t.yaml:4:2: d: invalid type (got null; expected a string)",
        ]
    );
}

#[derive(Debug, Deserialize, PartialEq)]
struct Floats {
    a: f64,
    b: f64,
    c: f32,
}

#[test]
fn float_fields_accept_integers_and_special_values() {
    let floats: Floats = ok("a: 0x10\nb: -.inf\nc: 1.5e2\n");
    assert_eq!(
        floats,
        Floats {
            a: 16.0,
            b: f64::NEG_INFINITY,
            c: 150.0
        }
    );
}

#[derive(Debug, Deserialize, PartialEq)]
struct Flags {
    on: bool,
}

#[test]
fn bool_field_accepts_core_schema_booleans_only() {
    assert!(ok::<Flags>("on: True\n").on);
    assert_eq!(
        errors::<Flags>("on: yes\n"),
        ["t.yaml:1:5: on: invalid type (got \"yes\"; expected a boolean)"]
    );
    assert_eq!(
        errors::<Flags>("on: 'false'\n"),
        [
            "t.yaml:1:5: on: invalid type (got \"false\"; expected a boolean; hint: quoted values are always strings: remove the quotes)"
        ]
    );
}

// === Option and null ===

#[derive(Debug, Deserialize, PartialEq)]
struct Optional {
    a: Option<String>,
    b: Option<String>,
    c: Option<String>,
    d: Option<String>,
    e: Option<String>,
}

#[test]
fn option_null_forms_are_none_and_quoted_null_is_some() {
    let value: Optional = ok("a: ~\nb: null\nc:\nd: \"null\"\n");
    let expected = Optional {
        a: None,
        b: None,
        c: None,
        d: Some("null".to_owned()),
        e: None,
    };
    assert_eq!(value, expected);
}

#[test]
fn unit_from_null_document_is_accepted() {
    ok::<()>("");
    ok::<()>("~\n");
    assert_eq!(ok::<Option<Port>>("# nothing here\n").map(|p| p.port), None);
}

// === collections ===

#[test]
fn sequence_element_failures_are_all_reported() {
    assert_eq!(
        errors::<Vec<u16>>("[1, x, 70000, 4]\n"),
        [
            "t.yaml:1:5: [1]: invalid type (got \"x\"; expected u16)",
            "t.yaml:1:8: [2]: integer out of range (got 70000; expected an integer from 0 to 65535)",
        ]
    );
}

#[test]
fn sequence_with_very_many_failures_stops_after_a_hundred() {
    let text = format!("[{}]\n", vec!["x"; 150].join(", "));
    let lines = errors::<Vec<u8>>(&text);
    assert_eq!(lines.len(), 101);
    assert_eq!(
        lines[0],
        "t.yaml:1:2: [0]: invalid type (got \"x\"; expected u8)"
    );
    assert_eq!(
        lines[99],
        "t.yaml:1:299: [99]: invalid type (got \"x\"; expected u8)"
    );
    assert_eq!(
        lines[100],
        "t.yaml: (root): too many problems: stopped after the first 100 (hint: fix these and run again)"
    );
}

#[test]
fn map_value_failures_are_all_reported() {
    assert_eq!(
        errors::<BTreeMap<String, u32>>("a: 1\nb: x\nc: 2\nd: [3]\n"),
        [
            "t.yaml:2:4: b: invalid type (got \"x\"; expected u32)",
            "t.yaml:4:4: d: invalid type (got a sequence; expected u32)",
        ]
    );
}

#[test]
fn map_key_failure_is_located_at_the_key() {
    assert_eq!(
        errors::<BTreeMap<u16, String>>("80: a\nhttp: b\n"),
        ["t.yaml:2:1: http: invalid type (got \"http\"; expected u16)"]
    );
}

#[test]
fn tuple_with_extra_elements_is_rejected() {
    assert_eq!(ok::<(u8, String)>("[1, a]\n"), (1, "a".to_owned()));
    assert_eq!(
        errors::<(u8, String)>("[1, a, b]\n"),
        [
            "t.yaml:1:1: (root): too many elements (1 more than expected) (expected a tuple of size 2)"
        ]
    );
}

#[test]
fn root_of_wrong_kind_is_reported_at_root() {
    assert_eq!(
        errors::<Port>("- 1\n"),
        ["t.yaml:1:1: (root): invalid type (got a sequence; expected struct Port)"]
    );
}

// === missing fields ===

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Pair {
    first: u8,
    second: u8,
    third: Option<u8>,
}

#[test]
fn missing_field_is_reported_at_the_enclosing_mapping() {
    assert_eq!(
        errors::<Vec<Pair>>("- first: 1\n  second: 2\n- third: 3\n  first: 1\n"),
        ["t.yaml:3:3: [1]: missing field `second`"]
    );
}

#[test]
fn missing_field_after_invalid_field_is_not_duplicated() {
    // `first` is invalid, so it is left out: serde's `missing field first` is not reported.
    // `second` is genuinely missing but declared after `first`; serde stops at the first
    // missing field, so it is reported once `first` is fixed (see the crate docs).
    assert_eq!(
        errors::<Pair>("first: x\nthird: 3\n"),
        ["t.yaml:1:8: first: invalid type (got \"x\"; expected u8)"]
    );
    assert_eq!(
        errors::<Pair>("second: x\nthird: 3\n"),
        [
            "t.yaml:1:1: (root): missing field `first`",
            "t.yaml:1:9: second: invalid type (got \"x\"; expected u8)",
        ]
    );
}

#[test]
fn diagnostics_found_out_of_order_are_sorted_by_location() {
    // The invalid `second` is found first; the missing `first`, at the mapping's start,
    // only on the next attempt.
    let text = "pairs:\n  - third: 1\n    second: -1\n";
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Pairs {
        pairs: Vec<Pair>,
    }
    assert_eq!(
        errors::<Pairs>(text),
        [
            "t.yaml:2:5: pairs[0]: missing field `first`",
            "t.yaml:3:13: pairs[0].second: integer out of range (got -1; expected an integer from 0 to 255)",
        ]
    );
}

// === enums ===

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Balancer {
    RoundRobin,
    Weighted(u32),
    Hash { key: String },
}

#[derive(Debug, Deserialize, PartialEq)]
struct WithBalancer {
    balancer: Balancer,
}

#[test]
fn externally_tagged_enum_accepts_scalar_and_single_key_mapping() {
    let unit: WithBalancer = ok("balancer: round_robin\n");
    assert_eq!(unit.balancer, Balancer::RoundRobin);
    let newtype: WithBalancer = ok("balancer: { weighted: 3 }\n");
    assert_eq!(newtype.balancer, Balancer::Weighted(3));
    let strukt: WithBalancer = ok("balancer:\n  hash:\n    key: client_ip\n");
    assert_eq!(
        strukt.balancer,
        Balancer::Hash {
            key: "client_ip".to_owned()
        }
    );
}

#[test]
fn externally_tagged_enum_errors_are_located() {
    let cases: [(&str, &str); 6] = [
        (
            "balancer: round_robn\n",
            "t.yaml:1:11: balancer: unknown variant `round_robn` (expected one of: round_robin, weighted, hash; hint: did you mean `round_robin`?)",
        ),
        (
            "balancer: { weighted: x }\n",
            "t.yaml:1:23: balancer.weighted: invalid type (got \"x\"; expected u32)",
        ),
        (
            "balancer: { hash: { key: a, seed: 1 } }\n",
            "t.yaml:1:29: balancer.hash.seed: unknown field `seed` (expected one of: key)",
        ),
        (
            "balancer: { weighted: 1, hash: {} }\n",
            "t.yaml:1:11: balancer: expected a single key naming the variant, found 2 keys (expected one of: round_robin, weighted, hash)",
        ),
        (
            "balancer: weighted\n",
            "t.yaml:1:11: balancer: variant `weighted` needs a value (hint: write it as `weighted: ...`)",
        ),
        (
            "balancer: { round_robin: 1 }\n",
            "t.yaml:1:26: balancer.round_robin: variant `round_robin` takes no value (got 1; hint: write just `round_robin`)",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(errors::<WithBalancer>(text), [expected], "{text}");
    }
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Fault {
    Latency { delay: Duration },
    Kill { signal: Option<String> },
}

#[derive(Debug, Deserialize, PartialEq)]
struct Scenario {
    faults: Vec<Fault>,
}

#[test]
fn internally_tagged_enum_selects_variant_by_type_key() {
    let text = "faults:\n  - type: latency\n    delay: 250ms\n  - { type: kill }\n";
    let scenario: Scenario = ok(text);
    let delay = "250ms".parse().unwrap();
    assert_eq!(
        scenario.faults,
        [Fault::Latency { delay }, Fault::Kill { signal: None }]
    );
}

#[test]
fn internally_tagged_enum_errors_are_located_at_the_enum_or_tag() {
    // serde reads the tag through this crate, so an unknown tag is located exactly; the
    // variant's fields come from serde's buffer, so their errors are located at the enum.
    let text = "faults:\n  - type: latency\n    delay: 5\n  - type: partition\n";
    assert_eq!(
        errors::<Scenario>(text),
        [
            "t.yaml:2:5: faults[0]: invalid duration: missing unit (expected a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`; hint: add a unit, e.g. `5s`)",
            "t.yaml:4:11: faults[1].type: unknown variant `partition` (expected one of: latency, kill)",
        ]
    );
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(untagged)]
enum Target {
    Port(u16),
    Name(String),
    Many(Vec<String>),
}

#[test]
fn untagged_enum_follows_the_core_schema() {
    assert_eq!(ok::<Target>("8080\n"), Target::Port(8080));
    assert_eq!(ok::<Target>("\"8080\"\n"), Target::Name("8080".to_owned()));
    assert_eq!(
        ok::<Target>("[a, b]\n"),
        Target::Many(vec!["a".to_owned(), "b".to_owned()])
    );
    assert_eq!(
        errors::<Target>("{ a: 1 }\n"),
        ["t.yaml:1:1: (root): data did not match any variant of untagged enum Target"]
    );
}

// === custom Deserialize impls ===

#[derive(Debug, PartialEq)]
struct Even(u32);

impl<'de> Deserialize<'de> for Even {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u32::deserialize(deserializer)?;
        if n % 2 == 0 {
            Ok(Even(n))
        } else {
            Err(serde::de::Error::custom(format!("{n} is odd")))
        }
    }
}

#[test]
fn custom_error_keeps_message_and_gets_location() {
    assert_eq!(ok::<Vec<Even>>("[2, 4]\n"), [Even(2), Even(4)]);
    assert_eq!(
        errors::<BTreeMap<String, Even>>("a: 2\nb: 3\n"),
        ["t.yaml:2:4: b: 3 is odd (got 3)"]
    );
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "Pair")]
#[allow(dead_code)]
struct Ordered(u8, u8);

impl TryFrom<Pair> for Ordered {
    type Error = String;

    fn try_from(pair: Pair) -> Result<Self, String> {
        if pair.first <= pair.second {
            Ok(Ordered(pair.first, pair.second))
        } else {
            Err("`first` must not exceed `second`".to_owned())
        }
    }
}

#[test]
fn try_from_error_on_mapping_is_located_without_value() {
    assert_eq!(
        errors::<Vec<Ordered>>("- { first: 1, second: 2 }\n- { first: 3, second: 2 }\n"),
        ["t.yaml:2:3: [1]: `first` must not exceed `second`"]
    );
}

// === anchors and aliases ===

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Aliased {
    defaults: Timeouts,
    users: Timeouts,
    orders: Timeouts,
}

#[test]
fn alias_is_a_copy_of_the_anchored_value() {
    let value: Aliased = ok("defaults: &d { connect: 1, request: 2 }\nusers: *d\norders: *d\n");
    assert_eq!(
        (value.users.connect, value.orders.request),
        (Some(1), Some(2))
    );
}

#[test]
fn error_inside_alias_has_alias_path_and_anchor_location() {
    let text = "defaults: &d { connect: x }\nusers: *d\norders: { connect: 3 }\n";
    assert_eq!(
        errors::<Aliased>(text),
        [
            "t.yaml:1:25: defaults.connect: invalid type (got \"x\"; expected u32)",
            "t.yaml:1:25: users.connect: invalid type (got \"x\"; expected u32)",
        ]
    );
}
