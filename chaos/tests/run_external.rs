//! `chaos run` against what it did not start: a Toxiproxy-compatible server (`chaos proxy`,
//! standing in for a real Toxiproxy, driven over its REST API only), a Jaeger-compatible
//! trace backend (`chaos traces`, over OTLP and the Jaeger query API only), and a gateway
//! and upstream already running (attached by URL and address). The drills must work the
//! same way as with the embedded backends, leave the external servers clean, and never
//! stop what they attached to.

mod run_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use run_support::{CHAOS, assert_nothing_left_except, code, run};
use serde_json::Value;

/// A long-running server started by the test, killed when dropped.
struct Server {
    child: Child,
    /// Its announced line, without the prefix.
    announced: String,
}

impl Server {
    fn start(program: &str, args: &[&str], prefix: &str) -> Server {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let line = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{program} {args:?} announced nothing"));
        Server {
            child,
            announced: line[prefix.len()..].to_owned(),
        }
    }

    /// `key=value` from the announced line.
    fn field(&self, key: &str) -> String {
        self.announced
            .split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in {}", self.announced))
            .to_owned()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn traces() -> Server {
    Server::start(
        CHAOS,
        &[
            "traces",
            "--otlp-listen",
            "127.0.0.1:0",
            "--query-listen",
            "127.0.0.1:0",
        ],
        "listening ",
    )
}

fn gateway_binary() -> PathBuf {
    Path::new(CHAOS).with_file_name("gateway")
}

fn get(url: &str) -> Value {
    let output = Command::new("curl")
        .args(["-fsS", "--max-time", "5", url])
        .output()
        .expect("curl");
    assert!(output.status.success(), "GET {url} failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn statuses(journal: &Value) -> Vec<String> {
    journal["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                v["kind"].as_str().unwrap(),
                v["status"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn drill_through_an_external_toxiproxy_and_jaeger_works_and_leaves_them_clean() {
    let traces = traces();
    let proxy = Server::start(
        CHAOS,
        &["proxy", "--listen", "127.0.0.1:0"],
        "listening on ",
    );
    let proxy_url = format!("http://{}", proxy.announced.trim());
    let (otlp, query) = (traces.field("otlp"), traces.field("query"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gateway.yaml"),
        r#"listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
reload: { watch: false }
telemetry: { otlp_endpoint: "{{otlp}}", export_interval: 200ms, access_log: false }
upstreams:
  users: { endpoints: [ { address: "{{upstream.users}}" } ], connect_timeout: 250ms }
routes:
  - { name: users, match: { path: /api/users/** }, upstream: users, timeout: 2s }
"#,
    )
    .unwrap();
    let scenario = dir.path().join("external.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"name: external-backends
description: latency through an external Toxiproxy-compatible proxy, traces in an external Jaeger-compatible store
system:
  gateway: {{ config: gateway.yaml }}
  upstreams:
    users: {{ builtin: {{}}, via: proxy }}
  backends:
    traces: {{ jaeger: "http://{query}", otlp: "http://{otlp}" }}
    fault_proxy: {{ toxiproxy: "{proxy_url}" }}
load:
  rate: 50/s
  duration: 5s
  requests:
    - {{ get: /api/users/1 }}
faults:
  - {{ name: slow, at: 1s, for: 1500ms, latency: {{ target: users, latency: 200ms }} }}
expect:
  - latency: {{ during: slow, value: "p(50) >= 200ms" }}
  - latency: {{ window: before, value: "p(90) < 100ms" }}
  - trace: {{ window: whole, select: {{ service: gateway, name: gateway.request }}, count: ">= 150" }}
  - rto: {{ from: slow.end, success: ">= 99%", window: 500ms, hold: 1s, max: 500ms, latency: "p(90) < 100ms" }}
"#
        ),
    )
    .unwrap();
    let (output, journal) = run(&scenario, &dir.path().join("run"), &[]);
    assert_eq!(
        code(&output),
        0,
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        journal["verdicts"]
    );
    assert_eq!(
        statuses(&journal),
        ["latency pass", "latency pass", "trace pass", "rto pass"]
    );
    let topology = &journal["topology"];
    assert_eq!(topology["fault_proxy"]["embedded"], false);
    assert_eq!(topology["fault_proxy"]["url"], proxy_url);
    assert_eq!(topology["traces"]["embedded"], false);

    // The external proxy is left as found: no proxies, so no toxics.
    assert_eq!(get(&format!("{proxy_url}/proxies")), serde_json::json!({}));
    // The external store kept the gateway's traces.
    let services = get(&format!("http://{query}/api/services"));
    assert!(
        services["data"]
            .as_array()
            .unwrap()
            .contains(&Value::from("gateway")),
        "{services}"
    );
    let proxy_addr = proxy_url.trim_start_matches("http://");
    assert_nothing_left_except(&journal, &[proxy_addr, &otlp, &query]);
}

#[test]
fn drill_attached_to_a_running_gateway_injects_through_its_fault_filter_and_leaves_it_running() {
    let traces = traces();
    let mut upstream = Server::start(
        CHAOS,
        &["upstream", "--listen", "127.0.0.1:0", "--name", "users"],
        "listening on ",
    );
    let upstream_addr = upstream.announced.trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(
        &config,
        format!(
            r#"listen: 127.0.0.1:0
admin: {{ listen: 127.0.0.1:0 }}
reload: {{ watch: false }}
telemetry: {{ otlp_endpoint: "http://{otlp}", export_interval: 200ms, access_log: false }}
upstreams:
  users: {{ endpoints: [ {{ address: "{upstream_addr}" }} ] }}
routes:
  - name: users
    match: {{ path: /api/users/** }}
    upstream: users
    # Only requests carrying x-fault-* headers are faulted: the drill sends them.
    fault: {{ abort: {{ status: 500, percent: 100% }}, header_control: true }}
"#,
            otlp = traces.field("otlp")
        ),
    )
    .unwrap();
    let mut gateway = Server::start(
        gateway_binary().to_str().unwrap(),
        &["run", "--config", config.to_str().unwrap()],
        "listening ",
    );
    let (data, admin) = (gateway.field("data"), gateway.field("admin"));

    let scenario = dir.path().join("attached.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"name: attached
description: a gateway already running, its fault filter driven by request headers
system:
  gateway: {{ url: "http://{data}", admin: "http://{admin}" }}
  upstreams:
    users: {{ address: "{upstream_addr}" }}
  backends:
    traces: {{ jaeger: "http://{query}", otlp: "http://{otlp}" }}
load:
  rate: 50/s
  duration: 5s
  requests:
    - {{ get: /api/users/1 }}
faults:
  - {{ name: abort, at: 1s, for: 1s, gateway_fault: {{ abort: {{ status: 503, percent: 100% }} }} }}
expect:
  # The request due at the fault's very start may already carry its headers.
  - errors: {{ window: before, rate: "< 5%" }}
  - errors: {{ during: abort, rate: "> 90%" }}
  - rto: {{ from: abort.end, success: ">= 99%", window: 500ms, hold: 1s, max: 100ms }}
"#,
            query = traces.field("query"),
            otlp = traces.field("otlp"),
        ),
    )
    .unwrap();
    let (output, journal) = run(&scenario, &dir.path().join("run"), &[]);
    assert_eq!(
        code(&output),
        0,
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        journal["verdicts"]
    );
    assert_eq!(
        statuses(&journal),
        ["errors pass", "errors pass", "rto pass"]
    );
    // What the drill attached to is still there and serving, without the fault.
    assert!(gateway.alive(), "the attached gateway was stopped");
    assert!(upstream.alive(), "the attached upstream was stopped");
    let answer = get(&format!("http://{data}/api/users/2"));
    assert_eq!(answer["upstream"], "users");
}
