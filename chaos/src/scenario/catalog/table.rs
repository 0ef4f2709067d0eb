//! The rows of the fault-kind table: every kind's parameters, defaults, target requirement,
//! slot, observable effect and how it is applied.

use super::{Granularity, Kind, KindSpec, Param, ParamDefault, ParamType, Requirement, Slot};

const TARGET: Param = Param {
    name: "target",
    ty: ParamType::Target,
    default: ParamDefault::Required,
    doc: "which upstream; a bare name means all its replicas",
};
const THEN: Param = Param {
    name: "then",
    ty: ParamType::Then,
    default: ParamDefault::Value("restart"),
    doc: "when the window ends: `restart` on the same port, or `stay_down` until teardown",
};
const STREAM: Param = Param {
    name: "stream",
    ty: ParamType::Stream,
    default: ParamDefault::Value("downstream"),
    doc: "direction: downstream acts on responses, upstream on requests",
};
const TOXICITY: Param = Param {
    name: "toxicity",
    ty: ParamType::Percent,
    default: ParamDefault::Value("100%"),
    doc: "share of connections the toxic acts on (drawn per connection from the seed)",
};
const PERCENT_ALL: Param = Param {
    name: "percent",
    ty: ParamType::Percent,
    default: ParamDefault::Value("100%"),
    doc: "share of requests affected",
};

const fn millis(name: &'static str, default: ParamDefault, doc: &'static str) -> Param {
    Param {
        name,
        ty: ParamType::Duration(Granularity::Millis),
        default,
        doc,
    }
}

const ABORT: [Param; 2] = [
    Param {
        name: "status",
        ty: ParamType::Status { min: 200, max: 599 },
        default: ParamDefault::Required,
        doc: "status the gateway answers with instead of calling the upstream",
    },
    PERCENT_ALL,
];
const DELAY: [Param; 2] = [
    Param {
        name: "duration",
        ty: ParamType::Duration(Granularity::Millis),
        default: ParamDefault::Required,
        doc: "delay the gateway adds before calling the upstream",
    },
    PERCENT_ALL,
];

/// Defaults shared by the rows below.
const ROW: KindSpec = KindSpec {
    kind: Kind::Kill,
    summary: "",
    params: &[TARGET],
    needs_one_of: &[],
    requires: Requirement::SpawnedUpstream,
    slot: None,
    on_wire: "",
    mechanism: "",
};

/// The table, in the order of [`Kind`].
pub const KINDS: [KindSpec; 17] = [
    KindSpec {
        kind: Kind::Kill,
        summary: "kill the upstream process",
        params: &[TARGET, THEN],
        slot: Some(Slot::Process),
        on_wire: "connection refused (direct) / EOF (via proxy); restarted on the same port \
                  when the window ends",
        mechanism: "SIGKILL",
        ..ROW
    },
    KindSpec {
        kind: Kind::Terminate,
        summary: "stop the upstream process gracefully",
        params: &[TARGET, THEN],
        slot: Some(Slot::Process),
        on_wire: "graceful exit (in-flight requests drain), then as kill",
        mechanism: "SIGTERM",
        ..ROW
    },
    KindSpec {
        kind: Kind::Pause,
        summary: "freeze the upstream process",
        slot: Some(Slot::Process),
        on_wire: "connects, then hangs; resumes at the end",
        mechanism: "SIGSTOP, then SIGCONT",
        ..ROW
    },
    KindSpec {
        kind: Kind::Restart,
        summary: "kill the upstream and start it again at once",
        slot: Some(Slot::Process),
        on_wire: "connections drop, new ones are refused until it listens again (the window \
                  is the restart time)",
        mechanism: "SIGKILL, then spawn on the same port",
        ..ROW
    },
    KindSpec {
        kind: Kind::Latency,
        summary: "delay the data",
        params: &[
            TARGET,
            millis(
                "latency",
                ParamDefault::Required,
                "delay added to each chunk",
            ),
            millis(
                "jitter",
                ParamDefault::Value("0ms"),
                "random spread around `latency`",
            ),
            STREAM,
            TOXICITY,
        ],
        requires: Requirement::ProxiedUpstream,
        on_wire: "slow responses",
        mechanism: "toxic latency {latency: ms, jitter: ms}",
        ..ROW
    },
    KindSpec {
        kind: Kind::Bandwidth,
        summary: "limit the transfer rate",
        params: &[
            TARGET,
            Param {
                name: "rate_kbps",
                ty: ParamType::Integer {
                    min: 1,
                    unit: "KB/s",
                },
                default: ParamDefault::Required,
                doc: "bytes per second allowed, in KB (1000 bytes)",
            },
            STREAM,
            TOXICITY,
        ],
        requires: Requirement::ProxiedUpstream,
        on_wire: "slow transfer",
        mechanism: "toxic bandwidth {rate: KB/s}",
        ..ROW
    },
    KindSpec {
        kind: Kind::SlowClose,
        summary: "delay the close of connections",
        params: &[
            TARGET,
            millis(
                "delay",
                ParamDefault::Required,
                "delay before the close is passed on",
            ),
            STREAM,
            TOXICITY,
        ],
        requires: Requirement::ProxiedUpstream,
        on_wire: "delayed close",
        mechanism: "toxic slow_close {delay: ms}",
        ..ROW
    },
    KindSpec {
        kind: Kind::Blackhole,
        summary: "swallow the data",
        params: &[TARGET, STREAM, TOXICITY],
        requires: Requirement::ProxiedUpstream,
        on_wire: "data held until the window ends: requests hang",
        mechanism: "toxic timeout {timeout: 0}",
        ..ROW
    },
    KindSpec {
        kind: Kind::Timeout,
        summary: "stop the data, then close",
        params: &[
            TARGET,
            millis(
                "after",
                ParamDefault::Required,
                "time until the connection is closed",
            ),
            STREAM,
            TOXICITY,
        ],
        requires: Requirement::ProxiedUpstream,
        on_wire: "data stops, connection closed after `after`",
        mechanism: "toxic timeout {timeout: ms}",
        ..ROW
    },
    KindSpec {
        kind: Kind::ResetPeer,
        summary: "reset connections",
        params: &[
            TARGET,
            millis("after", ParamDefault::Value("0ms"), "time until the reset"),
            STREAM,
            TOXICITY,
        ],
        requires: Requirement::ProxiedUpstream,
        on_wire: "connection reset (TCP RST)",
        mechanism: "toxic reset_peer {timeout: ms}",
        ..ROW
    },
    KindSpec {
        kind: Kind::Slicer,
        summary: "fragment the data",
        params: &[
            TARGET,
            Param {
                name: "average_size",
                ty: ParamType::ByteSize,
                default: ParamDefault::Required,
                doc: "average size of the pieces",
            },
            Param {
                name: "size_variation",
                ty: ParamType::ByteSize,
                default: ParamDefault::Value("0B"),
                doc: "random spread of the piece size",
            },
            Param {
                name: "delay",
                ty: ParamType::Duration(Granularity::Micros),
                default: ParamDefault::Value("0us"),
                doc: "pause after each piece",
            },
            STREAM,
            TOXICITY,
        ],
        requires: Requirement::ProxiedUpstream,
        on_wire: "fragmented data",
        mechanism: "toxic slicer {average_size: bytes, size_variation: bytes, delay: us}",
        ..ROW
    },
    KindSpec {
        kind: Kind::LimitData,
        summary: "close connections after some bytes",
        params: &[
            TARGET,
            Param {
                name: "bytes",
                ty: ParamType::Integer {
                    min: 0,
                    unit: "bytes",
                },
                default: ParamDefault::Required,
                doc: "bytes let through per connection and direction",
            },
            STREAM,
            TOXICITY,
        ],
        requires: Requirement::ProxiedUpstream,
        on_wire: "truncated then closed",
        mechanism: "toxic limit_data {bytes: bytes}",
        ..ROW
    },
    KindSpec {
        kind: Kind::Refuse,
        summary: "stop accepting connections",
        requires: Requirement::ProxiedUpstream,
        slot: Some(Slot::Listener),
        on_wire: "the fault proxy stops listening: connection refused",
        mechanism: "proxy update {enabled: false}, then {enabled: true}",
        ..ROW
    },
    KindSpec {
        kind: Kind::Partition,
        summary: "cut the network between gateway and upstream",
        requires: Requirement::NetnsUpstream,
        slot: Some(Slot::Partition),
        on_wire: "packets dropped both ways: connects time out (a real partition)",
        mechanism: "nftables drop rules on the veth pair",
        ..ROW
    },
    KindSpec {
        kind: Kind::HttpErrors,
        summary: "answer requests with errors",
        params: &[
            TARGET,
            Param {
                name: "status",
                ty: ParamType::Status { min: 400, max: 599 },
                default: ParamDefault::Value("500"),
                doc: "status of the errors",
            },
            Param {
                name: "rate",
                ty: ParamType::Percent,
                default: ParamDefault::Value("100%"),
                doc: "share of requests answered with `status`",
            },
            Param {
                name: "latency",
                ty: ParamType::Duration(Granularity::Millis),
                default: ParamDefault::Unset,
                doc: "latency to set as well (left out: unchanged)",
            },
            Param {
                name: "hang",
                ty: ParamType::Bool,
                default: ParamDefault::Value("false"),
                doc: "hold requests unanswered instead",
            },
        ],
        requires: Requirement::BuiltinUpstream,
        slot: Some(Slot::Behaviour),
        on_wire: "per-request errors from `chaos upstream`",
        mechanism: "POST /_chaos/behavior {error_rate, error_status, latency, hang}; restored at \
                    the end",
        ..ROW
    },
    KindSpec {
        kind: Kind::GatewayFault,
        summary: "make the gateway's fault filter abort or delay requests",
        params: &[
            Param {
                name: "abort",
                ty: ParamType::Group(&ABORT),
                default: ParamDefault::Unset,
                doc: "answer without calling the upstream",
            },
            Param {
                name: "delay",
                ty: ParamType::Group(&DELAY),
                default: ParamDefault::Unset,
                doc: "wait before calling the upstream",
            },
        ],
        needs_one_of: &["abort", "delay"],
        requires: Requirement::Nothing,
        slot: Some(Slot::GatewayFilter),
        on_wire: "the gateway's fault filter, on routes with `fault: { header_control: true }`",
        mechanism: "request headers x-fault-abort-request(-percentage), \
                    x-fault-delay-request(-percentage) on every load request in the window",
    },
    KindSpec {
        kind: Kind::Command,
        summary: "run any program",
        params: &[
            Param {
                name: "start",
                ty: ParamType::Argv,
                default: ParamDefault::Required,
                doc: "program and arguments run at `at`",
            },
            Param {
                name: "stop",
                ty: ParamType::Argv,
                default: ParamDefault::Unset,
                doc: "program and arguments run when the window ends (and at teardown)",
            },
            Param {
                name: "timeout",
                ty: ParamType::Duration(Granularity::Any),
                default: ParamDefault::Value("30s"),
                doc: "longest time each program may run",
            },
        ],
        needs_one_of: &[],
        requires: Requirement::Nothing,
        slot: None,
        on_wire: "anything: output kept in the journal",
        mechanism: "runs `start` at `at` and `stop` at the end",
    },
];
