//! `Scene`: a 3D Gaussian Splatting scene as struct-of-arrays columns, in the conventions of the
//! INRIA PLY (positions in PLY space, quaternions (w, x, y, z), log-scales, opacity logits,
//! SH coefficients). Every reader produces one and the encoder consumes one. Validation of
//! non-finite values lives here, once.

use serde::Serialize;

/// SH_C0, the degree-0 spherical-harmonics constant: colour = 0.5 + SH_C0 · f_dc.
pub const SH_C0: f32 = 0.282_094_8;

/// How the scene was trained, which decides how it must be rendered. Carried through every
/// conversion where the output can hold it: PLY `comment SplatRenderMode: mip|2dgs` (Brush;
/// Postshot's `comment antialiased 1` is read too), SOG meta.json `"model"`, the SPZ
/// antialiased flag, the glTF kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Ordinary 3DGS.
    #[default]
    Default,
    /// Antialiased ("mip") splats: trained with a screen-space filter that the renderer must
    /// apply too (Mip-Splatting, gsplat `antialiased`, Brush `mip`).
    Antialiased,
    /// 2D Gaussian splatting (no `scale_2`: the third log-scale is −∞).
    #[serde(rename = "2dgs")]
    TwoD,
}

impl Model {
    /// The name SOG meta.json and lod-meta.json use: `None` for plain 3DGS, else
    /// `"antialiased"` or `"2dgs"`.
    pub fn sog_name(self) -> Option<&'static str> {
        match self {
            Model::Default => None,
            Model::Antialiased => Some("antialiased"),
            Model::TwoD => Some("2dgs"),
        }
    }

    /// The model a SOG `"model"` value names (unknown names read as plain 3DGS, as the engine
    /// does).
    pub fn from_sog_name(name: Option<&str>) -> Model {
        match name {
            Some("antialiased") => Model::Antialiased,
            Some("2dgs") => Model::TwoD,
            _ => Model::Default,
        }
    }
}

/// A splat scene, one column per attribute, all of length [`Scene::len`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    /// Centres `x, y, z`, raw PLY coordinates.
    pub positions: Vec<[f32; 3]>,
    /// Quaternions `rot_0..3` = (w, x, y, z), as stored (not necessarily normalised).
    pub rotations: Vec<[f32; 4]>,
    /// `scale_0..2`: natural log of the standard deviation per axis.
    pub log_scales: Vec<[f32; 3]>,
    /// `opacity`: the logit (pre-sigmoid) of the opacity.
    pub opacities: Vec<f32>,
    /// `f_dc_0..2`: the degree-0 SH coefficient per colour channel.
    pub sh_dc: Vec<[f32; 3]>,
    /// Number of higher SH bands, 0..=3.
    pub sh_bands: u8,
    /// `f_rest_*` per splat, `rest_len()` values each, channel-major as in the PLY:
    /// value `c * coeffs + j` is coefficient j of channel c (0 = R, 1 = G, 2 = B).
    pub sh_rest: Vec<f32>,
    /// Training model.
    pub model: Model,
    /// Free-form metadata the source carried (SOG meta.json `extras`, glTF `extras`), passed
    /// through to every output that can hold it; `None` when there is none. A JSON object.
    pub extras: Option<serde_json::Value>,
}

/// Coefficients per colour channel for `bands` higher SH bands: 0, 3, 8 or 15.
pub const fn sh_coeffs(bands: u8) -> usize {
    match bands {
        0 => 0,
        1 => 3,
        2 => 8,
        _ => 15,
    }
}

/// The band count for a number of `f_rest` properties (0, 9, 24, 45), if valid.
pub fn bands_for_rest_count(count: usize) -> Option<u8> {
    match count {
        0 => Some(0),
        9 => Some(1),
        24 => Some(2),
        45 => Some(3),
        _ => None,
    }
}

/// What [`Scene::sanitize`] did, so that nothing is changed silently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sanitized {
    /// Splats dropped because a position was NaN or ±∞.
    pub dropped_position: usize,
    /// Splats dropped because a log-scale was NaN or +∞ (−∞ is a flat splat and is kept).
    pub dropped_scale: usize,
    /// Splats dropped because the opacity was NaN (±∞ are kept: fully opaque / transparent).
    pub dropped_opacity: usize,
    /// Splats dropped because a colour or SH coefficient was NaN or ±∞.
    pub dropped_color: usize,
    /// Splats dropped because a quaternion component was NaN or ±∞.
    pub dropped_rotation: usize,
    /// Zero-length quaternions replaced by the identity rotation (kept).
    pub zero_rotations: usize,
}

impl Sanitized {
    /// Total number of splats removed.
    pub fn dropped(&self) -> usize {
        self.dropped_position
            + self.dropped_scale
            + self.dropped_opacity
            + self.dropped_color
            + self.dropped_rotation
    }
}

impl Scene {
    /// An empty scene with room for `n` splats of `bands` SH bands, for readers to fill.
    pub fn with_capacity(n: usize, bands: u8, model: Model) -> Scene {
        Scene {
            positions: Vec::with_capacity(n),
            rotations: Vec::with_capacity(n),
            log_scales: Vec::with_capacity(n),
            opacities: Vec::with_capacity(n),
            sh_dc: Vec::with_capacity(n),
            sh_bands: bands,
            sh_rest: Vec::with_capacity(n * 3 * sh_coeffs(bands)),
            model,
            extras: None,
        }
    }

    /// Number of splats.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// True when the scene has no splats.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// SH coefficients per colour channel (0, 3, 8, 15).
    pub fn sh_coeffs(&self) -> usize {
        sh_coeffs(self.sh_bands)
    }

    /// `f_rest` values per splat (0, 9, 24, 45).
    pub fn rest_len(&self) -> usize {
        3 * self.sh_coeffs()
    }

    /// The `f_rest` values of splat `i`.
    pub fn rest(&self, i: usize) -> &[f32] {
        let k = self.rest_len();
        &self.sh_rest[i * k..(i + 1) * k]
    }

    /// Checks that every column has the scene's length. Readers call this before returning.
    pub fn check_columns(&self) -> Result<(), String> {
        let n = self.len();
        let lens = [
            ("rotations", self.rotations.len()),
            ("log_scales", self.log_scales.len()),
            ("opacities", self.opacities.len()),
            ("sh_dc", self.sh_dc.len()),
            ("sh_rest", self.sh_rest.len() / self.rest_len().max(1)),
        ];
        for (name, len) in lens {
            if name == "sh_rest" && self.rest_len() == 0 {
                if !self.sh_rest.is_empty() {
                    return Err("sh_rest has values but sh_bands is 0".into());
                }
                continue;
            }
            if len != n {
                return Err(format!(
                    "column {name} has {len} entries, positions has {n}"
                ));
            }
        }
        if self.rest_len() > 0 && self.sh_rest.len() != n * self.rest_len() {
            return Err("sh_rest length is not a multiple of the splat count".into());
        }
        Ok(())
    }

    /// Keeps only the first `bands` SH bands (no-op when the scene has fewer).
    pub fn truncate_bands(&mut self, bands: u8) {
        if bands >= self.sh_bands {
            return;
        }
        let (old, new) = (self.sh_coeffs(), sh_coeffs(bands));
        let mut rest = Vec::with_capacity(self.len() * 3 * new);
        for i in 0..self.len() {
            let src = &self.sh_rest[i * 3 * old..(i + 1) * 3 * old];
            for c in 0..3 {
                rest.extend_from_slice(&src[c * old..c * old + new]);
            }
        }
        self.sh_rest = rest;
        self.sh_bands = bands;
    }

    /// A new scene with the splats at `indices`, in that order.
    pub fn select(&self, indices: &[u32]) -> Scene {
        self.select_bands(indices, self.sh_bands)
    }

    /// A new scene with the splats at `indices`, in that order, keeping at most `bands` SH
    /// bands (0: geometry and colour only, the cheapest copy).
    pub fn select_bands(&self, indices: &[u32], bands: u8) -> Scene {
        use rayon::prelude::*;
        fn gather<T: Copy + Send + Sync>(column: &[T], indices: &[u32]) -> Vec<T> {
            indices
                .par_iter()
                .with_min_len(1 << 14)
                .map(|&i| column[i as usize])
                .collect()
        }
        Scene {
            positions: gather(&self.positions, indices),
            rotations: gather(&self.rotations, indices),
            log_scales: gather(&self.log_scales, indices),
            opacities: gather(&self.opacities, indices),
            sh_dc: gather(&self.sh_dc, indices),
            sh_bands: bands.min(self.sh_bands),
            sh_rest: self.select_rest(indices, bands),
            model: self.model,
            extras: self.extras.clone(),
        }
    }

    /// The SH rest rows of the splats at `indices`, in that order, with at most `bands` bands
    /// (each channel's leading coefficients, as [`Scene::truncate_bands`] keeps them).
    pub fn select_rest(&self, indices: &[u32], bands: u8) -> Vec<f32> {
        use rayon::prelude::*;
        let (old, new) = (self.sh_coeffs(), sh_coeffs(bands.min(self.sh_bands)));
        let mut rest = vec![0.0; indices.len() * 3 * new];
        if new > 0 {
            rest.par_chunks_mut(3 * new)
                .with_min_len(1 << 12)
                .zip(indices.par_iter())
                .for_each(|(row, &i)| {
                    let src = self.rest(i as usize);
                    for c in 0..3 {
                        row[c * new..(c + 1) * new].copy_from_slice(&src[c * old..c * old + new]);
                    }
                });
        }
        rest
    }

    /// Applies the non-finite policy and returns the cleaned scene and what was done:
    /// - positions: NaN or ±∞ → splat dropped;
    /// - opacity: NaN → dropped; ±∞ kept (fully opaque / invisible, both encode exactly);
    /// - log-scales: NaN or +∞ → dropped; −∞ kept (a flat 2DGS axis, the codebook has a sentinel);
    /// - colour and SH: NaN or ±∞ → dropped;
    /// - quaternions: NaN or ±∞ → dropped; all-zero → identity (counted).
    ///
    /// Each splat is counted under the first rule it breaks, in the order above.
    ///
    /// Takes the scene: when every splat is kept it is repaired in place (a copy would double
    /// the memory of the largest thing the job holds).
    pub fn sanitize(self) -> (Scene, Sanitized) {
        let mut report = Sanitized::default();
        let mut keep = Vec::with_capacity(self.len());
        for i in 0..self.len() {
            let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
            if !finite(&self.positions[i]) {
                report.dropped_position += 1;
            } else if self.opacities[i].is_nan() {
                report.dropped_opacity += 1;
            } else if self.log_scales[i]
                .iter()
                .any(|s| s.is_nan() || *s == f32::INFINITY)
            {
                report.dropped_scale += 1;
            } else if !finite(&self.sh_dc[i]) || !finite(self.rest(i)) {
                report.dropped_color += 1;
            } else if !finite(&self.rotations[i]) {
                report.dropped_rotation += 1;
            } else {
                keep.push(i as u32);
            }
        }
        let mut out = if keep.len() == self.len() {
            self
        } else {
            self.select(&keep)
        };
        for q in &mut out.rotations {
            if q.iter().all(|c| *c == 0.0) {
                *q = [1.0, 0.0, 0.0, 0.0];
                report.zero_rotations += 1;
            }
        }
        (out, report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(n: usize, bands: u8) -> Scene {
        Scene {
            positions: (0..n).map(|i| [i as f32, 0.0, 0.0]).collect(),
            rotations: vec![[1.0, 0.0, 0.0, 0.0]; n],
            log_scales: vec![[-3.0; 3]; n],
            opacities: vec![0.0; n],
            sh_dc: vec![[0.1; 3]; n],
            sh_bands: bands,
            sh_rest: (0..n * 3 * sh_coeffs(bands)).map(|v| v as f32).collect(),
            model: Model::Default,
            extras: None,
        }
    }

    #[test]
    fn sanitize_applies_each_rule_and_counts_it() {
        let mut s = scene(8, 1);
        s.positions[0][1] = f32::NAN;
        s.opacities[1] = f32::INFINITY; // kept
        s.opacities[2] = f32::NAN;
        s.log_scales[3][2] = f32::NEG_INFINITY; // kept
        s.log_scales[4][0] = f32::INFINITY;
        s.sh_rest[5 * 9 + 4] = f32::NAN;
        s.rotations[6] = [0.0; 4];
        s.rotations[7] = [f32::INFINITY, 0.0, 0.0, 0.0];
        let (out, r) = s.clone().sanitize();
        // Dropped: 0 (position), 2 (opacity), 4 (scale), 5 (SH), 7 (rotation); kept: 1, 3, 6.
        assert_eq!(out.len(), 3);
        assert_eq!(
            (
                r.dropped_position,
                r.dropped_opacity,
                r.dropped_scale,
                r.dropped_color,
                r.dropped_rotation
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(r.zero_rotations, 1);
        assert_eq!(
            out.positions.iter().map(|p| p[0]).collect::<Vec<_>>(),
            vec![1.0, 3.0, 6.0]
        );
        assert_eq!(out.opacities[0], f32::INFINITY);
        assert_eq!(out.log_scales[1][2], f32::NEG_INFINITY);
        assert_eq!(out.rotations[2], [1.0, 0.0, 0.0, 0.0]);
        assert_eq!(out.rest(2), s.rest(6));
        out.check_columns().unwrap();
        // Nothing dropped: the same scene back, zero rotations repaired in place.
        let mut whole = scene(4, 2);
        whole.rotations[1] = [0.0; 4];
        let (kept, r) = whole.clone().sanitize();
        assert_eq!((r.dropped(), r.zero_rotations), (0, 1));
        whole.rotations[1] = [1.0, 0.0, 0.0, 0.0];
        assert_eq!(kept, whole);
    }

    #[test]
    fn select_bands_is_select_then_truncate() {
        let s = scene(6, 3);
        let order = [4, 0, 5, 2];
        for bands in 0..=4u8 {
            let mut want = s.select(&order);
            want.truncate_bands(bands);
            assert_eq!(s.select_bands(&order, bands), want, "{bands} bands");
            assert_eq!(s.select_rest(&order, bands), want.sh_rest, "{bands} bands");
        }
    }

    #[test]
    fn truncate_bands_keeps_leading_coefficients_per_channel() {
        let mut s = scene(2, 3);
        s.truncate_bands(1);
        assert_eq!(s.rest_len(), 9);
        // splat 1, channel 2 (B), coefficient 0 was value 45 + 2 * 15 = 75.
        assert_eq!(s.rest(1)[6], 75.0);
        s.check_columns().unwrap();
    }
}
