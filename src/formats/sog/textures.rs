//! The SOG v2 textures and meta.json of an [`Encoded`] scene (`sog-format.md` §3.2–§3.7):
//! where each code goes. The values themselves come from `encode::quantize`.
//!
//! Every per-splat texture is W×H RGBA with splat i at pixel i (row-major, row 0 on top);
//! pixels past the last splat are (0, 0, 0, 0).

use rayon::prelude::*;

use super::meta::{Asset, Codebooked, Files, Means, ShN};
use super::{Image, Meta, Sog};
use crate::encode::{Encoded, ShPalette};

/// Texels below this count are written on one thread.
const PARALLEL_TEXELS: usize = 1 << 14;

/// Centroids per row of the shN_centroids atlas.
pub const CENTROIDS_PER_ROW: usize = 64;

/// Added to the largest component's index in quats.webp's alpha (A = 252 + index).
const QUAT_INDEX_BASE: u8 = 252;

/// An all-zero `width`×`height` image whose first `count` texels are filled by `texel(i)`.
///
/// # Panics
/// If `count` exceeds `width * height` (a caller bug: the grid comes from `grid_size`).
fn texels(width: u32, height: u32, count: usize, texel: impl Fn(usize) -> [u8; 4] + Sync) -> Image {
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
            .for_each(|(i, px)| px.copy_from_slice(&texel(i)));
    } else {
        for (i, px) in used.chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&texel(i));
        }
    }
    image
}

/// means_l (low bytes) and means_u (high bytes) of the 16-bit position codes, A = 255.
pub fn means(codes: &[[u16; 3]], width: u32, height: u32) -> (Image, Image) {
    let low = texels(width, height, codes.len(), |i| {
        let q = codes[i];
        [q[0] as u8, q[1] as u8, q[2] as u8, 255]
    });
    let high = texels(width, height, codes.len(), |i| {
        let q = codes[i];
        [(q[0] >> 8) as u8, (q[1] >> 8) as u8, (q[2] >> 8) as u8, 255]
    });
    (low, high)
}

/// quats.webp: the three kept bytes, A = 252 + index of the largest component.
pub fn quats(codes: &[[u8; 4]], width: u32, height: u32) -> Image {
    texels(width, height, codes.len(), |i| {
        let [a, b, c, largest] = codes[i];
        [a, b, c, QUAT_INDEX_BASE + largest]
    })
}

/// scales.webp: the three codebook indices, A = 255.
pub fn scales(codes: &[[u8; 3]], width: u32, height: u32) -> Image {
    texels(width, height, codes.len(), |i| {
        let [r, g, b] = codes[i];
        [r, g, b, 255]
    })
}

/// sh0.webp: the DC colour codebook indices, A = the opacity byte.
pub fn sh0(colors: &[[u8; 3]], opacities: &[u8], width: u32, height: u32) -> Image {
    assert_eq!(colors.len(), opacities.len(), "one opacity per splat");
    texels(width, height, colors.len(), |i| {
        let [r, g, b] = colors[i];
        [r, g, b, opacities[i]]
    })
}

/// shN_labels.webp: 16-bit palette label per texel, R low byte, G high byte, B 0, A 255.
pub fn sh_labels(labels: &[u32], width: u32, height: u32) -> Image {
    texels(width, height, labels.len(), |i| {
        let l = labels[i];
        [(l & 0xff) as u8, ((l >> 8) & 0xff) as u8, 0, 255]
    })
}

/// shN_centroids.webp: the palette atlas. Width 64·coeffs, height ceil(size / 64); centroid
/// c's coefficient j sits at x = (c mod 64)·coeffs + j, y = c / 64, as (R_j, G_j, B_j, 255).
/// Pixels after the last centroid are (0, 0, 0, 0).
pub fn sh_centroids(palette: &ShPalette) -> Image {
    let coeffs = palette.coeffs;
    assert_eq!(
        palette.codes.len(),
        palette.size * coeffs,
        "one code per centroid coefficient"
    );
    let width = (CENTROIDS_PER_ROW * coeffs) as u32;
    let height = palette.size.div_ceil(CENTROIDS_PER_ROW) as u32;
    // Pixel index c·coeffs + j is exactly x + y·width for the layout above.
    texels(width, height, palette.codes.len(), |p| {
        let [r, g, b] = palette.codes[p];
        [r, g, b, 255]
    })
}

/// The SOG of an encoded scene: meta.json and every texture, in bundle order.
pub fn sog(encoded: &Encoded) -> Sog {
    let (w, h) = (encoded.width, encoded.height);
    let (means_l, means_u) = means(&encoded.means.codes, w, h);
    let mut images: Vec<(String, Image)> = vec![
        ("means_l.webp".into(), means_l),
        ("means_u.webp".into(), means_u),
        ("quats.webp".into(), quats(&encoded.quats, w, h)),
        ("scales.webp".into(), scales(&encoded.scales, w, h)),
        (
            "sh0.webp".into(),
            sh0(&encoded.colors, &encoded.opacities, w, h),
        ),
    ];
    let sh_n = encoded.sh.as_ref().map(|palette| {
        images.push(("shN_centroids.webp".into(), sh_centroids(palette)));
        images.push(("shN_labels.webp".into(), sh_labels(&palette.labels, w, h)));
        ShN {
            count: palette.size as u32,
            bands: palette.bands,
            codebook: palette.codebook.clone(),
            files: vec!["shN_centroids.webp".into(), "shN_labels.webp".into()],
        }
    });
    let meta = Meta {
        version: 2,
        asset: Asset::default(),
        count: encoded.count() as u32,
        model: encoded.model.sog_name().map(String::from),
        means: Means {
            mins: encoded.means.mins,
            maxs: encoded.means.maxs,
            files: vec!["means_l.webp".into(), "means_u.webp".into()],
        },
        scales: Codebooked {
            codebook: encoded.scales_codebook.clone(),
            files: vec!["scales.webp".into()],
        },
        quats: Files {
            files: vec!["quats.webp".into()],
        },
        sh0: Codebooked {
            codebook: encoded.colors_codebook.clone(),
            files: vec!["sh0.webp".into()],
        },
        sh_n,
        extras: encoded.extras.clone(),
    };
    Sog { meta, images }
}

#[cfg(test)]
mod tests;
