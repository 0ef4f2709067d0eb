//! `chaos run FILE|DIR`: validate every scenario first (exit 2 on any problem), then run
//! them one after the other, each in its own run folder, judge each drill's objectives and
//! report.
//!
//! ```text
//! load + validate all (exit 2, located errors) -> --tag filter -> --dry-run? print plans
//!   -> SIGINT/SIGTERM handlers -> for each plan: execute (second signal: drop = tear down at
//!      once) -> one run line -> verdicts (while the embedded trace store still answers)
//!      -> terminal report, RUN_DIR/journal.json with verdicts, RUN_DIR/report.html
//!   -> --json / --junit / --html files -> exit: the first of 1, 3, 0 any drill has
//! ```

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::error::chain;
use super::finish::write_json;
use super::signals::Signals;
use super::{Outcome, ProgressMode, RunOptions, RunOutput, execute, view};
use crate::Exit;
use crate::cli::RunArgs;
use crate::report::{self, DrillOutcome, DrillResult};
use crate::scenario::{Plan, load_dir, load_file};
use crate::verdict;

/// Runs `chaos run`; `quiet` (any `-q`) turns the progress display off.
pub(crate) async fn run(args: RunArgs, quiet: bool) -> Exit {
    let plans = match load_plans(&args.path).and_then(|plans| with_tags(plans, &args.tags)) {
        Ok(plans) => plans,
        Err(problems) => {
            let _ = writeln!(std::io::stderr(), "{problems}");
            return Exit::Usage;
        }
    };
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        for (i, plan) in plans.iter().enumerate() {
            let separator = if i > 0 { "\n" } else { "" };
            // A closed stdout (a pipe) ends the output quietly.
            let _ = write!(out, "{separator}{}", view::render(plan));
        }
        return Exit::Ok;
    }

    let cancel = CancellationToken::new();
    let signals = match Signals::install(cancel.clone()) {
        Ok(signals) => signals,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr(),
                "chaos: run: cannot install signal handlers: {err}"
            );
            return Exit::Environment;
        }
    };
    let several = plans.len() > 1;
    let color = args.color.enabled(std::io::stdout().is_terminal());
    let mut journals = Vec::new();
    let mut results = Vec::new();
    let mut exit = Exit::Ok;
    for plan in &plans {
        if cancel.is_cancelled() {
            break;
        }
        let options = RunOptions {
            run_dir: args.run_dir.as_ref().map(|dir| {
                if several {
                    dir.join(&plan.name)
                } else {
                    dir.clone()
                }
            }),
            gateway_exe: args.gateway_binary.clone(),
            progress: if quiet {
                ProgressMode::Off
            } else {
                ProgressMode::Auto
            },
            ..RunOptions::new()
        };
        let output = tokio::select! {
            output = execute(plan, &options, cancel.clone()) => output,
            () = signals.immediate().cancelled() => {
                // Dropping the run ran the drop guards: processes killed, namespaces deleted.
                let _ = writeln!(std::io::stderr(), "chaos: run: {}: torn down at once on a second signal", plan.name);
                return Exit::Environment;
            }
        };
        match output {
            Ok(output) => {
                print_summary(plan, &output, &signals);
                let (journal, result) = judge(plan, output, &signals, color).await;
                exit = worst(exit, exit_of(result.exit_code()));
                journals.push(journal);
                results.push(result);
            }
            Err(error) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "chaos: run: {}: {}",
                    plan.name,
                    chain(&error)
                );
                exit = worst(exit, Exit::Environment);
            }
        }
    }
    if several {
        let _ = report::write_summary(&mut std::io::stdout().lock(), &results, color);
    }
    if let Err(problem) = write_reports(&args, &journals, &results) {
        let _ = writeln!(std::io::stderr(), "chaos: run: {problem}");
        exit = worst(exit, Exit::Environment);
    }
    exit
}

/// Judges the drill's objectives and prints its report; rewrites the run folder's
/// `journal.json` with the verdicts and writes `report.html` beside it. Returns the journal
/// (as JSON, with `verdicts` and `summary`) and the drill's result.
async fn judge(
    plan: &Plan,
    output: RunOutput,
    signals: &Signals,
    color: bool,
) -> (serde_json::Value, DrillResult) {
    let outcome = match &output.outcome {
        Outcome::Completed => DrillOutcome::Completed,
        Outcome::Aborted { guard, .. } => DrillOutcome::Aborted {
            guard: guard.clone(),
        },
        Outcome::Interrupted => DrillOutcome::Error {
            message: match signals.received() {
                Some(signal) => format!("interrupted by {signal}"),
                None => "interrupted".to_owned(),
            },
        },
        Outcome::Failed(error) => DrillOutcome::Error {
            message: chain(error),
        },
    };
    // A drill that could not be carried out is not judged: its evidence would blame the
    // system for what the harness failed to do. A guard's abort is judged, to explain it.
    let verdicts = match outcome {
        DrillOutcome::Error { .. } => Vec::new(),
        _ => verdict::evaluate(plan, &output.evidence).await,
    };
    // The embedded trace store (`output.traces`) has answered every query: it may go now.
    let result = DrillResult::new(plan, &output.evidence, verdicts, outcome);
    let _ = report::write_terminal(&mut std::io::stdout().lock(), &result, color);

    let mut journal = serde_json::to_value(&output.journal).unwrap_or_default();
    if let Err(err) = report::attach(&mut journal, &result.verdicts) {
        tracing::warn!(error = %err, "Cannot attach the verdicts to the journal");
    }
    let journal_path = output.run_dir.join("journal.json");
    if let Err(err) = write_json(&journal_path, &journal) {
        warn_unwritten(&journal_path, &err);
    }
    let html_path = output.run_dir.join("report.html");
    match report::write_html(&html_path, &result) {
        Ok(()) => {
            let _ = writeln!(std::io::stdout().lock(), "  report {}", html_path.display());
        }
        Err(err) => warn_unwritten(&html_path, &err),
    }
    (journal, result)
}

fn warn_unwritten(path: &Path, err: &dyn std::fmt::Display) {
    tracing::warn!(path = %path.display(), error = %err, "Cannot write a report");
}

/// `--json`, `--junit` and `--html`: every file asked for, or the first problem.
fn write_reports(
    args: &RunArgs,
    journals: &[serde_json::Value],
    results: &[DrillResult],
) -> Result<(), String> {
    let several = results.len() > 1 || journals.len() > 1;
    if let Some(path) = &args.json {
        let written = match journals {
            [one] if !several => write_json(path, one),
            all => write_json(path, &all),
        };
        written.map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        report::write_junit(path, results).map_err(|err| err.to_string())?;
    }
    if let Some(path) = &args.html {
        for result in results {
            let target = if several {
                html_for(path, &result.scenario)
            } else {
                path.clone()
            };
            report::write_html(&target, result).map_err(|err| err.to_string())?;
        }
    }
    Ok(())
}

/// `report.html` + `users-failover` -> `report-users-failover.html`.
fn html_for(path: &Path, scenario: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "report".into(), |s| s.to_string_lossy());
    path.with_file_name(format!("{stem}-{scenario}.html"))
}

fn exit_of(code: u8) -> Exit {
    match code {
        0 => Exit::Ok,
        1 => Exit::Failed,
        _ => Exit::Environment,
    }
}

/// Every plan of `path` (a file, or each `*.yaml` of a folder in name order), or every
/// problem of every file.
fn load_plans(path: &Path) -> Result<Vec<Plan>, String> {
    if !path.is_dir() {
        return load_file(path)
            .map(|plan| vec![plan])
            .map_err(|d| d.to_string());
    }
    let files = load_dir(path).map_err(|d| d.to_string())?;
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match file.result {
            Ok(plan) => plans.push(plan),
            Err(diagnostics) => problems.push(diagnostics.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(plans)
    } else {
        Err(problems.join("\n"))
    }
}

/// The plans carrying any of `tags` (all of them without tags); the others are named on
/// stderr as skipped.
fn with_tags(plans: Vec<Plan>, tags: &[String]) -> Result<Vec<Plan>, String> {
    if tags.is_empty() {
        return Ok(plans);
    }
    let (chosen, skipped): (Vec<Plan>, Vec<Plan>) = plans
        .into_iter()
        .partition(|plan| plan.tags.iter().any(|t| tags.contains(t)));
    if chosen.is_empty() {
        return Err(format!(
            "chaos: run: no scenario is tagged {} (skipped: {})",
            tags.join(" or "),
            names(&skipped)
        ));
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "chaos: run: skipped (not tagged {}): {}",
            tags.join(" or "),
            names(&skipped)
        );
    }
    Ok(chosen)
}

fn names(plans: &[Plan]) -> String {
    let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
    names.join(", ")
}

/// One line on stdout: how the run ended, with its figures and the journal's path.
fn print_summary(plan: &Plan, output: &RunOutput, signals: &Signals) {
    let journal = &output.journal;
    let took = (journal.run.ended_us - journal.run.started_us) as f64 / 1e6;
    let faults = journal
        .faults
        .iter()
        .filter(|f| f.applied.is_some())
        .count();
    let undone = journal.faults.iter().filter(|f| f.undone.is_some()).count();
    let requests = journal
        .load
        .as_ref()
        .map_or((0, 0), |l| (l.recorded, l.overall.successes));
    let path: PathBuf = output.run_dir.join("journal.json");
    let detail = match &output.outcome {
        Outcome::Completed => format!(
            "in {took:.1}s (load {:.1}s): {faults} faults applied, {undone} undone on schedule; \
             {} of {} requests succeeded",
            plan.duration().as_secs_f64(),
            requests.1,
            requests.0
        ),
        Outcome::Aborted { guard, measured } => format!("guard {guard} breached ({measured})"),
        Outcome::Interrupted => match signals.received() {
            Some(signal) => format!("interrupted by {signal}; everything undone"),
            None => "interrupted; everything undone".to_owned(),
        },
        Outcome::Failed(error) => chain(error),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: {}: {detail}; journal {}",
        output.outcome.name(),
        plan.name,
        path.display()
    );
}

/// The exit over several drills (the report's rule): a failed drill (1) over one that could
/// not be judged or carried out (3) over success (0); usage errors (2) never get this far.
fn worst(a: Exit, b: Exit) -> Exit {
    let rank = |e: Exit| match e {
        Exit::Ok => 0,
        Exit::Usage => 1,
        Exit::Failed => 3,
        _ => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}
