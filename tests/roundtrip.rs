//! Compress → write → read → decode (engine formulas) → compare with the source, on generated
//! and real scenes. Every output must pass the engine's rules (sog-format.md §5.4) and stay
//! within these error bounds:
//! - position ≤ 2e-5 of the bounding-box diagonal (half a step of the 16-bit log grid);
//! - rotation RMSE ≤ 1° (smallest three at 8 bits, rounded);
//! - opacity ≤ 1/255 + 1e-6 (8-bit sigmoid, rounded: in fact ≤ 0.5/255);
//! - DC colour and log-scale: each value is replaced by its nearest codebook entry, so its
//!   error is at most half the widest gap between neighbouring entries, or its distance to
//!   the end entries for values outside them. The bound is computed from the written
//!   codebook and the source's range (×SH_C0 for colour);
//! - SH: per band, the palette must keep at least 75 % of the coefficients' energy
//!   (RMSE ≤ ½ · RMS of the source values): a random or mislaid palette fails this.

use splatpress::formats::sog::{self, Sog, bundle};
use splatpress::scene::SH_C0;
use splatpress::{Scene, encode, eval, formats};

use crate::util;

/// Largest error of nearest-entry quantisation of values in [lo, hi] with `codebook`.
fn codebook_bound(codebook: &[f32], lo: f32, hi: f32) -> f64 {
    let gap = codebook
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 2.0)
        .fold(0.0, f64::max);
    let below = (codebook[0] - lo).max(0.0) as f64;
    let above = (hi - codebook[255]).max(0.0) as f64;
    gap.max(below).max(above) * (1.0 + 1e-6) + 1e-7
}

fn finite_range(values: &[f32]) -> (f32, f32) {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

/// Runs the whole round trip on a sanitised `scene` and checks every bound.
fn round_trip(name: &str, scene: &Scene, iterations: u32) -> eval::Evaluation {
    let options = encode::Options {
        sh_iterations: iterations,
        ..encode::Options::default()
    };
    let (sog, _) = encode::encode(scene, &options, &())
        .map(|(e, r)| (formats::sog::textures::sog(&e), r))
        .expect("compress");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.sog");
    sog::write(&path, &sog, 0).expect("write");
    let bytes = std::fs::read(&path).unwrap();
    bundle::check_engine_rules(&bytes)
        .unwrap_or_else(|e| panic!("{name}: engine bundle rules: {e}"));
    let back: Sog = sog::read(&path).expect("read back");
    assert_eq!(
        back, sog,
        "{name}: the bundle must read back to what was written"
    );
    let problems = sog::check::check(&back);
    assert!(problems.is_empty(), "{name}: §5.4 violations: {problems:?}");
    let decoded = sog::decode::decode(&back).expect("decode");
    assert_eq!(decoded.len(), scene.len(), "{name}: nothing may be dropped");
    let e = eval::evaluate(scene, &decoded).expect("evaluate");
    eprintln!("{name}: {} splats\n{}", scene.len(), e.table());

    let rel = e.position_relative.as_ref().map_or(0.0, |p| p.max);
    assert!(rel <= 2e-5, "{name}: position error {rel} of the diagonal");
    assert!(
        e.rotation_deg.rmse <= 1.0,
        "{name}: rotation RMSE {}°",
        e.rotation_deg.rmse
    );
    assert!(
        e.opacity.max <= 1.0 / 255.0 + 1e-6,
        "{name}: opacity error {}",
        e.opacity.max
    );
    let (lo, hi) = finite_range(scene.sh_dc.as_flattened());
    let dc_bound = SH_C0 as f64 * codebook_bound(&back.meta.sh0.codebook, lo, hi);
    assert!(
        e.color_dc.max <= dc_bound,
        "{name}: DC colour {} > bound {dc_bound}",
        e.color_dc.max
    );
    let (lo, hi) = finite_range(scene.log_scales.as_flattened());
    let scale_bound = codebook_bound(&back.meta.scales.codebook, lo, hi);
    assert!(
        e.log_scale.max <= scale_bound,
        "{name}: log-scale {} > bound {scale_bound}",
        e.log_scale.max
    );
    for band in &e.sh {
        let coeffs = scene.sh_coeffs();
        let range = match band.band {
            1 => 0..3,
            2 => 3..8,
            _ => 8..15,
        };
        let (mut sum, mut count) = (0.0f64, 0usize);
        for i in 0..scene.len() {
            for c in 0..3 {
                for j in range.clone() {
                    sum += (scene.rest(i)[c * coeffs + j] as f64).powi(2);
                    count += 1;
                }
            }
        }
        let rms = (sum / count as f64).sqrt();
        assert!(
            band.error.rmse <= 0.5 * rms + 1e-6,
            "{name}: SH band {} RMSE {} against source RMS {rms}",
            band.band,
            band.error.rmse
        );
    }
    e
}

#[test]
fn generated_scenes_of_every_shape() {
    for (n, bands) in [
        (1, 0),
        (2, 1),
        (5, 3),
        (100, 3),
        (1000, 2),
        (4097, 3),
        (6000, 1),
    ] {
        let scene = splatpress::sample::scene(n, bands, n as u64).sanitize().0;
        round_trip(&format!("sample n={n} bands={bands}"), &scene, 4);
    }
}

#[test]
fn two_d_gaussians_keep_their_flat_axis() {
    let mut scene = splatpress::sample::scene(500, 1, 3);
    for s in &mut scene.log_scales {
        s[2] = f32::NEG_INFINITY;
    }
    scene.model = splatpress::scene::Model::TwoD;
    let scene = scene.sanitize().0;
    round_trip("2dgs", &scene, 3);
    // The −∞ axis is stored through the codebook's low sentinel (finite minimum − 20), which
    // the engine decodes as a finite but e^-20 times thinner axis.
    let (sog, _) = encode::encode(&scene, &encode::Options::default(), &())
        .map(|(e, r)| (formats::sog::textures::sog(&e), r))
        .unwrap();
    assert_eq!(sog.meta.model.as_deref(), Some("2dgs"));
    let decoded = sog::decode::decode(&sog).unwrap();
    let finite_min = finite_range(scene.log_scales.as_flattened()).0;
    assert!(
        decoded
            .log_scales
            .iter()
            .all(|s| s[2] <= finite_min - 19.0 && s[0] > finite_min - 1.0)
    );
}

#[test]
fn real_scenes() {
    for rel in [
        "mujoco_warp/fox.ply",
        "gaussiansplats3d-pr477/lod1_tile_0_0.5x.ply",
        "gaussiansplats3d-pr477/lod3_tile_0.ply",
        "gaussiansplats3d-pr477/lod5_tile_0.ply",
        "marcelpadilla-splats/plant.splat",
        "playcanvas-engine/biker.compressed.ply",
    ] {
        let Some(path) = util::shared_file(module_path!(), rel) else {
            return;
        };
        let (scene, report) = formats::read(&path).unwrap().sanitize();
        eprintln!("{rel}: sanitize {report:?}");
        round_trip(rel, &scene, 3);
    }
}

#[test]
fn real_scene_with_sh_content() {
    // playbot is the only real scene with SH content; a 60k-splat slice keeps the k-means
    // quick enough for CI (the whole scene is in the benchmarks).
    let Some(path) = util::shared_file(module_path!(), "playcanvas-engine/playbot/0_0") else {
        return;
    };
    let scene = formats::read(&path).unwrap().sanitize().0;
    let slice: Vec<u32> = (0..60_000).collect();
    let e = round_trip("playbot[..60000]", &scene.select(&slice), 3);
    assert_eq!(e.sh.len(), 2);
}
