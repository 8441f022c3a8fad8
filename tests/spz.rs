//! Niantic SPZ: round trips through our reader and writer (library and `convert`), and two
//! third-party oracles:
//! - PlayCanvas splat-transform 3.10.2 (`$SPLAT_TRANSFORM_LATEST`) decodes our `.spz` and
//!   writes `.spz` that we decode. It stores PLY coordinates in SPZ unconverted, where the
//!   reference and we store RUB (`src/formats/spz/mod.rs`), so its decode of a file equals
//!   ours carried back into RUB ([`to_rub`]): y and z negated, with the quaternion's y and z
//!   and the SH coefficients odd in y or z.
//! - `@adobe/spz` 0.2.3, the WASM build of the Niantic reference, decodes our files into RDF
//!   (`tests/interop/spz-decode.mjs`, run with `$SPLAT_TRANSFORM_NODE`, the package found in
//!   `$SPLATPRESS_NODE_MODULES`): the same values as our reader, within float rounding.
//!
//! A missing tool prints `skipped: …`, or fails when `SPLATPRESS_REQUIRE_INTEROP=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use splatpress::formats::{ply, spz};
use splatpress::scene::{Model, Scene};

use crate::util::{self, Ran};

mod compare;
use compare::{ROUNDING, STEP, assert_close, representable, rmse, to_rub};

/// Splats in the synthetic test scenes.
const SPLATS: usize = 500;
/// Seed of the synthetic scenes.
const SEED: u64 = 41;
/// A sanitised synthetic scene.
fn sample(bands: u8, model: Model) -> Scene {
    let mut s = splatpress::sample::scene(SPLATS, bands, SEED).sanitize().0;
    s.model = model;
    if model == Model::TwoD {
        for scale in &mut s.log_scales {
            scale[2] = f32::NEG_INFINITY;
        }
    }
    s
}

/// The model a scene reads back with after SPZ: 2DGS cannot be marked.
fn spz_model(model: Model) -> Model {
    if model == Model::TwoD {
        Model::Default
    } else {
        model
    }
}

#[test]
fn library_round_trip_every_version_band_and_model() {
    let dir = util::temp_dir("spz-roundtrip");
    for version in [4u8, 3] {
        for bands in 0..=3u8 {
            for model in [Model::Default, Model::Antialiased, Model::TwoD] {
                let label = format!("v{version}, {bands} bands, {model:?}");
                let src = sample(bands, model);
                let path = dir.path().join(format!("v{version}-{bands}-{model:?}.spz"));
                spz::write(&path, &src, version).unwrap_or_else(|e| panic!("{label}: {e}"));
                let (back, notes) = spz::read_with_notes(&path).unwrap();
                assert!(notes.is_empty(), "{label}: {notes:?}");
                assert_eq!(back.model, spz_model(model), "{label}");
                assert_close(&label, &back, &representable(&src), STEP);
            }
        }
    }
}

#[test]
fn convert_command_round_trips_through_spz() {
    let dir = util::temp_dir("spz-convert");
    let cwd = dir.path();
    for version in ["4", "3"] {
        for bands in 0..=3u8 {
            for model in [Model::Default, Model::Antialiased, Model::TwoD] {
                let label = format!("v{version}, {bands} bands, {model:?}");
                let src = sample(bands, model);
                ply::write(&cwd.join("in.ply"), &src).unwrap();
                util::splatpress(
                    cwd,
                    ["convert", "in.ply", "out.spz", "--spz-version", version],
                )
                .success();
                let bytes = std::fs::read(cwd.join("out.spz")).unwrap();
                let magic_v4 = bytes.starts_with(b"NGSP");
                assert_eq!(magic_v4, version == "4", "{label}: container");
                util::splatpress(cwd, ["convert", "out.spz", "back.ply"]).success();
                let back = ply::read(&cwd.join("back.ply")).unwrap();
                assert_eq!(back.model, spz_model(model), "{label}");
                assert_close(&label, &back, &representable(&src), STEP);
            }
        }
    }
}

fn require_interop() -> bool {
    std::env::var("SPLATPRESS_REQUIRE_INTEROP").is_ok_and(|v| v == "1")
}

/// The file `$var` names; `None` after `skipped: …` when unset (a failure when interop is
/// required, or when it names nothing).
fn tool(test: &str, var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(path.exists(), "{var}={} does not exist", path.display());
            Some(path)
        }
        None if require_interop() => {
            panic!("SPLATPRESS_REQUIRE_INTEROP=1 but {var} is unset ({what})")
        }
        None => {
            util::skip(
                test,
                &format!("{var} is unset ({what}; `cargo xtask test` sets it)"),
            );
            None
        }
    }
}

/// Runs splat-transform quietly, overwriting its output: `args` are input, output and options.
fn splat_transform(tool: &Path, cwd: &Path, args: &[&str]) -> Ran {
    let mut cmd = Command::new(tool);
    cmd.args(["-q", "-w"]).args(args).current_dir(cwd);
    Ran::new(cmd).success()
}

#[test]
fn splat_transform_decodes_our_spz() {
    let test = "splat_transform_decodes_our_spz";
    let Some(st) = tool(test, "SPLAT_TRANSFORM_LATEST", "splat-transform 3.10.2") else {
        return;
    };
    let dir = util::temp_dir("spz-st-ours");
    let cwd = dir.path();
    for version in [4u8, 3] {
        for bands in 0..=3u8 {
            let model = if bands == 2 {
                Model::Antialiased
            } else {
                Model::Default
            };
            let label = format!("ours v{version}, {bands} bands, decoded by splat-transform");
            let src = sample(bands, model);
            spz::write(&cwd.join("ours.spz"), &src, version).unwrap();
            splat_transform(&st, cwd, &["ours.spz", "theirs.ply"]);
            let theirs = ply::read(&cwd.join("theirs.ply")).unwrap();
            let ours = spz::read(&cwd.join("ours.spz")).unwrap();
            assert_eq!(theirs.model, model, "{label}");
            assert_close(&label, &theirs, &to_rub(&ours), ROUNDING);
        }
    }
}

#[test]
fn we_decode_splat_transform_spz() {
    let test = "we_decode_splat_transform_spz";
    let Some(st) = tool(test, "SPLAT_TRANSFORM_LATEST", "splat-transform 3.10.2") else {
        return;
    };
    let dir = util::temp_dir("spz-st-theirs");
    let cwd = dir.path();
    for version in ["4", "3"] {
        for bands in 0..=3u8 {
            let model = if bands == 1 {
                Model::Antialiased
            } else {
                Model::Default
            };
            let label = format!("splat-transform v{version}, {bands} bands, decoded by us");
            let src = sample(bands, model);
            ply::write(&cwd.join("in.ply"), &src).unwrap();
            splat_transform(
                &st,
                cwd,
                &["--spz-version", version, "in.ply", "theirs.spz"],
            );
            splat_transform(&st, cwd, &["theirs.spz", "theirs-by-them.ply"]);
            let by_them = ply::read(&cwd.join("theirs-by-them.ply")).unwrap();
            let by_us = spz::read(&cwd.join("theirs.spz")).unwrap();
            assert_eq!(by_us.model, model, "{label}");
            assert_close(&label, &to_rub(&by_us), &by_them, ROUNDING);
            // Its file holds the source unconverted: decoded raw it is the source.
            assert_close(&label, &by_them, &representable(&src), STEP);
        }
    }
}

#[test]
fn our_attribute_bytes_are_the_reference_packers() {
    // splat-transform packs with the reference's WASM and no conversion: given the scene
    // already in RUB, it must produce exactly our attribute bytes.
    let test = "our_attribute_bytes_are_the_reference_packers";
    let Some(st) = tool(test, "SPLAT_TRANSFORM_LATEST", "splat-transform 3.10.2") else {
        return;
    };
    let dir = util::temp_dir("spz-bytes");
    let cwd = dir.path();
    for version in [4u8, 3] {
        for bands in 0..=3u8 {
            let label = format!("v{version}, {bands} bands");
            let src = sample(bands, Model::Antialiased);
            ply::write(&cwd.join("rub.ply"), &to_rub(&src)).unwrap();
            let v = version.to_string();
            splat_transform(&st, cwd, &["--spz-version", &v, "rub.ply", "theirs.spz"]);
            spz::write(&cwd.join("ours.spz"), &src, version).unwrap();
            let unpack = |f: &str| {
                let path = cwd.join(f);
                spz::container::decode(&path, &std::fs::read(&path).unwrap()).unwrap()
            };
            let (ours, theirs) = (unpack("ours.spz"), unpack("theirs.spz"));
            assert_eq!(
                (
                    ours.version,
                    ours.count,
                    ours.sh_degree,
                    ours.fractional_bits,
                    ours.flags
                ),
                (
                    theirs.version,
                    theirs.count,
                    theirs.sh_degree,
                    theirs.fractional_bits,
                    theirs.flags
                ),
                "{label}: header"
            );
            for (k, name) in spz::container::STREAM_NAMES.iter().enumerate() {
                let (a, b) = (&ours.streams[k], &theirs.streams[k]);
                let first = a.iter().zip(b).position(|(x, y)| x != y);
                assert!(
                    a.len() == b.len() && first.is_none(),
                    "{label}: {name} differ at byte {first:?} (lengths {} and {})",
                    a.len(),
                    b.len()
                );
            }
        }
    }
}

/// `@adobe/spz`'s decode of `path` into RDF, as a scene.
fn adobe_decode(node: &Path, modules: &Path, path: &Path) -> Scene {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/spz-decode.mjs");
    let mut cmd = Command::new(node);
    cmd.arg(&script)
        .arg(path)
        .env("SPLATPRESS_NODE_MODULES", modules);
    let ran = Ran::new(cmd).success();
    let json: serde_json::Value = serde_json::from_str(&ran.stdout())
        .unwrap_or_else(|e| panic!("{}: not JSON: {e}\n{}", ran.command, ran.report()));
    let floats = |key: &str| -> Vec<f32> {
        json[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} missing"))
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) if s == "inf" => f32::INFINITY,
                serde_json::Value::String(s) if s == "-inf" => f32::NEG_INFINITY,
                v => v.as_f64().unwrap_or(f64::NAN) as f32,
            })
            .collect()
    };
    let n = json["numPoints"].as_u64().unwrap() as usize;
    let degree = json["shDegree"].as_u64().unwrap() as u8;
    let model = if json["antialiased"].as_bool().unwrap() {
        Model::Antialiased
    } else {
        Model::Default
    };
    let mut s = Scene::with_capacity(n, degree, model);
    let (p, sc, r, a, c, sh) = (
        floats("positions"),
        floats("scales"),
        floats("rotations"),
        floats("alphas"),
        floats("colors"),
        floats("sh"),
    );
    let k = s.sh_coeffs();
    for i in 0..n {
        s.positions.push([p[i * 3], p[i * 3 + 1], p[i * 3 + 2]]);
        s.log_scales.push([sc[i * 3], sc[i * 3 + 1], sc[i * 3 + 2]]);
        s.rotations
            .push([r[i * 4 + 3], r[i * 4], r[i * 4 + 1], r[i * 4 + 2]]);
        s.opacities.push(a[i]);
        s.sh_dc.push([c[i * 3], c[i * 3 + 1], c[i * 3 + 2]]);
        // Coefficient-major with the channel inner → channel-major.
        for ch in 0..3 {
            for j in 0..k {
                s.sh_rest.push(sh[(i * k + j) * 3 + ch]);
            }
        }
    }
    s
}

#[test]
fn adobe_spz_decodes_our_files_to_our_values() {
    let test = "adobe_spz_decodes_our_files_to_our_values";
    let Some(node) = tool(
        test,
        "SPLAT_TRANSFORM_NODE",
        "the node that runs the oracles",
    ) else {
        return;
    };
    let Some(modules) = tool(
        test,
        "SPLATPRESS_NODE_MODULES",
        "node_modules with @adobe/spz",
    ) else {
        return;
    };
    let dir = util::temp_dir("spz-adobe");
    for version in [4u8, 3] {
        for bands in 0..=3u8 {
            let model = if bands == 3 {
                Model::Antialiased
            } else {
                Model::Default
            };
            let label = format!("ours v{version}, {bands} bands, decoded by @adobe/spz");
            let mut src = sample(bands, model);
            // Reach the alpha bytes 0 and 255, where the reference decodes ∓∞.
            src.opacities[0] = f32::INFINITY;
            src.opacities[1] = -30.0;
            let path = dir.path().join(format!("v{version}-{bands}.spz"));
            spz::write(&path, &src, version).unwrap();
            let theirs = adobe_decode(&node, &modules, &path);
            let ours = spz::read(&path).unwrap();
            assert_eq!(theirs.model, model, "{label}");
            assert_close(&label, &theirs, &ours, ROUNDING);
            assert_close(&label, &ours, &representable(&src), STEP);
        }
    }
}

/// Valid SPZ bytes of `version` for a small scene.
fn valid_spz(dir: &Path, version: u8) -> Vec<u8> {
    let path = dir.join(format!("valid-v{version}.spz"));
    spz::write(&path, &sample(1, Model::Default), version).unwrap();
    std::fs::read(path).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn bad_spz_inputs_fail_cleanly_and_leave_no_output() {
    let dir = util::temp_dir("spz-bad");
    let cwd = dir.path();
    let v4 = valid_spz(cwd, 4);
    let v3 = valid_spz(cwd, 3);
    let patched = |at: usize, bytes: &[u8]| {
        let mut b = v4.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    let mut legacy_huge = b"NGSP".to_vec();
    legacy_huge.extend(3u32.to_le_bytes());
    legacy_huge.extend((1u32 << 28).to_le_bytes());
    legacy_huge.extend([3, 12, 0, 0]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "bad-magic",
            b"this is not an spz file at all".to_vec(),
            "not an SPZ file",
        ),
        (
            "truncated-v4",
            v4[..v4.len() * 2 / 3].to_vec(),
            "past the end",
        ),
        ("truncated-header", v4[..20].to_vec(), "32-byte header"),
        ("truncated-v3", v3[..v3.len() / 2].to_vec(), "gzip"),
        (
            "huge-count",
            patched(8, &u32::MAX.to_le_bytes()),
            "numPoints",
        ),
        (
            "huge-count-small-file",
            patched(8, &(1u32 << 28).to_le_bytes()),
            "numPoints",
        ),
        ("huge-count-gzip", gzip(&legacy_huge), "truncated"),
        ("bad-version", patched(4, &9u32.to_le_bytes()), "version 9"),
        ("bad-sh-degree", patched(12, &[7]), "shDegree"),
        ("bad-toc", patched(16, &4u32.to_le_bytes()), "tocByteOffset"),
        ("empty", Vec::new(), "not an SPZ file"),
    ];
    for (name, bytes, expect) in cases {
        let input = format!("{name}.spz");
        std::fs::write(cwd.join(&input), &bytes).unwrap();
        let ran = util::splatpress(cwd, ["convert", input.as_str(), "out.ply"]);
        assert!(
            !ran.output.status.success(),
            "{name}: succeeded\n{}",
            ran.report()
        );
        let stderr = ran.stderr();
        assert!(
            stderr.contains(&input),
            "{name}: the error names no file\n{}",
            ran.report()
        );
        let mentions =
            stderr.contains(expect) || (expect == "gzip" && stderr.contains("truncated"));
        assert!(mentions, "{name}: expected `{expect}` in\n{}", ran.report());
        let left: Vec<_> = std::fs::read_dir(cwd)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| !f.ends_with(".spz"))
            .collect();
        assert!(left.is_empty(), "{name}: left {left:?}");
    }
}

#[test]
fn shared_scenes_against_splat_transform() {
    let test = "shared_scenes_against_splat_transform";
    let Some(data) = util::shared_data() else {
        util::skip(
            test,
            "../shared/data is absent (real scenes live beside the repository)",
        );
        return;
    };
    let Some(st) = tool(test, "SPLAT_TRANSFORM_LATEST", "splat-transform 3.10.2") else {
        return;
    };
    let scenes = [
        "mujoco_warp/fox.ply",
        "gaussiansplats3d-pr477/lod1_tile_0_0.5x.ply",
        "playcanvas-engine/biker.compressed.ply",
        "marcelpadilla-splats/plant.splat",
        "playcanvas-engine/playbot/0_0",
    ];
    let dir = util::temp_dir("spz-shared");
    let cwd = dir.path();
    let mut table = String::from(
        "scene                      splats  SH | ours B   theirs B  ratio | RMSE ours / theirs: \
         position, log-scale, rotation (rad), opacity, f_dc, f_rest\n",
    );
    for rel in scenes {
        let path = data.join(rel);
        if !path.exists() {
            util::skip(test, &format!("{} is absent", path.display()));
            continue;
        }
        let src = splatpress::formats::read(&path).unwrap().sanitize().0;
        ply::write(&cwd.join("in.ply"), &src).unwrap();
        let src = ply::read(&cwd.join("in.ply")).unwrap();
        spz::write(&cwd.join("ours.spz"), &src, 4).unwrap();
        let ours = spz::read(&cwd.join("ours.spz")).unwrap();
        splat_transform(&st, cwd, &["in.ply", "theirs.spz"]);
        splat_transform(&st, cwd, &["theirs.spz", "theirs.ply"]);
        let theirs = ply::read(&cwd.join("theirs.ply")).unwrap();
        // Our file decodes by splat-transform, to our values (in RUB).
        splat_transform(&st, cwd, &["ours.spz", "ours-by-them.ply"]);
        let ours_by_them = ply::read(&cwd.join("ours-by-them.ply")).unwrap();
        assert_close(rel, &ours_by_them, &to_rub(&ours), ROUNDING);
        let size = |f: &str| std::fs::metadata(cwd.join(f)).unwrap().len();
        let (a, b) = (size("ours.spz"), size("theirs.spz"));
        let (ea, eb) = (rmse(&ours, &src), rmse(&theirs, &src));
        let pairs: Vec<String> = (0..6)
            .map(|k| format!("{:.2e}/{:.2e}", ea[k], eb[k]))
            .collect();
        table.push_str(&format!(
            "{rel:<26.26} {:>7} {:>2} | {a:>8} {b:>8} {:>6.3} | {}\n",
            src.len(),
            src.sh_bands,
            a as f64 / b as f64,
            pairs.join(", ")
        ));
        let ratio = a as f64 / b as f64;
        assert!(
            (0.9..=1.1).contains(&ratio),
            "{rel}: ours {a} bytes, splat-transform's {b}"
        );
    }
    println!("{table}");
}
