//! Binary tests of `chaos traces`: the real process, real sockets, real signals.

mod support;

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};
use tokio::time::timeout;

use support::{Http, Reply, WAIT, chaos_command, run_to_end};

/// The OTLP/JSON example from opentelemetry-proto (uppercase hex ids), as kept by the store's
/// contract tests.
const OTLP_TRACE: &str = include_str!("../../observability/tests/fixtures/store/otlp/trace.json");
const TRACE_ID: &str = "5b8efff798038103d269b633813fc60c";

/// A running `chaos traces`; killed on drop if the test did not stop it.
struct Traces {
    child: Child,
    // Held so the pipe stays open for the child's whole life.
    _stdout: Lines<BufReader<ChildStdout>>,
    otlp: Http,
    query: Http,
}

impl Traces {
    /// `chaos -q traces` on free ports, plus `args` and `env`.
    async fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = chaos_command()
            .args(["-q", "traces", "--otlp-listen", "127.0.0.1:0"])
            .args(["--query-listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn chaos traces");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let line = timeout(WAIT, stdout.next_line())
            .await
            .expect("no `listening` line in time")
            .expect("read stdout")
            .expect("stdout closed before `listening`");
        let (otlp, query) = parse_listening(&line);
        Traces {
            child,
            _stdout: stdout,
            otlp: Http::http1(otlp),
            query: Http::http1(query),
        }
    }

    async fn post_otlp_json(&self, body: &str) -> Reply {
        let request = Request::post(self.otlp.uri("/v1/traces"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_owned())).boxed())
            .unwrap();
        self.otlp.request(request, WAIT).await
    }

    fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.id().expect("running")).unwrap());
        kill(pid, signal).expect("send signal");
    }

    async fn stop(mut self, signal: Signal) -> ExitStatus {
        self.signal(signal);
        timeout(WAIT, self.child.wait())
            .await
            .expect("chaos traces did not exit in time")
            .expect("wait for chaos traces")
    }
}

/// `listening otlp=ADDR query=ADDR`, with the ports actually bound.
fn parse_listening(line: &str) -> (SocketAddr, SocketAddr) {
    let rest = line
        .strip_prefix("listening otlp=")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let (otlp, query) = rest
        .split_once(" query=")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let (otlp, query): (SocketAddr, SocketAddr) = (otlp.parse().unwrap(), query.parse().unwrap());
    assert_ne!(otlp.port(), 0, "announced port must be the bound one");
    assert_ne!(query.port(), 0, "announced port must be the bound one");
    (otlp, query)
}

/// A trace of one span, `n` in every byte of its trace id.
fn one_span_trace(n: u8) -> String {
    let id = format!("{n:02x}").repeat(16);
    json!({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeSpans": [{"spans": [{"traceId": id, "spanId": "0000000000000001", "name": "op"}]}]
    }]})
    .to_string()
}

#[tokio::test]
async fn traces_ingests_otlp_and_answers_jaeger_v1_and_v3() {
    let traces = Traces::start(&[], &[]).await;

    let posted = traces.post_otlp_json(OTLP_TRACE).await;
    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(posted.json(), json!({}));

    let services = traces.query.get("/api/services").await;
    assert_eq!(services.json()["data"], json!(["my.service"]));
    let v1 = traces.query.get(&format!("/api/traces/{TRACE_ID}")).await;
    assert_eq!(v1.status, StatusCode::OK);
    let trace = &v1.json()["data"][0];
    assert_eq!(trace["traceID"], TRACE_ID);
    assert_eq!(trace["spans"][0]["spanID"], "eee19b7ec3c1b174");
    assert_eq!(trace["processes"]["p1"]["serviceName"], "my.service");

    let v3 = traces
        .query
        .get(
            "/api/v3/traces?query.service_name=my.service\
             &query.start_time_min=2018-12-13T00:00:00Z&query.start_time_max=2018-12-14T00:00:00Z",
        )
        .await;
    assert_eq!(v3.status, StatusCode::OK);
    let span = &v3.json()["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], TRACE_ID);
    assert_eq!(span["kind"], 2);

    let status = traces.stop(Signal::SIGTERM).await;
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn traces_exits_zero_on_sigint() {
    let traces = Traces::start(&[], &[]).await;
    let empty = traces
        .query
        .send(Method::GET, "/api/v3/services", Bytes::new())
        .await;
    assert_eq!(empty.json(), json!({"services": []}));

    let status = traces.stop(Signal::SIGINT).await;

    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn traces_max_spans_env_twin_applies_and_the_flag_wins_over_it() {
    let from_env = Traces::start(&[], &[("CHAOS_TRACES_MAX_SPANS", "1")]).await;
    let flag_wins = Traces::start(&["--max-spans", "10"], &[("CHAOS_TRACES_MAX_SPANS", "1")]).await;

    for traces in [&from_env, &flag_wins] {
        for n in [1, 2] {
            assert_eq!(
                traces.post_otlp_json(&one_span_trace(n)).await.status,
                StatusCode::OK
            );
        }
    }

    let first = format!("/api/traces/{}", "01".repeat(16));
    assert_eq!(
        from_env.query.get(&first).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(flag_wins.query.get(&first).await.status, StatusCode::OK);
    assert_eq!(from_env.stop(Signal::SIGTERM).await.code(), Some(0));
    assert_eq!(flag_wins.stop(Signal::SIGTERM).await.code(), Some(0));
}

#[tokio::test]
async fn traces_listen_env_twins_choose_the_addresses() {
    let mut child = chaos_command()
        .args(["-q", "traces"])
        .env("CHAOS_TRACES_OTLP_LISTEN", "127.0.0.1:0")
        .env("CHAOS_TRACES_QUERY_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn chaos traces");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();

    let line = timeout(WAIT, stdout.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // Port 0 from the environment, not Jaeger's default ports from the flags' defaults.
    let (otlp, query) = parse_listening(&line);
    assert_ne!((otlp.port(), query.port()), (4318, 16686));
    child.kill().await.unwrap();
}

#[tokio::test]
async fn traces_on_a_busy_port_exits_3_naming_the_listener() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();

    let finished = run_to_end(&[
        "traces",
        "--otlp-listen",
        &addr,
        "--query-listen",
        "127.0.0.1:0",
    ])
    .await;

    assert_eq!(finished.status.code(), Some(3));
    assert!(
        finished
            .stderr
            .contains(&format!("cannot listen on {addr} for otlp")),
        "{}",
        finished.stderr
    );
    assert!(finished.stdout.is_empty());
}

#[tokio::test]
async fn traces_with_invalid_flags_exits_2() {
    for args in [
        ["traces", "--max-bytes", "1024"],
        ["traces", "--max-spans", "0"],
    ] {
        let finished = run_to_end(&args).await;
        assert_eq!(
            finished.status.code(),
            Some(2),
            "{args:?}: {}",
            finished.stderr
        );
    }
}
