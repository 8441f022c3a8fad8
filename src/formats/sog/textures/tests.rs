//! Each texture is decoded with the engine formulas of `sog-format.md` §5.2, written out here
//! independently of the encoder, and compared with the input. The helpers below compose the
//! quantisation (`encode::quantize`) with the layout (`super`), giving each texture as the
//! file holds it.

use super::Image;
use crate::encode::ShPalette;
use crate::encode::quantize::{self, grid_size, opacity_byte, symlog};
use crate::encode::rng::Rng;

/// means_l, means_u and the per-axis log ranges of `positions`.
fn means(positions: &[[f32; 3]], w: u32, h: u32) -> (Image, Image, [f64; 3], [f64; 3]) {
    let m = quantize::means(positions);
    let (low, high) = super::means(&m.codes, w, h);
    (low, high, m.mins, m.maxs)
}

fn quats(rotations: &[[f32; 4]], w: u32, h: u32) -> Image {
    super::quats(&quantize::quats(rotations), w, h)
}

/// The quats.webp texel of one quaternion.
fn quat_texel(q: &[f32; 4]) -> [u8; 4] {
    super::quats(&[quantize::quat_code(q)], 4, 4).texel(0)
}

fn scales(values: &[[f32; 3]], codebook: &[f32], w: u32, h: u32) -> Image {
    super::scales(&quantize::codes3(values, codebook), w, h)
}

fn sh0(dc: &[[f32; 3]], logits: &[f32], codebook: &[f32], w: u32, h: u32) -> Image {
    super::sh0(
        &quantize::codes3(dc, codebook),
        &quantize::opacities(logits),
        w,
        h,
    )
}

fn sh_labels(labels: &[u32], w: u32, h: u32) -> Image {
    super::sh_labels(labels, w, h)
}

fn sh_centroids(centroids: &[f32], size: usize, coeffs: usize, codebook: &[f32]) -> Image {
    super::sh_centroids(&ShPalette {
        bands: 1,
        coeffs,
        size,
        codes: quantize::palette_codes(&centroids[..size * 3 * coeffs], coeffs, codebook),
        codebook: codebook.to_vec(),
        labels: Vec::new(),
    })
}

/// §5.2 mix(a, b, t) = a(1 − t) + bt.
fn mix(a: f64, b: f64, t: f64) -> f64 {
    a * (1.0 - t) + b * t
}

fn assert_padding_zero(image: &Image, used: usize) {
    let total = (image.width * image.height) as usize;
    assert_eq!(image.rgba.len(), total * 4);
    for i in used..total {
        assert_eq!(image.texel(i), [0, 0, 0, 0], "padding texel {i}");
    }
}

#[test]
fn grid_sizes_from_the_spec() {
    assert_eq!(grid_size(1000).unwrap(), (32, 32));
    assert_eq!(grid_size(3000).unwrap(), (56, 56));
    assert_eq!(grid_size(5000).unwrap(), (72, 72));
    assert_eq!(grid_size(1).unwrap(), (4, 4));
    assert_eq!(grid_size(17).unwrap(), (8, 4)); // √17/4 → 2 → 8; 17/8/4 → 1 → 4
    for n in [1, 2, 15, 16, 17, 999, 12345, 1_000_000] {
        let (w, h) = grid_size(n).unwrap();
        assert!(
            w % 4 == 0 && h % 4 == 0 && h <= w && (w * h) as usize >= n,
            "n = {n}"
        );
    }
}

#[test]
fn grid_size_errors() {
    let err = grid_size(0).unwrap_err().to_string();
    assert_eq!(err, "no splats to compress");
    assert_eq!(grid_size(16380 * 16380).unwrap(), (16380, 16380));
    let err = grid_size(16380 * 16380 + 1).unwrap_err().to_string();
    assert!(err.contains("268304401") && err.contains("16383"), "{err}");
}

/// Decodes position i from means_l/u and the meta ranges (engine formula), in log space.
fn decode_log_position(
    l: &Image,
    u: &Image,
    mins: &[f64; 3],
    maxs: &[f64; 3],
    i: usize,
) -> [f64; 3] {
    let (lo, hi) = (l.texel(i), u.texel(i));
    std::array::from_fn(|a| {
        let q = f64::from(lo[a]) + 256.0 * f64::from(hi[a]);
        mix(mins[a], maxs[a], q / 65535.0)
    })
}

#[test]
fn means_decode_within_half_a_quantum() {
    let mut rng = Rng::new(1);
    let mut positions: Vec<[f32; 3]> = (0..5000)
        .map(|_| std::array::from_fn(|a| (rng.normal() * [0.5, 20.0, 300.0][a]) as f32))
        .collect();
    positions.push([0.0, -0.0, 1e-30]);
    let n = positions.len();
    let (w, h) = grid_size(n).unwrap();
    let (l, u, mins, maxs) = means(&positions, w, h);
    for a in 0..3 {
        let ls: Vec<f64> = positions
            .iter()
            .map(|p| {
                let v = f64::from(p[a]);
                v.signum() * (1.0 + v.abs()).ln()
            })
            .collect();
        assert_eq!(mins[a], ls.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(
            maxs[a],
            ls.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
    }
    for (i, p) in positions.iter().enumerate() {
        let n_dec = decode_log_position(&l, &u, &mins, &maxs, i);
        assert_eq!((l.texel(i)[3], u.texel(i)[3]), (255, 255));
        for a in 0..3 {
            let half_quantum = (maxs[a] - mins[a]) / 65535.0 / 2.0;
            let err = (n_dec[a] - symlog(p[a])).abs();
            assert!(
                err <= half_quantum * (1.0 + 1e-9),
                "splat {i} axis {a}: {err} > {half_quantum}"
            );
            // and back through the engine's inverse, the position itself is close
            let v = n_dec[a].signum() * (n_dec[a].abs().exp() - 1.0);
            let tol = (f64::from(p[a]).abs() + 1.0) * half_quantum * 1.01 + 1e-12;
            assert!((v - f64::from(p[a])).abs() <= tol);
        }
    }
    assert_padding_zero(&l, n);
    assert_padding_zero(&u, n);
    // extremes hit the ends of the 16-bit range
    let qs: Vec<u32> = (0..n)
        .map(|i| u32::from(l.texel(i)[0]) + 256 * u32::from(u.texel(i)[0]))
        .collect();
    assert_eq!((qs.iter().min(), qs.iter().max()), (Some(&0), Some(&65535)));
}

#[test]
fn means_with_zero_extent_and_nan() {
    let positions = vec![[2.0, -1.0, 5.0], [2.0, 1.0, 5.0], [2.0, f32::NAN, 5.0]];
    let (l, u, mins, maxs) = means(&positions, 4, 4);
    assert_eq!((mins[0], maxs[0]), ((3f64).ln(), (3f64).ln()));
    assert_eq!((mins[2], maxs[2]), ((6f64).ln(), (6f64).ln()));
    assert_eq!((mins[1], maxs[1]), (-(2f64).ln(), (2f64).ln()));
    for i in 0..3 {
        assert_eq!(
            [l.texel(i)[0], u.texel(i)[0], l.texel(i)[2], u.texel(i)[2]],
            [0; 4]
        );
    }
    assert_eq!((l.texel(0)[1], u.texel(0)[1]), (0, 0));
    assert_eq!((l.texel(1)[1], u.texel(1)[1]), (255, 255));
    assert_eq!((l.texel(2)[1], u.texel(2)[1]), (0, 0), "NaN → 0");
    assert_padding_zero(&l, 3);
    // An axis with no finite value at all gets a zero range, not infinities.
    let (_, _, mins, maxs) = means(&[[f32::NAN, 0.0, 0.0]], 4, 4);
    assert_eq!((mins[0], maxs[0]), (0.0, 0.0));
}

/// §5.2 rotation decode: (w, x, y, z) from an RGBA texel.
fn decode_quat(t: [u8; 4]) -> [f64; 4] {
    let c = |b: u8| (f64::from(b) / 255.0 - 0.5) * std::f64::consts::SQRT_2;
    let (a, b, cc) = (c(t[0]), c(t[1]), c(t[2]));
    let d = (1.0 - a * a - b * b - cc * cc).max(0.0).sqrt();
    let mode = (255.0 * (f64::from(t[3]) / 255.0)).round() as i32 - 252;
    match mode {
        0 => [d, a, b, cc],
        1 => [a, d, b, cc],
        2 => [a, b, d, cc],
        3 => [a, b, cc, d],
        _ => panic!("invalid mode {mode}"),
    }
}

fn angle_degrees(p: [f64; 4], q: [f64; 4]) -> f64 {
    let np = p.iter().map(|v| v * v).sum::<f64>().sqrt();
    let nq = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let dot = (0..4).map(|i| p[i] * q[i]).sum::<f64>().abs() / (np * nq);
    2.0 * dot.min(1.0).acos().to_degrees()
}

#[test]
fn quats_decode_to_small_angles() {
    let mut rng = Rng::new(2);
    let rotations: Vec<[f32; 4]> = (0..20_000)
        .map(|i| {
            // random directions, unnormalised lengths from 0.3 to 3
            let scale = 0.3 + 2.7 * (i % 7) as f64 / 6.0;
            std::array::from_fn(|_| (rng.normal() * scale) as f32)
        })
        .collect();
    let (w, h) = grid_size(rotations.len()).unwrap();
    let image = quats(&rotations, w, h);
    let (mut worst, mut sum): (f64, f64) = (0.0, 0.0);
    for (i, r) in rotations.iter().enumerate() {
        let t = image.texel(i);
        assert!((252..=255).contains(&t[3]));
        let q = r.map(f64::from);
        let largest = (0..4).fold(0, |m, c| if q[c].abs() > q[m].abs() { c } else { m });
        assert_eq!(t[3] as usize - 252, largest);
        let angle = angle_degrees(decode_quat(t), q);
        // Rounding each byte on its own is one of the 8 candidates, so never better.
        let norm =
            q.iter().map(|c| c * c).sum::<f64>().sqrt() * if q[largest] < 0.0 { -1.0 } else { 1.0 };
        let mut rounded = t;
        for (slot, c) in (0..4).filter(|&c| c != largest).enumerate() {
            let v = q[c] / norm * std::f64::consts::SQRT_2;
            rounded[slot] = (255.0 * (v * 0.5 + 0.5)).round().clamp(0.0, 255.0) as u8;
        }
        assert!(angle <= angle_degrees(decode_quat(rounded), q) + 1e-9);
        worst = worst.max(angle);
        sum += angle;
    }
    // Each stored component is off by at most h = √2/510; in the worst case (the four
    // components all 1/2) the rebuilt one is off by 3h, so the error vector is at most √12·h
    // and the rotation angle 2·√12·h rad ≈ 1.1°. Random rotations average about a third of that.
    let bound = (2.0 * 12f64.sqrt() * 2f64.sqrt() / 510.0).to_degrees();
    assert!(worst <= bound, "worst angle {worst}° > {bound}°");
    // Choosing the best of the 8 floor/ceil combinations measured 0.60° at worst on random
    // rotations (rounding each byte: 0.88°).
    assert!(worst <= 0.65, "worst angle {worst}°");
    let mean = sum / rotations.len() as f64;
    assert!(mean <= 0.4, "mean angle {mean}°");
    assert_padding_zero(&image, rotations.len());
}

#[test]
fn quat_edge_cases() {
    // Ties → lowest index; the dropped component is made non-negative.
    assert_eq!(quat_texel(&[0.5, 0.5, 0.5, 0.5])[3], 252);
    assert_eq!(quat_texel(&[0.0, 0.0, -1.0, 0.0]), [128, 128, 128, 254]);
    // −q is the same rotation and encodes identically.
    let q = [0.1, -0.7, 0.2, 0.3];
    assert_eq!(quat_texel(&q), quat_texel(&q.map(|v: f32| -v)));
    // The x component 0.7/‖q‖ is largest (negative → flipped), kept: w, y, z.
    let t = quat_texel(&q);
    assert_eq!(t[3], 253);
    let norm = q.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
    let expect = |v: f64| (255.0 * (-v / norm * 2f64.sqrt() * 0.5 + 0.5)).round() as u8;
    assert_eq!(&t[..3], &[expect(0.1), expect(0.2), expect(0.3)]);
    // Unusable quaternions become the identity.
    for bad in [
        [0.0; 4],
        [f32::NAN, 0.0, 0.0, 1.0],
        [f32::INFINITY, 0.0, 0.0, 0.0],
    ] {
        assert_eq!(quat_texel(&bad), [128, 128, 128, 252]);
    }
}

#[test]
fn opacity_within_half_a_byte() {
    let mut rng = Rng::new(3);
    let mut logits: Vec<f32> = (0..10_000).map(|_| (rng.normal() * 6.0) as f32).collect();
    logits.extend([f32::INFINITY, f32::NEG_INFINITY, 0.0, 40.0, -40.0]);
    let dc = vec![[0.0f32; 3]; logits.len()];
    let cb: Vec<f32> = (0..256).map(|i| i as f32).collect();
    let (w, h) = grid_size(logits.len()).unwrap();
    let image = sh0(&dc, &logits, &cb, w, h);
    for (i, &x) in logits.iter().enumerate() {
        let alpha = 1.0 / (1.0 + (-f64::from(x)).exp());
        let decoded = f64::from(image.texel(i)[3]) / 255.0;
        assert!((decoded - alpha).abs() <= 0.5 / 255.0 + 1e-6, "logit {x}");
    }
    let n = logits.len();
    assert_eq!(image.texel(n - 5)[3], 255);
    assert_eq!(image.texel(n - 4)[3], 0);
    assert_eq!(image.texel(n - 3)[3], 128); // 127.5 rounds up
    assert_eq!(opacity_byte(f32::NAN), 0);
    assert_padding_zero(&image, n);
}

#[test]
fn scales_and_colours_use_the_nearest_codebook_entry() {
    let cb: Vec<f32> = (0..256).map(|i| -8.0 + i as f32 * 0.05).collect();
    let mut rng = Rng::new(4);
    let values: Vec<[f32; 3]> = (0..3000)
        .map(|_| std::array::from_fn(|_| (-8.5 + rng.uniform() * 14.0) as f32))
        .collect();
    let (w, h) = grid_size(values.len()).unwrap();
    let scale_image = scales(&values, &cb, w, h);
    let opacities = vec![0.0f32; values.len()];
    let colour_image = sh0(&values, &opacities, &cb, w, h);
    for (i, v) in values.iter().enumerate() {
        let (s, c) = (scale_image.texel(i), colour_image.texel(i));
        assert_eq!(s[3], 255);
        for a in 0..3 {
            assert_eq!(s[a], c[a]);
            let err = (cb[s[a] as usize] - v[a]).abs();
            let best = cb
                .iter()
                .map(|e| (e - v[a]).abs())
                .fold(f32::INFINITY, f32::min);
            assert_eq!(err, best, "value {} → entry {}", v[a], s[a]);
        }
    }
    assert_padding_zero(&scale_image, values.len());
    assert_padding_zero(&colour_image, values.len());
}

#[test]
fn labels_layout() {
    let labels = [0u32, 1, 0x1234, 65535, 300];
    let image = sh_labels(&labels, 4, 4);
    assert_eq!(image.texel(0), [0, 0, 0, 255]);
    assert_eq!(image.texel(2), [0x34, 0x12, 0, 255]);
    assert_eq!(image.texel(3), [255, 255, 0, 255]);
    for (i, &l) in labels.iter().enumerate() {
        let t = image.texel(i);
        assert_eq!(u32::from(t[0]) + 256 * u32::from(t[1]), l);
    }
    assert_padding_zero(&image, labels.len());
}

#[test]
fn centroid_atlas_layout() {
    // palette 70 (not a multiple of 64), 3 coefficients per channel (1 band).
    let (palette, k) = (70usize, 3usize);
    let cb: Vec<f32> = (0..256).map(|i| i as f32).collect();
    // Value of centroid c, channel ch, coefficient j — channel-major rows — is an integer
    // that is its own codebook index.
    let value = |c: usize, ch: usize, j: usize| ((c * 7 + ch * 50 + j * 3) % 256) as f32;
    let mut centroids = Vec::new();
    for c in 0..palette {
        for ch in 0..3 {
            for j in 0..k {
                centroids.push(value(c, ch, j));
            }
        }
    }
    let image = sh_centroids(&centroids, palette, k, &cb);
    assert_eq!((image.width, image.height), (192, 2));
    let mut used = vec![false; (image.width * image.height) as usize];
    for c in 0..palette {
        for j in 0..k {
            // engine: u = (label mod 64)·K, v = floor(label / 64); coefficient j at (u + j, v)
            let (x, y) = ((c % 64) * k + j, c / 64);
            let p = y * image.width as usize + x;
            used[p] = true;
            let expect = [value(c, 0, j), value(c, 1, j), value(c, 2, j)].map(|v| v as u8);
            assert_eq!(
                image.texel(p),
                [expect[0], expect[1], expect[2], 255],
                "c {c} j {j}"
            );
        }
    }
    for (p, &u) in used.iter().enumerate() {
        if !u {
            assert_eq!(image.texel(p), [0, 0, 0, 0], "unused pixel {p}");
        }
    }
    // A full palette fills the atlas: 3 bands → 960 wide.
    let full = sh_centroids(&vec![0.0; 128 * 45], 128, 15, &cb);
    assert_eq!((full.width, full.height), (960, 2));
    assert!(full.rgba.chunks(4).all(|t| t[3] == 255));
}

/// `cargo test --release --lib sog::textures::tests::timing -- --ignored --nocapture`
#[test]
#[ignore = "timing; run in release"]
fn timing() {
    let n = 1_000_000;
    let mut rng = Rng::new(31);
    let positions: Vec<[f32; 3]> = (0..n)
        .map(|_| std::array::from_fn(|_| (rng.normal() * 10.0) as f32))
        .collect();
    let rotations: Vec<[f32; 4]> = (0..n)
        .map(|_| std::array::from_fn(|_| rng.normal() as f32))
        .collect();
    let scales3: Vec<[f32; 3]> = (0..n)
        .map(|_| std::array::from_fn(|_| (rng.normal() - 4.0) as f32))
        .collect();
    let opacities: Vec<f32> = (0..n).map(|_| (rng.normal() * 3.0) as f32).collect();
    let labels: Vec<u32> = (0..n as u32).map(|i| i % 65536).collect();
    let cb: Vec<f32> = (0..256).map(|i| -8.0 + i as f32 * 0.03).collect();
    let centroids: Vec<f32> = (0..65536 * 45).map(|i| (i % 97) as f32 * 0.01).collect();
    let (w, h) = grid_size(n).unwrap();
    let time = |name: &str, f: &dyn Fn()| {
        let t = std::time::Instant::now();
        f();
        eprintln!("{name} {n}: {:.3} s", t.elapsed().as_secs_f64());
    };
    time("means", &|| drop(means(&positions, w, h)));
    time("quats", &|| drop(quats(&rotations, w, h)));
    time("scales", &|| drop(scales(&scales3, &cb, w, h)));
    time("sh0", &|| drop(sh0(&scales3, &opacities, &cb, w, h)));
    time("sh_labels", &|| drop(sh_labels(&labels, w, h)));
    time("sh_centroids (65536 × 45)", &|| {
        drop(sh_centroids(&centroids, 65536, 15, &cb))
    });
}
