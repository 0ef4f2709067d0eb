//! The gateway under test: the config template rendered with the real addresses and written
//! into the run folder, the binary spawned, its `listening data=A admin=B` line read, and
//! `/readyz` awaited; or a running gateway attached to by URL.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::environment::Environment;
use super::error::RunError;
use crate::env::{self, ManagedProcess, ProcessSpec};
use crate::journal::EventKind;
use crate::scenario::{Gateway, GatewayBinary, Placeholder, Plan, SpawnGateway};

/// The stdout prefix of the gateway's address line.
const LISTENING: &str = "listening data=";
/// Pause between two `/readyz` probes.
const READY_POLL: Duration = Duration::from_millis(50);
/// The gateway's `service.name` when its config and environment say nothing.
const DEFAULT_SERVICE: &str = "gateway";

/// The gateway of a run.
#[derive(Debug)]
pub(crate) struct GatewayHandle {
    /// Data-plane base URL, `http://HOST:PORT`.
    pub(crate) data_url: String,
    /// Admin base URL, `http://HOST:PORT`.
    pub(crate) admin_url: String,
    /// Its process, when the runner started it.
    pub(crate) process: Option<ManagedProcess>,
    /// The rendered config file and its text, when the runner started it.
    pub(crate) config: Option<(PathBuf, String)>,
    /// `gateway --version`, when the runner started it.
    pub(crate) version: Option<String>,
    /// Its `service.name` (from the config's `telemetry.service_name`, `OTEL_SERVICE_NAME`
    /// in its `env`, or `gateway`).
    pub(crate) service_name: String,
}

// === impl GatewayHandle ===

impl GatewayHandle {
    /// `host:port` of the data plane.
    pub(crate) fn data_addr(&self) -> &str {
        self.data_url.trim_start_matches("http://")
    }

    /// `host:port` of the admin listener.
    pub(crate) fn admin_addr(&self) -> &str {
        self.admin_url.trim_start_matches("http://")
    }
}

/// Starts (or attaches to) the scenario's gateway and waits until it is ready.
pub(crate) async fn start(
    env: &mut Environment,
    plan: &Plan,
    gateway_exe: Option<&Path>,
) -> Result<(), RunError> {
    let handle = match &plan.system.gateway {
        Gateway::Attach(attach) => {
            let handle = GatewayHandle {
                data_url: attach.url.to_string().trim_end_matches('/').to_owned(),
                admin_url: attach.admin.to_string().trim_end_matches('/').to_owned(),
                process: None,
                config: None,
                version: None,
                service_name: DEFAULT_SERVICE.to_owned(),
            };
            wait_ready(env, &handle, Duration::from_secs(10), Instant::now()).await?;
            handle
        }
        Gateway::Spawn(spawn) => spawn_gateway(env, plan, spawn, gateway_exe).await?,
    };
    env.recorder.step(
        "gateway ready",
        format!("data={} admin={}", handle.data_url, handle.admin_url),
    );
    env.gateway = Some(handle);
    Ok(())
}

async fn spawn_gateway(
    env: &mut Environment,
    plan: &Plan,
    spawn: &SpawnGateway,
    gateway_exe: Option<&Path>,
) -> Result<GatewayHandle, RunError> {
    let render = |what: &str, source| RunError::Render {
        what: what.to_owned(),
        source,
    };
    let text = plan
        .render_gateway_config(&env.topology)
        .map_err(|e| render("the gateway config", e))?;
    let config_path = env.run_dir.join("gateway.yaml");
    std::fs::write(&config_path, &text).map_err(|source| RunError::RunDir {
        path: config_path.clone(),
        source,
    })?;
    let binary = resolve_binary(&spawn.binary, gateway_exe)?;
    let version = version_of(&binary).await;

    let mut args = vec![
        "run".to_owned(),
        "--config".to_owned(),
        path_text(&config_path),
    ];
    for arg in &spawn.args {
        args.push(
            arg.render(&env.topology)
                .map_err(|e| render("the gateway's args", e))?,
        );
    }
    let mut spec = ProcessSpec::new("gateway", &binary)
        .args(args)
        .ready(env::Ready::StdoutLine(LISTENING.to_owned()), spawn.ready);
    let mut service_name = service_name_of(&text);
    for (key, value) in &spawn.env {
        let value = value
            .render_with(|p| match p {
                Placeholder::Port => Err(crate::scenario::RenderError::Unavailable {
                    placeholder: p.to_string(),
                }),
                other => env.topology.resolve(other),
            })
            .map_err(|e| render("the gateway's env", e))?;
        if key == "OTEL_SERVICE_NAME" && service_name.is_none() {
            service_name = Some(value.clone());
        }
        spec.env.push((key.into(), value.into()));
    }
    let started = Instant::now();
    let process = env
        .supervisor
        .spawn(spec)
        .await
        .map_err(|source| RunError::Process {
            what: format!("the gateway ({})", binary.display()),
            source: Box::new(source),
        })?;
    env.recorder.record(EventKind::Process {
        process: "gateway".to_owned(),
        pid: process.pid(),
        action: "started".to_owned(),
        signal: None,
        exit: None,
    });
    let (data, admin) =
        announced(process.stdout_path()).ok_or_else(|| RunError::GatewayAnnounce {
            path: process.stdout_path().to_owned(),
        })?;
    let handle = GatewayHandle {
        data_url: format!("http://{data}"),
        admin_url: format!("http://{admin}"),
        process: Some(process),
        config: Some((config_path, text)),
        version,
        service_name: service_name.unwrap_or_else(|| DEFAULT_SERVICE.to_owned()),
    };
    // Registered before the readiness wait: a gateway that never gets ready is still
    // stopped by the supervisor at teardown.
    wait_ready(env, &handle, spawn.ready, started).await?;
    Ok(handle)
}

/// Polls `GET /readyz` until 200, within `limit` counted from `since`.
async fn wait_ready(
    env: &Environment,
    handle: &GatewayHandle,
    limit: Duration,
    since: Instant,
) -> Result<(), RunError> {
    let url = format!("{}/readyz", handle.admin_url);
    let deadline = since + limit;
    loop {
        let mut last;
        match env.control.get(&url).await {
            Ok(answer) if answer.status.is_success() => return Ok(()),
            Ok(answer) => {
                last = format!(
                    "status {}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body).trim()
                );
            }
            Err(err) => last = err.to_string(),
        }
        let exited = handle
            .process
            .as_ref()
            .and_then(ManagedProcess::exit_status);
        if Instant::now() >= deadline || exited.is_some() {
            let stderr_tail = handle
                .process
                .as_ref()
                .map(|p| tail(p.stderr_path()))
                .unwrap_or_default();
            if let Some(exit) = exited {
                last = format!("{last}; the gateway exited ({exit})");
            }
            return Err(RunError::GatewayNotReady {
                url,
                waited: limit,
                last,
                stderr_tail,
            });
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// `(data, admin)` from the last `listening data=A admin=B` line of the stdout log: logs
/// are appended, so a run folder used again holds the lines of earlier runs before it.
fn announced(stdout: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(stdout).ok()?;
    let line = text.lines().rev().find(|l| l.starts_with(LISTENING))?;
    parse_listening(line)
}

fn parse_listening(line: &str) -> Option<(String, String)> {
    let mut data = None;
    let mut admin = None;
    for field in line.strip_prefix("listening ")?.split_whitespace() {
        if let Some(value) = field.strip_prefix("data=") {
            data = Some(value.to_owned());
        } else if let Some(value) = field.strip_prefix("admin=") {
            admin = Some(value.to_owned());
        }
    }
    Some((data?, admin?))
}

/// The binary to run: the override, the scenario's path or program, or `gateway` next to
/// the running `chaos` binary, else on `PATH`.
fn resolve_binary(binary: &GatewayBinary, exe: Option<&Path>) -> Result<PathBuf, RunError> {
    if let Some(exe) = exe {
        return Ok(exe.to_owned());
    }
    let (tried, found) = match binary {
        GatewayBinary::Path(path) => (
            path.display().to_string(),
            path.is_file().then(|| path.clone()),
        ),
        GatewayBinary::Program(name) => (format!("{name} on PATH"), on_path(name)),
        GatewayBinary::Default => {
            let sibling = std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|dir| dir.join("gateway")))
                .filter(|path| path.is_file());
            let tried = "`gateway` next to the chaos binary, then on PATH".to_owned();
            (tried, sibling.or_else(|| on_path("gateway")))
        }
    };
    found.ok_or(RunError::GatewayBinary { tried })
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `BINARY --version`, first line, within 5 s; `None` when it cannot tell.
async fn version_of(binary: &Path) -> Option<String> {
    let output = tokio::process::Command::new(binary)
        .arg("--version")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(5), output)
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().next().map(|l| l.trim().to_owned())
}

/// `telemetry.service_name` of the rendered config, if set.
fn service_name_of(config: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Config {
        telemetry: Option<Telemetry>,
        #[serde(flatten)]
        _rest: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct Telemetry {
        service_name: Option<String>,
        #[serde(flatten)]
        _rest: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
    }
    config_yaml::from_str::<Config>("gateway.yaml", config)
        .ok()?
        .telemetry?
        .service_name
}

/// The last lines of a log, joined by ` | `.
pub(crate) fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_line_gives_both_addresses() {
        assert_eq!(
            parse_listening("listening data=127.0.0.1:8080 admin=127.0.0.1:9901"),
            Some(("127.0.0.1:8080".to_owned(), "127.0.0.1:9901".to_owned()))
        );
        assert_eq!(parse_listening("listening data=127.0.0.1:1"), None);
        assert_eq!(parse_listening("ready"), None);
    }

    #[test]
    fn service_name_comes_from_the_telemetry_section() {
        let config =
            "listen: 127.0.0.1:0\ntelemetry: { service_name: edge, sampling_ratio: 1.0 }\n";
        assert_eq!(service_name_of(config).as_deref(), Some("edge"));
        assert_eq!(service_name_of("listen: 127.0.0.1:0\n"), None);
    }
}
