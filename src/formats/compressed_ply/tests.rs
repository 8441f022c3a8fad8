//! Synthetic compressed PLYs packed by hand from chosen quantised values.

use super::*;

const CHUNK_PROPS: [&str; 12] = [
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
];

/// A compressed PLY with `n` vertices whose chunks span x ∈ [0, 2047], y ∈ [0, 1023],
/// z ∈ [0, 2047] (so a quantised coordinate decodes to itself) and log scales in [−10, 0].
fn file(
    n: usize,
    words: impl Fn(usize) -> [u32; 4],
    colour_range: bool,
    sh: Option<(usize, u8)>,
) -> Vec<u8> {
    let chunks = n.div_ceil(CHUNK_SIZE);
    let mut text = format!("ply\nformat binary_little_endian 1.0\nelement chunk {chunks}\n");
    let mut props: Vec<&str> = CHUNK_PROPS.to_vec();
    if colour_range {
        props.extend(["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"]);
    }
    for p in &props {
        text.push_str(&format!("property float {p}\n"));
    }
    text.push_str(&format!("element vertex {n}\n"));
    for p in [
        "packed_position",
        "packed_rotation",
        "packed_scale",
        "packed_color",
    ] {
        text.push_str(&format!("property uint {p}\n"));
    }
    if let Some((k, _)) = sh {
        text.push_str(&format!("element sh {n}\n"));
        for j in 0..k {
            text.push_str(&format!("property uchar f_rest_{j}\n"));
        }
    }
    text.push_str("end_header\n");
    let mut out = text.into_bytes();
    let chunk_values: Vec<f32> = vec![
        0.0, 0.0, 0.0, 2047.0, 1023.0, 2047.0, -10.0, -10.0, -10.0, 0.0, 0.0, 0.0, 0.25, 0.25,
        0.25, 0.75, 0.75, 0.75,
    ];
    for _ in 0..chunks {
        for v in &chunk_values[..props.len()] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for i in 0..n {
        for w in words(i) {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    if let Some((k, byte)) = sh {
        out.extend(std::iter::repeat_n(byte, n * k));
    }
    out
}

fn read_bytes(bytes: &[u8]) -> Result<Scene> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.compressed.ply");
    std::fs::write(&path, bytes).unwrap();
    read(&path)
}

#[test]
fn positions_scales_colours_and_opacity_decode_from_their_bit_fields() {
    let pack = |x: u32, y: u32, z: u32| (x << 21) | (y << 11) | z;
    let words = |i: usize| {
        let i = i as u32;
        [
            pack(i % 2048, (3 * i) % 1024, 2047 - i % 2048),
            0xC000_0000 | (511 << 20) | (511 << 10) | 511,
            pack(2047, 0, 1023),
            (255 << 24) | (i % 256) << 16 | 51,
        ]
    };
    let n = 600; // three chunks, the last partial
    let s = read_bytes(&file(n, words, false, None)).unwrap();
    s.check_columns().unwrap();
    assert_eq!(s.len(), n);
    for i in [0, 1, 300, 599] {
        let p = s.positions[i];
        let want = [
            (i % 2048) as f32,
            ((3 * i) % 1024) as f32,
            (2047 - i % 2048) as f32,
        ];
        for k in 0..3 {
            assert!(
                (p[k] - want[k]).abs() < 1e-3,
                "splat {i} axis {k}: {p:?} vs {want:?}"
            );
        }
        assert!((s.log_scales[i][0] - 0.0).abs() < 1e-6);
        assert!((s.log_scales[i][1] + 10.0).abs() < 1e-6);
        assert!((s.log_scales[i][2] - (-10.0 + 10.0 * 1023.0 / 2047.0)).abs() < 1e-4);
        // no chunk colour range: R = 255 → colour 1, G = i/255.
        assert!((0.5 + SH_C0 * s.sh_dc[i][0] - 1.0).abs() < 1e-6);
        assert!((0.5 + SH_C0 * s.sh_dc[i][1] - (i % 256) as f32 / 255.0).abs() < 1e-6);
        let sigmoid = 1.0 / (1.0 + (-s.opacities[i]).exp());
        assert!((sigmoid - 0.2).abs() < 1e-6);
        // largest = index 3 (z); the three stored near zero: (511/1023 − 0.5)·√2.
        let q = s.rotations[i];
        let small = (511.0 / 1023.0 - 0.5) * std::f32::consts::SQRT_2;
        assert_eq!(&q[..3], &[small; 3]);
        assert!((q.iter().map(|c| c * c).sum::<f32>() - 1.0).abs() < 1e-6);
    }
}

#[test]
fn rotation_index_places_the_largest_component() {
    // stored (a, b, c) = (1023, 0, 511.5-ish): a → +√2/2, b → −√2/2, c ≈ 0, largest ≈ 0.
    for which in 0..4u32 {
        let q = unpack_rotation((which << 30) | (1023 << 20) | 512);
        let others: Vec<f32> = (0..4)
            .filter(|&k| k != which as usize)
            .map(|k| q[k])
            .collect();
        assert!(
            (others[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6,
            "{q:?}"
        );
        assert!(
            (others[1] + std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6,
            "{q:?}"
        );
        assert!(q[which as usize] >= 0.0 && q[which as usize] < 0.01);
    }
}

#[test]
fn chunk_colour_range_and_sh_bytes() {
    // R = 0, G = 255, B = 128, A = 255
    let words = |_| [0, 0, 0, (255 << 16) | (128 << 8) | 255];
    let s = read_bytes(&file(10, words, true, Some((24, 255)))).unwrap();
    s.check_columns().unwrap();
    assert_eq!(s.sh_bands, 2);
    assert!(s.sh_rest.iter().all(|&v| v == 4.0));
    let colour = s.sh_dc[0].map(|d| 0.5 + SH_C0 * d);
    let mid = 0.25 + 0.5 * 128.0 / 255.0;
    assert!((colour[0] - 0.25).abs() < 1e-6 && (colour[1] - 0.75).abs() < 1e-6);
    assert!((colour[2] - mid).abs() < 1e-6);
    assert_eq!(s.opacities[0], 40.0);
    assert_eq!(sh_from_byte(0), -4.0);
    assert_eq!(sh_from_byte(128), (128.5 / 256.0 - 0.5) * 8.0);
}

#[test]
fn too_few_chunks_and_bad_types_are_errors() {
    let mut bytes = file(300, |_| [0; 4], false, None);
    // claim one chunk for 300 vertices
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let at = text.find("element chunk 2").unwrap();
    bytes[at + 14] = b'1';
    let m = read_bytes(&bytes).unwrap_err().to_string();
    assert!(m.contains("need 2"), "{m}");
    let mut bytes = file(3, |_| [0; 4], false, None);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let at = text.find("packed_color").unwrap();
    bytes[at + 11] = b'x'; // packed_colox: same length, payload untouched
    let m = read_bytes(&bytes).unwrap_err().to_string();
    assert!(m.contains("no property `packed_color`"), "{m}");
}

#[test]
fn detection_needs_packed_vertex_words() {
    let compressed = file(3, |_| [0; 4], false, None);
    let header = Header::parse(&compressed[..], Path::new("c.ply")).unwrap();
    assert!(is_compressed(&header));
    let plain = "ply\nformat ascii 1.0\nelement chunk 1\nproperty float min_x\nelement vertex 0\nproperty float x\nend_header\n";
    let header = Header::parse(plain.as_bytes(), Path::new("p.ply")).unwrap();
    assert!(!is_compressed(&header));
}
