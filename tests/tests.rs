//! One integration-test binary; each module covers one area.

mod backends;
mod bad_input;
/// `batch` and the SageMaker Processing entrypoint.
mod batch;
mod browser;
mod cli;
mod conformance;
/// The CUDA PLAS kernels against the CPU reference, and their timings.
mod cuda_plas;
mod eval;
/// A GPU failing mid-job: auto falls back, an explicit backend fails cleanly (`test-hooks`).
#[cfg(feature = "test-hooks")]
mod fallback;
mod format;
/// Inputs the reader fuzzer once broke a reader with (`tests/fuzz/`).
mod fuzz_regressions;
/// glTF binary with KHR_gaussian_splatting.
mod glb;
/// Byte identity against hashes recorded before the redesign, on every backend here.
mod identity;
/// Interop with PlayCanvas splat-transform: its decoder on our files, byte comparisons with
/// its encoder's output, error comparisons where we round and it truncates.
mod interop;
/// The import rules of ARCHITECTURE.md (who may name whom).
mod layout;
/// Streamed SOG (`lod-meta.json`) input.
mod lod;
mod lod_interop;
/// The splat model and extras across every pair of formats.
mod metadata;
mod plas_conformance;
/// Issue 15: `--quality small` against splat-transform on the real scenes (bytes, errors, renders).
mod rate;
/// The renderer behind `eval --render`: analytic cases, CPU against wgpu, the command.
mod render;
/// Our renderer against the PlayCanvas engine's pictures of the same scenes; a PNG reader.
mod render_engine;
mod roundtrip;
/// Niantic SPZ.
mod spz;
/// Shared helpers: temp dirs, shared data, running commands, an independent PLY writer.
mod util;
