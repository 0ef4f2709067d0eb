//! A `chaos upstream` process for end-to-end tests: started on a free loopback port, steered
//! through `/_chaos/behavior`, observed through `/_chaos/stats` (what really reached it, as
//! opposed to what the gateway says it sent), and killed on demand.

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::{Process, WAIT, binary, http_client};

/// A running `chaos upstream`.
#[derive(Debug)]
pub struct ChaosUpstream {
    process: Process,
    name: String,
    address: String,
    http: reqwest::Client,
}

/// Starts `chaos upstream --name NAME --listen 127.0.0.1:0` with `args` appended (e.g.
/// `["--error-rate", "1.0"]`) and waits for its `listening on` line.
pub fn chaos_upstream(name: &str, args: &[&str]) -> ChaosUpstream {
    let mut all = vec!["upstream", "--listen", "127.0.0.1:0", "--name", name];
    all.extend_from_slice(args);
    let process = Process::start(&binary("chaos"), &all);
    let address = process.listening_on();
    ChaosUpstream {
        process,
        name: name.to_owned(),
        address,
        http: http_client(),
    }
}

impl ChaosUpstream {
    /// Its `--name` (the `x-upstream` header of its answers).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `127.0.0.1:PORT`, as a gateway endpoint address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The process (stderr, pid, signals).
    pub fn process(&self) -> &Process {
        &self.process
    }

    /// `POST /_chaos/behavior` with `update` (any subset of `latency`, `error_rate`,
    /// `error_status`, `hang`, `healthy`); returns the whole behavior after the change.
    pub async fn set_behavior(&self, update: Value) -> Value {
        let response = self
            .http
            .post(format!("http://{}/_chaos/behavior", self.address))
            .json(&update)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: behavior update failed: {e}", self.name));
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            status, 200,
            "{}: behavior update refused: {body}",
            self.name
        );
        body
    }

    /// `GET /_chaos/stats`: `{"requests": N, "by_path": {...}, "other_paths": N}`.
    pub async fn stats(&self) -> Value {
        let response = self
            .http
            .get(format!("http://{}/_chaos/stats", self.address))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: stats request failed: {e}", self.name));
        assert_eq!(response.status(), 200, "{}: stats", self.name);
        response.json().await.unwrap()
    }

    /// Echo and `/healthz` requests received so far.
    pub async fn requests(&self) -> u64 {
        self.stats().await["requests"].as_u64().unwrap()
    }

    /// Requests received so far for `path` (as the upstream saw it, after any rewrite).
    pub async fn requests_to(&self, path: &str) -> u64 {
        self.stats().await["by_path"][path].as_u64().unwrap_or(0)
    }

    /// SIGKILL (no drain, sockets closed by the kernel), then waits for the exit.
    pub fn kill(&mut self) {
        self.process.signal(Signal::SIGKILL);
        let status = self.process.wait_exit(WAIT);
        assert!(!status.success(), "{} survived SIGKILL", self.name);
    }
}
