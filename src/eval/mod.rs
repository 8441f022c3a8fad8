//! Quality of a decoded scene against its source, without rendering (algorithms.md §5.2).
//!
//! [`evaluate`] pairs each decoded splat with the original it came from by position (the
//! compressed file reorders splats; `eval/matching.rs` explains how), then measures
//! per-attribute errors over the pairs: RMSE, p99 and max of each. [`Evaluation::table`]
//! renders them for people; the `Serialize` form is the `--json` contract.

pub mod image;
mod kdtree;
mod matching;
mod metrics;
pub mod pictures;
pub(crate) mod table;

use rayon::prelude::*;
use serde::Serialize;

pub use matching::Matching;
pub use metrics::ErrorStats;

use matching::UNMATCHED;
use metrics::{Accumulator, rotation_angle_deg, sigmoid};

use crate::{Error, Result, Scene};

/// SH_C0 in double precision (sog-format.md §5.2).
const SH_C0: f64 = 0.282_094_791_773_878_14;

/// Coefficient ranges of SH bands 1, 2, 3 within one colour channel.
const BAND_COEFFS: [std::ops::Range<usize>; 3] = [0..3, 3..8, 8..15];

/// Pairs per parallel work item (each holds one set of histograms).
const CHUNK: usize = 1 << 14;

/// Per-attribute errors of a decoded scene against the original.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evaluation {
    /// How decoded splats were paired with originals; all errors below are over these pairs.
    pub matching: Matching,
    /// Diagonal of the bounding box of the original's finite centres, in world units.
    pub bbox_diagonal: f64,
    /// |Δ position| in world units.
    pub position: ErrorStats,
    /// |Δ position| as a fraction of `bbox_diagonal`; absent when the diagonal is 0.
    pub position_relative: Option<ErrorStats>,
    /// |Δ log-scale| (natural log of the standard deviation), pooled over the three axes.
    /// Axes where both sides are the same infinity (flat 2DGS axes) count as exact (0).
    pub log_scale: ErrorStats,
    /// Axes counted as exact in `log_scale` because both sides were the same infinity.
    pub log_scale_infinite_equal: u64,
    /// Rotation angle between the normalised quaternions, in degrees: 2·acos(|⟨q, q'⟩|).
    pub rotation_deg: ErrorStats,
    /// |Δ opacity| after the sigmoid (in [0, 1]; logits ±∞ are opacity 1 and 0).
    pub opacity: ErrorStats,
    /// |Δ colour| per channel, colour = 0.5 + SH_C0·f_dc (in [0, 1] for displayable colours),
    /// pooled over R, G, B.
    pub color_dc: ErrorStats,
    /// As `color_dc`, each splat weighted by its original opacity: weighted RMSE and p99; max
    /// over splats with non-zero opacity. Errors of invisible splats matter less.
    pub color_dc_weighted: ErrorStats,
    /// 20·log10(1 / color_dc.rmse) in dB; absent when the RMSE is 0.
    pub color_dc_psnr_db: Option<f64>,
    /// SH bands of the original.
    pub sh_bands_original: u8,
    /// SH bands of the decoded scene.
    pub sh_bands_decoded: u8,
    /// Bands of the original that the decoded scene lacks, hence not compared.
    pub sh_bands_dropped: u8,
    /// |Δ coefficient| per SH band present in both scenes, pooled over the band's coefficients
    /// and the three channels.
    pub sh: Vec<BandError>,
    /// File sizes; filled by the caller that knows the files ([`sizes`]).
    pub sizes: Option<Sizes>,
}

/// Error of one SH band.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BandError {
    /// Band number, 1..=3.
    pub band: u8,
    /// |Δ coefficient| statistics.
    pub error: ErrorStats,
}

/// Sizes of the input and the compressed output.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sizes {
    /// Bytes of the input file.
    pub input_bytes: u64,
    /// Bytes of the output (a `.sog` bundle, or the sum of the folder's files).
    pub output_bytes: u64,
    /// Splats the sizes are divided by.
    pub splats: usize,
    /// `input_bytes / splats`; absent when there are no splats.
    pub input_bytes_per_splat: Option<f64>,
    /// `output_bytes / splats`; absent when there are no splats.
    pub output_bytes_per_splat: Option<f64>,
    /// Compression ratio `input_bytes / output_bytes`; absent when the output is empty.
    pub ratio: Option<f64>,
}

/// Sizes per splat and the compression ratio of an `input_bytes` file compressed to
/// `output_bytes` for a scene of `splats` splats.
pub fn sizes(input_bytes: u64, output_bytes: u64, splats: usize) -> Sizes {
    let per_splat = |bytes: u64| (splats > 0).then(|| bytes as f64 / splats as f64);
    Sizes {
        input_bytes,
        output_bytes,
        splats,
        input_bytes_per_splat: per_splat(input_bytes),
        output_bytes_per_splat: per_splat(output_bytes),
        ratio: (output_bytes > 0).then(|| input_bytes as f64 / output_bytes as f64),
    }
}

/// Error accumulators for one chunk of pairs.
#[derive(Default)]
struct Accumulators {
    position: Accumulator,
    log_scale: Accumulator,
    log_scale_infinite_equal: u64,
    rotation: Accumulator,
    opacity: Accumulator,
    color: Accumulator,
    color_weighted: Accumulator,
    sh: [Accumulator; 3],
}

impl Accumulators {
    fn merge(mut self, other: Accumulators) -> Accumulators {
        self.position.merge(&other.position);
        self.log_scale.merge(&other.log_scale);
        self.log_scale_infinite_equal += other.log_scale_infinite_equal;
        self.rotation.merge(&other.rotation);
        self.opacity.merge(&other.opacity);
        self.color.merge(&other.color);
        self.color_weighted.merge(&other.color_weighted);
        for (a, b) in self.sh.iter_mut().zip(&other.sh) {
            a.merge(b);
        }
        self
    }

    /// Adds the errors of decoded splat `i` against original splat `j`, comparing the first
    /// `bands` SH bands.
    fn add_pair(&mut self, original: &Scene, j: usize, decoded: &Scene, i: usize, bands: u8) {
        let (po, pd) = (original.positions[j], decoded.positions[i]);
        let distance = (0..3)
            .map(|a| (po[a] as f64 - pd[a] as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        self.position.add(distance);

        for a in 0..3 {
            let (so, sd) = (original.log_scales[j][a], decoded.log_scales[i][a]);
            if so.is_finite() && sd.is_finite() {
                self.log_scale.add((so as f64 - sd as f64).abs());
            } else if so == sd {
                self.log_scale.add(0.0);
                self.log_scale_infinite_equal += 1;
            } else {
                self.log_scale.skip();
            }
        }

        match rotation_angle_deg(original.rotations[j], decoded.rotations[i]) {
            Some(angle) => self.rotation.add(angle),
            None => self.rotation.skip(),
        }

        let alpha = sigmoid(original.opacities[j]);
        let opacity = (alpha - sigmoid(decoded.opacities[i])).abs();
        if opacity.is_nan() {
            self.opacity.skip();
        } else {
            self.opacity.add(opacity);
        }

        for c in 0..3 {
            let d = (original.sh_dc[j][c] as f64 - decoded.sh_dc[i][c] as f64).abs() * SH_C0;
            if d.is_finite() {
                self.color.add(d);
                if alpha.is_nan() {
                    self.color_weighted.skip();
                } else {
                    self.color_weighted.add_weighted(d, alpha);
                }
            } else {
                self.color.skip();
                self.color_weighted.skip();
            }
        }

        let (ro, rd) = (original.rest(j), decoded.rest(i));
        let (ko, kd) = (original.sh_coeffs(), decoded.sh_coeffs());
        for (band, range) in BAND_COEFFS.iter().take(bands as usize).enumerate() {
            for c in 0..3 {
                for k in range.clone() {
                    let d = (ro[c * ko + k] as f64 - rd[c * kd + k] as f64).abs();
                    if d.is_finite() {
                        self.sh[band].add(d);
                    } else {
                        self.sh[band].skip();
                    }
                }
            }
        }
    }
}

/// Diagonal of the bounding box of the finite centres (0 when there are none).
fn bbox_diagonal(scene: &Scene) -> f64 {
    let mut min = [f64::INFINITY; 3];
    let mut max = [f64::NEG_INFINITY; 3];
    for p in &scene.positions {
        if p.iter().all(|c| c.is_finite()) {
            for a in 0..3 {
                min[a] = min[a].min(p[a] as f64);
                max[a] = max[a].max(p[a] as f64);
            }
        }
    }
    if min[0] > max[0] {
        return 0.0;
    }
    (0..3)
        .map(|a| (max[a] - min[a]).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn check(scene: &Scene, which: &str) -> Result<()> {
    scene.check_columns().map_err(|e| {
        Error::Scene(format!(
            "cannot evaluate: the {which} scene is inconsistent: {e}"
        ))
    })?;
    if scene.is_empty() {
        return Err(Error::Scene(format!(
            "cannot evaluate: the {which} scene has no splats"
        )));
    }
    Ok(())
}

/// Matches splats of `decoded` to `original` by position and measures the errors.
///
/// `original` should be the sanitised input ([`Scene::sanitize`]) and `decoded` the SOG
/// decoded with the engine's formulas. Orders and counts may differ (the result says so).
/// Errors only when a scene is empty, has columns of different lengths, or the original has
/// no finite centre.
pub fn evaluate(original: &Scene, decoded: &Scene) -> Result<Evaluation> {
    check(original, "original")?;
    check(decoded, "decoded")?;
    let pairs = matching::match_splats(original, decoded).ok_or_else(|| {
        Error::Scene("cannot evaluate: no splat of the original scene has a finite centre".into())
    })?;
    let bands = original.sh_bands.min(decoded.sh_bands);
    let acc = pairs
        .pairs
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(chunk, js)| {
            let mut acc = Accumulators::default();
            for (k, &j) in js.iter().enumerate() {
                if j != UNMATCHED {
                    acc.add_pair(original, j as usize, decoded, chunk * CHUNK + k, bands);
                }
            }
            acc
        })
        .reduce(Accumulators::default, Accumulators::merge);

    let diagonal = bbox_diagonal(original);
    let position = acc.position.finish();
    let color_dc = acc.color.finish();
    Ok(Evaluation {
        matching: pairs.summary,
        bbox_diagonal: diagonal,
        position,
        position_relative: (diagonal > 0.0).then(|| position.scaled(diagonal)),
        log_scale: acc.log_scale.finish(),
        log_scale_infinite_equal: acc.log_scale_infinite_equal,
        rotation_deg: acc.rotation.finish(),
        opacity: acc.opacity.finish(),
        color_dc,
        color_dc_weighted: acc.color_weighted.finish(),
        color_dc_psnr_db: (color_dc.rmse > 0.0).then(|| -20.0 * color_dc.rmse.log10()),
        sh_bands_original: original.sh_bands,
        sh_bands_decoded: decoded.sh_bands,
        sh_bands_dropped: original.sh_bands.saturating_sub(decoded.sh_bands),
        sh: (0..bands as usize)
            .map(|b| BandError {
                band: b as u8 + 1,
                error: acc.sh[b].finish(),
            })
            .collect(),
        sizes: None,
    })
}
