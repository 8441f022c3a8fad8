//! CUDA benchmarks: k-means kernels and end-to-end compression, with `cpu` / `wgpu` beside.
//!
//! 1. Kernels at `BENCH_N` × `BENCH_K` × `BENCH_D` (default 1 000 000 × 65 536 × 45): one
//!    `kmeans_assign` (fresh state), one `kmeans_update`, and one Lloyd iteration of
//!    `encode::kmeans::cluster` (assign + update + download + host centroid step + write,
//!    averaged over `BENCH_ITERS`, default 10), best of `BENCH_REPS` (default 3) after a
//!    warm-up; GFLOP/s = 2·N·K·D / assign time.
//!    The time the driver took to load (JIT) the PTX is printed first.
//! 2. End to end (`BENCH_E2E=1`): `encode_with` on a generated scene of `BENCH_SPLATS`
//!    (default 1 000 000) splats with `BENCH_BANDS` (default 3) SH bands, on each backend
//!    in `BENCH_BACKENDS` (default "cuda,wgpu,cpu"): seconds, peak GPU memory in use
//!    (sampled every 5 ms through cuMemGetInfo) and peak host RSS, per stage.
//!
//! `BENCH_KERNELS=0` skips part 1; `BENCH_WGPU=1` adds wgpu to part 1.
//! `SPLATPRESS_CUDA_ASSIGN=fp32` (or `f16`) sets the CUDA backend's
//! [`CudaOptions::assign`] (default: `auto`, the f16 tensor-core path where it applies).
//! `cargo bench --bench kmeans_cuda` (release build). Without CUDA it prints why and exits 0.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use splatpress::backend::Backend;
use splatpress::backend::cpu::Cpu;
use splatpress::backend::cuda::{AssignPrecision, CudaBackend, CudaOptions};
use splatpress::backend::wgpu::{WgpuBackend, WgpuOptions};
use splatpress::encode::{kmeans, pipeline};
use splatpress::{Event, Progress};

mod common;
use common::env_usize;

/// The CUDA options from `SPLATPRESS_CUDA_ASSIGN` (`fp32`, `f16`, else `auto`).
fn cuda_options() -> CudaOptions {
    let assign = match std::env::var("SPLATPRESS_CUDA_ASSIGN").as_deref() {
        Ok("fp32") => AssignPrecision::Fp32,
        Ok("f16") => AssignPrecision::F16,
        _ => AssignPrecision::Auto,
    };
    CudaOptions { assign }
}

fn random(count: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

fn best_of(
    reps: usize,
    mut f: impl FnMut() -> splatpress::Result<()>,
) -> splatpress::Result<Duration> {
    f()?;
    let mut best = Duration::MAX;
    for _ in 0..reps {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

fn kernels<B: Backend>(
    backend: &B,
    points: &[f32],
    k: usize,
    dim: usize,
    reps: usize,
    iters: usize,
) -> splatpress::Result<()> {
    let n = points.len() / dim;
    let centroids = points[..k * dim].to_vec();
    let p = backend.upload(points)?;
    let c = backend.upload(&centroids)?;
    let mut labels = backend.zeros::<u32>(n)?;
    let assign = best_of(reps, || {
        backend.kmeans_assign(&p, &c, dim, &mut labels, &mut B::AssignState::default())
    })?;
    let mut sums = backend.zeros::<f32>(k * dim)?;
    let mut counts = backend.zeros::<u32>(k)?;
    let update = best_of(reps, || {
        backend.kmeans_update(&p, &labels, dim, k, &mut sums, &mut counts)
    })?;
    // One Lloyd iteration through the driver = (cluster(iters) − cluster(0)) / iters (both
    // end with an assignment and download the labels).
    let zero = best_of(1, || {
        kmeans::cluster(backend, kmeans::Rows::new(points, dim), k, 0, 1, &()).map(|_| ())
    })?;
    let many = best_of(1, || {
        kmeans::cluster(
            backend,
            kmeans::Rows::new(points, dim),
            k,
            iters as u32,
            1,
            &(),
        )
        .map(|_| ())
    })?;
    let flop = 2.0 * n as f64 * k as f64 * dim as f64;
    println!(
        "{:>5}: assign {:>9.2} ms ({:>7.0} GFLOP/s)  update {:>8.2} ms  iteration {:>9.2} ms  (cluster(0) {:.2} s, cluster({iters}) {:.2} s)",
        backend.name(),
        assign.as_secs_f64() * 1e3,
        flop / assign.as_secs_f64() / 1e9,
        update.as_secs_f64() * 1e3,
        (many.as_secs_f64() - zero.as_secs_f64()) / iters as f64 * 1e3,
        zero.as_secs_f64(),
        many.as_secs_f64()
    );
    Ok(())
}

/// Peak host RSS and GPU memory per stage, sampled in the background.
struct Recorder {
    stages: Mutex<Vec<(String, f64, u64, u64)>>,
    current: Mutex<(u64, u64)>,
}

impl Progress for Recorder {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Start { .. } => *self.current.lock().unwrap() = (0, 0),
            Event::Finish { stage, secs } => {
                let (gpu, host) = *self.current.lock().unwrap();
                self.stages
                    .lock()
                    .unwrap()
                    .push((stage.to_string(), secs, gpu, host));
            }
            Event::Step { .. } | Event::Note(_) => {}
        }
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn end_to_end<B: Backend + Sync>(
    backend: &B,
    cuda: Option<&CudaBackend>,
    scene: &splatpress::Scene,
) {
    let recorder = Recorder {
        stages: Mutex::new(Vec::new()),
        current: Mutex::new((0, 0)),
    };
    let baseline = cuda
        .and_then(|c| c.memory().ok())
        .map_or(0, |(free, total)| total - free);
    let done = AtomicBool::new(false);
    let start = Instant::now();
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let gpu = cuda
                    .and_then(|c| c.memory().ok())
                    .map_or(0, |(free, total)| (total - free) as u64)
                    .saturating_sub(baseline as u64);
                let host = rss_bytes();
                let mut cur = recorder.current.lock().unwrap();
                cur.0 = cur.0.max(gpu);
                cur.1 = cur.1.max(host);
                drop(cur);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let r = pipeline::encode_with(backend, scene, &pipeline::Options::default(), &recorder);
        done.store(true, Ordering::Relaxed);
        r
    });
    let total = start.elapsed().as_secs_f64();
    match result {
        Err(e) => println!("{:>5}: failed: {e}", backend.name()),
        Ok((_, report)) => {
            println!(
                "{:>5}: total {total:.2} s, palette {}",
                backend.name(),
                report.palette
            );
            for (stage, secs, gpu, host) in recorder.stages.lock().unwrap().iter() {
                println!(
                    "       {stage:<22} {secs:>8.3} s   GPU peak {:>8.1} MiB   host RSS peak {:>8.1} MiB",
                    *gpu as f64 / 1048576.0,
                    *host as f64 / 1048576.0
                );
            }
        }
    }
}

fn main() {
    match splatpress::backend::cuda::devices() {
        Ok(list) => println!(
            "devices: {}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        ),
        Err(e) => println!("devices: {e}"),
    }
    let cuda = match CudaBackend::with_options(0, cuda_options()) {
        Ok(b) => b,
        Err(e) => {
            println!("cuda: skipped: {e}");
            return;
        }
    };
    println!(
        "cuda device: {}, PTX load (JIT or driver cache) {:.1} ms, {:?}",
        cuda.device_name(),
        cuda.load_ms(),
        cuda.options()
    );
    let wgpu = || {
        WgpuBackend::new(WgpuOptions::default())
            .map_err(|e| println!(" wgpu: skipped: {e}"))
            .ok()
    };
    if env_usize("BENCH_KERNELS", 1) == 1 {
        let (n, k, dim) = (
            env_usize("BENCH_N", 1_000_000),
            env_usize("BENCH_K", 65_536),
            env_usize("BENCH_D", 45),
        );
        let reps = env_usize("BENCH_REPS", 3).max(1);
        let iters = env_usize("BENCH_ITERS", 10).max(1);
        println!("kmeans N={n} K={k} D={dim}, best of {reps}");
        let points = random(n * dim, 0x1234_5678);
        if let Err(e) = kernels(&cuda, &points, k, dim, reps, iters) {
            println!(" cuda: failed: {e}");
        }
        if env_usize("BENCH_WGPU", 0) == 1
            && let Some(w) = wgpu()
            && let Err(e) = kernels(&w, &points, k, dim, reps, iters)
        {
            println!(" wgpu: failed: {e}");
        }
    }
    if env_usize("BENCH_E2E", 0) == 1 {
        let splats = env_usize("BENCH_SPLATS", 1_000_000);
        let bands = env_usize("BENCH_BANDS", 3) as u8;
        let scene = splatpress::sample::scene(splats, bands, 1);
        println!("end to end: {splats} generated splats, SH{bands}");
        let list = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "cuda,wgpu,cpu".into());
        for name in list.split(',') {
            match name {
                "cuda" => end_to_end(&cuda, Some(&cuda), &scene),
                "wgpu" => {
                    if let Some(w) = wgpu() {
                        end_to_end(&w, None, &scene);
                    }
                }
                "cpu" => end_to_end(&Cpu, None, &scene),
                other => println!("unknown backend {other}"),
            }
        }
    }
}
