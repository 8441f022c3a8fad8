//! The floor under the write stage: lossless WebP encodes one texture on one thread, so a
//! SOG's write takes at least as long as its largest texture, and `shN_labels` (N texels) can
//! only start after k-means. This times every texture of an existing SOG, one at a time, at
//! the efforts in `BENCH_EFFORTS` (default `4,0`: the default and the fastest), and prints each
//! effort's total bytes beside the first one's.
//!
//! `BENCH_SOG=scene.sog cargo bench --bench webp_textures` (a SOG written by `compress`; the
//! sample scene at `BENCH_N` splats, default 1 000 000, is compressed on the CPU when unset).

use std::time::Instant;

use splatpress::formats::sog::{self, webp};

mod common;
use common::env_usize;

fn main() {
    let path = match std::env::var_os("BENCH_SOG") {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let n = env_usize("BENCH_N", 1_000_000);
            let out = std::env::temp_dir().join(format!("webp-bench-{n}.sog"));
            let options = splatpress::Options {
                backend: splatpress::BackendChoice::Cpu,
                sh_iterations: 1,
                ..Default::default()
            };
            let input = splatpress::Input::Sample { count: n, bands: 3 };
            splatpress::compress_file(&input, &out, &options, &()).expect("compress the sample");
            out
        }
    };
    let efforts: Vec<u8> = std::env::var("BENCH_EFFORTS")
        .unwrap_or_else(|_| "4,0".into())
        .split(',')
        .map(|e| {
            e.trim()
                .parse()
                .expect("BENCH_EFFORTS: efforts 0..=9, comma-separated")
        })
        .collect();
    let file = sog::read(&path).expect("read the SOG");
    let mut seconds = vec![0.0f64; efforts.len()];
    let mut largest = vec![0.0f64; efforts.len()];
    let mut bytes = vec![0usize; efforts.len()];
    for (name, image) in &file.images {
        let mut line = format!("{name:14} {:>5}x{:<5}", image.width, image.height);
        for (slot, &effort) in efforts.iter().enumerate() {
            let start = Instant::now();
            let encoded = webp::encode(image, effort).expect("encode");
            let secs = start.elapsed().as_secs_f64();
            seconds[slot] += secs;
            largest[slot] = largest[slot].max(secs);
            bytes[slot] += encoded.len();
            line += &format!("  e{effort}: {secs:6.3} s {:>9} B", encoded.len());
        }
        println!("{line}");
    }
    println!("{}:", path.display());
    for (slot, effort) in efforts.iter().enumerate() {
        println!(
            "  effort {effort}: textures {:>10} B ({:.4} of effort {}), {:.3} s in all, largest one {:.3} s (the write stage's floor with one thread per texture)",
            bytes[slot],
            bytes[slot] as f64 / bytes[0] as f64,
            efforts[0],
            seconds[slot],
            largest[slot]
        );
    }
}
