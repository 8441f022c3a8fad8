//! The CUDA backend: kernels in `kernels/*.cu`, shipped as PTX (ISA 7.0, compute_75) inside
//! the binary and JIT-compiled by the NVIDIA driver, so the only run-time requirement is the
//! driver (R450+). libcuda is loaded at run time through cudarc's `dynamic-loading`; the
//! binary builds and runs on machines without CUDA, and [`CudaBackend::new`] returns an
//! error (never panics) naming what is missing. Results are held to [`super::cpu`] by
//! `tests/conformance.rs`.
//!
//! Every operation waits for the device before returning, so a failed launch or an illegal
//! address comes back as [`crate::Error::Backend`] from the call that caused it.
//!
//! One file per kernel family: buffers here, `kmeans.rs`, `sort.rs`, `plas.rs`, `decimate.rs`,
//! each with its kernels' entry points (looked up by name from the family's PTX module) and its
//! trait impl.

/// Declares a family's kernel struct: one [`module::Function`] field per entry point of its
/// `.cu` file, named as the entry point (so the name cannot drift), looked up by `load`.
macro_rules! entry_points {
    ($(#[$doc:meta])* $name:ident { $($entry:ident),* $(,)? }) => {
        $(#[$doc])*
        pub(super) struct $name {
            $($entry: super::module::Function,)*
        }

        impl $name {
            /// Looks every entry point up in the family's module.
            pub(super) fn load(module: &super::module::Module) -> crate::Result<Self> {
                Ok($name {
                    $($entry: module.function(stringify!($entry))?,)*
                })
            }
        }
    };
}

mod decimate;
mod devices;
mod driver;
mod kmeans;
mod module;
mod plas;
pub mod ptx;
mod sort;

pub use devices::{device_count, devices};
pub use driver::CudaBuffer;

use driver::Device;
use module::Module;

use super::{Buffers, DeviceBuffer, Elem};
use crate::{Error, Result};

pub(crate) fn cuda_error(message: impl Into<String>) -> Error {
    Error::Backend {
        backend: "cuda",
        message: message.into(),
    }
}

/// Which arithmetic `kmeans_assign` uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssignPrecision {
    /// The backend's choice: today the f16 tensor-core kernel wherever it applies (rows of at
    /// most 48 values, at least two centroids), else fp32.
    #[default]
    Auto,
    /// Always the fp32 kernels.
    Fp32,
    /// The f16 tensor-core kernel wherever it applies (labels are still exact: points whose
    /// best two distances are within its error bound are re-assigned in fp32).
    F16,
}

/// How a [`CudaBackend`] runs its kernels. `Default` is what [`CudaBackend::new`] uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CudaOptions {
    /// The arithmetic of `kmeans_assign`.
    pub assign: AssignPrecision,
}

/// The kernels, looked up once: one struct per family, in the family's file.
struct Kernels {
    kmeans: kmeans::KmeansKernels,
    sort: sort::SortKernels,
    plas: plas::PlasKernels,
    decimate: decimate::DecimateKernels,
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
    options: CudaOptions,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend")
            .field("ordinal", &self.ordinal)
            .field("name", &self.device.name)
            .field("driver_version", &self.driver_version)
            .field("options", &self.options)
            .finish()
    }
}

impl CudaBackend {
    /// Opens CUDA device 0 and loads the kernels, with default options. See
    /// [`CudaBackend::with_options`].
    pub fn new() -> Result<Self> {
        Self::with_device(0)
    }

    /// Opens CUDA device `ordinal` with default options. See [`CudaBackend::with_options`].
    pub fn with_device(ordinal: usize) -> Result<Self> {
        Self::with_options(ordinal, CudaOptions::default())
    }

    /// Opens CUDA device `ordinal` to run with `options`: checks that the driver library is
    /// present (before any driver call, since cudarc panics without it), that the driver is new
    /// enough for PTX ISA 7.0 (R450+), that the GPU is not in a prohibited or taken exclusive
    /// compute mode, and that the driver JIT-compiles our PTX. Each failure is an
    /// [`Error::Backend`] that says what to do.
    pub fn with_options(ordinal: usize, options: CudaOptions) -> Result<Self> {
        let driver_version = driver::init_driver()?;
        let device = Device::open(ordinal)?;
        let mut modules = Vec::new();
        for module in ptx::ALL {
            modules.push(Module::load_for(&module, device.compute_capability)?);
        }
        let (km, so, pl, de) = (&modules[0], &modules[1], &modules[2], &modules[3]);
        let kernels = Kernels {
            kmeans: kmeans::KmeansKernels::load(km)?,
            sort: sort::SortKernels::load(so)?,
            plas: plas::PlasKernels::load(pl)?,
            decimate: decimate::DecimateKernels::load(de)?,
        };
        Ok(CudaBackend {
            kernels,
            plas_scratch: Default::default(),
            modules,
            device,
            ordinal,
            driver_version,
            options,
        })
    }

    /// The options this backend runs with.
    pub fn options(&self) -> CudaOptions {
        self.options
    }

    /// The device's name, e.g. "Tesla T4".
    pub fn device_name(&self) -> &str {
        &self.device.name
    }

    /// Milliseconds the kernel modules took to load (machine code, or the PTX through the
    /// driver's JIT or its cache).
    pub fn load_ms(&self) -> f64 {
        self.modules.iter().map(|m| m.load_ms).sum()
    }

    /// What was loaded: `sm_90 machine code`, or `PTX` (JIT-compiled by the driver).
    pub fn kernel_code(&self) -> String {
        match self
            .modules
            .iter()
            .map(|m| m.machine_code.as_deref())
            .collect::<Option<Vec<_>>>()
        {
            Some(archs) if !archs.is_empty() => format!("{} machine code", archs[0]),
            _ => "PTX".to_string(),
        }
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

impl<T> DeviceBuffer for CudaBuffer<T> {
    fn len(&self) -> usize {
        CudaBuffer::len(self)
    }
}

impl Buffers for CudaBackend {
    type Buffer<T: Elem> = CudaBuffer<T>;

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

    fn zeros<T: Elem>(&self, len: usize) -> Result<CudaBuffer<T>> {
        self.run("zeros", || {
            let buf = self.device.allocate::<T>(len, "zeros")?;
            self.device.zero(&buf)?;
            Ok(buf)
        })
    }

    fn run_write_at<T: Elem>(
        &self,
        buf: &mut CudaBuffer<T>,
        offset: usize,
        data: &[T],
    ) -> Result<()> {
        self.run("write", || self.device.copy_to_device_at(buf, offset, data))
    }
}
