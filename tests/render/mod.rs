//! The renderer behind `eval --render` (`src/render/`):
//!
//! - [`analytic`]: analytic cases, on the CPU reference and on wgpu: one isotropic Gaussian
//!   (pixel values at its centre and at 1σ from the closed form), an anisotropic one turned 90°
//!   about the view axis (the picture transposes), two opaque splats (the nearer wins whatever
//!   their order in the file), SH degree 1 (the colour follows the view direction as the
//!   formula says);
//! - [`cpu_wgpu`]: wgpu against the CPU on the sample scene from orbit views (PSNR bar
//!   [`cpu_wgpu::CPU_WGPU_BAR`]);
//! - [`gpu_bins`]: binning and the depth sort on wgpu against the host's `render::bin`,
//!   exactly (the sample, ties, large, empty and inverted rectangles, an empty scene, a
//!   scan over a million splats, many sort blocks), and the batched projection;
//! - [`cli`]: the command: `eval --render --json` on a compressed sample, a file against
//!   itself, one level of a streamed SOG, `--images` (PNG signature and sizes), a
//!   `cameras.json` beside the PLY, a bad one;
//! - agreement with the PlayCanvas engine: `tests/render_engine.rs`.
//!
//! Without a wgpu adapter the wgpu cases print `skipped:` (`REQUIRE_GPU_ADAPTER=1` fails
//! them).

use std::sync::OnceLock;

use splatpress::Scene;
use splatpress::backend::wgpu::WgpuOptions;
use splatpress::render::wgpu::WgpuRenderer;
use splatpress::render::{self, Camera, Image, Kernel, Renderer};
use splatpress::scene::SH_C0;

use crate::util;

mod analytic;
mod cli;
mod cpu_wgpu;
mod gpu_bins;

/// The wgpu renderer on any adapter (lavapipe included), or `None` after printing why.
fn gpu() -> Option<&'static WgpuRenderer> {
    static SLOT: OnceLock<Result<WgpuRenderer, String>> = OnceLock::new();
    let slot = SLOT.get_or_init(|| {
        WgpuRenderer::new(WgpuOptions {
            allow_cpu: true,
            ..WgpuOptions::default()
        })
        .map_err(|e| e.to_string())
    });
    match slot {
        Ok(r) => Some(r),
        Err(why) => {
            if std::env::var("REQUIRE_GPU_ADAPTER").as_deref() == Ok("1") {
                panic!("REQUIRE_GPU_ADAPTER=1 but no wgpu adapter: {why}");
            }
            util::skip("render wgpu", &format!("no wgpu adapter ({why})"));
            None
        }
    }
}

/// Renders `scene` from `cameras` with the reference kernel on the CPU and, when an adapter
/// exists, on wgpu.
fn both(scene: &Scene, cameras: &[Camera]) -> Vec<(&'static str, Vec<Image>)> {
    both_with(scene, cameras, Kernel::Standard)
}

/// [`both`] with `kernel`.
fn both_with(scene: &Scene, cameras: &[Camera], kernel: Kernel) -> Vec<(&'static str, Vec<Image>)> {
    let prepared = render::prepare(scene);
    let mut out = vec![(
        "cpu",
        Renderer::Cpu
            .render_all(&prepared, cameras, kernel, &mut |_| {})
            .unwrap(),
    )];
    if let Some(gpu) = gpu() {
        out.push((
            "wgpu",
            gpu.render_all(&prepared, cameras, kernel, &mut |_| {})
                .unwrap(),
        ));
    }
    out
}

/// A camera at the origin looking down +z (OpenCV axes), `size`² pixels, focal 100 px, the
/// principal point on the centre of pixel (size/2, size/2).
fn axis_camera(size: u32) -> Camera {
    Camera {
        name: "axis".into(),
        rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        translation: [0.0; 3],
        fx: 100.0,
        fy: 100.0,
        cx: size as f32 / 2.0 + 0.5,
        cy: size as f32 / 2.0 + 0.5,
        width: size,
        height: size,
    }
}

fn logit(p: f32) -> f32 {
    (p / (1.0 - p)).ln()
}

/// The identity rotation (w, x, y, z).
const IDENTITY: [f32; 4] = [1.0, 0.0, 0.0, 0.0];

/// One splat: position, log-scales, quaternion, opacity, base colour.
type Splat = ([f32; 3], [f32; 3], [f32; 4], f32, [f32; 3]);

/// A scene of `splats`.
fn scene_of(splats: &[Splat]) -> Scene {
    let mut scene = Scene::default();
    for &(p, s, q, o, c) in splats {
        scene.positions.push(p);
        scene.log_scales.push(s);
        scene.rotations.push(q);
        scene.opacities.push(logit(o));
        scene.sh_dc.push(c.map(|v| (v - 0.5) / SH_C0));
    }
    scene
}

fn pixel(image: &Image, x: u32, y: u32) -> [f32; 3] {
    image.rgb[(y * image.width + x) as usize]
}

fn close(a: [f32; 3], b: [f32; 3], tol: f32) -> bool {
    (0..3).all(|c| (a[c] - b[c]).abs() <= tol)
}
