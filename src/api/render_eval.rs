//! `evaluate_render`: what compression cost in pictures (`eval --render`). Both scenes are
//! rendered from the same cameras by our rasteriser (`render/`) and compared per view: PSNR,
//! SSIM and the PSNR over foreground pixels; optionally the pictures are written for a person.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::eval::{image, pictures};
use crate::progress::{Event, Progress};
use crate::render::{self, Camera, Kernel, Renderer, cameras};
use crate::{Error, Result, formats};

/// Where the pictures are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderBackend {
    /// A hardware GPU through wgpu when there is one, else the CPU.
    #[default]
    Auto,
    /// wgpu on any adapter, a software one (lavapipe) included; an error when none opens.
    Wgpu,
    /// The CPU reference rasteriser.
    Cpu,
}

/// Settings of [`evaluate_render`].
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Orbit views when there are no training cameras; with a `cameras.json`, at most this
    /// many of its cameras, evenly spaced through the list.
    pub views: usize,
    /// Orbit pictures are `size`×`size`; training cameras are scaled down to this longer side.
    pub size: u32,
    /// An INRIA `cameras.json` to use; `None`: the one beside ORIGINAL (or at the trainer's
    /// output root, two folders up), else orbit cameras.
    pub cameras: Option<PathBuf>,
    /// Write each view's original | compressed | difference picture and a contact sheet here.
    pub images: Option<PathBuf>,
    /// Where to render.
    pub backend: RenderBackend,
    /// Factor applied to |original − compressed| in the difference panel.
    pub difference_gain: f32,
    /// The splat footprint: as the PlayCanvas engine draws (default: what SOG viewers
    /// show) or the reference 3DGS Gaussian.
    pub kernel: Kernel,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            views: 8,
            size: 512,
            cameras: None,
            images: None,
            backend: RenderBackend::Auto,
            difference_gain: 8.0,
            kernel: Kernel::PlayCanvas,
        }
    }
}

/// Quality of one view.
#[derive(Debug, Clone, Serialize)]
pub struct ViewQuality {
    /// The camera's name (`orbit k` or the training image's name).
    pub name: String,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// PSNR over RGB in [0, 1], dB; 100 for identical pictures (the cap).
    pub psnr_db: f64,
    /// Mean SSIM (11×11 Gaussian window, σ 1.5), per RGB channel then averaged; 1 = identical.
    pub ssim: f64,
    /// PSNR over the pixels where either render's coverage exceeds 0.05; absent when none does.
    pub masked_psnr_db: Option<f64>,
    /// Share of pixels that count as foreground.
    pub foreground: f64,
}

/// Mean over the views.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MeanQuality {
    /// Mean of the per-view PSNRs, dB.
    pub psnr_db: f64,
    /// Mean SSIM.
    pub ssim: f64,
    /// Mean of the per-view masked PSNRs over the views that have one.
    pub masked_psnr_db: Option<f64>,
}

/// The report of [`evaluate_render`]; its `Serialize` form is `eval --render --json`.
#[derive(Debug, Clone, Serialize)]
pub struct RenderEvaluation {
    /// The renderer that drew the pictures: `cpu` or `wgpu (<adapter>, <api>)`.
    pub renderer: String,
    /// The splat footprint drawn: `playcanvas` or `standard`.
    pub kernel: Kernel,
    /// Why a preferred renderer was passed over (empty when none was).
    pub renderer_notes: Vec<String>,
    /// `orbit` or the path of the `cameras.json` used.
    pub cameras: String,
    /// Splats rendered from ORIGINAL and from COMPRESSED.
    pub splats: [usize; 2],
    /// Per view.
    pub views: Vec<ViewQuality>,
    /// Means over the views.
    pub mean: MeanQuality,
    /// Pictures written (with `images`).
    pub images: Vec<String>,
    /// Wall time of the whole job, seconds.
    pub seconds: f64,
}

impl RenderEvaluation {
    /// The per-view table and the mean, for people.
    pub fn table(&self) -> String {
        let db = |v: f64| format!("{v:.2}");
        let mut text = format!(
            "renderer: {} ({:?} kernel); cameras: {}; splats: {} original, {} compressed\n",
            self.renderer, self.kernel, self.cameras, self.splats[0], self.splats[1]
        );
        for note in &self.renderer_notes {
            text += &format!("note: {note}\n");
        }
        text += &format!(
            "{:<24} {:>9} {:>10} {:>8} {:>14} {:>10}\n",
            "view", "size", "PSNR dB", "SSIM", "masked PSNR", "foreground"
        );
        for v in &self.views {
            text += &format!(
                "{:<24} {:>9} {:>10} {:>8.4} {:>14} {:>9.1}%\n",
                v.name,
                format!("{}x{}", v.width, v.height),
                db(v.psnr_db),
                v.ssim,
                v.masked_psnr_db.map_or("-".to_string(), db),
                100.0 * v.foreground
            );
        }
        text += &format!(
            "{:<24} {:>9} {:>10} {:>8.4} {:>14}\n",
            "mean",
            "",
            db(self.mean.psnr_db),
            self.mean.ssim,
            self.mean.masked_psnr_db.map_or("-".to_string(), db)
        );
        for file in &self.images {
            text += &format!("wrote {file}\n");
        }
        text
    }
}

/// Renders `original` and `compressed` (level `lod` of a streamed SOG; any readable format)
/// from the same cameras and compares the pictures (see [`RenderOptions`] for the choices).
pub fn evaluate_render(
    original: &Path,
    compressed: &Path,
    lod: Option<u32>,
    options: &RenderOptions,
    progress: &dyn Progress,
) -> Result<RenderEvaluation> {
    let start = std::time::Instant::now();
    if options.views == 0 {
        return Err(Error::Scene("--views must be at least 1".into()));
    }
    if !(16..=8192).contains(&options.size) {
        return Err(Error::Scene(format!(
            "--size {} is outside 16..=8192 pixels",
            options.size
        )));
    }
    let (source, _) = super::read_clean(original, None, progress)?;
    let (decoded, _) = formats::read_lod(compressed, lod)?;
    let (decoded, _) = decoded.sanitize();

    let (camera_list, camera_source) = choose_cameras(original, &source, options)?;
    let (renderer, renderer_notes) = open_renderer(options.backend)?;
    for note in &renderer_notes {
        progress.event(Event::Note(note));
    }
    progress.event(Event::Note(&format!(
        "rendering {} views with {} from {camera_source}",
        camera_list.len(),
        renderer.name()
    )));

    let scenes = [render::prepare(&source), render::prepare(&decoded)];
    let mut notes = renderer_notes;
    let mut renderer = renderer;
    let renders = match render_both(&renderer, &scenes, &camera_list, options.kernel, progress) {
        Err(e) if options.backend == RenderBackend::Auto && !matches!(renderer, Renderer::Cpu) => {
            // Both scenes must come from one renderer: start again on the CPU.
            let note = format!(
                "{} failed, rendering on the CPU instead: {e}",
                renderer.name()
            );
            progress.event(Event::Note(&note));
            notes.push(note);
            renderer = Renderer::Cpu;
            render_both(&renderer, &scenes, &camera_list, options.kernel, progress)?
        }
        other => other?,
    };
    let [original_images, compressed_images] = &renders;

    let mut views = Vec::with_capacity(camera_list.len());
    for (k, camera) in camera_list.iter().enumerate() {
        let (a, b) = (&original_images[k], &compressed_images[k]);
        let (masked, foreground) = image::masked_psnr(&a.rgb, &a.alpha, &b.rgb, &b.alpha);
        views.push(ViewQuality {
            name: camera.name.clone(),
            width: camera.width,
            height: camera.height,
            psnr_db: image::psnr(&a.rgb, &b.rgb),
            ssim: image::ssim(&a.rgb, &b.rgb, a.width as usize, a.height as usize),
            masked_psnr_db: masked,
            foreground,
        });
    }
    let count = views.len() as f64;
    let masked: Vec<f64> = views.iter().filter_map(|v| v.masked_psnr_db).collect();
    let mean = MeanQuality {
        psnr_db: views.iter().map(|v| v.psnr_db).sum::<f64>() / count,
        ssim: views.iter().map(|v| v.ssim).sum::<f64>() / count,
        masked_psnr_db: (!masked.is_empty())
            .then(|| masked.iter().sum::<f64>() / masked.len() as f64),
    };

    let mut written = Vec::new();
    if let Some(dir) = &options.images {
        written = write_pictures(
            dir,
            &camera_list,
            original_images,
            compressed_images,
            options,
        )?;
    }
    Ok(RenderEvaluation {
        renderer: renderer.name(),
        kernel: options.kernel,
        renderer_notes: notes,
        cameras: camera_source,
        splats: [source.len(), decoded.len()],
        views,
        mean,
        images: written,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Renders every view of the original and of the compressed scene.
fn render_both(
    renderer: &Renderer,
    scenes: &[render::Prepared; 2],
    cameras: &[Camera],
    kernel: Kernel,
    progress: &dyn Progress,
) -> Result<[Vec<render::Image>; 2]> {
    Ok([
        run_stage(
            renderer,
            &scenes[0],
            cameras,
            kernel,
            "render original",
            progress,
        )?,
        run_stage(
            renderer,
            &scenes[1],
            cameras,
            kernel,
            "render compressed",
            progress,
        )?,
    ])
}

/// Renders every view of `scene` as one progress stage.
fn run_stage(
    renderer: &Renderer,
    scene: &render::Prepared,
    cameras: &[Camera],
    kernel: Kernel,
    stage: &str,
    progress: &dyn Progress,
) -> Result<Vec<render::Image>> {
    let (images, _) = crate::progress::stage(progress, stage, Some(cameras.len() as u64), || {
        renderer.render_all(scene, cameras, kernel, &mut |k| {
            progress.event(Event::Step { done: k as u64 + 1 })
        })
    });
    images
}

/// The cameras and a description of where they came from.
fn choose_cameras(
    original: &Path,
    scene: &crate::Scene,
    options: &RenderOptions,
) -> Result<(Vec<Camera>, String)> {
    let found = options.cameras.clone().or_else(|| beside(original));
    match found {
        Some(path) => {
            let list = cameras::read_cameras_json(&path)?;
            let list = cameras::spread(list, options.views)
                .iter()
                .map(|c| cameras::fit(c, options.size))
                .collect();
            Ok((list, path.display().to_string()))
        }
        None => Ok((
            cameras::orbit(scene, options.views, options.size),
            "orbit".to_string(),
        )),
    }
}

/// A `cameras.json` beside `original`, or at the INRIA trainer's output root
/// (`<root>/point_cloud/iteration_N/point_cloud.ply`).
fn beside(original: &Path) -> Option<PathBuf> {
    let dir = original.parent()?;
    let here = dir.join("cameras.json");
    if here.is_file() {
        return Some(here);
    }
    let root = dir.parent()?.parent()?;
    let trainer = root.join("cameras.json");
    (dir.parent()?.file_name()? == "point_cloud" && trainer.is_file()).then_some(trainer)
}

/// The renderer `choice` asks for, and why a preferred one was passed over.
fn open_renderer(choice: RenderBackend) -> Result<(Renderer, Vec<String>)> {
    match choice {
        RenderBackend::Cpu => Ok((Renderer::Cpu, Vec::new())),
        #[cfg(feature = "wgpu")]
        RenderBackend::Wgpu | RenderBackend::Auto => {
            use crate::backend::wgpu::WgpuOptions;
            let options = WgpuOptions {
                allow_cpu: choice == RenderBackend::Wgpu,
                ..WgpuOptions::default()
            };
            match render::wgpu::WgpuRenderer::new(options) {
                Ok(r) => Ok((Renderer::Wgpu(Box::new(r)), Vec::new())),
                Err(e) if choice == RenderBackend::Auto => Ok((
                    Renderer::Cpu,
                    vec![format!(
                        "rendering on the CPU: no hardware GPU through wgpu ({e})"
                    )],
                )),
                Err(e) => Err(e),
            }
        }
        #[cfg(not(feature = "wgpu"))]
        RenderBackend::Wgpu => Err(Error::Backend {
            backend: "wgpu",
            message: "this build has no wgpu support (feature `wgpu`)".into(),
        }),
        #[cfg(not(feature = "wgpu"))]
        RenderBackend::Auto => Ok((
            Renderer::Cpu,
            vec!["rendering on the CPU: this build has no wgpu support".into()],
        )),
    }
}

/// Writes `view_NN.png` per view and `contact_sheet.png` into `dir`; returns their paths.
fn write_pictures(
    dir: &Path,
    cameras: &[Camera],
    originals: &[render::Image],
    compressed: &[render::Image],
    options: &RenderOptions,
) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = Vec::new();
    let mut panels = Vec::new();
    let mut long_side = 1;
    for (k, camera) in cameras.iter().enumerate() {
        let picture = pictures::triptych(
            camera.width,
            camera.height,
            &originals[k].rgb,
            &compressed[k].rgb,
            options.difference_gain,
        );
        let path = dir.join(format!("view_{k:02}.png"));
        pictures::write_png(&path, &picture)?;
        written.push(path.display().to_string());
        long_side = long_side.max(camera.width.max(camera.height));
        panels.push(picture);
    }
    let path = dir.join("contact_sheet.png");
    pictures::write_png(&path, &pictures::contact_sheet(&panels, long_side))?;
    written.push(path.display().to_string());
    Ok(written)
}
