//! `cargo xtask ptx [--check] [--validate]`: compiles `kernels/*.cu` with NVRTC 11.8 to PTX ISA
//! 7.8 for `compute_75` and writes `kernels/ptx/<name>.ptx` (embedded by the binary).
//!
//! - `--check`: compile into memory and fail when a committed PTX file differs (or is missing,
//!   or is stale), then validate like `--validate`.
//! - `--validate`: assemble every committed PTX file with `ptxas` for sm_75 (T4) and sm_86
//!   (A10G), printing each kernel's registers and shared memory.
//!
//! The tools come from PyPI wheels (`nvidia-cuda-nvrtc-cu11==11.8.89` for NVRTC,
//! `nvidia-cuda-nvcc-cu11==11.8.89` for ptxas; toolchain.md §3), installed on first use into
//! a venv at `<target dir>/cuda-tools/venv` (`PYTHON` picks the interpreter that creates it).
//! NVRTC is loaded with `libloading` from its absolute path, so no `LD_LIBRARY_PATH` is needed.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Wheels providing NVRTC and ptxas, pinned to CUDA 11.8.
const WHEELS: [&str; 2] = [
    "nvidia-cuda-nvrtc-cu11==11.8.89",
    "nvidia-cuda-nvcc-cu11==11.8.89",
];
/// NVRTC options: the oldest target we ship for; the driver JITs it for newer GPUs.
const OPTIONS: [&str; 2] = ["--gpu-architecture=compute_75", "--std=c++14"];
/// Real architectures the PTX must assemble for: T4 and A10G.
const PTXAS_ARCHS: [&str; 2] = ["sm_75", "sm_86"];

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
    let venv = tools_venv(&root)?;
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
                println!("wrote {} ({} bytes)", target.display(), ptx.len());
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
                    "committed PTX differs from a fresh NVRTC 11.8 build: {}; run `cargo xtask ptx` and commit",
                    stale.join(", ")
                ));
            }
            println!("ptx: {} file(s) up to date", sources.len());
        }
    }
    if validate || check {
        validate_with_ptxas(&venv, &out_dir)?;
    }
    Ok(())
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

fn ptx_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    sorted_with_ext(dir, "ptx")
}

/// The venv holding the CUDA 11.8 wheels, created and filled on first use.
fn tools_venv(root: &Path) -> Result<PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let venv = target.join("cuda-tools").join("venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join("splatpress-wheels-installed");
    if marker.exists() {
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
    std::fs::write(&marker, WHEELS.join("\n"))
        .map_err(|e| format!("writing {}: {e}", marker.display()))?;
    Ok(venv)
}

fn run_tool(command: &mut Command, what: &str) -> Result<String, String> {
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

fn validate_with_ptxas(venv: &Path, out_dir: &Path) -> Result<(), String> {
    let ptxas = wheel_file(venv, "nvidia.cuda_nvcc", "bin/ptxas")?;
    let files = ptx_files(out_dir)?;
    if files.is_empty() {
        return Err(format!("no PTX in {}", out_dir.display()));
    }
    for file in &files {
        for arch in PTXAS_ARCHS {
            let report = run_tool(
                Command::new(&ptxas)
                    .arg(format!("-arch={arch}"))
                    .arg("-v")
                    .arg(file)
                    .args(["-o", "/dev/null"]),
                &format!("ptxas -arch={arch} {}", file.display()),
            )?;
            println!("ptxas {arch} {}: ok", file.display());
            // Per kernel: its name, then registers / shared memory / spills.
            let mut kernel = String::new();
            for line in report.lines() {
                if let Some(rest) = line.split("Compiling entry function '").nth(1) {
                    kernel = rest.split('\'').next().unwrap_or("").to_string();
                } else if line.contains("Used") || line.contains("spill") {
                    let info = line.split(" : ").nth(1).unwrap_or(line).trim();
                    println!("  {kernel}: {info}");
                }
            }
        }
    }
    Ok(())
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
