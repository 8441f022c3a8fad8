//! `cargo xtask fuzz`: builds the reader fuzzer (`fuzz/`, crate `splatpress-fuzz`) once and
//! runs it: seeds, worker processes, findings under `<target>/fuzz/findings/`, counters in
//! `<target>/fuzz/summary.json`. `cargo xtask test` runs it for two minutes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{run, target_dir, workspace_root};

/// Seconds the test command fuzzes for.
pub const CI_SECONDS: u32 = 120;

/// `cargo xtask fuzz [--bin PATH] [--release] [fuzzer args]`: builds the fuzzer (dev profile,
/// opt-level 2 with overflow checks, unless `--release` or `--bin`), then runs it with the
/// other arguments, `--out <target>/fuzz` and `--data ../shared/data` unless given.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut bin: Option<PathBuf> = None;
    let mut release = false;
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bin" => {
                bin = Some(PathBuf::from(
                    it.next().ok_or("`fuzz --bin` needs the fuzzer's path")?,
                ))
            }
            "--release" => release = true,
            _ => rest.push(arg.clone()),
        }
    }
    let bin = match bin {
        Some(b) => b,
        None => build(release)?.0,
    };
    fuzz(&bin, &rest).map(|_| ())
}

/// Builds the fuzzer; returns its path and the seconds the build took.
pub fn build(release: bool) -> Result<(PathBuf, f64), String> {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root())
        .args(["build", "--package", "splatpress-fuzz"]);
    if release {
        cmd.arg("--release");
    }
    let secs = run::step("build the fuzzer", &mut cmd)?;
    let profile = if release { "release" } else { "debug" };
    Ok((target_dir().join(profile).join("splatpress-fuzz"), secs))
}

/// Runs the fuzzer binary with `args` (adding `--out` and `--data` defaults); fails when it
/// reports findings. Returns the seconds it ran.
pub fn fuzz(bin: &Path, args: &[String]) -> Result<f64, String> {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    if !args.iter().any(|a| a == "--out") {
        cmd.arg("--out").arg(target_dir().join("fuzz"));
    }
    if !args.iter().any(|a| a == "--data") {
        let data: OsString = workspace_root().join("../shared/data").into_os_string();
        cmd.arg("--data").arg(data);
    }
    let start = Instant::now();
    run::step("fuzz the readers", &mut cmd).map_err(|e| {
        format!(
            "{e}\n(findings under {}; replay one with `{} --replay PATH`)",
            target_dir().join("fuzz/findings").display(),
            bin.display()
        )
    })?;
    Ok(start.elapsed().as_secs_f64())
}

/// The test command's step: build (dev profile) and fuzz every reader for [`CI_SECONDS`].
pub fn ci() -> Result<f64, String> {
    let (bin, built) = build(false)?;
    let ran = fuzz(&bin, &["--seconds".into(), CI_SECONDS.to_string()])?;
    Ok(built + ran)
}
