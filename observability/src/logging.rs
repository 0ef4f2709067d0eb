//! Log output for binaries: JSON lines (for machines) or human-readable text, filtered with
//! `RUST_LOG`-style directives, always on stderr so stdout stays free for program output.
//!
//! Lines are written by a background thread through a bounded buffer: a request never waits
//! for a slow stderr (a full pipe, a slow disk). When the buffer is full, lines are dropped
//! and counted ([`LogGuard::dropped_lines`]) rather than slowing the process.

use std::str::FromStr;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line: timestamp, level, target, fields, span fields.
    Json,
    /// Human-readable text.
    #[default]
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Self::Json),
            "pretty" | "text" => Ok(Self::Pretty),
            other => Err(format!(
                "unknown log format `{other}`; expected `json` or `pretty`"
            )),
        }
    }
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The filter directives do not parse.
    #[error("invalid log filter `{filter}`")]
    Filter {
        /// The directives given.
        filter: String,
        /// The parse error.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber is already installed.
    #[error("logging is already initialised")]
    AlreadyInitialised,
}

/// Lines buffered for the writer thread before new ones are dropped.
const BUFFERED_LINES: usize = 64 * 1024;

/// Keeps the log writer thread alive; dropping it flushes the buffered lines. Hold it until
/// the end of `main`.
#[derive(Debug)]
pub struct LogGuard {
    _worker: tracing_appender::non_blocking::WorkerGuard,
    dropped: tracing_appender::non_blocking::ErrorCounter,
}

impl LogGuard {
    /// Lines dropped because the buffer was full.
    pub fn dropped_lines(&self) -> usize {
        self.dropped.dropped_lines()
    }
}

/// Installs the global subscriber. `filter` uses `RUST_LOG` syntax (`info,gateway=debug`);
/// the `RUST_LOG` environment variable, when set, takes precedence.
pub fn init(format: LogFormat, filter: &str) -> Result<LogGuard, LoggingError> {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_owned());
    let env_filter =
        EnvFilter::builder()
            .parse(&directives)
            .map_err(|source| LoggingError::Filter {
                filter: directives.clone(),
                source,
            })?;
    let (writer, worker) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(writer)
        .with_span_events(FmtSpan::NONE);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
    result.map_err(|_| LoggingError::AlreadyInitialised)?;
    Ok(LogGuard {
        _worker: worker,
        dropped,
    })
}
