//! The `splatpress` command: parse, run, print errors once, map them to exit codes.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("splatpress: error: {err}");
            ExitCode::from(1)
        }
    }
}
