//! Levels of detail: `encode::decimate::coarser_levels` (level 0 → 1 → … by moment-matched
//! merges) on every backend this machine has, with the CPU as the baseline of the same run.
//!
//! Floor per generation of n splats (SH3, dim 48): `decimate_candidates` evaluates n·WINDOW
//! pair costs of ~150 FLOPs geometry + 3·dim colour (≈ 300 FLOPs): 1M × 32 × 300 ≈ 10 GFLOP,
//! milliseconds on a GPU; the bytes are the columns (59 floats a splat: 236 MB at 1M) up and
//! the candidates (32 B a splat) down. The host side (Morton sort, greedy pairing: a sort of
//! 4n edges, the next generation's columns) is O(n log n) and is what remains at 1M.
//!
//! Sizes: `BENCH_N` (default 1 000 000), `BENCH_BANDS` (default 3), `BENCH_LEVELS` (default
//! 4), `BENCH_STRATEGY` (adaptive|uniform), `BENCH_BACKENDS` (comma list, default
//! cpu,wgpu,cuda), `BENCH_ALLOW_CPU_ADAPTER` (default 1). `cargo bench --bench decimate`.

use std::time::Instant;

use splatpress::Scene;
use splatpress::backend::Backend;
use splatpress::backend::select::{self, AnyBackend, Choice};
use splatpress::encode::decimate::{Strategy, coarser_levels};
use splatpress::encode::rng::Rng;

mod common;
use common::env_usize;

/// A scene like a trained one: splats on a few noisy surfaces, varied sizes and colours.
fn scene(n: usize, bands: u8) -> Scene {
    let mut rng = Rng::new(7);
    let mut s = Scene::with_capacity(n, bands, Default::default());
    let coeffs = splatpress::scene::sh_coeffs(bands);
    for i in 0..n {
        let (u, v) = (
            rng.uniform() as f32 * 20.0 - 10.0,
            rng.uniform() as f32 * 20.0 - 10.0,
        );
        let surface = (i % 3) as f32;
        let h = (u * 0.7).sin() * (v * 0.5).cos() + surface * 2.0;
        s.positions.push([u, h + rng.uniform() as f32 * 0.02, v]);
        let q = [
            1.0,
            rng.uniform() as f32 - 0.5,
            rng.uniform() as f32 - 0.5,
            rng.uniform() as f32 - 0.5,
        ];
        s.rotations.push(q);
        let size = -5.0 + 2.5 * rng.uniform() as f32;
        s.log_scales
            .push([size, size - rng.uniform() as f32, size - 3.0]);
        s.opacities.push(rng.uniform() as f32 * 8.0 - 3.0);
        let base = (u * 0.3).sin();
        s.sh_dc
            .push([base, base * 0.5 + rng.uniform() as f32 * 0.2, 0.3]);
        for _ in 0..3 * coeffs {
            s.sh_rest.push((rng.uniform() as f32 - 0.5) * 0.2);
        }
    }
    s
}

fn run<B: Backend>(backend: &B, scene: &Scene, levels: usize, strategy: Strategy) -> Option<f64> {
    let start = Instant::now();
    match coarser_levels(backend, scene, levels, strategy, &()) {
        Ok(out) => {
            let secs = start.elapsed().as_secs_f64();
            let counts: Vec<usize> = std::iter::once(scene.len())
                .chain(out.iter().map(Scene::len))
                .collect();
            println!("  {}: {secs:.3} s, counts {counts:?}", backend.name());
            Some(secs)
        }
        Err(e) => {
            println!("  {}: failed: {e}", backend.name());
            None
        }
    }
}

fn main() {
    let n = env_usize("BENCH_N", 1_000_000);
    let bands = env_usize("BENCH_BANDS", 3).min(3) as u8;
    let levels = env_usize("BENCH_LEVELS", 4);
    let strategy: Strategy = std::env::var("BENCH_STRATEGY")
        .unwrap_or_else(|_| "adaptive".into())
        .parse()
        .expect("BENCH_STRATEGY");
    let wanted = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "cpu,wgpu,cuda".into());
    let allow_cpu_adapter = std::env::var("BENCH_ALLOW_CPU_ADAPTER").map_or(true, |v| v != "0");
    let scene = scene(n, bands);
    println!(
        "decimate N={n} SH{bands} levels={levels} strategy={strategy:?} threads={}",
        rayon::current_num_threads()
    );
    let mut cpu_secs = None;
    for name in wanted.split(',') {
        let choice: Choice = name.trim().parse().expect("BENCH_BACKENDS");
        let backend = match select::open(choice, 0, !allow_cpu_adapter) {
            Ok(b) => b,
            Err(e) => {
                println!("  {name}: skipped: {e}");
                continue;
            }
        };
        println!("  {name}: {}", backend.describe());
        let secs = match &backend {
            AnyBackend::Cpu(b) => run(b, &scene, levels, strategy),
            #[cfg(feature = "wgpu")]
            AnyBackend::Wgpu(b) => run(b.as_ref(), &scene, levels, strategy),
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => run(b.as_ref(), &scene, levels, strategy),
        };
        match (choice, secs, cpu_secs) {
            (Choice::Cpu, Some(s), _) => cpu_secs = Some(s),
            (_, Some(s), Some(c)) => println!("  ratio {name}/cpu speed: {:.2}x", c / s),
            _ => {}
        }
    }
}
