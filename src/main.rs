//! The `splatpress` command: parse, run, print errors once, map them to exit codes.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let runtime_dir = quiet_mesa();
    let code = match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("splatpress: error: {err}");
            ExitCode::from(1)
        }
    };
    if let Some(dir) = runtime_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    code
}

/// Mesa's drivers print "error: XDG_RUNTIME_DIR is invalid or not set" on every GPU probe
/// of a headless server or container, which reads like a failure of ours. Give them a
/// private, empty runtime folder for the life of the process when none is set.
#[cfg(unix)]
fn quiet_mesa() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("splatpress-runtime-{}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).ok()?;
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    Some(dir)
}

#[cfg(not(unix))]
fn quiet_mesa() -> Option<std::path::PathBuf> {
    None
}
