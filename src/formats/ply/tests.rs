//! Unit tests: a small PLY builder writes files in every encoding and type, and the expected
//! scene is derived from the property names independently of the reader's layout code.

use std::path::Path;

use super::*;
use crate::scene::Model;

/// A property: name, type, and for lists the count type.
type Prop = (String, &'static str, Option<&'static str>);

/// An element to encode: name, properties, and per row per property the values (one for a
/// scalar, any number for a list).
struct El {
    name: &'static str,
    props: Vec<Prop>,
    rows: Vec<Vec<Vec<f64>>>,
}

fn scalar(name: &str, ty: &'static str) -> Prop {
    (name.to_string(), ty, None)
}

fn encode_value(out: &mut Vec<u8>, ty: &str, v: f64, big: bool) {
    macro_rules! put {
        ($x:expr) => {
            if big {
                out.extend_from_slice(&$x.to_be_bytes())
            } else {
                out.extend_from_slice(&$x.to_le_bytes())
            }
        };
    }
    match ty {
        "char" | "int8" => put!(v as i8),
        "uchar" | "uint8" => put!(v as u8),
        "short" | "int16" => put!(v as i16),
        "ushort" | "uint16" => put!(v as u16),
        "int" | "int32" => put!(v as i32),
        "uint" | "uint32" => put!(v as u32),
        "float" | "float32" => put!(v as f32),
        "double" | "float64" => put!(v),
        _ => panic!("test builder: type {ty}"),
    }
}

fn build(format: &str, elements: &[El]) -> Vec<u8> {
    let mut out = format!("ply\r\nformat {format} 1.0\ncomment made by a test\n").into_bytes();
    for e in elements {
        out.extend(format!("element {} {}\n", e.name, e.rows.len()).bytes());
        for (name, ty, list) in &e.props {
            let line = match list {
                Some(c) => format!("property list {c} {ty} {name}\n"),
                None => format!("property {ty} {name}\n"),
            };
            out.extend(line.bytes());
        }
    }
    out.extend(b"end_header\n");
    for e in elements {
        for row in &e.rows {
            let mut words = Vec::new();
            for ((_, ty, list), values) in e.props.iter().zip(row) {
                if format == "ascii" {
                    if list.is_some() {
                        words.push(values.len().to_string());
                    }
                    words.extend(values.iter().map(|v| format!("{v}")));
                    continue;
                }
                let big = format == "binary_big_endian";
                if let Some(c) = list {
                    encode_value(&mut out, c, values.len() as f64, big);
                }
                for &v in values {
                    encode_value(&mut out, ty, v, big);
                }
            }
            if format == "ascii" {
                out.extend(words.join(" ").bytes());
                out.push(b'\n');
            }
        }
    }
    out
}

/// The 3DGS property names for `rest` f_rest values, with or without `scale_2`.
fn splat_names(rest: usize, scale_2: bool) -> Vec<String> {
    let mut names: Vec<String> = ["x", "y", "z", "opacity", "rot_0", "rot_1", "rot_2", "rot_3"]
        .map(String::from)
        .to_vec();
    names.extend(["scale_0", "scale_1"].map(String::from));
    if scale_2 {
        names.push("scale_2".into());
    }
    names.extend(["f_dc_0", "f_dc_1", "f_dc_2"].map(String::from));
    names.extend((0..rest).map(|j| format!("f_rest_{j}")));
    names
}

/// Whole numbers 0..=99 (exact in every type) that differ per row and property.
fn value(row: usize, prop: usize) -> f64 {
    ((row * 37 + prop * 11) % 100) as f64
}

fn vertex(props: Vec<Prop>, n: usize) -> El {
    let rows = (0..n)
        .map(|i| (0..props.len()).map(|j| vec![value(i, j)]).collect())
        .collect();
    El {
        name: "vertex",
        props,
        rows,
    }
}

/// The scene a correct reader must produce for `el`, looked up by property name.
fn expected(el: &El) -> Scene {
    let get = |row: &Vec<Vec<f64>>, name: &str| -> Option<f32> {
        el.props
            .iter()
            .position(|p| p.0 == name)
            .map(|j| row[j][0] as f32)
    };
    let rest_len = el
        .props
        .iter()
        .filter(|p| p.0.starts_with("f_rest_"))
        .count();
    let mut s = Scene {
        sh_bands: crate::scene::bands_for_rest_count(rest_len).unwrap(),
        model: if el.props.iter().any(|p| p.0 == "scale_2") {
            Model::Default
        } else {
            Model::TwoD
        },
        extras: None,
        ..Scene::default()
    };
    for row in &el.rows {
        let g = |n: &str| get(row, n).unwrap();
        s.positions.push([g("x"), g("y"), g("z")]);
        s.rotations
            .push([g("rot_0"), g("rot_1"), g("rot_2"), g("rot_3")]);
        s.log_scales.push([
            g("scale_0"),
            g("scale_1"),
            get(row, "scale_2").unwrap_or(f32::NEG_INFINITY),
        ]);
        s.opacities.push(g("opacity"));
        s.sh_dc.push([g("f_dc_0"), g("f_dc_1"), g("f_dc_2")]);
        for j in 0..rest_len {
            s.sh_rest.push(g(&format!("f_rest_{j}")));
        }
    }
    s
}

fn read_bytes(bytes: &[u8]) -> Result<Scene> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ply");
    std::fs::write(&path, bytes).unwrap();
    read(&path)
}

fn typed(names: &[String], ty: &'static str) -> Vec<Prop> {
    names.iter().map(|n| scalar(n, ty)).collect()
}

#[test]
fn header_parses_types_aliases_lists_and_length() {
    let el = El {
        name: "face",
        props: vec![
            scalar("a", "float32"),
            scalar("b", "uint8"),
            ("idx".into(), "int", Some("uchar")),
        ],
        rows: vec![],
    };
    let bytes = build("binary_little_endian", &[el]);
    let header = Header::parse(&bytes[..], Path::new("h.ply")).unwrap();
    assert_eq!(header.encoding, Encoding::BinaryLittleEndian);
    assert_eq!(header.len as usize, bytes.len());
    let face = &header.elements[0];
    assert_eq!(face.properties[0].ty, ScalarType::F32);
    assert_eq!(face.properties[1].ty, ScalarType::U8);
    assert_eq!(face.properties[2].list_count, Some(ScalarType::U8));
    assert_eq!(face.properties[2].ty, ScalarType::I32);
    assert_eq!(face.row_size(), None);
}

#[test]
fn every_scalar_type_reads_by_value() {
    let names = splat_names(9, true);
    for ty in [
        "char", "uchar", "short", "ushort", "int", "uint", "float", "double",
    ] {
        let el = vertex(typed(&names, ty), 5);
        let want = expected(&el);
        let got = read_bytes(&build("binary_little_endian", &[el])).unwrap();
        assert_eq!(got, want, "type {ty}");
    }
}

#[test]
fn big_endian_and_ascii_match_little_endian() {
    let names = splat_names(24, true);
    for format in ["binary_little_endian", "binary_big_endian", "ascii"] {
        for ty in ["float", "double", "short"] {
            let el = vertex(typed(&names, ty), 7);
            let want = expected(&el);
            let got = read_bytes(&build(format, &[el])).unwrap();
            assert_eq!(got, want, "{format} {ty}");
        }
    }
}

#[test]
fn shuffled_order_extra_properties_and_elements_are_handled() {
    let mut props = typed(&splat_names(45, true), "float");
    props.push(scalar("nx", "float"));
    props.push(scalar("extra", "uchar"));
    props.push(("tags".into(), "ushort", Some("uchar")));
    props.reverse();
    props.swap(3, 20);
    let mut el = vertex(props, 9);
    let tags = el.props.iter().position(|p| p.0 == "tags").unwrap();
    for (i, row) in el.rows.iter_mut().enumerate() {
        row[tags] = (0..i % 4).map(|k| k as f64).collect();
    }
    let before = El {
        name: "camera",
        props: vec![scalar("fx", "double"), ("ids".into(), "int", Some("uint"))],
        rows: vec![
            vec![vec![1.5], vec![1.0, 2.0, 3.0]],
            vec![vec![2.5], vec![]],
        ],
    };
    let after = El {
        name: "face",
        props: vec![("vertex_indices".into(), "int", Some("uchar"))],
        rows: vec![vec![vec![0.0, 1.0, 2.0]]],
    };
    let want = expected(&el);
    for format in ["binary_little_endian", "binary_big_endian", "ascii"] {
        let els = [
            before_clone(&before),
            vertex_clone(&el),
            before_clone(&after),
        ];
        let got = read_bytes(&build(format, &els)).unwrap();
        assert_eq!(got, want, "{format}");
    }
    // Fast path with a fixed-size element first: all-float vertex rows.
    let fixed = El {
        name: "meta",
        props: vec![scalar("a", "uchar"), scalar("b", "double")],
        rows: vec![vec![vec![1.0], vec![2.0]]; 3],
    };
    let plain = vertex(typed(&splat_names(9, true), "float"), 4);
    let want = expected(&plain);
    let got = read_bytes(&build("binary_little_endian", &[fixed, plain, after])).unwrap();
    assert_eq!(got, want);
}

fn before_clone(e: &El) -> El {
    El {
        name: e.name,
        props: e.props.clone(),
        rows: e.rows.clone(),
    }
}

fn vertex_clone(e: &El) -> El {
    before_clone(e)
}

#[test]
fn two_dgs_and_every_sh_degree() {
    for (rest, bands) in [(0, 0), (9, 1), (24, 2), (45, 3)] {
        for scale_2 in [true, false] {
            let el = vertex(typed(&splat_names(rest, scale_2), "float"), 3);
            let got = read_bytes(&build("binary_little_endian", &[before_clone(&el)])).unwrap();
            assert_eq!(got.sh_bands, bands);
            assert_eq!(got.model == Model::TwoD, !scale_2);
            if !scale_2 {
                assert!(got.log_scales.iter().all(|s| s[2] == f32::NEG_INFINITY));
            }
            assert_eq!(got, expected(&el), "rest {rest}, scale_2 {scale_2}");
        }
    }
}

#[test]
fn zero_vertices_is_an_empty_scene() {
    for format in ["binary_little_endian", "ascii"] {
        let el = vertex(typed(&splat_names(9, true), "float"), 0);
        let got = read_bytes(&build(format, &[el])).unwrap();
        assert!(got.is_empty());
        assert_eq!(got.sh_bands, 1);
        got.check_columns().unwrap();
    }
}

#[test]
fn ascii_reads_non_finite_tokens() {
    let names = splat_names(0, true);
    let header = format!(
        "ply\nformat ascii 1.0\nelement vertex 1\n{}end_header\n",
        names
            .iter()
            .map(|n| format!("property float {n}\n"))
            .collect::<String>()
    );
    let mut row = vec!["0"; names.len()];
    row[0] = "nan";
    row[3] = "inf"; // opacity
    row[4] = "-inf"; // rot_0
    let got = read_bytes(format!("{header}{}\n", row.join(" ")).as_bytes()).unwrap();
    assert!(got.positions[0][0].is_nan());
    assert_eq!(got.opacities[0], f32::INFINITY);
    assert_eq!(got.rotations[0][0], f32::NEG_INFINITY);
}

#[test]
fn write_then_read_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    for (bands, model) in [(3, Model::Default), (0, Model::TwoD), (2, Model::Default)] {
        let n = 40_000; // more than one write block and one parallel scatter task
        let rest = 3 * crate::scene::sh_coeffs(bands);
        let f =
            |i: usize, k: usize| f32::from_bits((i as u32).wrapping_mul(2_654_435_761) ^ k as u32);
        let mut s = Scene {
            positions: (0..n).map(|i| [f(i, 0), f(i, 1), f(i, 2)]).collect(),
            rotations: (0..n)
                .map(|i| [f(i, 3), f(i, 4), f(i, 5), f(i, 6)])
                .collect(),
            log_scales: (0..n).map(|i| [f(i, 7), f(i, 8), f(i, 9)]).collect(),
            opacities: (0..n).map(|i| f(i, 10)).collect(),
            sh_dc: (0..n).map(|i| [f(i, 11), f(i, 12), f(i, 13)]).collect(),
            sh_bands: bands,
            sh_rest: (0..n * rest).map(|i| f(i, 14)).collect(),
            model,
            extras: None,
        };
        s.opacities[0] = f32::INFINITY;
        s.positions[1][2] = f32::NAN;
        s.log_scales[2][0] = f32::NEG_INFINITY;
        if model == Model::TwoD {
            s.log_scales
                .iter_mut()
                .for_each(|l| l[2] = f32::NEG_INFINITY);
        }
        let path = dir.path().join("rt.ply");
        write(&path, &s).unwrap();
        let got = read(&path).unwrap();
        let bits = |v: &Scene| -> Vec<u32> {
            let mut out = Vec::new();
            for i in 0..v.len() {
                out.extend(v.positions[i].map(f32::to_bits));
                out.extend(v.rotations[i].map(f32::to_bits));
                out.extend(v.log_scales[i].map(f32::to_bits));
                out.push(v.opacities[i].to_bits());
                out.extend(v.sh_dc[i].map(f32::to_bits));
                out.extend(v.rest(i).iter().map(|x| x.to_bits()));
            }
            out
        };
        assert_eq!((got.len(), got.sh_bands, got.model), (n, bands, model));
        assert!(bits(&got) == bits(&s), "bands {bands} {model:?}");
        let header = read_header_from_path(&path).unwrap();
        let names: Vec<&str> = header.elements[0]
            .properties
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(&names[..7], ["x", "y", "z", "nx", "ny", "nz", "f_dc_0"]);
        assert_eq!(names.last(), Some(&"rot_3"));
        assert_eq!(names.contains(&"scale_2"), model != Model::TwoD);
    }
}

#[test]
fn errors_name_the_problem() {
    let msg = |bytes: &[u8]| read_bytes(bytes).unwrap_err().to_string();
    let names = splat_names(0, true);
    // missing property
    let el = vertex(typed(&names[1..], "float"), 2);
    assert!(
        msg(&build("binary_little_endian", &[el])).contains("element `vertex` has no property `x`")
    );
    // a list where a scalar is needed
    let mut props = typed(&names, "float");
    props[3] = ("opacity".into(), "float", Some("uchar"));
    let el = El {
        name: "vertex",
        props,
        rows: vec![],
    };
    assert!(msg(&build("binary_little_endian", &[el])).contains("`opacity`"));
    // f_rest count
    let el = vertex(typed(&splat_names(10, true), "float"), 2);
    assert!(msg(&build("binary_little_endian", &[el])).contains("10 f_rest"));
    // f_rest gap
    let mut names_gap = splat_names(9, true);
    let last = names_gap.len() - 1;
    names_gap[last] = "f_rest_9".into();
    let el = vertex(typed(&names_gap, "float"), 2);
    assert!(msg(&build("binary_little_endian", &[el])).contains("no `f_rest_8`"));
    // ASCII token
    let el = vertex(typed(&names, "float"), 3);
    let text = String::from_utf8(build("ascii", &[el])).unwrap().replacen(
        "end_header\n0 ",
        "end_header\nbanana ",
        1,
    );
    assert!(text.contains("banana"));
    let m = msg(text.as_bytes());
    assert!(
        m.contains("`banana` is not a number") && m.contains("line 20"),
        "{m}"
    );
}

/// Block sizes from one byte (a block is then one row) to more than the file, so that reads
/// span many blocks, rows straddle the window's refills, and one block holds everything.
const BLOCK_SIZES: [usize; 6] = [1, 7, 250, 4096, 65_536, BLOCK_BYTES];

fn read_bytes_in_blocks(bytes: &[u8], block_bytes: usize) -> Result<Scene> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ply");
    std::fs::write(&path, bytes).unwrap();
    read_in_blocks(&path, block_bytes)
}

#[test]
fn reads_spanning_many_blocks_equal_the_whole_file_read() {
    let n = 1_500;
    let mut listed = typed(&splat_names(24, true), "double");
    listed.insert(5, ("tags".into(), "ushort", Some("uchar")));
    listed.push(scalar("red", "uchar"));
    let mut with_lists = vertex(listed, n);
    for (i, row) in with_lists.rows.iter_mut().enumerate() {
        row[5] = (0..i % 5).map(|k| k as f64).collect();
    }
    let faces = El {
        name: "face",
        props: vec![("idx".into(), "int", Some("uchar"))],
        rows: (0..40).map(|i| vec![vec![1.0; i % 4]]).collect(),
    };
    let meta = El {
        name: "meta",
        props: vec![scalar("a", "uchar"), scalar("b", "double")],
        rows: vec![vec![vec![1.0], vec![2.0]]; 3],
    };
    let float = || vertex(typed(&splat_names(45, true), "float"), n);
    let cases: Vec<(&str, &str, Vec<El>)> = vec![
        ("fast path", "binary_little_endian", vec![float()]),
        (
            "fast path after a fixed element",
            "binary_little_endian",
            vec![before_clone(&meta), float()],
        ),
        ("big-endian floats", "binary_big_endian", vec![float()]),
        (
            "little-endian shorts",
            "binary_little_endian",
            vec![vertex(typed(&splat_names(9, false), "short"), n)],
        ),
        (
            "lists in and before the vertex rows",
            "binary_big_endian",
            vec![before_clone(&faces), before_clone(&with_lists), faces],
        ),
    ];
    for (what, format, elements) in cases {
        let vertex = elements.iter().find(|e| e.name == "vertex").unwrap();
        let want = expected(vertex);
        let bytes = build(format, &elements);
        let whole = read_bytes(&bytes).unwrap();
        assert_eq!(whole, want, "{what}");
        for block in BLOCK_SIZES {
            let got = read_bytes_in_blocks(&bytes, block).unwrap();
            assert!(got == whole, "{what}: {block}-byte blocks");
        }
    }
}

#[test]
fn streamed_errors_do_not_depend_on_the_block_size() {
    let mut props = typed(&splat_names(9, true), "float");
    props.push(("tags".into(), "uint", Some("uchar")));
    let mut el = vertex(props, 300);
    for row in &mut el.rows {
        *row.last_mut().unwrap() = vec![7.0; 3];
    }
    let faces = El {
        name: "face",
        props: vec![("idx".into(), "int", Some("uchar"))],
        rows: vec![vec![vec![1.0, 2.0]]; 5],
    };
    let mut lists = build("binary_little_endian", &[before_clone(&faces), el]);
    lists.truncate(lists.len() - 1_000);
    let fixed = build(
        "binary_big_endian",
        &[vertex(typed(&splat_names(9, true), "double"), 50)],
    );
    let fixed = &fixed[..fixed.len() - 9];
    let mut bad_list = build(
        "binary_little_endian",
        &[faces, vertex(typed(&splat_names(0, true), "float"), 3)],
    );
    let data = bad_list
        .windows(11)
        .position(|w| w == b"end_header\n")
        .unwrap()
        + 11;
    bad_list[data + 2 * 9] = 200; // row 2's list: 200 ints, more than the file holds
    for (what, bytes, part) in [
        ("lists", &lists[..], "truncated: the file ends at byte"),
        ("fixed", fixed, "truncated: expected 50 vertices"),
        ("list before vertex", &bad_list[..], "element `face` row"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.ply");
        std::fs::write(&path, bytes).unwrap();
        let whole = read(&path).unwrap_err().to_string();
        assert!(whole.contains(part), "{what}: {whole}");
        for block in BLOCK_SIZES {
            let got = read_in_blocks(&path, block).unwrap_err().to_string();
            assert_eq!(got, whole, "{what}: {block}-byte blocks");
        }
    }
}

#[test]
fn compressed_ply_spanning_many_blocks_equals_the_whole_file_read() {
    let n: usize = 700; // three chunks, the last one partial
    let chunk_names = [
        "min_x",
        "min_y",
        "min_z",
        "max_x",
        "max_y",
        "max_z",
        "min_scale_x",
        "min_scale_y",
        "min_scale_z",
        "max_scale_x",
        "max_scale_y",
        "max_scale_z",
        "min_r",
        "min_g",
        "min_b",
        "max_r",
        "max_g",
        "max_b",
    ];
    let chunk = El {
        name: "chunk",
        props: typed(&chunk_names.map(String::from), "float"),
        rows: (0..n.div_ceil(256))
            .map(|c| {
                (0..chunk_names.len())
                    .map(|k| vec![(c * 3 + k) as f64 * if k % 6 < 3 { -1.0 } else { 1.0 }])
                    .collect()
            })
            .collect(),
    };
    let word = |i: usize, k: usize| {
        f64::from((i as u32).wrapping_mul(2_654_435_761) ^ (k as u32).wrapping_mul(40_503))
    };
    let packed = [
        "packed_position",
        "packed_rotation",
        "packed_scale",
        "packed_color",
    ];
    let vertex = El {
        name: "vertex",
        props: typed(&packed.map(String::from), "uint"),
        rows: (0..n)
            .map(|i| (0..4).map(|k| vec![word(i, k)]).collect())
            .collect(),
    };
    let sh_names: Vec<String> = (0..24).map(|j| format!("f_rest_{j}")).collect();
    let sh = El {
        name: "sh",
        props: typed(&sh_names, "uchar"),
        rows: (0..n)
            .map(|i| {
                (0..24)
                    .map(|k| vec![((i * 7 + k * 13) % 256) as f64])
                    .collect()
            })
            .collect(),
    };
    let bytes = build("binary_little_endian", &[chunk, vertex, sh]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.compressed.ply");
    std::fs::write(&path, &bytes).unwrap();
    let whole = crate::formats::compressed_ply::read(&path).unwrap();
    assert_eq!((whole.len(), whole.sh_bands), (n, 2));
    whole.check_columns().unwrap();
    for block in BLOCK_SIZES {
        let got = crate::formats::compressed_ply::read_in_blocks(&path, block).unwrap();
        assert!(got == whole, "{block}-byte blocks");
    }
    // The rows against the file read whole, decoded here from the words themselves.
    let (data, ranges) =
        read_fixed_elements(&path, &read_header_from_path(&path).unwrap()).unwrap();
    for i in [0, 255, 256, n - 1] {
        let at = ranges[1].start + 16 * i + 4;
        let w = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        assert_eq!(
            whole.rotations[i],
            crate::formats::compressed_ply::unpack_rotation(w)
        );
        let at = ranges[2].start + 24 * i + 23;
        assert_eq!(
            whole.sh_rest[24 * i + 23],
            crate::formats::compressed_ply::sh_from_byte(data[at])
        );
    }
}
