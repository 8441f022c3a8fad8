//! The portable Linux binary: `splatpress` for x86_64 linked by zig against glibc 2.17
//! (manylinux2014), so it starts on Amazon Linux 2 (2.26), Ubuntu 20.04 (2.31) and newer.
//! libwebp is vendored; libcuda and libvulkan are opened at run time, as in every build.
//!
//! Tools come from PyPI (`ziglang`, `cargo-zigbuild`) into the venv the wheel's build uses
//! too ([`crate::dist::tools_venv`]).
//! [`check`] reads the binary's dynamic symbol versions and needed libraries, and runs it
//! inside a Debian 11 root made by debootstrap where the machine allows.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run;

/// The glibc the binary is linked against, and the newest symbol version it may need.
pub const GLIBC: (u32, u32) = (2, 17);
/// The zig target triple (cargo-zigbuild's glibc-suffix form).
const ZIG_TARGET: &str = "x86_64-unknown-linux-gnu.2.17";
/// Libraries the binary may need at load time: the C runtime only.
const ALLOWED_NEEDED: [&str; 7] = [
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
];

/// Builds the portable binary (incremental: cargo decides what is stale) and returns its path,
/// `<target>/dist/splatpress-x86_64-linux-gnu`.
pub fn binary(root: &Path, target: &Path) -> Result<PathBuf, String> {
    let venv = crate::dist::tools_venv(target)?;
    let path = crate::dist::with_path_first(&venv.join("bin"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run::step(
        "portable binary (cargo zigbuild, glibc 2.17)",
        Command::new(cargo)
            .current_dir(root)
            .env("PATH", path)
            .args([
                "zigbuild",
                "--release",
                "--locked",
                "--bin",
                "splatpress",
                "--target",
            ])
            .arg(ZIG_TARGET),
    )?;
    let built = target
        .join("x86_64-unknown-linux-gnu")
        .join("release")
        .join("splatpress");
    let dist = target.join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("creating {}: {e}", dist.display()))?;
    let out = dist.join("splatpress-x86_64-linux-gnu");
    // Stripped: the line tables of a release build triple its size.
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&out)
        .arg(&built)
        .status()
        .map_err(|e| format!("strip: {e}"))?;
    if !stripped.success() {
        return Err(format!("strip {} failed", built.display()));
    }
    Ok(out)
}

/// The newest `GLIBC_x.y` version among `objdump -T` lines.
fn newest_glibc(objdump: &str) -> Option<(u32, u32)> {
    objdump
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
}

/// The `NEEDED` libraries among `objdump -p` lines.
fn needed(objdump: &str) -> Vec<String> {
    objdump
        .lines()
        .filter_map(|l| l.trim().strip_prefix("NEEDED"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// Checks the portable binary: no glibc symbol newer than 2.17, only the C runtime needed,
/// `compress --sample` works, and, where a Debian 11 root can be made (`debootstrap`, root),
/// that it runs there too.
pub fn check(binary: &Path, target: &Path) -> Result<(), String> {
    let symbols = run::output(Command::new("objdump").arg("-T").arg(binary)).ok_or_else(|| {
        format!(
            "objdump -T {} failed (binutils installed?)",
            binary.display()
        )
    })?;
    let newest = newest_glibc(&symbols).ok_or("no GLIBC_ symbol versions found")?;
    if newest > GLIBC {
        return Err(format!(
            "{} needs GLIBC_{}.{}, newer than {}.{}",
            binary.display(),
            newest.0,
            newest.1,
            GLIBC.0,
            GLIBC.1
        ));
    }
    let headers = run::output(Command::new("objdump").arg("-p").arg(binary))
        .ok_or_else(|| format!("objdump -p {} failed", binary.display()))?;
    let libs = needed(&headers);
    let extra: Vec<&String> = libs
        .iter()
        .filter(|l| !ALLOWED_NEEDED.contains(&l.as_str()))
        .collect();
    if !extra.is_empty() {
        return Err(format!(
            "{} needs {extra:?} beyond the C runtime",
            binary.display()
        ));
    }
    eprintln!(
        "==> portable binary: newest symbol GLIBC_{}.{}, needs {}",
        newest.0,
        newest.1,
        libs.join(" ")
    );
    let scratch = target.join("dist").join("check");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    run::step(
        "portable binary: compress --sample",
        Command::new(binary).current_dir(&scratch).args([
            "compress",
            "--sample",
            "sample.sog",
            "--backend",
            "cpu",
            "-q",
        ]),
    )?;
    old_userland(binary, target)
}

/// Runs the binary inside a Debian 11 (glibc 2.31, as Ubuntu 20.04) root made by debootstrap
/// under `<target>/dist/bullseye`. Needs root and debootstrap; otherwise says why and returns.
fn old_userland(binary: &Path, target: &Path) -> Result<(), String> {
    let is_root = run::output(Command::new("id").arg("-u")).is_some_and(|u| u == "0");
    if !is_root || !run::on_path("debootstrap") {
        eprintln!(
            "==> portable binary: no Debian 11 root (needs root and debootstrap): not run there"
        );
        return Ok(());
    }
    let rootfs = target.join("dist").join("bullseye");
    let ready = rootfs.join("splatpress-rootfs-ready");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&rootfs);
        run::step(
            "debootstrap bullseye (glibc 2.31)",
            Command::new("debootstrap")
                .args(["--variant=minbase", "bullseye"])
                .arg(&rootfs)
                .arg("http://deb.debian.org/debian"),
        )?;
        std::fs::write(&ready, "").map_err(|e| format!("{}: {e}", ready.display()))?;
    }
    let inside = rootfs.join("splatpress");
    std::fs::copy(binary, &inside).map_err(|e| format!("copying into the root: {e}"))?;
    run::step(
        "portable binary in Debian 11: compress --sample",
        Command::new("chroot").arg(&rootfs).args([
            "/splatpress",
            "compress",
            "--sample",
            "/tmp/sample.sog",
            "--backend",
            "cpu",
            "-q",
        ]),
    )?;
    let glibc = run::output(
        Command::new("chroot")
            .arg(&rootfs)
            .args(["/usr/bin/ldd", "--version"]),
    )
    .and_then(|t| t.lines().next().map(str::to_string))
    .unwrap_or_default();
    eprintln!("==> portable binary runs in Debian 11 ({glibc})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_glibc_versions_and_needed_libraries() {
        let dump = "0000 DF *UND* 0000 (GLIBC_2.2.5) malloc\n0000 DF *UND* 0000 (GLIBC_2.17) clock_gettime\n0000 w D *UND* GLIBC_2.3.4 x";
        assert_eq!(newest_glibc(dump), Some((2, 17)));
        assert_eq!(newest_glibc("GLIBC_2.35 GLIBC_2.4"), Some((2, 35)));
        assert_eq!(newest_glibc("nothing"), None);
        let headers = "Dynamic Section:\n  NEEDED               libgcc_s.so.1\n  NEEDED               libc.so.6\n  SONAME x";
        assert_eq!(needed(headers), ["libgcc_s.so.1", "libc.so.6"]);
    }
}
