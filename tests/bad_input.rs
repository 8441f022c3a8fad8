//! Broken inputs give a located `Error::Parse`, never a panic or a huge allocation; real
//! scenes from ../shared/data read with the values their README describes.

use std::path::PathBuf;

use splatpress::formats::{self, ply};
use splatpress::{Error, Scene};

use crate::util;

/// The INRIA 3DGS property names with SH degree 0 (14 floats, 56 bytes a row).
const SH0: [&str; 14] = [
    "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
    "rot_0", "rot_1", "rot_2", "rot_3",
];

fn header(format: &str, count: u64, props: &[&str]) -> String {
    let mut h = format!("ply\nformat {format} 1.0\nelement vertex {count}\n");
    for p in props {
        h.push_str(&format!("property float {p}\n"));
    }
    h + "end_header\n"
}

/// Writes `bytes` as `name` in a fresh temp dir and reads it with the format dispatcher.
fn read_err(name: &str, bytes: &[u8]) -> (String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let err = formats::read(&path).expect_err("bad input must be an error");
    assert!(
        matches!(err, Error::Parse { .. }),
        "{name}: expected Error::Parse, got {err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "{name}: message does not name the file: {message}"
    );
    (message, path)
}

fn assert_has(message: &str, parts: &[&str]) {
    for p in parts {
        assert!(message.contains(p), "expected `{p}` in: {message}");
    }
}

#[test]
fn truncated_payload_reports_offset_and_expectation() {
    let names: Vec<String> = (0..62).map(|i| format!("p{i}")).collect();
    let mut props: Vec<&str> = SH0.to_vec();
    props.extend(names.iter().skip(14).map(|s| s.as_str()));
    let h = header("binary_little_endian", 1000, &props);
    let mut bytes = h.clone().into_bytes();
    bytes.extend(vec![0u8; 1000]);
    let (m, _) = read_err("short.ply", &bytes);
    let offset = h.len().to_string();
    assert_has(
        &m,
        &[
            "1000 vertices",
            "248 bytes",
            "248000 bytes",
            &offset,
            "found 1000",
        ],
    );
}

#[test]
fn huge_vertex_counts_are_rejected_before_allocating() {
    let count = 1u64 << 40;
    for format in ["binary_little_endian", "binary_big_endian", "ascii"] {
        let mut bytes = header(format, count, &SH0).into_bytes();
        bytes.extend(vec![b'1'; 4096]);
        let (m, _) = read_err("huge.ply", &bytes);
        assert_has(&m, &[&count.to_string()]);
    }
    // A count whose byte size overflows u64.
    let bytes = header("binary_little_endian", u64::MAX, &SH0).into_bytes();
    let (m, _) = read_err("overflow.ply", &bytes);
    assert_has(&m, &["truncated"]);
}

#[test]
fn missing_required_property_is_named() {
    let props: Vec<&str> = SH0.iter().copied().filter(|p| *p != "opacity").collect();
    let (m, _) = read_err(
        "noopacity.ply",
        header("binary_little_endian", 0, &props).as_bytes(),
    );
    assert_has(&m, &["element `vertex` has no property `opacity`"]);
}

#[test]
fn unsupported_type_and_list_where_scalar_required() {
    let h = header("binary_little_endian", 0, &SH0).replace("property float y", "property int24 y");
    let (m, _) = read_err("int24.ply", h.as_bytes());
    assert_has(&m, &["unsupported type `int24`", "line 5"]);
    let h = header("binary_little_endian", 0, &SH0)
        .replace("property float rot_2", "property list uchar float rot_2");
    let (m, _) = read_err("list.ply", h.as_bytes());
    assert_has(&m, &["`rot_2`", "list"]);
}

#[test]
fn f_rest_count_must_be_a_whole_band_count() {
    let rest: Vec<String> = (0..15).map(|j| format!("f_rest_{j}")).collect();
    let mut props = SH0.to_vec();
    props.extend(rest.iter().map(|s| s.as_str()));
    let (m, _) = read_err(
        "rest15.ply",
        header("binary_little_endian", 0, &props).as_bytes(),
    );
    assert_has(&m, &["15 f_rest", "0, 9, 24 or 45"]);
}

#[test]
fn header_shape_errors() {
    let no_vertex = "ply\nformat binary_little_endian 1.0\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n";
    let (m, _) = read_err("novertex.ply", no_vertex.as_bytes());
    assert_has(&m, &["no element `vertex`"]);

    let (m, _) = read_err("magic.ply", b"PK\x03\x04 this is a zip\n");
    assert_has(&m, &["not a PLY", "line 1"]);

    let (m, _) = read_err("empty.ply", b"");
    assert_has(&m, &["empty"]);

    let unterminated = header("binary_little_endian", 1, &SH0).replace("end_header\n", "");
    let (m, _) = read_err("noend.ply", unterminated.as_bytes());
    assert_has(&m, &["end_header"]);

    let bad_format = header("binary_little_endian", 0, &SH0)
        .replace("binary_little_endian", "binary_middle_endian");
    let (m, _) = read_err("format.ply", bad_format.as_bytes());
    assert_has(&m, &["format", "line 2"]);

    let bad_count = header("binary_little_endian", 0, &SH0).replace("vertex 0", "vertex many");
    let (m, _) = read_err("count.ply", bad_count.as_bytes());
    assert_has(&m, &["element NAME COUNT", "line 3"]);
}

#[test]
fn ascii_token_that_is_not_a_number_gives_its_line() {
    let mut text = header("ascii", 3, &SH0);
    let row = vec!["0.5"; 14].join(" ");
    text.push_str(&format!("{row}\n{row}\n"));
    text.push_str(&row.replacen("0.5", "0.5x", 3).replacen("0.5x", "0.5", 2));
    text.push('\n');
    let (m, _) = read_err("ascii.ply", text.as_bytes());
    // header: ply, format, element, 14 properties, end_header = 18 lines; third row is line 21.
    assert_has(
        &m,
        &["line 21", "`0.5x` is not a number", "row 2", "property `z`"],
    );

    let mut short = header("ascii", 2, &SH0);
    short.push_str(&format!("{row}\n1 2 3\n"));
    let (m, _) = read_err("ascii_short.ply", short.as_bytes());
    assert_has(&m, &["ends", "row 1", "property `f_dc_0`"]);
}

#[test]
fn truncated_list_element_before_vertex() {
    let mut bytes = String::from(
        "ply\nformat binary_little_endian 1.0\nelement face 2\nproperty list uchar int idx\n",
    );
    let vertex_part = header("binary_little_endian", 0, &SH0);
    bytes.push_str(vertex_part.split_once(" 1.0\n").unwrap().1);
    let mut bytes = bytes.into_bytes();
    bytes.extend([3u8, 1, 0, 0, 0]); // a list of 3 ints with only one present
    let (m, _) = read_err("faces.ply", &bytes);
    assert_has(&m, &["element `face` row 0", "truncated"]);
}

#[test]
fn splat_length_not_a_multiple_of_32() {
    let (m, _) = read_err("odd.splat", &[0u8; 33]);
    assert_has(&m, &["33", "multiple of 32", "1 whole splats"]);
}

#[test]
fn zero_vertices_read_as_an_empty_scene() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero.ply");
    std::fs::write(&path, header("binary_little_endian", 0, &SH0)).unwrap();
    let scene = formats::read(&path).unwrap();
    assert!(scene.is_empty());
}

// ---- real files -------------------------------------------------------------------------

fn all_finite(scene: &Scene) -> bool {
    let f = |v: &[f32]| v.iter().all(|x| x.is_finite());
    (0..scene.len()).all(|i| {
        f(&scene.positions[i])
            && f(&scene.rotations[i])
            && f(&scene.log_scales[i])
            && scene.opacities[i].is_finite()
            && f(&scene.sh_dc[i])
    })
}

fn norm(q: [f32; 4]) -> f32 {
    q.iter().map(|c| c * c).sum::<f32>().sqrt()
}

#[test]
fn real_fox_ply() {
    let Some(path) = util::shared_file(module_path!(), "mujoco_warp/fox.ply") else {
        return;
    };
    let s = formats::read(&path).unwrap();
    s.check_columns().unwrap();
    assert_eq!((s.len(), s.sh_bands), (50_000, 0));
    let inf = s.opacities.iter().filter(|o| **o == f32::INFINITY).count();
    assert_eq!(inf, 37);
    assert!(s.positions.iter().all(|p| p.iter().all(|v| v.is_finite())));
}

#[test]
fn real_gaussiansplats3d_plys() {
    for (name, n) in [
        ("lod1_tile_0_0.5x.ply", 14_051),
        ("lod3_tile_0.ply", 1_971),
        ("lod5_tile_0.ply", 111),
    ] {
        let Some(path) =
            util::shared_file(module_path!(), &format!("gaussiansplats3d-pr477/{name}"))
        else {
            return;
        };
        let s = formats::read(&path).unwrap();
        s.check_columns().unwrap();
        assert_eq!((s.len(), s.sh_bands), (n, 3), "{name}");
        assert!(all_finite(&s), "{name}");
        if n == 14_051 {
            let norms: Vec<f32> = s.rotations.iter().map(|q| norm(*q)).collect();
            let lo = norms.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = norms.iter().copied().fold(0.0, f32::max);
            assert!(lo < 0.5 && hi > 3.0, "quaternion norms {lo}..{hi}");
            let min_scale = s.log_scales.iter().flatten().copied().fold(0.0, f32::min);
            assert!((min_scale + 23.5).abs() < 0.5, "min log-scale {min_scale}");
        }
    }
}

#[test]
fn real_plant_splat() {
    let Some(path) = util::shared_file(module_path!(), "marcelpadilla-splats/plant.splat") else {
        return;
    };
    let s = formats::read(&path).unwrap();
    s.check_columns().unwrap();
    assert_eq!((s.len(), s.sh_bands), (113_648, 0));
    assert!(all_finite(&s));
    // bytes map to rotations in [-1, 127/128], colours in [0, 1], log-scales of sizes < 100.
    assert!(
        s.rotations
            .iter()
            .flatten()
            .all(|c| (-1.0..=1.0).contains(c))
    );
    assert!(
        s.sh_dc
            .iter()
            .flatten()
            .all(|d| (-1e-6..=1.0 + 1e-6).contains(&(0.5 + 0.282_094_8 * d)))
    );
    assert!(s.log_scales.iter().flatten().all(|l| *l < 100f32.ln()));
    assert!(s.opacities.iter().all(|o| (-40.0..=40.0).contains(o)));
    assert!(s.positions.iter().flatten().all(|p| p.abs() < 1e4));
}

#[test]
fn real_biker_compressed_ply() {
    let Some(path) = util::shared_file(module_path!(), "playcanvas-engine/biker.compressed.ply")
    else {
        return;
    };
    assert_eq!(
        formats::detect(&path).unwrap(),
        formats::Format::CompressedPly
    );
    let s = formats::read(&path).unwrap();
    s.check_columns().unwrap();
    assert_eq!((s.len(), s.sh_bands), (152_746, 0));
    assert!(all_finite(&s));
    assert!(s.rotations.iter().all(|q| (norm(*q) - 1.0).abs() < 1e-3));
    // Every position lies inside its chunk's box, read here straight from the chunk rows.
    let header = ply::read_header_from_path(&path).unwrap();
    let (data, ranges) = ply::read_fixed_elements(&path, &header).unwrap();
    let (ci, chunk) = header.element("chunk").unwrap();
    let row = chunk.row_size().unwrap() as usize;
    let value = |c: usize, name: &str| {
        let (k, _) = chunk.property(name).unwrap();
        let at = ranges[ci].start + c * row + 4 * k;
        f32::from_le_bytes(data[at..at + 4].try_into().unwrap())
    };
    for (i, p) in s.positions.iter().enumerate() {
        let c = i / 256;
        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
            let (lo, hi) = (
                value(c, &format!("min_{axis}")),
                value(c, &format!("max_{axis}")),
            );
            let eps = 1e-5 * (1.0 + lo.abs().max(hi.abs()));
            assert!(
                p[k] >= lo - eps && p[k] <= hi + eps,
                "splat {i} {axis}={} not in {lo}..{hi}",
                p[k]
            );
        }
    }
}
