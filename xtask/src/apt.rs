//! Debian packages the tests need. Installed with apt-get only when running as root and one
//! is missing; otherwise apt is not touched at all.

use std::process::Command;

use crate::run;

/// Packages the tests need, and why.
const PACKAGES: &[(&str, &str)] = &[
    (
        "mesa-vulkan-drivers",
        "lavapipe, the CPU Vulkan driver wgpu runs on without a GPU",
    ),
    ("libvulkan1", "the Vulkan loader wgpu opens at run time"),
    (
        "chromium",
        "headless browser for the PlayCanvas engine render test (tests/browser.rs)",
    ),
];

/// Packages that provide a command, installed only when the command is missing.
const COMMANDS: &[(&str, &[&str])] = &[
    ("npm", &["nodejs", "npm"]),
    // The portable binary's checks: symbol versions, and a Debian 11 root to run it in.
    ("objdump", &["binutils"]),
    ("debootstrap", &["debootstrap"]),
    // The container image (deploy/Dockerfile): podman builds and runs it; runc because crun
    // refuses this sandbox's hybrid cgroups.
    ("podman", &["podman"]),
    ("runc", &["runc"]),
];

/// Installs whatever is missing from [`PACKAGES`] and [`COMMANDS`]; returns the seconds spent.
pub fn ensure() -> Result<f64, String> {
    if !run::on_path("dpkg") {
        eprintln!(
            "==> system packages: no dpkg (not Debian); install these yourself if tests need them:"
        );
        for (package, why) in PACKAGES {
            eprintln!("    {package}: {why}");
        }
        return Ok(0.0);
    }
    let mut missing: Vec<&str> = PACKAGES
        .iter()
        .map(|(package, _)| *package)
        .filter(|package| !installed(package))
        .collect();
    for (command, packages) in COMMANDS {
        if !run::on_path(command) {
            missing.extend(packages.iter().filter(|package| !installed(package)));
        }
    }
    if missing.is_empty() {
        eprintln!("==> system packages: all installed");
        return Ok(0.0);
    }
    if !run::is_root() {
        eprintln!(
            "==> system packages: missing {} (not root, so not installing; tests that need them may fail)\n    \
             run: sudo apt-get install -y --no-install-recommends {}",
            missing.join(" "),
            missing.join(" ")
        );
        return Ok(0.0);
    }
    let mut secs = run::step(
        "apt-get update",
        Command::new("apt-get").args(["update", "-q"]),
    )?;
    secs += run::step(
        "apt-get install",
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    Ok(secs)
}

/// True when `dpkg -s` reports `package` as installed.
fn installed(package: &str) -> bool {
    run::output(Command::new("dpkg").args(["-s", package])).is_some_and(|text| {
        text.lines()
            .any(|line| line.trim() == "Status: install ok installed")
    })
}
