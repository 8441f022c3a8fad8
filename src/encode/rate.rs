//! Rate–distortion: spending the error margin (issue 15).
//!
//! splat-transform truncates positions, quaternion bytes and the opacity byte; we round
//! (`quantize`), which halves the RMS error (step/√12 against step/√3). [`Quality::Max`] keeps
//! that margin. The other settings spend it on size: a texel's code may move to the *even*
//! code among the two that bracket its value (never more than one step from the value), so
//! that whole regions of a texture hold only even bytes and lossless WebP spends one bit less
//! per channel on them. Which regions is chosen under a budget: the total squared error of
//! each attribute, measured as `eval` measures it (world-space position distance, rotation
//! angle in degrees, opacity as alpha), may grow from ours towards splat-transform's, which we
//! compute exactly from its truncating formulas (`sog-format.md` §3.4) on the same values.
//!
//! The choice is made per [`BLOCK`]×[`BLOCK`] block of the texture grid (per block and axis for
//! positions), not per texel: a block of even codes keeps its predictor residuals even,
//! scattered even texels would not. Blocks whose even codes cost the most extra error go back
//! to the rounded codes first, until the attribute is within its budget.
//!
//! Equal RMSE is not equal render quality: splat-transform's truncation errors carry a common
//! bias, which shows less than independent errors of the same RMS. Rotations, the attribute
//! where that showed (fox), get a second budget on a render-weighted error
//! ([`rotation_impact`], [`ROTATION_RENDER_SHARE`]), and their blocks return to the rounded
//! codes in order of that weighted error.

use rayon::prelude::*;

use super::quantize::{Means, opacity_byte, symlog};

/// How much of the error margin over splat-transform the encoder spends on smaller files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quality {
    /// Every code rounded to nearest: half splat-transform's RMS error on positions, rotations
    /// and opacity (the default: the best quality at splat-transform's size or smaller).
    #[default]
    Max,
    /// Half of the margin spent: errors midway between `Max` and splat-transform's.
    Balanced,
    /// Nearly all of the margin spent ([`SMALL_SHARE`]): per-attribute errors just under
    /// splat-transform's, smallest files.
    Small,
}

/// Share of the margin `Quality::Small` spends: under 1 so that float differences between our
/// error sums and a decoder's cannot push an attribute over splat-transform's error.
pub const SMALL_SHARE: f64 = 0.95;

impl Quality {
    /// The share of the margin (0 to 1) between our rounded error and splat-transform's that
    /// the encoder may spend, per attribute.
    pub fn share(self) -> f64 {
        match self {
            Quality::Max => 0.0,
            Quality::Balanced => 0.5,
            Quality::Small => SMALL_SHARE,
        }
    }
}

/// Share of the *render-weighted* rotation margin spent, relative to the attribute's share.
/// A rotation error shows in proportion to how visible and how elongated a splat is
/// ([`rotation_impact`]); splat-transform's truncation errors are partly a common bias, which
/// shows less than the same RMS of independent errors, so spending the whole unweighted margin
/// renders worse than splat-transform on some scenes (fox: 50.14 dB against 50.48 dB; at 0.5 of
/// it 50.39 dB, at 0.25 50.60 dB).
pub const ROTATION_RENDER_SHARE: f64 = 0.25;

/// How much a rotation error of a splat shows in a render: opacity times the squared spread
/// of its axes (σ_max − σ_min)², σ = exp(log-scale); an isotropic splat looks the same at
/// every rotation.
pub fn rotation_impact(log_scales: &[[f32; 3]], logits: &[f32]) -> Vec<f64> {
    log_scales
        .par_iter()
        .zip(logits.par_iter())
        .with_min_len(4096)
        .map(|(s, &l)| {
            let sigma = s.map(|v| f64::from(v).exp());
            let spread = sigma.iter().copied().fold(f64::MIN, f64::max)
                - sigma.iter().copied().fold(f64::MAX, f64::min);
            let alpha = 1.0 / (1.0 + (-f64::from(l)).exp());
            let w = alpha * spread * spread;
            if w.is_finite() { w } else { 0.0 }
        })
        .collect()
}

/// Side, in texels, of the blocks that are coarsened or kept whole. A multiple of the tile
/// sizes lossless WebP uses for its predictor and entropy images at the usual efforts (8–16).
pub const BLOCK: usize = 16;

/// Per texel and channel, the squared error of the rounded ("fine") code and of the even
/// ("coarse") code, plus splat-transform's squared error summed over the grid: one attribute.
/// A channel is a part of the code chosen on its own (a position axis); entries are
/// channel-minor: texel i, channel c at `i * channels + c`.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    /// Channels per texel.
    pub channels: usize,
    /// Squared error of the code we write today.
    pub fine: Vec<f64>,
    /// Squared error of the even code.
    pub coarse: Vec<f64>,
    /// Sum over texels of splat-transform's squared error.
    pub theirs: f64,
    /// splat-transform's squared error per entry (only needed with `weight`).
    pub theirs_each: Vec<f64>,
    /// Optional render weights per entry (empty: none): a second budget holds the weighted
    /// sums, and units return to the fine codes in order of weighted extra error.
    pub weight: Vec<f64>,
    /// Share of the weighted margin that may be spent (with `weight`).
    pub weighted_share: f64,
}

/// The error budget of an attribute: ours plus `share` of the margin to splat-transform's
/// (never below ours: where splat-transform is as good, nothing is spent).
pub fn budget(fine: f64, theirs: f64, share: f64) -> f64 {
    fine + share.clamp(0.0, 1.0) * (theirs - fine).max(0.0)
}

/// Least share of the units that must take coarse codes for any to: a texture where a few
/// blocks hold even codes among many that do not was measured to grow (fox opacity: 30 % of
/// the blocks even made sh0.webp 1.2 % larger).
pub const MIN_COARSE_UNITS: f64 = 0.5;

/// Which entries take the coarse code. A unit is one channel of one [`BLOCK`]×[`BLOCK`] block:
/// every unit starts coarse, then units return to the fine codes, largest extra error first
/// (ties by unit index), until the total is within `budget`. If fewer than
/// [`MIN_COARSE_UNITS`] of the units stay coarse, none do. `width` is the grid width; texel i
/// sits at (i mod width, i / width). Indexed as [`Errors::fine`].
pub fn choose(width: usize, errors: &Errors, budget: f64) -> Vec<bool> {
    choose_weighted(width, errors, budget, f64::INFINITY)
}

/// [`choose`] with a second budget on the weighted sum ([`Errors::weight`]): units return to
/// the fine codes largest weighted extra first, until both sums are within their budgets.
pub fn choose_weighted(
    width: usize,
    errors: &Errors,
    budget: f64,
    weighted_budget: f64,
) -> Vec<bool> {
    let weighted = !errors.weight.is_empty();
    if weighted {
        assert_eq!(
            errors.weight.len(),
            errors.fine.len(),
            "one weight per entry"
        );
    }
    let w = |e: usize| if weighted { errors.weight[e] } else { 1.0 };
    let channels = errors.channels.max(1);
    let len = errors.fine.len();
    assert_eq!(errors.coarse.len(), len, "one coarse error per fine one");
    assert_eq!(len % channels, 0, "whole texels");
    assert!(width > 0, "grid width");
    let n = len / channels;
    let blocks_x = width.div_ceil(BLOCK);
    let unit_of = |e: usize| {
        let (i, c) = (e / channels, e % channels);
        ((i / width / BLOCK) * blocks_x + (i % width) / BLOCK) * channels + c
    };
    let units = if n == 0 {
        0
    } else {
        ((n - 1) / width / BLOCK + 1) * blocks_x * channels
    };
    let mut extra = vec![0.0f64; units];
    let mut extra_w = vec![0.0f64; units];
    let mut present = vec![false; units];
    let (mut total, mut total_w) = (0.0, 0.0);
    for e in 0..len {
        let coarse = errors.coarse[e].max(errors.fine[e]);
        extra[unit_of(e)] += coarse - errors.fine[e];
        extra_w[unit_of(e)] += (coarse - errors.fine[e]) * w(e);
        present[unit_of(e)] = true;
        total += coarse;
        total_w += coarse * w(e);
    }
    let mut keep_fine = vec![false; units];
    if total > budget || total_w > weighted_budget {
        let key = if weighted { &extra_w } else { &extra };
        let mut worst: Vec<usize> = (0..units).filter(|&u| present[u]).collect();
        worst.sort_by(|&a, &b| key[b].total_cmp(&key[a]).then(a.cmp(&b)));
        for u in worst {
            if total <= budget && total_w <= weighted_budget {
                break;
            }
            keep_fine[u] = true;
            total -= extra[u];
            total_w -= extra_w[u];
        }
    }
    let used = present.iter().filter(|&&p| p).count();
    let coarse_units = (0..units).filter(|&u| present[u] && !keep_fine[u]).count();
    if (coarse_units as f64) < MIN_COARSE_UNITS * used as f64 {
        return vec![false; len];
    }
    (0..len).map(|e| !keep_fine[unit_of(e)]).collect()
}

/// Nearest even integer to `t` within [0, `max_even`], and so never more than one step from
/// `t` when `t` lies in [0, max_even + 1].
fn nearest_even(t: f64, max_even: f64) -> f64 {
    ((t / 2.0).round() * 2.0).clamp(0.0, max_even)
}

/// Engine position decode of one axis (sog-format.md §5.2), f64.
fn decode_axis(q: f64, min: f64, max: f64) -> f64 {
    let t = q / 65535.0;
    let n = min * (1.0 - t) + max * t;
    n.signum() * (n.abs().exp() - 1.0)
}

/// Spends `share` of the position margin: moves whole blocks of 16-bit codes to even codes.
/// `positions` are the splats in texel order, `means` their rounded codes (changed in place).
/// Returns the squared-error sums (ours before, splat-transform's, ours after).
pub fn spend_means(
    positions: &[[f32; 3]],
    means: &mut Means,
    width: usize,
    share: f64,
) -> (f64, f64, f64) {
    let range: [f64; 3] = std::array::from_fn(|a| means.maxs[a] - means.mins[a]);
    // Per texel: (fine, coarse, theirs) squared world-space distance, and the coarse codes.
    let per_texel: Vec<([[f64; 3]; 3], [u16; 3])> = positions
        .par_iter()
        .zip(means.codes.par_iter())
        .with_min_len(4096)
        .map(|(p, fine_code)| {
            // [fine, coarse, theirs] per axis.
            let mut e = [[0.0f64; 3]; 3];
            let mut coarse_code = *fine_code;
            for a in 0..3 {
                let v = f64::from(p[a]);
                if range[a] <= 0.0 || !v.is_finite() {
                    continue;
                }
                let (min, max) = (means.mins[a], means.maxs[a]);
                let t = 65535.0 * (symlog(p[a]) - min) / range[a];
                let st = t.clamp(0.0, 65535.0).trunc();
                let coarse = nearest_even(t, 65534.0);
                coarse_code[a] = coarse as u16;
                let err = |q: f64| (decode_axis(q, min, max) - v).powi(2);
                e[0][a] = err(f64::from(fine_code[a]));
                e[1][a] = err(coarse);
                e[2][a] = err(st);
            }
            (e, coarse_code)
        })
        .collect();
    let errors = Errors {
        channels: 3,
        fine: per_texel.iter().flat_map(|(e, _)| e[0]).collect(),
        coarse: per_texel.iter().flat_map(|(e, _)| e[1]).collect(),
        theirs: per_texel
            .iter()
            .map(|(e, _)| e[2].iter().sum::<f64>())
            .sum(),
        ..Errors::default()
    };
    apply(width, &errors, share, |e| {
        means.codes[e / 3][e % 3] = per_texel[e / 3].1[e % 3];
    })
}

/// Chooses the coarse units of one attribute under its budget and calls `take(e)` for every
/// entry (texel and channel, as [`Errors::fine`]) that takes its coarse code. Returns (ours before, splat-transform's, ours after).
fn apply(
    width: usize,
    errors: &Errors,
    share: f64,
    mut take: impl FnMut(usize),
) -> (f64, f64, f64) {
    let fine: f64 = errors.fine.iter().sum();
    let limit = budget(fine, errors.theirs, share);
    let weighted_limit = if errors.weight.is_empty() {
        f64::INFINITY
    } else {
        let (mut fine_w, mut theirs_w) = (0.0, 0.0);
        for (e, w) in errors.weight.iter().enumerate() {
            fine_w += errors.fine[e] * w;
            theirs_w += errors.theirs_each[e] * w;
        }
        budget(fine_w, theirs_w, share * errors.weighted_share)
    };
    let coarse = choose_weighted(width, errors, limit, weighted_limit);
    let mut after = 0.0;
    for (i, &c) in coarse.iter().enumerate() {
        if c {
            take(i);
            after += errors.coarse[i].max(errors.fine[i]);
        } else {
            after += errors.fine[i];
        }
    }
    (fine, errors.theirs, after)
}

/// A (w, x, y, z) unit quaternion and the engine's decoding of a smallest-three code.
fn decode_quat(code: [u8; 4]) -> [f64; 4] {
    let d = |b: u8| (f64::from(b) / 255.0 - 0.5) * std::f64::consts::SQRT_2;
    let kept = [d(code[0]), d(code[1]), d(code[2])];
    let rest = (1.0 - kept.iter().map(|c| c * c).sum::<f64>())
        .max(0.0)
        .sqrt();
    let m = usize::from(code[3]);
    let mut q = [0.0; 4];
    let mut k = 0;
    for (c, slot) in q.iter_mut().enumerate() {
        if c == m {
            *slot = rest;
        } else {
            *slot = kept[k];
            k += 1;
        }
    }
    q
}

/// Angle in degrees between two rotations given as quaternions (sign and norm ignored), as
/// `eval` measures it.
fn angle_deg(a: [f64; 4], b: [f64; 4]) -> f64 {
    let norm = |q: [f64; 4]| q.iter().map(|c| c * c).sum::<f64>().sqrt();
    let dot = (0..4).map(|c| a[c] * b[c]).sum::<f64>() / (norm(a) * norm(b));
    (2.0 * dot.abs().min(1.0).acos()).to_degrees()
}

/// splat-transform's code of a rotation: the same smallest-three layout, bytes truncated.
fn their_quat_code(q: &[f32; 4]) -> [u8; 4] {
    let q = q.map(f64::from);
    let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    let mut largest = 0;
    for c in 1..4 {
        if q[c].abs() > q[largest].abs() {
            largest = c;
        }
    }
    let sign = if q[largest] < 0.0 { -1.0 } else { 1.0 };
    let mut code = [0u8; 4];
    for (k, c) in (0..4).filter(|&c| c != largest).enumerate() {
        let v = sign * q[c] / norm;
        code[k] = (255.0 * (v * std::f64::consts::SQRT_2 * 0.5 + 0.5)).clamp(0.0, 255.0) as u8;
    }
    code[3] = largest as u8;
    code
}

/// The even code of a rotation: each kept byte one of the (at most two) even bytes within one
/// step of its scaled value; of those combinations, the one decoding closest to `q`.
fn even_quat_code(q: &[f32; 4], fine: [u8; 4]) -> [u8; 4] {
    let unit = {
        let q = q.map(f64::from);
        let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
        let m = usize::from(fine[3]);
        let sign = if q[m] < 0.0 { -1.0 } else { 1.0 };
        q.map(|c| sign * c / norm)
    };
    let m = usize::from(fine[3]);
    let kept: Vec<usize> = (0..4).filter(|&c| c != m).collect();
    let options: [[u8; 2]; 3] = std::array::from_fn(|k| {
        let t = 255.0 * (unit[kept[k]] * std::f64::consts::SQRT_2 * 0.5 + 0.5);
        let lo = (t / 2.0).floor() * 2.0;
        let hi = lo + 2.0;
        // Even bytes within one step of t: lo when t − lo ≤ 1, hi when hi − t ≤ 1.
        let a = if t - lo <= 1.0 { lo } else { hi };
        let b = if hi - t <= 1.0 { hi } else { lo };
        [a.clamp(0.0, 254.0) as u8, b.clamp(0.0, 254.0) as u8]
    });
    let mut best = (fine, f64::INFINITY);
    for choice in 0..8u32 {
        let code = [
            options[0][(choice & 1) as usize],
            options[1][((choice >> 1) & 1) as usize],
            options[2][((choice >> 2) & 1) as usize],
            fine[3],
        ];
        let angle = angle_deg(decode_quat(code), unit);
        if angle < best.1 {
            best = (code, angle);
        }
    }
    best.0
}

/// Spends `share` of the rotation margin (angle in degrees, squared): blocks of quaternion
/// codes move to even bytes. `rotations` in texel order, `quats` their codes (in place).
pub fn spend_quats(
    rotations: &[[f32; 4]],
    impact: &[f64],
    quats: &mut [[u8; 4]],
    width: usize,
    share: f64,
) -> (f64, f64, f64) {
    let per_texel: Vec<([f64; 3], [u8; 4])> = rotations
        .par_iter()
        .zip(quats.par_iter())
        .with_min_len(4096)
        .map(|(q, &fine)| {
            let q64 = q.map(f64::from);
            let norm = q64.iter().map(|c| c * c).sum::<f64>().sqrt();
            if !(norm.is_finite() && norm > 0.0) {
                // Stored as the identity by both encoders' rules here: nothing to spend.
                return ([0.0; 3], fine);
            }
            let coarse = even_quat_code(q, fine);
            let err = |code: [u8; 4]| angle_deg(decode_quat(code), q64).powi(2);
            ([err(fine), err(coarse), err(their_quat_code(q))], coarse)
        })
        .collect();
    let errors = Errors {
        channels: 1,
        fine: per_texel.iter().map(|(e, _)| e[0]).collect(),
        coarse: per_texel.iter().map(|(e, _)| e[1]).collect(),
        theirs: per_texel.iter().map(|(e, _)| e[2]).sum(),
        theirs_each: per_texel.iter().map(|(e, _)| e[2]).collect(),
        weight: impact.to_vec(),
        weighted_share: ROTATION_RENDER_SHARE,
    };
    apply(width, &errors, share, |i| quats[i] = per_texel[i].1)
}

/// Spends `share` of the opacity margin (alpha, squared): blocks of opacity bytes move to the
/// even byte within one step of 255·α. `logits` in texel order, `bytes` their codes (in place).
pub fn spend_opacities(
    logits: &[f32],
    bytes: &mut [u8],
    width: usize,
    share: f64,
) -> (f64, f64, f64) {
    let per_texel: Vec<([f64; 3], u8)> = logits
        .par_iter()
        .zip(bytes.par_iter())
        .with_min_len(4096)
        .map(|(&logit, &fine)| {
            let alpha = 1.0 / (1.0 + (-f64::from(logit)).exp());
            if !alpha.is_finite() {
                return ([0.0; 3], fine);
            }
            let t = 255.0 * alpha;
            let coarse = nearest_even(t, 254.0) as u8;
            let st = t.clamp(0.0, 255.0).trunc();
            let err = |b: f64| (b / 255.0 - alpha).powi(2);
            debug_assert_eq!(fine, opacity_byte(logit));
            (
                [err(f64::from(fine)), err(f64::from(coarse)), err(st)],
                coarse,
            )
        })
        .collect();
    let errors = Errors {
        channels: 1,
        fine: per_texel.iter().map(|(e, _)| e[0]).collect(),
        coarse: per_texel.iter().map(|(e, _)| e[1]).collect(),
        theirs: per_texel.iter().map(|(e, _)| e[2]).sum(),
        ..Errors::default()
    };
    apply(width, &errors, share, |i| bytes[i] = per_texel[i].1)
}

#[cfg(test)]
mod tests;
