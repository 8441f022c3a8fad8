//! Shared helpers for the integration tests: temporary directories, the shared real-data
//! folder, running commands (the splatpress binary, third-party tools) with failure messages
//! that show what ran, and a tiny independent binary PLY writer.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use splatpress::Scene;

/// A fresh temporary directory, removed when dropped. `label` shows up in its name so a
/// leftover directory says which test made it.
pub fn temp_dir(label: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("splatpress-{label}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory for {label}: {e}"))
}

/// Records a skip: prints `skipped: <test>: <reason>` and, when `SPLATPRESS_SKIP_LOG` names a
/// file (the test command sets it), appends the line there, so the test command lists every
/// skip with its reason even though the harness captures test output. Tests call this and
/// return instead of passing silently.
pub fn skip(test: &str, reason: &str) {
    use std::io::Write as _;
    let line = format!("skipped: {test}: {reason}");
    eprintln!("{line}");
    if let Some(log) = std::env::var_os("SPLATPRESS_SKIP_LOG") {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = appended {
            panic!(
                "cannot append to the skip log {}: {e}",
                Path::new(&log).display()
            );
        }
    }
}

/// The real scenes beside the repository (`../shared/data`), if present.
pub fn shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"));
    dir.is_dir().then_some(dir)
}

/// A file under the shared data folder, or `None` (after printing `skipped: …`) when the
/// folder or the file is absent.
pub fn shared_file(test: &str, relative: &str) -> Option<PathBuf> {
    let Some(dir) = shared_data() else {
        skip(
            test,
            "../shared/data is absent (real scenes live beside the repository)",
        );
        return None;
    };
    let path = dir.join(relative);
    if !path.exists() {
        skip(test, &format!("{} is absent", path.display()));
        return None;
    }
    Some(path)
}

/// The splatpress binary built for these tests.
pub fn splatpress_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_splatpress"))
}

/// Cargo's target directory, derived from where the test binary's splatpress lives
/// (`<target>/<profile>/splatpress`).
pub fn target_dir() -> PathBuf {
    let bin = splatpress_bin();
    bin.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("cannot derive the target directory from {}", bin.display()))
}

/// Runs splatpress with `args` in `cwd` and returns what it did (success not required).
pub fn splatpress<I, S>(cwd: &Path, args: I) -> Ran
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(splatpress_bin());
    cmd.args(args).current_dir(cwd);
    Ran::new(cmd)
}

/// A finished command with everything needed to explain a failure.
pub struct Ran {
    /// The command line, as it could be retyped.
    pub command: String,
    /// Its working directory.
    pub cwd: PathBuf,
    /// Exit status, stdout and stderr.
    pub output: Output,
}

impl Ran {
    /// Runs `cmd` to completion, capturing stdout and stderr; panics only when it cannot start.
    pub fn new(mut cmd: Command) -> Ran {
        let command = describe(&cmd);
        let cwd = cmd
            .get_current_dir()
            .map(Path::to_path_buf)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot start `{command}` in {}: {e}", cwd.display()));
        Ran {
            command,
            cwd,
            output,
        }
    }

    /// Panics with the command, directory, status and both streams unless it exited 0.
    pub fn success(self) -> Ran {
        if !self.output.status.success() {
            panic!("command failed:\n{}", self.report());
        }
        self
    }

    /// Standard output as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Standard error as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Command, directory, status, stdout and stderr, for failure messages.
    pub fn report(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "  command: {}", self.command);
        let _ = writeln!(text, "  cwd:     {}", self.cwd.display());
        let _ = writeln!(text, "  status:  {}", self.output.status);
        let _ = writeln!(text, "  --- stdout ---\n{}", self.stdout().trim_end());
        let _ = writeln!(text, "  --- stderr ---\n{}", self.stderr().trim_end());
        text
    }
}

/// The command line as a user could retype it.
pub fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Writes `scene` as a binary little-endian 3DGS PLY in the INRIA property order
/// (x y z nx ny nz f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3). Deliberately
/// independent of `splatpress::formats::ply`, so a test can feed third-party tools input that
/// our own writer did not produce.
pub fn write_ply(path: &Path, scene: &Scene) {
    let rest = scene.rest_len();
    let mut names: Vec<String> = [
        "x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend((0..rest).map(|i| format!("f_rest_{i}")));
    names.extend(
        [
            "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let mut bytes = format!(
        "ply\nformat binary_little_endian 1.0\nelement vertex {}\n",
        scene.len()
    );
    for name in &names {
        let _ = writeln!(bytes, "property float {name}");
    }
    bytes.push_str("end_header\n");
    let mut bytes = bytes.into_bytes();
    bytes.reserve(scene.len() * names.len() * 4);
    for i in 0..scene.len() {
        let mut row: Vec<f32> = Vec::with_capacity(names.len());
        row.extend(scene.positions[i]);
        row.extend([0.0; 3]);
        row.extend(scene.sh_dc[i]);
        row.extend_from_slice(scene.rest(i));
        row.push(scene.opacities[i]);
        row.extend(scene.log_scales[i]);
        row.extend(scene.rotations[i]);
        for v in row {
            bytes.extend(v.to_le_bytes());
        }
    }
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// What `splatpress devices --json` reports on this machine.
pub struct Devices {
    /// The report.
    pub json: serde_json::Value,
    /// The report as printed (for failure messages).
    pub text: String,
}

impl Devices {
    /// Runs `splatpress devices --json` in `dir`.
    pub fn probe(dir: &Path) -> Devices {
        let ran = splatpress(dir, ["devices", "--json"]).success();
        let text = ran.stdout();
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("devices --json is not JSON ({e}):\n{text}"));
        Devices { json, text }
    }

    /// Whether `--backend auto` may use `backend` (wgpu: a hardware adapter).
    pub fn available(&self, backend: &str) -> bool {
        self.json["backends"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|b| b["backend"] == backend && b["available"] == true)
    }

    /// Whether wgpu finds any adapter, software ones included.
    pub fn any_adapter(&self) -> bool {
        self.json["wgpu_adapters"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    }
}
