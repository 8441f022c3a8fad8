//! The floor under the write stage: lossless WebP encodes one texture on one thread, so a
//! SOG's write takes at least as long as its largest texture, and `shN_labels` (N texels) can
//! only start after k-means. This times every texture of an existing SOG, one at a time, at
//! the default effort (4) and at effort 0.
//!
//! `BENCH_SOG=scene.sog cargo bench --bench webp_textures` (a SOG written by `compress`; the
//! sample scene at `BENCH_N` splats, default 1 000 000, is compressed on the CPU when unset).

use std::time::Instant;

use splatpress::formats::sog::{self, webp};

fn main() {
    let path = match std::env::var_os("BENCH_SOG") {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let n = std::env::var("BENCH_N")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000_000);
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
    let file = sog::read(&path).expect("read the SOG");
    let mut total = [0.0f64; 2];
    let mut largest = [0.0f64; 2];
    for (name, image) in &file.images {
        let mut line = format!("{name:14} {:>5}x{:<5}", image.width, image.height);
        for (slot, effort) in [4u8, 0].into_iter().enumerate() {
            let start = Instant::now();
            let bytes = webp::encode(image, effort).expect("encode");
            let secs = start.elapsed().as_secs_f64();
            total[slot] += secs;
            largest[slot] = largest[slot].max(secs);
            line += &format!("  effort {effort}: {secs:6.3} s {:>9} B", bytes.len());
        }
        println!("{line}");
    }
    println!(
        "{}: sum of textures {:.3} s (effort 4) / {:.3} s (effort 0); largest one {:.3} / {:.3} s = the write stage's floor with one thread per texture",
        path.display(),
        total[0],
        total[1],
        largest[0],
        largest[1]
    );
}
