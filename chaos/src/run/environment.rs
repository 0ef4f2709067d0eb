//! The drill's environment while it runs: the trace backend, the fault proxy, the network
//! namespaces, the upstream instances and the gateway, each registered here as soon as it
//! exists so that teardown (or, on a panic, the drop guards) finds it.
//!
//! Drop order is cleanup order on a panic: the supervisor first (every child process
//! SIGKILLed and reaped), then the namespaces (partition tables, veth pairs and namespaces
//! deleted by `NetnsHost`'s drop), then the embedded fault proxy and trace store (their
//! listeners are tasks of this process and end with it).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::control::Control;
use super::error::RunError;
use super::gateway::GatewayHandle;
pub(crate) use super::traces::TraceService;
use crate::env::ManagedProcess;
use crate::env::{NetnsHost, RunId, Supervisor, Sweep};
use crate::faultproxy::{FaultProxy, ToxiproxyClient, serve_api};
use crate::journal::Recorder;
use crate::scenario::{Builtin, FaultKind, FaultProxyBackend, Plan, Topology, TracesBackend, Via};

/// Timeout of each fault-proxy API call.
const PROXY_API_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything started for one drill.
#[derive(Debug)]
pub(crate) struct Environment {
    // Field order is drop order (see the module docs).
    pub(crate) supervisor: Supervisor,
    pub(crate) gateway: Option<GatewayHandle>,
    pub(crate) instances: Vec<Arc<Instance>>,
    pub(crate) hosts: Vec<SharedHost>,
    pub(crate) fault_proxy: Option<ProxyBackend>,
    pub(crate) traces: Option<TraceBackend>,
    pub(crate) run_dir: PathBuf,
    pub(crate) run_id: RunId,
    pub(crate) recorder: Recorder,
    pub(crate) control: Control,
    /// What placeholders are replaced with, filled as things start.
    pub(crate) topology: Topology,
}

/// A namespace host shared by its instance and teardown.
pub(crate) type SharedHost = Arc<Mutex<NetnsHost>>;

/// One running (or attached) upstream instance.
#[derive(Debug)]
pub(crate) struct Instance {
    /// `NAME` or `NAME-N`; also its process's and proxy's name.
    pub(crate) name: String,
    /// The upstream it belongs to.
    pub(crate) upstream: String,
    /// Its replica number.
    pub(crate) replica: u32,
    /// Where it listens, `host:port`.
    pub(crate) address: String,
    /// What the gateway uses to reach it.
    pub(crate) gateway_address: String,
    /// Its process, when the runner started it.
    pub(crate) process: Option<ManagedProcess>,
    /// Its initial behaviour, for a builtin instance.
    pub(crate) builtin: Option<Builtin>,
    /// Its fault-proxy proxy, with `via: proxy`.
    pub(crate) proxy: Option<String>,
    /// Its namespace, with `via: netns`.
    pub(crate) host: Option<SharedHost>,
    /// The namespace's name.
    pub(crate) netns: Option<String>,
}

/// The trace backend: URLs, and the embedded store when it is ours.
#[derive(Debug)]
pub(crate) struct TraceBackend {
    /// OTLP/HTTP base URL for processes on the host.
    pub(crate) otlp: String,
    /// Query API base URL.
    pub(crate) query: String,
    /// The embedded store, when the scenario did not name a Jaeger.
    pub(crate) embedded: Option<TraceService>,
}

/// The fault proxy: its client, and the embedded engine when it is ours.
#[derive(Debug)]
pub(crate) struct ProxyBackend {
    pub(crate) client: ToxiproxyClient,
    pub(crate) embedded: Option<EmbeddedProxy>,
    /// Proxies this run created (deleted at teardown on a shared Toxiproxy).
    pub(crate) created: Vec<String>,
}

/// The in-process fault proxy and its API task.
#[derive(Debug)]
pub(crate) struct EmbeddedProxy {
    pub(crate) engine: FaultProxy,
    pub(crate) stop: CancellationToken,
    pub(crate) _api: AbortOnDropHandle<()>,
}

// === impl Environment ===

impl Environment {
    /// An empty environment for a run in `run_dir` (which exists).
    pub(crate) fn new(run_dir: PathBuf, recorder: Recorder) -> Result<Environment, RunError> {
        let supervisor = Supervisor::new(&run_dir).map_err(|source| RunError::Process {
            what: "the process supervisor".to_owned(),
            source: Box::new(source),
        })?;
        let topology = Topology {
            run_dir: run_dir.clone(),
            ..Topology::default()
        };
        Ok(Environment {
            supervisor,
            gateway: None,
            instances: Vec::new(),
            hosts: Vec::new(),
            fault_proxy: None,
            traces: None,
            run_dir,
            run_id: RunId::generate(),
            recorder,
            control: Control::new(Duration::from_secs(2)),
            topology,
        })
    }

    /// Checks Linux, root, `ip` and `nft` when the scenario needs namespaces, then removes
    /// namespaces of crashed runs. Nothing is skipped: a missing capability is an error.
    pub(crate) async fn preflight(&self, plan: &Plan) -> Result<(), RunError> {
        let Some(needed_by) = netns_needed_by(plan) else {
            return Ok(());
        };
        let checked = tokio::task::spawn_blocking(|| {
            crate::env::preflight()?;
            Ok::<_, PreflightFailure>(crate::env::sweep(&Sweep::Stale)?)
        })
        .await;
        match checked {
            Ok(Ok(swept)) => {
                self.recorder.step(
                    "preflight",
                    format!(
                        "network namespaces usable; swept {} leftover namespaces",
                        swept.netns.len()
                    ),
                );
                Ok(())
            }
            Ok(Err(PreflightFailure::Unavailable(source))) => Err(RunError::Preflight {
                needed_by,
                source: Box::new(source),
            }),
            Ok(Err(PreflightFailure::Sweep(source))) => Err(RunError::Sweep(Box::new(source))),
            Err(join) => Err(RunError::Task {
                what: "preflight",
                reason: join.to_string(),
            }),
        }
    }

    /// Starts the embedded trace store on `127.0.0.1:0`, or notes the scenario's Jaeger.
    pub(crate) async fn start_traces(&mut self, backend: &TracesBackend) -> Result<(), RunError> {
        let traces = match backend {
            TracesBackend::Jaeger { query, otlp } => TraceBackend {
                otlp: trim_url(otlp),
                query: trim_url(query),
                embedded: None,
            },
            TracesBackend::Embedded => {
                let service = TraceService::start().await?;
                TraceBackend {
                    otlp: service
                        .add_otlp_listener(IpAddr::from([127, 0, 0, 1]))
                        .await?,
                    query: service.query_url().to_owned(),
                    embedded: Some(service),
                }
            }
        };
        self.recorder.step(
            "trace backend up",
            format!("otlp={} query={}", traces.otlp, traces.query),
        );
        self.topology.otlp = traces.otlp.clone();
        self.traces = Some(traces);
        Ok(())
    }

    /// Starts the embedded fault proxy (API on `127.0.0.1:0`) or connects to the
    /// scenario's Toxiproxy, when some upstream goes `via: proxy`.
    pub(crate) async fn start_fault_proxy(&mut self, plan: &Plan) -> Result<(), RunError> {
        let needed = plan.system.upstreams.values().any(|u| u.via == Via::Proxy);
        if !needed {
            return Ok(());
        }
        let (url, embedded) = match &plan.system.backends.fault_proxy {
            FaultProxyBackend::Toxiproxy(url) => (trim_url(url), None),
            FaultProxyBackend::Embedded => {
                let addr = "127.0.0.1:0";
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|source| bind("fault proxy API", addr, source))?;
                let local = listener
                    .local_addr()
                    .map_err(|source| bind("fault proxy API", addr, source))?;
                let engine = FaultProxy::new(plan.seed);
                let stop = CancellationToken::new();
                let api = tokio::spawn(serve_api(
                    listener,
                    engine.clone(),
                    stop.clone().cancelled_owned(),
                ));
                let embedded = EmbeddedProxy {
                    engine,
                    stop,
                    _api: AbortOnDropHandle::new(api),
                };
                (format!("http://{local}"), Some(embedded))
            }
        };
        let proxy_error = |action: &str, source| RunError::FaultProxy {
            api: url.clone(),
            action: action.to_owned(),
            source: Box::new(source),
        };
        let client =
            ToxiproxyClient::new(&url, PROXY_API_TIMEOUT).map_err(|e| proxy_error("connect", e))?;
        let version = client
            .version()
            .await
            .map_err(|e| proxy_error("read its version", e))?;
        self.recorder.step(
            "fault proxy up",
            format!(
                "api={url} version={version} embedded={}",
                embedded.is_some()
            ),
        );
        self.fault_proxy = Some(ProxyBackend {
            client,
            embedded,
            created: Vec::new(),
        });
        Ok(())
    }

    /// Upstream name to the gateway's address of each replica.
    pub(crate) fn endpoints(&self) -> BTreeMap<String, Vec<String>> {
        let mut endpoints: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for instance in &self.instances {
            endpoints
                .entry(instance.upstream.clone())
                .or_default()
                .push(instance.gateway_address.clone());
        }
        endpoints
    }
}

enum PreflightFailure {
    Unavailable(crate::env::EnvUnavailable),
    Sweep(crate::env::NetnsError),
}

impl From<crate::env::EnvUnavailable> for PreflightFailure {
    fn from(e: crate::env::EnvUnavailable) -> Self {
        PreflightFailure::Unavailable(e)
    }
}

impl From<crate::env::NetnsError> for PreflightFailure {
    fn from(e: crate::env::NetnsError) -> Self {
        PreflightFailure::Sweep(e)
    }
}

/// What in `plan` needs network namespaces, if anything.
pub(crate) fn netns_needed_by(plan: &Plan) -> Option<String> {
    if let Some(upstream) = plan.system.upstreams.values().find(|u| u.via == Via::Netns) {
        return Some(format!("upstream {} (via: netns)", upstream.name));
    }
    plan.faults
        .iter()
        .find(|f| matches!(f.kind, FaultKind::Partition { .. }))
        .map(|f| format!("fault {} (partition)", f.name))
}

// === impl Instance ===

impl Instance {
    /// The instance's base URL for control calls (`/_chaos/...`), straight to it.
    pub(crate) fn control_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

fn bind(what: &'static str, addr: &str, source: std::io::Error) -> RunError {
    RunError::Bind {
        what,
        addr: addr.to_owned(),
        source,
    }
}

/// `uri` as a base URL without a trailing slash.
fn trim_url(uri: &http::Uri) -> String {
    uri.to_string().trim_end_matches('/').to_owned()
}

/// Locks a shared host, whatever a panicking holder left.
pub(crate) fn lock_host(host: &SharedHost) -> std::sync::MutexGuard<'_, NetnsHost> {
    host.lock().unwrap_or_else(PoisonError::into_inner)
}
