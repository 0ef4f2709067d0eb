//! Starting the scenario's upstreams: builtin `chaos upstream` instances (with `--otlp` to
//! the trace backend), `command` programs on a free port, or attached addresses; then the
//! path the gateway takes to each: direct, a fault-proxy proxy, or a network namespace.
//!
//! Each instance is registered in the environment as soon as it runs, so a failure part
//! way still tears down what was started.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::environment::{Environment, Instance, SharedHost, lock_host};
use super::error::RunError;
use crate::env::{self, NetnsHost, ProcessSpec};
use crate::faultproxy::ProxyConfig;
use crate::journal::EventKind;
use crate::scenario::{
    Builtin, CommandUpstream, Placeholder, Plan, ReadyProbe, RenderError, Upstream, UpstreamSource,
    Via,
};

/// How long a builtin instance may take to announce its address.
const BUILTIN_READY: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts every instance of every upstream, in name then replica order, and fills the
/// topology's upstream addresses.
pub(crate) async fn start(
    env: &mut Environment,
    plan: &Plan,
    chaos_exe: &std::path::Path,
) -> Result<(), RunError> {
    let mut netns_index = 0u8;
    for upstream in plan.system.upstreams.values() {
        for replica in 0..upstream.instances() {
            let host = if upstream.via == Via::Netns {
                let host = create_host(env, &upstream.instance_name(replica), netns_index).await?;
                netns_index = netns_index.saturating_add(1);
                Some(host)
            } else {
                None
            };
            let instance = start_instance(env, plan, upstream, replica, host, chaos_exe).await?;
            let instance = attach_proxy(env, instance, upstream.via == Via::Proxy).await?;
            env.recorder.step(
                "upstream instance up",
                format!(
                    "{} listens on {}, gateway uses {}",
                    instance.name, instance.address, instance.gateway_address
                ),
            );
            env.topology
                .upstreams
                .entry(instance.upstream.clone())
                .or_default()
                .push(instance.gateway_address.clone());
            env.instances.push(Arc::new(instance));
        }
    }
    Ok(())
}

/// A namespace host for `instance`, registered for teardown.
async fn create_host(
    env: &mut Environment,
    instance: &str,
    index: u8,
) -> Result<SharedHost, RunError> {
    let run = env.run_id.clone();
    let created = tokio::task::spawn_blocking(move || NetnsHost::create(&run, index))
        .await
        .map_err(|join| RunError::Task {
            what: "namespace setup",
            reason: join.to_string(),
        })?
        .map_err(|source| RunError::Netns {
            instance: instance.to_owned(),
            source: Box::new(source),
        })?;
    env.recorder.step(
        "namespace created",
        format!(
            "{} for {instance}: {} (host side {})",
            created.netns(),
            created.addr(),
            created.host_addr()
        ),
    );
    let host = Arc::new(Mutex::new(created));
    env.hosts.push(Arc::clone(&host));
    Ok(host)
}

async fn start_instance(
    env: &mut Environment,
    plan: &Plan,
    upstream: &Upstream,
    replica: u32,
    host: Option<SharedHost>,
    chaos_exe: &std::path::Path,
) -> Result<Instance, RunError> {
    let name = upstream.instance_name(replica);
    let (ip, netns, host_ip) = match &host {
        Some(host) => {
            let host = lock_host(host);
            (
                IpAddr::V4(host.addr()),
                Some(host.netns().to_owned()),
                Some(IpAddr::V4(host.host_addr())),
            )
        }
        None => (IpAddr::from([127, 0, 0, 1]), None, None),
    };
    let mut instance = Instance {
        name: name.clone(),
        upstream: upstream.name.clone(),
        replica,
        address: String::new(),
        gateway_address: String::new(),
        process: None,
        builtin: None,
        proxy: None,
        host,
        netns: netns.clone(),
    };
    let spec = match &upstream.source {
        UpstreamSource::Address(authority) => {
            instance.address = authority.to_string();
            instance.gateway_address = instance.address.clone();
            return Ok(instance);
        }
        UpstreamSource::Builtin(builtin) => {
            // Processes in a namespace export to a receiver on the host side of its veth.
            let otlp = match (host_ip, env.traces.as_ref()) {
                (Some(host_ip), Some(traces)) => match &traces.embedded {
                    Some(service) => Some(service.add_otlp_listener(host_ip).await?),
                    None => Some(traces.otlp.clone()),
                },
                (None, Some(traces)) => Some(traces.otlp.clone()),
                (_, None) => None,
            };
            instance.builtin = Some(builtin.clone());
            builtin_spec(
                chaos_exe,
                &name,
                SocketAddr::new(ip, 0),
                builtin,
                plan.seed,
                otlp,
            )
        }
        UpstreamSource::Command(command) => command_spec(env, &name, ip, command)?,
    };
    let spec = match &netns {
        Some(netns) => spec.in_netns(netns.clone()),
        None => spec,
    };
    let port = spec_port(&spec);
    let process = env
        .supervisor
        .spawn(spec)
        .await
        .map_err(|source| RunError::Process {
            what: format!("upstream instance {name}"),
            source: Box::new(source),
        })?;
    env.recorder.record(EventKind::Process {
        process: name.clone(),
        pid: process.pid(),
        action: "started".to_owned(),
        signal: None,
        exit: None,
    });
    instance.address = match (process.addr(), port) {
        (Some(addr), _) => addr.to_string(),
        (None, Some(port)) => SocketAddr::new(ip, port).to_string(),
        (None, None) => SocketAddr::new(ip, 0).to_string(),
    };
    instance.gateway_address = instance.address.clone();
    instance.process = Some(process);
    if let Some(builtin) = &instance.builtin {
        apply_initial_behavior(env, &instance, builtin).await?;
    }
    Ok(instance)
}

/// `chaos upstream` with the scenario's initial behaviour and a seed per instance.
fn builtin_spec(
    chaos_exe: &std::path::Path,
    name: &str,
    listen: SocketAddr,
    builtin: &Builtin,
    seed: u64,
    otlp: Option<String>,
) -> ProcessSpec {
    let mut args = vec![
        "--latency".to_owned(),
        format!("{}us", builtin.latency.as_micros()),
        "--error-rate".to_owned(),
        builtin.error_rate.to_string(),
        "--error-status".to_owned(),
        builtin.error_status.to_string(),
        "--seed".to_owned(),
        instance_seed(seed, name).to_string(),
        // A terminated instance drains briefly: `terminate` should not take seconds.
        "--drain-timeout".to_owned(),
        "1s".to_owned(),
    ];
    if let Some(otlp) = otlp {
        args.extend(["--otlp".to_owned(), otlp]);
    }
    ProcessSpec::chaos_upstream(chaos_exe, name, listen)
        .args(args)
        .ready(
            env::Ready::StdoutLine(env::LISTENING_ON.to_owned()),
            BUILTIN_READY,
        )
}

/// A `command` upstream on a free port, with its readiness check.
fn command_spec(
    env: &Environment,
    name: &str,
    ip: IpAddr,
    command: &CommandUpstream,
) -> Result<ProcessSpec, RunError> {
    let port = free_port()?;
    let run_dir = env.run_dir.clone();
    let render = |what: &str, e: RenderError| RunError::Render {
        what: format!("the command of upstream instance {name} ({what})"),
        source: e,
    };
    let argv = command
        .render_argv(port, &run_dir)
        .map_err(|e| render("argv", e))?;
    let Some((program, args)) = argv.split_first() else {
        return Err(render(
            "argv",
            RenderError::Unavailable {
                placeholder: "an empty command".to_owned(),
            },
        ));
    };
    let mut spec = ProcessSpec::new(name, program).args(args);
    for (key, value) in &command.env {
        let value = value
            .render_with(|p| match p {
                Placeholder::Port => Ok(port.to_string()),
                Placeholder::RunDir => Ok(run_dir.display().to_string()),
                other => Err(RenderError::Unavailable {
                    placeholder: other.to_string(),
                }),
            })
            .map_err(|e| render("env", e))?;
        spec.env.push((OsString::from(key), OsString::from(value)));
    }
    let addr = SocketAddr::new(ip, port);
    let ready = match &command.ready.probe {
        ReadyProbe::Http(path) => env::Ready::Http {
            addr,
            path: path.clone(),
        },
        ReadyProbe::Tcp => env::Ready::Tcp(addr),
    };
    Ok(spec.ready(ready, command.ready.timeout))
}

/// The port a readiness probe names (command upstreams).
fn spec_port(spec: &ProcessSpec) -> Option<u16> {
    match &spec.ready {
        env::Ready::Http { addr, .. } | env::Ready::Tcp(addr) => Some(addr.port()),
        env::Ready::None | env::Ready::StdoutLine(_) => None,
    }
}

/// A port nothing listens on right now (bound, then released).
fn free_port() -> Result<u16, RunError> {
    let addr = "127.0.0.1:0";
    std::net::TcpListener::bind(addr)
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| RunError::Bind {
            what: "a command upstream's port",
            addr: addr.to_owned(),
            source,
        })
}

/// `healthy: false` has no command-line flag: it is set through the behaviour switch.
pub(crate) async fn apply_initial_behavior(
    env: &Environment,
    instance: &Instance,
    builtin: &Builtin,
) -> Result<(), RunError> {
    if builtin.healthy {
        return Ok(());
    }
    env.control
        .post_json(
            &instance.control_url("/_chaos/behavior"),
            Some(&json!({ "healthy": false })),
        )
        .await
        .map(drop)
        .map_err(|source| RunError::Behavior {
            instance: instance.name.clone(),
            source,
        })
}

/// With `via: proxy`, a proxy named after the instance on `127.0.0.1:0` in front of it.
async fn attach_proxy(
    env: &mut Environment,
    mut instance: Instance,
    via_proxy: bool,
) -> Result<Instance, RunError> {
    let Some(backend) = env.fault_proxy.as_ref().filter(|_| via_proxy) else {
        return Ok(instance);
    };
    let client = backend.client.clone();
    let config = ProxyConfig {
        name: instance.name.clone(),
        listen: "127.0.0.1:0".to_owned(),
        upstream: instance.address.clone(),
        enabled: true,
    };
    let error = |action: String, source| RunError::FaultProxy {
        api: client.base_url().to_owned(),
        action,
        source: Box::new(source),
    };
    let created = match client.create_proxy(&config).await {
        Ok(state) => state,
        // A shared Toxiproxy may hold a proxy of that name from an earlier run.
        Err(err) if err.status() == Some(http::StatusCode::CONFLICT) => {
            client
                .delete_proxy(&config.name)
                .await
                .map_err(|e| error(format!("replace proxy {}", config.name), e))?;
            client
                .create_proxy(&config)
                .await
                .map_err(|e| error(format!("create proxy {}", config.name), e))?
        }
        Err(err) => return Err(error(format!("create proxy {}", config.name), err)),
    };
    if let Some(backend) = env.fault_proxy.as_mut() {
        backend.created.push(created.name.clone());
    }
    env.recorder.step(
        "proxy created",
        format!(
            "{}: {} -> {}",
            created.name, created.listen, created.upstream
        ),
    );
    instance.gateway_address = created.listen;
    instance.proxy = Some(created.name);
    Ok(instance)
}

/// The instance's error-draw seed: the scenario's seed mixed with its name (FNV-1a), so
/// replicas draw differently and a seed reproduces them all.
fn instance_seed(seed: u64, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^ seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_seed_differs_per_instance_and_follows_the_seed() {
        assert_ne!(instance_seed(1, "users-0"), instance_seed(1, "users-1"));
        assert_ne!(instance_seed(1, "users"), instance_seed(2, "users"));
        assert_eq!(instance_seed(7, "a"), instance_seed(7, "a"));
    }
}
