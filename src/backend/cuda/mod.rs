//! The CUDA backend: kernels in `kernels/*.cu`, shipped as PTX (ISA 7.8, compute_75) inside
//! the binary and JIT-compiled by the NVIDIA driver, so the only run-time requirement is the
//! driver (R520+). libcuda is loaded at run time through cudarc's `dynamic-loading`; the
//! binary builds and runs on machines without CUDA, and [`CudaBackend::new`] returns an
//! error (never panics) naming what is missing. Results are held to [`super::cpu`] by
//! `tests/conformance.rs`.
//!
//! Every operation waits for the device before returning, so a failed launch or an illegal
//! address comes back as [`crate::Error::Backend`] from the call that caused it.

mod devices;
mod driver;
mod kmeans;
mod plas;
pub mod ptx;
mod sort;

pub use devices::{CudaDeviceReport, devices};
pub use driver::CudaBuffer;

use driver::{Device, Function, Module};

use super::{Backend, Elem};
use crate::{Error, Result};

pub(crate) fn cuda_error(message: impl Into<String>) -> Error {
    Error::Backend {
        backend: "cuda",
        message: message.into(),
    }
}

/// The kernels, looked up once.
struct Kernels {
    pack_centroids: Function,
    assign_tiled: Function,
    assign_simple: Function,
    pack_centroids_f16: Function,
    assign_f16: Function,
    label_histogram: Function,
    label_pairs: Function,
    segment_sum: Function,
    key_bits: Function,
    radix_histogram: Function,
    scan_exclusive: Function,
    radix_scatter: Function,
    plas_blur_rows: Function,
    plas_blur_columns: Function,
    plas_reorder: Function,
    plas_reorder_wide: Function,
    plas_loss: Function,
}

/// A CUDA device with splatpress's kernels loaded. Build once, run many kernels.
pub struct CudaBackend {
    // Field order is drop order: functions, then modules, then the context.
    kernels: Kernels,
    /// PLAS scratch buffers, kept between calls (freed before the context).
    plas_scratch: std::sync::Mutex<plas::PlasScratch>,
    modules: Vec<Module>,
    device: Device,
    ordinal: usize,
    driver_version: i32,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend")
            .field("ordinal", &self.ordinal)
            .field("name", &self.device.name)
            .field("driver_version", &self.driver_version)
            .finish()
    }
}

impl CudaBackend {
    /// Opens CUDA device 0 and loads the kernels. See [`CudaBackend::with_device`].
    pub fn new() -> Result<Self> {
        Self::with_device(0)
    }

    /// Opens CUDA device `ordinal`: checks that the driver library is present (before any
    /// driver call, since cudarc panics without it), that the driver is new enough for PTX
    /// ISA 7.8 (R520+), that the GPU is not in a prohibited or taken exclusive compute mode,
    /// and that the driver JIT-compiles our PTX. Each failure is an [`Error::Backend`] that
    /// says what to do.
    pub fn with_device(ordinal: usize) -> Result<Self> {
        let driver_version = driver::init_driver()?;
        let device = Device::open(ordinal)?;
        let mut modules = Vec::new();
        for module in ptx::ALL {
            modules.push(Module::load(module.source, module.name)?);
        }
        let (km, so, pl) = (&modules[0], &modules[1], &modules[2]);
        let kernels = Kernels {
            pack_centroids: km.function("pack_centroids")?,
            assign_tiled: km.function("kmeans_assign_tiled")?,
            assign_simple: km.function("kmeans_assign_simple")?,
            pack_centroids_f16: km.function("pack_centroids_f16")?,
            assign_f16: km.function("kmeans_assign_f16")?,
            label_histogram: km.function("label_histogram")?,
            label_pairs: km.function("label_pairs")?,
            segment_sum: km.function("segment_sum")?,
            key_bits: so.function("key_bits")?,
            radix_histogram: so.function("radix_histogram")?,
            scan_exclusive: so.function("scan_exclusive")?,
            radix_scatter: so.function("radix_scatter")?,
            plas_blur_rows: pl.function("plas_blur_rows")?,
            plas_blur_columns: pl.function("plas_blur_columns")?,
            plas_reorder: pl.function("plas_reorder")?,
            plas_reorder_wide: pl.function("plas_reorder_wide")?,
            plas_loss: pl.function("plas_loss")?,
        };
        Ok(CudaBackend {
            kernels,
            plas_scratch: Default::default(),
            modules,
            device,
            ordinal,
            driver_version,
        })
    }

    /// The device's name, e.g. "Tesla T4".
    pub fn device_name(&self) -> &str {
        &self.device.name
    }

    /// Milliseconds the kernel modules took to load (JIT or the driver's cache).
    pub fn load_ms(&self) -> f64 {
        self.modules.iter().map(|m| m.load_ms).sum()
    }

    /// (free, total) device memory in bytes.
    pub fn memory(&self) -> Result<(usize, usize)> {
        self.device.bind()?;
        self.device.memory()
    }

    /// Runs `body` with the context current, waits for the device, and prefixes errors
    /// with `what`.
    fn run<R>(&self, what: &str, body: impl FnOnce() -> Result<R>) -> Result<R> {
        self.device.bind()?;
        let result = body().and_then(|r| self.device.synchronize(what).map(|()| r));
        result.map_err(|e| match e {
            Error::Backend { message, .. } if !message.starts_with(what) => {
                cuda_error(format!("{what}: {message}"))
            }
            other => other,
        })
    }
}

/// Converts a length to the u32 the kernels index with.
fn to_u32(value: usize, what: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| cuda_error(format!("{what} ({value}) exceeds 2^32")))
}

impl Backend for CudaBackend {
    type Buffer<T: Elem> = CudaBuffer<T>;
    /// No pruning bounds yet: every assignment is a full pass.
    type AssignState = ();

    fn name(&self) -> &'static str {
        "cuda"
    }

    fn upload<T: Elem>(&self, data: &[T]) -> Result<CudaBuffer<T>> {
        self.run("upload", || {
            let buf = self.device.allocate::<T>(data.len(), "upload")?;
            self.device.copy_to_device(&buf, data)?;
            Ok(buf)
        })
    }

    fn download<T: Elem>(&self, buf: &CudaBuffer<T>) -> Result<Vec<T>> {
        self.run("download", || self.device.copy_to_host(buf))
    }

    fn write<T: Elem>(&self, buf: &mut CudaBuffer<T>, data: &[T]) -> Result<()> {
        self.run("write", || self.device.copy_to_device(buf, data))
    }

    fn zeros<T: Elem>(&self, len: usize) -> Result<CudaBuffer<T>> {
        self.run("zeros", || {
            let buf = self.device.allocate::<T>(len, "zeros")?;
            self.device.zero(&buf)?;
            Ok(buf)
        })
    }

    fn kmeans_assign(
        &self,
        points: &CudaBuffer<f32>,
        centroids: &CudaBuffer<f32>,
        dim: usize,
        labels: &mut CudaBuffer<u32>,
        _state: &mut (),
    ) -> Result<()> {
        self.run("kmeans_assign", || {
            self.assign(points, centroids, dim, labels)
        })
    }

    fn kmeans_update(
        &self,
        points: &CudaBuffer<f32>,
        labels: &CudaBuffer<u32>,
        dim: usize,
        k: usize,
        sums: &mut CudaBuffer<f32>,
        counts: &mut CudaBuffer<u32>,
    ) -> Result<()> {
        self.run("kmeans_update", || {
            self.update(points, labels, dim, k, sums, counts)
        })
    }

    fn sort_pairs(&self, keys: &mut CudaBuffer<u64>, values: &mut CudaBuffer<u32>) -> Result<()> {
        self.run("sort_pairs", || self.sort(keys, values))
    }

    fn plas_blur(
        &self,
        grid: &crate::backend::plas::PlasGrid,
        cells: &CudaBuffer<f32>,
        radius: usize,
        target: &mut CudaBuffer<f32>,
    ) -> Result<()> {
        self.run("plas_blur", || self.blur(grid, cells, radius, target))
    }

    fn plas_reorder(
        &self,
        grid: &crate::backend::plas::PlasGrid,
        cells: &mut CudaBuffer<f32>,
        index: &mut CudaBuffer<u32>,
        target: &CudaBuffer<f32>,
        keys: Option<&CudaBuffer<u32>>,
        blocks: &crate::backend::plas::PlasBlocks,
    ) -> Result<f64> {
        self.run("plas_reorder", || {
            self.reorder(grid, cells, index, target, keys, blocks)
        })
    }

    fn plas_loss(
        &self,
        grid: &crate::backend::plas::PlasGrid,
        cells: &CudaBuffer<f32>,
        target: &CudaBuffer<f32>,
        blocks: &crate::backend::plas::PlasBlocks,
    ) -> Result<f64> {
        self.run("plas_loss", || self.loss(grid, cells, target, blocks))
    }
}
