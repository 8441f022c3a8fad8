//! `eval::evaluate`: matching by position across orders and counts, and per-attribute errors
//! equal to perturbations applied on purpose. Expected values are derived from the applied
//! perturbations, which are exact in f32 (multiples of powers of two) wherever possible.

use splatpress::Scene;
use splatpress::encode::rng::Rng;
use splatpress::eval::evaluate;
use splatpress::scene::{Model, SH_C0, sh_coeffs};

/// A multiple of 2^-10 in [lo, hi): exact in f32, and stays exact after adding 2^-10..2^-7.
fn grid(rng: &mut Rng, lo: f64, hi: f64) -> f32 {
    (rng.int((lo * 1024.0) as i64, (hi * 1024.0) as i64) as f64 / 1024.0) as f32
}

/// `n` splats with centres in cells of a 0.25 lattice (≥ 0.15 apart), jittered on a 2^-12
/// grid, random unit quaternions and attributes on 2^-10 grids.
fn scene(n: usize, bands: u8, seed: u64) -> Scene {
    let mut rng = Rng::new(seed);
    let side = (n as f64).cbrt().ceil() as usize;
    let k = 3 * sh_coeffs(bands);
    let mut s = Scene {
        sh_bands: bands,
        model: Model::Default,
        extras: None,
        ..Scene::default()
    };
    for i in 0..n {
        let cell = [i % side, (i / side) % side, i / (side * side)];
        s.positions.push(cell.map(|c| {
            let jitter = rng.int(-200, 200) as f64 / 4096.0; // |jitter| < 0.05
            (c as f64 * 0.25 - side as f64 * 0.125 + jitter) as f32
        }));
        let q = [
            (2.0 * rng.uniform() - 1.0),
            (2.0 * rng.uniform() - 1.0),
            (2.0 * rng.uniform() - 1.0),
            (2.0 * rng.uniform() - 1.0),
        ];
        let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt().max(1e-3);
        s.rotations.push(q.map(|c| (c / norm) as f32));
        s.log_scales.push([0; 3].map(|_| grid(&mut rng, -8.0, 0.0)));
        s.opacities.push(grid(&mut rng, -4.0, 4.0));
        s.sh_dc.push([0; 3].map(|_| grid(&mut rng, -2.0, 2.0)));
        s.sh_rest.extend((0..k).map(|_| grid(&mut rng, -1.0, 1.0)));
    }
    s
}

/// A random permutation (Fisher–Yates).
fn shuffled(s: &Scene, seed: u64) -> Scene {
    let mut rng = Rng::new(seed);
    let mut order: Vec<u32> = (0..s.len() as u32).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.int(0, i as i64 + 1) as usize);
    }
    s.select(&order)
}

/// The splats of `a` followed by those of `b` (same SH bands).
fn concat(a: &Scene, b: &Scene) -> Scene {
    let mut s = a.clone();
    s.positions.extend_from_slice(&b.positions);
    s.rotations.extend_from_slice(&b.rotations);
    s.log_scales.extend_from_slice(&b.log_scales);
    s.opacities.extend_from_slice(&b.opacities);
    s.sh_dc.extend_from_slice(&b.sh_dc);
    s.sh_rest.extend_from_slice(&b.sh_rest);
    s
}

/// Hamilton product r ⊗ q, quaternions (w, x, y, z).
fn multiply(r: [f64; 4], q: [f64; 4]) -> [f64; 4] {
    [
        r[0] * q[0] - r[1] * q[1] - r[2] * q[2] - r[3] * q[3],
        r[0] * q[1] + r[1] * q[0] + r[2] * q[3] - r[3] * q[2],
        r[0] * q[2] - r[1] * q[3] + r[2] * q[0] + r[3] * q[1],
        r[0] * q[3] + r[1] * q[2] - r[2] * q[1] + r[3] * q[0],
    ]
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn close(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got {got}, want {want} ± {tolerance}"
    );
}

#[test]
fn identity_has_zero_errors_and_matches_everything() {
    let s = scene(2000, 3, 1);
    let e = evaluate(&s, &s).unwrap();
    let m = &e.matching;
    assert_eq!((m.matched, m.originals_unmatched, m.shared), (2000, 0, 0));
    assert!(!m.counts_differ);
    assert_eq!(m.max_distance, 0.0);
    for (name, stats) in [
        ("position", e.position),
        ("log_scale", e.log_scale),
        ("rotation", e.rotation_deg),
        ("opacity", e.opacity),
        ("color", e.color_dc),
        ("weighted", e.color_dc_weighted),
    ] {
        assert_eq!(
            (stats.rmse, stats.max, stats.p99),
            (0.0, 0.0, 0.0),
            "{name}"
        );
        assert!(stats.count > 0, "{name}");
    }
    assert_eq!(e.log_scale.count, 6000);
    assert_eq!(e.sh.len(), 3);
    // Band sizes: 3, 5, 7 coefficients × 3 channels × 2000 splats.
    let counts: Vec<u64> = e.sh.iter().map(|b| b.error.count).collect();
    assert_eq!(counts, vec![18000, 30000, 42000]);
    assert!(e.sh.iter().all(|b| b.error.max == 0.0));
    assert_eq!(e.color_dc_psnr_db, None);
}

#[test]
fn shuffled_perturbations_are_measured_exactly() {
    let original = scene(3000, 3, 2);
    let mut decoded = shuffled(&original, 3);
    let step = 2f64.powi(-12);
    let offset = [3.0 * step, -4.0 * step, 0.0]; // |offset| = 5·2^-12, exact in f32 here
    let axis = {
        let a = [1.0f64, 2.0, 3.0];
        let n = 14f64.sqrt();
        a.map(|c| c / n)
    };
    let half = 1f64.to_radians(); // rotate by exactly 2° about `axis`
    let r = [
        half.cos(),
        half.sin() * axis[0],
        half.sin() * axis[1],
        half.sin() * axis[2],
    ];
    let delta = 2f32.powi(-10);
    for i in 0..decoded.len() {
        for a in 0..3 {
            decoded.positions[i][a] += offset[a] as f32;
            decoded.log_scales[i][a] += 2.0 * delta;
        }
        let q = multiply(r, decoded.rotations[i].map(f64::from));
        decoded.rotations[i] = q.map(|c| c as f32);
        decoded.opacities[i] += delta;
        decoded.sh_dc[i][0] += delta; // only red changes
    }
    // SH: band 1 +2^-9, band 2 untouched, band 3 −2^-7 on every channel.
    let k = decoded.sh_coeffs();
    for i in 0..decoded.len() {
        for c in 0..3 {
            for j in 0..3 {
                decoded.sh_rest[i * 3 * k + c * k + j] += 2f32.powi(-9);
            }
            for j in 8..15 {
                decoded.sh_rest[i * 3 * k + c * k + j] -= 2f32.powi(-7);
            }
        }
    }

    let e = evaluate(&original, &decoded).unwrap();
    assert_eq!(e.matching.matched, 3000);
    assert_eq!((e.matching.originals_unmatched, e.matching.shared), (0, 0));
    let distance = 5.0 * step;
    close(e.position.rmse, distance, 1e-12, "position rmse");
    close(e.position.max, distance, 1e-12, "position max");
    close(e.position.p99, distance, 0.01 * distance, "position p99");
    close(e.matching.max_distance, distance, 1e-12, "match distance");
    let rel = e.position_relative.unwrap();
    close(rel.rmse * e.bbox_diagonal, distance, 1e-12, "relative");
    close(e.log_scale.rmse, 2.0 * delta as f64, 1e-12, "log-scale");
    close(e.log_scale.max, 2.0 * delta as f64, 1e-12, "log-scale max");
    // The rotated quaternions are rounded to f32 (≈ 6e-8 per component ⇒ ≈ 1e-5° of angle).
    close(e.rotation_deg.rmse, 2.0, 1e-4, "rotation rmse");
    close(e.rotation_deg.max, 2.0, 1e-4, "rotation max");

    // Opacity: |σ(x + δ) − σ(x)| per splat, from the logits as generated.
    let diffs: Vec<f64> = original
        .opacities
        .iter()
        .map(|&x| (sigmoid(x as f64 + delta as f64) - sigmoid(x as f64)).abs())
        .collect();
    let rmse = (diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64).sqrt();
    close(e.opacity.rmse, rmse, 1e-12, "opacity rmse");
    close(
        e.opacity.max,
        diffs.iter().cloned().fold(0.0, f64::max),
        1e-12,
        "opacity max",
    );

    // Colour: red moves by SH_C0·δ, green and blue not at all.
    let red = SH_C0 as f64 * delta as f64;
    close(
        e.color_dc.rmse,
        red / 3f64.sqrt(),
        1e-7 * red,
        "colour rmse",
    );
    close(e.color_dc.max, red, 1e-7 * red, "colour max");
    // Same error for every splat: weighting by opacity leaves the RMSE unchanged.
    close(
        e.color_dc_weighted.rmse,
        red / 3f64.sqrt(),
        1e-7 * red,
        "weighted",
    );
    let psnr = -20.0 * (red / 3f64.sqrt()).log10();
    close(e.color_dc_psnr_db.unwrap(), psnr, 1e-5, "psnr");

    let band: Vec<(f64, f64)> = e.sh.iter().map(|b| (b.error.rmse, b.error.max)).collect();
    assert_eq!(band[0], (2f64.powi(-9), 2f64.powi(-9)));
    assert_eq!(band[1], (0.0, 0.0));
    assert_eq!(band[2], (2f64.powi(-7), 2f64.powi(-7)));
}

#[test]
fn opacity_weighting_favours_visible_splats() {
    let original = scene(500, 0, 4);
    let mut decoded = original.clone();
    let delta = 2f32.powi(-8);
    // Only even splats change colour (all three channels).
    for i in (0..decoded.len()).step_by(2) {
        decoded.sh_dc[i] = decoded.sh_dc[i].map(|v| v + delta);
    }
    let e = evaluate(&original, &shuffled(&decoded, 5)).unwrap();
    let error = SH_C0 as f64 * delta as f64;
    let alpha: Vec<f64> = original
        .opacities
        .iter()
        .map(|&x| sigmoid(x as f64))
        .collect();
    let changed: f64 = alpha.iter().step_by(2).sum();
    let want = error * (changed / alpha.iter().sum::<f64>()).sqrt();
    close(e.color_dc_weighted.rmse, want, 1e-6 * want, "weighted rmse");
    close(
        e.color_dc.rmse,
        error * 0.5f64.sqrt(),
        1e-6 * error,
        "plain rmse",
    );
}

#[test]
fn fewer_decoded_splats_are_reported_not_an_error() {
    let original = scene(1000, 1, 6);
    let kept: Vec<u32> = (0..1000).filter(|i| i % 10 != 3).collect();
    let decoded = shuffled(&original.select(&kept), 7);
    let e = evaluate(&original, &decoded).unwrap();
    let m = &e.matching;
    assert!(m.counts_differ);
    assert_eq!((m.original_splats, m.decoded_splats), (1000, 900));
    assert_eq!((m.matched, m.originals_unmatched, m.shared), (900, 100, 0));
    assert_eq!(e.position.max, 0.0);
    assert_eq!(e.opacity.max, 0.0);
}

#[test]
fn sh_bands_missing_from_the_decoded_scene_are_reported() {
    let original = scene(300, 3, 8);
    let mut decoded = original.clone();
    decoded.truncate_bands(1);
    let e = evaluate(&original, &decoded).unwrap();
    assert_eq!(
        (e.sh_bands_original, e.sh_bands_decoded, e.sh_bands_dropped),
        (3, 1, 2)
    );
    assert_eq!(e.sh.len(), 1);
    assert_eq!(e.sh[0].band, 1);
    // Equal coefficients prove the two channel strides (15 vs 3) were honoured.
    assert_eq!((e.sh[0].error.count, e.sh[0].error.max), (2700, 0.0));
    assert!(e.table().contains("SH bands not compared: 2"));
}

#[test]
fn duplicated_centres_are_told_apart_by_their_attributes() {
    let base = scene(400, 0, 9);
    // Every centre twice, the copies with other attributes (as real captures have).
    let mut copy = scene(400, 0, 10);
    copy.positions = base.positions.clone();
    let original = concat(&base, &copy);
    let decoded = shuffled(&original, 11);
    let e = evaluate(&original, &decoded).unwrap();
    assert_eq!(
        (
            e.matching.matched,
            e.matching.originals_unmatched,
            e.matching.shared
        ),
        (800, 0, 0)
    );
    assert_eq!(
        (e.opacity.max, e.color_dc.max, e.rotation_deg.max),
        (0.0, 0.0, 0.0)
    );
}

#[test]
fn centres_closer_than_the_quantisation_step_are_told_apart_by_their_attributes() {
    // Two far splats stretch the position range to ±8 (16-bit symmetric-log step ≈ 6.7e-5,
    // error bound ≈ 6.7e-5 per axis near 1), two more sit 1e-4 apart near (1, 1, 1).
    let mut original = scene(4, 0, 17);
    original.positions = vec![[-8.0; 3], [8.0; 3], [1.0; 3], [1.0001, 1.0, 1.0]];
    let mut decoded = original.clone();
    // Splat 2 decodes nearer to splat 3's centre than to its own: nearest-neighbour alone would
    // pair it wrongly.
    decoded.positions[2][0] = 1.00007;
    decoded.positions[3][0] = 1.00013;
    let e = evaluate(&original, &shuffled(&decoded, 18)).unwrap();
    assert_eq!((e.matching.originals_unmatched, e.matching.shared), (0, 0));
    assert_eq!(
        (e.opacity.max, e.color_dc.max, e.log_scale.max),
        (0.0, 0.0, 0.0)
    );
    close(e.position.max, 7e-5, 1e-6, "position max");
}

/// Positions through the SOG transform: symmetric log, 16-bit quantisation between the
/// per-axis min and max, and back (sog-format.md §1.5 and §5.2).
fn quantise_positions(s: &mut Scene) {
    let slog = |v: f64| v.signum() * v.abs().ln_1p();
    for a in 0..3 {
        let n: Vec<f64> = s.positions.iter().map(|p| slog(p[a] as f64)).collect();
        let min = n.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = n.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        for (p, n) in s.positions.iter_mut().zip(n) {
            let q = ((n - min) / (max - min) * 65535.0).round();
            let back = min + (max - min) * q / 65535.0;
            p[a] = (back.signum() * back.abs().exp_m1()) as f32;
        }
    }
}

#[test]
fn quantised_random_centres_keep_their_own_attributes() {
    // Uniformly random centres (close pairs occur) plus 500 exact duplicates.
    let mut original = scene(40_000, 0, 19);
    let mut rng = Rng::new(20);
    for p in &mut original.positions {
        *p = [0; 3].map(|_| ((2.0 * rng.uniform() - 1.0) * 3.0) as f32);
    }
    for i in 0..500 {
        original.positions[2 * i + 1] = original.positions[2 * i];
    }
    let mut decoded = shuffled(&original, 21);
    quantise_positions(&mut decoded);
    let e = evaluate(&original, &decoded).unwrap();
    let m = &e.matching;
    assert_eq!((m.matched, m.originals_unmatched, m.shared), (40_000, 0, 0));
    // Every attribute other than the centre is untouched: any wrong pairing shows up here.
    assert_eq!(
        (e.opacity.max, e.color_dc.max, e.log_scale.max),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(e.rotation_deg.max, 0.0);
    // Half a step of 2·ln(4)/65535 in log space at |v| ≤ 3, on each axis.
    let bound = 3f64.sqrt() * 4.0 * (4f64.ln() / 65535.0).exp_m1();
    assert!(e.position.max <= bound, "{} > {bound}", e.position.max);
}

#[test]
fn non_finite_scales_and_empty_scenes() {
    let mut original = scene(100, 0, 12);
    original.log_scales[0][2] = f32::NEG_INFINITY;
    original.log_scales[1][2] = f32::NEG_INFINITY;
    let mut decoded = original.clone();
    decoded.log_scales[1][2] = -20.0; // a flat axis decoded as finite: not comparable
    let e = evaluate(&original, &decoded).unwrap();
    assert_eq!(e.log_scale_infinite_equal, 1);
    assert_eq!((e.log_scale.count, e.log_scale.skipped), (299, 1));
    assert_eq!(e.log_scale.max, 0.0);
    // An opacity logit of +∞ decoded as 40 (the engine's clamp): σ(40) differs from 1 by 4e-18.
    original.opacities[5] = f32::INFINITY;
    decoded.opacities[5] = 40.0;
    let e = evaluate(&original, &decoded).unwrap();
    assert!(e.opacity.max < 1e-15);

    // A decoded splat without a finite centre is left unpaired, and so is its source.
    decoded.positions[7][1] = f32::NAN;
    let e = evaluate(&original, &decoded).unwrap();
    let m = &e.matching;
    assert_eq!(
        (m.matched, m.decoded_unmatched, m.originals_unmatched),
        (99, 1, 1)
    );
    assert_eq!(e.position.count, 99);

    assert!(evaluate(&Scene::default(), &original).is_err());
    assert!(evaluate(&original, &Scene::default()).is_err());
}

#[test]
fn json_is_finite_and_names_the_fields() {
    let s = scene(50, 1, 13);
    let mut e = evaluate(&s, &s).unwrap();
    e.sizes = Some(splatpress::eval::sizes(50 * 248, 50 * 16, 50));
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["matching"]["matched"], 50);
    assert_eq!(json["sizes"]["ratio"], 15.5);
    assert_eq!(json["sizes"]["output_bytes_per_splat"], 16.0);
    assert_eq!(json["rotation_deg"]["rmse"], 0.0);
}

#[test]
fn large_scene_matches_quickly() {
    let n = 200_000;
    let original = scene(n, 0, 14);
    let mut decoded = shuffled(&original, 15);
    // Quantisation-sized noise: up to 2^-14 per axis (spacing is ≥ 0.15).
    let mut rng = Rng::new(16);
    for p in &mut decoded.positions {
        for c in p.iter_mut() {
            *c += ((2.0 * rng.uniform() - 1.0) * 2f64.powi(-14)) as f32;
        }
    }
    let start = std::time::Instant::now();
    let e = evaluate(&original, &decoded).unwrap();
    let elapsed = start.elapsed();
    eprintln!("evaluate of {n} splats: {elapsed:?}");
    assert_eq!((e.matching.matched, e.matching.originals_unmatched), (n, 0));
    assert!(e.matching.max_distance <= 3f64.sqrt() * 2f64.powi(-14) * 1.01);
    assert_eq!(e.opacity.max, 0.0);
    assert!(elapsed.as_secs_f64() < 20.0, "took {elapsed:?}");
}
