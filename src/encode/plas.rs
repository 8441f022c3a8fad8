//! PLAS ordering (`algorithms.md` §1): a self-organising sort of the splats into the W×H
//! texture grid so that neighbouring texels hold similar splats. This module holds the schedule
//! (radii, blocks, stop rule), the features and the seeding, written once over
//! [`Backend`]: the blur, reorder and loss kernels run on whichever backend is chosen (the CPU
//! reference, WGSL or CUDA; [`crate::backend::plas`] says what they compute).
//!
//! Any N: the grid is the texel grid W×H of `quantize::grid_size`; cells ≥ N are padding pinned to the tail, so no
//! splat is dropped and the decoder's "first `count` texels" rule holds.

use crate::Result;
use crate::backend::Backend;
use crate::backend::plas::{PlasBlocks, PlasGrid};
use crate::encode::quantize::{opacity_byte, quat_code, symlog};
use crate::encode::{codebook, order, rng};
use crate::progress::{Event, Progress};
use rayon::prelude::*;

use crate::scene::Scene;

/// Schedule presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quality {
    /// Radius shrinks by 0.8, stop threshold 1e-3, at least 2 configurations per radius.
    Fast,
    /// The reference schedule: shrink 0.95, threshold 1e-4, at least 4 configurations.
    #[default]
    Default,
    /// Slower: shrink 0.98, threshold 1e-5, at least 4 configurations.
    Best,
}

/// Where PLAS starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// From the Morton order (keeps spatial locality the schedule does not undo).
    #[default]
    Morton,
    /// From a seeded uniform shuffle, as the references do.
    Shuffle,
}

/// Per-texture weights of [`Features::Texture`]: each channel is measured in the byte units of
/// the texture it ends up in, times its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextureWeights {
    /// The three means_u bytes (taken continuous: the 16-bit position / 256).
    pub means: f32,
    /// The three scales codebook indices.
    pub scales: f32,
    /// The three sh0 colour codebook indices.
    pub colour: f32,
    /// The opacity byte (sh0 alpha).
    pub opacity: f32,
    /// The four quats bytes.
    pub quats: f32,
}

/// What each splat's feature vector is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Features {
    /// sogs' 14 raw channels, equal weights: symlog means, opacity logit, log-scales,
    /// normalised quaternion, f_dc clamped to ±3.
    Sogs,
    /// The same 14 channels, each z-scored over the scene, the three means channels then
    /// multiplied by this weight.
    ZScored(f32),
    /// The 14 texture bytes the splat is stored as, weighted per texture.
    Texture(TextureWeights),
}

/// PLAS settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlasOptions {
    /// Schedule preset.
    pub quality: Quality,
    /// Starting order.
    pub init: Init,
    /// Feature vectors.
    pub features: Features,
    /// First blur radius; `None`: max(W, H)/2 − 1 (the reference). A small radius after a
    /// Morton start keeps the start's locality.
    pub start_radius: Option<f32>,
}

impl Default for PlasOptions {
    fn default() -> Self {
        PlasOptions {
            quality: Quality::Default,
            init: Init::Morton,
            // The best variant of the size study (BENCHMARKS.md): position first, the other
            // textures at 1/100 of its weight, quaternions left out.
            features: Features::Texture(TextureWeights {
                means: 1.0,
                scales: 0.01,
                colour: 0.01,
                opacity: 0.01,
                quats: 0.0,
            }),
            start_radius: None,
        }
    }
}

/// Schedule constants (§1.3, §1.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// First radius.
    pub start_radius: f32,
    /// Radius factor per step (< 1).
    pub shrink: f32,
    /// A reorder improving the loss by a smaller relative amount ends the configuration.
    pub improvement_break: f64,
    /// Configurations per radius at least (then while the last one improved).
    pub min_configs: u32,
    /// Configurations per radius at most.
    pub max_configs: u32,
    /// Reorders per configuration at most (a guard; the stop rule ends them much earlier).
    pub max_reorders: u32,
    /// Smallest block side.
    pub min_block: usize,
}

impl Schedule {
    /// The preset for a `width`×`height` grid.
    pub fn new(quality: Quality, width: usize, height: usize, start_radius: Option<f32>) -> Self {
        let start_radius = start_radius.unwrap_or(width.max(height) as f32 / 2.0 - 1.0);
        let (shrink, improvement_break, min_configs) = match quality {
            Quality::Fast => (0.8, 1e-3, 2),
            Quality::Default => (0.95, 1e-4, 4),
            Quality::Best => (0.98, 1e-5, 4),
        };
        Schedule {
            start_radius,
            shrink,
            improvement_break,
            min_configs,
            max_configs: 64,
            max_reorders: 10_000,
            min_block: 16,
        }
    }
}

impl Schedule {
    /// How many radii the schedule runs (the progress total).
    pub fn radii(&self) -> u64 {
        let mut radius = self.start_radius;
        let mut n = 0;
        while radius >= 1.0 {
            n += 1;
            radius *= self.shrink;
        }
        n
    }
}

/// The scene's scale and colour codebooks (built once by the pipeline, which writes them too):
/// the texture-byte features are indices into them.
#[derive(Debug, Clone, Copy)]
pub struct Codebooks<'a> {
    /// The 256 log-scale values of `scales.webp`.
    pub scales: &'a [f32],
    /// The 256 f_dc values of `sh0.webp`.
    pub colour: &'a [f32],
}

/// What a PLAS run did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PlasStats {
    /// Radii run.
    pub radii: u32,
    /// Block configurations run.
    pub configs: u32,
    /// Reorders run.
    pub reorders: u32,
    /// Loss after the last reorder.
    pub loss: f64,
}

const STREAM_SHUFFLE: u64 = 0x504c_0001;
const STREAM_SHIFT_X: u64 = 0x504c_0002;
const STREAM_SHIFT_Y: u64 = 0x504c_0003;
const STREAM_MULTIPLIER: u64 = 0x504c_0004;
const STREAM_OFFSET: u64 = 0x504c_0005;

/// `order[i]` = the source splat stored at texel i of the `width`×`height` grid, by PLAS.
pub fn order<B: Backend>(
    backend: &B,
    progress: &dyn Progress,
    scene: &Scene,
    books: &Codebooks,
    width: u32,
    height: u32,
    options: &PlasOptions,
    seed: u64,
) -> Result<Vec<u32>> {
    let (feats, channels) = features(scene, books, &options.features);
    let start = match options.init {
        Init::Morton => order::morton_with(backend, &scene.positions)?,
        Init::Shuffle => shuffle(scene.len(), seed),
    };
    let (w, h) = (width as usize, height as usize);
    let schedule = Schedule::new(options.quality, w, h, options.start_radius);
    let (order, _) = sort(
        backend, progress, &feats, channels, &start, None, w, h, &schedule, seed,
    )?;
    Ok(order)
}

/// Per-axis min and max of the finite values (0 for an axis with none).
fn log_bounds(logs: &[[f64; 3]]) -> ([f64; 3], [f64; 3]) {
    let mut min = [f64::INFINITY; 3];
    let mut max = [f64::NEG_INFINITY; 3];
    for p in logs {
        for a in 0..3 {
            if p[a].is_finite() {
                min[a] = min[a].min(p[a]);
                max[a] = max[a].max(p[a]);
            }
        }
    }
    for a in 0..3 {
        if min[a] > max[a] {
            (min[a], max[a]) = (0.0, 0.0);
        }
    }
    (min, max)
}

/// A seeded uniform permutation of `0..n` (Fisher–Yates on the counter-based generator).
pub fn shuffle(n: usize, seed: u64) -> Vec<u32> {
    let mut out: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = rng::below(seed, STREAM_SHUFFLE, i as u64, i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

/// Sorts the rows of `features` (`channels` f32 per splat) into a `width`×`height` grid by PLAS,
/// starting from `start` (texel → splat, a permutation of `0..n`); with `keys` (one per cell),
/// splats only move between cells of equal key. Returns texel → splat for the n first texels,
/// and what was run.
pub fn sort<B: Backend>(
    backend: &B,
    progress: &dyn Progress,
    features: &[f32],
    channels: usize,
    start: &[u32],
    keys: Option<&[u32]>,
    width: usize,
    height: usize,
    schedule: &Schedule,
    seed: u64,
) -> Result<(Vec<u32>, PlasStats)> {
    let n = start.len();
    assert!(
        n <= width * height,
        "{n} splats do not fit {width}×{height}"
    );
    assert_eq!(features.len(), n * channels, "one feature row per splat");
    let grid = PlasGrid {
        width,
        height,
        channels,
        valid: n,
    };
    let mut stats = PlasStats::default();
    let side = width.min(height) / 2 * 2;
    if n < 2 || side < 2 || channels == 0 {
        return Ok((start.to_vec(), stats));
    }
    let mut cells = backend.upload(&start_cells(features, channels, start, grid.cells()))?;
    let mut index: Vec<u32> = start.to_vec();
    index.extend(n as u32..grid.cells() as u32);
    let mut index = backend.upload(&index)?;
    let keys = keys.map(|k| backend.upload(k)).transpose()?;
    let mut target = backend.zeros::<f32>(grid.cells() * channels)?;

    let mut radius = schedule.start_radius;
    let mut step = 0u64;
    while radius >= 1.0 {
        let r = radius as usize;
        let block = (schedule.min_block.max((2 * r + 2) / 2 * 2)).min(side);
        backend.plas_blur(&grid, &cells, r, &mut target)?;
        stats.radii += 1;
        let mut config = 0u64;
        loop {
            let counter = (step << 40) | (config << 24);
            let mut blocks = PlasBlocks {
                size: block,
                shift_x: rng::below(seed, STREAM_SHIFT_X, counter, block as u64) as usize,
                shift_y: rng::below(seed, STREAM_SHIFT_Y, counter, block as u64) as usize,
                multiplier: 1,
                offset: 0,
            };
            let mut previous = backend.plas_loss(&grid, &cells, &target, &blocks)?;
            let mut improved = false;
            for reorder in 0..u64::from(schedule.max_reorders) {
                (blocks.multiplier, blocks.offset) = affine(seed, counter | reorder, block);
                let current = backend.plas_reorder(
                    &grid,
                    &mut cells,
                    &mut index,
                    &target,
                    keys.as_ref(),
                    &blocks,
                )?;
                stats.reorders += 1;
                stats.loss = current;
                let factor = if previous > 0.0 {
                    1.0 - current / previous
                } else {
                    0.0
                };
                if factor < schedule.improvement_break {
                    break;
                }
                improved = true;
                previous = current;
            }
            config += 1;
            stats.configs += 1;
            if (config >= u64::from(schedule.min_configs) && !improved)
                || config >= u64::from(schedule.max_configs)
            {
                break;
            }
        }
        radius *= schedule.shrink;
        step += 1;
        progress.event(Event::Step {
            done: u64::from(stats.radii),
        });
    }
    let mut index = backend.download(&index)?;
    index.truncate(n);
    Ok((index, stats))
}

/// The starting grid: the feature rows in `start` order, then padding cells holding the mean
/// feature vector (so they pull the blur toward nothing).
fn start_cells(features: &[f32], channels: usize, start: &[u32], cells: usize) -> Vec<f32> {
    let n = start.len();
    let mut mean = vec![0f64; channels];
    for row in features.chunks_exact(channels) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += f64::from(*v);
        }
    }
    let mut out = Vec::with_capacity(cells * channels);
    for &s in start {
        let s = s as usize;
        out.extend_from_slice(&features[s * channels..(s + 1) * channels]);
    }
    for _ in n..cells {
        out.extend(mean.iter().map(|m| (m / n as f64) as f32));
    }
    out
}

/// A random affine bijection k ↦ (a·k + c) mod B² of a block's positions: a odd and coprime
/// with B², c uniform.
fn affine(seed: u64, counter: u64, block: usize) -> (u64, u64) {
    let area = (block * block) as u64;
    let mut a = (rng::hash(seed, STREAM_MULTIPLIER, counter) % area) | 1;
    while gcd(a, area) != 1 {
        a = (a + 2) % area;
    }
    (a, rng::below(seed, STREAM_OFFSET, counter, area))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A finite stand-in for a value: NaN → 0, clamped to ±`bound`.
fn finite(v: f32, bound: f32) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-bound, bound)
    }
}

/// The feature rows of `scene` (splat-major) and their channel count.
pub fn features(scene: &Scene, books: &Codebooks, kind: &Features) -> (Vec<f32>, usize) {
    match kind {
        Features::Sogs => (raw_channels(scene), 14),
        Features::ZScored(means) => {
            let mut f = raw_channels(scene);
            zscore(&mut f, 14);
            for row in f.chunks_exact_mut(14) {
                row[..3].iter_mut().for_each(|v| *v *= means);
            }
            (f, 14)
        }
        Features::Texture(w) => {
            // Channels of weight 0 only cost bandwidth: leave them out.
            let weights = [
                [w.means; 3].as_slice(),
                &[w.scales; 3],
                &[w.colour; 3],
                &[w.opacity],
                &[w.quats; 4],
            ]
            .concat();
            let keep: Vec<usize> = (0..14).filter(|&c| weights[c] != 0.0).collect();
            let rows = texture_channels(scene, books, w);
            if keep.len() == 14 {
                return (rows, 14);
            }
            let out = rows
                .chunks_exact(14)
                .flat_map(|row| keep.iter().map(move |&c| row[c]))
                .collect();
            (out, keep.len())
        }
    }
}

/// sogs' channels: symlog means 3, opacity logit 1, log-scales 3, quaternion 4, f_dc 3.
fn raw_channels(scene: &Scene) -> Vec<f32> {
    let mut out = Vec::with_capacity(scene.len() * 14);
    for i in 0..scene.len() {
        out.extend(scene.positions[i].map(|v| symlog(v) as f32));
        out.push(finite(scene.opacities[i], 30.0));
        out.extend(scene.log_scales[i].map(|v| finite(v, 30.0)));
        let q = scene.rotations[i];
        let norm = q.iter().map(|c| c * c).sum::<f32>().sqrt();
        let sign = if q[3] < 0.0 { -1.0 } else { 1.0 };
        out.extend(q.map(|c| if norm > 0.0 { sign * c / norm } else { 0.0 }));
        out.extend(scene.sh_dc[i].map(|v| finite(v, 3.0)));
    }
    out
}

/// Z-scores each channel of `rows` (`channels` per row) over the rows; constant channels → 0.
fn zscore(rows: &mut [f32], channels: usize) {
    let n = (rows.len() / channels).max(1) as f64;
    for ch in 0..channels {
        let column = rows.iter().skip(ch).step_by(channels);
        let mean = column.clone().map(|v| f64::from(*v)).sum::<f64>() / n;
        let var = column.map(|v| (f64::from(*v) - mean).powi(2)).sum::<f64>() / n;
        let scale = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
        for v in rows.iter_mut().skip(ch).step_by(channels) {
            *v = ((f64::from(*v) - mean) * scale) as f32;
        }
    }
}

/// The texture bytes of each splat (means_u continuous, scales and colour codebook indices,
/// opacity byte, quats bytes), each times its texture's weight.
fn texture_channels(scene: &Scene, books: &Codebooks, w: &TextureWeights) -> Vec<f32> {
    let logs: Vec<[f64; 3]> = scene.positions.iter().map(|p| p.map(symlog)).collect();
    let (min, max) = log_bounds(&logs);
    let scale_book = codebook::Quantizer::new(books.scales);
    let colour_book = codebook::Quantizer::new(books.colour);
    let mut out = vec![0f32; scene.len() * 14];
    out.par_chunks_mut(14).enumerate().for_each(|(i, row)| {
        for a in 0..3 {
            let range = max[a] - min[a];
            let u = if range > 0.0 {
                (256.0 * (logs[i][a] - min[a]) / range).clamp(0.0, 256.0)
            } else {
                0.0
            };
            row[a] = finite(u as f32, 256.0) * w.means;
        }
        for a in 0..3 {
            row[3 + a] = f32::from(scale_book.index(scene.log_scales[i][a])) * w.scales;
            row[6 + a] = f32::from(colour_book.index(scene.sh_dc[i][a])) * w.colour;
        }
        row[9] = f32::from(opacity_byte(scene.opacities[i])) * w.opacity;
        // The fourth feature is 252 + the largest component's index, as the texture stores it
        // (the weights were measured on those values).
        let [q0, q1, q2, largest] = quat_code(&scene.rotations[i]);
        for (k, b) in [q0, q1, q2, 252 + largest].into_iter().enumerate() {
            row[10 + k] = f32::from(b) * w.quats;
        }
    });
    out
}

#[cfg(test)]
#[path = "plas_tests.rs"]
mod tests;
