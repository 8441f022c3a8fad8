//! Running commands: streamed output, timed, with a message that names the failing step.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Runs `cmd` with inherited stdout/stderr under the label `step`; returns its seconds.
pub fn step(step: &str, cmd: &mut Command) -> Result<f64, String> {
    eprintln!("\n==> {step}: {}", describe(cmd));
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("step `{step}`: could not start `{}`: {e}", describe(cmd)))?;
    let secs = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!(
            "step `{step}` failed ({status}) after {secs:.1} s: {}",
            describe(cmd)
        ));
    }
    eprintln!("==> {step}: ok ({secs:.1} s)");
    Ok(secs)
}

/// Runs `cmd` quietly and returns its stdout followed by its stderr (trimmed) when it
/// succeeds, `None` otherwise (including when the program does not exist).
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).output().ok()?;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.success().then(|| text.trim().to_string())
}

/// True when `program` can be found on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| is_executable(&dir.join(program)))
    })
}

/// True for an existing regular file with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The command line as a user could retype it (environment changes are not shown).
pub fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// True when this process runs as root (uid 0), read from /proc.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|uids| uids.split_whitespace().next())
            == Some("0")
    })
}
