//! Evidence end to end: a request through the real gateway to a real `chaos upstream` is one
//! trace in the embedded store (`chaos traces`), found through both Jaeger APIs; a real
//! Prometheus scrapes the gateway and answers queries about it; promtool accepts its metrics.

use std::process::Command;
use std::time::{Duration, SystemTime};

use e2e_tests::{Process, Prometheus, WAIT, binary, system_binary};
use observability::client::{
    ApiVersion, AttributeValue, JaegerClient, PrometheusClient, SpanKind, Trace, TraceId,
    TraceQuery,
};
use observability::names::{attr, span};

const INCOMING_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const INCOMING_PARENT: &str = "00f067aa0ba902b7";

/// Trace store, one upstream exporting to it, and a gateway exporting to it.
struct Topology {
    traces: Process,
    upstream: Process,
    gateway: Process,
    // Dropped after the gateway (fields drop in order), which reads its config from here.
    _config: tempfile::TempDir,
}

impl Topology {
    fn start(extra_gateway_config: &str) -> Self {
        let chaos = binary("chaos");
        let traces = Process::start(
            &chaos,
            &[
                "traces",
                "--otlp-listen",
                "127.0.0.1:0",
                "--query-listen",
                "127.0.0.1:0",
            ],
        );
        let otlp = format!("http://{}", traces.field("otlp"));
        let upstream = Process::start(
            &chaos,
            &[
                "upstream",
                "--listen",
                "127.0.0.1:0",
                "--name",
                "users-a",
                "--otlp",
                &otlp,
                "--otlp-interval",
                "100ms",
            ],
        );
        let config = format!(
            "listen: 127.0.0.1:0\n\
             admin: {{ listen: 127.0.0.1:0 }}\n\
             telemetry: {{ otlp_endpoint: \"{otlp}\", export_interval: 100ms, service_name: gateway }}\n\
             upstreams:\n  users:\n    endpoints: [ {{ address: \"{}\" }} ]\n\
             routes:\n  - name: users\n    match: {{ path: /api/users/** }}\n    upstream: users\n    rewrite: {{ strip_prefix: /api }}\n\
             {extra_gateway_config}",
            upstream.listening_on()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.yaml");
        std::fs::write(&path, config).unwrap();
        let gateway = Process::start(
            &binary("gateway"),
            &["run", "--config", path.to_str().unwrap()],
        );
        Self {
            traces,
            upstream,
            gateway,
            _config: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.field("data"))
    }

    fn admin(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.field("admin"))
    }

    fn query_url(&self) -> String {
        format!("http://{}", self.traces.field("query"))
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Polls the store until the trace has `spans` spans.
async fn wait_for_trace(client: &JaegerClient, id: TraceId, spans: usize) -> Trace {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = client.trace(id).await.ok().flatten();
        if found.as_ref().is_some_and(|t| t.spans.len() >= spans) {
            return found.unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "trace {id} incomplete: {found:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A string, integer or boolean attribute as text.
fn attribute(span: &observability::client::Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| match v {
            AttributeValue::String(s) => s.clone(),
            AttributeValue::Int(i) => i.to_string(),
            AttributeValue::Bool(b) => b.to_string(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_through_gateway_is_one_trace_with_gateway_and_upstream_spans_in_both_apis() {
    let topology = Topology::start("");
    let http = http();
    let response = http
        .get(topology.url("/api/users/42"))
        .header(
            "traceparent",
            format!("00-{INCOMING_TRACE}-{INCOMING_PARENT}-01"),
        )
        .header("tracestate", "congo=t61rcWkgMzE")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echo: serde_json::Value = response.json().await.unwrap();
    // The upstream saw the caller's trace, a new parent (the gateway's attempt span) and the
    // tracestate passed through.
    let seen = echo["headers"]["traceparent"].as_str().unwrap().to_owned();
    assert!(
        seen.starts_with(&format!("00-{INCOMING_TRACE}-")) && seen.ends_with("-01"),
        "{seen}"
    );
    assert!(!seen.contains(INCOMING_PARENT), "{seen}");
    assert_eq!(echo["headers"]["tracestate"], "congo=t61rcWkgMzE");
    let flushed = http
        .post(topology.admin("/admin/telemetry/flush"))
        .send()
        .await
        .unwrap();
    assert_eq!(flushed.status(), 200);

    let id = TraceId::from_hex(INCOMING_TRACE).unwrap();
    for api in [ApiVersion::V3, ApiVersion::V1] {
        let client = JaegerClient::new(&topology.query_url(), Duration::from_secs(5))
            .unwrap()
            .with_api_version(api);
        let trace = wait_for_trace(&client, id, 3).await;
        assert_eq!(trace.spans.len(), 3, "{api:?}: {:#?}", trace.spans);
        let find = |name: &str| {
            trace
                .spans
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("{api:?}: no {name} span"))
        };
        let server = find(span::REQUEST);
        let attempt = find(span::UPSTREAM_ATTEMPT);
        let upstream = find(span::UPSTREAM_REQUEST);

        assert_eq!(
            (server.service_name.as_str(), server.kind),
            ("gateway", SpanKind::Server),
            "{api:?}"
        );
        assert_eq!(
            server.parent_span_id.map(|p| p.to_string()).as_deref(),
            Some(INCOMING_PARENT),
            "{api:?}"
        );
        assert_eq!(
            attribute(server, attr::HTTP_ROUTE).as_deref(),
            Some("users"),
            "{api:?}"
        );
        assert_eq!(
            attribute(server, attr::HTTP_STATUS_CODE).as_deref(),
            Some("200"),
            "{api:?}"
        );
        assert_eq!(
            attribute(server, attr::ATTEMPTS).as_deref(),
            Some("1"),
            "{api:?}"
        );

        assert_eq!(
            (attempt.service_name.as_str(), attempt.kind),
            ("gateway", SpanKind::Client),
            "{api:?}"
        );
        assert_eq!(attempt.parent_span_id, Some(server.span_id), "{api:?}");
        assert_eq!(
            attribute(attempt, attr::OUTCOME).as_deref(),
            Some("ok"),
            "{api:?}"
        );
        assert_eq!(
            attribute(attempt, attr::ENDPOINT).as_deref(),
            Some(topology.upstream.listening_on().as_str()),
            "{api:?}"
        );
        // The upstream's traceparent named the attempt span.
        assert_eq!(
            seen,
            format!("00-{INCOMING_TRACE}-{}-01", attempt.span_id),
            "{api:?}"
        );

        assert_eq!(
            (upstream.service_name.as_str(), upstream.kind),
            ("users-a", SpanKind::Server),
            "{api:?}"
        );
        assert_eq!(upstream.parent_span_id, Some(attempt.span_id), "{api:?}");
        assert_eq!(
            attribute(upstream, attr::URL_PATH).as_deref(),
            Some("/users/42"),
            "{api:?}"
        );

        // Searchable by service and operation as a drill would search.
        let now = SystemTime::now();
        let query = TraceQuery::new(
            "gateway",
            now - Duration::from_secs(300),
            now + Duration::from_secs(60),
        )
        .with_operation(span::UPSTREAM_ATTEMPT);
        let found = client.find_traces(&query).await.unwrap();
        assert!(
            found.iter().any(|t| t.trace_id == id),
            "{api:?}: search did not find {id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_transition_is_an_evidence_span_in_the_store() {
    let chaos = binary("chaos");
    let traces = Process::start(
        &chaos,
        &[
            "traces",
            "--otlp-listen",
            "127.0.0.1:0",
            "--query-listen",
            "127.0.0.1:0",
        ],
    );
    // An endpoint that refuses connections: a closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = format!(
        "listen: 127.0.0.1:0\nadmin: {{ listen: 127.0.0.1:0 }}\n\
         telemetry: {{ otlp_endpoint: \"http://{}\", export_interval: 100ms, sampling_ratio: 0.0 }}\n\
         upstreams:\n  users:\n    endpoints: [ {{ address: \"{closed}\" }} ]\n\
         \x20   health_check: {{ path: /healthz, interval: 100ms, timeout: 100ms, unhealthy_after: 1 }}\n\
         routes:\n  - name: users\n    match: {{ path: /** }}\n    upstream: users\n",
        traces.field("otlp")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config).unwrap();
    let gateway = Process::start(
        &binary("gateway"),
        &["run", "--config", path.to_str().unwrap()],
    );

    let client = JaegerClient::new(
        &format!("http://{}", traces.field("query")),
        Duration::from_secs(5),
    )
    .unwrap();
    let now = SystemTime::now();
    let query = TraceQuery::new(
        "gateway",
        now - Duration::from_secs(60),
        now + Duration::from_secs(60),
    )
    .with_operation(span::ENDPOINT_HEALTH);
    // Sampling ratio 0 drops request spans, never evidence.
    let deadline = tokio::time::Instant::now() + WAIT;
    let found = loop {
        let found = client.find_traces(&query).await.unwrap_or_default();
        if !found.is_empty() {
            break found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no endpoint.health span; gateway stderr:\n{}",
            gateway.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let evidence = &found[0].spans[0];
    assert_eq!(
        attribute(evidence, attr::HEALTH).as_deref(),
        Some("unhealthy")
    );
    assert_eq!(
        attribute(evidence, attr::ENDPOINT),
        Some(closed.to_string())
    );
    assert_eq!(
        attribute(evidence, attr::UPSTREAM).as_deref(),
        Some("users")
    );
    assert!(
        attribute(evidence, attr::REASON).is_some_and(|r| r.contains("onnect")),
        "{evidence:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_gateway_and_answers_queries_about_it() {
    let topology = Topology::start("");
    let http = http();
    for _ in 0..7 {
        assert_eq!(
            http.get(topology.url("/api/users/1"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(
        http.get(topology.url("/nowhere"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let admin: std::net::SocketAddr = topology.gateway.field("admin").parse().unwrap();
    let prometheus = Prometheus::start(admin, Duration::from_millis(200)).await;
    let client = PrometheusClient::new(prometheus.url(), Duration::from_secs(5)).unwrap();

    let value = |expr: &'static str| {
        let client = client.clone();
        async move {
            let answer = client.query(expr, SystemTime::now()).await.ok()?;
            answer.vector()?.first().map(|s| s.point.value)
        }
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let served =
            value(r#"sum(gateway_http_requests_total{route="users",status_class="2xx"})"#).await;
        if served == Some(7.0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "got {served:?}; prometheus log:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        value(r#"sum(gateway_http_requests_total{route="",status_class="4xx"})"#).await,
        Some(1.0)
    );
    assert_eq!(
        value(r#"sum(gateway_upstream_requests_total{upstream="users",outcome="ok"})"#).await,
        Some(7.0)
    );
    assert_eq!(
        value(r#"gateway_endpoint_healthy{upstream="users"}"#).await,
        Some(1.0)
    );
    assert_eq!(value("gateway_config_version").await, Some(1.0));
    assert_eq!(
        value(r#"sum(gateway_http_request_duration_seconds_count{route="users"})"#).await,
        Some(7.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_gateway_metrics_after_traffic() {
    let topology = Topology::start("");
    let http = http();
    assert_eq!(
        http.get(topology.url("/api/users/1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(topology.url("/nowhere"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let bad = http
        .get(topology.url("/api/users/2"))
        .header(
            "traceparent",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 200);
    let metrics = http.get(topology.admin("/metrics")).send().await.unwrap();
    assert_eq!(
        metrics.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"gateway_trace_context_invalid_total{reason="traceparent_trace_id_zero"} 1"#
        ),
        "{text}"
    );

    let promtool = system_binary("promtool", "PROMTOOL_BIN", "prometheus");
    let file = topology.gateway.dir().join("metrics.txt");
    std::fs::write(&file, &text).unwrap();
    let output = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool: {report}\n{text}");
    assert_eq!(report.trim(), "", "promtool must report nothing");

    // OpenMetrics when the scraper prefers it, as Prometheus does.
    let om = http
        .get(topology.admin("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert!(
        om.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(om.text().await.unwrap().ends_with("# EOF\n"));
}
