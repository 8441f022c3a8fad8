//! The k-means stage's deduplication of SH rows (`encode::kmeans::distinct_rows`) against the
//! baseline it replaced, a `HashMap<&[u32], u32>` with std's SipHash, in the same run.
//!
//! Floor: one read of the rows (N·D·4 bytes: 180 MB at 1M × 45) to hash them, in parallel,
//! plus one sequential pass of N map probes and the copy of the distinct rows.
//!
//! Sizes: `BENCH_N` (default 1 000 000), `BENCH_D` (default 45), `BENCH_DISTINCT` (distinct
//! rows among them, default N), `BENCH_REPS` (default 3). `cargo bench --bench distinct_rows`.

use std::collections::HashMap;

use splatpress::encode::kmeans::{Rows, distinct_rows};
use splatpress::encode::rng::Rng;

mod common;
use common::{best, env_usize};

/// The implementation before session 4: one sequential pass hashing whole rows with SipHash.
fn baseline(points: &[f32], dim: usize) -> (Vec<f32>, Vec<u32>) {
    let bits: &[u32] = bytemuck::cast_slice(points);
    let mut index: HashMap<&[u32], u32> = HashMap::new();
    let mut unique = Vec::new();
    let inverse = bits
        .chunks_exact(dim)
        .zip(points.chunks_exact(dim))
        .map(|(key, row)| {
            let next = index.len() as u32;
            *index.entry(key).or_insert_with(|| {
                unique.extend_from_slice(row);
                next
            })
        })
        .collect();
    (unique, inverse)
}

fn main() {
    let n = env_usize("BENCH_N", 1_000_000);
    let dim = env_usize("BENCH_D", 45);
    let distinct = env_usize("BENCH_DISTINCT", n).clamp(1, n);
    let reps = env_usize("BENCH_REPS", 3);
    let mut rng = Rng::new(1);
    let pool: Vec<f32> = (0..distinct * dim).map(|_| rng.uniform() as f32).collect();
    let mut points = Vec::with_capacity(n * dim);
    for i in 0..n {
        let row = if distinct == n {
            i
        } else {
            rng.below(distinct as u64) as usize
        };
        points.extend_from_slice(&pool[row * dim..(row + 1) * dim]);
    }
    let (firsts, inverse) = distinct_rows(&Rows::new(&points, dim));
    assert_eq!(
        baseline(&points, dim),
        (Rows::new(&points, dim).gather(&firsts), inverse),
        "same answer"
    );
    let old = best(reps, || drop(baseline(&points, dim)));
    let new = best(reps, || drop(distinct_rows(&Rows::new(&points, dim))));
    println!(
        "distinct_rows N={n} D={dim} distinct={distinct} threads={}: baseline (SipHash map) {:.3} s, now {:.3} s, {:.2}x",
        rayon::current_num_threads(),
        old.as_secs_f64(),
        new.as_secs_f64(),
        old.as_secs_f64() / new.as_secs_f64()
    );
}
