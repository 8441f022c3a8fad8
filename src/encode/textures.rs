//! Per-texture encodings of SOG v2 (`sog-format.md` §3.2, §3.4, §3.6): grid size, and the
//! bytes of each texture for splats already in texel order.
//!
//! Every per-splat texture is W×H RGBA with splat i at pixel i (row-major, row 0 on top);
//! pixels past the last splat are (0, 0, 0, 0). Where splat-transform truncates a float to a
//! byte (means, quaternions, opacity) we round to nearest instead, which halves the worst-case
//! error and stays within the same decoder formulas (§5.2).

use rayon::prelude::*;

use super::codebook::Quantizer;
use crate::io::sog::Image;
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

/// Texels below this count are encoded on one thread.
const PARALLEL_TEXELS: usize = 1 << 14;

/// An all-zero `width`×`height` image whose first `count` texels are filled by `encode(i)`.
///
/// # Panics
/// If `count` exceeds `width * height` (a caller bug: the grid comes from [`grid_size`]).
fn texels(
    width: u32,
    height: u32,
    count: usize,
    encode: impl Fn(usize) -> [u8; 4] + Sync,
) -> Image {
    let mut image = Image::zeroed(width, height);
    assert!(
        count <= width as usize * height as usize,
        "{count} splats do not fit a {width}×{height} texture"
    );
    let used = &mut image.rgba[..count * 4];
    if count >= PARALLEL_TEXELS {
        used.par_chunks_exact_mut(4)
            .with_min_len(4096)
            .enumerate()
            .for_each(|(i, px)| px.copy_from_slice(&encode(i)));
    } else {
        for (i, px) in used.chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&encode(i));
        }
    }
    image
}

/// The "symmetric log" of §1.5: sign(v)·ln(1 + |v|), in f64.
pub fn symlog(v: f32) -> f64 {
    let v = f64::from(v);
    let magnitude = (1.0 + v.abs()).ln();
    if v < 0.0 { -magnitude } else { magnitude }
}

/// means_l and means_u, and the per-axis log-domain mins and maxs. Positions are in texel order.
///
/// q = round(65535·(L(v) − min)/(max − min)) per axis (0 when max = min), low byte in
/// means_l and high byte in means_u, A = 255. Mins and maxs cover the finite L(v) only (0 for
/// an axis without any); NaN encodes as 0, ±∞ clamp to the ends.
pub fn means(
    positions: &[[f32; 3]],
    width: u32,
    height: u32,
) -> (Image, Image, [f64; 3], [f64; 3]) {
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
    let quantized: Vec<[u16; 3]> = positions
        .par_iter()
        .with_min_len(PARALLEL_TEXELS)
        .map(quantize)
        .collect();
    let low = texels(width, height, quantized.len(), |i| {
        let q = quantized[i];
        [q[0] as u8, q[1] as u8, q[2] as u8, 255]
    });
    let high = texels(width, height, quantized.len(), |i| {
        let q = quantized[i];
        [(q[0] >> 8) as u8, (q[1] >> 8) as u8, (q[2] >> 8) as u8, 255]
    });
    (low, high, mins, maxs)
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
        .with_min_len(PARALLEL_TEXELS)
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

/// quats.webp: smallest three, A = 252 + index of the largest component.
///
/// Normalised (f64); m = first index of the largest |component| in (w, x, y, z) order; the
/// quaternion is negated if q_m < 0; the other three, in index order, are scaled by √2 and
/// stored as round(255·(v·0.5 + 0.5)). A quaternion that cannot be normalised (zero or
/// non-finite) is stored as the identity.
pub fn quats(rotations: &[[f32; 4]], width: u32, height: u32) -> Image {
    texels(width, height, rotations.len(), |i| {
        quat_texel(&rotations[i])
    })
}

/// The quats.webp texel of one (w, x, y, z) quaternion: smallest three, A = 252 + index of
/// the largest. Each kept component is stored as the floor or the ceiling of its scaled
/// value; of the 8 combinations, the one whose decoded rotation (engine formulas) is closest
/// to the input is chosen. That bounds the angle error by 0.6° where rounding each byte on
/// its own reaches 0.9° (the decoder rebuilds the fourth component from the three).
pub fn quat_texel(q: &[f32; 4]) -> [u8; 4] {
    let q = q.map(f64::from);
    let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return quat_texel(&[1.0, 0.0, 0.0, 0.0]);
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
    [best.0[0], best.0[1], best.0[2], 252 + largest as u8]
}

/// scales.webp: codebook indices of the three log-scales, A = 255.
pub fn scales(log_scales: &[[f32; 3]], codebook: &[f32], width: u32, height: u32) -> Image {
    let quantizer = Quantizer::new(codebook);
    texels(width, height, log_scales.len(), |i| {
        let s = &log_scales[i];
        [
            quantizer.index(s[0]),
            quantizer.index(s[1]),
            quantizer.index(s[2]),
            255,
        ]
    })
}

/// The sh0.webp alpha of an opacity logit: round(255·sigmoid(logit)); +∞ → 255, −∞ and NaN → 0.
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

/// sh0.webp: codebook indices of f_dc, A = the opacity byte.
pub fn sh0(
    sh_dc: &[[f32; 3]],
    opacities: &[f32],
    codebook: &[f32],
    width: u32,
    height: u32,
) -> Image {
    assert_eq!(sh_dc.len(), opacities.len(), "one opacity per splat");
    let quantizer = Quantizer::new(codebook);
    texels(width, height, sh_dc.len(), |i| {
        let c = &sh_dc[i];
        [
            quantizer.index(c[0]),
            quantizer.index(c[1]),
            quantizer.index(c[2]),
            opacity_byte(opacities[i]),
        ]
    })
}

/// shN_labels.webp: 16-bit palette label per texel, R low byte, G high byte, B 0, A 255.
pub fn sh_labels(labels: &[u32], width: u32, height: u32) -> Image {
    texels(width, height, labels.len(), |i| {
        let l = labels[i];
        [(l & 0xff) as u8, ((l >> 8) & 0xff) as u8, 0, 255]
    })
}

/// Centroids per row of the shN_centroids atlas.
pub const CENTROIDS_PER_ROW: usize = 64;

/// shN_centroids.webp: the palette atlas. `centroids` holds `palette` rows of `3 * coeffs`
/// values in PLY channel-major order; `codebook` is the 256-entry codebook of those values.
///
/// Width 64·coeffs, height ceil(palette / 64); centroid c's coefficient j sits at
/// x = (c mod 64)·coeffs + j, y = c / 64, as (index of R_j, index of G_j, index of B_j, 255).
/// Pixels after the last centroid are (0, 0, 0, 0).
pub fn sh_centroids(centroids: &[f32], palette: usize, coeffs: usize, codebook: &[f32]) -> Image {
    let row_len = 3 * coeffs;
    assert!(
        centroids.len() >= palette * row_len,
        "{} centroid values for {palette} centroids of {row_len}",
        centroids.len()
    );
    let width = (CENTROIDS_PER_ROW * coeffs) as u32;
    let height = palette.div_ceil(CENTROIDS_PER_ROW) as u32;
    let quantizer = Quantizer::new(codebook);
    // Pixel index c·coeffs + j is exactly x + y·width for the layout above.
    texels(width, height, palette * coeffs, |p| {
        let (c, j) = (p / coeffs, p % coeffs);
        let row = &centroids[c * row_len..(c + 1) * row_len];
        [
            quantizer.index(row[j]),
            quantizer.index(row[coeffs + j]),
            quantizer.index(row[2 * coeffs + j]),
            255,
        ]
    })
}

#[cfg(test)]
mod tests;
