//! Compute backends. The drivers in `encode/` (k-means loop, Morton order, PLAS) are written
//! once, generic over [`Backend`]; a backend supplies device buffers and the kernels.
//!
//! Kernels come in families, one trait each: [`Buffers`] (`buffers.rs`), [`Kmeans`]
//! (`kmeans.rs`), [`Sort`] (`sort.rs`), [`Plas`] (`plas.rs`) and [`Decimate`] (`decimate.rs`). A family's provided methods
//! (what drivers call) check the arguments once, at this seam, and then call the backend's
//! required `run_<kernel>` method with checked arguments, so a bad call is the same
//! [`crate::Error::Backend`] on every backend. [`Backend`] is every family together.
//!
//! Each backend implements each family in one file: `cpu/` (the reference), `wgpu/` and
//! `cuda/`, each with `mod.rs` (buffers), `kmeans.rs`, `sort.rs` and `plas.rs`. A kernel has one
//! name from the trait to the entry points, so one grep finds its four places:
//!
//! | trait method              | `cpu` host fn               | `wgsl/*.wgsl`   | `kernels/*.cu` entry |
//! |---------------------------|-----------------------------|-----------------|----------------------|
//! | [`Kmeans::kmeans_assign`] | [`cpu::kmeans_assign`]      | `kmeans_assign` ¹ | `kmeans_assign_tiled`, `_simple`, `_f16` ¹ |
//! | [`Kmeans::kmeans_update`] | [`cpu::kmeans_update`]      | `label_histogram`, `label_pairs`, `segment_sum` ² | the same ² |
//! | [`Sort::sort_pairs`]      | [`cpu::sort_pairs`]         | `key_bits`, `radix_histogram`, `radix_scatter` ² | the same ² |
//! | [`Plas::plas_blur`]       | [`cpu::plas::plas_blur`]    | `plas_blur`     | `plas_blur_rows`, `plas_blur_columns` |
//! | [`Plas::plas_reorder`]    | [`cpu::plas::plas_reorder`] | `plas_reorder` ³ | `plas_reorder`, `plas_reorder_wide` |
//! | [`Plas::plas_loss`]       | [`cpu::plas::plas_loss`]    | `plas_loss` ³   | `plas_loss`          |
//! | [`Decimate::decimate_prepare`] | [`cpu::decimate::decimate_prepare`] | `decimate_prepare` | `decimate_prepare` |
//! | [`Decimate::decimate_candidates`] | [`cpu::decimate::decimate_candidates`] | `decimate_candidates` | `decimate_candidates` |
//! | [`Decimate::decimate_merge`] | [`cpu::decimate::decimate_merge`] | `decimate_merge` | `decimate_merge` |
//!
//! ¹ With helpers: `centroid_norms` and `to_f16` (WGSL), `pack_centroids` and
//! `pack_centroids_f16` (CUDA). ² With the shared scan (`scan.wgsl`, `scan_subgroup.wgsl`;
//! `scan_exclusive`) and radix passes; `key_bits` has a `_subgroup` WGSL variant. ³ Partial
//! losses reduced by `plas_reduce.wgsl`. Buffers ([`Buffers::Buffer`]): `Vec<T>` on the CPU,
//! chunks of `wgpu::Buffer` ([`wgpu::GpuBuffer`]), a device allocation ([`cuda::CudaBuffer`]).
//!
//! The backend side of kernel `x` is `run_x` in `<backend>/<family>.rs`. The `cpu` host
//! functions define what every kernel computes; `tests/conformance.rs` holds the others to
//! them, and its `rejects_bad_calls` holds every backend to the seam's checks.
//!
//! Adding a kernel `x` to a family touches: `<family>.rs` here (the provided `x` with its
//! check, the required `run_x`); `cpu/<family>.rs` (`cpu::x` and `Cpu`'s `run_x`);
//! `wgsl/x.wgsl`, its `Kernel` entry in `wgpu/shaders.rs` and `wgpu/<family>.rs`;
//! `kernels/<family>.cu`, its PTX (`cargo xtask ptx`) and `cuda/<family>.rs` (the entry point's
//! field in the family's kernel struct, `run_x`); one conformance body and a case in
//! `rejects_bad_calls` (`tests/conformance.rs`).

pub mod buffers;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod decimate;
#[cfg(feature = "test-hooks")]
pub mod faulty;
pub mod kmeans;
pub mod plas;
mod reports;
pub mod select;
pub mod sort;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use buffers::{Buffers, DeviceBuffer, Elem};
pub use decimate::Decimate;
pub use kmeans::{AssignShape, Kmeans, UpdateShape};
pub use plas::Plas;
pub use reports::{AdapterReport, CudaDeviceReport};
pub use sort::Sort;

/// A compute device running every kernel family; drivers are generic over it. Implemented for
/// every type that implements the families.
pub trait Backend: Kmeans + Sort + Plas + Decimate {}

impl<B: Kmeans + Sort + Plas + Decimate> Backend for B {}

/// The family traits, for code that calls kernels on a concrete backend type.
pub mod prelude {
    pub use super::{Backend, Buffers, Decimate, Kmeans, Plas, Sort};
}

/// Every CUDA device with its report, or why the driver could not be asked (also when this
/// build has no `cuda` feature).
pub fn cuda_devices() -> crate::Result<Vec<CudaDeviceReport>> {
    #[cfg(feature = "cuda")]
    return cuda::devices();
    #[cfg(not(feature = "cuda"))]
    return Err(select::not_built("cuda"));
}

/// How many CUDA devices this process sees (`CUDA_VISIBLE_DEVICES` applied by the driver),
/// without loading kernels; an error when there is no usable driver or no `cuda` feature.
pub fn cuda_device_count() -> crate::Result<usize> {
    #[cfg(feature = "cuda")]
    return cuda::device_count();
    #[cfg(not(feature = "cuda"))]
    return Err(select::not_built("cuda"));
}

/// Every adapter wgpu finds, software ones included (none without the `wgpu` feature).
pub fn wgpu_adapters() -> Vec<AdapterReport> {
    #[cfg(feature = "wgpu")]
    return wgpu::adapters();
    #[cfg(not(feature = "wgpu"))]
    return Vec::new();
}
