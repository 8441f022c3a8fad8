//! The command: `eval --render` on a compressed sample, a file against itself, one level of a
//! streamed SOG, `--images`, a `cameras.json` beside the PLY and a bad one.

use std::path::Path;

use serde_json::Value;

use crate::util::{Ran, splatpress, temp_dir};

/// `splatpress sample s.ply` (4000 splats, SH degree 1) in `dir`.
fn sample(dir: &Path) {
    splatpress(dir, ["sample", "s.ply", "--count", "4000", "--bands", "1"]).success();
}

/// [`sample`] + `compress` in `dir`: `s.ply` and `s.sog`.
fn compressed_sample(dir: &Path) {
    sample(dir);
    splatpress(dir, ["compress", "s.ply", "s.sog", "-q"]).success();
}

/// `splatpress eval --render s.ply <args> --render-backend cpu` in `dir` (success not
/// required).
fn eval_render(dir: &Path, args: &[&str]) -> Ran {
    let head = ["eval", "--render", "s.ply"];
    let tail = ["--render-backend", "cpu"];
    splatpress(dir, head.iter().chain(args).chain(&tail))
}

/// [`eval_render`], which must succeed, with its JSON report (`args` hold `--json`).
fn eval_render_json(dir: &Path, args: &[&str]) -> Value {
    let ran = eval_render(dir, args).success();
    serde_json::from_str(&ran.stdout()).unwrap_or_else(|e| panic!("{e}\n{}", ran.report()))
}

#[test]
fn eval_render_reports_every_view() {
    let dir = temp_dir("eval-render");
    compressed_sample(dir.path());
    let report = eval_render_json(
        dir.path(),
        &["s.sog", "--json", "--views", "3", "--size", "96"],
    );
    assert_eq!(report["renderer"], "cpu");
    assert_eq!(report["cameras"], "orbit");
    let views = report["views"].as_array().unwrap();
    assert_eq!(views.len(), 3);
    for v in views {
        let (db, ssim) = (v["psnr_db"].as_f64().unwrap(), v["ssim"].as_f64().unwrap());
        assert!((25.0..100.0).contains(&db), "PSNR {db}: {v}");
        assert!(ssim > 0.8 && ssim < 1.0, "SSIM {ssim}: {v}");
        assert!(v["masked_psnr_db"].as_f64().unwrap() <= db, "{v}");
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(96), Some(96))
        );
    }
    assert!(report["mean"]["psnr_db"].as_f64().unwrap() > 25.0);

    // The text table names every view and the mean.
    let text = eval_render(dir.path(), &["s.sog", "--views", "3", "--size", "64"])
        .success()
        .stdout();
    assert!(text.contains("orbit 2") && text.contains("mean"), "{text}");
}

#[test]
fn eval_render_of_a_file_against_itself_is_perfect() {
    let dir = temp_dir("eval-render-self");
    compressed_sample(dir.path());
    let report = eval_render_json(
        dir.path(),
        &["s.ply", "--json", "--views", "2", "--size", "64"],
    );
    for v in report["views"].as_array().unwrap() {
        assert_eq!(v["psnr_db"].as_f64(), Some(100.0), "{v}");
        assert!((v["ssim"].as_f64().unwrap() - 1.0).abs() < 1e-12, "{v}");
    }
}

#[test]
fn eval_render_reads_one_level_of_a_streamed_sog() {
    let dir = temp_dir("eval-render-lod");
    sample(dir.path());
    splatpress(
        dir.path(),
        [
            "compress",
            "s.ply",
            "out/lod-meta.json",
            "--lod-levels",
            "2",
            "-q",
        ],
    )
    .success();
    let run = |lod: &str| {
        eval_render_json(
            dir.path(),
            &[
                "out/lod-meta.json",
                "--lod",
                lod,
                "--json",
                "--views",
                "2",
                "--size",
                "64",
            ],
        )
    };
    let (full, half) = (run("0"), run("1"));
    assert_eq!(full["splats"][1].as_u64(), Some(4000), "{full}");
    let coarse = half["splats"][1].as_u64().unwrap();
    assert!((1000..4000).contains(&coarse), "{half}");
    let db = |r: &Value| r["mean"]["psnr_db"].as_f64().unwrap();
    assert!(
        db(&full) > db(&half),
        "level 1 ({}) must lose more than level 0 ({})",
        db(&half),
        db(&full)
    );
}

#[test]
fn eval_render_writes_pictures() {
    let dir = temp_dir("eval-render-images");
    compressed_sample(dir.path());
    let ran = eval_render(
        dir.path(),
        &["s.sog", "--views", "2", "--size", "80", "--images", "pics"],
    )
    .success();
    for (file, size) in [
        ("view_00.png", (3 * 80 + 8, 80)),
        ("view_01.png", (248, 80)),
        ("contact_sheet.png", (248, 2 * 84)),
    ] {
        let png = crate::render_engine::decode_png(&dir.path().join("pics").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}\n{}", ran.report()));
        assert_eq!((png.width, png.height), size, "{file}");
    }
}

#[test]
fn eval_render_uses_cameras_json_and_names_a_bad_field() {
    let dir = temp_dir("eval-render-cameras");
    compressed_sample(dir.path());
    // The sample sits around the origin, about 4 units across: a camera 12 units back on z.
    let good = r#"[{"id": 0, "img_name": "front", "width": 120, "height": 80,
        "position": [0, 0, -12], "rotation": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "fx": 90, "fy": 90}]"#;
    std::fs::write(dir.path().join("cameras.json"), good).unwrap();
    let report = eval_render_json(dir.path(), &["s.sog", "--json"]);
    assert!(
        report["cameras"]
            .as_str()
            .unwrap()
            .ends_with("cameras.json"),
        "{report}"
    );
    let view = &report["views"][0];
    assert_eq!(view["name"], "front");
    assert_eq!(
        (view["width"].as_u64(), view["height"].as_u64()),
        (Some(120), Some(80))
    );
    assert!(view["foreground"].as_f64().unwrap() > 0.05, "{view}");

    let bad = good.replace(", [0, 0, 1]]", "]");
    std::fs::write(dir.path().join("bad.json"), bad).unwrap();
    let ran = eval_render(dir.path(), &["s.sog", "--cameras", "bad.json"]);
    assert!(!ran.output.status.success(), "{}", ran.report());
    let err = ran.stderr();
    assert!(
        err.contains("bad.json") && err.contains("`rotation`") && err.contains("camera 0"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
