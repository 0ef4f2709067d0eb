//! `chaos validate FILE|DIR...`: runs the startup validation path on scenario files without
//! running them, printing `ok: FILE` or every problem, one per line.

use std::io::Write;
use std::path::PathBuf;

use config_yaml::Diagnostics;

use super::load::{load_dir, load_file};
use crate::Exit;

/// Validates each path (a folder: every `*.yaml` in it, sorted) and writes the results to
/// `out`. [`Exit::Ok`] when every file is valid, [`Exit::Usage`] otherwise.
///
/// Write errors (a closed pipe) stop the output quietly; the exit status still reflects the
/// validation.
pub(crate) fn run(paths: &[PathBuf], out: &mut impl Write) -> Exit {
    let mut valid = 0usize;
    let mut invalid = 0usize;
    let mut print = |name: &str, result: Result<(), &Diagnostics>| {
        let _ = match result {
            Ok(()) => {
                valid += 1;
                writeln!(out, "ok: {name}")
            }
            Err(diagnostics) => {
                invalid += 1;
                writeln!(out, "{diagnostics}")
            }
        };
    };
    for path in paths {
        if path.is_dir() {
            match load_dir(path) {
                Ok(files) => {
                    for file in files {
                        print(
                            &file.path.display().to_string(),
                            file.result.as_ref().map(|_| ()),
                        );
                    }
                }
                Err(diagnostics) => print(&path.display().to_string(), Err(&diagnostics)),
            }
        } else {
            let result = load_file(path);
            print(&path.display().to_string(), result.as_ref().map(|_| ()));
        }
    }
    if valid + invalid > 1 {
        let _ = writeln!(out, "{valid} valid, {invalid} invalid");
    }
    if invalid == 0 { Exit::Ok } else { Exit::Usage }
}
