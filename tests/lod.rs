//! Streamed SOG (`lod-meta.json`) input: levels read as splat-transform 3.10.2 decodes them,
//! every broken manifest refused with the field named (never a panic), `--lod` on the CLI.
//!
//! The oracle comes from the environment (`cargo xtask test` sets it): `$SPLAT_TRANSFORM_LATEST`
//! writes a streamed SOG from two PLY levels and decodes each level back (`-L N`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use splatpress::formats::{lod, ply};
use splatpress::{BackendChoice, Input, Options, Scene};

use crate::util::{self, Ran};

/// The oracle named by `var`, or `None` after recording a skip (a failure when
/// `SPLATPRESS_REQUIRE_INTEROP=1`).
fn oracle(test: &str, var: &str) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(v) => {
            let path = PathBuf::from(v);
            assert!(path.exists(), "{var}={} does not exist", path.display());
            Some(path)
        }
        None if std::env::var("SPLATPRESS_REQUIRE_INTEROP").is_ok_and(|v| v == "1") => {
            panic!("SPLATPRESS_REQUIRE_INTEROP=1 but {var} is unset (`cargo xtask test` sets it)")
        }
        None => {
            util::skip(
                test,
                &format!("{var} is unset (`cargo xtask test` sets it)"),
            );
            None
        }
    }
}

/// Every column of `ours` within `tol` (absolute, or relative for large values) of `theirs`.
fn assert_close(label: &str, ours: &Scene, theirs: &Scene, tol: f32) {
    assert_eq!(ours.len(), theirs.len(), "{label}: splat count");
    assert_eq!(ours.sh_bands, theirs.sh_bands, "{label}: SH bands");
    let near = |a: f32, b: f32| a == b || (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()));
    let columns: [(&str, Vec<f32>, Vec<f32>); 6] = [
        ("position", flat(&ours.positions), flat(&theirs.positions)),
        ("rotation", flat(&ours.rotations), flat(&theirs.rotations)),
        (
            "log-scale",
            flat(&ours.log_scales),
            flat(&theirs.log_scales),
        ),
        // As alpha: splat-transform clamps alpha to [1e-6, 1 - 1e-6] before the logit, we
        // to a logit of ±40.
        (
            "opacity (alpha)",
            alpha(&ours.opacities),
            alpha(&theirs.opacities),
        ),
        ("f_dc", flat(&ours.sh_dc), flat(&theirs.sh_dc)),
        ("f_rest", ours.sh_rest.clone(), theirs.sh_rest.clone()),
    ];
    for (name, a, b) in columns {
        assert_eq!(a.len(), b.len(), "{label}: {name} length");
        if let Some(i) = (0..a.len()).find(|&i| !near(a[i], b[i])) {
            panic!(
                "{label}: {name}[{i}]: ours {} vs splat-transform {}",
                a[i], b[i]
            );
        }
    }
}

fn alpha(logits: &[f32]) -> Vec<f32> {
    logits.iter().map(|l| 1.0 / (1.0 + (-l).exp())).collect()
}

fn flat<const N: usize>(rows: &[[f32; N]]) -> Vec<f32> {
    rows.iter().flatten().copied().collect()
}

/// Runs splat-transform quietly on the CPU, overwriting its output.
fn splat_transform(tool: &Path, cwd: &Path, args: &[&str]) -> Ran {
    let mut cmd = Command::new(tool);
    cmd.args(["-q", "-w", "-g", "cpu"])
        .args(args)
        .current_dir(cwd);
    Ran::new(cmd).success()
}

#[test]
fn levels_read_as_splat_transform_decodes_them() {
    let test = "levels_read_as_splat_transform_decodes_them";
    let Some(st) = oracle(test, "SPLAT_TRANSFORM_LATEST") else {
        return;
    };
    let dir = util::temp_dir("lod-oracle");
    let cwd = dir.path();
    ply::write(
        &cwd.join("fine.ply"),
        &splatpress::sample::scene(3000, 2, 1),
    )
    .unwrap();
    ply::write(
        &cwd.join("coarse.ply"),
        &splatpress::sample::scene(700, 2, 2),
    )
    .unwrap();
    // Small chunks so level 0 spans two chunk SOGs and each chunk holds several leaves.
    splat_transform(
        &st,
        cwd,
        &[
            "fine.ply",
            "-l",
            "0",
            "coarse.ply",
            "-l",
            "1",
            "--lod-chunk-count",
            "1",
            "--lod-chunk-extent",
            "1",
            "out/lod-meta.json",
        ],
    );
    let manifest_path = cwd.join("out/lod-meta.json");
    let manifest = lod::read_manifest(&manifest_path).unwrap();
    assert_eq!(manifest.counts, vec![3000, 700]);
    assert!(manifest.filenames.len() >= 3, "{:?}", manifest.filenames);
    let mut all = Vec::new();
    for level in 0..2u32 {
        let out = format!("level{level}.ply");
        splat_transform(
            &st,
            cwd,
            &["out/lod-meta.json", "-L", &level.to_string(), &out],
        );
        let theirs = ply::read(&cwd.join(&out)).unwrap();
        let ours = lod::read(&manifest_path, Some(level)).unwrap();
        assert_close(&format!("level {level}"), &ours, &theirs, 1e-5);
        all.push(ours);
    }
    // No level: every level, level 0 first.
    let both = lod::read(&manifest_path, None).unwrap();
    assert_eq!(both.len(), 3700);
    assert_eq!(both.positions[..3000], all[0].positions[..]);
    assert_eq!(both.positions[3000..], all[1].positions[..]);
    // A plain read (what info, convert, eval and compress do) is level 0, as splat-transform's
    // single-scene outputs are.
    splat_transform(&st, cwd, &["out/lod-meta.json", "default.ply"]);
    let theirs = ply::read(&cwd.join("default.ply")).unwrap();
    let (plain, notes) = splatpress::formats::read_with_notes(&manifest_path).unwrap();
    assert_close("no level", &plain, &theirs, 1e-5);
    assert_eq!(notes.len(), 1, "{notes:?}");
}

/// A streamed SOG written with our SOG writer: chunks `0_0` (100 splats, level 0) and `1_0`
/// (40 splats, level 1), two leaves each taking half of both; returns the manifest.
fn fixture(dir: &Path) -> Value {
    let options = Options {
        backend: BackendChoice::Cpu,
        sh_iterations: 2,
        ..Options::default()
    };
    for (name, count) in [("0_0", 100usize), ("1_0", 40)] {
        let input = Input::Sample { count, bands: 1 };
        std::fs::create_dir_all(dir.join(name)).unwrap();
        let out = dir.join(name).join("meta.json");
        splatpress::compress_file(&input, &out, &options, &()).unwrap();
    }
    let bound = json!({"min": [-1, -1, -1], "max": [1, 1, 1]});
    let leaf = |o0: u64, o1: u64| {
        json!({"bound": bound, "lods": {
            "0": {"file": 0, "offset": o0, "count": 50},
            "1": {"file": 1, "offset": o1, "count": 20},
        }})
    };
    json!({
        "version": 1,
        "asset": {"generator": "splatpress tests"},
        "count": 140,
        "counts": [100, 40],
        "lodLevels": 2,
        "filenames": ["0_0/meta.json", "1_0/meta.json"],
        "tree": {"bound": bound, "children": [leaf(0, 0), leaf(50, 20)]},
    })
}

fn write_manifest(dir: &Path, manifest: &Value) -> PathBuf {
    let path = dir.join("lod-meta.json");
    std::fs::write(&path, serde_json::to_vec(manifest).unwrap()).unwrap();
    path
}

#[test]
fn convert_and_info_take_a_level() {
    let dir = util::temp_dir("lod-convert");
    let cwd = dir.path();
    let path = write_manifest(cwd, &fixture(cwd));
    for level in [0u32, 1] {
        let out = format!("level{level}.ply");
        let args = [
            "convert",
            "lod-meta.json",
            "--lod",
            &level.to_string(),
            &out,
        ];
        util::splatpress(cwd, args).success();
        let written = ply::read(&cwd.join(&out)).unwrap();
        let read = lod::read(&path, Some(level)).unwrap();
        assert_eq!(written.len(), [100, 40][level as usize]);
        assert_close(&format!("convert --lod {level}"), &written, &read, 0.0);
    }
    // Chunk order is tree order: level 1 is chunk 1_0 whole, as its two leaves cover it.
    let chunk = splatpress::formats::read(&cwd.join("1_0/meta.json")).unwrap();
    assert_close(
        "level 1 = chunk 1_0",
        &lod::read(&path, Some(1)).unwrap(),
        &chunk,
        0.0,
    );

    let info = util::splatpress(cwd, ["info", "--json", "--lod", "1", "lod-meta.json"]).success();
    let report: Value = serde_json::from_str(&info.stdout()).unwrap();
    assert_eq!(report["format"], "lod-meta");
    assert_eq!(report["splats"], 40, "{report}");
    assert_eq!(report["lod"]["counts"], json!([100, 40]));
    assert_eq!(report["lod"]["level"], 1);
    let plain = util::splatpress(cwd, ["info", "lod-meta.json"]).success();
    assert!(plain.stdout().contains("100 splats"), "{}", plain.report());

    let past = util::splatpress(cwd, ["info", "--lod", "2", "lod-meta.json"]);
    assert_eq!(past.output.status.code(), Some(1), "{}", past.report());
    assert!(past.stderr().contains("level 2"), "{}", past.report());
    let not_lod = util::splatpress(cwd, ["convert", "--lod", "1", "level0.ply", "x.ply"]);
    assert_eq!(
        not_lod.output.status.code(),
        Some(1),
        "{}",
        not_lod.report()
    );
    // Any .json with `lodLevels` at the top is a manifest, whatever its name.
    std::fs::copy(&path, cwd.join("scene.json")).unwrap();
    util::splatpress(cwd, ["info", "scene.json"]).success();
}

/// Builds `depth` nested nodes above the fixture's first leaf.
fn deep(manifest: &mut Value, depth: usize) {
    let leaf = manifest["tree"]["children"][0].clone();
    let spare = json!({"lods": {}});
    let mut node = leaf;
    for _ in 0..depth {
        node = json!({"children": [node, spare]});
    }
    manifest["tree"]["children"][0] = node;
}

#[test]
fn broken_manifests_name_the_field() {
    let dir = util::temp_dir("lod-bad");
    let cwd = dir.path();
    let good = fixture(cwd);
    type Edit = fn(&mut Value);
    let cases: &[(&str, Edit, &[&str])] = &[
        (
            "file out of range",
            |m| m["tree"]["children"][1]["lods"]["1"]["file"] = json!(5),
            &["tree.children[1].lods.1.file", "out of range"],
        ),
        (
            "range past the chunk",
            |m| m["tree"]["children"][1]["lods"]["0"]["offset"] = json!(60),
            &["tree.children[1].lods.0", "past the 100 splats"],
        ),
        (
            "counts disagree",
            |m| m["counts"][1] = json!(41),
            &["counts[1]", "41"],
        ),
        (
            "count disagrees",
            |m| m["count"] = json!(141),
            &["count", "141"],
        ),
        (
            "lodLevels vs counts",
            |m| m["lodLevels"] = json!(3),
            &["counts", "lodLevels is 3"],
        ),
        (
            "missing chunk",
            |m| m["filenames"][1] = json!("9_9/meta.json"),
            &["filenames[1]", "9_9/meta.json", "missing"],
        ),
        (
            "both children and lods",
            |m| m["tree"]["children"][0]["children"] = json!([]),
            &["tree.children[0]", "both"],
        ),
        (
            "neither",
            |m| m["tree"]["children"][0] = json!({"bound": {"min": [0, 0, 0], "max": [0, 0, 0]}}),
            &["tree.children[0]", "neither"],
        ),
        (
            "three children",
            |m| {
                let c = m["tree"]["children"][0].clone();
                m["tree"]["children"].as_array_mut().unwrap().push(c)
            },
            &["tree.children", "3 children"],
        ),
        (
            "too deep",
            |m| deep(m, 55),
            &["tree.children[0]", "deeper than"],
        ),
        (
            "far too deep",
            |m| deep(m, 500),
            &["JSON", "nested too deeply"],
        ),
        (
            "absurd counts",
            |m| m["counts"][0] = json!(1u64 << 50),
            &["counts[0]", "more than"],
        ),
        (
            "absurd leaf count",
            |m| m["tree"]["children"][0]["lods"]["0"]["count"] = json!(1u64 << 40),
            &["tree.children[0].lods.0", "more than"],
        ),
        (
            "negative offset",
            |m| m["tree"]["children"][0]["lods"]["0"]["offset"] = json!(-1),
            &["tree.children[0].lods.0.offset", "non-negative"],
        ),
        (
            "level out of range",
            |m| m["tree"]["children"][0]["lods"]["7"] = json!({"file": 0, "offset": 0, "count": 0}),
            &["tree.children[0].lods.7", "not a level"],
        ),
        (
            "overlapping ranges",
            |m| m["tree"]["children"][1]["lods"]["0"]["offset"] = json!(10),
            &["tree.children[1].lods.0", "overlaps"],
        ),
        (
            "chunk outside the folder",
            |m| m["filenames"][0] = json!("../x/meta.json"),
            &["filenames[0]", "not a path inside"],
        ),
        ("version", |m| m["version"] = json!(2), &["version", "2"]),
        (
            "no tree",
            |m| {
                m.as_object_mut().unwrap().remove("tree");
            },
            &["tree", "missing"],
        ),
        (
            "bad bound",
            |m| m["tree"]["bound"]["min"] = json!([0, 0]),
            &["tree.bound.min", "three numbers"],
        ),
    ];
    for (label, edit, expected) in cases {
        let mut manifest = good.clone();
        edit(&mut manifest);
        write_manifest(cwd, &manifest);
        let ran = util::splatpress(cwd, ["info", "lod-meta.json"]);
        assert_eq!(
            ran.output.status.code(),
            Some(1),
            "{label}:\n{}",
            ran.report()
        );
        let stderr = ran.stderr();
        assert!(
            stderr.contains("lod-meta.json"),
            "{label}:\n{}",
            ran.report()
        );
        for want in *expected {
            assert!(
                stderr.contains(want),
                "{label}: expected `{want}`:\n{}",
                ran.report()
            );
        }
    }
    // The fixture itself reads.
    write_manifest(cwd, &good);
    util::splatpress(cwd, ["info", "lod-meta.json"]).success();
}

/// Writing: `compress … lod-meta.json`.
#[path = "lod_write.rs"]
mod write;
