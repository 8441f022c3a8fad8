//! Decimation on the host: what `decimate_prepare`, `decimate_candidates` and
//! `decimate_merge` compute. All arithmetic is f32 in the order written here, which the WGSL
//! and CUDA kernels follow; the conformance tests allow for their transcendental functions.
//!
//! The merge cost is Runnalls' bound on the Kullback–Leibler loss of replacing two weighted
//! Gaussians by their moment-matched one (Runnalls 2007, "Kullback-Leibler approach to
//! Gaussian mixture reduction"), with the splats' masses as the weights, plus the
//! mass-weighted variance that averaging their colours adds.

use rayon::prelude::*;

use super::Cpu;
use crate::Result;
use crate::backend::decimate::{CANDIDATES, Decimate, Merged, NO_PARTNER, PREPARED, Splats};

/// Knud Thomsen's exponent for the ellipsoid surface area (relative error ≤ 1.06 %).
pub const THOMSEN_P: f32 = 1.6075;
/// Log scales are floored here (σ ≥ e^-34.5 ≈ 1e-15) so variances stay normal f32 values.
pub const MIN_LOG_SCALE: f32 = -34.5;
/// Smallest mass: every splat weighs something, so a group's total is never zero.
pub const MIN_MASS: f32 = 1e-30;
/// Smallest relative determinant of a scaled covariance (a flat merge is not −∞).
pub const MIN_RELATIVE_DET: f32 = 1e-30;
/// Merged opacities are kept in [MIN_ALPHA, 1 − MIN_ALPHA] so their logits are finite.
pub const MIN_ALPHA: f32 = 1e-6;
/// Cyclic Jacobi sweeps of the 3×3 eigen-solver (converged long before on f32).
pub const JACOBI_SWEEPS: usize = 8;

/// sigmoid(x) = 1 / (1 + e^-x).
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Surface area of the ellipsoid with semi-axes e^l0, e^l1, e^l2 (Thomsen's formula,
/// 4π((a^p b^p + a^p c^p + b^p c^p) / 3)^(1/p)), evaluated from the logs with the largest
/// term factored out so that neither tiny nor huge splats overflow.
#[inline]
pub fn ellipsoid_area(l: [f32; 3]) -> f32 {
    let l = [
        l[0].max(MIN_LOG_SCALE),
        l[1].max(MIN_LOG_SCALE),
        l[2].max(MIN_LOG_SCALE),
    ];
    let e = [
        THOMSEN_P * (l[0] + l[1]),
        THOMSEN_P * (l[0] + l[2]),
        THOMSEN_P * (l[1] + l[2]),
    ];
    let m = e[0].max(e[1]).max(e[2]);
    let sum = (e[0] - m).exp() + (e[1] - m).exp() + (e[2] - m).exp();
    4.0 * std::f32::consts::PI * ((m + (sum / 3.0).ln()) / THOMSEN_P).exp()
}

/// The rotation matrix (row-major) of quaternion (w, x, y, z) after normalising it; the
/// identity for a zero quaternion.
#[inline]
pub fn rotation_matrix(q: [f32; 4]) -> [f32; 9] {
    let norm = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    if norm <= 0.0 {
        return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    }
    let (w, x, y, z) = (q[0] / norm, q[1] / norm, q[2] / norm, q[3] / norm);
    [
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y - w * z),
        2.0 * (x * z + w * y),
        2.0 * (x * y + w * z),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z - w * x),
        2.0 * (x * z - w * y),
        2.0 * (y * z + w * x),
        1.0 - 2.0 * (x * x + y * y),
    ]
}

/// One splat's prepared row (see [`PREPARED`]).
pub fn prepare(rotation: [f32; 4], log_scale: [f32; 3], opacity: f32) -> [f32; PREPARED] {
    let l = [
        log_scale[0].max(MIN_LOG_SCALE),
        log_scale[1].max(MIN_LOG_SCALE),
        log_scale[2].max(MIN_LOG_SCALE),
    ];
    let mass = (sigmoid(opacity) * ellipsoid_area(l)).max(MIN_MASS);
    let r = rotation_matrix(rotation);
    let v = [(2.0 * l[0]).exp(), (2.0 * l[1]).exp(), (2.0 * l[2]).exp()];
    // Σ = R diag(v) Rᵀ: entry (a, b) = Σ_k R[a][k] v[k] R[b][k].
    let entry = |a: usize, b: usize| {
        r[a * 3] * v[0] * r[b * 3]
            + r[a * 3 + 1] * v[1] * r[b * 3 + 1]
            + r[a * 3 + 2] * v[2] * r[b * 3 + 2]
    };
    [
        mass,
        entry(0, 0),
        entry(0, 1),
        entry(0, 2),
        entry(1, 1),
        entry(1, 2),
        entry(2, 2),
        2.0 * (l[0] + l[1] + l[2]),
    ]
}

/// ln det of the symmetric matrix with upper triangle `c` (xx, xy, xz, yy, yz, zz),
/// computed as 3 ln t + ln det(Σ / t) with t the mean of the diagonal, so that very small
/// or very large covariances neither underflow nor overflow.
#[inline]
pub fn log_det(c: [f32; 6]) -> f32 {
    let t = ((c[0] + c[3] + c[5]) / 3.0).max(f32::MIN_POSITIVE);
    let s = [c[0] / t, c[1] / t, c[2] / t, c[3] / t, c[4] / t, c[5] / t];
    let det = s[0] * (s[3] * s[5] - s[4] * s[4]) - s[1] * (s[1] * s[5] - s[4] * s[2])
        + s[2] * (s[1] * s[4] - s[3] * s[2]);
    3.0 * t.ln() + det.max(MIN_RELATIVE_DET).ln()
}

/// What merging splats i and j loses: ½[(wᵢ + wⱼ) ln det Σ − wᵢ ln det Σᵢ − wⱼ ln det Σⱼ]
/// (Σ the moment-matched covariance, w the masses) + wᵢwⱼ/(wᵢ + wⱼ) · ‖cᵢ − cⱼ‖² over the
/// colour rows. Symmetric up to rounding; NaN inputs give NaN, which the candidate search
/// skips.
pub fn merge_cost(
    pi: [f32; 3],
    prep_i: &[f32],
    color_i: &[f32],
    pj: [f32; 3],
    prep_j: &[f32],
    color_j: &[f32],
) -> f32 {
    let (wi, wj) = (prep_i[0], prep_j[0]);
    let w = wi + wj;
    let (a, b) = (wi / w, wj / w);
    let d = [pi[0] - pj[0], pi[1] - pj[1], pi[2] - pj[2]];
    // Σ = a Σᵢ + b Σⱼ + a b d dᵀ (the spread of the two means about their weighted mean).
    let ab = a * b;
    let c = [
        a * prep_i[1] + b * prep_j[1] + ab * d[0] * d[0],
        a * prep_i[2] + b * prep_j[2] + ab * d[0] * d[1],
        a * prep_i[3] + b * prep_j[3] + ab * d[0] * d[2],
        a * prep_i[4] + b * prep_j[4] + ab * d[1] * d[1],
        a * prep_i[5] + b * prep_j[5] + ab * d[1] * d[2],
        a * prep_i[6] + b * prep_j[6] + ab * d[2] * d[2],
    ];
    let geometry = 0.5 * (w * log_det(c) - wi * prep_i[7] - wj * prep_j[7]);
    let mut colour = 0.0f32;
    for (x, y) in color_i.iter().zip(color_j) {
        let e = x - y;
        colour += e * e;
    }
    geometry + (wi * wj / w) * colour
}

/// Eigen-decomposition of a symmetric 3×3 matrix (row-major, `a` overwritten) by cyclic
/// Jacobi rotations: returns the eigenvalues (the diagonal) and the eigenvectors as the
/// columns of the second matrix.
pub fn jacobi_eigen(mut a: [f32; 9]) -> ([f32; 3], [f32; 9]) {
    let mut v = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    for _ in 0..JACOBI_SWEEPS {
        for (p, q) in [(0usize, 1usize), (0, 2), (1, 2)] {
            let apq = a[p * 3 + q];
            let (app, aqq) = (a[p * 3 + p], a[q * 3 + q]);
            if apq.abs() <= 1e-9 * app.abs().max(aqq.abs()) || apq == 0.0 {
                continue;
            }
            let theta = (aqq - app) / (2.0 * apq);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            // A ← Jᵀ A J with J the rotation in the (p, q) plane.
            for k in 0..3 {
                let (akp, akq) = (a[k * 3 + p], a[k * 3 + q]);
                a[k * 3 + p] = c * akp - s * akq;
                a[k * 3 + q] = s * akp + c * akq;
            }
            for k in 0..3 {
                let (apk, aqk) = (a[p * 3 + k], a[q * 3 + k]);
                a[p * 3 + k] = c * apk - s * aqk;
                a[q * 3 + k] = s * apk + c * aqk;
            }
            for k in 0..3 {
                let (vkp, vkq) = (v[k * 3 + p], v[k * 3 + q]);
                v[k * 3 + p] = c * vkp - s * vkq;
                v[k * 3 + q] = s * vkp + c * vkq;
            }
        }
    }
    ([a[0], a[4], a[8]], v)
}

/// The unit quaternion (w, x, y, z), w ≥ 0, of a proper rotation matrix (row-major).
pub fn quaternion(r: [f32; 9]) -> [f32; 4] {
    let trace = r[0] + r[4] + r[8];
    let q = if trace > 0.0 {
        let s = (trace + 1.0).sqrt() * 2.0;
        [
            0.25 * s,
            (r[7] - r[5]) / s,
            (r[2] - r[6]) / s,
            (r[3] - r[1]) / s,
        ]
    } else if r[0] > r[4] && r[0] > r[8] {
        let s = (1.0 + r[0] - r[4] - r[8]).sqrt() * 2.0;
        [
            (r[7] - r[5]) / s,
            0.25 * s,
            (r[1] + r[3]) / s,
            (r[2] + r[6]) / s,
        ]
    } else if r[4] > r[8] {
        let s = (1.0 + r[4] - r[0] - r[8]).sqrt() * 2.0;
        [
            (r[2] - r[6]) / s,
            (r[1] + r[3]) / s,
            0.25 * s,
            (r[5] + r[7]) / s,
        ]
    } else {
        let s = (1.0 + r[8] - r[0] - r[4]).sqrt() * 2.0;
        [
            (r[3] - r[1]) / s,
            (r[2] + r[6]) / s,
            (r[5] + r[7]) / s,
            0.25 * s,
        ]
    };
    let norm = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    let sign = if q[0] < 0.0 { -1.0 } else { 1.0 };
    [
        sign * q[0] / norm,
        sign * q[1] / norm,
        sign * q[2] / norm,
        sign * q[3] / norm,
    ]
}

/// One merged splat: (position, rotation, log scales, opacity logit), colour into `color`.
/// `members` index rows of the columns; indices ≥ n are skipped.
pub fn merge_group(
    positions: &[f32],
    prepared: &[f32],
    colors: &[f32],
    dim: usize,
    members: &[u32],
    color: &mut [f32],
) -> ([f32; 3], [f32; 4], [f32; 3], f32) {
    let n = positions.len() / 3;
    let valid = || members.iter().map(|&m| m as usize).filter(move |&m| m < n);
    color.fill(0.0);
    let Some(first) = valid().next() else {
        return (
            [0.0; 3],
            [1.0, 0.0, 0.0, 0.0],
            [MIN_LOG_SCALE; 3],
            logit(MIN_ALPHA),
        );
    };
    let origin = [
        positions[first * 3],
        positions[first * 3 + 1],
        positions[first * 3 + 2],
    ];
    let mut total = 0.0f32;
    for m in valid() {
        total += prepared[m * PREPARED];
    }
    // Mean, relative to the first member (keeps precision far from the origin).
    let mut mean = [0.0f32; 3];
    for m in valid() {
        let p = prepared[m * PREPARED] / total;
        for k in 0..3 {
            mean[k] += p * (positions[m * 3 + k] - origin[k]);
        }
    }
    let mut c = [0.0f32; 6];
    for m in valid() {
        let p = prepared[m * PREPARED] / total;
        let row = &prepared[m * PREPARED..(m + 1) * PREPARED];
        let d = [
            positions[m * 3] - origin[0] - mean[0],
            positions[m * 3 + 1] - origin[1] - mean[1],
            positions[m * 3 + 2] - origin[2] - mean[2],
        ];
        c[0] += p * (row[1] + d[0] * d[0]);
        c[1] += p * (row[2] + d[0] * d[1]);
        c[2] += p * (row[3] + d[0] * d[2]);
        c[3] += p * (row[4] + d[1] * d[1]);
        c[4] += p * (row[5] + d[1] * d[2]);
        c[5] += p * (row[6] + d[2] * d[2]);
        for (o, v) in color.iter_mut().zip(&colors[m * dim..(m + 1) * dim]) {
            *o += p * v;
        }
    }
    // Eigen-decompose Σ / t (t the mean diagonal) so the solver works on O(1) values.
    let t = ((c[0] + c[3] + c[5]) / 3.0).max(f32::MIN_POSITIVE);
    let (values, vectors) = jacobi_eigen([
        c[0] / t,
        c[1] / t,
        c[2] / t,
        c[1] / t,
        c[3] / t,
        c[4] / t,
        c[2] / t,
        c[4] / t,
        c[5] / t,
    ]);
    // Axes largest first (ties keep the lower index).
    let mut order = [0usize, 1, 2];
    if values[order[1]] > values[order[0]] {
        order.swap(0, 1);
    }
    if values[order[2]] > values[order[1]] {
        order.swap(1, 2);
        if values[order[1]] > values[order[0]] {
            order.swap(0, 1);
        }
    }
    let mut r = [0.0f32; 9];
    for (col, &axis) in order.iter().enumerate() {
        for row in 0..3 {
            r[row * 3 + col] = vectors[row * 3 + axis];
        }
    }
    let det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6])
        + r[2] * (r[3] * r[7] - r[4] * r[6]);
    if det < 0.0 {
        r[2] = -r[2];
        r[5] = -r[5];
        r[8] = -r[8];
    }
    let log_scale =
        order.map(|axis| (0.5 * ((values[axis] * t).max(1e-30)).ln()).max(MIN_LOG_SCALE));
    let alpha = (total / ellipsoid_area(log_scale)).clamp(MIN_ALPHA, 1.0 - MIN_ALPHA);
    let position = [
        origin[0] + mean[0],
        origin[1] + mean[1],
        origin[2] + mean[2],
    ];
    (position, quaternion(r), log_scale, logit(alpha))
}

/// ln(α / (1 − α)).
#[inline]
pub fn logit(alpha: f32) -> f32 {
    (alpha / (1.0 - alpha)).ln()
}

/// See [`Decimate::decimate_prepare`].
pub fn decimate_prepare(
    rotations: &[f32],
    log_scales: &[f32],
    opacities: &[f32],
    prepared: &mut [f32],
) {
    prepared
        .par_chunks_mut(PREPARED)
        .enumerate()
        .for_each(|(i, row)| {
            let q = [
                rotations[i * 4],
                rotations[i * 4 + 1],
                rotations[i * 4 + 2],
                rotations[i * 4 + 3],
            ];
            let l = [
                log_scales[i * 3],
                log_scales[i * 3 + 1],
                log_scales[i * 3 + 2],
            ];
            row.copy_from_slice(&prepare(q, l, opacities[i]));
        });
}

/// See [`Decimate::decimate_candidates`].
pub fn decimate_candidates(
    positions: &[f32],
    prepared: &[f32],
    colors: &[f32],
    dim: usize,
    window: usize,
    costs: &mut [f32],
    partners: &mut [u32],
) {
    let n = positions.len() / 3;
    costs
        .par_chunks_mut(CANDIDATES)
        .zip(partners.par_chunks_mut(CANDIDATES))
        .enumerate()
        .for_each(|(i, (cost_row, partner_row))| {
            cost_row.fill(f32::INFINITY);
            partner_row.fill(NO_PARTNER);
            let point = |k: usize| [positions[k * 3], positions[k * 3 + 1], positions[k * 3 + 2]];
            let prep = |k: usize| &prepared[k * PREPARED..(k + 1) * PREPARED];
            let color = |k: usize| &colors[k * dim..(k + 1) * dim];
            for j in i + 1..n.min(i + 1 + window) {
                let cost = merge_cost(point(i), prep(i), color(i), point(j), prep(j), color(j));
                // NaN is never kept.
                if cost.is_nan() || cost >= cost_row[CANDIDATES - 1] {
                    continue;
                }
                let mut slot = CANDIDATES - 1;
                while slot > 0 && cost < cost_row[slot - 1] {
                    cost_row[slot] = cost_row[slot - 1];
                    partner_row[slot] = partner_row[slot - 1];
                    slot -= 1;
                }
                cost_row[slot] = cost;
                partner_row[slot] = j as u32;
            }
        });
}

/// Output columns of [`decimate_merge`]: positions, rotations, log scales, opacities, colours.
pub type MergedColumns<'a> = (
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
);

/// See [`Decimate::decimate_merge`].
pub fn decimate_merge(
    positions: &[f32],
    prepared: &[f32],
    colors: &[f32],
    dim: usize,
    offsets: &[u32],
    members: &[u32],
    out: MergedColumns<'_>,
) {
    let (out_positions, out_rotations, out_log_scales, out_opacities, out_colors) = out;
    out_positions
        .par_chunks_mut(3)
        .zip(out_rotations.par_chunks_mut(4))
        .zip(out_log_scales.par_chunks_mut(3))
        .zip(out_opacities.par_iter_mut())
        .zip(out_colors.par_chunks_mut(dim))
        .enumerate()
        .for_each(|(g, ((((p, r), l), o), c))| {
            let start = (offsets[g] as usize).min(members.len());
            let end = (offsets[g + 1] as usize).clamp(start, members.len());
            let (position, rotation, log_scale, opacity) =
                merge_group(positions, prepared, colors, dim, &members[start..end], c);
            p.copy_from_slice(&position);
            r.copy_from_slice(&rotation);
            l.copy_from_slice(&log_scale);
            *o = opacity;
        });
}

impl Decimate for Cpu {
    fn run_decimate_prepare(
        &self,
        _n: usize,
        rotations: &Vec<f32>,
        log_scales: &Vec<f32>,
        opacities: &Vec<f32>,
        prepared: &mut Vec<f32>,
    ) -> Result<()> {
        decimate_prepare(rotations, log_scales, opacities, prepared);
        Ok(())
    }

    fn run_decimate_candidates(
        &self,
        _n: usize,
        splats: &Splats<'_, Self>,
        window: usize,
        costs: &mut Vec<f32>,
        partners: &mut Vec<u32>,
    ) -> Result<()> {
        decimate_candidates(
            splats.positions,
            splats.prepared,
            splats.colors,
            splats.dim,
            window,
            costs,
            partners,
        );
        Ok(())
    }

    fn run_decimate_merge(
        &self,
        _n: usize,
        _g: usize,
        splats: &Splats<'_, Self>,
        offsets: &Vec<u32>,
        members: &Vec<u32>,
        merged: &mut Merged<'_, Self>,
    ) -> Result<()> {
        decimate_merge(
            splats.positions,
            splats.prepared,
            splats.colors,
            splats.dim,
            offsets,
            members,
            (
                merged.positions,
                merged.rotations,
                merged.log_scales,
                merged.opacities,
                merged.colors,
            ),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covariance(rotation: [f32; 4], log_scale: [f32; 3]) -> [f32; 6] {
        let p = prepare(rotation, log_scale, 0.0);
        [p[1], p[2], p[3], p[4], p[5], p[6]]
    }

    #[test]
    fn area_of_a_sphere() {
        let area = ellipsoid_area([0.0; 3]);
        assert!((area - 4.0 * std::f32::consts::PI).abs() < 1e-4, "{area}");
        // Huge and tiny splats stay finite and positive.
        assert!(ellipsoid_area([40.0, 40.0, 40.0]).is_finite());
        assert!(ellipsoid_area([-60.0; 3]) > 0.0);
    }

    #[test]
    fn merging_one_splat_gives_it_back() {
        let q = [0.9f32, 0.1, -0.3, 0.2];
        let l = [-1.0f32, -2.0, -3.0];
        let prep = prepare(q, l, 0.4);
        let mut color = [0.0f32; 3];
        let (p, r, ls, o) = merge_group(
            &[1.0, 2.0, 3.0],
            &prep,
            &[0.1, 0.2, 0.3],
            3,
            &[0],
            &mut color,
        );
        assert_eq!(p, [1.0, 2.0, 3.0]);
        assert_eq!(color, [0.1, 0.2, 0.3]);
        for k in 0..3 {
            assert!((ls[k] - l[k]).abs() < 1e-3, "{ls:?} {l:?}");
        }
        let before = covariance(q, l);
        let after = covariance(r, ls);
        for k in 0..6 {
            assert!(
                (before[k] - after[k]).abs() < 1e-4 * before[0].abs().max(1e-6),
                "{before:?} {after:?}"
            );
        }
        // Opacity: the mass is kept, so a lone splat keeps its own (up to the area formula).
        assert!((o - 0.4).abs() < 1e-3, "{o}");
    }

    #[test]
    fn two_splats_merge_to_their_moments() {
        // Two unit spheres two units apart along x, equal mass: mean between, variance along
        // x = 1 + 1 (spread), unchanged across.
        let prep = prepare([1.0, 0.0, 0.0, 0.0], [0.0; 3], 0.0);
        let prepared: Vec<f32> = prep.iter().chain(prep.iter()).copied().collect();
        let positions = [-1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let colors = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        let mut color = [0.0f32; 3];
        let (p, r, ls, _) = merge_group(&positions, &prepared, &colors, 3, &[0, 1], &mut color);
        assert!(p.iter().all(|v| v.abs() < 1e-6), "{p:?}");
        assert_eq!(color, [0.5, 0.5, 0.0]);
        let c = covariance(r, ls);
        assert!(
            (c[0] - 2.0).abs() < 1e-4 && (c[3] - 1.0).abs() < 1e-4 && (c[5] - 1.0).abs() < 1e-4,
            "{c:?}"
        );
        assert!((ls[0] - 0.5 * 2f32.ln()).abs() < 1e-4, "{ls:?}");
    }

    #[test]
    fn cost_grows_with_distance_and_colour() {
        let prep = prepare([1.0, 0.0, 0.0, 0.0], [-2.0; 3], 1.0);
        let grey = [0.5f32; 3];
        let near = merge_cost([0.0; 3], &prep, &grey, [0.01, 0.0, 0.0], &prep, &grey);
        let far = merge_cost([0.0; 3], &prep, &grey, [1.0, 0.0, 0.0], &prep, &grey);
        let red = merge_cost(
            [0.0; 3],
            &prep,
            &grey,
            [0.01, 0.0, 0.0],
            &prep,
            &[2.0, 0.0, 0.0],
        );
        assert!(
            near >= -1e-6 && near < far && near < red,
            "{near} {far} {red}"
        );
        // Symmetric.
        let back = merge_cost([1.0, 0.0, 0.0], &prep, &grey, [0.0; 3], &prep, &grey);
        assert!((far - back).abs() <= 1e-5 * far.abs(), "{far} {back}");
    }

    #[test]
    fn candidates_keep_the_cheapest_in_order() {
        // Five splats on a line; splat 0's nearest are 1, 2, 3, 4 in that order.
        let n = 5;
        let positions: Vec<f32> = (0..n)
            .flat_map(|i| [i as f32 * i as f32 * 0.1, 0.0, 0.0])
            .collect();
        let row = prepare([1.0, 0.0, 0.0, 0.0], [-1.0; 3], 0.0);
        let prepared: Vec<f32> = (0..n).flat_map(|_| row).collect();
        let colors = vec![0.5f32; n * 3];
        let mut costs = vec![0.0; n * CANDIDATES];
        let mut partners = vec![0; n * CANDIDATES];
        decimate_candidates(
            &positions,
            &prepared,
            &colors,
            3,
            8,
            &mut costs,
            &mut partners,
        );
        assert_eq!(&partners[..4], &[1, 2, 3, 4]);
        assert!(costs[..4].windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
        // The last splat has no later partner; window 1 keeps one.
        assert_eq!(&partners[16..], &[NO_PARTNER; 4]);
        assert!(costs[16..].iter().all(|c| c.is_infinite()));
        decimate_candidates(
            &positions,
            &prepared,
            &colors,
            3,
            1,
            &mut costs,
            &mut partners,
        );
        assert_eq!(&partners[..4], &[1, NO_PARTNER, NO_PARTNER, NO_PARTNER]);
    }

    #[test]
    fn quaternions_round_trip() {
        for q in [
            [1.0f32, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.5, 0.5, 0.5, 0.5],
            [0.1, -0.7, 0.2, 0.6],
        ] {
            let norm = q.iter().map(|v| v * v).sum::<f32>().sqrt();
            let unit = q.map(|v| v / norm);
            let back = quaternion(rotation_matrix(q));
            let same = unit.iter().zip(&back).all(|(a, b)| (a - b).abs() < 1e-5);
            let opposite = unit.iter().zip(&back).all(|(a, b)| (a + b).abs() < 1e-5);
            assert!(same || opposite, "{unit:?} {back:?}");
            assert!(back[0] >= 0.0);
        }
    }
}
