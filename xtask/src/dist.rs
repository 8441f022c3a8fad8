//! `cargo xtask dist [--force] [--test]`: builds the Python wheel (`pip install splatpress`)
//! and checks that it installs on any manylinux2014 x86_64 system.
//!
//! The wheel is built by maturin with zig as the linker (`--zig`), which links against
//! glibc 2.17 whatever this machine's glibc is, into `<target>/dist/`: one abi3 wheel
//! (`cp38-abi3`) for CPython 3.8 and newer. maturin and zig come from PyPI, pinned
//! ([`TOOLS`]), into a venv at `<target>/dist-tools/venv` (`PYTHON` picks the interpreter
//! that creates it); a marker naming the pins makes later runs skip pip.
//!
//! Then the wheel is checked: its platform tags (file name and `WHEEL`) are exactly
//! manylinux2014 / manylinux_2_17 x86_64, its ABI tag is abi3, and its extension module
//! (read with `objdump`) needs no glibc symbol version newer than [`GLIBC_MAX`], no
//! libstdc++ / libgcc symbol version newer than manylinux2014 allows, and no library outside
//! the manylinux2014 list.
//!
//! [`wheel`] and [`python_tests`] are for the test command: the first builds the wheel when
//! a source is newer than it, the second runs `python/tests` with pytest against the
//! installed wheel in a fresh venv.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use crate::{run, target_dir, workspace_root};

/// PyPI packages of the build venv: maturin and the zig toolchain it links with.
const TOOLS: [&str; 3] = [
    "maturin==1.16.0",
    "ziglang==0.17.1",
    "cargo-zigbuild==0.24.1",
];
/// Newest glibc symbol version the extension may need (manylinux2014 = CentOS 7).
const GLIBC_MAX: &str = "2.17";
/// Newest symbol versions of the other manylinux2014 libraries (PEP 599).
const OTHER_MAX: [(&str, &str); 3] = [
    ("GLIBCXX_", "3.4.19"),
    ("CXXABI_", "1.3.7"),
    ("GCC_", "4.8.0"),
];
/// Platform tags a manylinux2014 x86_64 wheel carries (maturin writes both).
const PLATFORM_TAGS: [&str; 2] = ["manylinux2014_x86_64", "manylinux_2_17_x86_64"];
/// Shared libraries a manylinux2014 extension may link against (PEP 599).
const ALLOWED_LIBS: [&str; 20] = [
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libm.so.6",
    "libdl.so.2",
    "librt.so.1",
    "libc.so.6",
    "libnsl.so.1",
    "libutil.so.1",
    "libpthread.so.0",
    "libresolv.so.2",
    "libX11.so.6",
    "libXext.so.6",
    "libXrender.so.1",
    "libICE.so.6",
    "libSM.so.6",
    "libGL.so.1",
    "libgobject-2.0.so.0",
    "libgthread-2.0.so.0",
    "libglib-2.0.so.0",
    "ld-linux-x86-64.so.2",
];

/// Entry point of the `dist` subcommand; `args` are the words after `dist`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut force = false;
    let mut test = false;
    for arg in args {
        match arg.as_str() {
            "--force" => force = true,
            "--test" => test = true,
            other => {
                return Err(format!(
                    "dist: unknown argument {other:?} (--force, --test; see `cargo xtask help`)"
                ));
            }
        }
    }
    let target = target_dir();
    // The portable binary first: the same glibc 2.17 floor as the wheel.
    let binary = crate::portable::binary(&crate::workspace_root(), &target)?;
    crate::portable::check(&binary, &target)?;
    println!("binary: {}", binary.display());
    let start = Instant::now();
    if force {
        build(&target)?;
    }
    let wheel = self::wheel(&target)?;
    let secs = start.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&wheel).map(|m| m.len()).unwrap_or(0);
    println!(
        "wheel: {} ({:.1} MiB; built or found and checked in {secs:.1} s)",
        wheel.display(),
        bytes as f64 / (1 << 20) as f64
    );
    if test {
        let secs = crate::pytest::run(&target, &wheel)?;
        println!("python tests: passed ({secs:.1} s)");
    }
    Ok(())
}

/// The wheel in `<target>/dist/`, built first when there is none or a source file (the
/// library, its kernels and shaders, the Python crate and package, the manifests) is newer,
/// and checked (tags, glibc 2.17, libraries) either way.
pub fn wheel(target: &Path) -> Result<PathBuf, String> {
    let wheel = fresh_wheel(target)?;
    eprintln!("==> dist: {}", check(target, &wheel)?);
    Ok(wheel)
}

/// The wheel in `<target>/dist/`, built first when there is none or a source is newer.
fn fresh_wheel(target: &Path) -> Result<PathBuf, String> {
    let dist = target.join("dist");
    if let Some(wheel) = only_wheel(&dist)? {
        let built = modified(&wheel).unwrap_or(SystemTime::UNIX_EPOCH);
        match newest_source(&workspace_root())? {
            Some((path, time)) if time > built => {
                eprintln!(
                    "==> dist: {} is newer than {}: rebuilding",
                    path.display(),
                    wheel.display()
                );
            }
            _ => {
                eprintln!("==> dist: {} is up to date", wheel.display());
                return Ok(wheel);
            }
        }
    }
    build(target)
}

/// Builds the wheel into `<target>/dist/` (removing older ones first) and returns its path.
fn build(target: &Path) -> Result<PathBuf, String> {
    let venv = tools_venv(target)?;
    let bin = venv.join("bin");
    let dist = target.join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("creating {}: {e}", dist.display()))?;
    for old in wheels_in(&dist)? {
        std::fs::remove_file(&old).map_err(|e| format!("removing {}: {e}", old.display()))?;
    }
    let root = workspace_root();
    run::step(
        "maturin build",
        Command::new(bin.join("maturin"))
            .current_dir(&root)
            .args(["build", "--release", "--zig", "--strip"])
            .args(["--compatibility", "manylinux2014", "--auditwheel", "check"])
            .arg("--manifest-path")
            .arg(root.join("python").join("Cargo.toml"))
            .arg("--interpreter")
            .arg(bin.join("python"))
            .arg("--out")
            .arg(&dist)
            // The venv first on PATH, so that maturin finds its zig (the ziglang package).
            .env("PATH", with_path_first(&bin))
            .env("VIRTUAL_ENV", &venv),
    )?;
    only_wheel(&dist)?.ok_or_else(|| format!("maturin wrote no wheel into {}", dist.display()))
}

/// Checks the wheel's tags and its extension's needs; returns a one-paragraph summary.
fn check(target: &Path, wheel: &Path) -> Result<String, String> {
    let name = wheel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // {distribution}-{version}-{python tag}-{abi tag}-{platform tag}.whl
    let parts: Vec<&str> = name.trim_end_matches(".whl").split('-').collect();
    let [_, _, python_tag, abi_tag, platform] = parts[..] else {
        return Err(format!("{name}: not a wheel file name"));
    };
    let platforms: Vec<&str> = platform.split('.').collect();
    if python_tag != "cp38"
        || abi_tag != "abi3"
        || platforms.is_empty()
        || platforms.iter().any(|p| !PLATFORM_TAGS.contains(p))
    {
        return Err(format!(
            "{name}: want a cp38-abi3 wheel tagged only {} (a zig build for glibc 2.17), \
             got `{python_tag}-{abi_tag}` and platforms {platforms:?}",
            PLATFORM_TAGS.join(" / ")
        ));
    }

    let unpacked = target.join("dist-tools").join("unpacked");
    if unpacked.exists() {
        std::fs::remove_dir_all(&unpacked)
            .map_err(|e| format!("removing {}: {e}", unpacked.display()))?;
    }
    let listing = stdout_of(
        Command::new(base_python())
            .args(["-c", UNPACK_SCRIPT])
            .arg(wheel)
            .arg(&unpacked),
        "reading the wheel",
    )?;
    let tags: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.strip_prefix("tag "))
        .collect();
    let modules: Vec<PathBuf> = listing
        .lines()
        .filter_map(|l| l.strip_prefix("so "))
        .map(PathBuf::from)
        .collect();
    let bad_tags: Vec<&&str> = tags
        .iter()
        .filter(|t| {
            !PLATFORM_TAGS
                .iter()
                .any(|p| t.ends_with(&format!("-abi3-{p}")))
        })
        .collect();
    if tags.is_empty() || !bad_tags.is_empty() {
        return Err(format!(
            "{name}: the WHEEL file's tags {tags:?} are not all abi3 {}",
            PLATFORM_TAGS.join(" / ")
        ));
    }
    let [module] = &modules[..] else {
        return Err(format!(
            "{name}: want exactly one extension module (.so), found {modules:?}"
        ));
    };

    ensure_objdump()?;
    let symbols = stdout_of(Command::new("objdump").arg("-T").arg(module), "objdump -T")?;
    let headers = stdout_of(Command::new("objdump").arg("-p").arg(module), "objdump -p")?;
    let mut problems = Vec::new();
    let glibc = newest_version(&symbols, "GLIBC_");
    match &glibc {
        Some(v) if newer(v, GLIBC_MAX) => problems.push(format!(
            "needs glibc {v} (symbols versioned GLIBC_{v}), newer than manylinux2014's {GLIBC_MAX}"
        )),
        Some(_) => {}
        None => problems.push("no GLIBC_ symbol versions found (objdump output changed?)".into()),
    }
    if symbols.contains("GLIBC_PRIVATE") {
        problems.push("uses GLIBC_PRIVATE symbols".into());
    }
    let mut others = Vec::new();
    for (prefix, max) in OTHER_MAX {
        if let Some(v) = newest_version(&symbols, prefix) {
            if newer(&v, max) {
                problems.push(format!(
                    "needs {prefix}{v}, newer than manylinux2014's {prefix}{max}"
                ));
            }
            others.push(format!("{prefix}{v}"));
        }
    }
    let needed: Vec<&str> = headers
        .lines()
        .filter_map(|l| l.trim().strip_prefix("NEEDED"))
        .map(str::trim)
        .collect();
    let foreign: Vec<&&str> = needed
        .iter()
        .filter(|l| !ALLOWED_LIBS.contains(l))
        .collect();
    if !foreign.is_empty() {
        problems.push(format!(
            "links libraries outside manylinux2014: {foreign:?}"
        ));
    }
    let shown = module
        .strip_prefix(&unpacked)
        .unwrap_or(module)
        .display()
        .to_string();
    if !problems.is_empty() {
        return Err(format!(
            "{name}: {shown} is not manylinux2014-compatible: {}",
            problems.join("; ")
        ));
    }
    Ok(format!(
        "check: tags {} ok; {shown}: newest glibc symbol version GLIBC_{} <= {GLIBC_MAX} ok{}; \
         needs {}",
        tags.join(", "),
        glibc.unwrap_or_default(),
        if others.is_empty() {
            String::new()
        } else {
            format!(" ({})", others.join(", "))
        },
        needed.join(", ")
    ))
}

/// Unzips the wheel's `.so` files into argv[2] and prints `tag <tag>` for each `Tag:` of
/// the WHEEL file and `so <path>` for each module extracted.
const UNPACK_SCRIPT: &str = r#"
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.endswith(".dist-info/WHEEL"):
            for line in z.read(name).decode().splitlines():
                if line.startswith("Tag:"):
                    print("tag", line.split(":", 1)[1].strip())
        elif name.endswith(".so"):
            print("so", z.extract(name, out))
"#;

/// The newest version `X.Y[.Z]` that follows `prefix` anywhere in `text` (objdump writes
/// symbol versions as `GLIBC_2.14` or `(GLIBC_2.14)`).
fn newest_version(text: &str, prefix: &str) -> Option<String> {
    let mut newest: Option<String> = None;
    for (at, _) in text.match_indices(prefix) {
        // Skip longer names that end in the prefix (`XGLIBC_`), but not `(GLIBC_`.
        if text[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let version: String = text[at + prefix.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let version = version.trim_end_matches('.');
        if version.is_empty() {
            continue;
        }
        if newest.as_deref().is_none_or(|n| newer(version, n)) {
            newest = Some(version.to_string());
        }
    }
    newest
}

/// Whether dotted version `a` is newer than `b` (numerically, part by part).
fn newer(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parts(a) > parts(b)
}

/// Installs binutils (for `objdump`) when missing and we are root on Debian.
fn ensure_objdump() -> Result<(), String> {
    if run::on_path("objdump") {
        return Ok(());
    }
    if !(run::is_root() && run::on_path("apt-get")) {
        return Err(
            "objdump is needed to check the wheel's glibc needs: install binutils".to_string(),
        );
    }
    run::step(
        "apt-get update",
        Command::new("apt-get").args(["update", "-q"]),
    )?;
    run::step(
        "apt-get install binutils",
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", "binutils"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    Ok(())
}

/// The venv `<target>/dist-tools/venv` with [`TOOLS`] (maturin for the wheel, zig and
/// cargo-zigbuild for the portable binary), created and filled on first use.
pub(crate) fn tools_venv(target: &Path) -> Result<PathBuf, String> {
    let venv = target.join("dist-tools").join("venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join("splatpress-tools-installed");
    let wanted = TOOLS.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|text| text == wanted)
        && run::is_executable(&venv.join("bin").join("maturin"))
        && python.exists()
    {
        return Ok(venv);
    }
    let tools: Vec<&std::ffi::OsStr> = TOOLS.iter().map(|t| t.as_ref()).collect();
    venv_install(&venv, "maturin + zig + cargo-zigbuild", &tools)?;
    std::fs::write(&marker, wanted).map_err(|e| format!("writing {}: {e}", marker.display()))?;
    Ok(venv)
}

/// Creates the venv `venv` unless it exists and pip-installs `packages` into it (`label`
/// names them in the step line); returns the venv's python.
pub fn venv_install(
    venv: &Path,
    label: &str,
    packages: &[&std::ffi::OsStr],
) -> Result<PathBuf, String> {
    let python = venv.join("bin").join("python");
    if !python.exists() {
        run::step(
            &format!("venv {}", venv.display()),
            Command::new(base_python()).args(["-m", "venv"]).arg(venv),
        )?;
    }
    run::step(
        &format!("pip install {label}"),
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages),
    )?;
    Ok(python)
}

/// The interpreter that creates venvs: `$PYTHON`, or `python3`.
fn base_python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs `cmd` quietly; its stdout when it succeeds, else an error naming `what`.
fn stdout_of(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: could not start `{}`: {e}", run::describe(cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `$PATH` with `dir` in front.
pub(crate) fn with_path_first(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_else(|_| dir.as_os_str().to_owned())
}

/// The wheels (`splatpress-*.whl`) in `dir`, if it exists.
fn wheels_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut wheels: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("splatpress-") && n.ends_with(".whl"))
        })
        .collect();
    wheels.sort();
    Ok(wheels)
}

/// The one wheel in `dir`, `None` when there is none; several is an error.
fn only_wheel(dir: &Path) -> Result<Option<PathBuf>, String> {
    let mut wheels = wheels_in(dir)?;
    match wheels.len() {
        0 => Ok(None),
        1 => Ok(wheels.pop()),
        _ => Err(format!(
            "several wheels in {}: {wheels:?}; remove them or run `cargo xtask dist --force`",
            dir.display()
        )),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The newest file among the wheel's sources, with its time.
fn newest_source(root: &Path) -> Result<Option<(PathBuf, SystemTime)>, String> {
    let mut newest: Option<(PathBuf, SystemTime)> = None;
    let mut visit = |path: PathBuf| {
        if let Some(time) = modified(&path)
            && newest.as_ref().is_none_or(|(_, t)| time > *t)
        {
            newest = Some((path, time));
        }
    };
    for file in ["Cargo.toml", "Cargo.lock"] {
        visit(root.join(file));
    }
    for dir in ["src", "kernels", "wgsl", "python"] {
        walk(&root.join(dir), &mut visit)?;
    }
    Ok(newest)
}

/// Calls `visit` on every file under `dir`, except the Python tests and caches (not in the
/// wheel).
fn walk(dir: &Path, visit: &mut impl FnMut(PathBuf)) -> Result<(), String> {
    if !dir.is_dir() {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "__pycache__" || name.starts_with('.') || path.ends_with("python/tests") {
            continue;
        }
        if path.is_dir() {
            walk(&path, visit)?;
        } else {
            visit(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_newest_symbol_version() {
        let objdump = "\
0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.2.5) memcpy
0000000000000000      DF *UND*\t0000000000000000  GLIBC_2.14  memcpy
0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.3.4) __sprintf_chk
0000000000000000      DF *UND*\t0000000000000000 (GCC_4.2.0) _Unwind_Foo
0000000000000000      DF *UND*\t0000000000000000 (XGLIBC_9.9) other
";
        assert_eq!(newest_version(objdump, "GLIBC_").as_deref(), Some("2.14"));
        assert_eq!(newest_version(objdump, "GCC_").as_deref(), Some("4.2.0"));
        assert_eq!(newest_version(objdump, "GLIBCXX_"), None);
        assert!(!newer("2.17", GLIBC_MAX));
        assert!(newer("2.18", GLIBC_MAX));
        assert!(newer("2.17.1", GLIBC_MAX));
        assert!(!newer("2.2.5", GLIBC_MAX));
    }
}
