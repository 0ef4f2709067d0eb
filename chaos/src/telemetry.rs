//! Log output of the `chaos` binary: a tracing subscriber writing to stderr.
//!
//! stdout is reserved for results (for `chaos upstream`, the `listening on` line), so every
//! log line goes to stderr.

use observability::logging::{self, LogFormat};
use tracing_subscriber::filter::LevelFilter;

/// Installs the global subscriber; `verbose` and `quiet` are the counted `-v`/`-q` flags
/// (`RUST_LOG`, when set, takes precedence).
pub(crate) fn init(verbose: u8, quiet: u8) -> Option<logging::LogGuard> {
    let filter = level(verbose, quiet).to_string().to_lowercase();
    // Only fails when a subscriber is already set (e.g. two calls in one test process); the
    // first one stays, which is what we want.
    logging::init(LogFormat::Pretty, &filter).ok()
}

/// INFO by default; each `-v` goes one level finer, each `-q` one level coarser.
fn level(verbose: u8, quiet: u8) -> LevelFilter {
    match i16::from(verbose) - i16::from(quiet) {
        i16::MIN..=-3 => LevelFilter::OFF,
        -2 => LevelFilter::ERROR,
        -1 => LevelFilter::WARN,
        0 => LevelFilter::INFO,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_without_flags_is_info() {
        assert_eq!(level(0, 0), LevelFilter::INFO);
    }

    #[test]
    fn level_with_verbose_and_quiet_counts_steps_and_saturates() {
        assert_eq!(level(1, 0), LevelFilter::DEBUG);
        assert_eq!(level(9, 0), LevelFilter::TRACE);
        assert_eq!(level(0, 1), LevelFilter::WARN);
        assert_eq!(level(0, 9), LevelFilter::OFF);
        assert_eq!(level(1, 1), LevelFilter::INFO);
    }
}
