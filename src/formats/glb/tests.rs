//! Unit tests of the glTF reader and writer on files built in memory: round trips, the JSON
//! we write, what the reader accepts beyond our own files, and how it refuses bad ones.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::container;
use super::document::component;
use super::read::parse;
use crate::Scene;
use crate::scene::Model;

fn temp(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    (dir, path)
}

/// Writes `scene`, returns the file's bytes.
fn written(scene: &Scene) -> Vec<u8> {
    let (_dir, path) = temp("s.glb");
    super::write(&path, scene).expect("write");
    std::fs::read(&path).expect("read back")
}

/// The JSON and BIN chunk of a GLB.
fn split(bytes: &[u8]) -> (Value, Vec<u8>) {
    let chunks = container::parse(Path::new("x.glb"), bytes).expect("container");
    (
        serde_json::from_slice(chunks.json).expect("JSON"),
        chunks.bin.unwrap_or_default().to_vec(),
    )
}

/// A GLB of `json` and `bin` (padded to 4 bytes).
fn join(json: &Value, bin: &[u8]) -> Vec<u8> {
    let mut bin = bin.to_vec();
    bin.resize(container::align4(bin.len()), 0);
    let mut out = container::head(&serde_json::to_vec(json).unwrap(), bin.len()).unwrap();
    out.extend(container::bin_chunk_header(bin.len()));
    out.extend(bin);
    out
}

fn read_bytes(bytes: &[u8]) -> crate::Result<Scene> {
    parse(Path::new("x.glb"), bytes)
}

fn error(bytes: &[u8]) -> String {
    read_bytes(bytes)
        .expect_err("should be refused")
        .to_string()
}

fn normalised(q: [f32; 4]) -> [f32; 4] {
    let n = q.iter().map(|v| v * v).sum::<f32>().sqrt();
    q.map(|v| v / n)
}

fn sigmoid(x: f32) -> f64 {
    1.0 / (1.0 + (-f64::from(x)).exp())
}

/// `b` is `a` read back: positions, colours and SH exact, rotations equal after normalising,
/// log-scales within 1e-6, opacities equal after the sigmoid within one f32 step.
fn assert_same(a: &Scene, b: &Scene) {
    assert_eq!(
        (a.len(), a.sh_bands, a.model),
        (b.len(), b.sh_bands, b.model)
    );
    assert_eq!(a.positions, b.positions);
    assert_eq!(a.sh_dc, b.sh_dc);
    assert_eq!(a.sh_rest, b.sh_rest);
    for i in 0..a.len() {
        let (qa, qb) = (normalised(a.rotations[i]), b.rotations[i]);
        for c in 0..4 {
            assert!(
                (qa[c] - qb[c]).abs() < 1e-6,
                "splat {i} rotation {qa:?} vs {qb:?}"
            );
        }
        for c in 0..3 {
            let (sa, sb) = (a.log_scales[i][c], b.log_scales[i][c]);
            assert!(
                sa == sb || (sa - sb).abs() < 1e-6,
                "splat {i} scale {sa} vs {sb}"
            );
        }
        let (oa, ob) = (sigmoid(a.opacities[i]), sigmoid(b.opacities[i]));
        assert!((oa - ob).abs() < 1.2e-7, "splat {i} opacity {oa} vs {ob}");
    }
}

#[test]
fn round_trips_every_band_and_model() {
    for bands in 0..=3 {
        for model in [Model::Default, Model::Antialiased, Model::TwoD] {
            let mut scene = crate::sample::scene(300, bands, 11 + u64::from(bands));
            scene.model = model;
            if model == Model::TwoD {
                scene
                    .log_scales
                    .iter_mut()
                    .for_each(|s| s[2] = f32::NEG_INFINITY);
            }
            scene.opacities[0] = f32::INFINITY;
            scene.opacities[1] = f32::NEG_INFINITY;
            let back = read_bytes(&written(&scene)).expect("read");
            assert_same(&scene, &back);
            assert_eq!(back.opacities[0], 40.0);
            assert_eq!(back.opacities[1], -40.0);
        }
    }
}

#[test]
fn writes_the_extension_as_splat_transform_does() {
    let mut scene = crate::sample::scene(50, 2, 3);
    scene.model = Model::Antialiased;
    let (json, bin) = split(&written(&scene));
    assert_eq!(json["asset"]["version"], "2.0");
    assert_eq!(
        json["asset"]["generator"],
        crate::formats::sog::meta::GENERATOR
    );
    assert_eq!(json["extensionsUsed"], json!(["KHR_gaussian_splatting"]));
    assert!(json.get("extensionsRequired").is_none());
    let primitive = &json["meshes"][0]["primitives"][0];
    assert_eq!(primitive["mode"], 0);
    let ext = &primitive["extensions"]["KHR_gaussian_splatting"];
    assert_eq!(ext["kernel"], "ellipse");
    assert_eq!(ext["colorSpace"], "srgb_rec709_display");
    assert_eq!(ext["sortingMethod"], "cameraDistance");
    assert_eq!(ext["projection"], "perspective");
    assert_eq!(
        ext["extras"],
        json!({"splatpress": {"model": "antialiased"}})
    );
    let attributes = primitive["attributes"].as_object().unwrap();
    assert_eq!(attributes.len(), 6 + 8);
    assert!(attributes.contains_key("KHR_gaussian_splatting:SH_DEGREE_2_COEF_4"));
    assert!(!attributes.contains_key("KHR_gaussian_splatting:SH_DEGREE_3_COEF_0"));
    // Every view 4-byte aligned inside the buffer, which is the BIN chunk.
    let buffer_len = json["buffers"][0]["byteLength"].as_u64().unwrap();
    assert_eq!(buffer_len as usize, bin.len());
    for view in json["bufferViews"].as_array().unwrap() {
        let offset = view["byteOffset"].as_u64().unwrap();
        assert_eq!(offset % 4, 0);
        assert!(offset + view["byteLength"].as_u64().unwrap() <= buffer_len);
    }
    // POSITION min/max are the extremes of the converted positions.
    let position = &json["accessors"][attributes["POSITION"].as_u64().unwrap() as usize];
    for axis in 0..3 {
        let values = scene
            .positions
            .iter()
            .map(|p| super::convert::position(*p)[axis]);
        let min = values.clone().fold(f32::INFINITY, f32::min);
        let max = values.fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(position["min"][axis].as_f64().unwrap(), f64::from(min));
        assert_eq!(position["max"][axis].as_f64().unwrap(), f64::from(max));
    }
    let color = &json["accessors"][attributes["COLOR_0"].as_u64().unwrap() as usize];
    assert_eq!(
        (
            color["componentType"].as_u64(),
            color["normalized"].as_bool()
        ),
        (Some(5121), Some(true))
    );
}

#[test]
fn write_refuses_what_gltf_cannot_hold() {
    let (_dir, path) = temp("bad.glb");
    let e = super::write(&path, &Scene::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no splats"), "{e}");
    let mut scene = crate::sample::scene(10, 1, 1);
    scene.log_scales[4][1] = f32::NAN;
    let e = super::write(&path, &scene).unwrap_err().to_string();
    assert!(e.contains("splat 4") && e.contains("scale"), "{e}");
    let mut scene = crate::sample::scene(10, 1, 1);
    scene.positions[7][0] = f32::INFINITY;
    let e = super::write(&path, &scene).unwrap_err().to_string();
    assert!(e.contains("splat 7") && e.contains("position"), "{e}");
    assert!(!path.exists(), "a refused write left a file");
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        0
    );
}

/// A hand-made file: one interleaved buffer view (stride 20: position f32×3, rotation i16×4
/// normalised), opacity as normalised u8, scale and DC as f32, under a node with a translation
/// and a uniform scale of 2.
fn interleaved(node: Value) -> (Value, Vec<u8>) {
    let mut bin = Vec::new();
    for (p, q) in [
        ([1.0f32, 2.0, 3.0], [0i16, 0, 0, 32767]),
        ([-1.0, 0.5, 0.0], [0, 0, 32767, 0]),
    ] {
        p.iter().for_each(|v| bin.extend(v.to_le_bytes()));
        q.iter().for_each(|v| bin.extend(v.to_le_bytes()));
    }
    let opacity_at = bin.len();
    bin.extend([255u8, 0, 0, 0]);
    let floats_at = bin.len();
    for v in [
        0.5f32, 1.0, 2.0, 0.25, 0.25, 0.25, 0.1, 0.2, 0.3, -0.1, -0.2, -0.3,
    ] {
        bin.extend(v.to_le_bytes());
    }
    let json = json!({
        "asset": {"version": "2.0"},
        "scenes": [{"nodes": [0]}],
        "nodes": [node, {"mesh": 0}],
        "meshes": [{"primitives": [{
            "mode": 0,
            "attributes": {
                "POSITION": 0, "KHR_gaussian_splatting:ROTATION": 1,
                "KHR_gaussian_splatting:OPACITY": 2, "KHR_gaussian_splatting:SCALE": 3,
                "KHR_gaussian_splatting:SH_DEGREE_0_COEF_0": 4
            },
            "extensions": {"KHR_gaussian_splatting": {"kernel": "ellipse", "colorSpace": "srgb_rec709_display"}}
        }]}],
        "buffers": [{"byteLength": bin.len()}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 40, "byteStride": 20},
            {"buffer": 0, "byteOffset": opacity_at, "byteLength": 2},
            {"buffer": 0, "byteOffset": floats_at, "byteLength": 48}
        ],
        "accessors": [
            {"bufferView": 0, "componentType": component::FLOAT, "count": 2, "type": "VEC3"},
            {"bufferView": 0, "byteOffset": 12, "componentType": component::SHORT, "normalized": true, "count": 2, "type": "VEC4"},
            {"bufferView": 1, "componentType": component::UNSIGNED_BYTE, "normalized": true, "count": 2, "type": "SCALAR"},
            {"bufferView": 2, "componentType": component::FLOAT, "count": 2, "type": "VEC3"},
            {"bufferView": 2, "byteOffset": 24, "componentType": component::FLOAT, "count": 2, "type": "VEC3"}
        ]
    });
    (json, bin)
}

#[test]
fn reads_strides_normalised_integers_and_node_placement() {
    let node = json!({"translation": [10.0, 0.0, 0.0], "scale": [2.0, 2.0, 2.0], "children": [1]});
    let (json, bin) = interleaved(node);
    let scene = read_bytes(&join(&json, &bin)).expect("read");
    assert_eq!(scene.len(), 2);
    // glTF (1, 2, 3) · 2 + (10, 0, 0) = (12, 4, 6) → PLY (−12, −4, 6); (−1, 0.5, 0) → (8, 1, 0).
    assert_eq!(scene.positions, vec![[-12.0, -4.0, 6.0], [-8.0, -1.0, 0.0]]);
    // glTF identity (0, 0, 0, 1) is PLY (w, x, y, z) = (0, 0, 0, −1): the 180° turn about Z.
    assert_eq!(scene.rotations[0], [0.0, 0.0, -0.0, -1.0]);
    assert_eq!(scene.opacities, vec![40.0, -40.0]);
    let ln2 = std::f32::consts::LN_2;
    assert!((scene.log_scales[0][0] - (0.5f32.ln() + ln2)).abs() < 1e-6);
    assert_eq!(scene.sh_dc[1], [-0.1, -0.2, -0.3]);
    assert_eq!((scene.sh_bands, scene.model), (0, Model::Default));

    let h = std::f64::consts::FRAC_1_SQRT_2;
    let rotated = json!({"rotation": [0.0, h, 0.0, h], "children": [1]});
    let (json, bin) = interleaved(rotated);
    let e = error(&join(&json, &bin));
    assert!(
        e.contains("nodes[1]") && e.contains("translation and uniform scale"),
        "{e}"
    );
}

#[test]
fn concatenates_primitives_and_pads_sh() {
    let a = crate::sample::scene(20, 0, 1);
    let b = crate::sample::scene(30, 2, 2);
    let (mut ja, bin_a) = split(&written(&a));
    let (jb, bin_b) = split(&written(&b));
    // Append b's accessors and views after a's, its buffer views shifted past a's BIN.
    let shift = bin_a.len() as u64;
    let (na, nv) = (
        ja["accessors"].as_array().unwrap().len(),
        ja["bufferViews"].as_array().unwrap().len(),
    );
    for mut v in jb["bufferViews"].as_array().unwrap().clone() {
        v["byteOffset"] = json!(v["byteOffset"].as_u64().unwrap() + shift);
        ja["bufferViews"].as_array_mut().unwrap().push(v);
    }
    for mut acc in jb["accessors"].as_array().unwrap().clone() {
        acc["bufferView"] = json!(acc["bufferView"].as_u64().unwrap() + nv as u64);
        ja["accessors"].as_array_mut().unwrap().push(acc);
    }
    let mut prim = jb["meshes"][0]["primitives"][0].clone();
    for (_, index) in prim["attributes"].as_object_mut().unwrap() {
        *index = json!(index.as_u64().unwrap() + na as u64);
    }
    ja["meshes"][0]["primitives"]
        .as_array_mut()
        .unwrap()
        .push(prim);
    let mut bin = bin_a.clone();
    bin.extend(&bin_b);
    ja["buffers"][0]["byteLength"] = json!(bin.len());
    let scene = read_bytes(&join(&ja, &bin)).expect("read");
    assert_eq!((scene.len(), scene.sh_bands), (50, 2));
    assert_eq!(&scene.positions[..20], &a.positions[..]);
    assert_eq!(&scene.positions[20..], &b.positions[..]);
    assert!(scene.rest(5).iter().all(|v| *v == 0.0));
    assert_eq!(scene.rest(25), b.rest(5));
    scene.check_columns().unwrap();
}

#[test]
fn reads_meshes_that_no_node_places() {
    let source = crate::sample::scene(12, 1, 9);
    let (mut json, bin) = split(&written(&source));
    let root = json.as_object_mut().unwrap();
    for key in ["scene", "scenes", "nodes"] {
        root.remove(key);
    }
    let back = read_bytes(&join(&json, &bin)).expect("read");
    assert_eq!(back.positions, source.positions);
}

#[test]
fn primitives_sharing_accessors_cannot_multiply_memory() {
    // Found by the fuzzer: 100,000 copies of one primitive read as 100,000 times its splats.
    let source = crate::sample::scene(16, 0, 3);
    let (mut json, bin) = split(&written(&source));
    let prim = json["meshes"][0]["primitives"][0].clone();
    let primitives = json["meshes"][0]["primitives"].as_array_mut().unwrap();
    primitives.extend(std::iter::repeat_n(prim, 1000));
    let message = read_bytes(&join(&json, &bin)).unwrap_err().to_string();
    assert!(message.contains("shared between primitives"), "{message}");
}

/// A written file's JSON edited by `edit`, with the same BIN chunk.
fn edited(edit: impl FnOnce(&mut Value, &mut Vec<u8>)) -> Vec<u8> {
    let (mut json, mut bin) = split(&written(&crate::sample::scene(8, 1, 5)));
    edit(&mut json, &mut bin);
    join(&json, &bin)
}

#[test]
fn bad_files_are_refused_with_the_part_named() {
    let attr = |j: &Value, name: &str| {
        j["meshes"][0]["primitives"][0]["attributes"][name]
            .as_u64()
            .unwrap() as usize
    };
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "accessor index",
            edited(|j, _| j["meshes"][0]["primitives"][0]["attributes"]["POSITION"] = json!(99)),
            &["attributes[\"POSITION\"]", "out of range"],
        ),
        (
            "count past view",
            edited(|j, _| {
                let i = attr(j, "KHR_gaussian_splatting:SCALE");
                j["accessors"][i]["count"] = json!(9);
            }),
            &[
                "(KHR_gaussian_splatting:SCALE)",
                "run past the end of bufferView",
            ],
        ),
        (
            "absurd count",
            edited(|j, _| j["accessors"][0]["count"] = json!(1u64 << 40)),
            &["accessors[0]", "count"],
        ),
        (
            "view past buffer",
            edited(|j, _| j["bufferViews"][2]["byteLength"] = json!(100_000)),
            &["bufferViews[2]", "past the end of buffer 0"],
        ),
        (
            "buffer past BIN",
            edited(|j, _| j["buffers"][0]["byteLength"] = json!(100_000)),
            &["buffers[0].byteLength", "BIN chunk"],
        ),
        (
            "external buffer",
            edited(|j, _| j["buffers"][0]["uri"] = json!("splats.bin")),
            &["external file"],
        ),
        (
            "sparse",
            edited(|j, _| j["accessors"][0]["sparse"] = json!({"count": 1})),
            &["accessors[0]", "sparse"],
        ),
        (
            "wrong type",
            edited(|j, _| {
                let i = attr(j, "KHR_gaussian_splatting:OPACITY");
                j["accessors"][i]["type"] = json!("VEC2");
            }),
            &["OPACITY", "expected SCALAR"],
        ),
        (
            "partial SH",
            edited(|j, _| {
                j["meshes"][0]["primitives"][0]["attributes"]
                    .as_object_mut()
                    .unwrap()
                    .remove("KHR_gaussian_splatting:SH_DEGREE_1_COEF_1");
            }),
            &["SH degree 1 is partial", "COEF_1"],
        ),
        (
            "compressed",
            edited(|j, _| {
                let p = &mut j["meshes"][0]["primitives"][0];
                p["attributes"].as_object_mut().unwrap().remove("POSITION");
                p["extensions"]["KHR_gaussian_splatting"]["extensions"] =
                    json!({"KHR_gaussian_splatting_compression_spz_2": {}});
            }),
            &["POSITION is missing", "compression_spz_2"],
        ),
        (
            "required",
            edited(|j, _| {
                j["extensionsRequired"] = json!(["KHR_gaussian_splatting_compression_spz_2"])
            }),
            &["extensionsRequired", "compression_spz_2"],
        ),
        (
            "no splats",
            edited(|j, _| {
                j["meshes"][0]["primitives"][0]["extensions"] = json!({});
            }),
            &["meshes", "no mesh primitive"],
        ),
        (
            "node cycle",
            edited(|j, _| {
                j["nodes"] = json!([{"mesh": 0, "children": [1]}, {"children": [0]}]);
            }),
            &["cycle"],
        ),
        (
            "opacity > 1",
            edited(|j, bin| {
                let i = attr(j, "KHR_gaussian_splatting:OPACITY");
                let at = j["bufferViews"]
                    [j["accessors"][i]["bufferView"].as_u64().unwrap() as usize]["byteOffset"]
                    .as_u64()
                    .unwrap() as usize
                    + 4;
                bin[at..at + 4].copy_from_slice(&1.5f32.to_le_bytes());
            }),
            &["OPACITY), splat 1", "outside [0, 1]"],
        ),
        (
            "bad JSON field",
            edited(|j, _| j["bufferViews"][1]["byteLength"] = json!("many")),
            &["bufferViews[1]"],
        ),
    ];
    for (what, bytes, needles) in cases {
        let e = error(&bytes);
        assert!(e.starts_with("x.glb: "), "{what}: {e}");
        for needle in needles {
            assert!(e.contains(needle), "{what}: {e:?} lacks {needle:?}");
        }
    }
}
