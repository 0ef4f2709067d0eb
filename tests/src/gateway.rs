//! A `gateway run` process for end-to-end tests: its config written from a string into a temp
//! dir, its data and admin URLs, and typed access to the admin API (upstream and breaker
//! state, breaker control, reload, metrics, telemetry flush).

use std::path::{Path, PathBuf};

use observability::client::MetricSet;
use serde_json::{Value, json};

use crate::{Process, binary, http_client};

/// The lines every test config starts with: both listeners on free ports, and no file
/// watcher, so a test's `POST /admin/reload` is the only reload (a watcher would apply a
/// rewritten file on its own, at a time the test does not control).
pub const BASE_CONFIG: &str =
    "listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nreload: { watch: false }\n";

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    // Dropped before `_dir` (fields drop in order): the gateway reads its config from there.
    process: Process,
    config_path: PathBuf,
    data: String,
    admin: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Writes `config` (YAML) to a fresh temp dir and starts `gateway run` on it; returns once
    /// both listeners are bound. Files the config names by relative path (fallback bodies)
    /// can be put next to it with [`write_file`](Self::write_file) before a reload.
    pub fn start(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("gateway.yaml");
        std::fs::write(&config_path, config).unwrap();
        let process = Process::start(
            &binary("gateway"),
            &["run", "--config", config_path.to_str().unwrap()],
        );
        let data = process.field("data");
        let admin = process.field("admin");
        Self {
            process,
            config_path,
            data,
            admin,
            http: http_client(),
            _dir: dir,
        }
    }

    /// `http://DATA_ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.data)
    }

    /// `http://ADMIN_ADDR{path}`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// The admin listener's address.
    pub fn admin_addr(&self) -> &str {
        &self.admin
    }

    /// The config file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Writes `contents` to `name` next to the config file.
    pub fn write_file(&self, name: &str, contents: &str) {
        let parent = self.config_path.parent().unwrap();
        std::fs::write(parent.join(name), contents).unwrap();
    }

    /// The process (stderr for failure messages).
    pub fn process(&self) -> &Process {
        &self.process
    }

    /// Everything the gateway logged so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// `GET` an admin path that answers JSON with 200.
    pub async fn admin_json(&self, path: &str) -> Value {
        let response = self
            .http
            .get(self.admin_url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"));
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// One upstream's entry of `GET /admin/upstreams`.
    pub async fn upstream(&self, name: &str) -> Value {
        let all = self.admin_json("/admin/upstreams").await;
        all["upstreams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no upstream {name} in {all}"))
    }

    /// An upstream's breaker as `/admin/upstreams` shows it (`state`, rates, counts, ...).
    pub async fn breaker(&self, upstream: &str) -> Value {
        let breaker = self.upstream(upstream).await["breaker"].clone();
        assert!(breaker.is_object(), "upstream {upstream} has no breaker");
        breaker
    }

    /// An upstream's breaker state (`closed`, `open`, `half_open`, `forced_open`, ...).
    pub async fn breaker_state(&self, upstream: &str) -> String {
        self.breaker(upstream).await["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// One route's entry of `GET /admin/routes` (breaker, retry budget, fallback cache).
    pub async fn route(&self, name: &str) -> Value {
        let all = self.admin_json("/admin/routes").await;
        all["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no route {name} in {all}"))
    }

    /// `POST /admin/upstreams/{upstream}/breaker` with `{"state": state}`; returns the answer
    /// (`changed`, `breaker`), which must be 200.
    pub async fn set_breaker(&self, upstream: &str, state: &str) -> Value {
        let path = format!("/admin/upstreams/{upstream}/breaker");
        let response = self
            .http
            .post(self.admin_url(&path))
            .json(&json!({ "state": state }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path} failed: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "POST {path} {state}: {body}");
        body
    }

    /// `GET /metrics`, parsed.
    pub async fn metrics(&self) -> MetricSet {
        let text = self
            .http
            .get(self.admin_url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        MetricSet::parse(&text).unwrap_or_else(|e| panic!("unparsable metrics: {e}\n{text}"))
    }

    /// Replaces the config file with `config` (write to a temporary name, then rename, so the
    /// gateway never reads half a file) and `POST /admin/reload`; returns the answer, which
    /// must be 200 (`{"status":"applied","version":N}`).
    pub async fn reload(&self, config: &str) -> Value {
        let staged = self.config_path.with_extension("yaml.new");
        std::fs::write(&staged, config).unwrap();
        std::fs::rename(&staged, &self.config_path).unwrap();
        let response = self
            .http
            .post(self.admin_url("/admin/reload"))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "reload: {body}");
        body
    }

    /// `POST /admin/telemetry/flush`: every finished span is exported when it returns.
    pub async fn flush_telemetry(&self) {
        let response = self
            .http
            .post(self.admin_url("/admin/telemetry/flush"))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "flush: {body}");
    }
}

/// A duration as the admin API writes it (`250ms`, `2s`, `1.5us`: the config file's notation).
pub fn admin_duration(text: &str) -> std::time::Duration {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or_else(|| panic!("no unit in duration {text:?}"));
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("bad duration {text:?}"));
    let seconds = match unit {
        "h" => 3600.0,
        "m" => 60.0,
        "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        _ => panic!("unknown unit in duration {text:?}"),
    };
    std::time::Duration::from_secs_f64(number * seconds)
}

/// A metric's value, or 0 when the series does not exist (yet): counters and gauges with
/// labels appear only once first touched.
pub fn metric_or_zero(metrics: &MetricSet, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics.sum(name, labels).unwrap_or(0.0)
}
