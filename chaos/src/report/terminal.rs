//! The terminal report: one line per objective (status, what was measured against what was
//! expected, the window, and for a failure why), then a summary line; colour by policy.
//!
//! ```text
//! users-failover (scenarios/users-failover.yaml, seed 7): completed
//!   pass          expect[0] steady state before and after: before.errors 0.1%; ... (expected before.errors < 0.5%; ...) [before, after 0s..30s]
//!   fail          expect[2] rto from crash.end: client 4.2s; spans 4.1s (expected ...) [...] -- client: recovered 4.2s after t=15s ...
//!   inconclusive  expect[3] ...
//! users-failover: 1 passed, 1 failed, 1 inconclusive (exit 1)
//! ```
//!
//! Colour policy (ripgrep's, with the NO_COLOR convention): `never` never; `always` always
//! (a command-line choice overrides `NO_COLOR`); `auto` only when the stream is a terminal,
//! `NO_COLOR` is unset or empty, and `TERM` is not `dumb`.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use crate::verdict::{Status, Verdict};

use super::{DrillResult, exit_code_of};

/// `--color auto|always|never` (a clap `ValueEnum`, so `cli.rs` can take it as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless `NO_COLOR` is set or `TERM=dumb` (the default).
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Why a `--color` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid color choice `{0}` (expected auto, always or never)")]
pub struct ColorChoiceError(String);

// === impl ColorChoice ===

impl ColorChoice {
    /// Whether to colour a stream, given whether it is a terminal; reads `NO_COLOR` and
    /// `TERM` from the environment.
    pub fn enabled(self, is_terminal: bool) -> bool {
        self.decide(
            is_terminal,
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var_os("TERM").as_deref(),
        )
    }

    /// The policy with the environment given (testable without touching it).
    pub fn decide(self, is_terminal: bool, no_color: Option<&OsStr>, term: Option<&OsStr>) -> bool {
        match self {
            ColorChoice::Never => false,
            ColorChoice::Always => true,
            ColorChoice::Auto => {
                is_terminal
                    && no_color.is_none_or(OsStr::is_empty)
                    && term.is_none_or(|t| t != "dumb")
            }
        }
    }
}

impl FromStr for ColorChoice {
    type Err = ColorChoiceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            other => Err(ColorChoiceError(other.to_owned())),
        }
    }
}

impl fmt::Display for ColorChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        })
    }
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn status_style(status: Status) -> &'static str {
    match status {
        Status::Pass => "\x1b[32m",
        Status::Fail => "\x1b[1;31m",
        Status::Inconclusive => "\x1b[33m",
    }
}

struct Paint {
    color: bool,
}

impl Paint {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }
}

/// Writes one drill: a header, one line per objective, and its summary line.
pub fn write_terminal(out: &mut dyn Write, result: &DrillResult, color: bool) -> io::Result<()> {
    let p = Paint { color };
    writeln!(
        out,
        "{} ({}, seed {}): {}",
        p.paint(BOLD, &result.scenario),
        result.path.display(),
        result.seed,
        result.outcome.describe()
    )?;
    for v in &result.verdicts {
        writeln!(out, "  {}", line(v, &p))?;
    }
    writeln!(out, "{}", summary_line(result, &p))
}

/// Writes the summary of several drills (after each drill's own lines).
pub fn write_summary(out: &mut dyn Write, results: &[DrillResult], color: bool) -> io::Result<()> {
    let p = Paint { color };
    let mut counts = super::Counts::default();
    for r in results {
        let c = r.counts();
        counts.passed += c.passed;
        counts.failed += c.failed;
        counts.inconclusive += c.inconclusive;
    }
    let code = exit_code_of(results);
    let status = match code {
        0 => Status::Pass,
        1 => Status::Fail,
        _ => Status::Inconclusive,
    };
    writeln!(
        out,
        "{} drills: {} (exit {})",
        results.len(),
        p.paint(status_style(status), &counts_text(counts)),
        code
    )
}

/// One objective's line.
fn line(v: &Verdict, p: &Paint) -> String {
    let status = p.paint(
        status_style(v.status),
        &format!("{:<12}", v.status.as_str()),
    );
    let mut text = format!(
        "{status}  {} {}: {} (expected {})",
        v.reference(),
        v.label,
        v.measured,
        v.threshold
    );
    if let Some(w) = &v.window {
        let window = format!(
            " [{} {}..{}]",
            w.name,
            crate::verdict::figures::duration(w.start),
            crate::verdict::figures::duration(w.end)
        );
        text.push_str(&p.paint(DIM, &window));
    }
    if v.status != Status::Pass && !v.message.is_empty() {
        text.push_str(&format!(" -- {}", v.message));
    }
    text
}

fn summary_line(result: &DrillResult, p: &Paint) -> String {
    let text = counts_text(result.counts());
    let mut line = format!(
        "{}: {}",
        result.scenario,
        p.paint(status_style(result.status()), &text)
    );
    if !matches!(result.outcome, super::DrillOutcome::Completed) {
        line.push_str(&format!("; {}", result.outcome.describe()));
    }
    line.push_str(&format!(" (exit {})", result.exit_code()));
    line
}

fn counts_text(c: super::Counts) -> String {
    format!(
        "{} passed, {} failed, {} inconclusive",
        c.passed, c.failed, c.inconclusive
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_choice_honours_tty_no_color_and_term() {
        let empty = OsStr::new("");
        let set = OsStr::new("1");
        let dumb = OsStr::new("dumb");
        let xterm = OsStr::new("xterm-256color");
        assert!(ColorChoice::Auto.decide(true, None, Some(xterm)));
        assert!(!ColorChoice::Auto.decide(false, None, Some(xterm)));
        assert!(!ColorChoice::Auto.decide(true, Some(set), Some(xterm)));
        assert!(
            ColorChoice::Auto.decide(true, Some(empty), None),
            "empty NO_COLOR is unset"
        );
        assert!(!ColorChoice::Auto.decide(true, None, Some(dumb)));
        assert!(ColorChoice::Always.decide(false, Some(set), Some(dumb)));
        assert!(!ColorChoice::Never.decide(true, None, Some(xterm)));
    }

    #[test]
    fn color_choice_parses_its_three_values() {
        assert_eq!("auto".parse(), Ok(ColorChoice::Auto));
        assert_eq!("always".parse(), Ok(ColorChoice::Always));
        assert_eq!("never".parse(), Ok(ColorChoice::Never));
        let err = "yes".parse::<ColorChoice>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid color choice `yes` (expected auto, always or never)"
        );
        assert_eq!(ColorChoice::default().to_string(), "auto");
    }
}
