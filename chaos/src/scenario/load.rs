//! Reading scenario files: a file, a text, or every `*.yaml` of a folder, through parse,
//! deserialize and validate; every failure comes back as located [`Diagnostics`].

use std::path::{Path, PathBuf};

use config_yaml::{Diagnostic, Diagnostics, Document, FieldPath};

use super::plan::Plan;
use super::raw::RawScenario;
use super::validate::validate;

/// One scenario file of a folder, and what it validated to.
#[derive(Debug)]
pub struct ScenarioFile {
    /// The file.
    pub path: PathBuf,
    /// Its plan, or every problem in it.
    pub result: Result<Plan, Diagnostics>,
}

/// Reads and validates the scenario file at `path`.
///
/// Files the scenario names (the gateway config template, a gateway binary path) are relative
/// to the scenario file's folder. An unreadable file is one diagnostic naming the file.
pub fn load_file(path: &Path) -> Result<Plan, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(path, "scenario file", &e))?;
    load_str(path, &text)
}

/// Validates scenario `text` as if read from `path` (which names it in diagnostics and
/// anchors the files it names).
pub fn load_str(path: &Path, text: &str) -> Result<Plan, Diagnostics> {
    let document = Document::parse(path.display().to_string(), text)?;
    let raw: RawScenario = document.deserialize()?;
    validate(&document, raw, path)
}

/// Validates every `*.yaml` file directly in `dir`, in file-name order.
///
/// Fails (with one diagnostic naming the folder) when it cannot be read or holds no `*.yaml`
/// file: a drill folder without drills is a mistake, not a pass.
pub fn load_dir(dir: &Path) -> Result<Vec<ScenarioFile>, Diagnostics> {
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, "scenario folder", &e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(dir, "scenario folder", &e))?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "yaml") && path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        let problem = "no scenario files (*.yaml) in this folder";
        return Err(Diagnostic::new(dir.display().to_string(), FieldPath::root(), problem).into());
    }
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| ScenarioFile {
            result: load_file(&path),
            path,
        })
        .collect())
}

fn unreadable(path: &Path, what: &str, error: &std::io::Error) -> Diagnostics {
    let problem = format!("cannot read {what}: {error}");
    Diagnostic::new(path.display().to_string(), FieldPath::root(), problem).into()
}
