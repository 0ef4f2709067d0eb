//! Why a report could not be written.

use std::path::PathBuf;

/// A report that could not be produced or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing the file failed.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The journal to attach verdicts to is not a JSON object.
    #[error("the journal is not a JSON object (got {kind})")]
    JournalNotObject {
        /// What it is instead (`array`, `string`, ...).
        kind: &'static str,
    },
    /// Encoding JSON failed.
    #[error("cannot encode the JSON report")]
    Json(#[source] serde_json::Error),
    /// Encoding JUnit XML failed.
    #[error("cannot encode the JUnit report")]
    Junit(#[source] quick_junit::SerializeError),
}

/// Writes `bytes` to `path`.
pub(crate) fn write(path: &std::path::Path, bytes: &[u8]) -> Result<(), ReportError> {
    std::fs::write(path, bytes).map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}
