//! Conversions between our [`Scene`](crate::Scene) conventions (INRIA PLY: RDF axes, (w, x, y, z)
//! quaternions, log-scales, opacity logits) and KHR_gaussian_splatting's (glTF LUF axes, unit
//! (x, y, z, w) quaternions, linear scales, opacities in [0, 1]).
//!
//! The frame change is splat-transform's (`Transform.PLY`, a 180° turn about Z): a PLY point
//! (x, y, z) is the glTF point (−x, −y, z). A splat's rotation is turned with it
//! (q_glTF = r ⊗ q_PLY, r = (w 0, x 0, y 0, z 1)), and its SH coefficients follow the turned
//! view direction: under (x, y) → (−x, −y) the real SH basis function of order m changes sign
//! by (−1)^m, so coefficient m of every band is multiplied by (−1)^m. All three maps are their
//! own inverses up to the quaternion sign (r ⊗ r = −1, the same rotation).

use crate::formats::sog::decode::{MAX_LOGIT, MIN_LOGIT};

/// A PLY position in glTF axes, and back (the map is its own inverse).
pub fn position(p: [f32; 3]) -> [f32; 3] {
    [-p[0], -p[1], p[2]]
}

/// A PLY quaternion (w, x, y, z) as the glTF `ROTATION` value: (x, y, z, w), turned by the
/// frame change and normalised (the extension stores unit quaternions). A zero-length
/// quaternion is taken as the identity, as [`Scene::sanitize`](crate::Scene::sanitize) does;
/// non-finite components give non-finite output (the writer rejects them).
pub fn rotation_to_gltf(q: [f32; 4]) -> [f32; 4] {
    let [w, x, y, z] = q.map(f64::from);
    let norm = (w * w + x * x + y * y + z * z).sqrt();
    let [w, x, y, z] = if norm == 0.0 {
        [1.0, 0.0, 0.0, 0.0]
    } else {
        [w / norm, x / norm, y / norm, z / norm]
    };
    // r ⊗ q with r = (0; 0, 0, 1): (−z; −y, x, w).
    [-y, x, w, -z].map(|v| v as f32)
}

/// A glTF `ROTATION` value (x, y, z, w) as a PLY quaternion (w, x, y, z), undoing the frame
/// change (r⁻¹ ⊗ q); the length is kept as stored.
pub fn rotation_from_gltf(q: [f32; 4]) -> [f32; 4] {
    let [x, y, z, w] = q;
    // (0; 0, 0, −1) ⊗ (w; x, y, z) = (z; y, −x, −w).
    [z, y, -x, -w]
}

/// The factor (±1) that carries SH coefficient `j` of a channel (0..15, bands 1–3 in order,
/// orders m = −l..l within a band) across the frame change: (−1)^m.
pub fn sh_sign(j: usize) -> f32 {
    let m = match j {
        0..3 => j as i32 - 1,
        3..8 => j as i32 - 5,
        _ => j as i32 - 11,
    };
    if m % 2 == 0 { 1.0 } else { -1.0 }
}

/// The linear scale (standard deviation) for a log-scale; −∞ (a flat 2DGS axis) gives 0.
pub fn linear_scale(log_scale: f32) -> f32 {
    f64::from(log_scale).exp() as f32
}

/// The log-scale for a linear scale; 0 gives −∞.
pub fn log_scale(scale: f32) -> f32 {
    f64::from(scale).ln() as f32
}

/// The opacity in [0, 1] for a logit (±∞ give exactly 1 and 0).
pub fn alpha(logit: f32) -> f32 {
    (1.0 / (1.0 + (-f64::from(logit)).exp())) as f32
}

/// The logit for an opacity in [0, 1]; 0 and 1 (no finite logit) become ±40 as in the SOG
/// and `.splat` readers and the PlayCanvas engine.
pub fn logit(alpha: f32) -> f32 {
    let a = f64::from(alpha);
    let l = a.ln() - (1.0 - a).ln();
    if l.is_nan() {
        return f32::NAN;
    }
    (l as f32).clamp(MIN_LOGIT, MAX_LOGIT)
}

/// sRGB transfer function inverse (IEC 61966-2-1): an sRGB-encoded value in [0, 1] to linear.
pub fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.040_45 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// The `COLOR_0` fallback of one splat (spec, "Fallback Behavior"): the diffuse colour
/// 0.5 + SH_C0 · f_dc clamped to [0, 1] and decoded from sRGB to linear (COLOR_0 holds linear
/// values), and the opacity as alpha; as normalised unsigned bytes.
pub fn fallback_color(dc: [f32; 3], logit: f32) -> [u8; 4] {
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let c = |d: f32| {
        byte(srgb_to_linear(
            (0.5 + crate::scene::SH_C0 * d).clamp(0.0, 1.0),
        ))
    };
    [c(dc[0]), c(dc[1]), c(dc[2]), byte(alpha(logit))]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hamilton product of (w, x, y, z) quaternions.
    fn mul(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
        [
            a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
            a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
            a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
            a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0],
        ]
    }

    /// Rotates vector `v` by the unit quaternion (w, x, y, z) `q`.
    fn rotate(q: [f64; 4], v: [f64; 3]) -> [f64; 3] {
        let p = mul(mul(q, [0.0, v[0], v[1], v[2]]), [q[0], -q[1], -q[2], -q[3]]);
        [p[1], p[2], p[3]]
    }

    #[test]
    fn rotation_turns_the_splat_axes_with_the_frame() {
        // A splat's local axis e, rotated by q in PLY space, must land where the glTF rotation
        // puts it in glTF space: frame(q · e) == q_glTF · e.
        let q = [0.8f32, 0.2, -0.4, 0.4];
        let n = q.iter().map(|v| v * v).sum::<f32>().sqrt();
        let qp = q.map(|v| f64::from(v / n));
        let g = rotation_to_gltf(q).map(f64::from);
        let qg = [g[3], g[0], g[1], g[2]];
        for e in [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]] {
            let ply = rotate(qp, e);
            let want = [-ply[0], -ply[1], ply[2]];
            let got = rotate(qg, e);
            for k in 0..3 {
                assert!(
                    (want[k] - got[k]).abs() < 1e-6,
                    "axis {e:?}: {want:?} vs {got:?}"
                );
            }
        }
    }

    #[test]
    fn rotation_round_trips_and_normalises() {
        let q = [0.5f32, -0.5, 0.5, 0.5];
        let back = rotation_from_gltf(rotation_to_gltf(q));
        assert_eq!(back, q);
        let unnormalised = rotation_from_gltf(rotation_to_gltf([2.0, 0.0, 0.0, 0.0]));
        assert_eq!(unnormalised, [1.0, 0.0, 0.0, 0.0]);
        // Zero quaternion: the identity, which in glTF axes is the 180° turn about Z.
        assert_eq!(rotation_to_gltf([0.0; 4]), [0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn sh_signs_follow_the_order_m() {
        let signs: Vec<f32> = (0..15).map(sh_sign).collect();
        let want = [
            -1., 1., -1., // band 1: m = −1, 0, 1 (y, z, x)
            1., -1., 1., -1., 1., // band 2: xy, yz, 3z²−1, xz, x²−y²
            -1., 1., -1., 1., -1., 1., -1., // band 3
        ];
        assert_eq!(signs, want);
    }

    #[test]
    fn activations_round_trip_and_saturate() {
        for l in [-6.0f32, -1.5, 0.0, 0.3, 4.0] {
            let back = logit(alpha(l));
            assert!((back - l).abs() < 1e-4, "{l} → {back}");
        }
        assert_eq!(alpha(f32::INFINITY), 1.0);
        assert_eq!(alpha(f32::NEG_INFINITY), 0.0);
        assert_eq!(logit(1.0), MAX_LOGIT);
        assert_eq!(logit(0.0), MIN_LOGIT);
        assert!(logit(f32::NAN).is_nan());
        assert_eq!(linear_scale(f32::NEG_INFINITY), 0.0);
        assert_eq!(log_scale(0.0), f32::NEG_INFINITY);
        assert!((log_scale(linear_scale(-4.25)) + 4.25).abs() < 1e-6);
    }

    #[test]
    fn fallback_colour_is_linear_with_alpha() {
        // f_dc = 0 is sRGB 0.5, linear 0.214 → byte 55; logit 0 is alpha 0.5 → 128.
        assert_eq!(fallback_color([0.0; 3], 0.0), [55, 55, 55, 128]);
        assert_eq!(
            fallback_color([10.0, -10.0, 0.0], f32::INFINITY),
            [255, 0, 55, 255]
        );
    }
}
