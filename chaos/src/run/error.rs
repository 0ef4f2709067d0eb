//! Why a drill could not be run as written ([`RunError`]) or a fault not applied or undone
//! ([`FaultError`]): every variant is the harness's or the machine's failure (exit 3), and
//! names what was being started or done.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use super::control::ControlError;
use crate::env::{EnvUnavailable, NetnsError, ProcessError};
use crate::faultproxy::ClientError;
use crate::load::LoadError;
use crate::scenario::RenderError;

/// A failure of the run itself (not of the system under test).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RunError {
    /// The run folder could not be created or written.
    #[error("cannot use the run folder {path}")]
    RunDir {
        /// The folder or file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The scenario needs network namespaces (`via: netns` or `partition`) and this machine
    /// cannot provide them.
    #[error("{needed_by} needs network namespaces, which this machine cannot provide")]
    Preflight {
        /// What needs them, e.g. `upstream users-b (via: netns)`.
        needed_by: String,
        /// What is missing.
        #[source]
        source: Box<EnvUnavailable>,
    },
    /// Removing namespaces left by a crashed run failed.
    #[error("cannot sweep leftover network namespaces")]
    Sweep(#[source] Box<NetnsError>),
    /// A network namespace for an upstream instance could not be created.
    #[error("cannot create the network namespace of upstream instance {instance}")]
    Netns {
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: Box<NetnsError>,
    },
    /// A listener of the embedded trace store or fault proxy could not be bound.
    #[error("cannot listen on {addr} for the {what}")]
    Bind {
        /// What it was for.
        what: &'static str,
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The fault proxy refused a call (creating a proxy, or its API is not reachable).
    #[error("fault proxy at {api}: cannot {action}")]
    FaultProxy {
        /// Its API base URL.
        api: String,
        /// What was asked, e.g. `create proxy users-a`.
        action: String,
        /// Why.
        #[source]
        source: Box<ClientError>,
    },
    /// A process (an upstream instance, the gateway) could not be started.
    #[error("cannot start {what}")]
    Process {
        /// What it was, e.g. `upstream instance users-a`.
        what: String,
        /// Why.
        #[source]
        source: Box<ProcessError>,
    },
    /// A builtin upstream's initial behaviour could not be set.
    #[error("cannot set the behaviour of upstream instance {instance}")]
    Behavior {
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: ControlError,
    },
    /// A placeholder could not be replaced.
    #[error("cannot render {what}")]
    Render {
        /// What was rendered, e.g. `the gateway config`.
        what: String,
        /// Why.
        #[source]
        source: RenderError,
    },
    /// The gateway binary was not found.
    #[error("gateway binary not found: tried {tried}")]
    GatewayBinary {
        /// Where it was looked for.
        tried: String,
    },
    /// The gateway did not print `listening data=ADDR admin=ADDR`.
    #[error("the gateway's stdout ({path}) has no `listening data=ADDR admin=ADDR` line")]
    GatewayAnnounce {
        /// Its stdout log.
        path: PathBuf,
    },
    /// The gateway did not answer `/readyz` with 200 in time.
    #[error(
        "gateway not ready: {url} did not answer 200 within {waited:?} (last: {last}); stderr: {stderr_tail}"
    )]
    GatewayNotReady {
        /// The readiness URL.
        url: String,
        /// How long it was given.
        waited: Duration,
        /// The last answer or error.
        last: String,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// The load could not be prepared against the gateway's address.
    #[error("cannot prepare the load against {target}: {problems}")]
    LoadSpec {
        /// The target URL.
        target: String,
        /// Every problem, joined.
        problems: String,
    },
    /// The load generator could not start.
    #[error("cannot start the load generator")]
    Load(#[source] LoadError),
    /// A fault could not be applied or undone.
    #[error("fault {fault}: cannot {phase}")]
    Fault {
        /// The fault's name.
        fault: String,
        /// `apply` or `undo`.
        phase: &'static str,
        /// Why.
        #[source]
        source: Box<FaultError>,
    },
    /// Teardown left something behind or could not undo a fault.
    #[error("teardown incomplete: {problems}")]
    Teardown {
        /// Every problem, joined.
        problems: String,
    },
    /// A task of the runner itself died (a bug).
    #[error("the runner's {what} task failed: {reason}")]
    Task {
        /// Which task.
        what: &'static str,
        /// The panic or cancellation.
        reason: String,
    },
}

/// Why a fault could not be applied or undone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// The target names no instance.
    #[error("target {target} names no upstream instance")]
    NoInstances {
        /// The target.
        target: String,
    },
    /// A process fault on an upstream the runner did not start.
    #[error("upstream instance {instance} was not started by the runner")]
    NotStarted {
        /// The instance.
        instance: String,
    },
    /// A proxy fault on an instance without a proxy.
    #[error("upstream instance {instance} has no fault-proxy proxy (`via: proxy`)")]
    NoProxy {
        /// The instance.
        instance: String,
    },
    /// A partition of an instance outside a namespace.
    #[error("upstream instance {instance} has no network namespace (`via: netns`)")]
    NoNamespace {
        /// The instance.
        instance: String,
    },
    /// A supervisor operation failed.
    #[error(transparent)]
    Process(Box<ProcessError>),
    /// A fault-proxy call failed.
    #[error(transparent)]
    Proxy(Box<ClientError>),
    /// Loading or deleting partition rules failed.
    #[error(transparent)]
    Netns(Box<NetnsError>),
    /// A behaviour switch call failed.
    #[error("upstream instance {instance}: behaviour switch")]
    Behavior {
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: ControlError,
    },
    /// A fault header value is not a valid header.
    #[error("invalid fault header {name}: {value:?}")]
    Header {
        /// The header.
        name: &'static str,
        /// The value.
        value: String,
    },
    /// A command's placeholders could not be replaced.
    #[error("cannot render the command")]
    Render(#[source] crate::scenario::RenderError),
    /// A command failed, timed out or could not start.
    #[error("command `{argv}` {problem}")]
    Command {
        /// The command line.
        argv: String,
        /// What went wrong.
        problem: String,
    },
    /// A blocking task of the fault died.
    #[error("fault task failed: {0}")]
    Task(String),
}

// === impl FaultError ===

impl From<ProcessError> for FaultError {
    fn from(e: ProcessError) -> Self {
        FaultError::Process(Box::new(e))
    }
}

impl From<ClientError> for FaultError {
    fn from(e: ClientError) -> Self {
        FaultError::Proxy(Box::new(e))
    }
}

impl From<NetnsError> for FaultError {
    fn from(e: NetnsError) -> Self {
        FaultError::Netns(Box::new(e))
    }
}

/// `error: cause: cause ...`, the whole chain on one line (for the journal and stderr).
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
