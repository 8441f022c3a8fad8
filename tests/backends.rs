//! End to end on two backends: the same scene and seed compressed with the k-means on `cpu`
//! and on `wgpu` give files whose sizes and eval errors agree within 1 %. (Per-kernel
//! agreement is in `conformance`; this checks that the whole pipeline does not drift.)

use splatpress::backend::cpu::Cpu;
use splatpress::backend::wgpu::{WgpuBackend, WgpuOptions};
use splatpress::encode::{Options, pipeline::compress_with};
use splatpress::{eval, io::sog};

fn wgpu() -> Option<WgpuBackend> {
    match WgpuBackend::new(WgpuOptions {
        allow_cpu: true,
        ..WgpuOptions::default()
    }) {
        Ok(b) => Some(b),
        Err(e) if std::env::var("REQUIRE_GPU_ADAPTER").as_deref() == Ok("1") => {
            panic!("REQUIRE_GPU_ADAPTER=1 but no wgpu adapter: {e}")
        }
        Err(e) => {
            eprintln!("skipped: no wgpu adapter ({e})");
            None
        }
    }
}

fn within(name: &str, a: f64, b: f64, tolerance: f64) {
    let scale = a.abs().max(b.abs()).max(1e-12);
    assert!(
        (a - b).abs() <= tolerance * scale,
        "{name}: cpu {a} vs wgpu {b}"
    );
}

#[test]
fn cpu_and_wgpu_files_agree_within_one_percent() {
    let Some(gpu) = wgpu() else { return };
    let scene = splatpress::sample::scene(16_000, 2, 4).sanitize().0;
    let options = Options {
        seed: 9,
        ..Options::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for (name, sog) in [
        ("cpu", compress_with(&Cpu, &scene, &options, &()).unwrap().0),
        (
            "wgpu",
            compress_with(&gpu, &scene, &options, &()).unwrap().0,
        ),
    ] {
        let path = dir.path().join(format!("{name}.sog"));
        let bytes = sog::write(&path, &sog, 4).unwrap().total_bytes;
        let decoded = sog::decode::decode(&sog).unwrap();
        let e = eval::evaluate(&scene, &decoded).unwrap();
        eprintln!("{name}: {bytes} bytes\n{}", e.table());
        results.push((bytes as f64, e));
    }
    let ((cpu_bytes, c), (gpu_bytes, g)) = (&results[0], &results[1]);
    within("total bytes", *cpu_bytes, *gpu_bytes, 0.01);
    within("position", c.position.rmse, g.position.rmse, 0.01);
    within("rotation", c.rotation_deg.rmse, g.rotation_deg.rmse, 0.01);
    within("opacity", c.opacity.rmse, g.opacity.rmse, 0.01);
    within("colour", c.color_dc.rmse, g.color_dc.rmse, 0.01);
    for (bc, bg) in c.sh.iter().zip(&g.sh) {
        within(
            &format!("SH band {}", bc.band),
            bc.error.rmse,
            bg.error.rmse,
            0.01,
        );
    }
}
