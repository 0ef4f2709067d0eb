//! Command-line arguments of the `gateway` binary (clap types only).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use observability::logging::LogFormat;

/// A production HTTP API gateway.
///
/// Exit codes: 0 success (a clean shutdown, or a valid config for `validate`); 1 the gateway
/// could not run (a listener could not be bound, ...); 2 invalid command line or config.
#[derive(Debug, Parser)]
#[command(name = "gateway", version, about, long_about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    /// Log line format: `json` or `pretty`.
    #[arg(long, global = true, env = "GATEWAY_LOG_FORMAT", default_value = "pretty", value_parser = parse_format)]
    pub(crate) log_format: LogFormat,

    /// Log filter in RUST_LOG syntax (RUST_LOG, when set, takes precedence).
    #[arg(long, global = true, env = "GATEWAY_LOG", default_value = "info")]
    pub(crate) log: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the gateway.
    ///
    /// Prints one line `listening data=ADDR admin=ADDR` on stdout once both listeners are bound
    /// (with the real ports when the config says port 0). SIGHUP or a change of the file
    /// reloads the config; SIGTERM or SIGINT stops accepting and drains in-flight requests
    /// for up to `shutdown.drain_timeout`, then exits 0.
    Run {
        /// The config file (YAML).
        #[arg(long, short, env = "GATEWAY_CONFIG")]
        config: PathBuf,

        /// Worker threads serving requests (default: one per CPU).
        #[arg(long, env = "GATEWAY_WORKER_THREADS")]
        worker_threads: Option<std::num::NonZeroUsize>,
    },
    /// Check a config file without running it.
    ///
    /// Prints every problem, one per line as FILE:LINE:COL: PATH: PROBLEM (got VALUE; expected
    /// ALLOWED), and exits 2 if there is any, else prints `ok` and exits 0.
    Validate {
        /// The config file (YAML).
        #[arg(long, short, env = "GATEWAY_CONFIG")]
        config: PathBuf,
    },
}

fn parse_format(s: &str) -> Result<LogFormat, String> {
    s.parse()
}
