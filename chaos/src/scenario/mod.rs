//! Scenario files (`docs/scenarios.md`): parsed, validated into an executable [`Plan`], and
//! checked or listed from the command line (`chaos validate`, `chaos list`).
//!
//! ```text
//! FILE --config_yaml::Document::parse--> raw::RawScenario --validate--> Plan --> runner
//!        syntax, types, unknown keys       semantic checks: names, references, timeline,
//!        (located by config_yaml)          kinds vs targets, placeholders, thresholds
//! ```
//!
//! Every problem is reported at once, as `FILE:LINE:COL: field.path: problem (got VALUE;
//! expected ...; hint: ...)`. Type errors (a duration without unit, an unknown key) come from
//! deserialization and are reported before the semantic checks run, as in the gateway's config.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//!
//! use chaos::scenario::{self, FaultKind, Objective, Window};
//!
//! let text = r#"
//! name: smoke
//! description: one upstream slows down; p99 stays under 500ms
//! system:
//!   gateway: { url: "http://127.0.0.1:8080", admin: "http://127.0.0.1:9901" }
//!   upstreams:
//!     users: { builtin: {}, via: proxy }
//! load: { rate: 50/s, duration: 10s, requests: [{ get: /api/users/1 }] }
//! faults:
//!   - { name: slow, at: 2s, for: 5s, latency: { target: users, latency: 200ms } }
//! expect:
//!   - latency: { during: slow, value: "p(99) < 500ms" }
//! "#;
//! let plan = scenario::load_str(Path::new("smoke.yaml"), text).unwrap();
//! assert!(matches!(plan.faults[0].kind, FaultKind::Toxic(_)));
//! let Objective::Latency(latency) = &plan.objectives[0] else { unreachable!() };
//! assert_eq!(latency.window, Window::During("slow".into()));
//!
//! let errors = scenario::load_str(Path::new("smoke.yaml"), &text.replace("200ms", "200"))
//!     .unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "smoke.yaml:10:71: faults[0].latency.latency: invalid duration: missing unit (got 200; \
//!      expected a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`; \
//!      hint: add a unit, e.g. `200s`)",
//! );
//! ```
//!
//! Files, in the order a scenario flows through them:
//!
//! - `load`: reading a file or a folder; `raw`: the YAML shape (serde types only).
//! - `validate`: the entry, top-level keys, and the order of the steps below.
//! - `system` (gateway, backends), `upstreams`, `placeholders` (every templated string, the
//!   gateway config template and its probe).
//! - `traffic`: the `load:` section, checked by
//!   [`LoadSpec::validate`](crate::load::LoadSpec::validate) with its problems mapped back.
//! - `faults` (entries, timeline), `kinds` (one kind's parameters, target requirements),
//!   `params` (reading parameters through `catalog`, the fault-kind table), `overlaps`.
//! - `guards`, `objectives`, `evidence` (trace and metric selection), `references`
//!   (faults, upstreams, time references, windows, thresholds).
//! - The typed model: [`Plan`] in `plan`, `fault`, `objective`, `window`, `threshold`,
//!   `template`.
//! - The commands: `list` (`chaos list`), `validate_cmd` (`chaos validate`).
//!
//! # Decisions where `docs/scenarios.md` is silent or ambiguous
//!
//! - **Fault parameters.** A kind's parameters go in a mapping under its key:
//!   `latency: { target: users-a, latency: 100ms }`. Kinds with a target also accept
//!   `KIND: TARGET` when their other parameters have defaults (`kill: users-a`,
//!   `blackhole: users-a`); `kill: { target: users-a, then: stay_down }` sets `then`.
//!   Durations sent to Toxiproxy must be whole milliseconds (the slicer's `delay` whole
//!   microseconds); `average_size`/`size_variation` are byte sizes (`1KiB`), `bytes` and
//!   `rate_kbps` integers (the unit is in the key); `toxicity`, `rate` and `percent` are
//!   percentages. Defaults are the catalog's (`chaos list`): `slicer.size_variation` 0B,
//!   `slicer.delay` 0us, `http_errors.latency` unset (the upstream's latency is kept),
//!   `gateway_fault.*.percent` 100%, `command.stop` unset.
//! - **Targets.** `users` names every replica of `users`, `users.1` one of them (from 0).
//!   Upstream, fault, guard and scenario names are 1-64 of `a-z 0-9 - _` (no `.`, which
//!   separates replicas and time references); `load` is not a fault name.
//! - **Timeline.** `at` must be before the load's end and `at + for` at most the load's end
//!   (an error, not a warning: a fault cut short by teardown is not the drill written);
//!   `for` is above 0; `until` only takes `end`.
//! - **Overlaps.** Two faults must not be active at the same time on a shared instance when
//!   their slots conflict: process faults (`kill`, `terminate`, `pause`, `restart`) with each
//!   other and with `http_errors` (a restart resets the behaviour it set); `http_errors` with
//!   `http_errors`; `refuse` with `refuse`; `partition` with `partition`; `gateway_fault`
//!   with `gateway_fault` (one set of headers per request). A `kill`/`terminate` with
//!   `then: stay_down` holds its instance until the load ends. Toxics and commands may
//!   overlap anything.
//! - **Load.** `rate` and `ramp` are exclusive. With `ramp`, `duration` may be left out; if
//!   written it must equal the sum of the stages. A ramp stage may go down to `0/s`. Requests
//!   hold exactly one method key. `timeout`/`max_in_flight`/`sample_traces` map to the
//!   generator's fields and its own checks are reported at the scenario's paths.
//! - **Upstreams.** `replicas` is a key beside `builtin` (not inside it), builtin only, 1-64.
//!   `builtin.error_rate` is a percentage. A `command` must use `{{port}}` in an argument or
//!   an `env` value (the runner picks the port); its `ready` defaults to `{ tcp: true }`, 10s.
//!   `address` upstreams cannot use `via: netns`.
//! - **Gateway.** `binary` with a `/` is a path relative to the scenario file, else a program
//!   on `PATH`. The config template is read at validation: placeholders are checked (unknown
//!   or unclosed ones are located in the template with its own line:col), and the template,
//!   rendered with stand-in addresses, must be YAML. Its routes and upstreams are then used to
//!   check `degradation.route`, `breaker.upstream`, `breaker.half_open_after` (at least the
//!   upstream's `circuit_breaker.open_for` when the config sets it), and that `gateway_fault`
//!   has a route with `fault: { header_control: true }`; a template the probe cannot read as
//!   a gateway config is left to `gateway validate`.
//! - **Placeholders.** Allowed in the gateway template, gateway `args`/`env` values, trace
//!   attribute values and `command` fault argv: `{{upstream.NAME}}` (an error when NAME has
//!   several replicas), `{{upstream.NAME.N}}`, `{{endpoints.NAME}}`, `{{otlp}}`,
//!   `{{run_dir}}`. In a `command` upstream's argv and env: `{{port}}` and `{{run_dir}}`.
//!   Spaces inside the braces are ignored; there is no escape for `{{`.
//! - **Windows.** An objective takes `during: FAULT` or `window: before | after | whole |
//!   { from: REF, to: REF }` (not both), default `whole`. Without faults, `before` and
//!   `after` are the whole load. Every window must hold some time within the load; this is
//!   checked at validation since all planned times are known.
//! - **Objectives.** `errors: { WINDOW, rate: "< 1%" }`; `latency: { WINDOW, value:
//!   "p(99) < 250ms" }` (`value` as in `metric`); `failover.within` defaults to 1s and needs
//!   `errors` and/or `stops_reaching`; `degradation` needs `fallbacks` and/or `no_5xx`;
//!   `rto.from` must name a fault (`FAULT.end`/`FAULT.start`, offset allowed), `success` and
//!   `max` are required, `window` and `hold` default to 1s; `breaker` takes one `of: FAULT`
//!   (`opens_within` counts from its start, `closes_within` from its end) and at least one of
//!   the three durations; `trace` takes exactly one of `count` (number), `ratio` (selected
//!   spans over spans with the same service and name) or `duration` (`p(N)`/`avg`/`max`),
//!   `select.service` defaults to `gateway`, and span names of the gateway and of builtin
//!   upstream instances (service `NAME` or `NAME-N`) must be known ones (a typo would select
//!   nothing and pass `count: "== 0"`);
//!   `metric.sample` must name a gateway metric (`observability::names`, histograms may add
//!   `_bucket`/`_sum`/`_count`), and `query` needs the `prometheus` metrics backend.
//! - **Guards.** Exactly one of `errors`/`latency`; `window` defaults to 1s, `after` to 0s
//!   (and must be before the load's end); names are unique among guards.
//! - **Thresholds.** See [`threshold`](Threshold): a comparison and a value of the kind the
//!   measurement needs (percentage, number, or statistic + duration); a threshold that can
//!   never hold (`< 0%`) is an error.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod catalog;
mod evidence;
mod fault;
mod faults;
mod guards;
mod kinds;
mod list;
mod load;
mod objective;
mod objectives;
mod overlaps;
mod params;
mod placeholders;
mod plan;
mod raw;
mod references;
mod report;
mod system;
mod template;
mod threshold;
mod traffic;
mod upstreams;
mod validate;
mod validate_cmd;
mod window;

pub use catalog::{
    Granularity, KINDS, Kind, KindSpec, Param, ParamDefault, ParamType, Requirement, Slot,
};
pub use fault::{
    AfterKill, CommandFault, FaultKind, FaultPlan, FaultWindow, GatewayAbort, GatewayDelay,
    GatewayFault, HttpErrors, Target, ToxicFault,
};
pub use load::{ScenarioFile, load_dir, load_file, load_str};
pub use objective::{
    BreakerObjective, ClientThresholds, Degradation, ErrorsObjective, Failover, Guard,
    GuardCondition, LatencyObjective, MetricObjective, MetricSource, Objective, Rto, SpanSelect,
    SpanStatus, SteadyState, TraceAggregate, TraceObjective,
};
pub use plan::{
    AttachGateway, Backends, Builtin, CommandUpstream, FaultProxyBackend, Gateway, GatewayBinary,
    MetricsBackend, Plan, Ready, ReadyProbe, SpawnGateway, System, TracesBackend, Upstream,
    UpstreamSource, Via,
};
pub use template::{Placeholder, RenderError, Template, Topology};
pub use threshold::{
    Comparison, Number, StatThreshold, Statistic, Threshold, ThresholdError, ThresholdValue,
};
pub use window::{Anchor, Interval, Offset, TimeRef, TimeRefError, Window};

pub(crate) use list::{Format as ListFormat, run as list};
pub(crate) use validate_cmd::run as validate_files;
