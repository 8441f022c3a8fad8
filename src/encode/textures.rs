//! Per-texture encodings of SOG v2 (`sog-format.md` §3.2, §3.4, §3.6): grid size, and the
//! bytes of each texture for splats already in texel order. STUB: owned by the encode-stages helper.

use crate::io::sog::Image;
use crate::{Error, Result};

/// Texture width and height for `n` splats: W = ceil(√n / 4)·4, H = ceil(n / W / 4)·4.
pub fn grid_size(n: usize) -> Result<(u32, u32)> {
    let _ = n;
    let _ = Error::Scene(String::new());
    todo!()
}

/// means_l and means_u, and the per-axis log-domain mins and maxs. Positions are in texel order.
pub fn means(
    positions: &[[f32; 3]],
    width: u32,
    height: u32,
) -> (Image, Image, [f64; 3], [f64; 3]) {
    let _ = (positions, width, height);
    todo!()
}

/// quats.webp: smallest three, A = 252 + index of the largest component.
pub fn quats(rotations: &[[f32; 4]], width: u32, height: u32) -> Image {
    let _ = (rotations, width, height);
    todo!()
}

/// scales.webp: codebook indices of the three log-scales, A = 255.
pub fn scales(log_scales: &[[f32; 3]], codebook: &[f32], width: u32, height: u32) -> Image {
    let _ = (log_scales, codebook, width, height);
    todo!()
}

/// sh0.webp: codebook indices of f_dc, A = the opacity byte.
pub fn sh0(
    sh_dc: &[[f32; 3]],
    opacities: &[f32],
    codebook: &[f32],
    width: u32,
    height: u32,
) -> Image {
    let _ = (sh_dc, opacities, codebook, width, height);
    todo!()
}

/// shN_labels.webp: 16-bit palette label per texel, R low byte, G high byte, B 0, A 255.
pub fn sh_labels(labels: &[u32], width: u32, height: u32) -> Image {
    let _ = (labels, width, height);
    todo!()
}

/// shN_centroids.webp: the palette atlas. `centroids` holds `palette` rows of `3 * coeffs`
/// values in PLY channel-major order; `codebook` is the 256-entry codebook of those values.
pub fn sh_centroids(centroids: &[f32], palette: usize, coeffs: usize, codebook: &[f32]) -> Image {
    let _ = (centroids, palette, coeffs, codebook);
    todo!()
}
