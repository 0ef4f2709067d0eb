//! The validated scenario: a [`Plan`] the runner executes. Only `validate` makes one, so every
//! reference in it resolves (fault names, upstreams, replicas, placeholders) and every time
//! lies within the load.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use http::Uri;
use http::uri::Authority;

use crate::load::LoadInput;

use super::fault::FaultPlan;
use super::objective::{Guard, Objective};
use super::template::{Placeholder, RenderError, Template, Topology};
use super::window::{Anchor, Interval, TimeRef, Window};

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The scenario file.
    pub source: PathBuf,
    /// Identifies the drill in reports: 1-64 of `a-z 0-9 - _`.
    pub name: String,
    /// One sentence: what fails and what must hold.
    pub description: String,
    /// Free labels (`chaos run --tag` filters on them).
    pub tags: Vec<String>,
    /// Seeds the load mix, trace ids, toxicity and error draws. Default 1.
    pub seed: u64,
    /// What runs.
    pub system: System,
    /// The traffic, ready for [`LoadSpec::validate`](crate::load::LoadSpec::validate)
    /// (already checked by it). Its `target` is the attached gateway's URL; for a spawned
    /// gateway it is `http://127.0.0.1:0` and the runner sets the bound address.
    pub load: LoadInput,
    /// The fault timeline, in file order.
    pub faults: Vec<FaultPlan>,
    /// Abort conditions checked while running.
    pub guards: Vec<Guard>,
    /// Objectives judged after the run, in file order (reports name them `expect[i]`).
    pub objectives: Vec<Objective>,
}

/// The system under test.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    /// The gateway.
    pub gateway: Gateway,
    /// The upstreams, by name.
    pub upstreams: BTreeMap<String, Upstream>,
    /// Where traces, metrics and the fault proxy come from.
    pub backends: Backends,
}

/// The gateway: started by the runner, or already running.
#[derive(Debug, Clone, PartialEq)]
pub enum Gateway {
    /// `config: PATH`: spawn the gateway binary with the rendered template.
    Spawn(SpawnGateway),
    /// `url:` + `admin:`: a gateway the runner did not start.
    Attach(AttachGateway),
}

/// A gateway the runner starts.
#[derive(Debug, Clone, PartialEq)]
pub struct SpawnGateway {
    /// The config template, resolved relative to the scenario file.
    pub config: PathBuf,
    /// The template's text, parsed (read once at validation, so rendering does no I/O).
    pub template: Template,
    /// Which binary to run.
    pub binary: GatewayBinary,
    /// How long to wait for `/readyz`. Default 10s, above 0.
    pub ready: Duration,
    /// Extra arguments (placeholders allowed).
    pub args: Vec<Template>,
    /// Extra environment (placeholders allowed in values).
    pub env: BTreeMap<String, Template>,
}

/// Which gateway binary to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayBinary {
    /// Not set: `gateway` next to the `chaos` binary, else on `PATH`.
    Default,
    /// A value with a `/`: a path, resolved relative to the scenario file.
    Path(PathBuf),
    /// A bare name: looked up on `PATH`.
    Program(String),
}

/// A gateway the runner attaches to.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachGateway {
    /// The data-plane base URL, `http://HOST:PORT`.
    pub url: Uri,
    /// The admin base URL, `http://HOST:PORT`.
    pub admin: Uri,
}

/// One upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Upstream {
    /// Its name (the key under `system.upstreams`).
    pub name: String,
    /// What runs, or where it is.
    pub source: UpstreamSource,
    /// The path between gateway and upstream.
    pub via: Via,
}

/// What an upstream is.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamSource {
    /// `chaos upstream` instances.
    Builtin(Builtin),
    /// Any program.
    Command(CommandUpstream),
    /// An upstream the runner did not start.
    Address(Authority),
}

/// `builtin:` settings: the initial behaviour of each `chaos upstream` instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Builtin {
    /// Delay before answering. Default 0.
    pub latency: Duration,
    /// Share of requests answered with `error_status`, 0.0 to 1.0 (written as a percentage).
    /// Default 0.
    pub error_rate: f64,
    /// Status of injected errors, 400 to 599. Default 500.
    pub error_status: u16,
    /// Whether `/healthz` answers 200. Default true.
    pub healthy: bool,
    /// Instances started, named `NAME-0`.. (or `NAME` when 1). Default 1.
    pub replicas: NonZeroU32,
}

/// `command:` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandUpstream {
    /// Program and arguments; `{{port}}` and `{{run_dir}}` are the only placeholders.
    pub argv: Vec<Template>,
    /// When it counts as up.
    pub ready: Ready,
    /// Extra environment (same placeholders as `argv`).
    pub env: BTreeMap<String, Template>,
}

/// When a `command` upstream counts as up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The check.
    pub probe: ReadyProbe,
    /// How long to wait. Default 10s.
    pub timeout: Duration,
}

/// A readiness check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyProbe {
    /// `http: PATH`: GET answers 200.
    Http(String),
    /// `tcp: true`: a connection is accepted (the default).
    Tcp,
}

/// The path between gateway and upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Straight to the upstream (the default).
    Direct,
    /// Through a fault-proxy proxy named after the instance (enables toxics and `refuse`).
    Proxy,
    /// The upstream runs in its own network namespace (enables `partition`).
    Netns,
}

/// Where traces, metrics and the fault proxy come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Backends {
    /// Trace backend.
    pub traces: TracesBackend,
    /// Metrics backend.
    pub metrics: MetricsBackend,
    /// Fault proxy.
    pub fault_proxy: FaultProxyBackend,
}

/// Trace backend.
#[derive(Debug, Clone, PartialEq)]
pub enum TracesBackend {
    /// In-process store and OTLP receiver (the default).
    Embedded,
    /// A Jaeger: its query API and its OTLP/HTTP receiver.
    Jaeger {
        /// Query API base URL.
        query: Uri,
        /// OTLP/HTTP base URL.
        otlp: Uri,
    },
}

/// Metrics backend.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsBackend {
    /// Scrape the gateway's `/metrics` (the default).
    Scrape,
    /// Query a Prometheus at this base URL.
    Prometheus(Uri),
}

/// Fault proxy.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultProxyBackend {
    /// The embedded fault proxy (the default).
    Embedded,
    /// A Toxiproxy API at this base URL.
    Toxiproxy(Uri),
}

// === impl Plan ===

impl Plan {
    /// How long the load runs (with a ramp, the sum of its stages).
    pub fn duration(&self) -> Duration {
        self.load.duration
    }

    /// The fault named `name`.
    pub fn fault(&self, name: &str) -> Option<&FaultPlan> {
        self.faults.iter().find(|f| f.name == name)
    }

    /// When a time reference falls, from the load's start; `None` for an unknown fault or a
    /// time before the load's start.
    pub fn time(&self, at: &TimeRef) -> Option<Duration> {
        let anchor = match &at.anchor {
            Anchor::LoadStart => Duration::ZERO,
            Anchor::LoadEnd => self.duration(),
            Anchor::FaultStart(name) => self.fault(name)?.at,
            Anchor::FaultEnd(name) => self.fault(name)?.end(self.duration()),
        };
        at.resolve(anchor)
    }

    /// The planned interval of a window, from the load's start.
    pub fn interval(&self, window: &Window) -> Option<Interval> {
        resolve_window(window, &self.faults, self.duration())
    }

    /// The gateway config: the template with each placeholder replaced from `topology`.
    pub fn render_gateway_config(&self, topology: &Topology) -> Result<String, RenderError> {
        match &self.system.gateway {
            Gateway::Spawn(spawn) => spawn.template.render(topology),
            Gateway::Attach(_) => Err(RenderError::NotSpawned),
        }
    }
}

/// `window`'s interval given the faults and the load's duration (shared by [`Plan`] and the
/// validator, which has no `Plan` yet).
pub(crate) fn resolve_window(
    window: &Window,
    faults: &[FaultPlan],
    duration: Duration,
) -> Option<Interval> {
    let fault = |name: &str| faults.iter().find(|f| f.name == name);
    let (start, end) = match window {
        Window::Whole => (Duration::ZERO, duration),
        Window::Before => (
            Duration::ZERO,
            faults.iter().map(|f| f.at).min().unwrap_or(duration),
        ),
        Window::After => (
            faults
                .iter()
                .map(|f| f.end(duration))
                .max()
                .unwrap_or(Duration::ZERO),
            duration,
        ),
        Window::During(name) => {
            let f = fault(name)?;
            (f.at, f.end(duration))
        }
        Window::Range { from, to } => {
            let time = |at: &TimeRef| {
                let anchor = match &at.anchor {
                    Anchor::LoadStart => Duration::ZERO,
                    Anchor::LoadEnd => duration,
                    Anchor::FaultStart(name) => fault(name)?.at,
                    Anchor::FaultEnd(name) => fault(name)?.end(duration),
                };
                at.resolve(anchor)
            };
            (time(from)?, time(to)?)
        }
    };
    Some(Interval { start, end })
}

// === impl Upstream ===

impl Upstream {
    /// How many instances run (1 unless a builtin has replicas).
    pub fn instances(&self) -> u32 {
        match &self.source {
            UpstreamSource::Builtin(b) => b.replicas.get(),
            UpstreamSource::Command(_) | UpstreamSource::Address(_) => 1,
        }
    }

    /// The name of instance `replica`: `NAME-N` with several replicas, else `NAME` (also
    /// the name of its fault-proxy proxy).
    pub fn instance_name(&self, replica: u32) -> String {
        if self.instances() > 1 {
            format!("{}-{replica}", self.name)
        } else {
            self.name.clone()
        }
    }

    /// Whether the runner starts it (process faults need that).
    pub fn is_spawned(&self) -> bool {
        !matches!(self.source, UpstreamSource::Address(_))
    }
}

// === impl CommandUpstream ===

impl CommandUpstream {
    /// The argument vector for an instance listening on `port`, with `run_dir` as the run
    /// folder.
    pub fn render_argv(
        &self,
        port: u16,
        run_dir: &std::path::Path,
    ) -> Result<Vec<String>, RenderError> {
        let resolve = |p: &Placeholder| match p {
            Placeholder::Port => Ok(port.to_string()),
            Placeholder::RunDir => Ok(run_dir.display().to_string()),
            other => Err(RenderError::Unavailable {
                placeholder: other.to_string(),
            }),
        };
        self.argv.iter().map(|t| t.render_with(resolve)).collect()
    }
}
