//! Config validation: defaults, each rule's located message, all problems at once.

use std::time::Duration;

use super::{Config, LoadError, load_str};
use crate::balance::{BalancerConfig, HashKey};
use crate::route::HostHeader;
use crate::routing::{PathMatch, Rewrite};
use crate::upstream::PanicMode;

const MINIMAL: &str = "\
listen: 127.0.0.1:8080
upstreams:
  users:
    endpoints:
      - address: 127.0.0.1:9101
routes:
  - name: users
    match: { path: /api/users/** }
    upstream: users
";

fn load(text: &str) -> Config {
    match load_str("gw.yaml", text) {
        Ok(config) => config,
        Err(e) => panic!(
            "expected a valid config, got {e}: {:?}",
            e.diagnostics().map(|d| d.to_string())
        ),
    }
}

/// Every problem line, in order.
fn problems(text: &str) -> Vec<String> {
    match load_str("gw.yaml", text) {
        Ok(_) => panic!("expected an invalid config"),
        Err(LoadError::Invalid(d)) => d.iter().map(ToString::to_string).collect(),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn config_minimal_gets_documented_defaults() {
    let config = load(MINIMAL);
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.admin.listen.to_string(), "127.0.0.1:9901");
    assert_eq!(config.shutdown.drain_timeout, Duration::from_secs(30));
    assert!(config.reload.watch);
    assert_eq!(config.reload.debounce, Duration::from_millis(250));
    let users = config.upstream("users").unwrap();
    assert_eq!(users.endpoints[0].weight, 1);
    assert_eq!(users.balancer, BalancerConfig::SmoothWeightedRoundRobin);
    assert_eq!(users.connect_timeout, Duration::from_secs(2));
    assert_eq!(users.health_check, None);
    assert_eq!(users.panic, PanicMode::Below { threshold: 0.0 });
    let route = &config.routes[0];
    assert_eq!(route.timeout, Duration::from_secs(15));
    assert_eq!(route.host_header, HostHeader::Preserve);
    assert_eq!(route.rewrite, None);
    assert!(matches!(route.matcher.path, PathMatch::Pattern(_)));
}

#[test]
fn config_quickstart_example_is_valid() {
    let text = include_str!("../../examples/quickstart.yaml");
    let config = load(text);
    let demo = config.upstream("demo").unwrap();
    assert_eq!(demo.endpoints.len(), 2);
    let hc = demo.health_check.as_ref().unwrap();
    assert_eq!(
        (hc.path.as_str(), hc.interval, hc.timeout),
        (
            "/healthz",
            Duration::from_secs(1),
            Duration::from_millis(300)
        )
    );
    assert_eq!(
        config.routes[0].rewrite,
        Some(Rewrite::StripPrefix("/api".into()))
    );
}

#[test]
fn config_balancer_forms_parse_to_their_algorithms() {
    let with = |balancer: &str| {
        let text = MINIMAL.replace(
            "      - address: 127.0.0.1:9101\n",
            &format!("      - address: 127.0.0.1:9101\n    balancer: {balancer}\n"),
        );
        load(&text).upstreams[0].balancer.clone()
    };
    assert_eq!(with("round_robin"), BalancerConfig::RoundRobin);
    assert_eq!(with("least_request"), BalancerConfig::LeastRequest);
    assert_eq!(
        with("{ type: consistent_hash }"),
        BalancerConfig::ConsistentHash {
            key: HashKey::ClientIp
        }
    );
    assert_eq!(
        with("{ type: consistent_hash, hash_key: \"header:x-user\" }"),
        BalancerConfig::ConsistentHash {
            key: HashKey::Header(http::HeaderName::from_static("x-user"))
        }
    );
    assert_eq!(
        with("{ type: p2c_peak_ewma, decay: 5s }"),
        BalancerConfig::P2cPeakEwma {
            decay: Duration::from_secs(5),
            default_rtt: Duration::from_millis(30)
        }
    );
}

#[test]
fn config_panic_threshold_off_and_percent_are_accepted() {
    let with = |value: &str| {
        let text = MINIMAL.replace(
            "      - address: 127.0.0.1:9101\n",
            &format!("      - address: 127.0.0.1:9101\n    panic_threshold: {value}\n"),
        );
        load(&text).upstreams[0].panic
    };
    assert_eq!(with("off"), PanicMode::Off);
    assert_eq!(with("50%"), PanicMode::Below { threshold: 0.5 });
}

#[test]
fn config_with_many_problems_reports_all_of_them_located() {
    let text = "\
listen: 127.0.0.1:8080
upstreams:
  users:
    endpoints:
      - address: 127.0.0.1:9101
        weight: 0
      - address: localhost
    balancer: fastest
  empty:
    endpoints: []
routes:
  - name: users
    match: { path: /api/**/users }
    upstream: user
  - name: users
    match: { prefix: /b, methods: [G@T] }
    upstream: users
    timeout: 0s
";
    assert_eq!(
        problems(text),
        vec![
            "gw.yaml:6:17: upstreams.users.endpoints[0].weight: weight out of range (got 0; expected 1 to 1000)",
            "gw.yaml:7:18: upstreams.users.endpoints[1].address: not a HOST:PORT address (got \"localhost\"; expected HOST:PORT with a non-zero port, e.g. 127.0.0.1:9101 or users.internal:80)",
            "gw.yaml:8:15: upstreams.users.balancer: unknown balancer (got \"fastest\"; expected round_robin, smooth_weighted_round_robin, least_request, consistent_hash, p2c_peak_ewma)",
            "gw.yaml:10:16: upstreams.empty.endpoints: an upstream needs at least one endpoint (expected one or more endpoints)",
            "gw.yaml:13:20: routes[0].match.path: path pattern `/api/**/users` has `**` before its end; `**` is only allowed as the last segment (got \"/api/**/users\")",
            "gw.yaml:14:15: routes[0].upstream: unknown upstream (got \"user\"; expected one of: empty, users)",
            "gw.yaml:15:11: routes[1].name: duplicate route name (got \"users\"; expected a name no other route uses)",
            "gw.yaml:16:36: routes[1].match.methods[0]: not an HTTP method (got \"G@T\"; expected a method token, e.g. GET, POST, PUT, DELETE)",
            "gw.yaml:18:14: routes[1].timeout: must be above zero (got \"0s\"; expected a positive duration, e.g. 15s)",
        ]
    );
}

#[test]
fn config_missing_required_fields_are_reported_at_their_parent() {
    let text = "\
upstreams:
  users: { endpoints: [ { address: 127.0.0.1:1 } ] }
routes:
  - match: { path: /x }
";
    let lines = problems(text);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with("gw.yaml:1:1: listen: missing field `listen`"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("gw.yaml:4:5: routes[0].name: missing field `name`"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("gw.yaml:4:5: routes[0].upstream: missing field `upstream`"),
        "{}",
        lines[2]
    );
}

#[test]
fn config_unknown_key_and_bare_duration_are_rejected_before_validation() {
    let text = MINIMAL.replace(
        "    upstream: users\n",
        "    upstream: users\n    timout: 5\n    timeout: 5\n",
    );
    let lines = problems(&text);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].contains("routes[0].timout: unknown field `timout`"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("did you mean `timeout`?"), "{}", lines[0]);
    assert!(
        lines[1].contains("routes[0].timeout: invalid duration: missing unit"),
        "{}",
        lines[1]
    );
}

#[test]
fn config_rewrite_that_does_not_fit_the_path_is_rejected() {
    let text = MINIMAL.replace(
        "    upstream: users\n",
        "    upstream: users\n    rewrite: { strip_prefix: /other }\n",
    );
    let lines = problems(&text);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("gw.yaml:10:14: routes[0].rewrite: rewrite does not fit the route's path: strip_prefix `/other` does not apply"), "{}", lines[0]);
}

#[test]
fn config_exclusive_and_empty_choices_are_rejected() {
    let text = MINIMAL
        .replace(
            "match: { path: /api/users/** }",
            "match: { path: /a/**, prefix: /a }",
        )
        .replace(
            "    upstream: users\n",
            "    upstream: users\n    rewrite: {}\n    host_header: origin\n",
        );
    let lines = problems(&text);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].contains("routes[0].match.prefix: `path` and `prefix` are exclusive"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("routes[0].rewrite: an empty rewrite"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("routes[0].host_header: unknown host header mode (got \"origin\""),
        "{}",
        lines[2]
    );
}

#[test]
fn config_health_check_timeout_above_interval_is_rejected() {
    let text = MINIMAL.replace(
        "      - address: 127.0.0.1:9101\n",
        "      - address: 127.0.0.1:9101\n    health_check: { path: /healthz, interval: 1s, timeout: 2s, healthy_after: 0 }\n",
    );
    let lines = problems(&text);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].contains("health_check.timeout: timeout out of range (got \"2s\"; expected above zero and at most the interval (1s))"), "{}", lines[0]);
    assert!(lines[1].contains("health_check.healthy_after: threshold out of range (got 0; expected 1 to 100 consecutive probes)"), "{}", lines[1]);
}

#[test]
fn config_balancer_settings_for_another_algorithm_are_rejected() {
    let text = MINIMAL.replace(
        "      - address: 127.0.0.1:9101\n",
        "      - address: 127.0.0.1:9101\n    balancer: { type: round_robin, hash_key: client_ip }\n",
    );
    let lines = problems(&text);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0]
            .contains("balancer.hash_key: `hash_key` only applies to the consistent_hash balancer"),
        "{}",
        lines[0]
    );
}

#[test]
fn config_admin_on_the_data_plane_address_is_rejected() {
    let text = MINIMAL.replace(
        "listen: 127.0.0.1:8080\n",
        "listen: 127.0.0.1:8080\nadmin: { listen: 127.0.0.1:8080 }\n",
    );
    let lines = problems(&text);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("admin.listen: the admin listener must not share the data-plane address"),
        "{}",
        lines[0]
    );
}

#[test]
fn config_duplicate_endpoint_and_bad_upstream_name_are_rejected() {
    let text = MINIMAL
        .replace("  users:\n", "  \"us ers\":\n")
        .replace(
            "      - address: 127.0.0.1:9101\n",
            "      - address: 127.0.0.1:9101\n      - address: 127.0.0.1:9101\n",
        )
        .replace("upstream: users", "upstream: \"us ers\"");
    let lines = problems(&text);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].contains("invalid upstream name"), "{}", lines[0]);
    assert!(
        lines[1].contains("endpoints[1].address: duplicate endpoint in this upstream"),
        "{}",
        lines[1]
    );
}
