//! The validated fault timeline: when each fault is applied and undone, and what it does,
//! with every parameter resolved (Toxiproxy's units for toxics).

use std::time::Duration;

use super::catalog::Kind;
use super::template::Template;
use super::window::Interval;
use crate::faultproxy::{Stream, ToxicKind};

/// One fault on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Unique among the faults; used by objectives (`during: NAME`, `NAME.end`).
    pub name: String,
    /// When it is applied, from the start of the load.
    pub at: Duration,
    /// When it is undone.
    pub window: FaultWindow,
    /// What it does.
    pub kind: FaultKind,
}

/// How long a fault lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultWindow {
    /// `for: DURATION` (above 0; `at + for` within the load).
    For(Duration),
    /// `until: end`: until the load ends.
    UntilEnd,
}

/// An upstream, or one replica of it: `users-a`, `users-a.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// The upstream.
    pub upstream: String,
    /// The replica (from 0); `None` means every replica.
    pub replica: Option<u32>,
}

/// What a fault does, with every parameter resolved (defaults filled from the catalog).
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// `kill`: SIGKILL.
    Kill {
        /// The upstream instance(s).
        target: Target,
        /// What happens when the window ends.
        then: AfterKill,
    },
    /// `terminate`: SIGTERM.
    Terminate {
        /// The upstream instance(s).
        target: Target,
        /// What happens when the window ends.
        then: AfterKill,
    },
    /// `pause`: SIGSTOP, SIGCONT at the end.
    Pause {
        /// The upstream instance(s).
        target: Target,
    },
    /// `restart`: kill and start again at once.
    Restart {
        /// The upstream instance(s).
        target: Target,
    },
    /// A Toxiproxy toxic on the target's proxy (`latency` .. `limit_data`, `blackhole`).
    Toxic(ToxicFault),
    /// `refuse`: disable the target's proxy.
    Refuse {
        /// The upstream instance(s).
        target: Target,
    },
    /// `partition`: drop packets between gateway and the target's namespace.
    Partition {
        /// The upstream instance(s).
        target: Target,
    },
    /// `http_errors`: switch the builtin upstream's behaviour.
    HttpErrors(HttpErrors),
    /// `gateway_fault`: request headers for the gateway's fault filter.
    GatewayFault(GatewayFault),
    /// `command`: run programs.
    Command(CommandFault),
}

/// What a killed or terminated upstream does when the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterKill {
    /// Start again on the same port (the default).
    Restart,
    /// Stay down until teardown.
    StayDown,
}

/// A toxic, in Toxiproxy's units.
#[derive(Debug, Clone, PartialEq)]
pub struct ToxicFault {
    /// The scenario kind (`latency`, `blackhole`, ...).
    pub kind: Kind,
    /// The upstream instance(s) whose proxy gets the toxic.
    pub target: Target,
    /// Direction. Default downstream.
    pub stream: Stream,
    /// Share of connections it acts on, 0.0 to 1.0. Default 1.0.
    pub toxicity: f32,
    /// Toxiproxy type and attributes (`blackhole` is `timeout` with 0).
    pub toxic: ToxicKind,
}

/// `http_errors` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpErrors {
    /// The builtin upstream instance(s).
    pub target: Target,
    /// Status of the errors, 400 to 599. Default 500.
    pub status: u16,
    /// Share of requests answered with `status`, 0.0 to 1.0. Default 1.0.
    pub rate: f64,
    /// Latency to set as well; `None` leaves it unchanged.
    pub latency: Option<Duration>,
    /// Hold requests unanswered. Default false.
    pub hang: bool,
}

/// `gateway_fault` settings; at least one of the two is set.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayFault {
    /// Abort with a status.
    pub abort: Option<GatewayAbort>,
    /// Delay before calling the upstream.
    pub delay: Option<GatewayDelay>,
}

/// `gateway_fault.abort`.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayAbort {
    /// Status answered, 200 to 599.
    pub status: u16,
    /// Share of requests, 0.0 to 1.0. Default 1.0.
    pub ratio: f64,
}

/// `gateway_fault.delay`.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayDelay {
    /// Delay added, whole milliseconds (the header's unit).
    pub duration: Duration,
    /// Share of requests, 0.0 to 1.0. Default 1.0.
    pub ratio: f64,
}

/// `command` fault settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandFault {
    /// Run at `at` (placeholders allowed).
    pub start: Vec<Template>,
    /// Run when the window ends and at teardown, if set.
    pub stop: Option<Vec<Template>>,
    /// Longest run of each program. Default 30s.
    pub timeout: Duration,
}

// === impl FaultPlan ===

impl FaultPlan {
    /// When its window ends, given the load's duration.
    pub fn end(&self, load_duration: Duration) -> Duration {
        match self.window {
            FaultWindow::For(d) => self.at.saturating_add(d),
            FaultWindow::UntilEnd => load_duration,
        }
    }

    /// Its planned window, given the load's duration.
    pub fn interval(&self, load_duration: Duration) -> Interval {
        Interval {
            start: self.at,
            end: self.end(load_duration),
        }
    }
}

// === impl FaultKind ===

impl FaultKind {
    /// The scenario kind.
    pub fn kind(&self) -> Kind {
        match self {
            FaultKind::Kill { .. } => Kind::Kill,
            FaultKind::Terminate { .. } => Kind::Terminate,
            FaultKind::Pause { .. } => Kind::Pause,
            FaultKind::Restart { .. } => Kind::Restart,
            FaultKind::Toxic(toxic) => toxic.kind,
            FaultKind::Refuse { .. } => Kind::Refuse,
            FaultKind::Partition { .. } => Kind::Partition,
            FaultKind::HttpErrors(_) => Kind::HttpErrors,
            FaultKind::GatewayFault(_) => Kind::GatewayFault,
            FaultKind::Command(_) => Kind::Command,
        }
    }

    /// The upstream instance(s) it acts on, if any.
    pub fn target(&self) -> Option<&Target> {
        match self {
            FaultKind::Kill { target, .. }
            | FaultKind::Terminate { target, .. }
            | FaultKind::Pause { target }
            | FaultKind::Restart { target }
            | FaultKind::Refuse { target }
            | FaultKind::Partition { target } => Some(target),
            FaultKind::Toxic(toxic) => Some(&toxic.target),
            FaultKind::HttpErrors(errors) => Some(&errors.target),
            FaultKind::GatewayFault(_) | FaultKind::Command(_) => None,
        }
    }
}

// === impl Target ===

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.replica {
            Some(n) => write!(f, "{}.{n}", self.upstream),
            None => f.write_str(&self.upstream),
        }
    }
}
