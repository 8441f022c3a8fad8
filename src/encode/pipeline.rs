//! Scene → [`Encoded`]: the order (Morton or PLAS), the codebooks, every attribute quantised,
//! and the SH palette. No file format here: `formats/` writes the result.

use crate::backend::Backend;
use crate::backend::cpu::Cpu;
use crate::encode::encoded::{Encoded, ShPalette};
use crate::encode::plas::PlasOptions;
use crate::encode::rate::{self, Quality};
use crate::encode::{codebook, kmeans, order, plas, quantize};
use crate::progress::{Progress, stage};
use crate::scene::{Scene, sh_coeffs};
use crate::{Error, Result};

/// Encoder settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lloyd iterations of the SH palette k-means.
    pub sh_iterations: u32,
    /// Keep at most this many SH bands (`None`: all the scene has).
    pub sh_bands: Option<u8>,
    /// Seed of every random choice.
    pub seed: u64,
    /// How splats are laid out in the texture grid.
    pub order: Order,
    /// How much of the error margin over splat-transform is spent on size
    /// ([`rate`](crate::encode::rate)); `Max` (the default) spends none.
    pub quality: Quality,
}

/// Splat order in the texture grid.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Order {
    /// Morton (Z-order) codes of the positions, as splat-transform: fast.
    #[default]
    Morton,
    /// PLAS self-organising sort (`algorithms.md` §1): smaller textures, slower.
    Plas(PlasOptions),
    /// The scene's own order (the identity): for callers that laid the splats out already,
    /// as the streamed SOG writer does with each chunk's Morton-sorted runs.
    Given,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sh_iterations: 10,
            sh_bands: None,
            seed: 0,
            order: Order::default(),
            quality: Quality::default(),
        }
    }
}

/// What the encoder did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Splats written.
    pub splats: usize,
    /// Texture width and height.
    pub width: u32,
    pub height: u32,
    /// SH bands written.
    pub sh_bands: u8,
    /// SH palette entries (0 without SH).
    pub palette: usize,
    /// Backend the kernels ran on.
    pub backend: String,
    /// Seconds per stage, in order.
    pub stages: Vec<(String, f64)>,
}

/// Encodes a sanitised scene on the CPU backend.
pub fn encode(
    scene: &Scene,
    options: &Options,
    progress: &dyn Progress,
) -> Result<(Encoded, Report)> {
    encode_with(&Cpu, scene, options, progress)
}

/// Encodes a sanitised scene (see [`Scene::sanitize`]), running the kernels on `backend`.
pub fn encode_with<B: Backend>(
    backend: &B,
    scene: &Scene,
    options: &Options,
    progress: &dyn Progress,
) -> Result<(Encoded, Report)> {
    let n = scene.len();
    if n == 0 {
        return Err(Error::Scene("no splats to compress".into()));
    }
    if n > u32::MAX as usize {
        return Err(Error::Scene(format!("{n} splats do not fit one SOG")));
    }
    scene.check_columns().map_err(Error::Scene)?;
    let (width, height) = quantize::grid_size(n)?;
    let bands = options
        .sh_bands
        .map_or(scene.sh_bands, |b| b.min(scene.sh_bands));
    let mut report = Report {
        splats: n,
        width,
        height,
        sh_bands: bands,
        backend: backend.name().to_string(),
        ..Report::default()
    };
    let mut timed = |name: &str, secs: f64| report.stages.push((name.to_string(), secs));

    // The codebooks do not depend on the order: built once, used by PLAS's features and by
    // the quantised columns (their time counts in "quantize").
    let book_start = std::time::Instant::now();
    // Each build is serial (sort, histogram, dynamic programme): run the two side by side.
    let (scales_codebook, colors_codebook) = rayon::join(
        || codebook::build(bytemuck::cast_slice(&scene.log_scales)),
        || codebook::build(bytemuck::cast_slice(&scene.sh_dc)),
    );
    let book_secs = book_start.elapsed().as_secs_f64();
    let books = plas::Codebooks {
        scales: &scales_codebook,
        colour: &colors_codebook,
    };
    let order_steps = match &options.order {
        Order::Morton | Order::Given => None,
        Order::Plas(p) => Some(
            plas::Schedule::new(p.quality, width as usize, height as usize, p.start_radius).radii(),
        ),
    };
    let (sorted, secs) = stage(progress, "order", order_steps, || -> Result<_> {
        let order = match &options.order {
            Order::Morton => order::morton_with(backend, &scene.positions)?,
            Order::Given => (0..n as u32).collect(),
            Order::Plas(plas_options) => plas::order(
                backend,
                progress,
                scene,
                &books,
                width,
                height,
                plas_options,
                options.seed,
            )?,
        };
        // Geometry and colour only: k-means reads the SH rows through `order` (below).
        let sorted = scene.select_bands(&order, 0);
        Ok((order, sorted))
    });
    let (order, sorted) = sorted?;
    timed("order", secs);

    let (columns, secs) = stage(progress, "quantize", None, || {
        (
            quantize::means(&sorted.positions),
            quantize::quats(&sorted.rotations),
            quantize::codes3(&sorted.log_scales, &scales_codebook),
            quantize::codes3(&sorted.sh_dc, &colors_codebook),
            quantize::opacities(&sorted.opacities),
        )
    });
    let (mut means, mut quats, scales, colors, mut opacities) = columns;
    timed("quantize", secs + book_secs);

    let share = options.quality.share();
    if share > 0.0 {
        let (_, secs) = stage(progress, "rate", None, || {
            let w = width as usize;
            rate::spend_means(&sorted.positions, &mut means, w, share);
            let impact = rate::rotation_impact(&sorted.log_scales, &sorted.opacities);
            rate::spend_quats(&sorted.rotations, &impact, &mut quats, w, share);
            rate::spend_opacities(&sorted.opacities, &mut opacities, w, share);
        });
        timed("rate", secs);
    }

    drop(sorted);

    let mut sh = None;
    if bands > 0 {
        let coeffs = sh_coeffs(bands);
        let palette = kmeans::palette_size(n);
        let start = std::time::Instant::now();
        // With every band kept, k-means reads the scene's rows through the texel order (no
        // copy of the largest column); fewer bands are gathered, being shorter rows.
        let truncated;
        let rows = if bands == scene.sh_bands {
            kmeans::Rows::in_order(&scene.sh_rest, 3 * coeffs, &order)
        } else {
            truncated = scene.select_rest(&order, bands);
            kmeans::Rows::new(&truncated, 3 * coeffs)
        };
        let clusters = kmeans::cluster(
            backend,
            rows,
            palette,
            options.sh_iterations,
            options.seed,
            progress,
        )?;
        timed("k-means", start.elapsed().as_secs_f64());
        let (palette_sh, secs) = stage(progress, "palette", None, || {
            let codebook = codebook::build(&clusters.centroids);
            ShPalette {
                bands,
                coeffs,
                size: palette,
                codes: quantize::palette_codes(
                    &clusters.centroids[..palette * 3 * coeffs],
                    coeffs,
                    &codebook,
                ),
                codebook,
                labels: clusters.labels,
            }
        });
        timed("palette", secs);
        report.palette = palette;
        sh = Some(palette_sh);
    }

    let encoded = Encoded {
        width,
        height,
        order,
        model: scene.model,
        extras: scene.extras.clone(),
        means,
        quats,
        scales,
        scales_codebook,
        colors,
        colors_codebook,
        opacities,
        sh,
    };
    Ok((encoded, report))
}
