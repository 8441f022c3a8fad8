//! CPU k-means: (1) assignment throughput of the blocked kernel, in GFLOP/s (2·N·K·D), against
//! a plain per-point loop in the same process; (2) the whole palette k-means (Yinyang bounds)
//! against the same number of brute-force assignments, on the sample scene's SH.
//! Sizes from the environment: `N`, `K`, `D` for (1); `KM_N`, `KM_BANDS`, `KM_ITERS` for (2).

use std::time::Instant;

use splatpress::backend::cpu::{self, Cpu};
use splatpress::encode::{kmeans, rng};

mod common;
use common::{env_usize, median};

fn naive(points: &[f32], centroids: &[f32], dim: usize, labels: &mut [u32]) {
    for (x, l) in points.chunks(dim).zip(labels.iter_mut()) {
        let mut best = (f32::INFINITY, 0);
        for (c, row) in centroids.chunks(dim).enumerate() {
            let d: f32 = x.iter().zip(row).map(|(a, b)| (a - b) * (a - b)).sum();
            if d < best.0 {
                best = (d, c as u32);
            }
        }
        *l = best.1;
    }
}

fn kernel() {
    let (n, k, dim) = (
        env_usize("N", 20_000),
        env_usize("K", 4096),
        env_usize("D", 24),
    );
    let points: Vec<f32> = (0..n * dim)
        .map(|i| rng::unit(1, 0, i as u64) - 0.5)
        .collect();
    let centroids: Vec<f32> = (0..k * dim)
        .map(|i| rng::unit(2, 0, i as u64) - 0.5)
        .collect();
    let mut labels = vec![0u32; n];
    let flops = 2.0 * n as f64 * k as f64 * dim as f64;
    let blocked = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                cpu::kmeans_assign(&points, &centroids, dim, &mut labels);
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    let sample = (n / 20).max(1);
    let mut naive_labels = vec![0u32; sample];
    let t = Instant::now();
    naive(
        std::hint::black_box(&points[..sample * dim]),
        &centroids,
        dim,
        &mut naive_labels,
    );
    std::hint::black_box(&naive_labels);
    let naive_secs = t.elapsed().as_secs_f64() * (n as f64 / sample as f64);
    println!(
        "assignment N={n} K={k} D={dim} threads={}",
        rayon::current_num_threads()
    );
    println!(
        "  blocked: {blocked:.3} s  {:.1} GFLOP/s",
        flops / blocked / 1e9
    );
    println!(
        "  naive, one thread (extrapolated from {sample} points): {naive_secs:.3} s  {:.1} GFLOP/s",
        flops / naive_secs / 1e9
    );
    println!("  blocked vs naive: {:.1}x", naive_secs / blocked);
}

/// Prints the seconds of every k-means step as it happens.
struct StepTimer(std::sync::Mutex<Instant>);

impl splatpress::Progress for StepTimer {
    fn event(&self, event: splatpress::Event<'_>) {
        if let splatpress::Event::Step { done } = event {
            let mut last = self.0.lock().unwrap();
            println!("    step {done}: {:.2} s", last.elapsed().as_secs_f64());
            *last = Instant::now();
        }
    }
}

fn palette() {
    let (n, bands, iters) = (
        env_usize("KM_N", 100_000),
        env_usize("KM_BANDS", 2) as u8,
        env_usize("KM_ITERS", 10) as u32,
    );
    // KM_PLY: cluster the SH of a real scene instead of the sample.
    let scene = match std::env::var("KM_PLY") {
        Ok(path) => splatpress::formats::read(std::path::Path::new(&path)).expect("read KM_PLY"),
        Err(_) => splatpress::sample::scene(n, bands, 1),
    };
    let n = scene.len();
    let dim = scene.rest_len();
    let k = kmeans::palette_size(n);
    let t = Instant::now();
    let timer = StepTimer(std::sync::Mutex::new(Instant::now()));
    let clusters = kmeans::cluster(
        &Cpu,
        kmeans::Rows::new(&scene.sh_rest, dim),
        k,
        iters,
        0,
        &timer,
    )
    .expect("k-means");
    let total = t.elapsed().as_secs_f64();
    let mut labels = vec![0u32; n];
    let t = Instant::now();
    cpu::kmeans_assign(&scene.sh_rest, &clusters.centroids, dim, &mut labels);
    let brute = t.elapsed().as_secs_f64();
    let assignments = iters as f64 + 1.0;
    println!("palette k-means N={n} K={k} D={dim}, {iters} iterations (sample scene SH)");
    println!(
        "  with bounds: {total:.2} s total, {:.3} s per assignment",
        total / assignments
    );
    println!(
        "  brute force: {brute:.3} s per assignment, {:.2} s for {assignments} (estimated)",
        brute * assignments
    );
    println!(
        "  bounds vs brute force: {:.1}x",
        brute * assignments / total
    );
}

fn main() {
    if std::env::var("KM_PLY").is_err() {
        kernel();
    }
    palette();
}
