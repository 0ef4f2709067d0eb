//! Test harness shared by the workspace's process-level tests: spawning the project's
//! binaries (and Debian-packaged servers such as Prometheus) on free loopback ports, reading
//! their `listening ...` line, bounded waits, and cleanup on drop.
//!
//! For gateway tests: [`Gateway`] (config from a string, data and admin URLs, admin API),
//! [`chaos_upstream`] (a demo upstream to steer, count and kill) and [`TraceStore`] (the
//! embedded trace store the gateway exports to).
//!
//! The crate's own `tests/` hold the end-to-end tests that run the `gateway` and `chaos`
//! binaries together. Those binaries must be built first (`cargo build --workspace --bins`,
//! which `scripts/test.sh` does); [`binary`] says so when they are missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod gateway;
mod process;
mod prometheus;
mod traces;
mod upstream;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

pub use gateway::{BASE_CONFIG, Gateway, admin_duration, metric_or_zero};
pub use process::Process;
pub use prometheus::Prometheus;
pub use traces::{TraceStore, attribute_text, span_attribute};
pub use upstream::{ChaosUpstream, chaos_upstream};

/// Upper bound on any single wait (startup, a state change, an exit): generous, because a
/// bound that is only reached when something is broken costs nothing when it is not.
pub const WAIT: Duration = Duration::from_secs(20);

/// A workspace binary in the same target folder as the running test.
///
/// Test executables live in `target/<profile>/deps/`; the binaries in `target/<profile>/`.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`, as scripts/test.sh does)",
        path.display()
    );
    path
}

/// Polls `condition` every 20ms until it holds or `limit` passes; returns whether it held.
pub async fn wait_until<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `probe` every 20ms until it yields a value, and returns it; fails naming `what` when
/// nothing came within `limit`. For waiting on observable state (admin JSON, metrics,
/// upstream counts), never on time.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not observed within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An HTTP client for tests: 10s overall timeout per request, never a proxy from the
/// environment (every target is on loopback).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .unwrap()
}

/// A response read whole: status, headers and body text.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

impl Answer {
    /// Sends `request` and reads the whole response; a transport error fails the test.
    pub async fn of(request: reqwest::RequestBuilder) -> Self {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Self {
            status,
            headers,
            body,
        }
    }

    /// The header `name` as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A program installed from a Debian package: `$<ENV>` if set, else the first on `PATH`.
/// Missing is a failure with the install command, never a skip: CI installs the package.
pub fn system_binary(name: &str, env: &str, package: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return path.into();
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is required by this test and is not on PATH (nor in ${env}): \
                 install it with `apt-get install --no-install-recommends {package}` \
                 (scripts/test.sh does this when run as root)"
            )
        })
}
