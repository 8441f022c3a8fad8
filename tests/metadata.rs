//! Metadata that survives conversion: the splat model (antialiased, 2DGS) and free-form
//! `extras`, carried through every pair of formats that can hold them, and said out loud
//! (a warning, exit 0) where the output cannot.
//!
//! Scenes are written by the library (PLY with Brush's `SplatRenderMode` comment), then
//! converted by the command (`convert` for PLY, SPZ and glb; `compress` for SOG) and read back
//! with `info --json`.

use std::path::Path;

use splatpress::Scene;
use splatpress::formats::{WriteOptions, write_scene};
use splatpress::scene::Model;

use crate::util::{self, Ran};

/// The output formats, by the suffix that selects them.
const OUTPUTS: [&str; 4] = ["ply", "spz", "glb", "sog"];

/// A small scene with one SH band and the given model.
fn scene(model: Model) -> Scene {
    let mut s = splatpress::sample::scene(64, 1, 5);
    s.model = model;
    if model == Model::TwoD {
        for scale in &mut s.log_scales {
            scale[2] = f32::NEG_INFINITY;
        }
    }
    s
}

/// Writes `from` as `to` with the command that makes that format.
fn convert(dir: &Path, from: &str, to: &str) -> Ran {
    let command = if to.ends_with(".sog") {
        "compress"
    } else {
        "convert"
    };
    util::splatpress(dir, [command, from, to]).success()
}

/// `info --json` of `file`.
fn info(dir: &Path, file: &str) -> serde_json::Value {
    let ran = util::splatpress(dir, ["info", "--json", file]).success();
    serde_json::from_str(&ran.stdout())
        .unwrap_or_else(|e| panic!("info --json is not JSON ({e}):\n{}", ran.report()))
}

/// The model `format` records for `model` (SPZ has no 2DGS flag).
fn kept(model: Model, format: &str) -> &'static str {
    match (model, format) {
        (Model::TwoD, "spz") => "default",
        (Model::TwoD, _) => "2dgs",
        (Model::Antialiased, _) => "antialiased",
        (Model::Default, _) => "default",
    }
}

#[test]
fn the_model_survives_every_pair_of_formats() {
    for model in [Model::Antialiased, Model::TwoD] {
        let dir = util::temp_dir("metadata-model");
        let d = dir.path();
        write_scene(&d.join("src.ply"), &scene(model), &WriteOptions::default())
            .expect("write the source PLY");
        assert_eq!(info(d, "src.ply")["model"], kept(model, "ply"));
        for first in OUTPUTS {
            let a = format!("a.{first}");
            let ran = convert(d, "src.ply", &a);
            let expected = kept(model, first);
            assert_eq!(info(d, &a)["model"], expected, "{model:?}: src.ply → {a}");
            if expected != kept(model, "ply") {
                assert!(
                    ran.stderr().contains("warning: not kept") && ran.stderr().contains("2DGS"),
                    "a lost model must be said:\n{}",
                    ran.report()
                );
            }
            if expected == "default" {
                continue;
            }
            for second in OUTPUTS {
                let b = format!("b-{first}.{second}");
                convert(d, &a, &b);
                assert_eq!(
                    info(d, &b)["model"],
                    kept(model, second),
                    "{model:?}: src.ply → {a} → {b}"
                );
            }
        }
    }
}

#[test]
fn ply_comments_of_brush_and_postshot_name_the_model() {
    let dir = util::temp_dir("metadata-comments");
    let d = dir.path();
    write_scene(
        &d.join("plain.ply"),
        &scene(Model::Default),
        &WriteOptions::default(),
    )
    .expect("write");
    let plain = std::fs::read(d.join("plain.ply")).expect("read back");
    let with_comments = |comments: &str| {
        let mut bytes = b"ply\nformat binary_little_endian 1.0\n".to_vec();
        bytes.extend_from_slice(comments.as_bytes());
        bytes.extend_from_slice(&plain[b"ply\nformat binary_little_endian 1.0\n".len()..]);
        bytes
    };
    for (comments, model) in [
        ("comment SplatRenderMode: mip\n", "antialiased"),
        ("comment antialiased 1\n", "antialiased"),
        (
            "comment antialiased 1\ncomment SplatRenderMode: default\n",
            "default",
        ),
        ("comment SplatRenderMode: 2dgs\n", "2dgs"),
        ("comment made by hand\n", "default"),
    ] {
        std::fs::write(d.join("c.ply"), with_comments(comments)).expect("write");
        assert_eq!(info(d, "c.ply")["model"], model, "comments {comments:?}");
    }
}

#[test]
fn extras_pass_through_sog_and_glb_and_are_reported_where_lost() {
    let dir = util::temp_dir("metadata-extras");
    let d = dir.path();
    let mut source = scene(Model::Antialiased);
    source.extras = Some(serde_json::json!({"capture": {"device": "phone", "frames": 120}}));
    write_scene(&d.join("src.ply"), &source, &WriteOptions::default()).expect("write");
    // PLY holds no extras: put them into a SOG by hand, as another tool would.
    convert(d, "src.ply", "a.sog");
    util::splatpress(d, ["compress", "src.ply", "folder"]).success();
    let meta_path = d.join("folder/meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).expect("meta")).expect("json");
    meta["extras"] = source.extras.clone().expect("extras");
    std::fs::write(&meta_path, serde_json::to_vec(&meta).expect("json")).expect("write");
    assert_eq!(info(d, "folder")["extras"], meta["extras"]);

    convert(d, "folder", "b.glb");
    assert_eq!(info(d, "b.glb")["extras"], meta["extras"], "SOG → glb");
    convert(d, "b.glb", "c.sog");
    let info_c = info(d, "c.sog");
    assert_eq!(info_c["extras"], meta["extras"], "SOG → glb → SOG");
    assert_eq!(info_c["model"], "antialiased");
    assert!(
        info_c["generator"]
            .as_str()
            .is_some_and(|g| g.starts_with("splatpress v")),
        "asset.generator: {info_c}"
    );
    for lossy in ["d.ply", "d.spz"] {
        let ran = convert(d, "c.sog", lossy);
        assert!(
            ran.stderr().contains("not kept") && ran.stderr().contains("extras"),
            "{lossy}: extras lost without a word:\n{}",
            ran.report()
        );
    }
}

#[test]
fn compress_refuses_scene_formats_and_names_convert() {
    let dir = util::temp_dir("metadata-compress-names");
    let d = dir.path();
    for name in ["x.spz", "x.glb", "x.ply"] {
        let ran = util::splatpress(d, ["compress", "--sample", name]);
        assert_eq!(ran.output.status.code(), Some(1), "{}", ran.report());
        assert!(
            ran.stderr().contains("splatpress convert"),
            "{}",
            ran.report()
        );
        assert!(!d.join(name).exists(), "{name} written");
    }
}
