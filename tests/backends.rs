//! End to end on every backend: the same scene and seed compressed with the k-means on `cpu`,
//! `wgpu` and `cuda` give files whose sizes and eval errors agree within 1 %. (Per-kernel
//! agreement is in `conformance`; this checks that the whole pipeline does not drift.)
//! A missing GPU backend prints `skipped:`; `REQUIRE_GPU_ADAPTER=1` / `REQUIRE_CUDA=1` make
//! it a failure.

use splatpress::backend::Backend;
use splatpress::backend::cpu::Cpu;
use splatpress::backend::cuda::CudaBackend;
use splatpress::backend::wgpu::{WgpuBackend, WgpuOptions};
use splatpress::encode::{Options, encode_with};
use splatpress::{Scene, eval, formats::sog};

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
            crate::util::skip("backends", &format!("no wgpu adapter ({e})"));
            None
        }
    }
}

fn cuda() -> Option<CudaBackend> {
    match CudaBackend::new() {
        Ok(b) => Some(b),
        Err(e) if std::env::var("REQUIRE_CUDA").as_deref() == Ok("1") => {
            panic!("REQUIRE_CUDA=1 but CUDA is unusable: {e}")
        }
        Err(e) => {
            crate::util::skip("backends", &format!("no CUDA ({e})"));
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

fn scene() -> Scene {
    splatpress::sample::scene(16_000, 2, 4).sanitize().0
}

/// Compresses `scene` on `backend`, writes it, and returns the file size and its evaluation.
fn run<B: Backend>(backend: &B, scene: &Scene) -> (f64, eval::Evaluation) {
    let options = Options {
        seed: 9,
        ..Options::default()
    };
    let (encoded, _) = encode_with(backend, scene, &options, &()).unwrap();
    let sog = sog::textures::sog(&encoded);
    let dir = tempfile::tempdir().unwrap();
    let bytes = sog::write(&dir.path().join("out.sog"), &sog, 4)
        .unwrap()
        .total_bytes;
    let e = eval::evaluate(scene, &sog::decode::decode(&sog).unwrap()).unwrap();
    eprintln!("{}: {bytes} bytes\n{}", backend.name(), e.table());
    (bytes as f64, e)
}

fn agree(reference: &(f64, eval::Evaluation), other: &(f64, eval::Evaluation)) {
    let ((cpu_bytes, c), (gpu_bytes, g)) = (reference, other);
    within("total bytes", *cpu_bytes, *gpu_bytes, 0.01);
    within("position", c.position.rmse, g.position.rmse, 0.01);
    within("rotation", c.rotation_deg.rmse, g.rotation_deg.rmse, 0.01);
    within("opacity", c.opacity.rmse, g.opacity.rmse, 0.01);
    within("colour", c.color_dc.rmse, g.color_dc.rmse, 0.01);
    assert_eq!(c.sh.len(), g.sh.len());
    for (bc, bg) in c.sh.iter().zip(&g.sh) {
        within(
            &format!("SH band {}", bc.band),
            bc.error.rmse,
            bg.error.rmse,
            0.01,
        );
    }
}

#[test]
fn cpu_and_wgpu_files_agree_within_one_percent() {
    let Some(gpu) = wgpu() else { return };
    let scene = scene();
    agree(&run(&Cpu, &scene), &run(&gpu, &scene));
}

#[test]
fn cpu_and_cuda_files_agree_within_one_percent() {
    let Some(gpu) = cuda() else { return };
    let scene = scene();
    agree(&run(&Cpu, &scene), &run(&gpu, &scene));
}

/// On the GPUs the binary carries machine code for, the kernels load without the driver's PTX
/// JIT (a fresh container pays ≈1.4 s for it otherwise); elsewhere the PTX is used.
#[test]
fn cuda_loads_machine_code_where_it_has_some() {
    let Some(cuda) = cuda() else { return };
    let report = splatpress::backend::cuda_devices().expect("the driver answered CudaBackend::new");
    let expected = report[0].machine_code.clone();
    let code = cuda.kernel_code();
    match expected {
        Some(arch) => assert_eq!(code, format!("{arch} machine code")),
        None => assert_eq!(code, "PTX"),
    }
    println!(
        "{}: {code}, loaded in {:.1} ms",
        cuda.device_name(),
        cuda.load_ms()
    );
}
