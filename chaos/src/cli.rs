//! Command-line argument types of the `chaos` binary (clap derive; no behavior lives here).
//!
//! Every flag has a `CHAOS_*` environment twin; a flag given on the command line wins over
//! its environment variable, which wins over the default.

use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::report::ColorChoice;
use crate::upstream::{
    ErrorRate, ErrorStatus, OtlpEndpoint, SamplingRatio, UpstreamName, ViaAddress,
};

/// Exit codes, shared by the top-level and every subcommand's help.
const EXIT_CODES: &str = "\
Exit codes:
  0  success; for `upstream` and `traces`, a clean stop on SIGTERM/SIGINT after draining
  2  usage error or invalid input (unknown flag, malformed value)
  3  environment failure (e.g. the listen address cannot be bound)";

/// Failure drills for HTTP gateways, and the demo upstream they drive.
///
/// Logs go to stderr; results go to stdout.
#[derive(Debug, Parser)]
#[command(name = "chaos", version, after_help = EXIT_CODES, propagate_version = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,

    /// More log output on stderr; repeat for more (-v debug, -vv trace; for `run`, which
    /// starts at warn: -v info, -vv debug).
    #[arg(short, long, action = ArgAction::Count, global = true, env = "CHAOS_VERBOSE",
          help_heading = "Logging")]
    pub(crate) verbose: u8,

    /// Less log output on stderr; repeat for less (-q warn, -qq error, -qqq nothing).
    #[arg(short, long, action = ArgAction::Count, global = true, env = "CHAOS_QUIET",
          help_heading = "Logging")]
    pub(crate) quiet: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the demo upstream: echoes every request as JSON, misbehaves on demand.
    ///
    /// Serves HTTP/1.1 and HTTP/2 (cleartext, prior knowledge) on one port. The first
    /// stdout line is `listening on ADDR:PORT` with the port actually bound; logs go to
    /// stderr. SIGTERM/SIGINT stop accepting, drain in-flight requests, and exit 0.
    ///
    /// Routes (every response carries `x-upstream: NAME`):
    ///   any method, any path         200 JSON echo: upstream, method, path, query,
    ///                                headers, body_bytes
    ///   GET /healthz                 200 {"status":"ok"} or 503 {"status":"unhealthy"}
    ///   GET /_chaos/behavior         the current behavior as JSON
    ///   POST /_chaos/behavior        partial update, e.g. {"error_rate":0.3};
    ///                                fields: latency ("5ms"), error_rate (0.0..=1.0),
    ///                                error_status (400..=599), hang, healthy (booleans)
    ///   GET /_chaos/download?bytes=N streams N bytes (byte i is i mod 256)
    ///   POST /_chaos/callbacks       body [{"url":"http://host:port/path","arguments":[...]}]
    ///                                (at most 32): POSTs each arguments array as JSON to
    ///                                its url, in order, then answers 200 with a summary
    ///                                (status or error per callback); 400 if invalid
    ///
    /// The echo gets hang, latency and the error rate; /healthz gets hang and latency;
    /// /_chaos/* is never affected.
    ///
    /// Tracing: every request except /_chaos/behavior gets a SERVER span "upstream.request"
    /// (service.name = --name) continuing the incoming W3C traceparent: its sampled flag is
    /// honoured, and a missing or invalid one starts a new trace, sampled at
    /// --sampling-ratio. Each callback is a CLIENT span "upstream.callback" whose context
    /// goes out in traceparent, with the incoming tracestate passed on unchanged.
    /// Spans are exported over OTLP/HTTP to --otlp, else to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    /// or OTEL_EXPORTER_OTLP_ENDPOINT; with none set nothing is exported (context still
    /// propagates). On SIGTERM/SIGINT, spans are flushed after the drain, before exiting.
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    Upstream(UpstreamArgs),

    /// Run the embedded trace backend: OTLP/HTTP in, Jaeger's query API out.
    ///
    /// Listens on Jaeger's default ports, so exporters and query clients set up for a real
    /// Jaeger work unchanged. The first stdout line is `listening otlp=ADDR query=ADDR` with
    /// the ports actually bound; logs go to stderr. SIGTERM/SIGINT stop both listeners,
    /// drain in-flight requests, and exit 0.
    ///
    /// OTLP listener:
    ///   POST /v1/traces               application/x-protobuf or application/json (OTLP/JSON),
    ///                                 optionally Content-Encoding: gzip, at most 64 MiB;
    ///                                 200, or 400/405/413/415 as in the OTLP/HTTP spec
    /// Query listener (Jaeger's JSON shapes and error messages):
    ///   GET /api/services             GET /api/services/{service}/operations
    ///   GET /api/operations?service=&spanKind=
    ///   GET /api/traces?service=&operation=&tag=k:v&tags={json}&start=&end=(µs)
    ///                  &minDuration=&maxDuration=&limit=    or  ?traceID=...
    ///   GET /api/traces/{traceID}
    ///   GET /api/v3/services          GET /api/v3/operations?service=&spanKind=
    ///   GET /api/v3/traces?query.service_name=&query.operation_name=&query.attributes=
    ///                     &query.start_time_min=&query.start_time_max=(RFC 3339)
    ///                     &query.duration_min=&query.duration_max=&query.search_depth=
    ///   GET /api/v3/traces/{trace_id}
    ///
    /// When --max-spans or --max-bytes is exceeded, whole traces are evicted, oldest first.
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    Traces(TracesArgs),

    /// Serve the fault proxy: TCP proxies with toxics, driven by Toxiproxy's REST API.
    ///
    /// Speaks Toxiproxy 2.12's API, so toxiproxy-cli and Toxiproxy client libraries work
    /// unchanged. The first stdout line is `listening on ADDR:PORT` with the API port
    /// actually bound; logs go to stderr. SIGTERM/SIGINT stop the API, close every proxy's
    /// listener and every proxied connection, and exit 0.
    ///
    /// Routes (JSON; errors are {"error":"...","status":N}):
    ///   GET /proxies                  POST /proxies (201)          POST /populate (201)
    ///   GET|POST|PATCH|DELETE /proxies/{proxy}
    ///   GET|POST /proxies/{proxy}/toxics
    ///   GET|POST|PATCH|DELETE /proxies/{proxy}/toxics/{toxic}
    ///   POST /reset (204)             GET /version
    /// Toxics: latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, noop.
    ///
    /// Toxicity draws, latency jitter and slicer sizes come from --seed: each connection's
    /// draws derive from (seed, proxy name, connection number, direction), so the n-th
    /// connection of a proxy gets the same decisions on every run.
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    Proxy(ProxyArgs),

    /// Run failure drills: bring the system up, drive load, inject faults, always clean up,
    /// then judge the objectives.
    ///
    /// FILE is a scenario; DIR stands for every *.yaml file directly in it, run one after
    /// the other in name order, each in its own run folder. Every scenario is validated
    /// first: any problem is printed as `FILE:LINE:COL: field.path: problem` and nothing
    /// starts (exit 2).
    ///
    /// A run: run folder (default target/chaos-runs/NAME-TIMESTAMP) -> preflight (network
    /// namespaces need Linux, root, `ip` and `nft`) -> trace backend -> fault proxy ->
    /// upstreams -> gateway (template rendered into the run folder, /readyz awaited) ->
    /// load with the fault timeline and guards -> trace flush -> teardown -> verdicts.
    /// Each run prints `completed|aborted|interrupted|failed: NAME: ...`, then one line per
    /// objective (pass, fail or inconclusive: measured vs expected, window, why) and a
    /// summary line. It writes RUN_DIR/journal.json (every event on one timeline, offsets
    /// in µs from the load's start, plus the verdicts) and RUN_DIR/report.html.
    ///
    /// Teardown always runs: faults undone, processes stopped, proxies removed, namespaces
    /// and nftables tables deleted. SIGINT/SIGTERM stop the drill and tear down; a second
    /// signal tears down at once. Progress goes to stderr (off with -q); so do logs, at
    /// warning level unless -v is given.
    #[command(after_help = RUN_EXIT_CODES, verbatim_doc_comment)]
    Run(RunArgs),

    /// Check scenario files without running them.
    ///
    /// Runs the same validation `chaos run` does before starting anything: the YAML, every
    /// key and value, references (faults, upstreams, replicas, placeholders of the gateway
    /// config template), the timeline and thresholds. Prints `ok: FILE` for a valid file,
    /// else every problem, one per line, as
    /// `FILE:LINE:COL: field.path: problem (got VALUE; expected ...)`.
    /// A folder stands for every *.yaml file directly in it, in name order. With several
    /// files, a last line counts them: `N valid, M invalid`.
    /// Exits 0 when every file is valid, 2 otherwise.
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    Validate(ValidateArgs),

    /// Print every fault kind with its parameters, defaults and on-wire effect.
    ///
    /// Generated from the table `chaos validate` checks scenarios against.
    #[command(after_help = EXIT_CODES, visible_alias = "list-faults")]
    List(ListArgs),
}

/// Exit codes of `chaos run`.
const RUN_EXIT_CODES: &str = "\
Exit codes (over several drills: 1 if any drill gives 1, else 3 if any gives 3, else 0):
  0  every objective passed (a drill without objectives: it ran to its end)
  1  an objective failed, or a guard stopped the drill (everything was undone)
  2  usage error or invalid scenario (every problem printed as FILE:LINE:COL: ...)
  3  no objective failed but one was inconclusive (evidence missing), or the drill itself
     failed: something could not start, preflight failed, a fault could not be applied or
     undone, teardown incomplete, or the run was interrupted";

/// Arguments of `chaos run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// A scenario file, or a folder of them.
    #[arg(value_name = "FILE|DIR")]
    pub(crate) path: PathBuf,

    /// Run folder: journal, logs, rendered gateway config [default:
    /// target/chaos-runs/NAME-TIMESTAMP]. With a folder of scenarios, each runs in DIR/NAME.
    #[arg(long, env = "CHAOS_RUN_DIR", value_name = "DIR")]
    pub(crate) run_dir: Option<PathBuf>,

    /// Also write the journal with its verdicts to FILE (a JSON array of journals for a
    /// folder of scenarios).
    #[arg(long, env = "CHAOS_RUN_JSON", value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,

    /// Run only the scenarios carrying this tag (repeat for any of several); the others are
    /// listed as skipped. It is an error (exit 2) when no scenario has any of them.
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,

    /// Print the plan (topology, timeline, guards) and exit 0 without starting anything.
    #[arg(long, env = "CHAOS_RUN_DRY_RUN")]
    pub(crate) dry_run: bool,

    /// Gateway binary to run, overriding the scenario's `binary` [default: the scenario's,
    /// else `gateway` next to the chaos binary, else on PATH].
    #[arg(long, env = "CHAOS_GATEWAY_BINARY", value_name = "PATH")]
    pub(crate) gateway_binary: Option<PathBuf>,

    /// Write a JUnit XML report to FILE: one testsuite per scenario, one testcase per
    /// objective (failures say measured vs expected; inconclusive objectives are errors).
    #[arg(long, env = "CHAOS_RUN_JUNIT", value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,

    /// Also write the HTML report (timeline chart and objective table) to FILE; with a
    /// folder of scenarios, to FILE's stem + `-NAME.html` for each. Every run also writes
    /// RUN_DIR/report.html.
    #[arg(long, env = "CHAOS_RUN_HTML", value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,

    /// Colour the terminal report: auto (a terminal, without NO_COLOR, TERM not dumb),
    /// always or never.
    #[arg(long, env = "CHAOS_COLOR", value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
}

/// Arguments of `chaos validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Scenario files, or folders of them.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub(crate) paths: Vec<PathBuf>,
}

/// Flags of `chaos list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Output format: aligned text, or one JSON array.
    #[arg(long, env = "CHAOS_LIST_FORMAT", value_enum, default_value_t = ListFormat::Text)]
    pub(crate) format: ListFormat,
}

/// Output format of `chaos list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ListFormat {
    /// Aligned text.
    Text,
    /// A JSON array, one object per fault kind.
    Json,
}

/// Flags of `chaos upstream`.
#[derive(Debug, Args)]
pub(crate) struct UpstreamArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "CHAOS_UPSTREAM_LISTEN", default_value = "127.0.0.1:0")]
    pub(crate) listen: SocketAddr,

    /// Name reported in the `x-upstream` header and in every JSON body.
    ///
    /// 1 to 64 characters from A-Z a-z 0-9 . _ -
    #[arg(long, env = "CHAOS_UPSTREAM_NAME")]
    pub(crate) name: UpstreamName,

    /// Initial delay added before answering, with a unit: "5ms", "2s".
    #[arg(long, env = "CHAOS_UPSTREAM_LATENCY", default_value = "0ms", value_parser = parse_duration)]
    pub(crate) latency: Duration,

    /// Initial fraction of requests answered with --error-status, from 0.0 to 1.0.
    #[arg(long, env = "CHAOS_UPSTREAM_ERROR_RATE", default_value = "0.0")]
    pub(crate) error_rate: ErrorRate,

    /// Status of injected errors, from 400 to 599.
    #[arg(long, env = "CHAOS_UPSTREAM_ERROR_STATUS", default_value = "500")]
    pub(crate) error_status: ErrorStatus,

    /// Seed of the error-rate draws [default: FNV-1a hash of --name].
    ///
    /// One draw per affected request, in arrival order, so the same seed and the same
    /// request sequence give the same failures.
    #[arg(long, env = "CHAOS_UPSTREAM_SEED")]
    pub(crate) seed: Option<u64>,

    /// Longest wait for in-flight requests after SIGTERM/SIGINT, with a unit: "5s".
    #[arg(
        long,
        env = "CHAOS_UPSTREAM_DRAIN_TIMEOUT",
        default_value = "5s",
        value_parser = parse_duration
    )]
    pub(crate) drain_timeout: Duration,

    /// OTLP/HTTP collector to export spans to, e.g. http://127.0.0.1:4318.
    ///
    /// A base URL gets /v1/traces appended; a URL already ending in /v1/traces is kept.
    /// Without it, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or
    /// OTEL_EXPORTER_OTLP_ENDPOINT (base URL) apply; with none of them, no span is exported.
    #[arg(
        long,
        env = "CHAOS_UPSTREAM_OTLP",
        value_name = "URL",
        help_heading = "Tracing"
    )]
    pub(crate) otlp: Option<OtlpEndpoint>,

    /// Longest time a finished span waits before export, with a unit: "200ms".
    #[arg(
        long,
        env = "CHAOS_UPSTREAM_OTLP_INTERVAL",
        default_value = "200ms",
        value_parser = parse_positive_duration,
        help_heading = "Tracing"
    )]
    pub(crate) otlp_interval: Duration,

    /// Share of new traces to sample, 0.0 to 1.0 [default: from OTEL_TRACES_SAMPLER, else 1.0].
    ///
    /// Applies only to traces started here (no valid incoming traceparent); an incoming
    /// sampled flag is always followed.
    #[arg(
        long,
        env = "CHAOS_UPSTREAM_SAMPLING_RATIO",
        value_name = "RATIO",
        help_heading = "Tracing"
    )]
    pub(crate) sampling_ratio: Option<SamplingRatio>,

    /// Send /_chaos/callbacks requests through this HTTP reverse proxy (the gateway).
    ///
    /// Connects to HOST:PORT and sends "POST /path?query HTTP/1.1" with the callback URL's
    /// host and port as Host, so the gateway routes the callback like any client request.
    /// This is not forward-proxy mode (no absolute-form, no CONNECT).
    /// [default: POST straight to each callback URL]
    #[arg(
        long,
        env = "CHAOS_UPSTREAM_VIA",
        value_name = "HOST:PORT",
        help_heading = "Callbacks"
    )]
    pub(crate) via: Option<ViaAddress>,

    /// Longest time one callback may take, connect to end of answer, with a unit: "5s".
    #[arg(
        long,
        env = "CHAOS_UPSTREAM_CALLBACK_TIMEOUT",
        default_value = "5s",
        value_parser = parse_positive_duration,
        help_heading = "Callbacks"
    )]
    pub(crate) callback_timeout: Duration,
}

/// Flags of `chaos traces`.
#[derive(Debug, Args)]
pub(crate) struct TracesArgs {
    /// Address of the OTLP/HTTP receiver; port 0 picks a free port.
    #[arg(
        long,
        env = "CHAOS_TRACES_OTLP_LISTEN",
        default_value = "127.0.0.1:4318"
    )]
    pub(crate) otlp_listen: SocketAddr,

    /// Address of the Jaeger query API (v1 and v3); port 0 picks a free port.
    #[arg(
        long,
        env = "CHAOS_TRACES_QUERY_LISTEN",
        default_value = "127.0.0.1:16686"
    )]
    pub(crate) query_listen: SocketAddr,

    /// Most spans kept (at least 1); beyond it the oldest whole traces are evicted.
    #[arg(long, env = "CHAOS_TRACES_MAX_SPANS", default_value = "1000000")]
    pub(crate) max_spans: NonZeroUsize,

    /// Most span bytes kept, with a unit: "512MiB", "1GiB"; beyond it the oldest whole
    /// traces are evicted. A span counts its protobuf size plus 160 bytes of bookkeeping.
    #[arg(
        long,
        env = "CHAOS_TRACES_MAX_BYTES",
        default_value = "1GiB",
        value_parser = parse_nonzero_byte_size
    )]
    pub(crate) max_bytes: NonZeroU64,
}

/// Flags of `chaos proxy`.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// Address of the REST API (Toxiproxy's default port); port 0 picks a free port.
    #[arg(long, env = "CHAOS_PROXY_LISTEN", default_value = "127.0.0.1:8474")]
    pub(crate) listen: SocketAddr,

    /// Seed of every random draw (toxicity, jitter, slicer sizes).
    #[arg(long, env = "CHAOS_PROXY_SEED", default_value = "0")]
    pub(crate) seed: u64,
}

/// Parses a non-zero byte size with a mandatory unit: "64KiB", "1GB".
pub(crate) fn parse_nonzero_byte_size(text: &str) -> Result<NonZeroU64, String> {
    let size = text
        .parse::<config_yaml::units::ByteSize>()
        .map_err(|e| e.to_string())?;
    NonZeroU64::new(size.bytes())
        .ok_or_else(|| format!("size must be greater than zero, got {text:?}"))
}

/// Parses a duration with a mandatory unit (`us`, `ms`, `s`, `m`, `h`): "250ms", "1.5s".
///
/// Bare numbers are rejected: "5" could mean seconds or milliseconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse::<config_yaml::units::Duration>()
        .map(config_yaml::units::Duration::get)
        .map_err(|e| e.to_string())
}

/// Like [`parse_duration`], and zero is rejected too (an interval or a timeout of zero would
/// spin or fail everything).
pub(crate) fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!("duration must be greater than zero, got {text:?}")),
        duration => Ok(duration),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn upstream_args(args: &[&str]) -> Result<UpstreamArgs, clap::Error> {
        let argv = ["chaos", "upstream"].iter().chain(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Upstream(args) => args,
            other => panic!("parsed as {other:?}"),
        })
    }

    fn traces_args(args: &[&str]) -> Result<TracesArgs, clap::Error> {
        let argv = ["chaos", "traces"].iter().chain(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Traces(args) => args,
            other => panic!("parsed as {other:?}"),
        })
    }

    fn proxy_args(args: &[&str]) -> Result<ProxyArgs, clap::Error> {
        let argv = ["chaos", "proxy"].iter().chain(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Proxy(args) => args,
            other => panic!("parsed as {other:?}"),
        })
    }

    #[test]
    fn proxy_args_default_to_toxiproxys_port_and_seed_zero() {
        let args = proxy_args(&[]).unwrap();
        assert_eq!(args.listen, "127.0.0.1:8474".parse().unwrap());
        assert_eq!(args.seed, 0);
        let args = proxy_args(&["--listen", "0.0.0.0:0", "--seed", "42"]).unwrap();
        assert_eq!(args.listen, "0.0.0.0:0".parse().unwrap());
        assert_eq!(args.seed, 42);
        for bad in [["--seed", "x"], ["--listen", "8474"]] {
            let err = proxy_args(&bad).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad:?}"
            );
        }
    }

    fn run_args(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let argv = ["chaos", "run"].iter().chain(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Run(args) => args,
            other => panic!("parsed as {other:?}"),
        })
    }

    #[test]
    fn run_args_default_to_no_overrides_and_require_a_path() {
        let args = run_args(&["scenarios/kill.yaml"]).unwrap();
        assert_eq!(args.path, PathBuf::from("scenarios/kill.yaml"));
        assert_eq!(args.run_dir, None);
        assert_eq!(args.json, None);
        assert!(!args.dry_run);
        assert_eq!(args.gateway_binary, None);
        let err = run_args(&[]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn run_args_with_flags_take_their_values() {
        let args = run_args(&[
            "scenarios",
            "--run-dir",
            "/tmp/r",
            "--json",
            "out.json",
            "--dry-run",
            "--gateway-binary",
            "./gw",
        ])
        .unwrap();
        assert_eq!(args.path, PathBuf::from("scenarios"));
        assert_eq!(args.run_dir, Some(PathBuf::from("/tmp/r")));
        assert_eq!(args.json, Some(PathBuf::from("out.json")));
        assert!(args.dry_run);
        assert_eq!(args.gateway_binary, Some(PathBuf::from("./gw")));
        let err = run_args(&["a.yaml", "--dry-run=maybe"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn validate_args_take_files_and_folders_and_require_one() {
        let cli = Cli::try_parse_from(["chaos", "validate", "a.yaml", "dir"]).unwrap();
        let Command::Validate(args) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.paths, [PathBuf::from("a.yaml"), PathBuf::from("dir")]);
        let err = Cli::try_parse_from(["chaos", "validate"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn list_args_default_to_text_and_take_json() {
        let format = |argv: &[&str]| match Cli::try_parse_from(argv).map(|cli| cli.command) {
            Ok(Command::List(args)) => Ok(args.format),
            Ok(other) => panic!("parsed as {other:?}"),
            Err(err) => Err(err.kind()),
        };
        assert_eq!(format(&["chaos", "list"]), Ok(ListFormat::Text));
        assert_eq!(
            format(&["chaos", "list", "--format", "json"]),
            Ok(ListFormat::Json)
        );
        assert_eq!(format(&["chaos", "list-faults"]), Ok(ListFormat::Text));
        assert_eq!(
            format(&["chaos", "list", "--format", "yaml"]),
            Err(clap::error::ErrorKind::InvalidValue)
        );
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parse_duration_with_unit_is_accepted() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
    }

    #[test]
    fn parse_duration_without_unit_is_rejected() {
        let err = parse_duration("5").unwrap_err();
        assert!(err.contains("missing unit"), "{err}");
    }

    #[test]
    fn parse_duration_with_unknown_unit_or_no_number_is_rejected() {
        assert!(parse_duration("5d").unwrap_err().contains("unit"));
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("-5ms").is_err());
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn upstream_args_without_flags_use_defaults() {
        let args = upstream_args(&["--name", "users"]).unwrap();
        assert_eq!(args.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(args.name.as_str(), "users");
        assert_eq!(args.latency, Duration::ZERO);
        assert_eq!(args.error_rate.get(), 0.0);
        assert_eq!(args.error_status.get().as_u16(), 500);
        assert_eq!(args.seed, None);
        assert_eq!(args.drain_timeout, Duration::from_secs(5));
        assert_eq!(args.otlp, None);
        assert_eq!(args.otlp_interval, Duration::from_millis(200));
        assert_eq!(args.sampling_ratio, None);
        assert_eq!(args.via, None);
        assert_eq!(args.callback_timeout, Duration::from_secs(5));
    }

    #[test]
    fn upstream_tracing_and_callback_flags_take_their_values() {
        let args = upstream_args(&[
            "--name",
            "a",
            "--otlp",
            "http://127.0.0.1:4318",
            "--otlp-interval",
            "1s",
            "--sampling-ratio",
            "0.25",
            "--via",
            "gateway:8080",
            "--callback-timeout",
            "250ms",
        ])
        .unwrap();
        assert_eq!(args.otlp.unwrap().to_string(), "http://127.0.0.1:4318");
        assert_eq!(args.otlp_interval, Duration::from_secs(1));
        assert_eq!(args.sampling_ratio.unwrap().get(), 0.25);
        assert_eq!(args.via.unwrap().as_str(), "gateway:8080");
        assert_eq!(args.callback_timeout, Duration::from_millis(250));
    }

    #[test]
    fn parse_positive_duration_rejects_zero_and_bare_numbers() {
        assert_eq!(
            parse_positive_duration("200ms"),
            Ok(Duration::from_millis(200))
        );
        assert!(
            parse_positive_duration("0ms")
                .unwrap_err()
                .contains("greater than zero")
        );
        assert!(
            parse_positive_duration("5")
                .unwrap_err()
                .contains("missing unit")
        );
    }

    #[test]
    fn upstream_args_with_flags_take_their_values() {
        let args = upstream_args(&[
            "--name",
            "a",
            "--listen",
            "127.0.0.1:9101",
            "--latency",
            "5ms",
            "--error-rate",
            "0.25",
            "--error-status",
            "503",
            "--seed",
            "7",
            "--drain-timeout",
            "1s",
        ])
        .unwrap();
        assert_eq!(args.listen, "127.0.0.1:9101".parse().unwrap());
        assert_eq!(args.latency, Duration::from_millis(5));
        assert_eq!(args.error_rate.get(), 0.25);
        assert_eq!(args.error_status.get().as_u16(), 503);
        assert_eq!(args.seed, Some(7));
        assert_eq!(args.drain_timeout, Duration::from_secs(1));
    }

    #[test]
    fn upstream_args_with_invalid_values_are_usage_errors() {
        for bad in [
            ["--name", "a", "--latency", "5"],
            ["--name", "a", "--error-rate", "1.5"],
            ["--name", "a", "--error-status", "200"],
            ["--name", "a", "--drain-timeout", "1"],
            ["--name", "has space", "--seed", "1"],
            ["--name", "a", "--otlp", "127.0.0.1:4318"],
            ["--name", "a", "--otlp-interval", "0s"],
            ["--name", "a", "--sampling-ratio", "2"],
            ["--name", "a", "--via", "gateway"],
            ["--name", "a", "--callback-timeout", "0ms"],
        ] {
            let err = upstream_args(&bad).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad:?}"
            );
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn upstream_args_without_name_are_usage_errors() {
        let err = upstream_args(&[]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn traces_args_without_flags_use_jaegers_ports_and_default_limits() {
        let args = traces_args(&[]).unwrap();
        assert_eq!(args.otlp_listen, "127.0.0.1:4318".parse().unwrap());
        assert_eq!(args.query_listen, "127.0.0.1:16686".parse().unwrap());
        assert_eq!(args.max_spans.get(), 1_000_000);
        assert_eq!(args.max_bytes.get(), 1 << 30);
    }

    #[test]
    fn traces_args_with_flags_take_their_values() {
        let args = traces_args(&[
            "--otlp-listen",
            "127.0.0.1:0",
            "--query-listen",
            "0.0.0.0:9999",
            "--max-spans",
            "500",
            "--max-bytes",
            "64MiB",
        ])
        .unwrap();
        assert_eq!(args.otlp_listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(args.query_listen, "0.0.0.0:9999".parse().unwrap());
        assert_eq!(args.max_spans.get(), 500);
        assert_eq!(args.max_bytes.get(), 64 << 20);
    }

    #[test]
    fn traces_args_with_invalid_values_are_usage_errors() {
        for bad in [
            ["--max-spans", "0"],
            ["--max-spans", "many"],
            ["--max-bytes", "0B"],
            ["--max-bytes", "1024"],
            ["--otlp-listen", "localhost"],
        ] {
            let err = traces_args(&bad).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad:?}"
            );
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }
}
