//! `eval --render`: the flags, and the text or JSON of the render-based report.

use std::path::{Path, PathBuf};

use clap::Args;

use super::commands::{print_json, print_text};
use super::progress::Reporter;
use crate::{RenderBackend, RenderKernel as Kernel, RenderOptions, Result};

/// Render-based quality (with `--render`).
#[derive(Args, Debug, Clone)]
pub(super) struct RenderArgs {
    /// Judge by pictures instead of attributes: render ORIGINAL and COMPRESSED from the same
    /// cameras with splatpress's own 3DGS rasteriser and report PSNR, SSIM and the PSNR over
    /// foreground pixels per view and their mean. Cameras: the INRIA trainer's cameras.json
    /// beside ORIGINAL (or --cameras), else orbit views fitted to the scene (median centre,
    /// 0.9-quantile radius, 50° fov, 20° elevation).
    #[arg(long)]
    pub render: bool,
    /// Orbit views to render; with a cameras.json, at most this many of its cameras, evenly
    /// spaced. 8 views see a scene from every side in a few seconds.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "render")]
    pub views: usize,
    /// Picture size in pixels: orbit views are SIZE×SIZE; training cameras are scaled down to
    /// this longer side. 512 keeps detail visible and a view under a second on a GPU.
    #[arg(long, value_name = "PX", default_value_t = 512, requires = "render")]
    pub size: u32,
    /// An INRIA cameras.json (id, img_name, width, height, position, rotation, fx, fy) to
    /// render from, instead of the one beside ORIGINAL or the orbit.
    #[arg(long, value_name = "FILE", requires = "render")]
    pub cameras: Option<PathBuf>,
    /// Write view_NN.png (original | compressed | difference ×8) per view and
    /// contact_sheet.png (every view, shrunk) into DIR, so a person can look.
    #[arg(long, value_name = "DIR", requires = "render")]
    pub images: Option<PathBuf>,
    /// Where to render: auto (a hardware GPU through wgpu, else the CPU), wgpu (any adapter,
    /// lavapipe included) or cpu (the reference rasteriser).
    #[arg(long = "render-backend", value_enum, default_value_t = RenderBackendArg::Auto, requires = "render")]
    pub backend: RenderBackendArg,
    /// The splat footprint: playcanvas (as the PlayCanvas engine and SOG viewers draw: its
    /// 0.075 px² low-pass, splats under about a pixel culled, the Gaussian cut at 2√2σ) or
    /// standard (the 3DGS reference: 0.3 px² low-pass, α ≤ 0.99, every splat drawn).
    #[arg(long, value_enum, default_value_t = KernelArg::Playcanvas, requires = "render")]
    pub kernel: KernelArg,
}

/// `--kernel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum KernelArg {
    Playcanvas,
    Standard,
}

/// `--render-backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum RenderBackendArg {
    Auto,
    Wgpu,
    Cpu,
}

/// Runs `eval --render`.
pub(super) fn eval_render(
    original: &Path,
    compressed: &Path,
    lod: Option<u32>,
    json: bool,
    args: &RenderArgs,
) -> Result<()> {
    let options = RenderOptions {
        views: args.views,
        size: args.size,
        cameras: args.cameras.clone(),
        images: args.images.clone(),
        backend: match args.backend {
            RenderBackendArg::Auto => RenderBackend::Auto,
            RenderBackendArg::Wgpu => RenderBackend::Wgpu,
            RenderBackendArg::Cpu => RenderBackend::Cpu,
        },
        kernel: match args.kernel {
            KernelArg::Playcanvas => Kernel::PlayCanvas,
            KernelArg::Standard => Kernel::Standard,
        },
        ..RenderOptions::default()
    };
    let reporter = Reporter::new(json);
    let evaluation = crate::evaluate_render(original, compressed, lod, &options, &reporter)?;
    if json {
        print_json(&evaluation)
    } else {
        print_text(&evaluation.table())
    }
}
