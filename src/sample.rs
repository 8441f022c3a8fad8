//! The built-in sample scene: a deterministic, colourful torus knot over a ground disc, with
//! view-dependent colour in every SH band. It lets the tool run with no input file, and gives
//! tests a scene of any size with the shape of real data (clustered positions, unnormalised
//! quaternions, log-scales and logits over realistic ranges).

use std::f32::consts::TAU;

use crate::encode::rng;
use crate::scene::{Model, Scene, sh_coeffs};

/// Splats in the default sample.
pub const DEFAULT_COUNT: usize = 20_000;

/// A deterministic synthetic scene of `n` splats with `bands` (0..=3) SH bands.
pub fn scene(n: usize, bands: u8, seed: u64) -> Scene {
    let bands = bands.min(3);
    let coeffs = sh_coeffs(bands);
    let u = |stream: u64, i: usize| rng::unit(seed, stream, i as u64);
    let gauss = |stream: u64, i: usize| {
        // Box–Muller on two uniform draws.
        let (a, b) = (u(stream, i).max(1e-7), u(stream + 100, i));
        (-2.0 * a.ln()).sqrt() * (TAU * b).cos()
    };
    let mut s = Scene {
        sh_bands: bands,
        model: Model::Default,
        extras: None,
        ..Scene::default()
    };
    for i in 0..n {
        let t = u(1, i);
        let on_knot = i % 5 != 0;
        let (pos, hue) = if on_knot {
            // (2,3) torus knot, thickened by Gaussian noise.
            let a = t * TAU;
            let r = 2.0 + (3.0 * a).cos();
            let p = [r * (2.0 * a).cos(), r * (2.0 * a).sin(), -(3.0 * a).sin()];
            let j = 0.15;
            (
                [
                    p[0] + j * gauss(2, i),
                    p[1] + j * gauss(3, i),
                    p[2] + j * gauss(4, i),
                ],
                t,
            )
        } else {
            // Ground disc below the knot.
            let (r, a) = (4.5 * u(2, i).sqrt(), u(3, i) * TAU);
            (
                [r * a.cos(), r * a.sin(), 1.6 + 0.02 * gauss(4, i)],
                0.6 + 0.1 * u(5, i),
            )
        };
        s.positions.push(pos);
        let rgb = [
            0.5 + 0.5 * (TAU * hue).cos(),
            0.5 + 0.5 * (TAU * (hue + 1.0 / 3.0)).cos(),
            0.5 + 0.5 * (TAU * (hue + 2.0 / 3.0)).cos(),
        ];
        s.sh_dc
            .push(rgb.map(|c| (c - 0.5) / crate::scene::SH_C0 + 0.1 * gauss(6, i)));
        // Unnormalised quaternions (norms 0.5..2), as trainers write them.
        let norm = 0.5 + 1.5 * u(7, i);
        let q = [gauss(8, i), gauss(9, i), gauss(10, i), gauss(11, i)];
        let len = q.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
        s.rotations.push(q.map(|v| v / len * norm));
        let base = if on_knot { -3.2 } else { -2.6 };
        s.log_scales.push(
            [0, 1, 2].map(|a| {
                base + 0.5 * gauss(12 + a, i) - if a == 2 && !on_knot { 2.0 } else { 0.0 }
            }),
        );
        s.opacities.push(2.0 * gauss(15, i) + 1.0);
        for c in 0..3 {
            for j in 0..coeffs {
                let band_scale = match j {
                    0..3 => 0.25,
                    3..8 => 0.12,
                    _ => 0.06,
                };
                let smooth = ((j + 1) as f32 * (pos[0] + 0.7 * pos[1]) + c as f32).sin();
                s.sh_rest
                    .push(band_scale * (0.8 * smooth + 0.4 * gauss(20 + (c * 15 + j) as u64, i)));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_deterministic_finite_and_well_formed() {
        let a = scene(500, 3, 1);
        assert_eq!(a, scene(500, 3, 1));
        assert_ne!(a, scene(500, 3, 2));
        a.check_columns().unwrap();
        assert_eq!(a.len(), 500);
        assert_eq!(a.rest_len(), 45);
        let (clean, report) = a.sanitize();
        assert_eq!(report.dropped(), 0);
        assert_eq!(clean.len(), 500);
        assert_eq!(scene(10, 0, 0).sh_rest.len(), 0);
    }
}
