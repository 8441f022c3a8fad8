//! Byte identity: every shared real scene (and the built-in sample) compressed with a fixed
//! seed on every backend this machine has must give exactly the bytes recorded in
//! `tests/identity.tsv`. The table was recorded before the redesign (issue 10), so a
//! refactor that changes output by one bit fails here.
//!
//! Keys: `cpu`, `cuda`, `wgpu-llvmpipe` (lavapipe, CI) and `wgpu-gpu` (a hardware adapter:
//! NVIDIA's Vulkan driver on the GPU machine). A backend this machine lacks is skipped with a
//! message unless `REQUIRE_GPU_ADAPTER=1` / `REQUIRE_CUDA=1`. `SPLATPRESS_IDENTITY_RECORD=1`
//! prints the lines to add for cases the table lacks instead of failing.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::util::{self, splatpress};

/// (case, input under ../shared/data or None for the sample, output name, extra arguments).
const CASES: &[(&str, Option<&str>, &str, &[&str])] = &[
    (
        "sample",
        None,
        "out.sog",
        &["--count", "20000", "--bands", "3"],
    ),
    ("fox", Some("mujoco_warp/fox.ply"), "out.sog", &[]),
    (
        "fox-plas",
        Some("mujoco_warp/fox.ply"),
        "out.sog",
        &["--order", "plas"],
    ),
    (
        "lod1",
        Some("gaussiansplats3d-pr477/lod1_tile_0_0.5x.ply"),
        "out.sog",
        &[],
    ),
    (
        "lod3-folder",
        Some("gaussiansplats3d-pr477/lod3_tile_0.ply"),
        "out",
        &[],
    ),
    (
        "lod5-meta",
        Some("gaussiansplats3d-pr477/lod5_tile_0.ply"),
        "meta.json",
        &[],
    ),
    (
        "plant",
        Some("marcelpadilla-splats/plant.splat"),
        "out.sog",
        &[],
    ),
    (
        "biker",
        Some("playcanvas-engine/biker.compressed.ply"),
        "out.sog",
        &[],
    ),
    (
        "playbot",
        Some("playcanvas-engine/playbot/0_0/meta.json"),
        "out.sog",
        &[],
    ),
];

const TABLE: &str = include_str!("identity.tsv");

fn required(var: &str) -> bool {
    std::env::var(var).as_deref() == Ok("1")
}

/// The backends to run here, with their table keys; unavailable ones are skipped visibly.
fn backends(dir: &Path) -> Vec<(&'static str, &'static str)> {
    let mut list = vec![("cpu", "cpu")];
    let devices = util::Devices::probe(dir);
    let software_wgpu = devices.text.to_lowercase().contains("llvmpipe");
    if devices.available("wgpu") {
        list.push(("wgpu", "wgpu-gpu"));
    } else if devices.any_adapter() && software_wgpu {
        list.push(("wgpu", "wgpu-llvmpipe"));
    } else if required("REQUIRE_GPU_ADAPTER") {
        panic!(
            "REQUIRE_GPU_ADAPTER=1 but no wgpu adapter:\n{}",
            devices.text
        );
    } else {
        util::skip("identity (wgpu)", "no wgpu adapter");
    }
    if devices.available("cuda") {
        list.push(("cuda", "cuda"));
    } else if required("REQUIRE_CUDA") {
        panic!("REQUIRE_CUDA=1 but CUDA is unavailable:\n{}", devices.text);
    } else {
        util::skip("identity (cuda)", "no usable CUDA device");
    }
    list
}

/// SHA-256 over a file, or over a folder's files (name and bytes, by name).
fn hash(path: &Path) -> String {
    let mut hasher = Sha256::new();
    if path.is_dir() {
        let mut names: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for name in names {
            hasher.update(name.file_name().unwrap().to_string_lossy().as_bytes());
            hasher.update(std::fs::read(&name).unwrap());
        }
    } else if path.extension().is_some_and(|e| e == "json") {
        // meta.json with its textures beside it.
        return hash(path.parent().unwrap());
    } else {
        hasher.update(std::fs::read(path).unwrap());
    }
    format!("{:x}", hasher.finalize())
}

fn expected(case: &str, key: &str) -> Option<&'static str> {
    TABLE.lines().find_map(|line| {
        let mut fields = line.split('\t');
        (fields.next() == Some(case) && fields.next() == Some(key)).then(|| fields.next())?
    })
}

#[test]
fn outputs_match_the_recorded_hashes() {
    let Some(data) = util::shared_data() else {
        util::skip(
            "outputs_match_the_recorded_hashes",
            "../shared/data is absent (real scenes live beside the repository)",
        );
        return;
    };
    let scratch = util::temp_dir("identity");
    let record = required("SPLATPRESS_IDENTITY_RECORD");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (backend, key) in backends(scratch.path()) {
        for (case, input, output, extra) in CASES {
            let dir = scratch.path().join(format!("{case}-{key}"));
            std::fs::create_dir_all(&dir).unwrap();
            let out = dir.join(output);
            let mut args: Vec<String> = vec!["compress".into()];
            match input {
                Some(rel) => args.push(data.join(rel).display().to_string()),
                None => args.push("--sample".into()),
            }
            args.push(out.display().to_string());
            // The table was recorded at WebP effort 4 (the default until 2026-12-03): it guards
            // the encoder's codes, which the effort does not touch.
            args.extend(
                [
                    "--seed",
                    "7",
                    "--backend",
                    backend,
                    "--webp-effort",
                    "4",
                    "-q",
                ]
                .map(String::from),
            );
            args.extend(extra.iter().map(|s| s.to_string()));
            splatpress(&dir, &args).success();
            let got = hash(&out);
            match expected(case, key) {
                Some(want) if want == got => checked += 1,
                Some(want) => failures.push(format!("{case} on {key}: {got}, recorded {want}")),
                None if record => println!("RECORD\t{case}\t{key}\t{got}"),
                None => failures.push(format!("{case} on {key}: {got}, nothing recorded")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "bytes changed:\n{}",
        failures.join("\n")
    );
    eprintln!("identity: {checked} outputs byte-identical to the recorded hashes");
}
