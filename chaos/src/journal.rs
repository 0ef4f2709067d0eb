//! The run journal: one JSON document per drill, every event on one monotonic timeline.
//!
//! Time base: every `*_us` field is a signed offset in microseconds from the start of the
//! load (`t = 0`), measured on the runner's monotonic clock; setup events have negative
//! offsets. [`RunInfo`] anchors the timeline to the wall clock (`load_started_at`, RFC 3339
//! and Unix microseconds), so offsets can be compared with span timestamps and metric samples.
//!
//! Shape (top-level keys): `format`, `scenario`, `versions`, `run`, `topology`, `timeline`
//! (every event, sorted), `faults` (planned and actual apply/undo per fault), `guards`,
//! `load` (summary, 100 ms intervals, per-request records in columns), `metrics` (scrape
//! times), `traces` (flush and settling), `errors`, and `verdicts`: left empty by the runner
//! for the objective evaluation to fill.
//!
//! [`Recorder`] collects timeline events while the run goes on (with monotonic instants) and
//! turns them into offsets once `t = 0` is known.

mod load;
mod recorder;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub use self::load::{IntervalRecord, LatencyRecord, LoadRecord, RecordColumns};
pub(crate) use self::recorder::{Recorder, TimeBase, micros};

/// Version of the journal's shape; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// One drill run.
#[derive(Debug, Clone, Serialize)]
pub struct Journal {
    /// [`FORMAT_VERSION`].
    pub format: u32,
    /// What was run.
    pub scenario: ScenarioInfo,
    /// Versions of the programs involved.
    pub versions: Versions,
    /// How the run went, with its wall-clock anchors.
    pub run: RunInfo,
    /// What was started (or attached to), with addresses, pids, proxies and namespaces.
    pub topology: TopologyRecord,
    /// Every event, sorted by time.
    pub timeline: Vec<Event>,
    /// Each fault of the scenario, planned and actual, in file order.
    pub faults: Vec<FaultRecord>,
    /// Each guard: how often it was checked, the worst value seen, and its breach.
    pub guards: Vec<GuardRecord>,
    /// The client side; `None` when the load never started.
    pub load: Option<LoadRecord>,
    /// The gateway's `/metrics` scrapes.
    pub metrics: MetricsRecord,
    /// Trace export and settling before the judging.
    pub traces: TracesRecord,
    /// Every error met, in order (also on the timeline).
    pub errors: Vec<String>,
    /// Objective verdicts, attached after the run by the evaluation (empty until then).
    pub verdicts: Vec<serde_json::Value>,
}

/// The scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: String,
    /// Its one-sentence description.
    pub description: String,
    /// The scenario file.
    pub file: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// The seed of every random draw.
    pub seed: u64,
    /// The load's planned duration, milliseconds.
    pub duration_ms: u64,
}

/// Program versions.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    /// This runner's version.
    pub chaos: String,
    /// `gateway --version`, when the runner started the gateway.
    pub gateway: Option<String>,
}

/// The run as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Names this run's namespaces and interfaces.
    pub run_id: String,
    /// The run folder (journal, logs, rendered gateway config).
    pub run_dir: String,
    /// Wall-clock start of the run (setup included).
    pub started_at: WallTime,
    /// Wall-clock time of `t = 0`; `None` when the load never started.
    pub load_started_at: Option<WallTime>,
    /// Offset of the run's start (negative: setup came first).
    pub started_us: i64,
    /// Offset of the end of teardown.
    pub ended_us: i64,
    /// `completed`, `aborted`, `interrupted` or `failed`.
    pub outcome: String,
    /// Why it did not complete, when it did not.
    pub reason: Option<String>,
    /// The exit code `chaos run` gives this outcome.
    pub exit_code: u8,
}

/// A wall-clock time, readable and exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WallTime {
    /// RFC 3339, UTC.
    pub rfc3339: WallText,
    /// Microseconds since the Unix epoch.
    pub unix_us: i64,
}

/// RFC 3339 text of a [`WallTime`] (kept as the instant, formatted when serialized).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallText(SystemTime);

/// What ran, and where.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TopologyRecord {
    /// The gateway; `None` when it never came up.
    pub gateway: Option<GatewayRecord>,
    /// Every upstream instance, by upstream then replica.
    pub upstreams: Vec<InstanceRecord>,
    /// The trace backend: OTLP and query base URLs, and whether it is the embedded one.
    pub traces: Option<BackendRecord>,
    /// The fault proxy's API, and whether it is the embedded one.
    pub fault_proxy: Option<BackendRecord>,
}

/// The gateway.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayRecord {
    /// Data-plane address.
    pub data: String,
    /// Admin address.
    pub admin: String,
    /// Its pid, when the runner started it.
    pub pid: Option<u32>,
    /// The rendered config file, when the runner started it.
    pub config: Option<String>,
}

/// One upstream instance.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRecord {
    /// Instance name (`NAME` or `NAME-N`).
    pub name: String,
    /// The upstream it belongs to.
    pub upstream: String,
    /// Its replica number.
    pub replica: u32,
    /// Where it listens.
    pub address: String,
    /// What the gateway uses to reach it (the proxy's or namespace's address).
    pub gateway_address: String,
    /// Its first pid, when the runner started it.
    pub pid: Option<u32>,
    /// Its fault-proxy proxy, with `via: proxy`.
    pub proxy: Option<String>,
    /// Its namespace, with `via: netns`.
    pub netns: Option<String>,
}

/// A backend (trace store, fault proxy).
#[derive(Debug, Clone, Serialize)]
pub struct BackendRecord {
    /// The runner's own, in-process one.
    pub embedded: bool,
    /// Base URL (the fault proxy's API, or the trace store's OTLP receiver).
    pub url: String,
    /// The trace query API, for a trace backend.
    pub query: Option<String>,
}

/// One event of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Offset from `t = 0`, microseconds (negative during setup).
    pub at_us: i64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What an [`Event`] records; serialized with an `event` tag.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A lifecycle step (setup, settling, teardown) finished.
    Step {
        /// What was done, e.g. `trace store up`.
        step: String,
        /// Details, e.g. an address.
        detail: String,
    },
    /// Something happened to a supervised process.
    Process {
        /// Its name.
        process: String,
        /// The pid acted on (the new one after a restart).
        pid: u32,
        /// `started`, `killed`, `terminated`, `paused`, `resumed`, `restarted`, `shut_down`.
        action: String,
        /// The last signal sent.
        signal: Option<String>,
        /// How it ended, for actions that end it.
        exit: Option<String>,
    },
    /// The load started (this event is `t = 0`) or finished.
    Load {
        /// `started` or `finished`.
        phase: String,
        /// Details: target, planned or recorded counts.
        detail: String,
    },
    /// A fault was applied or undone.
    Fault {
        /// Its name.
        fault: String,
        /// `applied`, `undone`, `held` (stays until teardown) or `failed`.
        phase: String,
        /// How late the action began after its planned time, microseconds.
        late_us: Option<i64>,
        /// How long the action took, microseconds.
        took_us: Option<i64>,
        /// The error, when it failed.
        error: Option<String>,
    },
    /// A guard was breached.
    Guard {
        /// Its name.
        guard: String,
        /// The measured value, as text (`63.2%`, `p(99) = 2.4s`).
        measured: String,
    },
    /// The run was asked to stop.
    Stop {
        /// Why: a guard, a signal, a failed fault.
        reason: String,
    },
    /// An error.
    Error {
        /// The message with its cause chain.
        message: String,
    },
}

/// One fault, planned and actual.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRecord {
    /// Its name.
    pub name: String,
    /// Its kind (`kill`, `latency`, ...).
    pub kind: String,
    /// Its target, if it has one.
    pub target: Option<String>,
    /// Planned apply time.
    pub planned_start_us: i64,
    /// Planned undo time.
    pub planned_end_us: i64,
    /// When it was applied; `None` when it never was.
    pub applied: Option<ActionRecord>,
    /// When it was undone; `None` when it never was (or held to the end).
    pub undone: Option<ActionRecord>,
    /// Whether the undo ran at teardown rather than at the window's end.
    pub undone_at_teardown: bool,
    /// Why applying or undoing it failed.
    pub error: Option<String>,
    /// Programs a `command` fault ran, with their output.
    pub commands: Vec<CommandRecord>,
}

/// One timed action (apply, undo).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ActionRecord {
    /// When the runner began the action.
    pub began_us: i64,
    /// When the action was complete (the fault in place, or gone).
    pub done_us: i64,
    /// `began - planned` (negative: early).
    pub late_us: i64,
}

/// One program run by a `command` fault.
#[derive(Debug, Clone, Serialize)]
pub struct CommandRecord {
    /// `start`, `stop` or `teardown`.
    pub phase: String,
    /// The program and arguments, placeholders replaced.
    pub argv: Vec<String>,
    /// Its exit code; `None` when it was killed or could not start.
    pub exit_code: Option<i32>,
    /// Whether it ran past the fault's `timeout` and was killed.
    pub timed_out: bool,
    /// What it printed on stdout (at most 64 KiB).
    pub stdout: String,
    /// What it printed on stderr (at most 64 KiB).
    pub stderr: String,
    /// How long it ran, microseconds.
    pub took_us: i64,
}

/// One guard.
#[derive(Debug, Clone, Serialize)]
pub struct GuardRecord {
    /// Its name.
    pub name: String,
    /// The breach condition as written (`errors > 50%`).
    pub condition: String,
    /// Sliding window, milliseconds.
    pub window_ms: u64,
    /// Checked from this offset on, milliseconds.
    pub after_ms: u64,
    /// Checks made (every 100 ms).
    pub checks: u64,
    /// The value furthest towards a breach, as text.
    pub worst: Option<String>,
    /// The breach, if any.
    pub breach: Option<BreachRecord>,
}

/// A guard's breach.
#[derive(Debug, Clone, Serialize)]
pub struct BreachRecord {
    /// When it was seen.
    pub at_us: i64,
    /// The measured value, as text.
    pub measured: String,
    /// Requests in the window.
    pub samples: u64,
}

/// The gateway's `/metrics` scrapes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MetricsRecord {
    /// The scraped URL; `None` when there was no gateway admin address.
    pub url: Option<String>,
    /// When each successful scrape completed.
    pub scraped_us: Vec<i64>,
    /// Failed scrapes (the first few errors are on the timeline).
    pub failures: u64,
    /// A Prometheus to query, when the scenario names one.
    pub prometheus: Option<String>,
}

/// Trace export and settling.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TracesRecord {
    /// Whether `POST /admin/telemetry/flush` answered 2xx.
    pub flushed: bool,
    /// The flush's answer (the gateway's export counters), if any.
    pub flush_answer: Option<serde_json::Value>,
    /// Whether the span count stopped growing before the bound; `None` for an external
    /// backend (its count cannot be watched).
    pub settled: Option<bool>,
    /// Spans stored when settling ended (embedded store).
    pub spans: Option<u64>,
    /// How long settling took, milliseconds.
    pub waited_ms: u64,
}

// === impl WallTime ===

impl WallTime {
    /// The wall-clock time `at`.
    pub fn of(at: SystemTime) -> WallTime {
        let unix_us = match at.duration_since(UNIX_EPOCH) {
            Ok(after) => micros(after),
            Err(before) => -micros(before.duration()),
        };
        WallTime {
            rfc3339: WallText(at),
            unix_us,
        }
    }
}

impl Serialize for WallText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = time::OffsetDateTime::from(self.0)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn wall_time_serializes_as_rfc3339_and_unix_micros() {
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let json = serde_json::to_value(WallTime::of(at)).unwrap();
        assert_eq!(json["unix_us"], 1_700_000_000_123_456_i64);
        assert_eq!(json["rfc3339"], "2023-11-14T22:13:20.123456Z");
    }
}
