//! Comparing decoded scenes: per-attribute tolerances, the RUB view of a scene, RMSE.

use splatpress::scene::Scene;

/// Sign of each higher-band SH coefficient (bands 1–3) between RDF and RUB (`flipSh` of the
/// reference with x = 1, y = z = −1).
const SH_SIGNS: [f32; 15] = [
    -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0,
];

/// Largest allowed difference per attribute.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    pub position: f32,
    pub log_scale: f32,
    /// Per quaternion component, after normalising and choosing the sign.
    pub rotation: f32,
    /// Of sigmoid(logit).
    pub opacity: f32,
    pub dc: f32,
    /// Bands 1 and 2–3.
    pub sh: [f32; 2],
}

/// Half a quantisation step of each attribute, plus float rounding.
pub const STEP: Tolerance = Tolerance {
    position: 0.5 / 4096.0 + 1e-6,
    log_scale: 0.5 / 16.0 + 1e-5,
    rotation: 2e-3,
    opacity: 0.5 / 255.0 + 1e-6,
    dc: 0.5 / (0.15 * 255.0) + 1e-5,
    sh: [4.5 / 128.0 + 1e-6, 8.5 / 128.0 + 1e-6],
};

/// Two decoders of the same bytes: float rounding only.
pub const ROUNDING: Tolerance = Tolerance {
    position: 1e-6,
    log_scale: 1e-6,
    rotation: 1e-6,
    // sigmoid(13.8155), where we and splat-transform clamp, is 1 − 1e-6 in f32 rounding;
    // the reference decodes byte 255 to +∞.
    opacity: 2e-6,
    dc: 1e-5,
    sh: [1e-6, 1e-6],
};

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A unit quaternion (w, x, y, z) with w ≥ 0 (the identity for a zero one).
pub fn unit(q: [f32; 4]) -> [f32; 4] {
    let n = q.iter().map(|v| v * v).sum::<f32>().sqrt();
    if n == 0.0 {
        return [1.0, 0.0, 0.0, 0.0];
    }
    let s = if q[0] < 0.0 { -1.0 } else { 1.0 };
    q.map(|v| v / n * s)
}

/// What SPZ can hold of `s`: values clamped to each attribute's range, unit quaternions.
pub fn representable(s: &Scene) -> Scene {
    let mut r = s.clone();
    for v in r.log_scales.iter_mut().flatten() {
        *v = v.clamp(-10.0, 255.0 / 16.0 - 10.0);
    }
    let dc_max = 127.5 / (0.15 * 255.0);
    for v in r.sh_dc.iter_mut().flatten() {
        *v = v.clamp(-dc_max, dc_max);
    }
    for v in &mut r.sh_rest {
        *v = v.clamp(-1.0, 127.0 / 128.0);
    }
    r.rotations = r.rotations.iter().map(|&q| unit(q)).collect();
    r
}

/// `s` (RDF) in SPZ's storage convention, RUB.
pub fn to_rub(s: &Scene) -> Scene {
    let mut r = s.clone();
    for p in &mut r.positions {
        *p = [p[0], -p[1], -p[2]];
    }
    for q in &mut r.rotations {
        *q = [q[0], q[1], -q[2], -q[3]];
    }
    let k = r.sh_coeffs();
    for (i, v) in r.sh_rest.iter_mut().enumerate() {
        *v *= SH_SIGNS[i % k.max(1)];
    }
    r
}

/// Panics with the first value of `got` further than `tol` from `want`, naming splat and
/// attribute.
pub fn assert_close(label: &str, got: &Scene, want: &Scene, tol: Tolerance) {
    assert_eq!(got.len(), want.len(), "{label}: splat count");
    assert_eq!(got.sh_bands, want.sh_bands, "{label}: SH bands");
    let check = |what: &str, i: usize, g: f32, w: f32, t: f32| {
        assert!(
            (g - w).abs() <= t || g == w,
            "{label}: splat {i} {what}: got {g}, want {w} (tolerance {t})"
        );
    };
    let k = want.sh_coeffs();
    for i in 0..want.len() {
        for a in 0..3 {
            check(
                "position",
                i,
                got.positions[i][a],
                want.positions[i][a],
                tol.position,
            );
            check(
                "log-scale",
                i,
                got.log_scales[i][a],
                want.log_scales[i][a],
                tol.log_scale,
            );
            check("f_dc", i, got.sh_dc[i][a], want.sh_dc[i][a], tol.dc);
        }
        let (g, w) = (unit(got.rotations[i]), unit(want.rotations[i]));
        for a in 0..4 {
            check("rotation", i, g[a], w[a], tol.rotation);
        }
        let (g, w) = (sigmoid(got.opacities[i]), sigmoid(want.opacities[i]));
        check("opacity", i, g, w, tol.opacity);
        for (j, (g, w)) in got.rest(i).iter().zip(want.rest(i)).enumerate() {
            let t = tol.sh[usize::from(j % k >= 3)];
            check(&format!("f_rest_{j}"), i, *g, *w, t);
        }
    }
}

/// Root-mean-square differences per attribute of `got` against `want`.
pub fn rmse(got: &Scene, want: &Scene) -> [f64; 6] {
    let mut sums = [0.0f64; 6];
    let mut counts = [0usize; 6];
    let mut add = |k: usize, g: f32, w: f32| {
        let d = (g - w) as f64;
        if d.is_finite() {
            sums[k] += d * d;
            counts[k] += 1;
        }
    };
    for i in 0..want.len() {
        for a in 0..3 {
            add(0, got.positions[i][a], want.positions[i][a]);
            add(1, got.log_scales[i][a], want.log_scales[i][a]);
            add(4, got.sh_dc[i][a], want.sh_dc[i][a]);
        }
        // The angle between the two rotations (q and −q are one rotation).
        let (g, w) = (unit(got.rotations[i]), unit(want.rotations[i]));
        let dot: f32 = g.iter().zip(w).map(|(a, b)| a * b).sum();
        add(2, 2.0 * dot.abs().min(1.0).acos(), 0.0);
        add(3, sigmoid(got.opacities[i]), sigmoid(want.opacities[i]));
        for (g, w) in got.rest(i).iter().zip(want.rest(i)) {
            add(5, *g, *w);
        }
    }
    std::array::from_fn(|k| (sums[k] / counts[k].max(1) as f64).sqrt())
}
