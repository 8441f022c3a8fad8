//! Machine code beside the PTX: `kernels/sass/<module>.<arch>.cubin`, assembled from the
//! committed `kernels/ptx/*.ptx` by ptxas 11.8 for the GPUs production uses, so that a fresh
//! container skips the driver's PTX JIT (≈1.4 s per process on an empty cache). The binary
//! embeds them and loads the one matching the GPU; the PTX stays for every other GPU.
//!
//! A cubin from a CUDA 11.x toolkit runs on any driver from R450 (450.80.02) on: NVIDIA's
//! "minor version compatibility" of CUDA 11, the same floor the PTX has. sm_89 and sm_90
//! cubins only ever meet drivers new enough for those GPUs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Architectures shipped as machine code: T4, A100, A10G, L4, H100/H200.
pub const ARCHS: [&str; 5] = ["sm_75", "sm_80", "sm_86", "sm_89", "sm_90"];

/// The cubin of `module` for `arch` under `sass_dir`.
fn cubin_path(sass_dir: &Path, module: &str, arch: &str) -> PathBuf {
    sass_dir.join(format!("{module}.{arch}.cubin"))
}

/// Assembles every PTX module for every arch with `ptxas` into a scratch folder; returns
/// (committed path, fresh path) pairs.
fn assemble(
    ptxas: &Path,
    ptx_files: &[PathBuf],
    sass_dir: &Path,
    scratch: &Path,
) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let mut pairs = Vec::new();
    for ptx in ptx_files {
        let module = ptx.file_stem().and_then(|s| s.to_str()).unwrap_or("kernel");
        for arch in ARCHS {
            let fresh = cubin_path(scratch, module, arch);
            let out = Command::new(ptxas)
                .arg(format!("-arch={arch}"))
                .arg(ptx)
                .arg("-o")
                .arg(&fresh)
                .output()
                .map_err(|e| format!("could not run {}: {e}", ptxas.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "ptxas -arch={arch} {}: {}",
                    ptx.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            pairs.push((cubin_path(sass_dir, module, arch), fresh));
        }
    }
    Ok(pairs)
}

/// Writes the cubins of every module into `sass_dir` (removing cubins of modules or archs no
/// longer built).
pub fn write(
    ptxas: &Path,
    ptx_files: &[PathBuf],
    sass_dir: &Path,
    scratch: &Path,
) -> Result<(), String> {
    let pairs = assemble(ptxas, ptx_files, sass_dir, scratch)?;
    std::fs::create_dir_all(sass_dir).map_err(|e| format!("{}: {e}", sass_dir.display()))?;
    for old in not_built(&pairs, sass_dir)? {
        std::fs::remove_file(&old).map_err(|e| format!("{}: {e}", old.display()))?;
    }
    let mut total = 0;
    for (committed, fresh) in &pairs {
        std::fs::copy(fresh, committed).map_err(|e| format!("{}: {e}", committed.display()))?;
        total += std::fs::metadata(committed).map(|m| m.len()).unwrap_or(0);
    }
    println!(
        "wrote {} cubins ({} KiB) into {} for {}",
        pairs.len(),
        total / 1024,
        sass_dir.display(),
        ARCHS.join(", ")
    );
    Ok(())
}

/// Fails unless the committed cubins are exactly what ptxas makes of the committed PTX now
/// (ptxas is deterministic: same input, same bytes), with none missing and none extra.
pub fn check(
    ptxas: &Path,
    ptx_files: &[PathBuf],
    sass_dir: &Path,
    scratch: &Path,
) -> Result<(), String> {
    let pairs = assemble(ptxas, ptx_files, sass_dir, scratch)?;
    let mut stale = Vec::new();
    for (committed, fresh) in &pairs {
        if std::fs::read(committed).ok() != std::fs::read(fresh).ok() {
            stale.push(committed.display().to_string());
        }
    }
    for extra in not_built(&pairs, sass_dir)? {
        stale.push(format!("{} (not built any more)", extra.display()));
    }
    if !stale.is_empty() {
        return Err(format!(
            "committed machine code differs from ptxas 11.8 on the committed PTX: {}; run \
             `cargo xtask ptx` and commit",
            stale.join(", ")
        ));
    }
    println!(
        "sass: {} cubins up to date ({})",
        pairs.len(),
        ARCHS.join(", ")
    );
    Ok(())
}

/// Cubins in `dir` that no (module, arch) of `pairs` builds any more.
fn not_built(pairs: &[(PathBuf, PathBuf)], dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut extra = cubins(dir)?;
    extra.retain(|c| !pairs.iter().any(|(built, _)| built == c));
    Ok(extra)
}

fn cubins(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "cubin") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
