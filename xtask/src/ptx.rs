//! `cargo xtask ptx [--check] [--validate]`: compiles `kernels/*.cu` with NVRTC 11.8 for
//! `compute_75`, lowers the PTX header from the `.version 7.8` NVRTC writes to
//! [`PTX_ISA`] (7.0: CUDA 11.0, driver R450+, so the R470 drivers of SageMaker's ml.g4dn /
//! ml.g5 hosts JIT it) and writes `kernels/ptx/<name>.ptx` (embedded by the binary).
//!
//! - `--check`: compile into memory (lowered the same way) and fail when a committed PTX file
//!   differs (or is missing, or is stale), then validate like `--validate`.
//! - `--validate`: check that every committed PTX file declares exactly `.version 7.0` and
//!   `.target sm_75`, then assemble it with the ptxas of CUDA 11.7 and of CUDA 11.8, each for
//!   sm_75 (T4) and sm_86 (A10G). ptxas refuses instructions newer than the declared
//!   `.version`, so this proves the lowered header is honest; 11.7's ptxas also proves that
//!   nothing needs an 11.8-only assembler. One line per (ptxas, module, arch); the 11.8 run
//!   also prints each kernel's registers and shared memory.
//!
//! Then (`sass.rs`) ptxas 11.8 assembles each module into machine code for the GPUs production
//! uses, `kernels/sass/<name>.<arch>.cubin`, which `--check` also compares byte for byte.
//!
//! The tools come from PyPI wheels (`nvidia-cuda-nvrtc-cu11==11.8.89` for NVRTC,
//! `nvidia-cuda-nvcc-cu11==11.8.89` and `==11.7.99` for ptxas; toolchain.md §3). The 11.8
//! wheels go into a venv at `<target dir>/cuda-tools/venv` (`PYTHON` picks the interpreter
//! that creates it); the 11.7 ptxas wheel, which cannot share that venv (same package name),
//! into `<target dir>/cuda-tools/nvcc-11.7.99` with `pip install --target`. Each install
//! leaves a marker naming what it installed and is skipped while that marker matches, so a
//! second run starts no pip. NVRTC is loaded with `libloading` from its absolute path, so no
//! `LD_LIBRARY_PATH` is needed.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ptxas::{Ptxas, validate_with_ptxas};

/// PTX ISA version every committed module declares: 7.0 is CUDA 11.0, which drivers R450 and
/// newer JIT (R470 = CUDA 11.4 = ISA 7.4 on SageMaker ml.g4dn / ml.g5). The kernels need
/// ISA 6.5+ (`mma.sync.m16n8k8` f16). Must equal `PTX_ISA` in src/backend/cuda/ptx.rs (a
/// unit test there reads the committed files).
pub(crate) const PTX_ISA: &str = "7.0";
/// The `.version` NVRTC 11.8 writes, rewritten to [`PTX_ISA`]; anything else is an error.
const NVRTC_ISA: &str = "7.8";
/// The `.target` NVRTC writes for `--gpu-architecture=compute_75`.
pub(crate) const PTX_TARGET: &str = "sm_75";
/// Wheels providing NVRTC and ptxas 11.8 (in the venv), pinned to CUDA 11.8.
const WHEELS: [&str; 2] = [
    "nvidia-cuda-nvrtc-cu11==11.8.89",
    "nvidia-cuda-nvcc-cu11==11.8.89",
];
/// The second ptxas, installed with `pip install --target` beside the venv.
const PTXAS_11_7_WHEEL: &str = "nvidia-cuda-nvcc-cu11==11.7.99";
/// Folder under `<target dir>/cuda-tools` that holds [`PTXAS_11_7_WHEEL`].
const PTXAS_11_7_DIR: &str = "nvcc-11.7.99";
/// NVRTC options: the oldest target we ship for; the driver JITs it for newer GPUs.
const OPTIONS: [&str; 2] = ["--gpu-architecture=compute_75", "--std=c++14"];
/// Real architectures the PTX must assemble for: T4 and A10G.
pub(crate) const PTXAS_ARCHS: [&str; 2] = ["sm_75", "sm_86"];

/// Entry point of the `ptx` subcommand; `args` are the words after `ptx`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut check = false;
    let mut validate = false;
    for arg in args {
        match arg.as_str() {
            "--check" => check = true,
            "--validate" => validate = true,
            other => {
                return Err(format!(
                    "ptx: unknown argument {other:?} (--check, --validate)"
                ));
            }
        }
    }
    let root = repo_root();
    let kernels = root.join("kernels");
    let out_dir = kernels.join("ptx");
    let tools = crate::target_dir().join("cuda-tools");
    let venv = tools_venv(&tools)?;
    if !validate || check {
        let sources = cu_sources(&kernels)?;
        let nvrtc = Nvrtc::load(&venv)?;
        let mut stale = Vec::new();
        for source in &sources {
            let name = source
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("kernel");
            let text = std::fs::read_to_string(source)
                .map_err(|e| format!("reading {}: {e}", source.display()))?;
            let ptx = nvrtc.compile(&text, &format!("{name}.cu"))?;
            let ptx = lower_isa(&ptx, &format!("{name}.cu"))?;
            let target = out_dir.join(format!("{name}.ptx"));
            if check {
                let committed = std::fs::read_to_string(&target).unwrap_or_default();
                if committed != ptx {
                    stale.push(target.display().to_string());
                }
            } else {
                std::fs::create_dir_all(&out_dir)
                    .map_err(|e| format!("creating {}: {e}", out_dir.display()))?;
                std::fs::write(&target, &ptx)
                    .map_err(|e| format!("writing {}: {e}", target.display()))?;
                println!(
                    "wrote {} ({} bytes, .version {PTX_ISA})",
                    target.display(),
                    ptx.len()
                );
            }
        }
        if check {
            // PTX files without a source are stale too.
            for ptx in ptx_files(&out_dir)? {
                let stem = ptx.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                if !kernels.join(format!("{stem}.cu")).exists() {
                    stale.push(format!("{} (no kernels/{stem}.cu)", ptx.display()));
                }
            }
            if !stale.is_empty() {
                return Err(format!(
                    "committed PTX differs from a fresh NVRTC 11.8 build lowered to ISA \
                     {PTX_ISA}: {}; run `cargo xtask ptx` and commit",
                    stale.join(", ")
                ));
            }
            println!("ptx: {} file(s) up to date", sources.len());
        }
    }
    let ptxas_11_8 = wheel_file(&venv, "nvidia.cuda_nvcc", "bin/ptxas")?;
    let scratch = tools.join("sass-scratch");
    if check {
        crate::sass::check(
            &ptxas_11_8,
            &ptx_files(&out_dir)?,
            &kernels.join("sass"),
            &scratch,
        )?;
    } else if !validate {
        crate::sass::write(
            &ptxas_11_8,
            &ptx_files(&out_dir)?,
            &kernels.join("sass"),
            &scratch,
        )?;
    }
    if validate || check {
        let assemblers = [
            Ptxas::new(ptxas_11_7(&tools, &venv)?, "11.7.99")?,
            Ptxas::new(
                wheel_file(&venv, "nvidia.cuda_nvcc", "bin/ptxas")?,
                "11.8.89",
            )?,
        ];
        validate_with_ptxas(&assemblers, &root, &out_dir)?;
    }
    Ok(())
}

/// Rewrites the `.version` line of NVRTC's PTX from [`NVRTC_ISA`] to [`PTX_ISA`], after
/// checking that the header has the shape we expect (exactly one `.version NVRTC_ISA` line and
/// one `.target PTX_TARGET` line). Everything else is left byte for byte.
fn lower_isa(ptx: &str, name: &str) -> Result<String, String> {
    let versions = directive_lines(ptx, ".version");
    let targets = directive_lines(ptx, ".target");
    let expected_version = format!(".version {NVRTC_ISA}");
    let expected_target = format!(".target {PTX_TARGET}");
    if versions != [expected_version.as_str()] || targets != [expected_target.as_str()] {
        return Err(format!(
            "{name}: NVRTC's PTX header is not in the expected shape: want exactly one \
             `{expected_version}` and one `{expected_target}` line, found .version lines \
             {versions:?} and .target lines {targets:?}. If NVRTC or the target changed on \
             purpose, update NVRTC_ISA / PTX_TARGET in xtask/src/ptx.rs (and check that the \
             lowered ISA {PTX_ISA} still assembles)"
        ));
    }
    let mut out = String::with_capacity(ptx.len());
    let mut replaced = 0;
    for line in ptx.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if body.trim() == expected_version {
            out.push_str(&format!(".version {PTX_ISA}"));
            out.push_str(&line[body.len()..]);
            replaced += 1;
        } else {
            out.push_str(line);
        }
    }
    if replaced != 1 {
        return Err(format!(
            "{name}: rewrote {replaced} `.version` lines, want exactly 1"
        ));
    }
    Ok(out)
}

/// The lines (trimmed) whose first word is `directive`, e.g. `.version`.
fn directive_lines<'a>(ptx: &'a str, directive: &str) -> Vec<&'a str> {
    ptx.lines()
        .map(str::trim)
        .filter(|l| l.split_whitespace().next() == Some(directive))
        .collect()
}

/// What is wrong with a committed file's header, if anything: it must declare exactly
/// `.version PTX_ISA` and `.target PTX_TARGET`, once each.
pub(crate) fn header_problem(ptx: &str) -> Option<String> {
    let versions = directive_lines(ptx, ".version");
    let targets = directive_lines(ptx, ".target");
    let want_version = format!(".version {PTX_ISA}");
    let want_target = format!(".target {PTX_TARGET}");
    (versions != [want_version.as_str()] || targets != [want_target.as_str()]).then(|| {
        format!(
            "header declares {versions:?} / {targets:?}, want [\"{want_version}\"] / \
             [\"{want_target}\"]"
        )
    })
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn sorted_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .collect();
    files.sort();
    Ok(files)
}

fn cu_sources(kernels: &Path) -> Result<Vec<PathBuf>, String> {
    let files = sorted_with_ext(kernels, "cu")?;
    if files.is_empty() {
        return Err(format!("no .cu files in {}", kernels.display()));
    }
    Ok(files)
}

pub(crate) fn ptx_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    sorted_with_ext(dir, "ptx")
}

/// True when `marker` exists and holds exactly `contents` (what the last install installed).
fn marker_matches(marker: &Path, contents: &str) -> bool {
    std::fs::read_to_string(marker).is_ok_and(|text| text == contents)
}

/// The venv `<tools>/venv` holding the CUDA 11.8 wheels, created and filled on first use.
fn tools_venv(tools: &Path) -> Result<PathBuf, String> {
    let venv = tools.join("venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join("splatpress-wheels-installed");
    let wanted = WHEELS.join("\n");
    if marker_matches(&marker, &wanted) {
        return Ok(venv);
    }
    let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if !python.exists() {
        eprintln!("ptx: creating {}", venv.display());
        run_tool(
            Command::new(&base).args(["-m", "venv"]).arg(&venv),
            "python -m venv",
        )?;
    }
    eprintln!("ptx: installing {}", WHEELS.join(" "));
    run_tool(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(WHEELS),
        "pip install",
    )?;
    std::fs::write(&marker, wanted).map_err(|e| format!("writing {}: {e}", marker.display()))?;
    Ok(venv)
}

/// ptxas of CUDA 11.7: [`PTXAS_11_7_WHEEL`] installed by the venv's pip with `--target` into
/// `<tools>/nvcc-11.7.99` (its own folder: the venv already has the 11.8 build of the same
/// package). Installed on first use; a marker written after a complete install makes later
/// runs skip pip.
fn ptxas_11_7(tools: &Path, venv: &Path) -> Result<PathBuf, String> {
    let dir = tools.join(PTXAS_11_7_DIR);
    let marker = dir.join("splatpress-wheel-installed");
    let ptxas = dir
        .join("nvidia")
        .join("cuda_nvcc")
        .join("bin")
        .join("ptxas");
    if !marker_matches(&marker, PTXAS_11_7_WHEEL) {
        if dir.exists() {
            // A partial or different install: start over.
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("removing {}: {e}", dir.display()))?;
        }
        eprintln!("ptx: installing {PTXAS_11_7_WHEEL} into {}", dir.display());
        run_tool(
            Command::new(venv.join("bin").join("python"))
                .args(["-m", "pip", "install", "--quiet", "--no-deps", "--target"])
                .arg(&dir)
                .arg(PTXAS_11_7_WHEEL),
            "pip install --target",
        )?;
        std::fs::write(&marker, PTXAS_11_7_WHEEL)
            .map_err(|e| format!("writing {}: {e}", marker.display()))?;
    }
    if !ptxas.exists() {
        return Err(format!(
            "{} is missing after installing {PTXAS_11_7_WHEEL} (wheel layout changed?); \
             remove {} to reinstall",
            ptxas.display(),
            dir.display()
        ));
    }
    Ok(ptxas)
}

pub(crate) fn run_tool(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        return Err(format!("{what} failed ({}):\n{text}", output.status));
    }
    Ok(text)
}

/// A file inside the wheel package `module` (e.g. `nvidia.cuda_nvrtc`), found by its python.
fn wheel_file(venv: &Path, module: &str, relative: &str) -> Result<PathBuf, String> {
    let script =
        format!("import {module} as m, os; print(os.path.join(list(m.__path__)[0], {relative:?}))");
    let out = run_tool(
        Command::new(venv.join("bin").join("python")).args(["-c", &script]),
        "locating a CUDA wheel file",
    )?;
    let path = PathBuf::from(out.trim());
    if !path.exists() {
        return Err(format!(
            "{} is missing (wheel layout changed?)",
            path.display()
        ));
    }
    Ok(path)
}

type Program = *mut c_void;

/// The seven NVRTC entry points we use, loaded from the wheel's `libnvrtc.so.11.2`.
struct Nvrtc {
    _lib: libloading::Library,
    create: unsafe extern "C" fn(
        *mut Program,
        *const c_char,
        *const c_char,
        c_int,
        *const *const c_char,
        *const *const c_char,
    ) -> c_int,
    compile: unsafe extern "C" fn(Program, c_int, *const *const c_char) -> c_int,
    log_size: unsafe extern "C" fn(Program, *mut usize) -> c_int,
    log: unsafe extern "C" fn(Program, *mut c_char) -> c_int,
    ptx_size: unsafe extern "C" fn(Program, *mut usize) -> c_int,
    ptx: unsafe extern "C" fn(Program, *mut c_char) -> c_int,
    destroy: unsafe extern "C" fn(*mut Program) -> c_int,
}

impl Nvrtc {
    fn load(venv: &Path) -> Result<Self, String> {
        let path = wheel_file(venv, "nvidia.cuda_nvrtc", "lib/libnvrtc.so.11.2")?;
        // SAFETY: loading NVRTC runs no initialisers with preconditions; the symbols below
        // are declared with NVRTC 11.8's C signatures (nvrtc.h).
        unsafe {
            let lib = libloading::Library::new(&path)
                .map_err(|e| format!("loading {}: {e}", path.display()))?;
            let version: libloading::Symbol<unsafe extern "C" fn(*mut c_int, *mut c_int) -> c_int> =
                lib.get(b"nvrtcVersion").map_err(|e| e.to_string())?;
            let (mut major, mut minor) = (0, 0);
            version(&mut major, &mut minor);
            if (major, minor) != (11, 8) {
                return Err(format!(
                    "{} is NVRTC {major}.{minor}, want 11.8",
                    path.display()
                ));
            }
            macro_rules! sym {
                ($name:literal) => {
                    *lib.get($name)
                        .map_err(|e| format!("{}: {e}", path.display()))?
                };
            }
            Ok(Nvrtc {
                create: sym!(b"nvrtcCreateProgram"),
                compile: sym!(b"nvrtcCompileProgram"),
                log_size: sym!(b"nvrtcGetProgramLogSize"),
                log: sym!(b"nvrtcGetProgramLog"),
                ptx_size: sym!(b"nvrtcGetPTXSize"),
                ptx: sym!(b"nvrtcGetPTX"),
                destroy: sym!(b"nvrtcDestroyProgram"),
                _lib: lib,
            })
        }
    }

    /// Compiles one translation unit to PTX text; errors carry NVRTC's log.
    fn compile(&self, source: &str, name: &str) -> Result<String, String> {
        let src = CString::new(source).map_err(|_| format!("{name}: NUL byte in source"))?;
        let cname = CString::new(name).map_err(|_| format!("{name}: NUL byte in name"))?;
        let options: Vec<CString> = OPTIONS.iter().map(|o| CString::new(*o).unwrap()).collect();
        let option_ptrs: Vec<*const c_char> = options.iter().map(|o| o.as_ptr()).collect();
        let mut program: Program = std::ptr::null_mut();
        // SAFETY: pointers are valid NUL-terminated strings for the duration of each call;
        // buffers are sized by the matching size query; the program is destroyed once.
        unsafe {
            let rc = (self.create)(
                &mut program,
                src.as_ptr(),
                cname.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            );
            if rc != 0 {
                return Err(format!("{name}: nvrtcCreateProgram failed ({rc})"));
            }
            let rc = (self.compile)(program, option_ptrs.len() as c_int, option_ptrs.as_ptr());
            let mut log_len = 0usize;
            (self.log_size)(program, &mut log_len);
            let mut log = vec![0 as c_char; log_len.max(1)];
            (self.log)(program, log.as_mut_ptr());
            let log = CStr::from_ptr(log.as_ptr()).to_string_lossy().into_owned();
            let result = if rc != 0 {
                Err(format!("{name}: NVRTC compilation failed ({rc}):\n{log}"))
            } else {
                let mut len = 0usize;
                (self.ptx_size)(program, &mut len);
                let mut buf = vec![0 as c_char; len.max(1)];
                (self.ptx)(program, buf.as_mut_ptr());
                if !log.trim().is_empty() {
                    eprintln!("{name}: NVRTC log:\n{log}");
                }
                Ok(CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
            };
            (self.destroy)(&mut program);
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NVRTC_HEADER: &str = "//\n// Generated by NVIDIA NVVM Compiler\n//\n\n.version 7.8\n\
                                .target sm_75\n.address_size 64\n\n.visible .entry k()\n{\n\tret;\n}\n";

    #[test]
    fn lowering_rewrites_only_the_version_line() {
        let lowered = lower_isa(NVRTC_HEADER, "k.cu").unwrap();
        assert_eq!(
            lowered,
            NVRTC_HEADER.replace(".version 7.8\n", &format!(".version {PTX_ISA}\n"))
        );
        assert_eq!(header_problem(&lowered), None);
        assert!(header_problem(NVRTC_HEADER).is_some());
        // CRLF line ends survive.
        let crlf = NVRTC_HEADER.replace('\n', "\r\n");
        let lowered = lower_isa(&crlf, "k.cu").unwrap();
        assert!(lowered.contains(&format!("\r\n.version {PTX_ISA}\r\n")));
    }

    #[test]
    fn lowering_refuses_an_unexpected_header() {
        for bad in [
            NVRTC_HEADER.replace(".version 7.8", ".version 8.0"),
            NVRTC_HEADER.replace(".version 7.8\n", ""),
            NVRTC_HEADER.replace(".version 7.8\n", ".version 7.8\n.version 7.8\n"),
            NVRTC_HEADER.replace(".target sm_75", ".target sm_80"),
        ] {
            let error = lower_isa(&bad, "k.cu").unwrap_err();
            assert!(error.contains("not in the expected shape"), "{error}");
            assert!(header_problem(&bad).is_some());
        }
    }
}
