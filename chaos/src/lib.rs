//! Failure drills for HTTP gateways, and the demo upstream they drive.
//!
//! The `chaos` binary is a thin shell around [`run_cli`]. Components:
//!
//! - `cli`: clap argument types, one variant per subcommand (`upstream` and `traces` today;
//!   `run`, `validate` and `proxy` slot into the same enum).
//! - `upstream`: `chaos upstream`, an HTTP/1.1 + h2c echo server whose behavior (latency,
//!   error rate, hang, health) is switched at run time through `/_chaos/behavior`.
//! - `traces`: `chaos traces`, the embedded trace backend (`observability::store`) standalone:
//!   OTLP/HTTP in, Jaeger's v1 and api_v3 query API out, on Jaeger's default ports.
//! - `faultproxy`: `chaos proxy` and the library behind it, a TCP fault proxy with toxics
//!   that speaks Toxiproxy's REST API, plus an async client for it (or a real Toxiproxy).
//! - `env`: the drill's environment: supervised child processes (kill, pause, restart)
//!   and network-namespace hosts with real nftables partitions, always cleaned up.
//! - [`run`]: `chaos run`, the drill runner: environment up, load and fault timeline,
//!   guards, teardown; [`journal`] is the JSON record of one run.
//! - [`verdict`]: every objective judged on a run's [`evidence`] (client records, trace
//!   queries, metrics), pass / fail / inconclusive with its measured value and evidence;
//!   [`report`]: terminal, JSON, JUnit and HTML reports and the exit code.
//! - [`scenario`]: scenario files validated into an executable `Plan`; `chaos validate`
//!   (check files without running them) and `chaos list` (every fault kind and its
//!   parameters).
//! - `signal`: SIGTERM/SIGINT as a stop future; `telemetry`: logs to stderr.
//! - [`Exit`]: the documented exit codes.
//!
//! ```text
//! argv -> cli::Cli (exit 2 on usage errors) -> telemetry::init -> tokio runtime
//!      -> upstream::run: bind (exit 3 on failure) -> "listening on ADDR" on stdout
//!           -> accept loop -> router: /_chaos/* | /healthz | echo (behavior applied)
//!           -> SIGTERM/SIGINT -> drain in-flight requests (bounded) -> exit 0
//! ```

mod cli;
pub mod env;
pub mod evidence;
mod exit;
pub mod faultproxy;
pub mod journal;
pub mod load;
pub mod report;
pub mod run;
pub mod scenario;
mod signal;
mod telemetry;
mod traces;
mod upstream;
pub mod verdict;

use std::error::Error;
use std::ffi::OsString;

use clap::Parser;

pub use crate::exit::Exit;
pub use crate::upstream::UPSTREAM_HEADER;

use crate::cli::{Cli, Command};

/// Parses `args` (including the program name), runs the chosen subcommand, and returns how
/// it ended.
///
/// Usage errors, `--help` and `--version` are printed by clap; other errors are printed once
/// to stderr with their cause chain.
pub fn run_cli<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // Nothing useful is left to do if printing fails (e.g. a closed stdout).
            let _ = err.print();
            return if err.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
        }
    };
    // Held to the end: dropping it flushes the buffered log lines.
    // `chaos run` speaks through its progress display and reports: its logs start one level
    // coarser (warnings), so the embedded servers' info lines only show with `-v`.
    let quieter = u8::from(matches!(cli.command, Command::Run(_)));
    let _logs = telemetry::init(cli.verbose, cli.quiet.saturating_add(quieter));

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            report(&err, "cannot start the async runtime");
            return Exit::Environment;
        }
    };
    runtime.block_on(dispatch(cli.command, cli.quiet > 0))
}

/// Runs one subcommand; `quiet` is set by any `-q` (it also turns progress displays off).
async fn dispatch(command: Command, quiet: bool) -> Exit {
    match command {
        Command::Upstream(args) => match upstream::run(upstream::Settings::from(args)).await {
            Ok(()) => Exit::Ok,
            Err(err) => {
                report(&err, "upstream failed");
                err.exit()
            }
        },
        Command::Proxy(args) => match faultproxy::run(faultproxy::Settings::from(args)).await {
            Ok(()) => Exit::Ok,
            Err(err) => {
                report(&err, "proxy failed");
                err.exit()
            }
        },
        Command::Run(args) => run::command(args, quiet).await,
        Command::Validate(args) => scenario::validate_files(&args.paths, &mut std::io::stdout()),
        Command::List(args) => {
            let format = match args.format {
                cli::ListFormat::Text => scenario::ListFormat::Text,
                cli::ListFormat::Json => scenario::ListFormat::Json,
            };
            scenario::list(format, &mut std::io::stdout());
            Exit::Ok
        }
        Command::Traces(args) => match traces::run(traces::Settings::from(args)).await {
            Ok(()) => Exit::Ok,
            Err(err) => {
                report(&err, "traces failed");
                err.exit()
            }
        },
    }
}

/// Prints `chaos: <context>: <error>: <cause>: ...` once, the way ripgrep does.
fn report(err: &dyn Error, context: &str) {
    let mut line = format!("chaos: {context}: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    eprintln!("{line}");
}
