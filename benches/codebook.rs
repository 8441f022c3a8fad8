//! The 256-entry codebook quantiser (`encode::codebook::build`), as the encoder calls it three
//! times per SOG: scales and colours (3 values a splat each) and the SH palette's centroids
//! (64k × 45 at SH3). A streamed SOG output builds them once per chunk.
//!
//! Floor: one sort of the values (4 bytes each: 2.9M centroid values = 12 MB, a few ms of
//! memory traffic when spread over the cores), one pass to bin them, and a DP of
//! 255 × 1024 × 512 ≈ 1.3·10⁸ additions and comparisons, ≈ 10 ms on one core, parallel over
//! bins. The baseline in the same run is `sort_unstable_by(total_cmp)` alone, on one thread.
//!
//! Sizes: `BENCH_N` values (default 2 949 120 = 65 536 × 45), `BENCH_REPS` (default 5).
//! `cargo bench --bench codebook`.

use splatpress::encode::codebook;
use splatpress::encode::rng::Rng;

mod common;
use common::{best, env_usize};

fn main() {
    let n = env_usize("BENCH_N", 65_536 * 45);
    let reps = env_usize("BENCH_REPS", 5);
    let mut rng = Rng::new(3);
    // SH-like values: most near zero, a long tail (a cube of a uniform keeps the sign).
    let values: Vec<f32> = (0..n)
        .map(|_| {
            let u = rng.uniform() as f32 * 2.0 - 1.0;
            u * u * u * 0.8
        })
        .collect();
    let threads = rayon::current_num_threads();
    let sort = best(reps, || {
        let mut v = values.clone();
        v.sort_unstable_by(f32::total_cmp);
        std::hint::black_box(&v);
    });
    let mut book = Vec::new();
    let build = best(reps, || book = codebook::build(&values));
    std::hint::black_box(&book);
    println!("codebook::build, {n} values, {threads} threads, best of {reps}");
    println!(
        "  baseline sort (std, 1 thread): {:8.2} ms",
        sort.as_secs_f64() * 1e3
    );
    println!(
        "  build:                         {:8.2} ms ({:.2}× the baseline sort)",
        build.as_secs_f64() * 1e3,
        build.as_secs_f64() / sort.as_secs_f64()
    );
}
