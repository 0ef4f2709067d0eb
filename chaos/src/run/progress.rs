//! Progress on stderr while a drill runs: an indicatif bar on a terminal (phase,
//! elapsed/remaining, current req/s, error rate, active faults), a plain line every few
//! seconds when stderr is not a terminal, nothing with `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::load::ProgressHandle;

/// How the runner shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// A bar on a terminal, plain periodic lines otherwise (the default).
    #[default]
    Auto,
    /// Nothing.
    Off,
}

/// How often the bar is redrawn.
const BAR_EVERY: Duration = Duration::from_millis(200);
/// How often a plain line is printed.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// The progress display of one drill.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    name: String,
    bar: Option<ProgressBar>,
    lines: bool,
}

// === impl Progress ===

impl Progress {
    pub(crate) fn new(mode: ProgressMode, name: &str) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (mode == ProgressMode::Auto && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{prefix:.bold} {bar:30} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(name.to_owned());
            bar
        });
        Progress {
            name: name.to_owned(),
            bar,
            lines: mode == ProgressMode::Auto && !terminal,
        }
    }

    /// Shows the phase (`setup`, `teardown`, ...).
    pub(crate) fn phase(&self, phase: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(phase.to_owned());
        } else if self.lines {
            // A closed stderr must not panic the run (eprintln! would).
            let _ = writeln!(std::io::stderr(), "chaos: {}: {phase}", self.name);
        }
    }

    /// Redraws from the load's counters until `done` fires.
    pub(crate) fn track(
        &self,
        load: ProgressHandle,
        duration: Duration,
        active: impl Fn() -> Vec<String> + Send + 'static,
        done: CancellationToken,
    ) -> Option<AbortOnDropHandle<()>> {
        if self.bar.is_none() && !self.lines {
            return None;
        }
        let progress = self.clone();
        let every = if self.bar.is_some() {
            BAR_EVERY
        } else {
            LINE_EVERY
        };
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = done.cancelled() => return,
                }
                progress.show(&load, duration, &active());
            }
        });
        Some(AbortOnDropHandle::new(task))
    }

    fn show(&self, load: &ProgressHandle, duration: Duration, faults: &[String]) {
        let now = load.snapshot();
        let elapsed = now.elapsed.min(duration);
        let faults = if faults.is_empty() {
            "none".to_owned()
        } else {
            faults.join(",")
        };
        let text = format!(
            "load {:.1}s/{:.0}s (-{:.1}s) {:.0} req/s, errors {:.1}%, faults: {faults}",
            elapsed.as_secs_f64(),
            duration.as_secs_f64(),
            duration.saturating_sub(elapsed).as_secs_f64(),
            now.finished_per_second,
            now.failure_ratio * 100.0,
        );
        if let Some(bar) = &self.bar {
            let ratio = elapsed.as_secs_f64() / duration.as_secs_f64().max(f64::EPSILON);
            bar.set_position((ratio * 1000.0) as u64);
            bar.set_message(text);
        } else {
            let _ = writeln!(std::io::stderr(), "chaos: {}: {text}", self.name);
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
