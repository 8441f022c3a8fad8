//! The pinned npm tools the interop tests run, installed into `<target>/npm` (never committed).
//!
//! splat-transform 3.7.0 declares `node >= 22`. When the system Node is older (Debian
//! bookworm's machines here have 20), a pinned Node 22 is installed from the npm registry
//! too: the `node-linux-<arch>` package ships the official binary inside its tarball, so no
//! other download site is needed. A small wrapper script runs splat-transform on that Node.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run;

/// The npm package of the third-party SOG encoder/decoder.
const SPLAT_TRANSFORM: &str = "@playcanvas/splat-transform";
/// Its pinned version (the one `sog-format.md` was verified against).
const SPLAT_TRANSFORM_VERSION: &str = "3.7.0";
/// splat-transform 3.10.2, installed beside 3.7.0 under an npm alias: the SPZ reader and
/// writer and glb writer the interchange tests hold ours to.
const SPLAT_TRANSFORM_LATEST: &str = "splat-transform-3.10.2";
const SPLAT_TRANSFORM_LATEST_SPEC: &str = "npm:@playcanvas/splat-transform@3.10.2";
const SPLAT_TRANSFORM_LATEST_VERSION: &str = "3.10.2";
/// Niantic's SPZ reference library compiled to WASM (the SPZ oracle).
const ADOBE_SPZ: (&str, &str) = ("@adobe/spz", "0.2.3");
/// The Khronos glTF validator (the glb oracle).
const GLTF_VALIDATOR: (&str, &str) = ("gltf-validator", "2.0.0-dev.3.10");
/// The oldest Node major version splat-transform supports (its `engines` field).
const NODE_MAJOR_REQUIRED: u32 = 22;
/// The Node used when the system one is older.
const NODE_VERSION: &str = "22.23.3";

/// Where the installed tools are.
pub struct Tools {
    /// Executable wrapper: runs splat-transform's CLI on [`Tools::node`].
    pub splat_transform: PathBuf,
    /// Executable wrapper: splat-transform 3.10.2 (SPZ in and out, glb out).
    pub splat_transform_latest: PathBuf,
    /// The Node binary splat-transform runs on.
    pub node: PathBuf,
    /// `node_modules` holding `@adobe/spz` and `gltf-validator`, for the tests' Node scripts.
    pub node_modules: PathBuf,
    /// Seconds spent installing (0 when everything was already there).
    pub install_secs: f64,
}

/// Installs splat-transform (and Node 22 if needed) unless already present at the pinned
/// versions, writes the wrapper and checks that it runs.
pub fn ensure(target: &Path) -> Result<Tools, String> {
    let dir = target.join("npm");
    let system_node = system_node();
    let mut wanted = vec![
        (SPLAT_TRANSFORM.to_string(), SPLAT_TRANSFORM_VERSION),
        (
            SPLAT_TRANSFORM_LATEST.to_string(),
            SPLAT_TRANSFORM_LATEST_VERSION,
        ),
        (ADOBE_SPZ.0.to_string(), ADOBE_SPZ.1),
        (GLTF_VALIDATOR.0.to_string(), GLTF_VALIDATOR.1),
    ];
    let node = match &system_node {
        Some((path, major)) if *major >= NODE_MAJOR_REQUIRED => path.clone(),
        _ => {
            let package = node_package()?;
            let node = dir.join("node_modules").join(&package).join("bin/node");
            wanted.push((package, NODE_VERSION));
            node
        }
    };
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(name, version)| installed_version(&dir, name).as_deref() != Some(*version))
        .map(|(name, version)| {
            if name == SPLAT_TRANSFORM_LATEST {
                format!("{name}@{SPLAT_TRANSFORM_LATEST_SPEC}")
            } else {
                format!("{name}@{version}")
            }
        })
        .collect();
    let mut install_secs = 0.0;
    if missing.is_empty() {
        eprintln!(
            "==> npm tools: {} already installed in {}",
            wanted_list(&wanted),
            dir.display()
        );
    } else {
        if !run::on_path("npm") {
            return Err(format!(
                "npm is needed to install {} but is not on PATH (install Node.js and npm)",
                missing.join(" ")
            ));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // --ignore-scripts: the webgpu dependency's postinstall fetches GPU binaries we do
        // not use (the tests run splat-transform with `-g cpu`). --loglevel=error hides
        // npm's engine warning, which is about the Node running npm, not the one we use.
        install_secs = run::step(
            "npm install",
            Command::new("npm")
                .arg("install")
                .arg("--prefix")
                .arg(&dir)
                .args([
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                    "--save-exact",
                    "--loglevel=error",
                ])
                .args(&missing),
        )?;
    }
    let cli = dir
        .join("node_modules")
        .join(SPLAT_TRANSFORM)
        .join("bin/cli.mjs");
    if !cli.is_file() {
        return Err(format!("npm install left no {}", cli.display()));
    }
    let wrapper = dir.join("splat-transform");
    write_wrapper(&wrapper, &node, &cli, SPLAT_TRANSFORM_VERSION)?;
    let latest = dir.join("splat-transform-latest");
    let latest_cli = dir
        .join("node_modules")
        .join(SPLAT_TRANSFORM_LATEST)
        .join("bin/cli.mjs");
    write_wrapper(&latest, &node, &latest_cli, SPLAT_TRANSFORM_LATEST_VERSION)?;
    for (tool, version) in [
        (&wrapper, SPLAT_TRANSFORM_VERSION),
        (&latest, SPLAT_TRANSFORM_LATEST_VERSION),
    ] {
        let printed = run::output(Command::new(tool).arg("--version")).unwrap_or_default();
        if !printed.contains(version) {
            return Err(format!(
                "`{} --version` printed {printed:?}, expected {version}",
                tool.display()
            ));
        }
    }
    let node_version = run::output(Command::new(&node).arg("--version")).unwrap_or_default();
    eprintln!(
        "==> splat-transform {SPLAT_TRANSFORM_VERSION} on node {node_version}: {}",
        wrapper.display()
    );
    Ok(Tools {
        splat_transform: wrapper,
        splat_transform_latest: latest,
        node,
        node_modules: dir.join("node_modules"),
        install_secs,
    })
}

/// The system `node` (absolute path) and its major version, if there is one.
fn system_node() -> Option<(PathBuf, u32)> {
    let paths = std::env::var_os("PATH")?;
    let path = std::env::split_paths(&paths)
        .map(|dir| dir.join("node"))
        .find(|p| run::is_executable(p))?;
    let version = run::output(Command::new(&path).arg("--version"))?;
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()?;
    Some((path, major))
}

/// The npm package holding the Node binary for this machine.
fn node_package() -> Result<String, String> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => {
            return Err(format!(
                "no Node {NODE_MAJOR_REQUIRED} package known for CPU `{other}`; install Node >= {NODE_MAJOR_REQUIRED} yourself"
            ));
        }
    };
    Ok(format!("node-linux-{arch}"))
}

/// The `version` field of an installed package's package.json, if installed.
fn installed_version(dir: &Path, package: &str) -> Option<String> {
    let manifest = dir.join("node_modules").join(package).join("package.json");
    let text = std::fs::read_to_string(manifest).ok()?;
    json_string_field(&text, "version")
}

/// The first `"key": "value"` string in a JSON text (enough for a package.json's top-level
/// `version`, which npm writes before any nested object that could hold the same key).
fn json_string_field(text: &str, key: &str) -> Option<String> {
    let after_key = &text[text.find(&format!("\"{key}\""))? + key.len() + 2..];
    let after_colon = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = after_colon.strip_prefix('"')?;
    Some(value[..value.find('"')?].to_string())
}

fn wanted_list(wanted: &[(String, &str)]) -> String {
    wanted
        .iter()
        .map(|(name, version)| format!("{name}@{version}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes an executable shell script that runs `cli` on `node` with the caller's arguments.
fn write_wrapper(path: &Path, node: &Path, cli: &Path, version: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let script = format!(
        "#!/bin/sh\n# Written by `cargo xtask test`: splat-transform {version} on a pinned Node.\nexec {} {} \"$@\"\n",
        quote(node),
        quote(cli)
    );
    std::fs::write(path, script).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("cannot make {} executable: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_top_level_version_of_a_package_json() {
        let text = r#"{
  "name": "@playcanvas/splat-transform",
  "version" : "3.7.0",
  "engines": { "node": ">=22.0.0" }
}"#;
        assert_eq!(json_string_field(text, "version").as_deref(), Some("3.7.0"));
        assert_eq!(json_string_field(text, "missing"), None);
    }
}
