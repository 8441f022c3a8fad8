//! The container image of `deploy/Dockerfile`: built with podman (or docker), and tested the
//! way SageMaker Processing runs it: scenes under `/opt/ml/processing/input`, the instance's
//! name in `/opt/ml/config/resourceconfig.json`, arguments after the image name, outputs and
//! `summary-<host>.json` under `/opt/ml/processing/output`. The outputs must be byte-identical
//! to the portable binary's `compress` run on the host.
//!
//! The test builds on a Debian 12 root made by debootstrap (the Dockerfile's default base is
//! `debian:bookworm-slim`, the same release), since no image registry is reachable here.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run;

/// The image the test builds.
const IMAGE: &str = "localhost/splatpress:test";
/// The Debian 12 root imported as the base image for the test build.
const BASE: &str = "localhost/splatpress-base:bookworm";

/// `cargo xtask container [--test]`: build the image as `splatpress:latest` from the
/// Dockerfile's own base, or (`--test`) build it on a local Debian 12 base and run the
/// Processing contract test.
pub fn run(args: &[String]) -> Result<(), String> {
    let root = crate::workspace_root();
    let target = crate::target_dir();
    let binary = crate::portable::binary(&root, &target)?;
    match args {
        [] => {
            let engine = Engine::find().ok_or("no container engine: install podman or docker")?;
            engine.build(&root, None, "splatpress:latest")?;
            eprintln!("==> built splatpress:latest with {}", engine.program);
            Ok(())
        }
        [flag] if flag == "--test" => test(&root, &target, &binary, true).map(|_| ()),
        _ => Err("container takes no arguments but --test".into()),
    }
}

/// Builds the image on a local Debian 12 base and runs the Processing contract test; returns
/// the seconds spent. Without podman or docker it says so and returns, unless `required`
/// (the test command installs podman, so there its absence is a failure) or
/// `SPLATPRESS_REQUIRE_CONTAINER=1`.
pub fn test(root: &Path, target: &Path, binary: &Path, required: bool) -> Result<f64, String> {
    let start = std::time::Instant::now();
    let Some(engine) = Engine::find() else {
        let why = "no container engine (podman or docker with a running daemon)";
        if required || std::env::var_os("SPLATPRESS_REQUIRE_CONTAINER").is_some_and(|v| v == "1") {
            return Err(format!("{why}: the container cannot be tested"));
        }
        eprintln!("==> container: skipped: {why}");
        return Ok(0.0);
    };
    engine.import_base(target)?;
    engine.build(root, Some(BASE), IMAGE)?;
    if let Some(size) = run::output(Command::new(engine.program).args([
        "image",
        "inspect",
        "--format",
        "{{.Size}}",
        IMAGE,
    ])) {
        let mib = size.trim().parse::<f64>().unwrap_or(0.0) / 1048576.0;
        eprintln!("==> container image {IMAGE}: {mib:.0} MiB");
    }
    processing_contract(&engine, target, binary)?;
    Ok(start.elapsed().as_secs_f64())
}

/// A container engine and the flags this machine needs.
struct Engine {
    program: &'static str,
    /// Flags before the subcommand: podman here needs runc (crun refuses hybrid cgroups).
    global: Vec<&'static str>,
    /// Flags of `build` and `run`: limits no higher than the sandbox's own (raising
    /// RLIMIT_NOFILE/NPROC is not permitted).
    local: Vec<&'static str>,
}

impl Engine {
    fn find() -> Option<Engine> {
        if run::on_path("podman") {
            let global = if run::on_path("runc") {
                vec!["--runtime", "runc"]
            } else {
                Vec::new()
            };
            return Some(Engine {
                program: "podman",
                global,
                local: vec![
                    "--ulimit",
                    "nofile=1024:1024",
                    "--ulimit",
                    "nproc=1024:1024",
                ],
            });
        }
        let docker_runs = run::on_path("docker")
            && Command::new("docker")
                .arg("info")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        docker_runs.then(|| Engine {
            program: "docker",
            global: Vec::new(),
            local: Vec::new(),
        })
    }

    /// `program <global flags> sub <local flags>`.
    fn command(&self, sub: &str) -> Command {
        let mut cmd = Command::new(self.program);
        cmd.args(&self.global).arg(sub).args(&self.local);
        cmd
    }

    /// Imports a debootstrap'd Debian 12 (minbase) root as [`BASE`], once.
    fn import_base(&self, target: &Path) -> Result<(), String> {
        let exists = Command::new(self.program)
            .args(["image", "exists", BASE])
            .status()
            .is_ok_and(|s| s.success());
        if exists {
            return Ok(());
        }
        if !run::is_root() || !run::on_path("debootstrap") {
            return Err("the container test needs root and debootstrap to make its base".into());
        }
        let rootfs = target.join("dist").join("bookworm");
        let ready = rootfs.join("splatpress-rootfs-ready");
        if !ready.exists() {
            let _ = std::fs::remove_dir_all(&rootfs);
            run::step(
                "debootstrap bookworm (the Dockerfile's base release)",
                Command::new("debootstrap")
                    .args(["--variant=minbase", "bookworm"])
                    .arg(&rootfs)
                    .arg("http://deb.debian.org/debian"),
            )?;
            std::fs::write(&ready, "").map_err(|e| format!("{}: {e}", ready.display()))?;
        }
        let tar = target.join("dist").join("bookworm.tar");
        run::step(
            "tar the Debian 12 root",
            Command::new("tar")
                .arg("-C")
                .arg(&rootfs)
                .args(["--exclude=./proc", "--exclude=./sys", "--exclude=./dev"])
                .args(["--exclude=./splatpress-rootfs-ready", "-cf"])
                .arg(&tar)
                .arg("."),
        )?;
        let imported = run::step(
            &format!("{} import (base image {BASE})", self.program),
            Command::new(self.program).arg("import").arg(&tar).arg(BASE),
        );
        let _ = std::fs::remove_file(&tar);
        imported.map(|_| ())
    }

    /// Builds deploy/Dockerfile from the repository root (the context `.dockerignore` trims
    /// to the binary and the entrypoint), on `base` when given.
    fn build(&self, root: &Path, base: Option<&str>, tag: &str) -> Result<(), String> {
        let mut cmd = self.command("build");
        if let Some(base) = base {
            cmd.arg("--build-arg").arg(format!("BASE={base}"));
        }
        cmd.args(["-f", "deploy/Dockerfile", "-t", tag, "."])
            .current_dir(root);
        run::step(&format!("{} build {tag}", self.program), &mut cmd).map(|_| ())
    }
}

/// Scenes the contract test compresses: (path under the input folder, splats, SH bands).
const SCENES: [(&str, u32, u8); 3] = [
    ("garden.ply", 2000, 3),
    ("run-7/bicycle.ply", 1500, 1),
    ("run-7/deep/plant.ply", 1000, 0),
];

/// Runs the image as SageMaker Processing would, on a folder laid out as `/opt/ml`, with one
/// broken scene among good ones; checks the exit status, the summary and every output.
fn processing_contract(engine: &Engine, target: &Path, binary: &Path) -> Result<(), String> {
    let ml = target.join("container-test").join("opt-ml");
    let _ = std::fs::remove_dir_all(&ml);
    let input = ml.join("processing").join("input").join("scenes");
    let reference = target.join("container-test").join("reference");
    let _ = std::fs::remove_dir_all(&reference);
    for (rel, count, bands) in SCENES {
        let path = input.join(rel);
        mkdir(path.parent().unwrap())?;
        run::step(
            &format!("sample scene {rel}"),
            Command::new(binary).arg("sample").arg(&path).args([
                "--count",
                &count.to_string(),
                "--bands",
                &bands.to_string(),
            ]),
        )?;
        let expected = reference.join(rel).with_extension("sog");
        mkdir(expected.parent().unwrap())?;
        run::step(
            &format!("host reference {rel}"),
            Command::new(binary)
                .arg("compress")
                .arg(&path)
                .arg(&expected)
                .args(["--seed", "7", "--backend", "cpu", "-q"]),
        )?;
    }
    let good = std::fs::read(input.join(SCENES[0].0)).map_err(|e| e.to_string())?;
    std::fs::write(input.join("broken.ply"), &good[..good.len() / 3]).map_err(|e| e.to_string())?;
    mkdir(&ml.join("config"))?;
    std::fs::write(
        ml.join("config").join("resourceconfig.json"),
        "{\"current_host\": \"algo-1\", \"hosts\": [\"algo-1\"]}",
    )
    .map_err(|e| e.to_string())?;

    let mut cmd = engine.command("run");
    cmd.args(["--rm", "--network", "none", "-v"])
        .arg(format!(
            "{}:/opt/ml/processing",
            ml.join("processing").display()
        ))
        .arg("-v")
        .arg(format!("{}:/opt/ml/config:ro", ml.join("config").display()))
        .args([IMAGE, "--seed", "7", "--backend", "cpu"]);
    eprintln!("\n==> processing contract: {}", run::describe(&cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {}: {e}", engine.program))?;
    if status.code() != Some(1) {
        return Err(format!(
            "the container exited with {status}; expected 1 (one broken scene among {} good)",
            SCENES.len()
        ));
    }
    let output = ml.join("processing").join("output");
    let summary_path = output.join("summary-algo-1.json");
    let summary = std::fs::read_to_string(&summary_path)
        .map_err(|e| format!("{}: {e}", summary_path.display()))?;
    for expected in ["\"ok\": 3,", "\"failed\": 1,", "\"cpu\": 1,"] {
        if !summary.contains(expected) {
            return Err(format!(
                "{} lacks `{expected}`:\n{summary}",
                summary_path.display()
            ));
        }
    }
    if output.join("scenes").join("broken.sog").exists() {
        return Err("the broken scene left an output".into());
    }
    for (rel, _, _) in SCENES {
        let rel = Path::new(rel).with_extension("sog");
        let (got, want) = (output.join("scenes").join(&rel), reference.join(&rel));
        let same = std::fs::read(&got).ok() == std::fs::read(&want).ok();
        if !same {
            return Err(format!(
                "{} differs from the host's `compress` ({})",
                got.display(),
                want.display()
            ));
        }
    }
    eprintln!(
        "==> processing contract: exit 1 for the broken scene, {} outputs byte-identical to the host's, summary-algo-1.json",
        SCENES.len()
    );
    Ok(())
}

fn mkdir(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir.to_path_buf())
}
