//! Reading a config file: YAML parse, deserialization into `raw`, then `validate`.

use std::path::Path;

use config_yaml::{Diagnostics, Document};

use super::Config;
use super::raw::RawConfig;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid config; every problem is listed.
    #[error("invalid config ({} problem{})", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Invalid(Diagnostics),
}

impl LoadError {
    /// The located problems, when the config was invalid.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Self::Invalid(d) => Some(d),
            Self::Read { .. } => None,
        }
    }
}

/// Reads, parses and validates the config file at `path`.
pub fn load_file(path: &Path) -> Result<Config, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    load_str(&path.display().to_string(), &text)
}

/// Parses and validates config text; `source` names it in diagnostics.
pub fn load_str(source: &str, text: &str) -> Result<Config, LoadError> {
    let document = Document::parse(source, text).map_err(LoadError::Invalid)?;
    let raw: RawConfig = document.deserialize().map_err(LoadError::Invalid)?;
    super::validate::validate(&document, raw).map_err(LoadError::Invalid)
}
