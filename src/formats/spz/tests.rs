//! Unit tests: each attribute's quantisation round trip within its step, smallest-three
//! decoding, the coordinate conversions, and container parse errors.

use std::path::Path;

use super::container::{self, FLAG_ANTIALIASED, MAGIC, stream_sizes};
use super::coords;
use super::quantize::*;
use crate::Error;
use crate::scene::{Model, Scene};

const PATH: &str = "test.spz";

fn parse_err(bytes: &[u8]) -> String {
    match container::decode(Path::new(PATH), bytes) {
        Ok(_) => panic!("expected an error"),
        Err(e @ Error::Parse { .. }) => e.to_string(),
        Err(e) => panic!("expected a parse error, got {e}"),
    }
}

#[test]
fn positions_round_trip_within_half_a_step() {
    for fb in [0u8, 4, 12, 20] {
        let step = 1.0 / (1u32 << fb) as f32;
        let limit = FIXED24_MAX as f32 * step;
        for v in [0.0f32, 1.0, -1.0, 0.123_456, -2047.9, 2047.0, limit, -limit] {
            if v.abs() > limit {
                continue;
            }
            let back = unpack_position(pack_position(v, fb), fb);
            assert!(
                (back - v).abs() <= step * 0.5 + v.abs() * 1e-6,
                "{v} fb {fb} → {back}"
            );
        }
    }
    // Out of range clamps instead of wrapping around.
    assert_eq!(
        unpack_position(pack_position(1e9, 12), 12),
        FIXED24_MAX as f32 / 4096.0
    );
    assert_eq!(
        unpack_position(pack_position(-1e9, 12), 12),
        -(FIXED24_MAX as f32 + 1.0) / 4096.0
    );
    assert_eq!(pack_position(f32::NAN, 12), [0, 0, 0]);
}

#[test]
fn fractional_bits_shrink_only_when_needed() {
    assert_eq!(fractional_bits_for(0.0), Some(12));
    assert_eq!(fractional_bits_for(2047.0), Some(12));
    assert_eq!(fractional_bits_for(2048.5), Some(11));
    assert_eq!(fractional_bits_for(1e6), Some(3));
    assert_eq!(fractional_bits_for(8_388_607.0), Some(0));
    assert_eq!(fractional_bits_for(9e6), None);
}

#[test]
fn scalar_attributes_round_trip_within_their_step() {
    for i in 0..=200 {
        let s = -9.9 + i as f32 * 0.0785;
        assert!(
            (unpack_scale(pack_scale(s)) - s).abs() <= 1.0 / 32.0 + 1e-6,
            "scale {s}"
        );
        let dc = -3.2 + i as f32 * 0.032;
        let step = 1.0 / (COLOR_SCALE * 255.0);
        assert!(
            (unpack_color(pack_color(dc)) - dc).abs() <= step / 2.0 + 1e-5,
            "dc {dc}"
        );
        let logit = -6.0 + i as f32 * 0.06;
        let alpha = 1.0 / (1.0 + (-logit).exp());
        let back = 1.0 / (1.0 + (-unpack_alpha(pack_alpha(logit))).exp());
        assert!((back - alpha).abs() <= 0.5 / 255.0 + 1e-6, "logit {logit}");
    }
    // The extremes stay finite; −∞ log-scale (2DGS) takes the smallest code.
    assert!(unpack_alpha(0).is_finite() && unpack_alpha(255).is_finite());
    assert!((unpack_alpha(255) - 13.8155).abs() < 1e-3);
    assert_eq!(pack_scale(f32::NEG_INFINITY), 0);
    assert_eq!(unpack_scale(0), -10.0);
    assert_eq!(pack_alpha(f32::INFINITY), 255);
}

#[test]
fn sh_buckets_match_the_reference() {
    // 5 bits: buckets of 8, 4 bits: buckets of 16; 0 is a bucket centre.
    assert_eq!(pack_sh(0.0, 5), 128);
    assert_eq!(pack_sh(0.0, 4), 128);
    assert_eq!(pack_sh(0.02, 5), 128); // 128 + round(2.56) = 131 → bucket 128
    assert_eq!(pack_sh(0.03, 5), 136); // 128 + round(3.84) = 132, a tie, rounds up
    assert_eq!(pack_sh(1.0, 4), 255);
    assert_eq!(pack_sh(-1.0, 4), 0);
    assert_eq!(pack_sh(-5.0, 5), 0);
    for i in 0..=100 {
        let v = -1.0 + i as f32 * 0.02;
        for (bits, step) in [(5u8, 8.0 / 128.0), (4, 16.0 / 128.0)] {
            let b = pack_sh(v, bits);
            // On a bucket, except where the top bucket (256) clamps to 255.
            assert!(
                b == 255 || (b as u32).is_multiple_of(1 << (8 - bits)),
                "{v} bits {bits}: {b}"
            );
            let back = unpack_sh(b);
            assert!(
                (back - v).abs() <= step / 2.0 + 1.0 / 256.0 + 1e-6,
                "{v} → {back}"
            );
        }
    }
    assert_eq!(sh_bits(0), 5);
    assert_eq!(sh_bits(2), 5);
    assert_eq!(sh_bits(3), 4);
}

fn rotation_angle(a: [f32; 4], b: [f32; 4]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    2.0 * dot.abs().min(1.0).acos()
}

#[test]
fn smallest_three_round_trips_and_decodes_by_hand() {
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    for _ in 0..2000 {
        let q = normalized([next(), next(), next(), next()]);
        let back = unpack_smallest_three(pack_smallest_three(q));
        assert!(rotation_angle(q, back) < 0.004, "{q:?} → {back:?}");
        let norm: f32 = back.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    // Identity: largest is w (index 3), the others zero.
    assert_eq!(
        pack_smallest_three([0.0, 0.0, 0.0, 1.0]),
        (3u32 << 30).to_le_bytes()
    );
    // Index 0 largest and negative; y = +0.5 stored as negative (sign flipped with the quaternion).
    let q = normalized([-0.8, 0.5, 0.0, 0.2]);
    let comp = u32::from_le_bytes(pack_smallest_three(q));
    assert_eq!(comp >> 30, 0);
    assert_eq!((comp >> 29) & 1, 1, "y's sign bit");
    let back = unpack_smallest_three(comp.to_le_bytes());
    assert!(rotation_angle(q, back) < 0.004);
    assert!(back[0] > 0.0 && back[1] < 0.0);
    // Two equal largest components do not overflow into the sign bit.
    let s = std::f32::consts::FRAC_1_SQRT_2;
    let back = unpack_smallest_three(pack_smallest_three([s, s, 0.0, 0.0]));
    assert!(rotation_angle([s, s, 0.0, 0.0], back) < 0.004, "{back:?}");
    // Corrupt magnitudes (sum of squares > 1) give w = 0, never NaN.
    assert!(
        unpack_smallest_three([0xff; 4])
            .iter()
            .all(|v| v.is_finite())
    );
}

#[test]
fn first_three_decodes_version_2() {
    let q = normalized([0.1, -0.7, 0.3, -0.6]);
    let back = unpack_first_three(pack_first_three(q));
    assert!(rotation_angle(q, back) < 0.02, "{q:?} → {back:?}");
    assert!(back[3] >= 0.0);
}

#[test]
fn rdf_to_rub_negates_y_and_z() {
    let c = coords::converter(coords::RDF, coords::RUB);
    assert_eq!(c.position([1.0, 2.0, 3.0]), [1.0, -2.0, -3.0]);
    assert_eq!(c.quaternion([0.1, 0.2, 0.3, 0.9]), [0.1, -0.2, -0.3, 0.9]);
    let mut sh: Vec<f32> = (1..=15).map(|v| v as f32).collect();
    c.sh(&mut sh);
    let signs = [-1, -1, 1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1];
    for (j, s) in signs.iter().enumerate() {
        assert_eq!(sh[j], (*s * (j as i32 + 1)) as f32, "coefficient {j}");
    }
    assert_eq!(c, coords::converter(coords::RUB, coords::RDF));
    assert!(coords::converter(coords::RDF, coords::RDF).is_identity());
    assert!(coords::converter(0, coords::RDF).is_identity());
}

/// The 3×3 rotation matrix of a unit quaternion (x, y, z, w).
fn matrix(q: [f32; 4]) -> [[f32; 3]; 3] {
    let [x, y, z, w] = q;
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
}

fn mul(a: [[f32; 3]; 3], b: [[f32; 3]; 3]) -> [[f32; 3]; 3] {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

fn transpose(a: [[f32; 3]; 3]) -> [[f32; 3]; 3] {
    std::array::from_fn(|i| std::array::from_fn(|j| a[j][i]))
}

/// Band 1 of a channel evaluated in direction `d` (3DGS basis: −y, z, −x).
fn band1(c: &[f32], d: [f32; 3]) -> f32 {
    -c[0] * d[1] + c[1] * d[2] - c[2] * d[0]
}

/// Positions, covariances and band-1 SH must move together: the covariance of the converted
/// quaternion is M Σ Mᵀ, and the converted SH take the same value in the converted direction.
fn check_consistent(c: &coords::Converter) {
    let m: [[f32; 3]; 3] = {
        let cols = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]].map(|e| c.position(e));
        transpose(cols)
    };
    let q = normalized([0.3, -0.5, 0.2, 0.8]);
    let s2 = [[4.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.25]];
    let sigma = |q| {
        let r = matrix(q);
        mul(mul(r, s2), transpose(r))
    };
    let want = mul(mul(m, sigma(q)), transpose(m));
    let got = sigma(c.quaternion(q));
    for i in 0..3 {
        for j in 0..3 {
            assert!((want[i][j] - got[i][j]).abs() < 1e-5, "{c:?}: Σ[{i}][{j}]");
        }
    }
    let coeffs = [0.4f32, -0.7, 0.25];
    let mut moved = coeffs.to_vec();
    c.sh(&mut moved);
    for d in [[0.6f32, 0.0, 0.8], [0.0, 1.0, 0.0], [-0.48, 0.6, 0.64]] {
        let d2 = c.position(d);
        assert!(
            (band1(&coeffs, d) - band1(&moved, d2)).abs() < 1e-5,
            "{c:?}: {d:?}"
        );
    }
    // Higher bands: rotations and flips keep each band's norm.
    let mut sh: Vec<f32> = (1..=15).map(|v| v as f32 * 0.1).collect();
    let before: [f32; 3] = [0..3, 3..8, 8..15].map(|r| sh[r].iter().map(|v| v * v).sum());
    c.sh(&mut sh);
    let after: [f32; 3] = [0..3, 3..8, 8..15].map(|r| sh[r].iter().map(|v| v * v).sum());
    for b in 0..3 {
        assert!((before[b] - after[b]).abs() < 1e-4, "band {}", b + 1);
    }
}

#[test]
fn every_system_converts_consistently_into_rdf() {
    for code in 1..=coords::MAX_CODE {
        let c = coords::converter(code, coords::RDF);
        check_consistent(&c);
    }
    // RFU (x right, y front, z up) into RDF (right, down, front) is (x, −z, y).
    assert_eq!(coords::name(12), "RFU");
    assert_eq!(
        coords::converter(12, coords::RDF).position([1.0, 2.0, 3.0]),
        [1.0, -3.0, 2.0]
    );
}

fn scene(n: usize, bands: u8, model: Model) -> Scene {
    let mut s = crate::sample::scene(n, bands, 7);
    s.model = model;
    s
}

#[test]
fn pack_unpack_round_trips_every_attribute() {
    for version in [3u8, 4] {
        for bands in 0..=3u8 {
            for model in [Model::Default, Model::Antialiased] {
                let src = scene(300, bands, model);
                let packed = super::pack(&src, version).unwrap();
                let bytes = container::encode(&packed).unwrap();
                let decoded = container::decode(Path::new(PATH), &bytes).unwrap();
                assert_eq!(decoded, packed, "v{version} bands {bands}");
                let (back, notes) = super::unpack(Path::new(PATH), &decoded).unwrap();
                assert!(notes.is_empty(), "{notes:?}");
                assert_eq!(back.model, model);
                assert_eq!(back.sh_bands, bands);
                assert_eq!(back.len(), src.len());
                for i in 0..src.len() {
                    for a in 0..3 {
                        assert!((back.positions[i][a] - src.positions[i][a]).abs() < 1.5e-4);
                        assert!(
                            (back.log_scales[i][a] - src.log_scales[i][a].clamp(-10.0, 5.94)).abs()
                                <= 1.0 / 32.0 + 1e-5
                        );
                    }
                    let [w, x, y, z] = src.rotations[i];
                    let [bw, bx, by, bz] = back.rotations[i];
                    let angle = rotation_angle(normalized([x, y, z, w]), [bx, by, bz, bw]);
                    assert!(angle < 0.004, "splat {i}: {angle}");
                }
                for (j, (b, s)) in back.sh_rest.iter().zip(&src.sh_rest).enumerate() {
                    assert!(
                        (b - s.clamp(-1.0, 1.0)).abs() <= 1.0 / 16.0 + 1.0 / 256.0,
                        "{j}"
                    );
                }
            }
        }
    }
}

#[test]
fn two_d_scenes_write_a_flat_third_scale() {
    let mut src = scene(10, 0, Model::TwoD);
    for s in &mut src.log_scales {
        s[2] = f32::NEG_INFINITY;
    }
    let packed = super::pack(&src, 4).unwrap();
    assert_eq!(packed.flags, 0);
    let (back, _) = super::unpack(Path::new(PATH), &packed).unwrap();
    assert_eq!(back.model, Model::Default);
    assert!(back.log_scales.iter().all(|s| s[2] == -10.0));
}

#[test]
fn empty_scene_and_other_versions_are_refused() {
    assert!(
        super::pack(&Scene::default(), 4)
            .unwrap_err()
            .contains("empty")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.spz");
    let err = super::write(&path, &scene(3, 0, Model::Default), 2).unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");
    assert!(!path.exists());
}

fn header16(version: u32, count: u32, degree: u8, fb: u8, flags: u8) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend(MAGIC.to_le_bytes());
    h.extend(version.to_le_bytes());
    h.extend(count.to_le_bytes());
    h.extend([degree, fb, flags, 0]);
    h
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn version_2_files_read() {
    let q = normalized([0.2, 0.3, -0.1, 0.9]);
    let mut raw = header16(2, 1, 0, 12, FLAG_ANTIALIASED);
    raw.extend(pack_position(1.0, 12));
    raw.extend(pack_position(-2.0, 12));
    raw.extend(pack_position(0.5, 12));
    raw.push(pack_alpha(0.0));
    raw.extend([pack_color(0.1); 3]);
    raw.extend([pack_scale(-3.0); 3]);
    raw.extend(pack_first_three(q));
    let packed = container::decode(Path::new(PATH), &gzip(&raw)).unwrap();
    assert_eq!(packed.streams[4].len(), 3);
    let (s, _) = super::unpack(Path::new(PATH), &packed).unwrap();
    assert_eq!(s.positions[0], [1.0, 2.0, -0.5], "RUB → RDF");
    assert_eq!(s.model, Model::Antialiased);
    let [w, x, y, z] = s.rotations[0];
    assert!(rotation_angle([q[0], -q[1], -q[2], q[3]], [x, y, z, w]) < 0.02);
}

#[test]
fn degree_4_drops_band_4_with_a_note() {
    let n = 2;
    let mut raw = header16(3, n, 4, 12, 0);
    let sizes = stream_sizes(3, n as usize, 4);
    for (k, size) in sizes.iter().enumerate() {
        // Rotations: identity; everything else mid-range.
        let fill = if k == 4 { 0 } else { 128 };
        let mut stream = vec![fill; *size];
        if k == 4 {
            for i in 0..n as usize {
                stream[i * 4 + 3] = 0xc0;
            }
        }
        raw.extend(stream);
    }
    let packed = container::decode(Path::new(PATH), &gzip(&raw)).unwrap();
    let (s, notes) = super::unpack(Path::new(PATH), &packed).unwrap();
    assert_eq!(s.sh_bands, 3);
    assert_eq!(s.sh_rest.len(), 2 * 45);
    assert!(notes.iter().any(|n| n.contains("band 4")), "{notes:?}");
    assert_eq!(s.rotations[0], [1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn coordinate_system_extension_is_honoured() {
    let src = scene(5, 1, Model::Default);
    let mut packed = super::pack(&src, 3).unwrap();
    // Declare the (RUB) data as RDF: reading must then leave y and z as stored.
    packed.flags |= container::FLAG_EXTENSIONS;
    packed.extensions = [0xADBE_0003u32, 4, coords::RDF]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let (back, notes) = super::unpack(Path::new(PATH), &packed).unwrap();
    assert!(notes[0].contains("RDF"), "{notes:?}");
    let plain = super::unpack(Path::new(PATH), &super::pack(&src, 3).unwrap())
        .unwrap()
        .0;
    assert_eq!(back.positions[0][1], -plain.positions[0][1]);
    assert_eq!(back.positions[0][0], plain.positions[0][0]);
    // Bad records are errors naming the extension block.
    packed.extensions.truncate(10);
    let err = super::unpack(Path::new(PATH), &packed)
        .unwrap_err()
        .to_string();
    assert!(err.contains("extension records"), "{err}");
}

fn valid_v4() -> Vec<u8> {
    container::encode(&super::pack(&scene(50, 1, Model::Default), 4).unwrap()).unwrap()
}

#[test]
fn header_errors_name_the_field() {
    assert!(parse_err(b"PK\x03\x04 not spz").contains("not an SPZ file"));
    assert!(parse_err(b"NGSP").contains("32-byte header"));
    let v4 = valid_v4();
    let with = |at: usize, bytes: &[u8]| {
        let mut b = v4.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    assert!(parse_err(&with(4, &5u32.to_le_bytes())).contains("unsupported SPZ version 5"));
    assert!(parse_err(&with(4, &3u32.to_le_bytes())).contains("gzip"));
    assert!(parse_err(&with(4, &1u32.to_le_bytes())).contains("version 1"));
    assert!(parse_err(&with(8, &u32::MAX.to_le_bytes())).contains("numPoints"));
    assert!(parse_err(&with(8, &(1u32 << 27).to_le_bytes())).contains("cannot fit"));
    assert!(parse_err(&with(12, &[5])).contains("shDegree"));
    assert!(parse_err(&with(13, &[25])).contains("fractionalBits"));
    assert!(parse_err(&with(15, &[7])).contains("numStreams"));
    assert!(parse_err(&with(16, &8u32.to_le_bytes())).contains("overlaps"));
    assert!(parse_err(&with(16, &1_000_000u32.to_le_bytes())).contains("runs past"));
    // TOC entry 0: compressed size too large, uncompressed size wrong.
    assert!(parse_err(&with(32, &u64::MAX.to_le_bytes())).contains("run past the end"));
    assert!(parse_err(&with(40, &7u64.to_le_bytes())).contains("uncompressed size 7"));
    // Truncated, trailing bytes, corrupt stream data.
    assert!(parse_err(&v4[..v4.len() - 1]).contains("run past the end"));
    let mut long = v4.clone();
    long.push(0);
    assert!(parse_err(&long).contains("after the last stream"));
    let data_start = 32 + 6 * 16;
    let corrupt = with(data_start, &[0xde, 0xad, 0xbe, 0xef]);
    assert!(parse_err(&corrupt).contains("positions"));
}

#[test]
fn gzip_errors_name_the_problem() {
    let packed = super::pack(&scene(40, 2, Model::Default), 3).unwrap();
    let v3 = container::encode(&packed).unwrap();
    let err = parse_err(&v3[..v3.len() / 2]);
    assert!(err.contains("gzip") || err.contains("truncated"), "{err}");
    assert!(parse_err(&gzip(&[0u8; 10])).contains("16-byte header"));
    let raw = header16(3, 40, 2, 12, 0);
    assert!(parse_err(&gzip(&raw)).contains("truncated"));
    let mut raw = header16(3, 1, 0, 12, 0);
    raw.extend(vec![0u8; 9 + 1 + 3 + 3 + 4 + 1]);
    assert!(parse_err(&gzip(&raw)).contains("more data"));
    assert!(parse_err(&gzip(&header16(6, 1, 0, 12, 0))).contains("version 6"));
}

#[test]
fn decompression_bombs_stop_at_the_header_count() {
    // A header promising 1000 splats followed by 20 MB of zeros: decoding must stop at the
    // promised size instead of inflating everything.
    let mut raw = header16(3, 1000, 0, 12, 0);
    raw.resize(16 + 20_000_000, 0);
    let bomb = gzip(&raw);
    assert!(bomb.len() < 200_000);
    assert!(parse_err(&bomb).contains("more data"));
    // v4: a stream whose data expands past its TOC size.
    let zeros = zstd::bulk::compress(&vec![0u8; 10_000_000], 3).unwrap();
    let mut v4 = header16(4, 1, 0, 12, 0);
    v4[15] = 5;
    v4.extend(32u32.to_le_bytes());
    v4.extend([0u8; 12]);
    let sizes = [9u64, 1, 3, 3, 4];
    let small: Vec<Vec<u8>> = sizes
        .iter()
        .map(|&s| zstd::bulk::compress(&vec![0u8; s as usize], 3).unwrap())
        .collect();
    for (k, s) in sizes.iter().enumerate() {
        let c = if k == 0 { zeros.len() } else { small[k].len() };
        v4.extend((c as u64).to_le_bytes());
        v4.extend(s.to_le_bytes());
    }
    v4.extend(&zeros);
    for chunk in &small[1..] {
        v4.extend(chunk);
    }
    assert!(parse_err(&v4).contains("decompressed to more than 9"));
}
