//! `devices`: every backend, whether it is usable here and why not, and what `auto` picks.

use serde::Serialize;

use crate::backend::select::{self, Choice};
use crate::backend::{self, AdapterReport, CudaDeviceReport};

/// One backend's availability.
#[derive(Debug, Clone, Serialize)]
pub struct BackendStatus {
    /// `cuda`, `wgpu` or `cpu`.
    pub backend: &'static str,
    /// Whether `--backend auto` may use it (for wgpu: a hardware adapter).
    pub available: bool,
    /// The device it opens, when available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Why it is not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// CUDA devices, or why there are none.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum CudaDevices {
    /// Every device the driver lists.
    List(Vec<CudaDeviceReport>),
    /// Why the driver could not be asked.
    Error {
        /// What went wrong, and what to install.
        error: String,
    },
}

/// What the CUDA kernels of this build need from the driver.
#[derive(Debug, Clone, Serialize)]
pub struct CudaRequirement {
    /// The PTX ISA every embedded module declares, e.g. "7.0".
    pub ptx_isa: &'static str,
    /// The oldest driver branch that JIT-compiles it, e.g. "R450".
    pub min_driver: &'static str,
    /// The CUDA version that driver reports, e.g. "11.0".
    pub min_driver_cuda: String,
}

/// What this machine offers: the `--json` output of `splatpress devices`.
#[derive(Debug, Clone, Serialize)]
pub struct Devices {
    /// cuda, wgpu, cpu: available or why not.
    pub backends: Vec<BackendStatus>,
    /// What the CUDA kernels need (`None` in a build without the `cuda` feature).
    pub cuda_requirement: Option<CudaRequirement>,
    /// Every CUDA device with its driver, memory and whether our PTX loads.
    pub cuda_devices: CudaDevices,
    /// Every adapter wgpu finds, software ones included.
    pub wgpu_adapters: Vec<AdapterReport>,
    /// The backend `--backend auto` would choose.
    pub auto: &'static str,
}

/// Probes every backend (opening each, so the CUDA PTX is loaded once).
pub fn devices() -> Devices {
    let backends = [Choice::Cuda, Choice::Wgpu, Choice::Cpu]
        .into_iter()
        .map(|which| match select::open(which, 0, true) {
            Ok(b) => BackendStatus {
                backend: which.name(),
                available: true,
                device: Some(b.describe()),
                reason: None,
            },
            Err(e) => BackendStatus {
                backend: which.name(),
                available: false,
                device: None,
                reason: Some(select::reason(&e)),
            },
        })
        .collect::<Vec<_>>();
    let auto = backends
        .iter()
        .find(|b| b.available)
        .map_or("cpu", |b| b.backend);
    let cuda_devices = match backend::cuda_devices() {
        Ok(list) => CudaDevices::List(list),
        Err(e) => CudaDevices::Error {
            error: select::reason(&e),
        },
    };
    Devices {
        backends,
        cuda_requirement: cuda_requirement(),
        cuda_devices,
        wgpu_adapters: backend::wgpu_adapters(),
        auto,
    }
}

#[cfg(feature = "cuda")]
fn cuda_requirement() -> Option<CudaRequirement> {
    use crate::backend::cuda::ptx;
    Some(CudaRequirement {
        ptx_isa: ptx::PTX_ISA,
        min_driver: ptx::MIN_DRIVER,
        min_driver_cuda: format!(
            "{}.{}",
            ptx::MIN_DRIVER_CUDA / 1000,
            ptx::MIN_DRIVER_CUDA % 1000 / 10
        ),
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda_requirement() -> Option<CudaRequirement> {
    None
}
