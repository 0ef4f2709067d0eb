//! Fidelity of drill verdicts against ground truth: runs the drills of `bench/fidelity/`
//! several times with the real runner, gateway and upstreams, and compares what the
//! verdicts report with what is known independently.
//!
//! - `rto.yaml`: the only endpoint answers 503 from the fault's start until the runner
//!   switches it back (the journal times the switch to the microsecond). Truth: recovery at
//!   the fault's end (RTO 0 from `outage.end`) and the outage's length from `outage.start`.
//!   Both the client and the span figures are compared with it, and with each other.
//! - `breaker.yaml`: the slow-call breaker. Truths: the breaker's configured wait (2s) for
//!   `half_open_after`; for the opening, the client records: the first request answered by
//!   the fallback was sent after the breaker opened, and the last one let through before it.
//!
//! Every run must also give the same verdicts. Prints one line per run and a summary with
//! the largest deviations; exits 1 when a deviation passes its bound (±50 ms against the
//! truth, 100 ms between client and spans) or verdicts differ, 3 when a drill cannot run.
//!
//! ```text
//! cargo build --release --bins && cargo bench -p chaos --bench fidelity -- [--runs N]
//! ```
//! (`bench/fidelity.sh` does both.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chaos::evidence::Evidence;
use chaos::run::{Outcome, ProgressMode, RunOptions, execute};
use chaos::scenario::{Plan, load_file};
use chaos::verdict::{Measured, Verdict, evaluate};
use tokio_util::sync::CancellationToken;

/// Largest accepted distance between a reported timing and the truth.
const TRUTH_BOUND: f64 = 0.050;
/// Largest accepted distance between the client and the span figures of one RTO.
const VIEWS_BOUND: f64 = 0.100;

fn main() -> ExitCode {
    let runs = match runs_from_args() {
        Ok(runs) => runs,
        Err(message) => {
            eprintln!("fidelity: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("fidelity: cannot start a runtime: {err}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(measure(runs)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("fidelity: {message}");
            ExitCode::from(3)
        }
    }
}

/// `--runs N` (default 10); cargo's own `--bench` flag is ignored.
fn runs_from_args() -> Result<usize, String> {
    let mut args = std::env::args().skip(1);
    let mut runs = 10;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                let value = args.next().ok_or("--runs needs a number")?;
                runs = value
                    .parse()
                    .map_err(|_| format!("--runs: not a number: {value}"))?;
            }
            "--bench" => {}
            other => return Err(format!("unknown argument {other} (expected --runs N)")),
        }
    }
    Ok(runs.max(1))
}

async fn measure(runs: usize) -> Result<bool, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bins = binaries()?;
    let scratch = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let rto_plan = plan(&root.join("bench/fidelity/rto.yaml"))?;
    let breaker_plan = plan(&root.join("bench/fidelity/breaker.yaml"))?;

    let mut rto = Tally::default();
    let mut breaker = Tally::default();
    println!(
        "run  rto.end client/spans (truth 0)   rto.start client/spans vs truth   breaker open spans vs clients   half-open vs 2s   verdicts"
    );
    for n in 1..=runs {
        let (_, journal, verdicts) =
            drill(&rto_plan, &bins, &scratch.path().join(format!("rto-{n}"))).await?;
        let fault = &journal["faults"][0];
        let applied = micros(&fault["applied"]["done_us"])?;
        let undone = micros(&fault["undone"]["done_us"])?;
        let (end_client, end_spans) = rto_views(&verdicts[0])?;
        let (start_client, start_spans) = rto_views(&verdicts[1])?;
        let start_truth = undone - applied;
        rto.deviation(end_client - 0.0);
        rto.deviation(end_spans - 0.0);
        rto.deviation(start_client - start_truth);
        rto.deviation(start_spans - start_truth);
        rto.views(end_client - end_spans);
        rto.views(start_client - start_spans);
        rto.verdicts(&verdicts);

        let (evidence, _journal, verdicts) = drill(
            &breaker_plan,
            &bins,
            &scratch.path().join(format!("breaker-{n}")),
        )
        .await?;
        let fault_start = evidence
            .faults
            .get("slow")
            .map(|w| w.applied.as_secs_f64())
            .ok_or("the slow fault was not applied")?;
        let checks = &verdicts[0].checks;
        let opened = check_seconds(checks, "opens_within")? + fault_start;
        let half_open = check_seconds(checks, "half_open_after")?;
        let (last_through, first_fallback) = client_open_bracket(&evidence, fault_start)?;
        // The breaker opened after the last request it let through was sent and before the
        // first fallback was: the truth lies in that bracket.
        let open_error = if opened < last_through {
            opened - last_through
        } else if opened > first_fallback {
            opened - first_fallback
        } else {
            0.0
        };
        breaker.deviation(open_error);
        breaker.deviation(half_open - 2.0);
        breaker.verdicts(&verdicts);

        println!(
            "{n:>3}  {:>6.1} / {:>6.1} ms           {:>7.1} / {:>7.1} vs {:>7.1} ms   {:>7.1} in [{:.1}, {:.1}] ms   {:>6.1} ms       {} | {}",
            end_client * 1e3,
            end_spans * 1e3,
            start_client * 1e3,
            start_spans * 1e3,
            start_truth * 1e3,
            (opened - fault_start) * 1e3,
            (last_through - fault_start) * 1e3,
            (first_fallback - fault_start) * 1e3,
            (half_open - 2.0) * 1e3,
            statuses(&rto.last),
            statuses(&breaker.last),
        );
    }
    let ok = rto.report("rto", runs) & breaker.report("breaker", runs);
    Ok(ok)
}

/// The release binaries next to this bench (`target/release/{chaos,gateway}`).
fn binaries() -> Result<(PathBuf, PathBuf), String> {
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate the target directory")?;
    let chaos = dir.join("chaos");
    let gateway = dir.join("gateway");
    for bin in [&chaos, &gateway] {
        if !bin.is_file() {
            return Err(format!(
                "{} is missing: run `cargo build --release --bins` first (bench/fidelity.sh does)",
                bin.display()
            ));
        }
    }
    Ok((chaos, gateway))
}

fn plan(path: &Path) -> Result<Plan, String> {
    load_file(path).map_err(|d| d.to_string())
}

/// Runs `plan` once and judges it; the trace store stays up until the verdicts are in.
async fn drill(
    plan: &Plan,
    (chaos, gateway): &(PathBuf, PathBuf),
    dir: &Path,
) -> Result<(Evidence, serde_json::Value, Vec<Verdict>), String> {
    let options = RunOptions {
        run_dir: Some(dir.to_owned()),
        chaos_exe: chaos.clone(),
        gateway_exe: Some(gateway.clone()),
        progress: ProgressMode::Off,
        ..RunOptions::new()
    };
    let output = execute(plan, &options, CancellationToken::new())
        .await
        .map_err(|e| format!("{}: {e}", plan.name))?;
    if !matches!(output.outcome, Outcome::Completed) {
        return Err(format!("{}: {:?}", plan.name, output.outcome));
    }
    let verdicts = evaluate(plan, &output.evidence).await;
    let journal = serde_json::to_value(&output.journal).map_err(|e| e.to_string())?;
    Ok((output.evidence, journal, verdicts))
}

/// (client, spans) seconds of an `rto` verdict.
fn rto_views(v: &Verdict) -> Result<(f64, f64), String> {
    Ok((
        check_seconds(&v.checks, "client")?,
        check_seconds(&v.checks, "spans")?,
    ))
}

fn check_seconds(checks: &[chaos::verdict::Check], name: &str) -> Result<f64, String> {
    let check = checks
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("no {name} check"))?;
    match check.value {
        Some(Measured::Seconds(d)) => Ok(d.as_secs_f64()),
        _ => Err(format!("{name}: no figure ({})", check.message)),
    }
}

/// From the client records after `from`: (send time of the last request answered by the
/// upstream before the first fallback, send time of the first fallback).
fn client_open_bracket(evidence: &Evidence, from: f64) -> Result<(f64, f64), String> {
    let mut records: Vec<_> = evidence
        .records
        .iter()
        .filter_map(|r| {
            r.sent
                .map(|sent| (sent.as_secs_f64(), r.fallback.is_some()))
        })
        .filter(|(sent, _)| *sent >= from)
        .collect();
    records.sort_by(|a, b| a.0.total_cmp(&b.0));
    let first = records
        .iter()
        .position(|(_, fallback)| *fallback)
        .ok_or("no request was answered by the fallback")?;
    let last_through = first
        .checked_sub(1)
        .and_then(|i| records.get(i))
        .map_or(from, |(sent, _)| *sent);
    let first_fallback = records.get(first).map_or(from, |(sent, _)| *sent);
    Ok((last_through, first_fallback))
}

fn micros(value: &serde_json::Value) -> Result<f64, String> {
    value
        .as_i64()
        .map(|us| us as f64 / 1e6)
        .ok_or_else(|| format!("not a time in µs: {value}"))
}

fn statuses(verdicts: &[String]) -> String {
    verdicts.join(",")
}

/// Deviations and verdicts over the runs of one drill.
#[derive(Default)]
struct Tally {
    worst_truth: f64,
    /// `None` when the drill has one view only.
    worst_views: Option<f64>,
    truth_failures: usize,
    views_failures: usize,
    first: Option<Vec<String>>,
    last: Vec<String>,
    differing: usize,
}

impl Tally {
    fn deviation(&mut self, seconds: f64) {
        self.worst_truth = self.worst_truth.max(seconds.abs());
        if seconds.abs() > TRUTH_BOUND {
            self.truth_failures += 1;
        }
    }

    fn views(&mut self, seconds: f64) {
        self.worst_views = Some(self.worst_views.unwrap_or(0.0).max(seconds.abs()));
        if seconds.abs() > VIEWS_BOUND {
            self.views_failures += 1;
        }
    }

    fn verdicts(&mut self, verdicts: &[Verdict]) {
        self.last = verdicts.iter().map(|v| v.status.to_string()).collect();
        match &self.first {
            None => self.first = Some(self.last.clone()),
            Some(first) if *first != self.last => self.differing += 1,
            Some(_) => {}
        }
    }

    fn report(&self, name: &str, runs: usize) -> bool {
        let views = self.worst_views.map_or(String::new(), |worst| {
            format!(
                "; worst client-spans difference {:.1} ms (bound {:.0})",
                worst * 1e3,
                VIEWS_BOUND * 1e3
            )
        });
        println!(
            "{name}: {runs} runs; worst distance to the truth {:.1} ms (bound {:.0}){views}; verdicts {} in every run{}",
            self.worst_truth * 1e3,
            TRUTH_BOUND * 1e3,
            self.first.as_ref().map(|v| v.join(",")).unwrap_or_default(),
            if self.differing > 0 {
                format!(", except {} runs", self.differing)
            } else {
                String::new()
            },
        );
        self.truth_failures == 0 && self.views_failures == 0 && self.differing == 0
    }
}
