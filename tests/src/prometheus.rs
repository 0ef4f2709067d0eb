//! A real Prometheus (the Debian package) on a free loopback port with throw-away storage,
//! scraping the given targets; stopped on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{WAIT, system_binary};

/// A running Prometheus server.
#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    url: String,
    log_path: PathBuf,
    // Removed after `child` is stopped (fields drop after `Drop::drop` runs).
    _dir: tempfile::TempDir,
}

enum Startup {
    Ready,
    Exited(String),
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (its `/metrics`) every `interval`, and waits until
    /// it answers `/-/ready`. A port taken between probing and binding is retried.
    pub async fn start(target: SocketAddr, interval: Duration) -> Self {
        let binary = system_binary("prometheus", "PROMETHEUS_BIN", "prometheus");
        for _ in 0..5 {
            let mut process = Self::spawn(&binary, target, interval);
            match process.wait_ready().await {
                Startup::Ready => return process,
                Startup::Exited(log) if log.contains("address already in use") => continue,
                Startup::Exited(log) => panic!("prometheus exited during startup:\n{log}"),
            }
        }
        panic!("prometheus could not bind a free port in 5 attempts");
    }

    fn spawn(binary: &Path, target: SocketAddr, interval: Duration) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        let every = format!("{}ms", interval.as_millis());
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: {every}\n  scrape_timeout: {every}\n\
                 scrape_configs:\n  - job_name: target\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log_path = dir.path().join("prometheus.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg("--storage.tsdb.retention.time=1h")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log_path,
            _dir: dir,
        }
    }

    async fn wait_ready(&mut self) -> Startup {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let ready = format!("{}/-/ready", self.url);
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return Startup::Exited(self.log());
            }
            if http
                .get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Startup::Ready;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("prometheus not ready after {WAIT:?}:\n{}", self.log());
    }

    /// Base URL of its HTTP API.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
