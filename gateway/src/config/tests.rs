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

const RESILIENT: &str = "\
listen: 127.0.0.1:8080
upstreams:
  users:
    endpoints: [ { address: 127.0.0.1:9101 }, { address: 127.0.0.1:9102 } ]
    failure_statuses: [500, \"502-504\", 429]
    circuit_breaker:
      window: { duration: 10s }
      failure_rate: 40%
      slow_call: { over: 1s, rate: 80% }
      minimum_calls: 5
      open_for: 2s
      half_open_calls: 2
      half_open_max_wait: off
      automatic_half_open: false
    outlier_detection: { consecutive_failures: 3, base_ejection: 5s, max_ejection_percent: 50% }
    limits: { max_connections: 64, max_pending: 8, max_requests: 100 }
routes:
  - name: users
    match: { path: /api/users/** }
    upstream: users
    timeout: 3s
    per_try_timeout: 1s
    retry:
      attempts: 3
      on: [connect_failure, reset, per_try_timeout, \"503\", 429]
      non_idempotent: true
      backoff: { base: 10ms, max: 100ms }
      budget: { ratio: 25%, min_per_second: 5, window: 5s }
      max_replay_body_bytes: 16KiB
    circuit_breaker: { window: { calls: 50 } }
    fallback: { static: { status: 200, headers: { content-type: application/json }, body: '{\"users\":[]}' } }
    fault: { abort: { status: 503, percent: 10% }, delay: { duration: 50ms }, header_control: true, seed: 9 }
";

#[test]
fn config_resilience_settings_map_onto_module_configs() {
    use crate::breaker::Window;
    let config = load(RESILIENT);
    let users = config.upstream("users").unwrap();
    let statuses = users.classifier.statuses();
    assert_eq!(statuses.ranges(), vec![(429, 429), (500, 500), (502, 504)]);
    let breaker = users.breaker.unwrap();
    assert_eq!(breaker.window, Window::Time(Duration::from_secs(10)));
    assert_eq!(breaker.failure_rate_threshold, 0.4);
    assert_eq!(
        (breaker.slow_call_duration, breaker.slow_call_rate_threshold),
        (Duration::from_secs(1), 0.8)
    );
    assert_eq!(breaker.minimum_calls.get(), 5);
    assert_eq!(breaker.wait_in_open, Duration::from_secs(2));
    assert_eq!(breaker.permitted_calls_in_half_open.get(), 2);
    assert_eq!(breaker.max_wait_in_half_open, None);
    assert!(!breaker.automatic_transition);
    let outlier = users.outlier.clone().unwrap();
    assert_eq!(outlier.consecutive_failures().get(), 3);
    assert_eq!(outlier.base_ejection(), Duration::from_secs(5));
    assert_eq!(
        (
            users.limits.max_connections,
            users.limits.max_pending,
            users.limits.max_requests
        ),
        (64, 8, 100)
    );

    let route = &config.routes[0];
    assert_eq!(
        (route.timeout, route.per_try_timeout),
        (Duration::from_secs(3), Some(Duration::from_secs(1)))
    );
    let retry = route.retry.clone().unwrap();
    assert_eq!(retry.attempts.get(), 3);
    assert!(
        retry.retry_on.connect_failure && retry.retry_on.reset && retry.retry_on.per_try_timeout
    );
    assert_eq!(
        retry.retry_on.statuses.ranges(),
        vec![(429, 429), (503, 503)]
    );
    assert!(!retry.idempotent_only);
    assert_eq!(
        (retry.backoff.base, retry.backoff.max),
        (Duration::from_millis(10), Duration::from_millis(100))
    );
    assert_eq!(
        (
            retry.budget.ratio,
            retry.budget.min_per_second,
            retry.budget.window
        ),
        (0.25, 5, Duration::from_secs(5))
    );
    assert_eq!(retry.max_replay_body_bytes, 16 * 1024);
    assert_eq!(
        route.breaker.unwrap().window,
        Window::Count(std::num::NonZeroU32::new(50).unwrap())
    );
    assert!(matches!(
        route.fallback,
        Some(crate::fallback::FallbackConfig::Static(_))
    ));
    assert!(route.fault.is_some());
}

#[test]
fn config_resilience_defaults_apply_when_only_the_block_is_present() {
    let text = MINIMAL
        .replace(
            "      - address: 127.0.0.1:9101\n",
            "      - address: 127.0.0.1:9101\n    circuit_breaker: {}\n",
        )
        .replace(
            "    upstream: users\n",
            "    upstream: users\n    retry: {}\n",
        );
    let config = load(&text);
    assert_eq!(
        config.upstreams[0].breaker,
        Some(crate::breaker::BreakerConfig::default())
    );
    assert_eq!(
        config.upstreams[0].limits,
        crate::limits::LimitsConfig::default()
    );
    let retry = config.routes[0].retry.clone().unwrap();
    assert_eq!(retry, crate::retry::RetryConfig::default());
    assert_eq!(config.routes[0].per_try_timeout, None);
}

#[test]
fn config_resilience_problems_are_reported_with_yaml_paths() {
    let text = "\
listen: 127.0.0.1:8080
upstreams:
  users:
    endpoints: [ { address: 127.0.0.1:9101 } ]
    failure_statuses: [\"5xx\"]
    circuit_breaker: { window: { calls: 0 }, failure_rate: 0%, open_for: 0s }
    outlier_detection: { consecutive_failures: 0 }
    limits: { max_requests: 0 }
routes:
  - name: users
    match: { path: /** }
    upstream: users
    timeout: 1s
    per_try_timeout: 2s
    retry: { on: [\"404\", bogus] }
    fallback: { static: { status: 99 } }
    fault: { abort: { status: 1000 } }
";
    let lines = problems(text);
    let expect = [
        "upstreams.users.failure_statuses[0]: not a status code or range",
        "upstreams.users.circuit_breaker.window.calls: a window needs at least one call",
        "upstreams.users.circuit_breaker.failure_rate: failure_rate_threshold must be above 0",
        "upstreams.users.circuit_breaker.open_for: wait_in_open must be positive",
        "upstreams.users.outlier_detection.consecutive_failures:",
        "upstreams.users.limits.max_requests: limit must be at least 1",
        "routes[0].per_try_timeout: per-try timeout above the route timeout",
        "routes[0].retry.on[1]: not a retry condition",
        "routes[0].retry.on: statuses 404 are not failures for this upstream",
        "routes[0].fallback.static.status:",
        "routes[0].fault.abort.status: not an HTTP status",
    ];
    for e in expect {
        assert!(
            lines.iter().any(|l| l.contains(e)),
            "missing `{e}` in {lines:#?}"
        );
    }
    assert_eq!(lines.len(), expect.len(), "{lines:#?}");
}

#[test]
fn config_fallback_body_file_is_read_relative_to_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fallback.json"), "{\"degraded\":true}").unwrap();
    let text = MINIMAL.replace(
        "    upstream: users\n",
        "    upstream: users\n    fallback: { static: { body_file: fallback.json } }\n",
    );
    let path = dir.path().join("gateway.yaml");
    let config = load_str(&path.display().to_string(), &text).unwrap();
    let Some(crate::fallback::FallbackConfig::Static(fallback)) = &config.routes[0].fallback else {
        panic!("static fallback")
    };
    assert_eq!(&fallback.body()[..], b"{\"degraded\":true}");

    let missing = MINIMAL.replace(
        "    upstream: users\n",
        "    upstream: users\n    fallback: { static: { body_file: nope.json } }\n",
    );
    let err = load_str(&path.display().to_string(), &missing).unwrap_err();
    let line = err
        .diagnostics()
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .to_string();
    assert!(
        line.contains("routes[0].fallback.static.body_file: cannot read fallback body file"),
        "{line}"
    );
    assert!(line.contains("nope.json"), "{line}");
}

// === tls ===

/// A CA-less self-signed certificate for `name`, written as `NAME.crt` / `NAME.key` in `dir`.
fn write_cert(dir: &std::path::Path, name: &str) -> (String, String) {
    let generated = rcgen::generate_simple_self_signed(vec![format!("{name}.test")]).unwrap();
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (cert.display().to_string(), key.display().to_string())
}

fn with_tls(tls: &str) -> String {
    format!("{MINIMAL}tls:\n{tls}")
}

#[test]
fn listener_tls_defaults_to_tls12_both_alpn_protocols_and_10s_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_cert(dir.path(), "a");
    let config = load(&with_tls(&format!(
        "  certificates:\n    - {{ cert: {cert}, key: {key}, server_names: [A.test, \"*.b.test\"] }}\n"
    )));
    let tls = config.tls.expect("tls settings");
    assert_eq!(tls.min_version, crate::tls::TlsVersion::V1_2);
    assert_eq!(tls.alpn, [crate::tls::Alpn::H2, crate::tls::Alpn::Http11]);
    assert_eq!(tls.handshake_timeout, Duration::from_secs(10));
    assert_eq!(tls.certificates[0].server_names, ["a.test", "*.b.test"]);
    assert_eq!(
        tls.server.alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec()]
    );
}

#[test]
fn listener_tls_reports_each_problem_at_its_field() {
    let dir = tempfile::tempdir().unwrap();
    let (a_cert, _) = write_cert(dir.path(), "a");
    let (b_cert, b_key) = write_cert(dir.path(), "b");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not pem\n").unwrap();
    let missing = dir.path().join("missing.pem").display().to_string();
    let lines = problems(&with_tls(&format!(
        "  min_version: \"1.1\"
  alpn: [h3]
  certificates:
    - {{ cert: {missing}, key: {b_key}, server_names: [a.test] }}
    - {{ cert: {a_cert}, key: {b_key}, server_names: [b.test] }}
    - {{ cert: {b_cert}, key: {b_key}, server_names: [] }}
    - {{ cert: {garbage}, key: {b_key}, server_names: [A.test, \"x.*.test\"] }}
",
        garbage = garbage.display()
    )));
    let find = |path: &str, words: &str| {
        assert!(
            lines.iter().any(|l| l.contains(path) && l.contains(words)),
            "no problem at {path} with {words:?} in {lines:#?}"
        );
    };
    find("tls.min_version", "unknown TLS version");
    find("tls.min_version", "\"1.3\"");
    find("tls.alpn[0]", "h2 or http/1.1");
    find("tls.certificates[0].cert", "cannot read");
    find("tls.certificates[1].key", "does not match the certificate");
    find(
        "tls.certificates[2].server_names",
        "at least one server name",
    );
    find("tls.certificates[3].cert", "holds no PEM CERTIFICATE");
    find(
        "tls.certificates[3].server_names[0]",
        "duplicate server name",
    );
    find("tls.certificates[3].server_names[1]", "not a server name");
    // Every line is located in the file.
    assert!(
        lines.iter().all(|l| l.starts_with("gw.yaml:")),
        "{lines:#?}"
    );
}

#[test]
fn upstream_tls_rejects_insecure_together_with_a_ca_file_and_a_bad_server_name() {
    let text = "\
listen: 127.0.0.1:8080
upstreams:
  users:
    endpoints:
      - address: 127.0.0.1:9101
    tls:
      ca_file: /nonexistent/ca.pem
      insecure_skip_verify: true
      server_name: \"not a name\"
routes:
  - name: users
    match: { path: /api/users/** }
    upstream: users
";
    let lines = problems(text);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("upstreams.users.tls.insecure_skip_verify")
                && l.contains("exclusive")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("upstreams.users.tls.server_name")
                && l.contains("not a server name")),
        "{lines:#?}"
    );
}

#[test]
fn upstream_tls_with_a_ca_file_loads_its_roots_and_server_name() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = write_cert(dir.path(), "ca");
    let config = load(&format!(
        "\
listen: 127.0.0.1:8080
upstreams:
  users:
    endpoints:
      - address: 127.0.0.1:9101
    tls: {{ ca_file: {cert}, server_name: users.internal }}
routes:
  - name: users
    match: {{ path: /api/users/** }}
    upstream: users
"
    ));
    let tls = config.upstreams[0].tls.as_ref().expect("upstream tls");
    assert_eq!(
        tls.server_name.as_ref().map(|n| n.to_str().into_owned()),
        Some("users.internal".to_owned())
    );
    match &tls.verify {
        crate::tls::UpstreamVerify::CaFile { roots, .. } => assert_eq!(roots.len(), 1),
        other => panic!("expected CA file verification, got {other:?}"),
    }
}

/// `auth.providers` with an RSA public key and an HMAC secret file (test fixtures), and
/// `routes`, around the minimal upstream.
fn with_auth(providers: &str, routes: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth");
    format!(
        "\
listen: 127.0.0.1:8080
auth:
  providers:
{}
upstreams:
  users:
    endpoints:
      - address: 127.0.0.1:9101
routes:
{routes}",
        providers.replace("FIXTURES", dir)
    )
}

#[test]
fn config_auth_provider_and_route_get_documented_defaults() {
    let config = load(&with_auth(
        "    idp:
      issuer: https://idp.test/
      audiences: [api]
      algorithms: [RS256, PS256]
      public_key_file: FIXTURES/rsa1.pub.pem",
        "  - name: users
    match: { path: /api/** }
    upstream: users
    auth: { provider: idp, forward_claims: { sub: x-user-id } }
",
    ));
    let idp = config.auth.provider("idp").unwrap();
    assert_eq!(idp.leeway, Duration::from_secs(30));
    assert_eq!(
        idp.algorithms,
        vec![
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::Algorithm::PS256
        ]
    );
    assert_eq!(idp.keys.field(), "public_key_file");
    let auth = config.routes[0].auth.as_ref().unwrap();
    assert!(auth.strip_authorization);
    assert_eq!(auth.forward_claims[0].1.as_str(), "x-user-id");
    // Key material never shows in Debug output.
    let debug = format!("{config:?}");
    assert!(debug.contains("[redacted]") && !debug.contains("BEGIN PUBLIC KEY"));
}

#[test]
fn config_auth_algorithms_must_fit_the_key_kind() {
    let text = with_auth(
        "    shared:
      issuer: https://idp.test/
      audiences: [api]
      algorithms: [RS256, none, HS256, HS256]
      secret_file: FIXTURES/hmac.secret",
        "  []",
    );
    assert_eq!(
        problems(&text),
        vec![
            "gw.yaml:7:20: auth.providers.shared.algorithms[0]: RS256 cannot be verified with the `secret_file` key (HMAC secret) (got \"RS256\"; expected algorithms of that key: HS256, HS384, HS512)",
            "gw.yaml:7:27: auth.providers.shared.algorithms[1]: unknown or refused algorithm (got \"none\"; expected one of: HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)",
            "gw.yaml:7:40: auth.providers.shared.algorithms[3]: duplicate algorithm (got \"HS256\"; expected each algorithm once)",
        ]
    );
}

#[test]
fn config_auth_key_sources_are_exclusive_checked_and_never_quote_secrets() {
    let text = with_auth(
        "    two:
      issuer: https://idp.test/
      audiences: [api]
      algorithms: [HS256]
      secret_file: FIXTURES/hmac.secret
      jwks_url: https://idp.test/jwks.json
    none:
      issuer: https://idp.test/
      audiences: [api]
      algorithms: [HS256]
      jwks_refresh: 1m
    env:
      issuer: https://idp.test/
      audiences: [api]
      algorithms: [HS256]
      secret_env: GATEWAY_TEST_SURELY_UNSET_SECRET",
        "  - name: users
    match: { path: /api/** }
    upstream: users
    auth:
      provider: nobody
      rules: [ { claim: role, any_of: [] } ]
      forward_claims: { sub: authorization }
",
    );
    assert_eq!(
        problems(&text),
        vec![
            "gw.yaml:9:17: auth.providers.two.jwks_url: a provider has exactly one key source (got \"https://idp.test/jwks.json\"; expected only one of: secret_env, secret_file, public_key_file, jwks_file, jwks_url)",
            "gw.yaml:11:7: auth.providers.none: a provider needs a key source (expected one of: secret_env, secret_file, public_key_file, jwks_file, jwks_url)",
            "gw.yaml:14:21: auth.providers.none.jwks_refresh: `jwks_refresh` only applies to `jwks_url` (got \"1m\"; expected remove `jwks_refresh`, or use `jwks_url`)",
            "gw.yaml:19:19: auth.providers.env.secret_env: environment variable is not set (got \"GATEWAY_TEST_SURELY_UNSET_SECRET\"; expected an environment variable holding at least 32 bytes)",
            "gw.yaml:29:17: routes[0].auth.provider: unknown auth provider (got \"nobody\"; expected one of: env, none, two)",
            "gw.yaml:30:39: routes[0].auth.rules[0].any_of: a rule needs at least one accepted value (expected a list of values, e.g. [admin, user])",
            "gw.yaml:31:30: routes[0].auth.forward_claims.sub: header reserved for the gateway or the protocol (got \"authorization\"; expected an application header, e.g. x-user-id)",
        ]
    );
}

// === limits and the admin token ===

#[test]
fn config_limits_default_to_documented_values_and_accept_off() {
    let config = load(MINIMAL);
    assert_eq!(config.limits, super::ServerLimits::default());
    assert_eq!(config.limits.max_body_bytes, Some(64 * 1024 * 1024));
    assert_eq!(config.admin.token, None);
    let config = load(&format!(
        "{MINIMAL}limits:\n  max_body_bytes: \"off\"\n  max_connections: \"off\"\n  max_header_bytes: 16KiB\n  header_read_timeout: 2s\n  http2: {{ max_concurrent_streams: 50 }}\n"
    ));
    assert_eq!(config.limits.max_body_bytes, None);
    assert_eq!(config.limits.max_connections, None);
    assert_eq!(config.limits.max_header_bytes, 16 * 1024);
    assert_eq!(config.limits.header_read_timeout, Duration::from_secs(2));
    assert_eq!(config.limits.http2_max_concurrent_streams, 50);
}

#[test]
fn config_limit_problems_are_reported_at_their_fields() {
    let found = problems(&format!(
        "{MINIMAL}limits:\n  max_header_bytes: 1KiB\n  max_body_bytes: 0B\n  header_read_timeout: 0s\n  max_connections: 0\n  http2: {{ max_concurrent_streams: 0 }}\n"
    ));
    let fields: Vec<&str> = found
        .iter()
        .map(|p| p.split(": ").nth(1).unwrap_or_default())
        .collect();
    assert_eq!(
        fields,
        [
            "limits.max_header_bytes",
            "limits.max_body_bytes",
            "limits.header_read_timeout",
            "limits.max_connections",
            "limits.http2.max_concurrent_streams",
        ],
        "{found:#?}"
    );
    assert!(
        found[0].contains("expected a size from 8KiB to 1MiB"),
        "{}",
        found[0]
    );
}

#[test]
fn config_admin_token_comes_from_a_file_and_short_or_double_sources_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "0123456789abcdef-admin\n").unwrap();
    let with_admin = |admin: &str| {
        MINIMAL.replacen(
            "listen: 127.0.0.1:8080\n",
            &format!("listen: 127.0.0.1:8080\nadmin:\n{admin}"),
            1,
        )
    };
    let config = load(&with_admin(&format!("  token_file: {}\n", file.display())));
    assert_eq!(
        config.admin.token.as_deref(),
        Some("0123456789abcdef-admin")
    );
    assert!(!format!("{:?}", config.admin).contains("0123456789abcdef"));

    std::fs::write(&file, "short\n").unwrap();
    let found = problems(&with_admin(&format!("  token_file: {}\n", file.display())));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("admin.token_file: the token is shorter than 16"),
        "{found:?}"
    );

    let found = problems(&with_admin(&format!(
        "  token_env: GATEWAY_TEST_TOKEN\n  token_file: {}\n",
        file.display()
    )));
    assert!(
        found[0].contains("both `token_env` and `token_file` are set"),
        "{found:?}"
    );
}
