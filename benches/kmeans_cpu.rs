//! CPU k-means assignment throughput: achieved GFLOP/s (2·N·K·D per assignment) of the
//! blocked kernel against a plain per-point loop run in the same process.
//! `N`, `K`, `D` from the environment (defaults 20000, 4096, 24).

use std::time::Instant;

use splatpress::backend::cpu;
use splatpress::encode::rng;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

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

fn main() {
    let (n, k, dim) = (env("N", 20_000), env("K", 4096), env("D", 24));
    let points: Vec<f32> = (0..n * dim)
        .map(|i| rng::unit(1, 0, i as u64) - 0.5)
        .collect();
    let centroids: Vec<f32> = (0..k * dim)
        .map(|i| rng::unit(2, 0, i as u64) - 0.5)
        .collect();
    let mut labels = vec![0u32; n];
    let flops = 2.0 * n as f64 * k as f64 * dim as f64;
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        cpu::kmeans_assign(&points, &centroids, dim, &mut labels);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let blocked = times[1];
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
        "cpu kmeans_assign N={n} K={k} D={dim} threads={}",
        rayon::current_num_threads()
    );
    println!(
        "  blocked: {blocked:.3} s  {:.1} GFLOP/s",
        flops / blocked / 1e9
    );
    println!(
        "  naive (1 thread, extrapolated from {sample} points): {naive_secs:.3} s  {:.1} GFLOP/s",
        flops / naive_secs / 1e9
    );
    println!("  speedup: {:.1}x", naive_secs / blocked);
}
