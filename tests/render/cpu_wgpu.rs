//! wgpu against the CPU reference on the sample scene from orbit views.

use splatpress::eval::image::psnr;
use splatpress::render::{self, Kernel, Renderer, cameras};

use super::gpu;

/// PSNR (dB) wgpu must reach against the CPU reference on the sample scene. Both compute in
/// f32 in the same order; `exp` and fused multiply-adds differ by a few ulp.
pub(super) const CPU_WGPU_BAR: f64 = 50.0;

#[test]
fn wgpu_matches_the_cpu_on_the_sample() {
    let Some(gpu) = gpu() else { return };
    let scene = splatpress::sample::scene(20_000, 3, 1);
    let views = cameras::orbit(&scene, 4, 256);
    let prepared = render::prepare(&scene);
    for kernel in [Kernel::Standard, Kernel::PlayCanvas] {
        let cpu = Renderer::Cpu
            .render_all(&prepared, &views, kernel, &mut |_| {})
            .unwrap();
        let gpu = gpu
            .render_all(&prepared, &views, kernel, &mut |_| {})
            .unwrap();
        for (k, (a, b)) in cpu.iter().zip(&gpu).enumerate() {
            let db = psnr(&a.rgb, &b.rgb);
            let worst = a
                .rgb
                .iter()
                .zip(&b.rgb)
                .flat_map(|(p, q)| (0..3).map(move |c| (p[c] - q[c]).abs()))
                .fold(0.0f32, f32::max);
            eprintln!(
                "{kernel:?} view {k}: wgpu against cpu {db:.2} dB, largest difference {worst:e}"
            );
            assert!(
                db > CPU_WGPU_BAR,
                "{kernel:?} view {k}: {db:.2} dB < {CPU_WGPU_BAR}"
            );
            let covered = a.alpha.iter().filter(|&&v| v > 0.5).count();
            assert!(covered > 1000, "view {k}: only {covered} pixels covered");
        }
    }
}
