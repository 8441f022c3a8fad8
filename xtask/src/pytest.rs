//! The Python test suite against the installed wheel: a fresh venv with the wheel, pytest,
//! Ray and the SageMaker SDK, then `pytest python/tests` with the variables that turn the Ray
//! and SageMaker skips into failures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::dist::{venv_install, with_path_first};
use crate::{run, workspace_root};

/// The test runner installed beside the wheel by [`run`].
const PYTEST: &str = "pytest==9.2.0";
/// Ray with Ray Data, for python/tests/test_ray.py (deploy/ray/compress_scenes.py).
const RAY: &str = "ray[data]==2.60.0";
/// The SageMaker Python SDK v2 the Processing launcher is written for (python/tests/test_sagemaker.py).
const SAGEMAKER: &str = "sagemaker>=2.250,<3";
/// Installs the wheel, pytest, Ray and the SageMaker SDK into a new venv at `<target>/python-test-venv` (removed
/// and created afresh every time, so nothing from an earlier wheel survives) and runs
/// `pytest python/tests -q` in it; returns the seconds spent. Collecting no test (pytest's
/// exit status 5) is a failure.
pub fn run(target: &Path, wheel: &Path) -> Result<f64, String> {
    let start = Instant::now();
    let root = workspace_root();
    let venv = target.join("python-test-venv");
    if venv.exists() {
        std::fs::remove_dir_all(&venv).map_err(|e| format!("removing {}: {e}", venv.display()))?;
    }
    let bin = venv.join("bin");
    let python = venv_install(
        &venv,
        "wheel + pytest + ray + sagemaker",
        &[
            wheel.as_os_str(),
            PYTEST.as_ref(),
            RAY.as_ref(),
            SAGEMAKER.as_ref(),
        ],
    )?;
    let mut pytest = Command::new(&python);
    pytest
        .current_dir(&root)
        .args([
            "-m",
            "pytest",
            "python/tests",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        // The tests run the console command `splatpress` from this venv.
        .env("PATH", with_path_first(&bin))
        .env("VIRTUAL_ENV", &venv)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // Ray is installed above: test_ray.py must run, not skip.
        .env("SPLATPRESS_REQUIRE_RAY", "1")
        .env("SPLATPRESS_REQUIRE_SAGEMAKER", "1");
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Mesa prints "XDG_RUNTIME_DIR is invalid" on every wgpu probe without one.
        pytest.env("XDG_RUNTIME_DIR", private_dir(&target.join("xdg-runtime"))?);
    }
    eprintln!("\n==> pytest: {}", run::describe(&pytest));
    let pytest_start = Instant::now();
    let status = pytest
        .status()
        .map_err(|e| format!("could not start pytest: {e}"))?;
    let pytest_secs = pytest_start.elapsed().as_secs_f64();
    match status.code() {
        Some(0) => eprintln!("==> pytest: ok ({pytest_secs:.1} s)"),
        Some(5) => {
            return Err(format!(
                "pytest collected no tests from {} (exit status 5)",
                root.join("python/tests").display()
            ));
        }
        _ => {
            return Err(format!(
                "pytest failed ({status}) after {pytest_secs:.1} s against {}",
                wheel.display()
            ));
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Creates `dir` with mode 0700 (as XDG_RUNTIME_DIR must be) and returns it.
fn private_dir(dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("setting the mode of {}: {e}", dir.display()))?;
    Ok(dir.to_path_buf())
}
