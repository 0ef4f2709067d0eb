//! Harness for binary tests: spawns the real `chaos` binary and talks to it over HTTP.
//!
//! Every wait is bounded by [`WAIT`]; every upstream binds `127.0.0.1:0` and reports its
//! port on the first stdout line, so tests never pick ports.

#![allow(dead_code, unreachable_pub)]

pub mod collector;
pub mod recorder;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

/// Upper bound on any single wait (startup, one request, exit).
pub const WAIT: Duration = Duration::from_secs(10);

/// The request body type the test client sends.
pub type TestBody = BoxBody<Bytes, Infallible>;

/// A running `chaos upstream` child; killed on drop if the test did not stop it.
pub struct Upstream {
    child: Child,
    // Held so the pipe stays open for the child's whole life.
    _stdout: Lines<BufReader<ChildStdout>>,
    pub addr: SocketAddr,
    pub http: Http,
}

/// A pooled HTTP client bound to one upstream address; cheap to clone.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, TestBody>,
    addr: SocketAddr,
}

/// A fully read response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// How a short-lived `chaos` invocation ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A `chaos` command with the caller's environment stripped of `CHAOS_*` and `OTEL_*`
/// variables, so a developer's shell cannot change what a test sees (or where spans go).
pub fn chaos_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chaos"));
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("CHAOS_") || key_text.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    command.kill_on_drop(true);
    command
}

/// Runs `chaos args...` to completion and captures its output.
pub async fn run_to_end(args: &[&str]) -> Finished {
    let output = timeout(WAIT, chaos_command().args(args).output())
        .await
        .expect("chaos did not exit in time")
        .expect("spawn chaos");
    Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Upstream {
    /// `chaos -q upstream --listen 127.0.0.1:0 ARGS...` (ARGS usually include `--name`).
    pub async fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[]).await
    }

    /// Like [`Upstream::start`], with extra environment variables.
    pub async fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = chaos_command()
            .args(["-q", "upstream", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn chaos upstream");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let line = timeout(WAIT, stdout.next_line())
            .await
            .expect("no `listening on` line in time")
            .expect("read stdout")
            .expect("stdout closed before `listening on`");
        let addr: SocketAddr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("address in first line");
        assert_ne!(addr.port(), 0, "announced port must be the bound one");
        Upstream {
            child,
            _stdout: stdout,
            addr,
            http: Http::http1(addr),
        }
    }

    pub fn pid(&self) -> Pid {
        let id = self.child.id().expect("child still running");
        Pid::from_raw(i32::try_from(id).expect("pid fits i32"))
    }

    /// Peak resident memory of the child in KiB (Linux `VmHWM`).
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc status")
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub async fn terminate(mut self) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        self.wait(WAIT).await
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("send signal");
    }

    /// Waits up to `limit` for the child to exit.
    pub async fn wait(&mut self, limit: Duration) -> ExitStatus {
        timeout(limit, self.child.wait())
            .await
            .expect("chaos upstream did not exit in time")
            .expect("wait for chaos upstream")
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.http.get(path).await
    }

    /// POSTs a behavior update and returns the answer (any status).
    pub async fn post_behavior(&self, update: &Value) -> Reply {
        self.http
            .send(
                Method::POST,
                "/_chaos/behavior",
                Bytes::from(update.to_string()),
            )
            .await
    }

    /// POSTs a behavior update that must succeed; returns the new behavior.
    pub async fn set_behavior(&self, update: &Value) -> Value {
        let reply = self.post_behavior(update).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "update {update} refused: {reply:?}"
        );
        reply.json()
    }
}

impl Http {
    pub fn http1(addr: SocketAddr) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Http { client, addr }
    }

    /// HTTP/2 over cleartext with prior knowledge (no upgrade dance).
    pub fn http2(addr: SocketAddr) -> Self {
        let client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build_http();
        Http { client, addr }
    }

    pub fn uri(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Bytes::new()).await
    }

    pub async fn send(&self, method: Method, path: &str, body: Bytes) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(self.uri(path))
            .body(Full::new(body).boxed())
            .expect("valid request");
        self.request(request, WAIT).await
    }

    /// Sends any request and reads the whole response, all within `limit`.
    pub async fn request(&self, request: Request<TestBody>, limit: Duration) -> Reply {
        let exchange = async {
            let response = self.client.request(request).await.expect("request failed");
            let (parts, body) = response.into_parts();
            let body = body.collect().await.expect("read response body").to_bytes();
            Reply {
                status: parts.status,
                version: parts.version,
                headers: parts.headers,
                body,
            }
        };
        timeout(limit, exchange).await.expect("no response in time")
    }
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ASCII header")
    }
}
