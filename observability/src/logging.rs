//! Log output for binaries: JSON lines (for machines) or human-readable text, filtered with
//! `RUST_LOG`-style directives, always on stderr so stdout stays free for program output.

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

/// Installs the global subscriber. `filter` uses `RUST_LOG` syntax (`info,gateway=debug`);
/// the `RUST_LOG` environment variable, when set, takes precedence.
pub fn init(format: LogFormat, filter: &str) -> Result<(), LoggingError> {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_owned());
    let env_filter =
        EnvFilter::builder()
            .parse(&directives)
            .map_err(|source| LoggingError::Filter {
                filter: directives.clone(),
                source,
            })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
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
    result.map_err(|_| LoggingError::AlreadyInitialised)
}
