//! Scene → Sog: Morton order, the per-attribute textures, the codebooks and the SH palette.

use crate::backend::Backend;
use crate::backend::cpu::Cpu;
use crate::encode::plas::PlasOptions;
use crate::encode::{codebook, kmeans, order, plas, textures};
use crate::io::sog::meta::{Asset, Codebooked, Files, Means, ShN};
use crate::io::sog::{Image, Meta, Sog};
use crate::progress::{Progress, stage};
use crate::scene::{Model, Scene, sh_coeffs};
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
}

/// Splat order in the texture grid.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Order {
    /// Morton (Z-order) codes of the positions, as splat-transform: fast.
    #[default]
    Morton,
    /// PLAS self-organising sort (`algorithms.md` §1): smaller textures, slower.
    Plas(PlasOptions),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sh_iterations: 10,
            sh_bands: None,
            seed: 0,
            order: Order::default(),
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

/// Compresses a sanitised scene on the CPU backend.
pub fn compress(
    scene: &Scene,
    options: &Options,
    progress: &dyn Progress,
) -> Result<(Sog, Report)> {
    compress_with(&Cpu, scene, options, progress)
}

/// Compresses a sanitised scene (see [`Scene::sanitize`]), running the k-means on `backend`.
pub fn compress_with<B: Backend>(
    backend: &B,
    scene: &Scene,
    options: &Options,
    progress: &dyn Progress,
) -> Result<(Sog, Report)> {
    let n = scene.len();
    if n == 0 {
        return Err(Error::Scene("no splats to compress".into()));
    }
    if n > u32::MAX as usize {
        return Err(Error::Scene(format!("{n} splats do not fit one SOG")));
    }
    scene.check_columns().map_err(Error::Scene)?;
    let (width, height) = textures::grid_size(n)?;
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
    // the textures (their time counts in "quantize").
    let book_start = std::time::Instant::now();
    let scale_book = codebook::build(bytemuck::cast_slice(&scene.log_scales));
    let color_book = codebook::build(bytemuck::cast_slice(&scene.sh_dc));
    let book_secs = book_start.elapsed().as_secs_f64();
    let books = plas::Codebooks {
        scales: &scale_book,
        colour: &color_book,
    };
    let order_steps = match &options.order {
        Order::Morton => None,
        Order::Plas(p) => Some(
            plas::Schedule::new(p.quality, width as usize, height as usize, p.start_radius).radii(),
        ),
    };
    let (sorted, secs) = stage(progress, "order", order_steps, || -> Result<Scene> {
        let order = match &options.order {
            Order::Morton => order::morton_with(backend, &scene.positions)?,
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
        let mut sorted = scene.select(&order);
        sorted.truncate_bands(bands);
        Ok(sorted)
    });
    let sorted = sorted?;
    timed("order", secs);

    let ((means, quats, scales, sh0), secs) = stage(progress, "quantize", None, || {
        let (means_l, means_u, mins, maxs) = textures::means(&sorted.positions, width, height);
        let quats = textures::quats(&sorted.rotations, width, height);
        let scales = textures::scales(&sorted.log_scales, &scale_book, width, height);
        let sh0 = textures::sh0(&sorted.sh_dc, &sorted.opacities, &color_book, width, height);
        (
            (means_l, means_u, mins, maxs),
            quats,
            (scales, scale_book),
            (sh0, color_book),
        )
    });
    timed("quantize", secs + book_secs);

    let mut images: Vec<(String, Image)> = vec![
        ("means_l.webp".into(), means.0),
        ("means_u.webp".into(), means.1),
        ("quats.webp".into(), quats),
        ("scales.webp".into(), scales.0),
        ("sh0.webp".into(), sh0.0),
    ];
    let mut sh_n = None;
    if bands > 0 {
        let coeffs = sh_coeffs(bands);
        let palette = kmeans::palette_size(n);
        let start = std::time::Instant::now();
        let clusters = kmeans::cluster(
            backend,
            &sorted.sh_rest,
            3 * coeffs,
            palette,
            options.sh_iterations,
            options.seed,
            progress,
        )?;
        timed("k-means", start.elapsed().as_secs_f64());
        let (book, secs) = stage(progress, "palette", None, || {
            let book = codebook::build(&clusters.centroids);
            images.push((
                "shN_centroids.webp".into(),
                textures::sh_centroids(&clusters.centroids, palette, coeffs, &book),
            ));
            images.push((
                "shN_labels.webp".into(),
                textures::sh_labels(&clusters.labels, width, height),
            ));
            book
        });
        timed("palette", secs);
        report.palette = palette;
        sh_n = Some(ShN {
            count: palette as u32,
            bands,
            codebook: book,
            files: vec!["shN_centroids.webp".into(), "shN_labels.webp".into()],
        });
    }

    let meta = Meta {
        version: 2,
        asset: Asset::default(),
        count: n as u32,
        model: (scene.model == Model::TwoD).then(|| "2dgs".to_string()),
        means: Means {
            mins: means.2,
            maxs: means.3,
            files: vec!["means_l.webp".into(), "means_u.webp".into()],
        },
        scales: Codebooked {
            codebook: scales.1,
            files: vec!["scales.webp".into()],
        },
        quats: Files {
            files: vec!["quats.webp".into()],
        },
        sh0: Codebooked {
            codebook: sh0.1,
            files: vec!["sh0.webp".into()],
        },
        sh_n,
    };
    Ok((Sog { meta, images }, report))
}
