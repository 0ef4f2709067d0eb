//! Command-line argument types of the `chaos` binary (clap derive; no behavior lives here).
//!
//! Every flag has a `CHAOS_*` environment twin; a flag given on the command line wins over
//! its environment variable, which wins over the default.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::upstream::{ErrorRate, ErrorStatus, UpstreamName};

/// Exit codes, shared by the top-level and every subcommand's help.
const EXIT_CODES: &str = "\
Exit codes:
  0  success; for `upstream`, a clean stop on SIGTERM/SIGINT after draining
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

    /// More log output on stderr; repeat for more (-v debug, -vv trace).
    #[arg(short, long, action = ArgAction::Count, global = true, env = "CHAOS_VERBOSE",
          help_heading = "Logging")]
    pub(crate) verbose: u8,

    /// Less log output on stderr; repeat for less (-q warn, -qq error, -qqq nothing).
    #[arg(short, long, action = ArgAction::Count, global = true, env = "CHAOS_QUIET",
          help_heading = "Logging")]
    pub(crate) quiet: u8,
}

/// The subcommands; `run`, `validate`, `proxy` and `traces` join this enum.
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
    ///
    /// The echo gets hang, latency and the error rate; /healthz gets hang and latency;
    /// /_chaos/* is never affected.
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    Upstream(UpstreamArgs),
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
}

/// Parses a duration with a mandatory unit (`us`, `ms`, `s`, `m`, `h`): "250ms", "1.5s".
///
/// Bare numbers are rejected: "5" could mean seconds or milliseconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse::<config_yaml::units::Duration>()
        .map(config_yaml::units::Duration::get)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn upstream_args(args: &[&str]) -> Result<UpstreamArgs, clap::Error> {
        let argv = ["chaos", "upstream"].iter().chain(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Upstream(args) => args,
        })
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
}
