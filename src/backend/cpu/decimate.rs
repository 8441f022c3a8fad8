//! Decimation on the host: what `decimate_prepare`, `decimate_candidates` and
//! `decimate_merge` compute. All arithmetic is f32 in the order written here, which the WGSL
//! and CUDA kernels follow; the conformance tests allow for their transcendental functions.
//!
//! The merge cost is Runnalls' bound on the Kullback–Leibler loss of replacing two weighted
//! Gaussians by their moment-matched one (Runnalls 2007, "Kullback-Leibler approach to
//! Gaussian mixture reduction"), with the splats' masses as the weights, plus the
//! mass-weighted variance that averaging their colours adds.
//!
//! Conditioning (kernels/NOTES.md, "the WGSL decimation kernels on NVIDIA Vulkan"): nothing
//! here may depend on how a compiler rounds a cancellation, because WGSL lets a driver
//! contract `a * b + c` into a fused multiply-add. So
//! - a splat's own ln det comes from its variances (carried in the prepared row), never from
//!   a determinant of its covariance entries;
//! - the three matrices of a merge bound get one shared floor δ = [`DET_FLOOR`]·tr(Σ)/3 on
//!   their diagonals (Σ the merged covariance), which bounds their condition numbers by
//!   3/κ, and the merged ln det is taken by an LDLᵀ factorisation (backward stable for
//!   positive definite matrices) of Σ/t + κI;
//! - a merge works in the principal frame of the group's first member: each member's
//!   covariance is rotated there from its own rotation and variances (not from its world
//!   covariance entries, whose rounding is relative to the largest variance), so a group of
//!   flat splats is nearly diagonal where Jacobi is accurate for the small eigenvalues too,
//!   and a one-member group is exactly diagonal and gives its splat back.
//!
//! Every function with an `F` parameter (a mode: [`PLAIN`], [`FUSED`], [`APPROXIMATE`]) is
//! written in terms of [`madd`] and of exp / ln / sqrt in that mode; `FUSED` fuses the
//! multiply-adds (`f32::mul_add`), as a driver may, `APPROXIMATE` also moves every
//! transcendental result by up to 3 ulps, as a GPU's may, and the unit tests check that the
//! results move by less than the conformance tolerances (which allow twice the spread of the
//! reference under 4-ulp perturbations of its inputs) when they do. `PLAIN` is the reference.

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
/// κ: the relative floor δ = κ·tr(Σ)/3 added to the diagonal of every covariance entering a
/// merge bound (Σ the pair's merged covariance). A standard deviation of 1 % of the merged
/// splat's RMS radius: thinner than that, a splat renders as flat (the bound no longer
/// tells a disc from a thinner disc), while f32 covariance entries, rounded to ~1e-7 of the
/// largest variance, move the regularised eigenvalues by ≲ 3·2^-23/κ ≈ 4e-3 relative at
/// most, so the bound is backend-independent to a few 1e-3 (1e-6 would leave it at the
/// mercy of rounding; 1e-3 would blur layers 3 % of a radius apart).
pub const DET_FLOOR: f32 = 1e-4;
/// Variance ratios to the merged mean variance are capped here in a splat's regularised
/// ln det (so the product of three stays finite; reached only by a partner ~1e12 times
/// lighter, whose term is then negligible).
pub const MAX_VARIANCE_RATIO: f32 = 1e12;
/// Merged opacities are kept in [MIN_ALPHA, 1 − MIN_ALPHA] so their logits are finite.
pub const MIN_ALPHA: f32 = 1e-6;
/// Cyclic Jacobi sweeps of the 3×3 eigen-solver (converged long before on f32).
pub const JACOBI_SWEEPS: usize = 8;

/// How a function with a `const F: u8` parameter evaluates: `PLAIN` is the reference (what
/// the kernels are written as), `FUSED` fuses every multiply-add (what a driver may contract
/// them to), `APPROXIMATE` fuses them too and moves every exp, ln and sqrt result by −3 … +3
/// ulps (a hash of the argument's bits picks how many), like a GPU's approximate
/// transcendentals (NVIDIA's Vulkan driver: exp / log ~3 ulp, inverseSqrt 2 ulp).
pub const PLAIN: u8 = 0;
/// See [`PLAIN`].
pub const FUSED: u8 = 1;
/// See [`PLAIN`].
pub const APPROXIMATE: u8 = 2;

/// a·b + c: rounded twice (`PLAIN`) or fused (otherwise).
#[inline(always)]
pub fn madd<const F: u8>(a: f32, b: f32, c: f32) -> f32 {
    if F != PLAIN {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `y = f(x)` of a transcendental f as the mode `F` returns it (see [`PLAIN`]).
#[inline(always)]
fn approximate<const F: u8>(x: f32, y: f32) -> f32 {
    if F != APPROXIMATE || y == 0.0 || !y.is_finite() {
        return y;
    }
    let k = i64::from((x.to_bits().wrapping_mul(0x9E37_79B1) >> 24) % 7) - 3;
    let bits = (i64::from(y.abs().to_bits()) + k).clamp(1, i64::from(f32::MAX.to_bits()));
    f32::from_bits(bits as u32).copysign(y)
}

/// e^x in mode `F`.
#[inline(always)]
fn exp<const F: u8>(x: f32) -> f32 {
    approximate::<F>(x, x.exp())
}

/// ln x in mode `F`.
#[inline(always)]
fn ln<const F: u8>(x: f32) -> f32 {
    approximate::<F>(x, x.ln())
}

/// √x in mode `F`.
#[inline(always)]
fn sqrt<const F: u8>(x: f32) -> f32 {
    approximate::<F>(x, x.sqrt())
}

/// sigmoid(x) = 1 / (1 + e^-x).
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    sigmoid_with::<PLAIN>(x)
}

#[inline(always)]
fn sigmoid_with<const F: u8>(x: f32) -> f32 {
    1.0 / (1.0 + exp::<F>(-x))
}

/// Surface area of the ellipsoid with semi-axes e^l0, e^l1, e^l2 (Thomsen's formula,
/// 4π((a^p b^p + a^p c^p + b^p c^p) / 3)^(1/p)), evaluated from the logs with the largest
/// term factored out so that neither tiny nor huge splats overflow.
#[inline]
pub fn ellipsoid_area(l: [f32; 3]) -> f32 {
    ellipsoid_area_with::<PLAIN>(l)
}

#[inline(always)]
fn ellipsoid_area_with<const F: u8>(l: [f32; 3]) -> f32 {
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
    let sum = exp::<F>(e[0] - m) + exp::<F>(e[1] - m) + exp::<F>(e[2] - m);
    4.0 * std::f32::consts::PI * exp::<F>((m + ln::<F>(sum / 3.0)) / THOMSEN_P)
}

/// The quaternion (w, x, y, z) divided by its norm; (1, 0, 0, 0) for a zero quaternion.
#[inline]
pub fn unit_quaternion(q: [f32; 4]) -> [f32; 4] {
    unit_quaternion_with::<PLAIN>(q)
}

#[inline(always)]
fn unit_quaternion_with<const F: u8>(q: [f32; 4]) -> [f32; 4] {
    let norm = sqrt::<F>(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    if norm <= 0.0 {
        return [1.0, 0.0, 0.0, 0.0];
    }
    [q[0] / norm, q[1] / norm, q[2] / norm, q[3] / norm]
}

/// The rotation matrix (row-major) of quaternion (w, x, y, z) after normalising it; the
/// identity for a zero quaternion.
#[inline]
pub fn rotation_matrix(q: [f32; 4]) -> [f32; 9] {
    rotation_matrix_with::<PLAIN>(q)
}

#[inline(always)]
fn rotation_matrix_with<const F: u8>(q: [f32; 4]) -> [f32; 9] {
    let [w, x, y, z] = unit_quaternion_with::<F>(q);
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

/// conj(p) ⊗ q (Hamilton product): the rotation R(p)ᵀ·R(q), from q's frame into p's.
#[inline]
pub fn relative_quaternion(p: [f32; 4], q: [f32; 4]) -> [f32; 4] {
    [
        p[0] * q[0] + p[1] * q[1] + p[2] * q[2] + p[3] * q[3],
        p[0] * q[1] - p[1] * q[0] - p[2] * q[3] + p[3] * q[2],
        p[0] * q[2] + p[1] * q[3] - p[2] * q[0] - p[3] * q[1],
        p[0] * q[3] - p[1] * q[2] + p[2] * q[1] - p[3] * q[0],
    ]
}

/// Entry (a, b) of R·diag(v)·Rᵀ (R row-major): Σ_k R[a][k] v[k] R[b][k].
#[inline(always)]
fn rotated_entry<const F: u8>(r: &[f32; 9], v: [f32; 3], a: usize, b: usize) -> f32 {
    madd::<F>(
        r[a * 3 + 2] * v[2],
        r[b * 3 + 2],
        madd::<F>(
            r[a * 3 + 1] * v[1],
            r[b * 3 + 1],
            r[a * 3] * v[0] * r[b * 3],
        ),
    )
}

/// One splat's prepared row (see [`PREPARED`]).
pub fn prepare(rotation: [f32; 4], log_scale: [f32; 3], opacity: f32) -> [f32; PREPARED] {
    prepare_with::<PLAIN>(rotation, log_scale, opacity)
}

fn prepare_with<const F: u8>(
    rotation: [f32; 4],
    log_scale: [f32; 3],
    opacity: f32,
) -> [f32; PREPARED] {
    let l = [
        log_scale[0].max(MIN_LOG_SCALE),
        log_scale[1].max(MIN_LOG_SCALE),
        log_scale[2].max(MIN_LOG_SCALE),
    ];
    let mass = (sigmoid_with::<F>(opacity) * ellipsoid_area_with::<F>(l)).max(MIN_MASS);
    let q = unit_quaternion_with::<F>(rotation);
    let r = rotation_matrix_with::<F>(q);
    let v = [
        exp::<F>(2.0 * l[0]),
        exp::<F>(2.0 * l[1]),
        exp::<F>(2.0 * l[2]),
    ];
    [
        mass,
        rotated_entry::<F>(&r, v, 0, 0),
        rotated_entry::<F>(&r, v, 0, 1),
        rotated_entry::<F>(&r, v, 0, 2),
        rotated_entry::<F>(&r, v, 1, 1),
        rotated_entry::<F>(&r, v, 1, 2),
        rotated_entry::<F>(&r, v, 2, 2),
        v[0],
        v[1],
        v[2],
        q[0],
        q[1],
        q[2],
        q[3],
    ]
}

/// ln det(c/t + κI) with t = tr(c)/3, for the symmetric
/// positive semi-definite matrix with upper triangle `c` (xx, xy, xz, yy, yz, zz), by an
/// LDLᵀ factorisation (every pivot of a matrix ≥ κI is ≥ κ, so they are floored there).
/// Returns (ln det, t).
#[inline(always)]
fn regularised_log_det<const F: u8>(c: [f32; 6]) -> (f32, f32) {
    let t = ((c[0] + c[3] + c[5]) / 3.0).max(f32::MIN_POSITIVE);
    let s = [
        c[0] / t + DET_FLOOR,
        c[1] / t,
        c[2] / t,
        c[3] / t + DET_FLOOR,
        c[4] / t,
        c[5] / t + DET_FLOOR,
    ];
    let d0 = s[0];
    let (l1, l2) = (s[1] / d0, s[2] / d0);
    let d1 = madd::<F>(-s[1], l1, s[3]).max(DET_FLOOR);
    let e12 = madd::<F>(-s[1], l2, s[4]);
    let e22 = madd::<F>(-s[2], l2, s[5]);
    let d2 = madd::<F>(-e12, e12 / d1, e22).max(DET_FLOOR);
    (ln::<F>(d0 * d1 * d2), t)
}

/// ln det(Σ/t + κI) of a splat with variances `v` (Σ = R diag(v) Rᵀ).
#[inline(always)]
fn splat_log_det<const F: u8>(v: &[f32], t: f32) -> f32 {
    let f = |k: usize| (v[k] / t).min(MAX_VARIANCE_RATIO) + DET_FLOOR;
    ln::<F>(f(0) * f(1) * f(2))
}

/// What merging splats i and j loses: ½[(wᵢ + wⱼ) ln det Σ − wᵢ ln det Σᵢ − wⱼ ln det Σⱼ]
/// (Σ the moment-matched covariance, w the masses; all three matrices + δI with δ =
/// [`DET_FLOOR`]·tr(Σ)/3, which keeps the bound ≥ 0 and well-conditioned; it is floored at
/// 0 against rounding) + wᵢwⱼ/(wᵢ + wⱼ) · ‖cᵢ − cⱼ‖² over the colour rows. Symmetric up to
/// rounding; NaN inputs give NaN, which the candidate search skips.
pub fn merge_cost(
    pi: [f32; 3],
    prep_i: &[f32],
    color_i: &[f32],
    pj: [f32; 3],
    prep_j: &[f32],
    color_j: &[f32],
) -> f32 {
    merge_cost_with::<PLAIN>(pi, prep_i, color_i, pj, prep_j, color_j)
}

/// [`merge_cost`] with its multiply-adds fused (`F = true`) or not.
pub fn merge_cost_with<const F: u8>(
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
    let entry = |k: usize, x: usize, y: usize| {
        madd::<F>(ab * d[x], d[y], madd::<F>(a, prep_i[k], b * prep_j[k]))
    };
    let c = [
        entry(1, 0, 0),
        entry(2, 0, 1),
        entry(3, 0, 2),
        entry(4, 1, 1),
        entry(5, 1, 2),
        entry(6, 2, 2),
    ];
    // ln det of each matrix relative to t³ (the 3 ln t of the three cancel since a + b = 1).
    let (merged, t) = regularised_log_det::<F>(c);
    let own = madd::<F>(
        -b,
        splat_log_det::<F>(&prep_j[7..10], t),
        madd::<F>(-a, splat_log_det::<F>(&prep_i[7..10], t), merged),
    );
    let bound = 0.5 * w * own;
    // Floored at 0 (NaN stays NaN).
    let geometry = if bound < 0.0 { 0.0 } else { bound };
    let mut colour = 0.0f32;
    for (x, y) in color_i.iter().zip(color_j) {
        let e = x - y;
        colour = madd::<F>(e, e, colour);
    }
    madd::<F>(wi * wj / w, colour, geometry)
}

/// Eigen-decomposition of a symmetric 3×3 matrix (row-major, `a` overwritten) by cyclic
/// Jacobi rotations: returns the eigenvalues (the diagonal) and the eigenvectors as the
/// columns of a row-major matrix.
pub fn jacobi_eigen(a: [f32; 9]) -> ([f32; 3], [f32; 9]) {
    jacobi_eigen_with::<PLAIN>(a)
}

fn jacobi_eigen_with<const F: u8>(mut a: [f32; 9]) -> ([f32; 3], [f32; 9]) {
    let mut v = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    for _ in 0..JACOBI_SWEEPS {
        for (p, q) in [(0usize, 1usize), (0, 2), (1, 2)] {
            let apq = a[p * 3 + q];
            let (app, aqq) = (a[p * 3 + p], a[q * 3 + q]);
            if apq.abs() <= 1e-9 * app.abs().max(aqq.abs()) || apq == 0.0 {
                continue;
            }
            let theta = (aqq - app) / (2.0 * apq);
            let t = theta.signum() / (theta.abs() + sqrt::<F>(madd::<F>(theta, theta, 1.0)));
            let c = 1.0 / sqrt::<F>(madd::<F>(t, t, 1.0));
            let s = t * c;
            // A ← Jᵀ A J with J the rotation in the (p, q) plane.
            for k in 0..3 {
                let (akp, akq) = (a[k * 3 + p], a[k * 3 + q]);
                a[k * 3 + p] = madd::<F>(c, akp, -(s * akq));
                a[k * 3 + q] = madd::<F>(s, akp, c * akq);
            }
            for k in 0..3 {
                let (apk, aqk) = (a[p * 3 + k], a[q * 3 + k]);
                a[p * 3 + k] = madd::<F>(c, apk, -(s * aqk));
                a[q * 3 + k] = madd::<F>(s, apk, c * aqk);
            }
            for k in 0..3 {
                let (vkp, vkq) = (v[k * 3 + p], v[k * 3 + q]);
                v[k * 3 + p] = madd::<F>(c, vkp, -(s * vkq));
                v[k * 3 + q] = madd::<F>(s, vkp, c * vkq);
            }
        }
    }
    ([a[0], a[4], a[8]], v)
}

/// The unit quaternion (w, x, y, z), w ≥ 0, of a proper rotation matrix (row-major).
pub fn quaternion(r: [f32; 9]) -> [f32; 4] {
    quaternion_with::<PLAIN>(r)
}

fn quaternion_with<const F: u8>(r: [f32; 9]) -> [f32; 4] {
    let trace = r[0] + r[4] + r[8];
    let q = if trace > 0.0 {
        let s = sqrt::<F>(trace + 1.0) * 2.0;
        [
            0.25 * s,
            (r[7] - r[5]) / s,
            (r[2] - r[6]) / s,
            (r[3] - r[1]) / s,
        ]
    } else if r[0] > r[4] && r[0] > r[8] {
        let s = sqrt::<F>(1.0 + r[0] - r[4] - r[8]) * 2.0;
        [
            (r[7] - r[5]) / s,
            0.25 * s,
            (r[1] + r[3]) / s,
            (r[2] + r[6]) / s,
        ]
    } else if r[4] > r[8] {
        let s = sqrt::<F>(1.0 + r[4] - r[0] - r[8]) * 2.0;
        [
            (r[2] - r[6]) / s,
            (r[1] + r[3]) / s,
            0.25 * s,
            (r[5] + r[7]) / s,
        ]
    } else {
        let s = sqrt::<F>(1.0 + r[8] - r[0] - r[4]) * 2.0;
        [
            (r[3] - r[1]) / s,
            (r[2] + r[6]) / s,
            (r[5] + r[7]) / s,
            0.25 * s,
        ]
    };
    let norm = sqrt::<F>(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    let sign = if q[0] < 0.0 { -1.0 } else { 1.0 };
    [
        sign * q[0] / norm,
        sign * q[1] / norm,
        sign * q[2] / norm,
        sign * q[3] / norm,
    ]
}

/// One merged splat: (position, rotation, log scales, opacity logit), colour into `color`.
/// `members` index rows of the columns; indices ≥ n are skipped. The covariance is
/// accumulated in the principal frame of the first valid member (its rotation R₀): member m
/// contributes Q diag(vₘ) Qᵀ with Q = R₀ᵀRₘ from the two quaternions (the identity for the
/// first member itself), and its offset from the mean rotated by R₀ᵀ.
pub fn merge_group(
    positions: &[f32],
    prepared: &[f32],
    colors: &[f32],
    dim: usize,
    members: &[u32],
    color: &mut [f32],
) -> ([f32; 3], [f32; 4], [f32; 3], f32) {
    merge_group_with::<PLAIN>(positions, prepared, colors, dim, members, color)
}

/// [`merge_group`] with its multiply-adds fused (`F = true`) or not.
pub fn merge_group_with<const F: u8>(
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
    let quat = |m: usize| {
        let row = &prepared[m * PREPARED..(m + 1) * PREPARED];
        [row[10], row[11], row[12], row[13]]
    };
    let q0 = quat(first);
    let r0 = rotation_matrix_with::<F>(q0);
    let mut total = 0.0f32;
    for m in valid() {
        total += prepared[m * PREPARED];
    }
    // Mean, relative to the first member (keeps precision far from the origin).
    let mut mean = [0.0f32; 3];
    for m in valid() {
        let p = prepared[m * PREPARED] / total;
        for k in 0..3 {
            mean[k] = madd::<F>(p, positions[m * 3 + k] - origin[k], mean[k]);
        }
    }
    // Covariance in the first member's frame (xx, xy, xz, yy, yz, zz).
    let mut c = [0.0f32; 6];
    for m in valid() {
        let row = &prepared[m * PREPARED..(m + 1) * PREPARED];
        let p = row[0] / total;
        let d = [
            positions[m * 3] - origin[0] - mean[0],
            positions[m * 3 + 1] - origin[1] - mean[1],
            positions[m * 3 + 2] - origin[2] - mean[2],
        ];
        // R₀ᵀ d.
        let e =
            [0, 1, 2].map(|a| madd::<F>(r0[6 + a], d[2], madd::<F>(r0[3 + a], d[1], r0[a] * d[0])));
        let v = [row[7], row[8], row[9]];
        let own = if m == first {
            [v[0], 0.0, 0.0, v[1], 0.0, v[2]]
        } else {
            let q = rotation_matrix_with::<F>(relative_quaternion(q0, quat(m)));
            [
                rotated_entry::<F>(&q, v, 0, 0),
                rotated_entry::<F>(&q, v, 0, 1),
                rotated_entry::<F>(&q, v, 0, 2),
                rotated_entry::<F>(&q, v, 1, 1),
                rotated_entry::<F>(&q, v, 1, 2),
                rotated_entry::<F>(&q, v, 2, 2),
            ]
        };
        for (k, (x, y)) in [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
            .into_iter()
            .enumerate()
        {
            c[k] = madd::<F>(p, madd::<F>(e[x], e[y], own[k]), c[k]);
        }
        for (o, v) in color.iter_mut().zip(&colors[m * dim..(m + 1) * dim]) {
            *o = madd::<F>(p, *v, *o);
        }
    }
    // Eigen-decompose Σ / t (t the mean diagonal) so the solver works on O(1) values.
    let t = ((c[0] + c[3] + c[5]) / 3.0).max(f32::MIN_POSITIVE);
    let (values, vectors) = jacobi_eigen_with::<F>([
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
    let mut u = [0.0f32; 9];
    for (col, &axis) in order.iter().enumerate() {
        for row in 0..3 {
            u[row * 3 + col] = vectors[row * 3 + axis];
        }
    }
    let det = u[0] * (u[4] * u[8] - u[5] * u[7]) - u[1] * (u[3] * u[8] - u[5] * u[6])
        + u[2] * (u[3] * u[7] - u[4] * u[6]);
    if det < 0.0 {
        u[2] = -u[2];
        u[5] = -u[5];
        u[8] = -u[8];
    }
    // Back to the world frame: R = R₀·U.
    let mut r = [0.0f32; 9];
    for row in 0..3 {
        for col in 0..3 {
            r[row * 3 + col] = madd::<F>(
                r0[row * 3 + 2],
                u[6 + col],
                madd::<F>(r0[row * 3 + 1], u[3 + col], r0[row * 3] * u[col]),
            );
        }
    }
    let log_scale =
        order.map(|axis| (0.5 * ln::<F>((values[axis] * t).max(1e-30))).max(MIN_LOG_SCALE));
    let alpha = (total / ellipsoid_area_with::<F>(log_scale)).clamp(MIN_ALPHA, 1.0 - MIN_ALPHA);
    let position = [
        origin[0] + mean[0],
        origin[1] + mean[1],
        origin[2] + mean[2],
    ];
    (
        position,
        quaternion_with::<F>(r),
        log_scale,
        ln::<F>(alpha / (1.0 - alpha)),
    )
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
    use crate::encode::rng::Rng;

    /// The merge cost as it was before session 7 (ln det of the merged covariance by cofactor
    /// expansion of Σ/t floored at 1e-30, each splat's ln det as 2·Σ log scale), with its
    /// multiply-adds fused or not: what the NVIDIA driver's contractions moved.
    fn old_cost<const F: u8>(
        pi: [f32; 3],
        li: [f32; 3],
        prep_i: &[f32],
        pj: [f32; 3],
        lj: [f32; 3],
        prep_j: &[f32],
    ) -> f32 {
        let (wi, wj) = (prep_i[0], prep_j[0]);
        let w = wi + wj;
        let (a, b) = (wi / w, wj / w);
        let d = [pi[0] - pj[0], pi[1] - pj[1], pi[2] - pj[2]];
        let ab = a * b;
        let e = |k: usize, x: usize, y: usize| {
            madd::<F>(ab * d[x], d[y], madd::<F>(a, prep_i[k], b * prep_j[k]))
        };
        let c = [
            e(1, 0, 0),
            e(2, 0, 1),
            e(3, 0, 2),
            e(4, 1, 1),
            e(5, 1, 2),
            e(6, 2, 2),
        ];
        let t = ((c[0] + c[3] + c[5]) / 3.0).max(f32::MIN_POSITIVE);
        let s = c.map(|x| x / t);
        let m = |x: f32, y: f32, z: f32| madd::<F>(x, y, -z);
        let det = madd::<F>(
            s[2],
            m(s[1], s[4], s[3] * s[2]),
            madd::<F>(
                s[0],
                m(s[3], s[5], s[4] * s[4]),
                -(s[1] * m(s[1], s[5], s[4] * s[2])),
            ),
        );
        let log_det = 3.0 * t.ln() + det.max(1e-30).ln();
        let own = |l: [f32; 3]| 2.0 * (l[0] + l[1] + l[2]);
        0.5 * (w * log_det - wi * own(li) - wj * own(lj))
    }

    /// Random rotation (unit quaternion) and a flat splat's log scales with variance ratio
    /// `ratio` between its largest and smallest axes.
    fn flat_splat(rng: &mut Rng, ratio: f32) -> ([f32; 4], [f32; 3]) {
        let q = [rng.signed(), rng.signed(), rng.signed(), rng.signed()];
        let big = (rng.uniform() * 4.0 - 3.0) as f32;
        let l = [
            big,
            big - 0.5 * rng.uniform() as f32,
            big - 0.5 * ratio.ln(),
        ];
        (unit_quaternion(q), l)
    }

    /// q turned by `angle` about a random axis.
    fn turned(rng: &mut Rng, q: [f32; 4], angle: f32) -> [f32; 4] {
        let u = loop {
            let v = [rng.signed(), rng.signed(), rng.signed()];
            let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            if norm > 0.1 && norm <= 1.0 {
                break v.map(|x| x / norm);
            }
        };
        let (s, c) = (0.5 * angle).sin_cos();
        // r(u, angle) ⊗ q = conj(conj(r)) ⊗ q.
        relative_quaternion([c, -s * u[0], -s * u[1], -s * u[2]], q)
    }

    /// Pairs of near-flat splats (variance ratios 1e5–1e7) at angles 0 … 90° and offsets of
    /// 0 … 10 % of their size, prepared and costed with the multiply-adds fused and not.
    /// Returns, per pair, (new cost, new fused cost, old cost, old fused cost, ½w).
    fn flat_pair_costs() -> Vec<[f32; 5]> {
        let mut rng = Rng::new(77);
        let mut out = Vec::new();
        for ratio in [1e5f32, 1e6, 1e7] {
            for angle in [0.0f32, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 1.5707964] {
                for offset in [0.0f32, 1e-3, 1e-2, 1e-1] {
                    for _ in 0..20 {
                        let (qi, li) = flat_splat(&mut rng, ratio);
                        let qj = turned(&mut rng, qi, angle);
                        let lj = [
                            li[0],
                            li[1] + 0.1 * rng.signed(),
                            li[2] + 0.3 * rng.signed(),
                        ];
                        let pi = [rng.signed() * 5.0, rng.signed() * 5.0, rng.signed() * 5.0];
                        let step = offset * li[0].exp();
                        let pj = [pi[0] + step, pi[1] - 0.5 * step, pi[2] + 0.25 * step];
                        let (oi, oj) = (rng.signed() * 4.0, rng.signed() * 4.0);
                        let (a, b) = (
                            prepare_with::<PLAIN>(qi, li, oi),
                            prepare_with::<PLAIN>(qj, lj, oj),
                        );
                        let (af, bf) = (
                            prepare_with::<FUSED>(qi, li, oi),
                            prepare_with::<FUSED>(qj, lj, oj),
                        );
                        let none: &[f32] = &[];
                        out.push([
                            merge_cost_with::<PLAIN>(pi, &a, none, pj, &b, none),
                            merge_cost_with::<FUSED>(pi, &af, none, pj, &bf, none),
                            old_cost::<PLAIN>(pi, li, &a, pj, lj, &b),
                            old_cost::<FUSED>(pi, li, &af, pj, lj, &bf),
                            0.5 * (a[0] + b[0]),
                        ]);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn fused_multiply_adds_barely_move_flat_pair_costs() {
        // The new bound moves by < 1 % of ½w (ln det units) when every multiply-add is fused,
        // in prepare and in the cost: the conformance tolerance's a-priori bound covers it.
        // The old formulation moved by whole units of ln det on the same pairs.
        let costs = flat_pair_costs();
        let (mut new_worst, mut old_worst) = (0f32, 0f32);
        for [new, new_fused, old, old_fused, half_w] in costs {
            assert!(
                new >= 0.0 && new.is_finite() && new_fused >= 0.0,
                "{new} {new_fused}"
            );
            new_worst = new_worst.max((new - new_fused).abs() / half_w);
            old_worst = old_worst.max((old - old_fused).abs() / half_w);
        }
        eprintln!(
            "fused multiply-adds move flat-pair costs by at most {new_worst:.2e}·½w (before: {old_worst:.2e}·½w)"
        );
        assert!(new_worst < 1e-2, "{new_worst}");
        assert!(old_worst > 10.0 * new_worst, "{old_worst} {new_worst}");
    }

    #[test]
    fn fused_multiply_adds_barely_move_flat_merges() {
        // One-member groups and pairs of near-flat splats: log scales (small axes included)
        // and opacity logits move by < 1e-4 when every multiply-add is fused.
        let mut rng = Rng::new(78);
        let (mut ls_worst, mut o_worst) = (0f32, 0f32);
        for ratio in [1e5f32, 1e6, 1e7] {
            for angle in [0.0f32, 1e-3, 1e-2, 0.1, 1.0] {
                for _ in 0..20 {
                    let (qi, li) = flat_splat(&mut rng, ratio);
                    let qj = turned(&mut rng, qi, angle);
                    let lj = [li[0] - 0.2, li[1], li[2] + 0.1];
                    let (oi, oj) = (rng.signed() * 4.0, rng.signed() * 4.0);
                    let step = 0.01 * li[0].exp();
                    let positions = [1.0, 2.0, 3.0, 1.0 + step, 2.0, 3.0 - step];
                    let colors = [0.5f32; 6];
                    let mut color = [0.0f32; 3];
                    let rows = |fused: bool| -> Vec<f32> {
                        let (a, b) = if fused {
                            (
                                prepare_with::<FUSED>(qi, li, oi),
                                prepare_with::<FUSED>(qj, lj, oj),
                            )
                        } else {
                            (
                                prepare_with::<PLAIN>(qi, li, oi),
                                prepare_with::<PLAIN>(qj, lj, oj),
                            )
                        };
                        a.iter().chain(b.iter()).copied().collect()
                    };
                    let (plain, fused) = (rows(false), rows(true));
                    for group in [&[0u32][..], &[1], &[0, 1]] {
                        let (_, _, l, o) = merge_group_with::<PLAIN>(
                            &positions, &plain, &colors, 3, group, &mut color,
                        );
                        let (_, _, lf, of) = merge_group_with::<FUSED>(
                            &positions, &fused, &colors, 3, group, &mut color,
                        );
                        for k in 0..3 {
                            assert!(l[k].is_finite() && lf[k].is_finite());
                            ls_worst = ls_worst.max((l[k] - lf[k]).abs());
                        }
                        o_worst = o_worst.max((o - of).abs());
                    }
                    // A one-member group gives its splat back (log scales sorted).
                    let (_, r, l, o) =
                        merge_group_with::<PLAIN>(&positions, &plain, &colors, 3, &[0], &mut color);
                    let mut sorted = li;
                    sorted.sort_by(|x, y| y.total_cmp(x));
                    for k in 0..3 {
                        assert!((l[k] - sorted[k]).abs() < 1e-5, "{l:?} {li:?}");
                    }
                    let same = (0..4).all(|k| (r[k] - qi[k]).abs() < 1e-5);
                    let opposite = (0..4).all(|k| (r[k] + qi[k]).abs() < 1e-5);
                    assert!(same || opposite, "{r:?} {qi:?}");
                    assert!((o - oi).abs() < 1e-3 * (1.0 + oi.abs()), "{o} {oi}");
                }
            }
        }
        eprintln!(
            "fused multiply-adds move flat merges by at most {ls_worst:.2e} in log scale, {o_worst:.2e} in opacity logit"
        );
        assert!(ls_worst < 1e-4 && o_worst < 1e-4, "{ls_worst} {o_worst}");
    }

    /// `x` moved by `k` ulps (as `tests/conformance.rs`'s `ulp_step`).
    fn ulp_step(x: f32, k: i32) -> f32 {
        if x == 0.0 || !x.is_finite() {
            return x;
        }
        let k = if x < 0.0 { -k } else { k };
        let bits = (i64::from(x.abs().to_bits()) + i64::from(k))
            .clamp(1, i64::from(f32::MAX.to_bits())) as u32;
        f32::from_bits(bits).copysign(x)
    }

    /// The conformance tests' perturbations of a run of values: every value by ±4 ulps,
    /// signs all +, all −, alternating (two phases) or seeded random (two seeds).
    fn perturbations(values: &[f32]) -> Vec<Vec<f32>> {
        (0..6)
            .map(|pattern| {
                let mut rng = Rng::new(pattern as u64);
                values
                    .iter()
                    .enumerate()
                    .map(|(c, &x)| {
                        let sign = match pattern {
                            0 => 1,
                            1 => -1,
                            2 => 1 - 2 * (c % 2) as i32,
                            3 => 2 * (c % 2) as i32 - 1,
                            _ => 1 - 2 * rng.below(2) as i32,
                        };
                        ulp_step(x, 4 * sign)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn approximate_transcendentals_stay_within_the_perturbation_tolerance() {
        // NVIDIA-like arithmetic (every multiply-add fused, every exp / ln / sqrt off by up
        // to 3 ulps, in prepare, cost and merge) against the reference, on pairs and groups
        // of near-flat splats: each difference within the conformance tolerance's
        // perturbation term, twice the reference's spread under 4-ulp perturbations of its
        // inputs (plus 1e-4 of ½w for costs, 1e-4 in log scale, 1e-4·α + 1e-6 in α).
        let mut rng = Rng::new(79);
        let (mut cost_worst, mut scale_worst, mut alpha_worst) = (0f64, 0f64, 0f64);
        let none: &[f32] = &[];
        for ratio in [1e5f32, 1e6, 1e7] {
            for angle in [0.0f32, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 1.5707964] {
                for _ in 0..10 {
                    let (qi, li) = flat_splat(&mut rng, ratio);
                    let qj = turned(&mut rng, qi, angle);
                    let lj = [
                        li[0],
                        li[1] + 0.1 * rng.signed(),
                        li[2] + 0.3 * rng.signed(),
                    ];
                    let (oi, oj) = (rng.signed() * 4.0, rng.signed() * 4.0);
                    let step = 0.01 * li[0].exp();
                    let d = [step, -0.5 * step, 0.25 * step];
                    let (a, b) = (
                        prepare_with::<PLAIN>(qi, li, oi),
                        prepare_with::<PLAIN>(qj, lj, oj),
                    );
                    let (aa, ba) = (
                        prepare_with::<APPROXIMATE>(qi, li, oi),
                        prepare_with::<APPROXIMATE>(qj, lj, oj),
                    );
                    // Costs.
                    let plain =
                        f64::from(merge_cost_with::<PLAIN>(d, &a, none, [0.0; 3], &b, none));
                    let approx = f64::from(merge_cost_with::<APPROXIMATE>(
                        d, &aa, none, [0.0; 3], &ba, none,
                    ));
                    let inputs: Vec<f32> = d.iter().chain(&a).chain(&b).copied().collect();
                    let spread = perturbations(&inputs)
                        .iter()
                        .map(|v| {
                            let c = merge_cost_with::<PLAIN>(
                                [v[0], v[1], v[2]],
                                &v[3..3 + PREPARED],
                                none,
                                [0.0; 3],
                                &v[3 + PREPARED..],
                                none,
                            );
                            (f64::from(c) - plain).abs()
                        })
                        .fold(0.0, f64::max);
                    let allowed = 2.0 * spread + 1e-4 * 0.5 * f64::from(a[0] + b[0]);
                    cost_worst = cost_worst.max((approx - plain).abs() / allowed);
                    // Merges of each splat alone and of the pair.
                    let positions = [0.0, 0.0, 0.0, d[0], d[1], d[2]];
                    let colors = [0.5f32; 6];
                    let mut color = [0.0f32; 3];
                    let rows: Vec<f32> = a.iter().chain(&b).copied().collect();
                    let rows_approx: Vec<f32> = aa.iter().chain(&ba).copied().collect();
                    let sigmoid = |x: f32| 1.0 / (1.0 + (-f64::from(x)).exp());
                    for group in [&[0u32][..], &[1], &[0, 1]] {
                        let merge = |positions: &[f32], rows: &[f32], color: &mut [f32]| {
                            merge_group_with::<PLAIN>(positions, rows, &colors, 3, group, color)
                        };
                        let (_, _, l, o) = merge(&positions, &rows, &mut color);
                        let (_, _, la, oa) = merge_group_with::<APPROXIMATE>(
                            &positions,
                            &rows_approx,
                            &colors,
                            3,
                            group,
                            &mut color,
                        );
                        let inputs: Vec<f32> = positions.iter().chain(&rows).copied().collect();
                        let (mut ls, mut alpha) = ([0f64; 3], 0f64);
                        for v in perturbations(&inputs) {
                            let (_, _, lp, op) = merge(&v[..6], &v[6..], &mut color);
                            for k in 0..3 {
                                ls[k] = ls[k].max(f64::from(lp[k] - l[k]).abs());
                            }
                            alpha = alpha.max((sigmoid(op) - sigmoid(o)).abs());
                        }
                        for k in 0..3 {
                            let allowed = 2.0 * ls[k] + 1e-4;
                            scale_worst = scale_worst.max(f64::from(la[k] - l[k]).abs() / allowed);
                        }
                        let allowed = 2.0 * alpha + 1e-4 * sigmoid(o) + 1e-6;
                        alpha_worst = alpha_worst.max((sigmoid(oa) - sigmoid(o)).abs() / allowed);
                    }
                }
            }
        }
        eprintln!(
            "approximate transcendentals + fused multiply-adds, as fractions of the perturbation-aware tolerance: costs {cost_worst:.3}, log scales {scale_worst:.3}, α {alpha_worst:.3}"
        );
        assert!(
            cost_worst <= 1.0 && scale_worst <= 1.0 && alpha_worst <= 1.0,
            "{cost_worst} {scale_worst} {alpha_worst}"
        );
    }

    #[test]
    fn singular_splats_stay_finite() {
        // Zero (and −∞, NaN) scales, zero quaternions, a lone splat, coincident pairs.
        let cases = [
            ([0.0f32; 4], [f32::NEG_INFINITY; 3]),
            ([1.0, 0.0, 0.0, 0.0], [-40.0, -40.0, -40.0]),
            ([0.3, 0.1, -0.2, 0.9], [0.0, -50.0, -60.0]),
            ([0.3, 0.1, -0.2, 0.9], [2.0, 2.0, -34.5]),
        ];
        for (qa, la) in cases {
            for (qb, lb) in cases {
                let a = prepare(qa, la, 0.0);
                let b = prepare(qb, lb, 3.0);
                assert!(a.iter().all(|v| v.is_finite()), "{a:?}");
                for d in [0.0f32, 1e-20, 1.0] {
                    let cost = merge_cost([0.0; 3], &a, &[0.5; 3], [d, 0.0, 0.0], &b, &[0.4; 3]);
                    assert!(cost.is_finite() && cost >= 0.0, "{cost} {la:?} {lb:?} {d}");
                    let prepared: Vec<f32> = a.iter().chain(b.iter()).copied().collect();
                    let positions = [0.0, 0.0, 0.0, d, 0.0, 0.0];
                    let mut color = [0.0f32; 3];
                    for group in [&[0u32][..], &[1], &[0, 1], &[1, 1]] {
                        let (p, r, l, o) =
                            merge_group(&positions, &prepared, &[0.5; 6], 3, group, &mut color);
                        let all = p.iter().chain(&r).chain(&l).chain([&o]);
                        assert!(all.clone().all(|v| v.is_finite()), "{p:?} {r:?} {l:?} {o}");
                    }
                }
            }
        }
    }

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
