//! The `gateway` binary: parse arguments, set up logs, run or validate.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use gateway::LoadError;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { config } => validate(&config),
        Command::Run {
            config,
            worker_threads,
        } => {
            // Held to the end of `run`: dropping it flushes the buffered log lines.
            let _logs = match observability::logging::init(cli.log_format, &cli.log) {
                Ok(guard) => guard,
                Err(error) => {
                    eprintln!("gateway: {error}");
                    return ExitCode::from(2);
                }
            };
            run(&config, worker_threads)
        }
    }
}

fn validate(path: &std::path::Path) -> ExitCode {
    match gateway::load_file(path) {
        Ok(_) => {
            println!("ok: {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            report(&error);
            ExitCode::from(2)
        }
    }
}

fn run(path: &std::path::Path, worker_threads: Option<std::num::NonZeroUsize>) -> ExitCode {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = worker_threads {
        builder.worker_threads(n.get());
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("gateway: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        // Handlers first: a signal arriving right after the `listening` line must start a
        // drain, not kill the process with the default action.
        let shutdown = shutdown_signal()?;
        Ok::<_, std::io::Error>(
            gateway::run(path, shutdown, |bound| {
                let mut out = std::io::stdout().lock();
                // Tests and scripts read this line to learn the bound ports.
                let _ = writeln!(out, "listening data={} admin={}", bound.data, bound.admin);
                let _ = out.flush();
            })
            .await,
        )
    });
    match result {
        Ok(Ok(_)) => ExitCode::SUCCESS,
        Ok(Err(gateway::RunError::Config(error))) => {
            report(&error);
            ExitCode::from(2)
        }
        Ok(Err(error)) => {
            eprintln!("gateway: {}", gateway::error_chain(&error));
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("gateway: cannot install signal handlers: {error}");
            ExitCode::from(1)
        }
    }
}

/// Prints a config error: each located problem on its own line.
fn report(error: &LoadError) {
    match error.diagnostics() {
        Some(diagnostics) => {
            for d in diagnostics.iter() {
                eprintln!("{d}");
            }
            eprintln!("gateway: {error}");
        }
        None => eprintln!("gateway: {}", gateway::error_chain(error)),
    }
}

/// Installs SIGTERM and SIGINT handlers now; the returned future resolves on either.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
