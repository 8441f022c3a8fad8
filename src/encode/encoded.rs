//! The encoder's result, independent of any file format: splats in texel order on a grid,
//! every attribute quantised, with the codebooks and the SH palette. Writers in `formats/`
//! turn it into files (SOG textures and meta.json today).

use crate::scene::Model;

/// A scene encoded for texture formats. Splat `i` (in [`Encoded::order`]) sits at texel `i`
/// of a `width`×`height` grid, row-major; texels `count..` are padding.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// Grid width in texels.
    pub width: u32,
    /// Grid height in texels.
    pub height: u32,
    /// Index into the sanitised input scene of the splat at each texel.
    pub order: Vec<u32>,
    /// The splat model (plain 3DGS, antialiased or 2DGS).
    pub model: Model,
    /// The scene's free-form metadata, passed through to the output.
    pub extras: Option<serde_json::Value>,
    /// Positions: 16 bits per axis in the symmetric-log domain, and its per-axis range.
    pub means: super::quantize::Means,
    /// Smallest-three rotations: three bytes, then the index of the largest component.
    pub quats: Vec<[u8; 4]>,
    /// Log-scale codebook indices.
    pub scales: Vec<[u8; 3]>,
    /// The 256-entry log-scale codebook.
    pub scales_codebook: Vec<f32>,
    /// DC colour codebook indices.
    pub colors: Vec<[u8; 3]>,
    /// The 256-entry DC colour codebook.
    pub colors_codebook: Vec<f32>,
    /// Opacity bytes (round(255·sigmoid(logit))).
    pub opacities: Vec<u8>,
    /// Higher SH bands as a palette; `None` when no band above 0 is kept.
    pub sh: Option<ShPalette>,
}

impl Encoded {
    /// Number of splats.
    pub fn count(&self) -> usize {
        self.order.len()
    }
}

/// The SH palette: k-means centroids of the higher-band coefficients, quantised through one
/// codebook, and each splat's centroid.
#[derive(Debug, Clone, PartialEq)]
pub struct ShPalette {
    /// SH bands kept (1–3).
    pub bands: u8,
    /// Coefficients per colour channel: 3, 8 or 15.
    pub coeffs: usize,
    /// Number of centroids.
    pub size: usize,
    /// Codebook indices of centroid `c`, coefficient `j` at `c * coeffs + j`: (R_j, G_j, B_j).
    pub codes: Vec<[u8; 3]>,
    /// The 256-entry codebook of the centroid values.
    pub codebook: Vec<f32>,
    /// Each splat's centroid, in texel order.
    pub labels: Vec<u32>,
}
