//! `cargo xtask test` (everything CI runs) and `cargo xtask bench`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{apt, npm, run, target_dir, workspace_root};

/// Environment variable that turns a missing splat-transform into a test failure.
const REQUIRE_INTEROP: &str = "SPLATPRESS_REQUIRE_INTEROP";

/// Installs what the tests need, then runs fmt, clippy and the test suite; stops at the
/// first failing step. `args`: `[--no-install] [-- <cargo test args>]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let (options, test_args) = match args.iter().position(|a| a == "--") {
        Some(split) => (&args[..split], &args[split + 1..]),
        None => (args, &[][..]),
    };
    let mut install = true;
    for option in options {
        match option.as_str() {
            "--no-install" => install = false,
            other => {
                return Err(format!(
                    "`test`: unknown option `{other}` (see `cargo xtask help`)"
                ));
            }
        }
    }
    let root = workspace_root();
    let target = target_dir();
    let mut timings: Vec<(&str, f64)> = Vec::new();

    let mut test_env: Vec<(&str, OsString)> = Vec::new();
    if install {
        timings.push(("system packages", apt::ensure()?));
        timings.push(("rust components", ensure_rust_components()?));
        let tools = npm::ensure(&target)?;
        timings.push(("npm tools", tools.install_secs));
        test_env.push(("SPLAT_TRANSFORM", tools.splat_transform.into_os_string()));
        test_env.push((
            "SPLAT_TRANSFORM_LATEST",
            tools.splat_transform_latest.into_os_string(),
        ));
        test_env.push(("SPLAT_TRANSFORM_NODE", tools.node.into_os_string()));
        test_env.push((
            "SPLATPRESS_NODE_MODULES",
            tools.node_modules.into_os_string(),
        ));
        test_env.push((REQUIRE_INTEROP, "1".into()));
        let browser_dir = target.join("browser");
        timings.push((
            "browser setup",
            run::step(
                "browser setup",
                Command::new("bash")
                    .arg(root.join("tests/browser/setup.sh"))
                    .env("SPLATPRESS_BROWSER_DIR", &browser_dir),
            )?,
        ));
        test_env.push(("SPLATPRESS_BROWSER_DIR", browser_dir.into_os_string()));
        test_env.push(("SPLATPRESS_REQUIRE_BROWSER", "1".into()));
        // CI has no GPU: the wgpu tests must find lavapipe, never skip.
        test_env.push(("REQUIRE_GPU_ADAPTER", "1".into()));
    } else if std::env::var_os("SPLAT_TRANSFORM").is_none() {
        let wrapper = target.join("npm/splat-transform");
        if run::is_executable(&wrapper) {
            eprintln!(
                "==> --no-install: using the splat-transform installed earlier at {}",
                wrapper.display()
            );
            test_env.push(("SPLAT_TRANSFORM", wrapper.into_os_string()));
            test_env.push((REQUIRE_INTEROP, "1".into()));
            test_env.push((
                "SPLAT_TRANSFORM_LATEST",
                target.join("npm/splat-transform-latest").into_os_string(),
            ));
            test_env.push((
                "SPLATPRESS_NODE_MODULES",
                target.join("npm/node_modules").into_os_string(),
            ));
        } else {
            eprintln!("==> --no-install: splat-transform not installed, interop tests will skip");
        }
    }
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Mesa prints "XDG_RUNTIME_DIR is invalid" on every wgpu start without one.
        test_env.push((
            "XDG_RUNTIME_DIR",
            private_dir(&target.join("xdg-runtime"))?.into_os_string(),
        ));
    }

    let cargo = cargo();
    timings.push((
        "cargo fmt",
        run::step(
            "cargo fmt",
            cargo_in(&cargo, &root).args(["fmt", "--all", "--", "--check"]),
        )?,
    ));
    timings.push((
        "cargo clippy",
        run::step(
            "cargo clippy",
            cargo_in(&cargo, &root).args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        )?,
    ));
    for features in FEATURE_SETS {
        let label = format!("clippy, features [{features}]");
        let mut clippy = cargo_in(&cargo, &root);
        clippy.args(["clippy", "--all-targets", "--no-default-features"]);
        if !features.is_empty() {
            clippy.args(["--features", features]);
        }
        clippy.args(["--", "-D", "warnings"]);
        timings.push(("clippy features", run::step(&label, &mut clippy)?));
    }
    timings.push((
        "cargo doc",
        run::step(
            "cargo doc",
            cargo_in(&cargo, &root)
                .args(["doc", "--no-deps", "--lib"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )?,
    ));
    let ptx_start = std::time::Instant::now();
    eprintln!("==> cargo xtask ptx --check");
    crate::ptx::run(&["--check".to_string()])
        .map_err(|e| format!("step `ptx --check` failed: {e}"))?;
    timings.push(("ptx --check", ptx_start.elapsed().as_secs_f64()));
    let portable_start = std::time::Instant::now();
    let portable = crate::portable::binary(&root, &target)?;
    crate::portable::check(&portable, &target)?;
    timings.push(("portable binary", portable_start.elapsed().as_secs_f64()));
    // apt installs podman when it can (root on Debian): then the container must be tested.
    let container_required = install && run::is_root() && run::on_path("dpkg");
    timings.push((
        "container",
        crate::container::test(&root, &target, &portable, container_required)?,
    ));
    let mut test = cargo_in(&cargo, &root);
    // --no-fail-fast: one failing test binary should not hide the others' results.
    // The test hooks (failure injection) are compiled into the test build only.
    test.args([
        "test",
        "--workspace",
        "--no-fail-fast",
        "--features",
        "splatpress/test-hooks",
    ])
    .args(test_args);
    for (key, value) in &test_env {
        test.env(key, value);
    }
    // Tests record their skips here (the harness captures their output); listed below.
    let skip_log = target.join("test-skips.log");
    let _ = std::fs::remove_file(&skip_log);
    test.env("SPLATPRESS_SKIP_LOG", &skip_log);
    let tested = run::step("cargo test", &mut test);
    print_skips(&skip_log);
    timings.push(("cargo test", tested?));
    // Two minutes of the reader fuzzer over every reader (its build included).
    timings.push(("fuzz readers", crate::fuzz::ci()?));

    // The wheel is built once and tested installed, in a fresh venv.
    let wheel_start = std::time::Instant::now();
    let wheel = crate::dist::wheel(&target)?;
    timings.push(("python wheel", wheel_start.elapsed().as_secs_f64()));
    timings.push(("pytest", crate::pytest::run(&target, &wheel)?));

    eprintln!("\n==> all steps passed");
    for (step, secs) in &timings {
        eprintln!("    {step:<16} {secs:>7.1} s");
    }
    eprintln!(
        "    {:<16} {:>7.1} s",
        "total",
        timings.iter().map(|(_, s)| s).sum::<f64>()
    );
    Ok(())
}

/// Feature sets built (and linted) besides the default one: the CPU-only library, each
/// optional part alone, and everything with the test hooks the tests run with.
const FEATURE_SETS: [&str; 5] = ["", "cuda", "wgpu", "cli", "cli,cuda,wgpu,test-hooks"];

/// Prints every skip the tests recorded, with its reason, or that none was.
fn print_skips(log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let skips: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if skips.is_empty() {
        eprintln!("\n==> skipped tests: none");
        return;
    }
    eprintln!(
        "\n==> skipped tests ({}), each with its reason:",
        skips.len()
    );
    for line in skips {
        eprintln!("    {line}");
    }
}

/// Runs the benchmarks: `cargo bench --workspace [args]`.
pub fn bench(args: &[String]) -> Result<(), String> {
    run::step(
        "cargo bench",
        cargo_in(&cargo(), &workspace_root())
            .args(["bench", "--workspace"])
            .args(args),
    )?;
    Ok(())
}

/// Adds rustfmt and clippy through rustup when `cargo fmt` / `cargo clippy` are missing.
fn ensure_rust_components() -> Result<f64, String> {
    let cargo = cargo();
    let missing: Vec<&str> = [("fmt", "rustfmt"), ("clippy", "clippy")]
        .into_iter()
        .filter(|(sub, _)| run::output(Command::new(&cargo).args([sub, "--version"])).is_none())
        .map(|(_, component)| component)
        .collect();
    if missing.is_empty() {
        return Ok(0.0);
    }
    if !run::on_path("rustup") {
        return Err(format!(
            "cargo is missing {} and there is no rustup to add it",
            missing.join(", ")
        ));
    }
    run::step(
        "rustup component add",
        Command::new("rustup")
            .args(["component", "add"])
            .args(&missing),
    )
}

/// The cargo that runs us (`$CARGO`), or `cargo` from PATH.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn cargo_in(cargo: &OsString, root: &Path) -> Command {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root);
    cmd
}

/// Creates `dir` (mode 0700, as XDG_RUNTIME_DIR must be) and returns it.
fn private_dir(dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("cannot set the mode of {}: {e}", dir.display()))?;
    Ok(dir.to_path_buf())
}
