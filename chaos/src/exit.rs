//! Process exit statuses of the `chaos` binary and what each one promises.

use std::process::ExitCode;

/// How a `chaos` command ended; converts into the process exit code.
///
/// Kept apart so CI can tell "the input was wrong" (2) from "the machine could not run the
/// command" (3). Later subcommands add a status for "ran, an objective failed" (1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// `0`: the command succeeded; for `chaos upstream`, a clean stop on SIGTERM/SIGINT.
    Ok,
    /// `1`: the command ran and found the system failing: for `chaos run`, a guard stopped
    /// the drill.
    Failed,
    /// `2`: usage error or invalid input (unknown flag, malformed value); nothing was started.
    Usage,
    /// `3`: the environment failed the command, e.g. the listen address cannot be bound.
    Environment,
}

// === impl Exit ===

impl Exit {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Environment => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}
