//! Project tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! `test` is what CI runs: it installs the system packages and the pinned npm tools the
//! tests need, then runs fmt, clippy and the whole test suite. `bench` runs the benchmarks.
//! `ptx` compiles the CUDA kernels with NVRTC 11.8 from PyPI, opened with libloading (the
//! only dependency, so the task itself builds in seconds on a fresh machine). `dist` builds
//! and checks the Python wheel. `fuzz` builds and runs the reader fuzzer (`fuzz/`).

mod apt;
mod container;
mod dist;
mod fuzz;
mod npm;
mod portable;
mod ptx;
mod ptxas;
mod pytest;
mod run;
mod sass;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task> [args]

Tasks:
  test [--no-install] [-- <cargo test args>]
        Install what the tests need, then run everything CI runs:
          1. Debian packages (apt-get, only when running as root and one is
             missing), and rustfmt/clippy through rustup if absent
          2. @playcanvas/splat-transform 3.7.0 and 3.10.2, @adobe/spz, gltf-validator
             (npm, pinned) into <target>/npm,
             plus Node 22 from the npm registry when the system Node is older;
             the tests get SPLAT_TRANSFORM and SPLAT_TRANSFORM_NODE
          3. cargo fmt --all -- --check
          4. cargo clippy --workspace --all-targets -- -D warnings
          5. cargo xtask ptx --check (committed PTX == NVRTC 11.8 build lowered to
             PTX ISA 7.0; ptxas 11.7 and 11.8 for sm_75/sm_86)
          6. cargo test --workspace --no-fail-fast, with SPLATPRESS_REQUIRE_INTEROP=1,
             SPLATPRESS_REQUIRE_BROWSER=1 and REQUIRE_GPU_ADAPTER=1
          7. cargo xtask fuzz --seconds 120 (every reader, all cores)
        --no-install skips steps 1 and 2 (and the interop requirement when
        splat-transform is absent). Arguments after `--` go to `cargo test`.
  ptx [--check] [--validate]
        Compile kernels/*.cu to kernels/ptx/*.ptx with NVRTC 11.8 for compute_75,
        rewriting the `.version 7.8` header to PTX ISA 7.0 (driver R450+, so the
        R470 hosts JIT it), then assemble machine code for sm_75/80/86/89/90 with
        ptxas 11.8 into kernels/sass/*.cubin (no JIT on those GPUs); the wheels are
        set up under <target>/cuda-tools.
        --check: fail if the committed PTX or cubins are stale, then validate; --validate:
        only check that each file declares .version 7.0 / .target sm_75 and
        assemble it with ptxas 11.7 and 11.8 for sm_75 and sm_86.
  portable
        Build the portable Linux binary (cargo zigbuild against glibc 2.17, tools
        from PyPI into <target>/dist-tools) at <target>/dist/splatpress-x86_64-linux-gnu
        and check it: newest symbol GLIBC_2.17, only the C runtime needed,
        compress --sample works, and (as root, with debootstrap) it runs in a
        Debian 11 root. The test command runs this too.
  dist [--force] [--test]
        Build and check the portable binary (as `portable` does), then the Python wheel (`pip install splatpress`: one abi3 wheel for CPython
        3.8+, manylinux2014 x86_64) into <target>/dist/ with maturin 1.16.0 and zig
        0.17.1 from PyPI (a venv under <target>/dist-tools), linked against glibc 2.17.
        Skipped when the wheel is newer than every source; --force rebuilds. Then
        check its platform tag (manylinux2014 / manylinux_2_17), that its extension
        needs no glibc symbol newer than 2.17 and only manylinux2014 libraries
        (objdump), and print its path.
        --test: then install it with pytest into a fresh venv
        (<target>/python-test-venv) and run `pytest python/tests`.
  container [--test]
        Build the portable binary, then the image of deploy/Dockerfile with
        podman or docker as splatpress:latest (base debian:bookworm-slim).
        --test: instead build it on a local Debian 12 root (debootstrap) and
        run it as SageMaker Processing does: scenes in /opt/ml/processing/input,
        one broken; expects exit 1, summary-algo-1.json, and outputs
        byte-identical to the host's `compress`. The test command runs this.
  fuzz [--seconds N] [--jobs J] [--reader NAME]... [--bin PATH] [--release]
       [--timeout S] [--cap-mib M] [--seed S] [--json] [--out DIR] [--data DIR]
        Build the reader fuzzer (crate splatpress-fuzz in fuzz/; dev profile, i.e.
        opt-level 2 with overflow checks; --release for the release profile) and
        run it for N seconds (default 120) with J worker processes (default: the
        cores): seeds (generated, plus ../shared/data when present) mutated and
        read through formats::read, each case under an allocation cap (M MiB, default
        512, + 32 x input bytes) and a time limit (S s, default 10, + 1 s per 4 MiB).
        Panics, inconsistent scenes, hangs, over-allocations and crashes are saved
        under <target>/fuzz/findings/<reader>/; counters per reader go to
        <target>/fuzz/summary.json. Exits non-zero on any finding.
        --bin PATH runs a prebuilt fuzzer instead of building one; the binary also
        runs alone: `splatpress-fuzz --help`, `--replay FILE`, `--reproduce READER SEED`.
  bench [<cargo bench args>]
        Run the benchmarks (cargo bench --workspace).
  help  Show this text.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "test" => test::run(rest),
        "bench" => test::bench(rest),
        "ptx" => ptx::run(rest),
        "portable" => portable::binary(&workspace_root(), &target_dir())
            .and_then(|bin| portable::check(&bin, &target_dir()).map(|()| bin))
            .map(|bin| println!("{}", bin.display())),
        "dist" => dist::run(rest),
        "fuzz" => fuzz::run(rest),
        "container" => container::run(rest),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`), whatever the current directory is.
fn workspace_root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(PathBuf::from).unwrap_or(xtask_dir)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` (relative to the root if relative) or `<root>/target`.
fn target_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}
