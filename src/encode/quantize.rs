//! Quantisation of every attribute to the integers a texture format stores (`sog-format.md`
//! §3.2, §3.4, §3.6), and the grid the splats are laid out on. No file format here: the
//! writers in `formats/` place these codes into their textures or streams.
//!
//! Where splat-transform truncates a float to a byte (means, quaternions, opacity) we round to
//! nearest instead, which halves the worst-case error and stays within the same decoder
//! formulas (§5.2).

use rayon::prelude::*;

use super::codebook::Quantizer;
use crate::{Error, Result};

/// WebP's limit on each side of an image, and so on each SOG texture.
pub const MAX_TEXTURE_SIDE: u32 = 16383;

/// Texture width and height for `n` splats: W = ceil(√n / 4)·4, H = ceil(n / W / 4)·4.
///
/// Errors when there are no splats or when a side would exceed 16383 pixels.
pub fn grid_size(n: usize) -> Result<(u32, u32)> {
    if n == 0 {
        return Err(Error::Scene("no splats to compress".into()));
    }
    // f64 throughout, in the reference's operation order.
    let nf = n as f64;
    let width = (nf.sqrt() / 4.0).ceil() * 4.0;
    let height = (nf / width / 4.0).ceil() * 4.0;
    let limit = f64::from(MAX_TEXTURE_SIDE);
    if width > limit || height > limit {
        let side = u64::from(MAX_TEXTURE_SIDE / 4 * 4);
        return Err(Error::Scene(format!(
            "{n} splats need {width}×{height} textures, but SOG textures are limited to \
             {MAX_TEXTURE_SIDE} pixels per side (at most {} splats); split the scene",
            side * side
        )));
    }
    Ok((width as u32, height as u32))
}

/// Splats below this count are quantised on one thread.
const PARALLEL_SPLATS: usize = 1 << 14;

/// Runs `encode` over `items` in order, on rayon's threads for large inputs.
fn map<T: Sync, R: Send>(items: &[T], encode: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    if items.len() >= PARALLEL_SPLATS {
        items.par_iter().with_min_len(4096).map(encode).collect()
    } else {
        items.iter().map(encode).collect()
    }
}

/// The "symmetric log" of §1.5: sign(v)·ln(1 + |v|), in f64.
pub fn symlog(v: f32) -> f64 {
    let v = f64::from(v);
    let magnitude = (1.0 + v.abs()).ln();
    if v < 0.0 { -magnitude } else { magnitude }
}

/// Positions quantised to 16 bits per axis in the symmetric-log domain (§3.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Means {
    /// q per splat and axis.
    pub codes: Vec<[u16; 3]>,
    /// Per-axis minimum of the finite L(v).
    pub mins: [f64; 3],
    /// Per-axis maximum of the finite L(v).
    pub maxs: [f64; 3],
}

/// q = round(65535·(L(v) − min)/(max − min)) per axis (0 when max = min). Mins and maxs cover
/// the finite L(v) only (0 for an axis without any); NaN encodes as 0, ±∞ clamp to the ends.
pub fn means(positions: &[[f32; 3]]) -> Means {
    let (mins, maxs) = log_bounds(positions);
    let range: [f64; 3] = std::array::from_fn(|a| maxs[a] - mins[a]);
    let quantize = |p: &[f32; 3]| -> [u16; 3] {
        std::array::from_fn(|a| {
            if range[a] <= 0.0 {
                return 0;
            }
            let q = (65535.0 * (symlog(p[a]) - mins[a]) / range[a]).round();
            // NaN fails both comparisons and falls through to 0.
            if q >= 65535.0 {
                65535
            } else if q > 0.0 {
                q as u16
            } else {
                0
            }
        })
    };
    let codes: Vec<[u16; 3]> = positions
        .par_iter()
        .with_min_len(PARALLEL_SPLATS)
        .map(quantize)
        .collect();
    Means { codes, mins, maxs }
}

/// Per-axis min and max of the finite symmetric-log positions (0, 0 for an axis with none).
fn log_bounds(positions: &[[f32; 3]]) -> ([f64; 3], [f64; 3]) {
    let empty = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    let merge = |(mut lo, mut hi): ([f64; 3], [f64; 3]), (l2, h2): ([f64; 3], [f64; 3])| {
        for a in 0..3 {
            lo[a] = lo[a].min(l2[a]);
            hi[a] = hi[a].max(h2[a]);
        }
        (lo, hi)
    };
    let (mut lo, mut hi) = positions
        .par_iter()
        .with_min_len(PARALLEL_SPLATS)
        .fold(
            || empty,
            |acc, p| {
                let l: [f64; 3] = std::array::from_fn(|a| symlog(p[a]));
                let l = l.map(|v| if v.is_finite() { v } else { f64::NAN });
                // f64::min/max ignore NaN, so non-finite values never enter the bounds.
                merge(acc, (l, l))
            },
        )
        .reduce(|| empty, merge);
    for a in 0..3 {
        if lo[a] > hi[a] {
            (lo[a], hi[a]) = (0.0, 0.0);
        }
    }
    (lo, hi)
}

/// Smallest-three codes of every rotation: see [`quat_code`].
pub fn quats(rotations: &[[f32; 4]]) -> Vec<[u8; 4]> {
    map(rotations, quat_code)
}

/// The smallest-three code of one (w, x, y, z) quaternion: three bytes and, fourth, the index
/// of the largest component (0–3).
///
/// Normalised (f64); m = first index of the largest |component| in (w, x, y, z) order; the
/// quaternion is negated if q_m < 0; the other three, in index order, are scaled by √2 and
/// stored as bytes of 255·(v·0.5 + 0.5). A quaternion that cannot be normalised (zero or
/// non-finite) is stored as the identity. Each kept component is stored as the floor or the ceiling of its scaled
/// value; of the 8 combinations, the one whose decoded rotation (engine formulas) is closest
/// to the input is chosen. That bounds the angle error by 0.6° where rounding each byte on
/// its own reaches 0.9° (the decoder rebuilds the fourth component from the three).
pub fn quat_code(q: &[f32; 4]) -> [u8; 4] {
    let q = q.map(f64::from);
    let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return quat_code(&[1.0, 0.0, 0.0, 0.0]);
    }
    let mut largest = 0;
    for c in 1..4 {
        if q[c].abs() > q[largest].abs() {
            largest = c;
        }
    }
    let sign = if q[largest] < 0.0 { -1.0 } else { 1.0 };
    let unit = q.map(|c| sign * c / norm);
    let kept: Vec<usize> = (0..4).filter(|&c| c != largest).collect();
    let scaled = [0, 1, 2].map(|k| 255.0 * (unit[kept[k]] * std::f64::consts::SQRT_2 * 0.5 + 0.5));
    let decode = |b: f64| (b / 255.0 - 0.5) * std::f64::consts::SQRT_2;
    // Candidate `choice`: bit k set → ceiling for kept component k, else floor.
    let candidate = |choice: u32| {
        let bytes =
            [0, 1, 2].map(|k| (scaled[k].floor() + f64::from((choice >> k) & 1)).clamp(0.0, 255.0));
        let rest = (1.0 - bytes.iter().map(|&b| decode(b).powi(2)).sum::<f64>())
            .max(0.0)
            .sqrt();
        // |⟨q, q'⟩| grows as the angle between them shrinks.
        let dot = (0..3)
            .map(|k| decode(bytes[k]) * unit[kept[k]])
            .sum::<f64>()
            + rest * unit[largest];
        (bytes.map(|b| b as u8), dot.abs())
    };
    // Start from plain rounding and move only to a strictly better combination.
    let rounded = (0..3).fold(0, |c, k| {
        c | (u32::from(scaled[k] - scaled[k].floor() >= 0.5) << k)
    });
    let mut best = candidate(rounded);
    for choice in 0..8 {
        let next = candidate(choice);
        if next.1 > best.1 {
            best = next;
        }
    }
    [best.0[0], best.0[1], best.0[2], largest as u8]
}

/// Codebook indices of three values per splat (log-scales, DC colour).
pub fn codes3(values: &[[f32; 3]], codebook: &[f32]) -> Vec<[u8; 3]> {
    let quantizer = Quantizer::new(codebook);
    map(values, |v| v.map(|c| quantizer.index(c)))
}

/// The opacity byte of a logit: round(255·sigmoid(logit)); +∞ → 255, −∞ and NaN → 0.
pub fn opacity_byte(logit: f32) -> u8 {
    let alpha = 1.0 / (1.0 + (-f64::from(logit)).exp());
    let b = (255.0 * alpha).round();
    if b >= 255.0 {
        255
    } else if b > 0.0 {
        b as u8
    } else {
        0
    }
}

/// Opacity bytes of every splat: see [`opacity_byte`].
pub fn opacities(logits: &[f32]) -> Vec<u8> {
    map(logits, |&l| opacity_byte(l))
}

/// Codebook indices of the SH palette: for centroid c and coefficient j, the indices of
/// (R_j, G_j, B_j). `centroids` holds rows of `3 * coeffs` values in PLY channel-major order.
pub fn palette_codes(centroids: &[f32], coeffs: usize, codebook: &[f32]) -> Vec<[u8; 3]> {
    let row_len = 3 * coeffs;
    let quantizer = Quantizer::new(codebook);
    let quantizer = &quantizer;
    centroids
        .chunks_exact(row_len)
        .flat_map(|row| {
            (0..coeffs).map(move |j| {
                [row[j], row[coeffs + j], row[2 * coeffs + j]].map(|v| quantizer.index(v))
            })
        })
        .collect()
}
