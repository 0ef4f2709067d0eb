//! Every invalid scenario fixture, with each problem pinned: file:line:col, field path,
//! problem, value received and what is allowed (STYLE §3.7: every invalid YAML file has a
//! test pinning its error path and message).
//!
//! Paths in the expected lines are relative to `tests/fixtures/scenarios/`.

use std::path::Path;

use chaos::scenario;

const FIXTURES: &str = "tests/fixtures/scenarios/";

/// Every file in `invalid/`; `every_invalid_fixture_has_a_test` keeps it complete.
const TESTED: &[&str] = &[
    "backends.yaml",
    "empty.yaml",
    "fault-kinds.yaml",
    "fault-params.yaml",
    "gateway-attach.yaml",
    "gateway-forms.yaml",
    "guards.yaml",
    "header-control.yaml",
    "load.yaml",
    "metric-query.yaml",
    "missing-sections.yaml",
    "names.yaml",
    "objective-kind.yaml",
    "objectives.yaml",
    "overlaps.yaml",
    "placeholders.yaml",
    "ramp.yaml",
    "ramp-duration.yaml",
    "ramp-stages.yaml",
    "references.yaml",
    "shapes.yaml",
    "syntax.yaml",
    "targets.yaml",
    "template-missing.yaml",
    "template-not-yaml.yaml",
    "thresholds.yaml",
    "timeline.yaml",
    "types.yaml",
    "unknown-keys.yaml",
    "upstreams.yaml",
    "windows.yaml",
];

/// The problems `chaos validate` reports for `invalid/NAME`, one line each, with the
/// fixtures folder left out of file names.
fn problems(name: &str) -> Vec<String> {
    let path = Path::new(FIXTURES).join("invalid").join(name);
    match scenario::load_file(&path) {
        Ok(plan) => panic!("{name} is valid: {plan:?}"),
        Err(diagnostics) => diagnostics
            .iter()
            .map(|d| d.to_string().replace(FIXTURES, ""))
            .collect(),
    }
}

#[test]
fn scenario_every_invalid_fixture_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(Path::new(FIXTURES).join("invalid"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut tested = TESTED.to_vec();
    tested.sort_unstable();
    assert_eq!(files, tested);
}

#[test]
fn scenario_backends_are_named_or_configured_with_urls() {
    assert_eq!(
        problems("backends.yaml"),
        [
            "invalid/backends.yaml:8:13: system.backends.traces: unknown backend (got \"jaeger\"; expected `embedded`, or `{ jaeger: URL, otlp: URL }`)",
            "invalid/backends.yaml:9:14: system.backends.metrics.prometheus: missing field `prometheus` (expected a base URL, e.g. http://127.0.0.1:9090)",
            "invalid/backends.yaml:10:31: system.backends.fault_proxy.toxiproxy: invalid URL (got \"localhost:8474\"; expected a base URL http(s)://HOST[:PORT], e.g. http://127.0.0.1:8474)",
        ]
    );
}

#[test]
fn scenario_fault_without_or_with_several_kinds_is_rejected_listing_the_kinds() {
    assert_eq!(
        problems("fault-kinds.yaml"),
        [
            "invalid/fault-kinds.yaml:15:5: faults[0]: missing fault kind (expected exactly one of: kill, terminate, pause, restart, latency, bandwidth, slow_close, blackhole, timeout, reset_peer, slicer, limit_data, refuse, partition, http_errors, gateway_fault, command)",
            "invalid/fault-kinds.yaml:16:58: faults[1].pause: several fault kinds: `kill` and `pause` (expected exactly one of: kill, terminate, pause, restart, latency, bandwidth, slow_close, blackhole, timeout, reset_peer, slicer, limit_data, refuse, partition, http_errors, gateway_fault, command; hint: write one fault per entry)",
            "invalid/fault-kinds.yaml:17:5: faults[2]: missing fault kind (expected exactly one of: kill, terminate, pause, restart, latency, bandwidth, slow_close, blackhole, timeout, reset_peer, slicer, limit_data, refuse, partition, http_errors, gateway_fault, command)",
            "invalid/fault-kinds.yaml:17:41: faults[2].kil: unknown field `kil` (expected one of: name, at, for, until, kill, terminate, pause, restart, latency, bandwidth, slow_close, blackhole, timeout, reset_peer, slicer, limit_data, refuse, partition, http_errors, gateway_fault, command; hint: did you mean `kill`?)",
        ]
    );
}

#[test]
fn scenario_fault_parameters_are_checked_against_the_catalog() {
    assert_eq!(
        problems("fault-params.yaml"),
        [
            "invalid/fault-params.yaml:15:46: faults[0].latency: missing parameter `latency` (expected a duration in whole milliseconds, e.g. `100ms`; hint: write `latency: { target: users-a, latency: ... }`)",
            "invalid/fault-params.yaml:16:73: faults[1].latency.latency: not a whole number of milliseconds (got \"1.5ms\"; expected a duration in whole milliseconds, e.g. `100ms`)",
            "invalid/fault-params.yaml:16:87: faults[1].latency.jiter: unknown parameter `jiter` of `latency` (expected one of: target, latency, jitter, stream, toxicity; hint: did you mean `jitter`?)",
            "invalid/fault-params.yaml:17:73: faults[2].blackhole.stream: invalid value (got \"sideways\"; expected `downstream` or `upstream`)",
            "invalid/fault-params.yaml:17:93: faults[2].blackhole.toxicity: invalid percentage: more than 100% (got \"150%\"; expected a number from 0 to 100 followed by `%`, e.g. `50%` or `0.5%`)",
            "invalid/fault-params.yaml:18:78: faults[3].slicer.average_size: invalid byte size: missing unit (got 64; expected a number with a unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB (powers of 1000), e.g. `64KiB`; hint: add a unit, e.g. `64B` or `64KiB`)",
            "invalid/fault-params.yaml:18:89: faults[3].slicer.delay: not a whole number of microseconds (got \"1.5us\"; expected a duration in whole microseconds, e.g. `500us`)",
            "invalid/fault-params.yaml:19:75: faults[4].bandwidth.rate_kbps: out of range (got 0; expected a whole number of KB/s, at least 1)",
            "invalid/fault-params.yaml:20:75: faults[5].http_errors.status: out of range (got 200; expected an HTTP status from 400 to 599)",
            "invalid/fault-params.yaml:20:86: faults[5].http_errors.hang: invalid type (got \"yes\"; expected true or false)",
            "invalid/fault-params.yaml:21:49: faults[6].gateway_fault: `gateway_fault` needs `abort` or `delay` (expected at least one of: abort, delay)",
            "invalid/fault-params.yaml:22:59: faults[7].gateway_fault.abort: missing parameter `status` (expected an HTTP status from 200 to 599)",
            "invalid/fault-params.yaml:23:53: faults[8].command.start: empty command (expected a list: [PROGRAM, ARGS...])",
            "invalid/fault-params.yaml:24:67: faults[9].kill.then: invalid value (got \"never\"; expected `restart` or `stay_down`)",
            "invalid/fault-params.yaml:25:43: faults[10].pause: missing target (got null; expected an upstream name, or a mapping with: target; hint: write `pause: UPSTREAM`)",
        ]
    );
}

#[test]
fn scenario_attached_gateway_needs_admin_a_base_url_and_no_spawn_keys() {
    assert_eq!(
        problems("gateway-attach.yaml"),
        [
            "invalid/gateway-attach.yaml:5:5: system.gateway.admin: missing field `admin` (expected the admin base URL, e.g. http://127.0.0.1:9901)",
            "invalid/gateway-attach.yaml:5:10: system.gateway.url: invalid URL (got \"https://gateway.example/api\"; expected a base URL http://HOST:PORT, e.g. http://127.0.0.1:8080)",
            "invalid/gateway-attach.yaml:6:13: system.gateway.binary: `binary` only applies to a spawned gateway (got \"./gateway\"; expected `config: PATH` instead of `url`, or no `binary`)",
            "invalid/gateway-attach.yaml:7:12: system.gateway.ready: `ready` only applies to a spawned gateway (got \"5s\"; expected `config: PATH` instead of `url`, or no `ready`)",
        ]
    );
}

#[test]
fn scenario_gateway_with_config_and_url_is_rejected() {
    assert_eq!(
        problems("gateway-forms.yaml"),
        [
            "invalid/gateway-forms.yaml:6:10: system.gateway.url: `config` and `url` are exclusive (got \"http://127.0.0.1:8080\"; expected `config: PATH` to spawn the gateway, or `url: http://HOST:PORT` with `admin: http://HOST:PORT` to attach to a running one)",
        ]
    );
}

#[test]
fn scenario_guards_need_one_condition_within_the_load() {
    assert_eq!(
        problems("guards.yaml"),
        [
            "invalid/guards.yaml:12:45: guards[0].latency: `errors` and `latency` are exclusive (got \"p(99) > 2s\"; expected one condition per guard)",
            "invalid/guards.yaml:13:5: guards[1].errors: missing field `errors` (expected `errors: \"> 50%\"` or `latency: \"p(99) > 2s\"`)",
            "invalid/guards.yaml:14:43: guards[2].after: never checked: starts after the load ends (got \"30s\"; expected less than the load's duration (30s))",
            "invalid/guards.yaml:14:56: guards[2].window: zero window (got \"0s\"; expected a duration above 0, e.g. `2s`)",
        ]
    );
}

#[test]
fn scenario_gateway_fault_needs_a_route_with_header_control() {
    assert_eq!(
        problems("header-control.yaml"),
        [
            "invalid/header-control.yaml:13:52: faults[0].gateway_fault: no route of the gateway config lets requests drive its fault filter (expected a route with `fault: { header_control: true }` in templates/no-header-control.yaml)",
        ]
    );
}

#[test]
fn scenario_load_problems_are_reported_at_scenario_paths() {
    assert_eq!(
        problems("load.yaml"),
        [
            "invalid/load.yaml:8:9: load.rate: rate out of range (got \"200000/s\"; expected a rate above 0 and at most 100000 requests/s)",
            "invalid/load.yaml:10:18: load.max_in_flight: out of range (got 0; expected at least 1 request in flight)",
            "invalid/load.yaml:11:12: load.timeout: zero duration (got \"0s\"; expected a duration above 0)",
            "invalid/load.yaml:13:24: load.requests[0].post: several methods in one request (got \"/b\"; expected exactly one of: get, post, put, delete, patch, head (holding the path))",
            "invalid/load.yaml:14:14: load.requests[1].get: invalid path (got \"relative/path\"; expected a path starting with / (a query is allowed))",
            "invalid/load.yaml:14:37: load.requests[1].weight: weight out of range (got 0; expected at least 1)",
            "invalid/load.yaml:15:43: load.requests[2].headers.traceparent: header `traceparent` is set by the load generator (got \"00-abc\"; expected any other header; hint: remove it)",
            "invalid/load.yaml:15:67: load.requests[2].headers[\"bad header\"]: invalid header name (got \"x\"; expected a header name token)",
            "invalid/load.yaml:16:7: load.requests[3]: missing method (expected exactly one of: get, post, put, delete, patch, head (holding the path))",
        ]
    );
}

#[test]
fn scenario_metric_query_without_prometheus_is_rejected() {
    assert_eq!(
        problems("metric-query.yaml"),
        [
            "invalid/metric-query.yaml:12:22: expect[0].metric.query: a PromQL query needs Prometheus (expected `system.backends.metrics: { prometheus: URL }`, or `sample: NAME{labels}`)",
        ]
    );
}

#[test]
fn scenario_without_required_sections_reports_each_missing_key() {
    assert_eq!(
        problems("missing-sections.yaml"),
        [
            "invalid/missing-sections.yaml:2:1: description: missing field `description` (expected one sentence: what fails and what must hold)",
            "invalid/missing-sections.yaml:2:1: system: missing field `system` (expected the gateway and its upstreams)",
            "invalid/missing-sections.yaml:2:1: load: missing field `load` (expected the traffic: `rate`, `duration`, `requests`)",
        ]
    );
}

#[test]
fn scenario_malformed_reserved_and_duplicate_names_are_rejected() {
    assert_eq!(
        problems("names.yaml"),
        [
            "invalid/names.yaml:1:7: name: invalid scenario name (got \"Users Failover\"; expected 1 to 64 characters from a-z 0-9 - _)",
            "invalid/names.yaml:3:15: tags[1]: invalid tag (got \"two words\"; expected a non-empty label without spaces or commas)",
            "invalid/names.yaml:3:28: tags[2]: duplicate tag (got \"drill\"; expected each tag once)",
            "invalid/names.yaml:9:14: system.upstreams[\"Users.A\"]: invalid upstream name (got \"Users.A\"; expected 1 to 64 characters from a-z 0-9 - _)",
            "invalid/names.yaml:15:13: faults[0].name: invalid fault name (got \"crash.1\"; expected 1 to 64 characters from a-z 0-9 - _)",
            "invalid/names.yaml:16:13: faults[1].name: reserved name (got \"load\"; expected any name but `load` (`load.start` and `load.end` are time references))",
            "invalid/names.yaml:18:13: faults[3].name: duplicate fault name (got \"twice\"; expected a name no other fault uses; hint: faults[2] is named `twice` too)",
            "invalid/names.yaml:19:5: faults[4].name: missing field `name` (expected a unique name (1 to 64 characters from a-z 0-9 - _))",
            "invalid/names.yaml:22:13: guards[1].name: duplicate guard name (got \"stop\"; expected a name no other guard uses)",
        ]
    );
}

#[test]
fn scenario_unknown_objective_kind_lists_the_kinds() {
    assert_eq!(
        problems("objective-kind.yaml"),
        [
            "invalid/objective-kind.yaml:12:5: expect[0]: unknown variant `sla` (expected one of: steady_state, errors, latency, failover, degradation, rto, breaker, trace, metric)",
        ]
    );
}

#[test]
fn scenario_objective_fields_and_gateway_config_references_are_checked() {
    assert_eq!(
        problems("objectives.yaml"),
        [
            "invalid/objectives.yaml:17:19: expect[0].steady_state.before: missing field `before` (expected `before` and/or `after`, each with `errors` and/or `latency`)",
            "invalid/objectives.yaml:18:29: expect[1].steady_state.before.errors: missing field `errors` (expected `errors: \"< 1%\"` and/or `latency: \"p(99) < 100ms\"`)",
            "invalid/objectives.yaml:19:15: expect[2].failover.errors: missing field `errors` (expected `errors` and/or `stops_reaching`)",
            "invalid/objectives.yaml:20:42: expect[3].degradation.route: unknown route (got \"user\"; expected one of: users, orders (routes of templates/users.yaml); hint: did you mean `users`?)",
            "invalid/objectives.yaml:21:14: expect[4].breaker.opens_within: missing field `opens_within` (expected `opens_within`, `half_open_after` and/or `closes_within`)",
            "invalid/objectives.yaml:21:26: expect[4].breaker.upstream: unknown gateway upstream (got \"usres\"; expected one of: orders, users (upstreams of templates/users.yaml); hint: did you mean `users`?)",
            "invalid/objectives.yaml:22:30: expect[5].trace.select.name: unknown span name for service `gateway` (got \"upstream.atempt\"; expected one of: gateway.request, upstream.attempt, endpoint.health, config.reload, upstream.request, upstream.callback, breaker.transition, endpoint.ejected, endpoint.returned; hint: did you mean `upstream.attempt`?)",
            "invalid/objectives.yaml:22:71: expect[5].trace.ratio: one aggregate per trace objective (got \"> 1%\"; expected one of `count`, `ratio`, `duration`)",
            "invalid/objectives.yaml:23:22: expect[6].trace.select.name: missing field `name` (expected a span name, e.g. `upstream.attempt`)",
            &format!(
                "invalid/objectives.yaml:24:23: expect[7].metric.sample: unknown metric `gateway_requests_total` (got \"gateway_requests_total\"; expected one of: {})",
                observability::names::metric::ALL.join(", ")
            ),
            "invalid/objectives.yaml:25:23: expect[8].metric.sample: invalid label matcher `upstream=users` (got \"gateway_breaker_state{upstream=users}\"; expected NAME or NAME{label=\"value\",...}, e.g. gateway_breaker_state{upstream=\"users\"})",
            "invalid/objectives.yaml:26:36: expect[9].metric.sample: `query` and `sample` are exclusive (got \"gateway_breaker_state\"; expected one source)",
            "invalid/objectives.yaml:27:10: expect[10].rto.success: missing field `success` (expected a threshold, e.g. `success: \">= 99%\"`)",
            "invalid/objectives.yaml:27:10: expect[10].rto.max: missing field `max` (expected the recovery time objective, e.g. `3s`)",
            "invalid/objectives.yaml:28:50: expect[11].breaker.half_open_after: shorter than the breaker's configured wait (got \"1s\"; expected at least 2s (`circuit_breaker.open_for` in templates/users.yaml))",
        ]
    );
}

#[test]
fn scenario_conflicting_faults_on_one_instance_must_not_overlap() {
    assert_eq!(
        problems("overlaps.yaml"),
        [
            "invalid/overlaps.yaml:16:25: faults[1].at: `freeze` overlaps `crash` on `users-a` (10s..12s and 5s..15s) (expected faults that do not overlap: one process fault at a time per instance)",
            "invalid/overlaps.yaml:19:30: faults[4].at: `errors-late` overlaps `gone` on `users-b` (40s..41s and 20s..1m) (expected faults that do not overlap: the earlier fault keeps the instance down until the load ends (`then: stay_down`))",
            "invalid/overlaps.yaml:21:28: faults[6].at: `one-order` overlaps `all-orders` on `orders.1` (32s..37s and 30s..35s) (expected faults that do not overlap: a process fault restarts the instance and loses the behaviour `http_errors` set)",
            "invalid/overlaps.yaml:24:27: faults[9].at: `refuse-2` overlaps `refuse-1` on `users-a` (54s..59s and 50s..55s) (expected faults that do not overlap: the first `refuse` to end would listen again)",
        ]
    );
}

#[test]
fn scenario_unresolved_placeholders_are_located_in_the_scenario_and_the_template() {
    assert_eq!(
        problems("placeholders.yaml"),
        [
            "invalid/placeholders.yaml:6:40: system.gateway.args[1]: `{{port}}` is not available here (got \"--port={{port}}\"; expected {{upstream.NAME}}, {{upstream.NAME.N}}, {{endpoints.NAME}}, {{otlp}}, {{run_dir}})",
            "invalid/placeholders.yaml:10:24: system.upstreams.search.command: the command does not say where to listen (expected `{{port}}` in an argument or an `env` value (the runner picks a free port))",
            "invalid/placeholders.yaml:10:43: system.upstreams.search.command[2]: `{{otlp}}` is not available here (got \"{{otlp}}\"; expected {{port}}, {{run_dir}})",
            "invalid/placeholders.yaml:16:80: expect[0].trace.select.attributes[\"gateway.endpoint\"]: unknown upstream `nope` in `{{upstream.nope}}` (got \"{{upstream.nope}}\"; expected one of: orders, search, users-a)",
            "templates/bad-placeholders.yaml:5:19: system.gateway.config: unknown upstream `users-c` in `{{upstream.users-c}}` (got \"{{upstream.users-c}}\"; expected one of: orders, search, users-a; hint: did you mean `users-a`?)",
            "templates/bad-placeholders.yaml:6:19: system.gateway.config: unknown placeholder (got \"{{upstreams.users-a}}\"; expected {{upstream.NAME}}, {{upstream.NAME.N}}, {{endpoints.NAME}}, {{otlp}}, {{run_dir}})",
            "templates/bad-placeholders.yaml:9:19: system.gateway.config: upstream `orders` has 3 replicas (got \"{{upstream.orders}}\"; expected `{{upstream.orders.N}}` for one (N from 0 to 2), or `{{endpoints.orders}}` for all)",
            "templates/bad-placeholders.yaml:10:19: system.gateway.config: no replica 3 of upstream `orders` (got \"{{upstream.orders.3}}\"; expected a replica from 0 to 2)",
            "templates/bad-placeholders.yaml:11:11: system.gateway.config: unclosed placeholder (got \"{{run_dir\\\"\"; expected {{upstream.NAME}}, {{upstream.NAME.N}}, {{endpoints.NAME}}, {{otlp}}, {{run_dir}}; hint: close it with `}}`)",
        ]
    );
}

#[test]
fn scenario_rate_and_ramp_together_are_rejected() {
    assert_eq!(
        problems("ramp.yaml"),
        [
            "invalid/ramp.yaml:10:5: load.ramp: `rate` and `ramp` are exclusive (expected `rate` with `duration` for a constant rate, or `ramp` alone)",
        ]
    );
}

#[test]
fn scenario_ramp_duration_must_equal_the_sum_of_its_stages() {
    assert_eq!(
        problems("ramp-duration.yaml"),
        [
            "invalid/ramp-duration.yaml:11:13: load.duration: `duration` differs from the sum of the ramp's stages (got \"20s\"; expected 15s (or leave `duration` out))",
        ]
    );
}

#[test]
fn scenario_ramp_stages_need_exactly_one_form() {
    assert_eq!(
        problems("ramp-stages.yaml"),
        [
            "invalid/ramp-stages.yaml:10:7: load.ramp[1].over: missing field `over` (expected how long the change takes, e.g. `10s`)",
            "invalid/ramp-stages.yaml:11:15: load.ramp[2].hold: `hold` stands alone (got \"5s\"; expected `{ to: RATE, over: DURATION }` or `{ hold: DURATION }`)",
            "invalid/ramp-stages.yaml:12:13: load.ramp[3].to: invalid rate: unexpected whitespace (got \"10 per second\"; expected a number above zero per `/s`, `/m` or `/h`, e.g. `200/s`; hint: write it without spaces: `10persecond`)",
            "invalid/ramp-stages.yaml:13:7: load.ramp[4]: empty stage (expected `{ to: RATE, over: DURATION }` or `{ hold: DURATION }`)",
        ]
    );
}

#[test]
fn scenario_objective_references_to_unknown_faults_and_upstreams_are_rejected() {
    assert_eq!(
        problems("references.yaml"),
        [
            "invalid/references.yaml:17:23: expect[0].errors.during: unknown fault (got \"crahs\"; expected one of: crash; hint: did you mean `crash`?)",
            "invalid/references.yaml:18:24: expect[1].latency.window: unknown window (got \"crash\"; expected `before`, `after`, `whole`, or `{ from: REF, to: REF }`; hint: write `during: crash` for a fault's window)",
            "invalid/references.yaml:19:32: expect[2].latency.window.from: invalid time reference `crash.begin` (got \"crash.begin\"; expected `FAULT.start`, `FAULT.end`, `load.start` or `load.end`, optionally `+ 1s` or `- 1s`; hint: write `crash.start` or `crash.end`)",
            "invalid/references.yaml:19:49: expect[2].latency.window.to: unknown fault `cut` (got \"cut.end\"; expected one of: crash)",
            "invalid/references.yaml:20:38: expect[3].errors.window: `during` and `window` are exclusive (got \"whole\"; expected one window)",
            "invalid/references.yaml:21:18: expect[4].rto.from: recovery counts from a fault (got \"load.end\"; expected `FAULT.end` or `FAULT.start`, optionally `+ 1s`)",
            "invalid/references.yaml:22:48: expect[5].failover.stops_reaching: unknown upstream (got \"users-c\"; expected one of: orders, users-a, users-b; hint: did you mean `users-a`?)",
            "invalid/references.yaml:23:37: expect[6].breaker.of: unknown fault (got \"boom\"; expected one of: crash)",
            "invalid/references.yaml:24:14: expect[7].breaker.of: missing field `of` (expected the fault `opens_within` counts from (its start) and `closes_within` counts from (its end))",
        ]
    );
}

#[test]
fn scenario_with_yaml_syntax_error_is_located() {
    assert_eq!(
        problems("syntax.yaml"),
        [
            "invalid/syntax.yaml:2:14: description: invalid YAML: invalid indentation in quoted scalar",
        ]
    );
}

#[test]
fn scenario_fault_targets_must_exist_and_fit_their_kind() {
    assert_eq!(
        problems("targets.yaml"),
        [
            "invalid/targets.yaml:17:45: faults[0].kill: unknown upstream (got \"users-c\"; expected one of: ledger, orders, search, users-a, users-b; hint: did you mean `users-a`?)",
            "invalid/targets.yaml:18:45: faults[1].kill: no replica 2 of upstream `orders` (got \"orders.2\"; expected a replica from 0 to 1 (it has 2))",
            "invalid/targets.yaml:19:57: faults[2].latency.target: `latency` needs an upstream with `via: proxy` (got \"users-a\"; expected an upstream with `via: proxy`; `users-a` has `via: direct`; hint: set `via: proxy` on system.upstreams.users-a)",
            "invalid/targets.yaml:20:48: faults[3].partition: `partition` needs an upstream with `via: netns` (got \"users-b\"; expected an upstream with `via: netns`; `users-b` has `via: proxy`; hint: set `via: netns` on system.upstreams.users-b)",
            "invalid/targets.yaml:21:46: faults[4].kill: `kill` needs an upstream the runner starts (builtin or command) (got \"ledger\"; expected an upstream the runner starts (builtin or command); `ledger` is an `address` upstream)",
            "invalid/targets.yaml:22:65: faults[5].http_errors.target: `http_errors` needs a builtin upstream (got \"search\"; expected a builtin upstream; `search` is not a `builtin` upstream)",
            "invalid/targets.yaml:23:45: faults[6].pause: invalid target (got \"users-a.x\"; expected an upstream name, or NAME.N for one replica)",
            "invalid/targets.yaml:24:47: faults[7].refuse: `refuse` needs an upstream with `via: proxy` (got \"orders\"; expected an upstream with `via: proxy`; `orders` has `via: direct`; hint: set `via: proxy` on system.upstreams.orders)",
        ]
    );
}

#[test]
fn scenario_missing_gateway_template_is_reported_at_its_field() {
    assert_eq!(
        problems("template-missing.yaml"),
        [
            "invalid/template-missing.yaml:5:13: system.gateway.config: cannot read the gateway config template templates/does-not-exist.yaml: No such file or directory (os error 2) (expected a gateway config file, relative to this scenario file)",
        ]
    );
}

#[test]
fn scenario_template_not_rendering_to_yaml_is_located_in_the_template() {
    assert_eq!(
        problems("template-not-yaml.yaml"),
        [
            "templates/not-yaml.yaml:5:1: upstreams.users.endpoints[1]: invalid YAML: while parsing a flow sequence, expected ',' or ']'",
        ]
    );
}

#[test]
fn scenario_malformed_thresholds_say_what_is_allowed() {
    assert_eq!(
        problems("thresholds.yaml"),
        [
            "invalid/thresholds.yaml:12:25: guards[0].latency: invalid threshold: missing comparison (got \"p(99) 2s\"; expected `p(N)`, `avg` or `max`, a comparison (<, <=, >, >=, ==, !=) and a duration, e.g. `p(99) < 250ms`; hint: put a comparison after the statistic, e.g. `p(99) < 2s`)",
            "invalid/thresholds.yaml:14:21: expect[0].errors.rate: invalid threshold: missing comparison (got \"1%\"; expected a comparison (<, <=, >, >=, ==, !=) and a percentage, e.g. `< 1%`; hint: start with a comparison, e.g. `< 1%`)",
            "invalid/thresholds.yaml:15:21: expect[1].errors.rate: invalid threshold: invalid percentage `1`: missing `%` (got \"< 1\"; expected a comparison (<, <=, >, >=, ==, !=) and a percentage, e.g. `< 1%`; hint: add `%`: `1%`, or `100%` for a ratio of 1)",
            "invalid/thresholds.yaml:16:21: expect[2].errors.rate: invalid threshold: missing comparison (got \"=< 5%\"; expected a comparison (<, <=, >, >=, ==, !=) and a percentage, e.g. `< 1%`; hint: write `<= 5%`)",
            "invalid/thresholds.yaml:17:21: expect[3].errors.rate: invalid threshold: `< 0%` can never hold (got \"< 0%\"; expected a comparison (<, <=, >, >=, ==, !=) and a percentage, e.g. `< 1%`)",
            "invalid/thresholds.yaml:18:23: expect[4].latency.value: invalid threshold: missing statistic `p(N)`, `avg` or `max` (got \"< 250ms\"; expected `p(N)`, `avg` or `max`, a comparison (<, <=, >, >=, ==, !=) and a duration, e.g. `p(99) < 250ms`; hint: start with a statistic, e.g. `p(99) < 250ms`)",
            "invalid/thresholds.yaml:19:23: expect[5].latency.value: invalid threshold: invalid percentile `p(0)` (got \"p(0) < 1s\"; expected `p(N)`, `avg` or `max`, a comparison (<, <=, >, >=, ==, !=) and a duration, e.g. `p(99) < 250ms`; hint: N is a number above 0 and at most 100, e.g. `p(99)` or `p(99.9)`)",
            "invalid/thresholds.yaml:20:23: expect[6].latency.value: invalid threshold: invalid duration `250`: missing unit (got \"p(99) < 250\"; expected `p(N)`, `avg` or `max`, a comparison (<, <=, >, >=, ==, !=) and a duration, e.g. `p(99) < 250ms`; hint: add a unit, e.g. `250s`)",
            "invalid/thresholds.yaml:21:57: expect[7].trace.count: invalid threshold: invalid number `0%` (got \"== 0%\"; expected a comparison (<, <=, >, >=, ==, !=) and a number, e.g. `== 0`; hint: this threshold takes a plain number, without a unit)",
            "invalid/thresholds.yaml:22:53: expect[8].metric.value: invalid threshold: a statistic is not allowed here (got \"p(99) < 1\"; expected a comparison (<, <=, >, >=, ==, !=) and a number, e.g. `== 0`; hint: only latency thresholds take `p(N)`, `avg` or `max`)",
        ]
    );
}

#[test]
fn scenario_faults_outside_the_load_or_without_a_window_are_rejected() {
    assert_eq!(
        problems("timeline.yaml"),
        [
            "invalid/timeline.yaml:14:23: faults[0].at: starts after the load ends (got \"30s\"; expected less than the load's duration (30s))",
            "invalid/timeline.yaml:15:33: faults[1].for: ends after the load ends (at 35s) (got \"10s\"; expected at most 5s (the load runs 30s); hint: shorten it, or write `until: end`)",
            "invalid/timeline.yaml:16:32: faults[2].for: zero-length window (got \"0s\"; expected a duration above 0, e.g. `10s`)",
            "invalid/timeline.yaml:17:43: faults[3].until: `for` and `until` are exclusive (got \"end\"; expected `for: DURATION` or `until: end`)",
            "invalid/timeline.yaml:18:35: faults[4].until: invalid value (got \"later\"; expected `end` (the end of the load))",
            "invalid/timeline.yaml:19:5: faults[5].for: missing field `for` (expected the window: `for: DURATION` or `until: end`)",
            "invalid/timeline.yaml:20:5: faults[6].at: missing field `at` (expected when it starts, from the start of the load, e.g. `at: 5s`)",
        ]
    );
}

#[test]
fn scenario_values_of_the_wrong_type_or_without_unit_are_rejected() {
    assert_eq!(
        problems("types.yaml"),
        [
            "invalid/types.yaml:6:12: system.gateway.ready: invalid duration: missing unit (got 10; expected a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`; hint: add a unit, e.g. `10s`)",
            "invalid/types.yaml:8:36: system.upstreams.users-a.builtin.latency: invalid duration: missing unit (got 5; expected a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`; hint: add a unit, e.g. `5s`)",
            "invalid/types.yaml:8:51: system.upstreams.users-a.builtin.error_rate: invalid percentage: missing `%` (got 0.5; expected a number from 0 to 100 followed by `%`, e.g. `50%` or `0.5%`; hint: add `%`: `0.5%`, or `50%` for a ratio of 0.5)",
            "invalid/types.yaml:8:63: system.upstreams.users-a.via: unknown variant `tunnel` (expected one of: direct, proxy, netns)",
            "invalid/types.yaml:10:9: load.rate: invalid rate: missing unit (got 200; expected a number above zero per `/s`, `/m` or `/h`, e.g. `200/s`; hint: add a unit, e.g. `200/s`)",
            "invalid/types.yaml:13:7: seed: integer out of range (got -1; expected an integer from 0 to 18446744073709551615)",
        ]
    );
}

#[test]
fn scenario_unknown_keys_are_rejected_with_the_allowed_ones() {
    assert_eq!(
        problems("unknown-keys.yaml"),
        [
            "invalid/unknown-keys.yaml:8:16: system.upstreams.users-a.bultin: unknown field `bultin` (expected one of: builtin, command, address, replicas, ready, env, via; hint: did you mean `builtin`?)",
            "invalid/unknown-keys.yaml:13:1: faultz: unknown field `faultz` (expected one of: name, description, tags, seed, system, load, faults, guards, expect; hint: did you mean `faults`?)",
        ]
    );
}

#[test]
fn scenario_upstreams_need_exactly_one_kind_and_only_its_keys() {
    assert_eq!(
        problems("upstreams.yaml"),
        [
            "invalid/upstreams.yaml:8:14: system.upstreams.nothing: missing upstream kind (expected exactly one of `builtin: {...}`, `command: [PROGRAM, ARGS...]` or `address: HOST:PORT`)",
            "invalid/upstreams.yaml:9:34: system.upstreams.two.address: `builtin` and `address` are exclusive (got \"127.0.0.1:9000\"; expected exactly one of `builtin: {...}`, `command: [PROGRAM, ARGS...]` or `address: HOST:PORT`)",
            "invalid/upstreams.yaml:10:55: system.upstreams.cmd.replicas: `replicas` only applies to a `builtin` upstream (got 2; expected a `builtin` upstream, or no `replicas`)",
            "invalid/upstreams.yaml:10:87: system.upstreams.cmd.ready.tcp: `http` and `tcp` are exclusive (got true; expected one check)",
            "invalid/upstreams.yaml:11:38: system.upstreams.many.builtin.error_status: out of range (got 200; expected an HTTP status from 400 to 599)",
            "invalid/upstreams.yaml:11:55: system.upstreams.many.replicas: out of range (got 0; expected 1 to 64)",
            "invalid/upstreams.yaml:12:21: system.upstreams.ext.address: invalid address (got \"no-port\"; expected HOST:PORT with a port above 0)",
            "invalid/upstreams.yaml:12:37: system.upstreams.ext.via: `via: netns` needs an upstream the runner starts (got \"netns\"; expected `direct` or `proxy` for an `address` upstream)",
            "invalid/upstreams.yaml:13:23: system.upstreams.quiet.command: the command does not say where to listen (expected `{{port}}` in an argument or an `env` value (the runner picks a free port))",
            "invalid/upstreams.yaml:13:49: system.upstreams.quiet.ready.tcp: invalid value (got false; expected `tcp: true`, or `http: PATH`)",
        ]
    );
}

#[test]
fn scenario_empty_or_out_of_load_windows_are_rejected() {
    assert_eq!(
        problems("windows.yaml"),
        [
            "invalid/windows.yaml:17:29: expect[0].steady_state.before: window `before` is empty (0s..0s) (expected a window holding some time within the load (0s to 30s))",
            "invalid/windows.yaml:17:56: expect[0].steady_state.after: window `after` is empty (30s..30s) (expected a window holding some time within the load (0s to 30s))",
            "invalid/windows.yaml:18:23: expect[1].errors.window: window `first.end .. first.start` is empty (5s..0s) (expected a window holding some time within the load (0s to 30s))",
            "invalid/windows.yaml:19:23: expect[2].errors.window: window `last.start .. load.end + 5s` ends at 35s after the load ends (expected a window holding some time within the load (0s to 30s))",
            "invalid/windows.yaml:20:23: expect[3].errors.window: window `first.start - 1s .. first.end` starts before the load (expected a window within the load (0s to 30s))",
            "invalid/windows.yaml:21:87: expect[4].trace.after: skips the whole window (got \"5s\"; expected less than the window's 5s)",
        ]
    );
}

#[test]
fn scenario_empty_file_is_not_a_scenario() {
    assert_eq!(
        problems("empty.yaml"),
        [
            "invalid/empty.yaml:1:1: (root): invalid type (got null; expected a scenario: a mapping with name, description, system, load, faults, guards, expect)",
        ]
    );
}

#[test]
fn scenario_sections_of_the_wrong_shape_say_what_they_should_be() {
    assert_eq!(
        problems("shapes.yaml"),
        [
            "invalid/shapes.yaml:6:9: faults: invalid type (got a mapping; expected a sequence)",
            "invalid/shapes.yaml:8:5: guards[0]: invalid type (got \"stop\"; expected a mapping with name, errors or latency, window, after)",
            "invalid/shapes.yaml:10:5: expect[0]: variant `steady_state` needs a value (hint: write it as `steady_state: ...`)",
            "invalid/shapes.yaml:11:13: expect[1].errors: invalid type (got 5; expected a mapping with during or window, and rate)",
        ]
    );
}
