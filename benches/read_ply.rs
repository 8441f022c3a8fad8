//! Times `ply::read` on a 1M-splat, 62-float binary PLY (248 MB, the INRIA SH3 layout) against
//! a naive per-vertex reader written here, in the same process. Warm page cache: each reader
//! runs once untimed, then 5 timed runs; the median is reported.
//!
//! Run: `cargo bench --bench read_ply`.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Instant;

use splatpress::Scene;
use splatpress::formats::ply;
use splatpress::scene::Model;

mod common;
use common::median;

const SPLATS: usize = 1_000_000;
const RUNS: usize = 5;

fn synthetic_scene(n: usize) -> Scene {
    let f = |i: usize, k: usize| ((i * 31 + k * 7) % 1000) as f32 * 0.001 - 0.5;
    Scene {
        positions: (0..n).map(|i| [f(i, 0), f(i, 1), f(i, 2)]).collect(),
        rotations: (0..n).map(|i| [1.0, f(i, 3), f(i, 4), f(i, 5)]).collect(),
        log_scales: (0..n).map(|i| [f(i, 6) - 4.0; 3]).collect(),
        opacities: (0..n).map(|i| f(i, 7)).collect(),
        sh_dc: (0..n).map(|i| [f(i, 8); 3]).collect(),
        sh_bands: 3,
        sh_rest: (0..n * 45).map(|i| f(i, 9)).collect(),
        model: Model::Default,
        extras: None,
    }
}

/// The baseline: parse the header line by line, then read one vertex at a time and push each
/// property into its own column (62 `Vec<f32>`), as a straightforward reader would.
fn naive_read(path: &Path) -> Vec<Vec<f32>> {
    let mut reader = BufReader::new(File::open(path).unwrap());
    let mut count = 0usize;
    let mut props = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["element", "vertex", n] => count = n.parse().unwrap(),
            ["property", "float", _] => props += 1,
            ["end_header"] => break,
            _ => {}
        }
    }
    let mut columns = vec![Vec::with_capacity(count); props];
    let mut row = vec![0u8; props * 4];
    for _ in 0..count {
        reader.read_exact(&mut row).unwrap();
        for (k, column) in columns.iter_mut().enumerate() {
            let b = &row[4 * k..4 * k + 4];
            column.push(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        }
    }
    columns
}

fn median_seconds(mut run: impl FnMut()) -> f64 {
    run(); // warm the page cache and the allocator
    median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.ply");
    ply::write(&path, &synthetic_scene(SPLATS)).expect("write the bench PLY");
    let bytes = std::fs::metadata(&path).expect("bench file").len() as f64;
    let mb = bytes / 1e6;

    // Sanity: both readers see the same last value of the last column (rot_3).
    let scene = ply::read(&path).expect("read");
    let naive = naive_read(&path);
    assert_eq!(scene.rotations[SPLATS - 1][3], naive[61][SPLATS - 1]);
    drop((scene, naive));

    let ours = median_seconds(|| {
        black_box(ply::read(&path).expect("read"));
    });
    let baseline = median_seconds(|| {
        black_box(naive_read(&path));
    });
    println!(
        "read_ply: {SPLATS} splats x 62 floats, {mb:.1} MB, median of {RUNS} runs, {} threads",
        rayon::current_num_threads()
    );
    println!("  ply::read        {ours:.3} s  {:7.0} MB/s", mb / ours);
    println!(
        "  naive per-vertex {baseline:.3} s  {:7.0} MB/s",
        mb / baseline
    );
    println!("  speed-up         {:.2}x", baseline / ours);
}
