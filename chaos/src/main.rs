//! The `chaos` binary: everything lives in the library; see `chaos::run_cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    chaos::run_cli(std::env::args_os()).into()
}
