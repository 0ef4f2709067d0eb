//! The `gateway` binary under test: [`Gateway`] runs `gateway run` in a temp dir; [`run_to_end`]
//! runs a short-lived command (`validate`, `--help`, a `run` that must fail) to completion.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

use super::client::{Http, Reply};
use super::{WAIT, wait_until};

/// Folder of the config file inside the gateway's temp dir. Its own folder, because the
/// gateway watches the config's folder: log writes next to it would be file events too.
const CONFIG_DIR: &str = "config";
/// Name of the config file inside [`CONFIG_DIR`].
const CONFIG_FILE: &str = "gateway.yaml";
/// Name of the file the gateway's stderr (its logs) goes to, in the temp dir.
const STDERR_FILE: &str = "stderr.log";

/// A running `gateway run --config FILE`; killed on drop. If the test is failing, its stderr
/// is printed on drop.
#[derive(Debug)]
pub struct Gateway {
    child: Child,
    // Held so the gateway never writes to a closed pipe.
    _stdout: Lines<BufReader<ChildStdout>>,
    dir: TempDir,
    pub data: SocketAddr,
    pub admin: SocketAddr,
    /// A pooled HTTP/1.1 client for admin and data requests.
    pub http: Http,
}

/// How a short-lived `gateway` command ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A `gateway` command with `GATEWAY_*`, `OTEL_*` and `RUST_LOG` removed from the
/// environment, so the developer's shell cannot change what a test sees (or make it export
/// traces); killed if dropped while running.
pub fn gateway_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("GATEWAY_") || name.starts_with("OTEL_") || name == "RUST_LOG" {
            command.env_remove(&key);
        }
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    command
}

/// Runs `gateway args...` in `dir` to completion (within [`WAIT`]) and captures its output.
pub async fn run_to_end(dir: &Path, args: &[&str]) -> Finished {
    let output = timeout(WAIT, gateway_command().current_dir(dir).args(args).output())
        .await
        .unwrap_or_else(|_| panic!("gateway {args:?} did not exit within {WAIT:?}"))
        .expect("spawn gateway");
    Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

// === impl Gateway ===

impl Gateway {
    /// Writes `yaml` to a config file in a new temp dir and runs the gateway on it; returns
    /// once it printed its `listening` line. `yaml` must use port 0 (or free ports) for both
    /// listeners.
    pub async fn start(yaml: &str) -> Self {
        Self::start_with_args(yaml, &[]).await
    }

    /// Like [`Gateway::start`], with extra arguments after `run --config FILE`.
    pub async fn start_with_args(yaml: &str, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join(CONFIG_DIR)).expect("config dir");
        let config = dir.path().join(CONFIG_DIR).join(CONFIG_FILE);
        std::fs::write(&config, yaml).expect("write config");
        let stderr = std::fs::File::create(dir.path().join(STDERR_FILE)).expect("stderr file");
        let mut child = gateway_command()
            .arg("run")
            .arg("--config")
            .arg(&config)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn gateway");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let stderr_path = dir.path().join(STDERR_FILE);
        let logs = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let line = match timeout(WAIT, stdout.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("gateway exited before listening; stderr:\n{}", logs()),
            Ok(Err(e)) => panic!("reading gateway stdout: {e}; stderr:\n{}", logs()),
            Err(_) => panic!("no `listening` line within {WAIT:?}; stderr:\n{}", logs()),
        };
        let (data, admin) = parse_listening(&line);
        Self {
            child,
            _stdout: stdout,
            dir,
            data,
            admin,
            http: Http::http1(),
        }
    }

    /// `http://DATA{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.data)
    }

    /// `http://ADMIN{path}`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// The folder holding the config file (the one the gateway watches).
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join(CONFIG_DIR)
    }

    /// The config file the gateway was started with.
    pub fn config_path(&self) -> PathBuf {
        self.config_dir().join(CONFIG_FILE)
    }

    /// Replaces the config file atomically (write a sibling, then rename over it, as editors
    /// and ConfigMap updates do), so no reader ever sees half a file.
    pub fn rewrite_config(&self, yaml: &str) {
        let staging = self.config_dir().join(".gateway.yaml.new");
        std::fs::write(&staging, yaml).expect("write new config");
        std::fs::rename(&staging, self.config_path()).expect("replace config");
    }

    pub fn pid(&self) -> Pid {
        let id = self.child.id().expect("gateway still running");
        Pid::from_raw(i32::try_from(id).expect("pid fits i32"))
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("send signal to gateway");
    }

    /// Waits up to `limit` for the gateway to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        match timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for gateway"),
            Err(_) => panic!(
                "gateway did not exit within {limit:?}; stderr:\n{}",
                self.stderr_text()
            ),
        }
    }

    /// Everything the gateway logged so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(STDERR_FILE)).unwrap_or_default()
    }

    /// A `/proc/PID/status` field in KiB: `VmRSS` (resident now) or `VmHWM` (peak resident).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        let prefix = format!("{field}:");
        status
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/PID/status"))
    }

    /// `GET` on the admin listener.
    pub async fn admin_get(&self, path: &str) -> Reply {
        self.http.get(&self.admin_url(path)).await
    }

    /// `GET` on the admin listener, which must answer 200 with JSON.
    pub async fn admin_json(&self, path: &str) -> Value {
        let reply = self.admin_get(path).await;
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        reply.json()
    }

    /// The running config version (`/admin/config`).
    pub async fn version(&self) -> u64 {
        self.admin_json("/admin/config").await["version"]
            .as_u64()
            .expect("numeric version")
    }

    /// The `/admin/upstreams` entry of endpoint `address` in upstream `upstream`.
    pub async fn endpoint(&self, upstream: &str, address: &str) -> Value {
        let upstreams = self.admin_json("/admin/upstreams").await;
        let up = upstream_entry(&upstreams, upstream);
        up["endpoints"]
            .as_array()
            .expect("endpoints array")
            .iter()
            .find(|e| e["address"] == address)
            .unwrap_or_else(|| panic!("no endpoint {address} in {up}"))
            .clone()
    }

    /// The `/admin/upstreams` entry of `upstream`.
    pub async fn upstream(&self, upstream: &str) -> Value {
        let upstreams = self.admin_json("/admin/upstreams").await;
        upstream_entry(&upstreams, upstream).clone()
    }

    /// Waits until `/admin/upstreams` shows `healthy` for endpoint `address`.
    pub async fn wait_endpoint_health(&self, upstream: &str, address: &str, healthy: bool) {
        let what = format!("{upstream}/{address} healthy={healthy}");
        wait_until(WAIT, &what, || async {
            self.endpoint(upstream, address).await["healthy"] == healthy
        })
        .await;
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        wait_until(WAIT, "/readyz answers 200", || async {
            self.admin_get("/readyz").await.status == 200
        })
        .await;
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- gateway stderr ({}) ---\n{}--- end of gateway stderr ---",
                self.dir.path().display(),
                self.stderr_text()
            );
        }
    }
}

fn upstream_entry<'a>(upstreams: &'a Value, name: &str) -> &'a Value {
    upstreams["upstreams"]
        .as_array()
        .expect("upstreams array")
        .iter()
        .find(|u| u["name"] == name)
        .unwrap_or_else(|| panic!("no upstream {name} in {upstreams}"))
}

/// Parses `listening data=ADDR admin=ADDR`.
fn parse_listening(line: &str) -> (SocketAddr, SocketAddr) {
    let parse = |field: Option<&str>, key: &str| -> SocketAddr {
        field
            .and_then(|f| f.strip_prefix(key))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first stdout line {line:?}"))
    };
    let mut words = line.split(' ');
    assert_eq!(
        words.next(),
        Some("listening"),
        "first stdout line {line:?}"
    );
    let data = parse(words.next(), "data=");
    let admin = parse(words.next(), "admin=");
    assert_eq!(words.next(), None, "first stdout line {line:?}");
    assert_ne!(data.port(), 0, "announced data port must be the bound one");
    assert_ne!(
        admin.port(),
        0,
        "announced admin port must be the bound one"
    );
    (data, admin)
}
