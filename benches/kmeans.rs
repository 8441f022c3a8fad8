//! k-means assignment: time and achieved FLOP/s (2·N·K·D per assignment) of the `cpu` and
//! `wgpu` backends on the same random input, and their ratio.
//!
//! Timed: one `kmeans_assign` call, which ends when the device is idle (the wgpu backend
//! waits inside the call), excluding upload and download. Inputs are built and uploaded
//! outside the timed block; the first call (pipeline compilation) is a warm-up.
//!
//! Sizes: `BENCH_N`, `BENCH_K`, `BENCH_D` (default 50 000 × 4 096 × 45, a moderate size
//! for lavapipe), `BENCH_REPS` (default 3), `BENCH_SKIP_CPU=1` to time only wgpu (e.g. N=1M,
//! K=65 536 on a GPU). `BENCH_ALLOW_CPU_ADAPTER=0` refuses lavapipe; `BENCH_F16=1` allows
//! f16 storage.
//!
//! `cargo bench --bench kmeans` (release build).

use std::time::{Duration, Instant};

use splatpress::backend::Backend;
use splatpress::backend::cpu::Cpu;
use splatpress::backend::wgpu::{WgpuBackend, WgpuOptions};

mod common;
use common::env_usize;

fn env_flag(name: &str, default: bool) -> bool {
    std::env::var(name).map_or(default, |v| v == "1")
}

/// Best of `reps` timed assignments after one warm-up.
fn time_assign<B: Backend>(
    backend: &B,
    points: &[f32],
    centroids: &[f32],
    dim: usize,
    reps: usize,
) -> splatpress::Result<Duration> {
    let n = points.len() / dim;
    let p = backend.upload(points)?;
    let c = backend.upload(centroids)?;
    let mut labels = backend.zeros::<u32>(n)?;
    backend.kmeans_assign(&p, &c, dim, &mut labels, &mut B::AssignState::default())?;
    let mut best = Duration::MAX;
    for _ in 0..reps {
        // A fresh state: a full assignment, no bounds carried over from the last one.
        let mut state = B::AssignState::default();
        let start = Instant::now();
        backend.kmeans_assign(&p, &c, dim, &mut labels, &mut state)?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

fn main() {
    let n = env_usize("BENCH_N", 50_000);
    let k = env_usize("BENCH_K", 4096);
    let dim = env_usize("BENCH_D", 45);
    let reps = env_usize("BENCH_REPS", 3).max(1);
    let flop = 2.0 * n as f64 * k as f64 * dim as f64;

    let mut state = 0x1234_5678_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let points: Vec<f32> = (0..n * dim).map(|_| next()).collect();
    let centroids: Vec<f32> = (0..k * dim).map(|_| next()).collect();
    println!(
        "kmeans_assign N={n} K={k} D={dim} ({:.3} GFLOP per assignment, best of {reps})",
        flop / 1e9
    );

    let report = |name: &str, t: Duration| {
        println!(
            "{name:>6}: {:>10.3} ms  {:>8.2} GFLOP/s",
            t.as_secs_f64() * 1e3,
            flop / t.as_secs_f64() / 1e9
        );
    };
    let cpu_time = if env_flag("BENCH_SKIP_CPU", false) {
        None
    } else {
        match time_assign(&Cpu, &points, &centroids, dim, reps) {
            Ok(t) => {
                report("cpu", t);
                Some(t)
            }
            Err(e) => {
                println!("cpu: failed: {e}");
                None
            }
        }
    };
    let options = WgpuOptions {
        allow_cpu: env_flag("BENCH_ALLOW_CPU_ADAPTER", true),
        allow_f16: env_flag("BENCH_F16", false),
        ..WgpuOptions::default()
    };
    match WgpuBackend::new(options) {
        Err(e) => println!("  wgpu: skipped: {e}"),
        Ok(backend) => {
            let a = backend.adapter();
            println!(
                "  wgpu adapter: {} ({}, {}, {}), f16 storage: {}",
                a.name,
                a.device_type,
                a.backend,
                a.driver_info,
                backend.uses_f16()
            );
            match time_assign(&backend, &points, &centroids, dim, reps) {
                Ok(t) => {
                    report("wgpu", t);
                    if let Some(c) = cpu_time {
                        println!(
                            "  ratio wgpu/cpu speed: {:.2}x",
                            c.as_secs_f64() / t.as_secs_f64()
                        );
                    }
                }
                Err(e) => println!("  wgpu: failed: {e}"),
            }
        }
    }
}
