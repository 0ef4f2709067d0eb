//! Valid scenario fixtures and what they validate to: the typed [`Plan`] the runner executes,
//! with every default from docs/scenarios.md and the catalog filled in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chaos::faultproxy::{
    Bandwidth, Latency, LimitData, ResetPeer, Slicer, SlowClose, Stream, Timeout, ToxicKind,
};
use chaos::load::{LoadSpec, Rate, Stage};
use chaos::scenario::{
    self, AfterKill, Anchor, Comparison, FaultKind, FaultPlan, FaultProxyBackend, FaultWindow,
    Gateway, GatewayBinary, GuardCondition, HttpErrors, Interval, KINDS, Kind, MetricSource,
    MetricsBackend, Objective, Offset, Param, ParamDefault, ParamType, Placeholder, Plan,
    ReadyProbe, RenderError, Requirement, Statistic, Target, TimeRef, Topology, TraceAggregate,
    TracesBackend, UpstreamSource, Via, Window,
};

const VALID: &str = "tests/fixtures/scenarios/valid";

fn plan(name: &str) -> Plan {
    let path = Path::new(VALID).join(name);
    scenario::load_file(&path).unwrap_or_else(|d| panic!("{name} is invalid:\n{d}"))
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn target(upstream: &str, replica: Option<u32>) -> Target {
    Target {
        upstream: upstream.to_owned(),
        replica,
    }
}

fn fault<'p>(plan: &'p Plan, name: &str) -> &'p FaultKind {
    &plan
        .fault(name)
        .unwrap_or_else(|| panic!("no fault {name}"))
        .kind
}

#[test]
fn scenario_docs_example_validates_to_its_plan() {
    let plan = plan("users-failover.yaml");
    assert_eq!(plan.name, "users-failover");
    assert_eq!(plan.tags, ["failover", "kill"]);
    assert_eq!(plan.seed, 7);
    let Gateway::Spawn(spawn) = &plan.system.gateway else {
        panic!("{:?}", plan.system.gateway);
    };
    // Relative to the scenario file, `..` folded away.
    assert_eq!(
        spawn.config,
        PathBuf::from("tests/fixtures/scenarios/templates/users.yaml")
    );
    assert_eq!(spawn.binary, GatewayBinary::Default);
    assert_eq!(spawn.ready, secs(10));
    let users_a = &plan.system.upstreams["users-a"];
    assert_eq!(users_a.via, Via::Proxy);
    let UpstreamSource::Builtin(builtin) = &users_a.source else {
        panic!("{users_a:?}");
    };
    assert_eq!(
        (
            builtin.latency,
            builtin.error_rate,
            builtin.error_status,
            builtin.healthy
        ),
        (ms(5), 0.0, 500, true)
    );
    assert_eq!(plan.system.upstreams["users-b"].via, Via::Netns);
    assert_eq!(plan.system.upstreams["orders"].instances(), 2);
    assert_eq!(plan.system.upstreams["orders"].instance_name(1), "orders-1");
    assert_eq!(plan.system.backends.traces, TracesBackend::Embedded);
    assert_eq!(plan.system.backends.metrics, MetricsBackend::Scrape);

    assert_eq!(plan.load.target, "http://127.0.0.1:0");
    assert_eq!(plan.load.rate, Rate::Constant { per_second: 200.0 });
    assert_eq!(plan.duration(), secs(30));
    assert_eq!(plan.load.seed, 7);
    assert_eq!(plan.load.mix.len(), 1);
    assert_eq!(
        (
            plan.load.mix[0].method.as_str(),
            plan.load.mix[0].path.as_str()
        ),
        ("GET", "/api/users/42")
    );
    assert_eq!(plan.load.mix[0].weight, 1);
    assert!(LoadSpec::validate(plan.load.clone()).is_ok());

    assert_eq!(
        plan.faults,
        [
            FaultPlan {
                name: "crash".into(),
                at: secs(5),
                window: FaultWindow::For(secs(10)),
                kind: FaultKind::Kill {
                    target: target("users-a", None),
                    then: AfterKill::Restart,
                },
            },
            FaultPlan {
                name: "cut".into(),
                at: secs(18),
                window: FaultWindow::For(secs(5)),
                kind: FaultKind::Partition {
                    target: target("users-b", None),
                },
            },
        ]
    );

    assert_eq!(plan.objectives.len(), 4);
    let Objective::SteadyState(steady) = &plan.objectives[0] else {
        panic!("{:?}", plan.objectives[0]);
    };
    let before = steady.before.as_ref().unwrap();
    assert_eq!(before.errors.unwrap().to_string(), "< 0.5%");
    let latency = before.latency.unwrap();
    assert_eq!(latency.stat, Statistic::Percentile(99.0));
    assert_eq!((latency.op, latency.limit.get()), (Comparison::Lt, ms(100)));
    assert_eq!(steady.after.as_ref().unwrap().latency, None);
    let Objective::Failover(failover) = &plan.objectives[1] else {
        panic!("{:?}", plan.objectives[1]);
    };
    assert_eq!(failover.during, "crash");
    assert_eq!(failover.stops_reaching, Some(target("users-a", None)));
    assert_eq!(failover.within, secs(1));
    assert!(failover.errors.unwrap().holds_ratio(0.01));
    let Objective::Rto(rto) = &plan.objectives[2] else {
        panic!("{:?}", plan.objectives[2]);
    };
    assert_eq!(rto.from, TimeRef::at(Anchor::FaultEnd("crash".into())));
    assert_eq!((rto.window, rto.hold, rto.max), (secs(1), secs(2), secs(3)));
    assert_eq!(rto.success.to_string(), ">= 99%");
    let Objective::Trace(trace) = &plan.objectives[3] else {
        panic!("{:?}", plan.objectives[3]);
    };
    assert_eq!(trace.window, Window::During("cut".into()));
    assert_eq!(trace.after, ms(500));
    assert_eq!(
        (trace.select.service.as_str(), trace.select.name.as_str()),
        ("gateway", "upstream.attempt")
    );
    let endpoint = &trace.select.attributes["gateway.endpoint"];
    let placeholders: Vec<&Placeholder> = endpoint.placeholders().collect();
    assert_eq!(
        placeholders,
        [&Placeholder::Upstream {
            name: "users-b".into(),
            replica: None
        }]
    );
    let TraceAggregate::Count(count) = trace.aggregate else {
        panic!("{:?}", trace.aggregate);
    };
    assert_eq!(count.to_string(), "== 0");
}

#[test]
fn scenario_plan_windows_resolve_to_planned_intervals() {
    let plan = plan("users-failover.yaml");
    let interval = |start, end| Some(Interval { start, end });
    assert_eq!(plan.interval(&Window::Before), interval(secs(0), secs(5)));
    assert_eq!(plan.interval(&Window::After), interval(secs(23), secs(30)));
    assert_eq!(plan.interval(&Window::Whole), interval(secs(0), secs(30)));
    assert_eq!(
        plan.interval(&Window::During("crash".into())),
        interval(secs(5), secs(15))
    );
    let from = TimeRef::parse("crash.start + 1s").unwrap();
    let to = TimeRef::parse("cut.end - 500ms").unwrap();
    assert_eq!(plan.time(&from), Some(secs(6)));
    assert_eq!(
        plan.interval(&Window::Range { from, to }),
        interval(secs(6), ms(22_500))
    );
    assert_eq!(plan.time(&TimeRef::parse("nope.end").unwrap()), None);
    assert_eq!(plan.interval(&Window::During("nope".into())), None);
}

#[test]
fn scenario_render_gateway_config_replaces_every_placeholder_with_the_topology() {
    let plan = plan("users-failover.yaml");
    let mut upstreams = BTreeMap::new();
    upstreams.insert("users-a".to_owned(), vec!["127.0.0.1:41001".to_owned()]);
    upstreams.insert("users-b".to_owned(), vec!["10.77.0.2:8080".to_owned()]);
    upstreams.insert(
        "orders".to_owned(),
        vec!["127.0.0.1:41002".to_owned(), "127.0.0.1:41003".to_owned()],
    );
    let topology = Topology {
        upstreams,
        otlp: "http://127.0.0.1:4318".to_owned(),
        run_dir: PathBuf::from("/tmp/run"),
    };
    let template =
        std::fs::read_to_string("tests/fixtures/scenarios/templates/users.yaml").unwrap();
    let expected = template
        .replace("{{otlp}}", "http://127.0.0.1:4318")
        .replace("{{upstream.users-a}}", "127.0.0.1:41001")
        .replace("{{ upstream.users-b }}", "10.77.0.2:8080")
        .replace(
            "{{endpoints.orders}}",
            r#"[{ address: "127.0.0.1:41002" }, { address: "127.0.0.1:41003" }]"#,
        );
    assert!(!expected.contains("{{"));
    assert_eq!(plan.render_gateway_config(&topology), Ok(expected));

    topology_without(&plan, topology, "orders");
}

/// A topology missing an upstream the template names is a typed error, not a wrong config.
fn topology_without(plan: &Plan, mut topology: Topology, name: &str) {
    topology.upstreams.remove(name);
    assert_eq!(
        plan.render_gateway_config(&topology),
        Err(RenderError::UnknownUpstream { name: name.into() })
    );
}

#[test]
fn scenario_attached_gateway_plan_targets_its_url_and_has_no_config_to_render() {
    let plan = plan("attach-minimal.yaml");
    let Gateway::Attach(attach) = &plan.system.gateway else {
        panic!("{:?}", plan.system.gateway);
    };
    assert_eq!(attach.url.to_string(), "http://127.0.0.1:8080/");
    assert_eq!(attach.admin.to_string(), "http://127.0.0.1:9901/");
    assert_eq!(plan.load.target, "http://127.0.0.1:8080/");
    assert_eq!(plan.seed, 1, "default seed");
    assert_eq!(plan.load.seed, 1);
    assert!(plan.tags.is_empty() && plan.faults.is_empty() && plan.guards.is_empty());
    assert!(plan.objectives.is_empty());
    assert_eq!(
        plan.render_gateway_config(&Topology::default()),
        Err(RenderError::NotSpawned)
    );
    assert_eq!(LoadSpec::validate(plan.load).unwrap().duration(), secs(5));
}

#[test]
fn scenario_every_fault_kind_validates_with_its_parameters_in_toxiproxy_units() {
    let plan = plan("every-kind.yaml");
    assert_eq!(
        fault(&plan, "k"),
        &FaultKind::Kill {
            target: target("users-a", None),
            then: AfterKill::StayDown
        }
    );
    assert_eq!(
        fault(&plan, "t"),
        &FaultKind::Terminate {
            target: target("search", None),
            then: AfterKill::Restart
        }
    );
    assert_eq!(
        fault(&plan, "p"),
        &FaultKind::Pause {
            target: target("orders", Some(0))
        }
    );
    assert_eq!(
        fault(&plan, "r"),
        &FaultKind::Restart {
            target: target("orders", Some(1))
        }
    );
    let toxic = |name: &str| match fault(&plan, name) {
        FaultKind::Toxic(t) => (t.kind, t.stream, t.toxicity, t.toxic.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        toxic("lat"),
        (
            Kind::Latency,
            Stream::Upstream,
            0.5,
            ToxicKind::Latency(Latency {
                latency_ms: 100,
                jitter_ms: 10
            })
        )
    );
    let downstream_all = |kind, toxic| (kind, Stream::Downstream, 1.0, toxic);
    assert_eq!(
        toxic("bw"),
        downstream_all(
            Kind::Bandwidth,
            ToxicKind::Bandwidth(Bandwidth { rate_kb_per_s: 64 })
        )
    );
    assert_eq!(
        toxic("sc"),
        downstream_all(
            Kind::SlowClose,
            ToxicKind::SlowClose(SlowClose { delay_ms: 200 })
        )
    );
    assert_eq!(
        toxic("bh"),
        downstream_all(
            Kind::Blackhole,
            ToxicKind::Timeout(Timeout { timeout_ms: 0 })
        )
    );
    assert_eq!(
        toxic("to"),
        downstream_all(
            Kind::Timeout,
            ToxicKind::Timeout(Timeout { timeout_ms: 500 })
        )
    );
    assert_eq!(
        toxic("rp"),
        downstream_all(
            Kind::ResetPeer,
            ToxicKind::ResetPeer(ResetPeer { timeout_ms: 0 })
        )
    );
    assert_eq!(
        toxic("sl"),
        downstream_all(
            Kind::Slicer,
            ToxicKind::Slicer(Slicer {
                average_size_bytes: 64,
                size_variation_bytes: 16,
                delay_us: 500
            })
        )
    );
    assert_eq!(
        toxic("ld"),
        downstream_all(
            Kind::LimitData,
            ToxicKind::LimitData(LimitData { bytes: 1024 })
        )
    );
    assert_eq!(
        fault(&plan, "rf"),
        &FaultKind::Refuse {
            target: target("orders", Some(1))
        }
    );
    assert_eq!(
        fault(&plan, "pt"),
        &FaultKind::Partition {
            target: target("users-b", None)
        }
    );
    assert_eq!(
        fault(&plan, "he"),
        &FaultKind::HttpErrors(HttpErrors {
            target: target("orders", None),
            status: 503,
            rate: 0.3,
            latency: Some(ms(20)),
            hang: false,
        })
    );
    let FaultKind::GatewayFault(gateway) = fault(&plan, "gf") else {
        panic!();
    };
    let abort = gateway.abort.as_ref().unwrap();
    assert_eq!((abort.status, abort.ratio), (503, 0.1));
    let delay = gateway.delay.as_ref().unwrap();
    assert_eq!((delay.duration, delay.ratio), (ms(50), 1.0));
    assert_eq!(plan.fault("gf").unwrap().window, FaultWindow::UntilEnd);
    let FaultKind::Command(command) = fault(&plan, "cmd") else {
        panic!();
    };
    assert_eq!(command.timeout, secs(5));
    let mut topology = Topology::default();
    topology
        .upstreams
        .insert("users-b".into(), vec!["10.77.0.2:8080".into()]);
    let start: Vec<String> = command
        .start
        .iter()
        .map(|t| t.render(&topology).unwrap())
        .collect();
    assert_eq!(start, ["tc", "qdisc", "add", "10.77.0.2:8080"]);
    assert_eq!(command.stop.as_ref().unwrap().len(), 3);
    for f in &plan.faults {
        assert_eq!(f.kind.kind().name(), kind_key(&plan, &f.name), "{}", f.name);
    }
}

/// The kind key written for fault `name` in every-kind.yaml.
fn kind_key(_plan: &Plan, name: &str) -> &'static str {
    match name {
        "k" => "kill",
        "t" => "terminate",
        "p" => "pause",
        "r" => "restart",
        "lat" => "latency",
        "bw" => "bandwidth",
        "sc" => "slow_close",
        "bh" => "blackhole",
        "to" => "timeout",
        "rp" => "reset_peer",
        "sl" => "slicer",
        "ld" => "limit_data",
        "rf" => "refuse",
        "pt" => "partition",
        "he" => "http_errors",
        "gf" => "gateway_fault",
        _ => "command",
    }
}

#[test]
fn scenario_every_kind_system_load_guards_and_objectives_are_typed() {
    let plan = plan("every-kind.yaml");
    let search = &plan.system.upstreams["search"];
    let UpstreamSource::Command(command) = &search.source else {
        panic!("{search:?}");
    };
    assert_eq!(command.ready.probe, ReadyProbe::Http("/healthz".into()));
    assert_eq!(command.ready.timeout, secs(5));
    assert_eq!(
        command.render_argv(9100, Path::new("/tmp/run")).unwrap(),
        [
            "./search-server",
            "--port",
            "9100",
            "--data",
            "/tmp/run/search"
        ]
    );
    assert_eq!(command.env["RUST_LOG"].to_string(), "info");
    let ledger = &plan.system.upstreams["ledger"];
    assert!(
        matches!(&ledger.source, UpstreamSource::Address(a) if a.as_str() == "ledger.internal:7000")
    );
    assert!(!ledger.is_spawned());
    let UpstreamSource::Builtin(users_a) = &plan.system.upstreams["users-a"].source else {
        panic!();
    };
    assert_eq!((users_a.error_rate, users_a.error_status), (0.01, 503));
    let backends = &plan.system.backends;
    assert!(
        matches!(&backends.traces, TracesBackend::Jaeger { query, otlp }
        if query.port_u16() == Some(16686) && otlp.port_u16() == Some(4318))
    );
    assert!(
        matches!(&backends.metrics, MetricsBackend::Prometheus(u) if u.port_u16() == Some(9090))
    );
    assert!(
        matches!(&backends.fault_proxy, FaultProxyBackend::Toxiproxy(u) if u.port_u16() == Some(8474))
    );

    assert_eq!(plan.load.max_in_flight, Some(50));
    assert_eq!(plan.load.timeout, Some(secs(2)));
    assert_eq!(plan.load.sample_traces, Some(0.1));
    let post = &plan.load.mix[1];
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/api/orders")
    );
    assert_eq!(
        post.headers,
        [("content-type".into(), "application/json".into())]
    );
    assert_eq!(&post.body[..], br#"{"id":1}"#);
    assert_eq!(plan.load.mix[0].weight, 3);

    assert_eq!(plan.guards.len(), 2);
    let meltdown = &plan.guards[0];
    assert_eq!((meltdown.window, meltdown.after), (secs(2), secs(2)));
    assert!(matches!(&meltdown.condition, GuardCondition::Errors(t) if t.to_string() == "> 50%"));
    let slow = &plan.guards[1];
    assert_eq!(
        (slow.window, slow.after),
        (secs(1), Duration::ZERO),
        "defaults"
    );
    assert!(matches!(&slow.condition, GuardCondition::Latency(t) if t.to_string() == "p(99) > 2s"));

    let Objective::Latency(latency) = &plan.objectives[1] else {
        panic!("{:?}", plan.objectives[1]);
    };
    let Window::Range { from, .. } = &latency.window else {
        panic!("{:?}", latency.window);
    };
    assert_eq!(from.anchor, Anchor::FaultStart("lat".into()));
    assert_eq!(from.offset, Offset::Later(ms(500)));
    assert_eq!(latency.value.stat, Statistic::Percentile(99.9));
    let Objective::Breaker(breaker) = &plan.objectives[3] else {
        panic!("{:?}", plan.objectives[3]);
    };
    assert_eq!(breaker.of.as_deref(), Some("k"));
    assert_eq!(
        (
            breaker.opens_within,
            breaker.half_open_after,
            breaker.closes_within
        ),
        (Some(secs(2)), Some(secs(2)), Some(secs(5)))
    );
    let Objective::Metric(metric) = &plan.objectives[6] else {
        panic!("{:?}", plan.objectives[6]);
    };
    let MetricSource::Sample { name, labels } = &metric.source else {
        panic!("{:?}", metric.source);
    };
    assert_eq!(name, "gateway_breaker_state");
    assert_eq!(labels["upstream"], "users");
    assert_eq!(metric.hold_for, Some(ms(500)));
    assert!(
        metric
            .value
            .holds(chaos::scenario::Number::new(0.0).unwrap())
    );
    let Objective::Metric(query) = &plan.objectives[7] else {
        panic!("{:?}", plan.objectives[7]);
    };
    assert_eq!(
        query.source,
        MetricSource::Query("sum(rate(gateway_http_requests_total[1m]))".into())
    );
    assert_eq!(query.window, Window::During("he".into()));
}

#[test]
fn scenario_ramp_validates_to_stages_from_zero_and_back_to_zero() {
    let plan = plan("ramp.yaml");
    let stage = |rate_from, rate_to, duration| Stage {
        rate_from,
        rate_to,
        duration,
    };
    assert_eq!(
        plan.load.rate,
        Rate::Ramp(vec![
            stage(0.0, 100.0, secs(10)),
            stage(100.0, 100.0, secs(20)),
            stage(100.0, 0.0, secs(10)),
        ])
    );
    assert_eq!(plan.duration(), secs(40), "the sum of the stages");
    let Objective::Rto(rto) = &plan.objectives[1] else {
        panic!("{:?}", plan.objectives[1]);
    };
    assert_eq!(plan.time(&rto.from), Some(secs(21)));
    assert_eq!((rto.window, rto.hold), (secs(1), secs(1)), "defaults");
    assert!(rto.latency.is_some());
}

/// A value of `ty` that validates, for scenarios built from the catalog.
fn sample_value(ty: ParamType, requires: Requirement) -> String {
    match ty {
        ParamType::Target => match requires {
            Requirement::NetnsUpstream => "ns".into(),
            _ => "px".into(),
        },
        ParamType::Then => "restart".into(),
        ParamType::Stream => "downstream".into(),
        ParamType::Percent => "50%".into(),
        ParamType::Duration(_) => "100ms".into(),
        ParamType::ByteSize => "1KiB".into(),
        ParamType::Integer { min, .. } => min.max(1).to_string(),
        ParamType::Status { min, .. } => min.to_string(),
        ParamType::Bool => "false".into(),
        ParamType::Argv => "[echo]".into(),
        ParamType::Group(params) => required_params(params, requires),
    }
}

fn required_params(params: &[Param], requires: Requirement) -> String {
    let written: Vec<String> = params
        .iter()
        .filter(|p| p.default == ParamDefault::Required)
        .map(|p| format!("{}: {}", p.name, sample_value(p.ty, requires)))
        .collect();
    format!("{{ {} }}", written.join(", "))
}

#[test]
fn scenario_every_catalog_kind_validates_with_only_its_required_parameters() {
    for spec in KINDS {
        let mut body = required_params(spec.params, spec.requires);
        if let Some(first) = spec.needs_one_of.first() {
            let group = spec.params.iter().find(|p| p.name == *first).unwrap();
            body = format!("{{ {first}: {} }}", sample_value(group.ty, spec.requires));
        }
        let text = format!(
            "name: catalog\ndescription: one {kind}\nsystem:\n  gateway: {{ url: \"http://127.0.0.1:8080\", admin: \"http://127.0.0.1:9901\" }}\n  upstreams:\n    px: {{ builtin: {{}}, via: proxy }}\n    ns: {{ builtin: {{}}, via: netns }}\nload: {{ rate: 10/s, duration: 10s, requests: [{{ get: / }}] }}\nfaults:\n  - {{ name: f, at: 1s, for: 1s, {kind}: {body} }}\n",
            kind = spec.kind.name(),
        );
        let plan = scenario::load_str(Path::new("catalog.yaml"), &text)
            .unwrap_or_else(|d| panic!("{text}\n{d}"));
        assert_eq!(plan.faults[0].kind.kind(), spec.kind);
        if spec.kind.shorthand_is_complete() {
            let short = text.replace(&body, &sample_value(ParamType::Target, spec.requires));
            let plan = scenario::load_str(Path::new("catalog.yaml"), &short)
                .unwrap_or_else(|d| panic!("{short}\n{d}"));
            assert_eq!(plan.faults[0].kind.kind(), spec.kind);
        }
    }
}

#[test]
fn scenario_catalog_defaults_are_the_values_applied() {
    let text = "name: defaults\ndescription: latency with defaults\nsystem:\n  gateway: { url: \"http://127.0.0.1:8080\", admin: \"http://127.0.0.1:9901\" }\n  upstreams:\n    px: { builtin: {}, via: proxy }\nload: { rate: 10/s, duration: 10s, requests: [{ get: / }] }\nfaults:\n  - { name: f, at: 1s, for: 1s, latency: { target: px, latency: 100ms } }\n";
    let plan = scenario::load_str(Path::new("defaults.yaml"), text).unwrap();
    let FaultKind::Toxic(toxic) = &plan.faults[0].kind else {
        panic!();
    };
    let spec = Kind::Latency.spec();
    let default = |name: &str| {
        let param = spec.params.iter().find(|p| p.name == name).unwrap();
        match param.default {
            ParamDefault::Value(text) => text,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        (default("stream"), toxic.stream),
        ("downstream", Stream::Downstream)
    );
    assert_eq!((default("toxicity"), toxic.toxicity), ("100%", 1.0));
    assert_eq!(default("jitter"), "0ms");
    assert_eq!(
        toxic.toxic,
        ToxicKind::Latency(Latency {
            latency_ms: 100,
            jitter_ms: 0
        })
    );
}

#[test]
fn scenario_load_dir_validates_every_yaml_file_in_name_order() {
    let files = scenario::load_dir(Path::new(VALID)).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "attach-minimal.yaml",
            "every-kind.yaml",
            "ramp.yaml",
            "users-failover.yaml"
        ]
    );
    for file in &files {
        assert!(
            file.result.is_ok(),
            "{}: {:?}",
            file.path.display(),
            file.result
        );
    }
}

#[test]
fn scenario_load_dir_without_yaml_files_is_an_error() {
    let errors = scenario::load_dir(Path::new("tests/fixtures/scenarios")).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "tests/fixtures/scenarios: (root): no scenario files (*.yaml) in this folder"
    );
}

#[test]
fn scenario_load_file_that_cannot_be_read_names_the_file() {
    let errors = scenario::load_file(Path::new("tests/fixtures/scenarios/nope.yaml")).unwrap_err();
    assert_eq!(errors.len(), 1);
    let line = errors.to_string();
    assert!(
        line.starts_with("tests/fixtures/scenarios/nope.yaml: (root): cannot read scenario file: "),
        "{line}"
    );
}
