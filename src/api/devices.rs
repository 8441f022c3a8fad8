//! `devices`: every backend, whether it is usable here and why not, and what `auto` picks.

use serde::Serialize;

use crate::backend::cuda::{self, CudaDeviceReport};
use crate::backend::select::{self, Choice};
use crate::backend::wgpu::{self, AdapterReport};

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

/// What this machine offers: the `--json` output of `splatpress devices`.
#[derive(Debug, Clone, Serialize)]
pub struct Devices {
    /// cuda, wgpu, cpu: available or why not.
    pub backends: Vec<BackendStatus>,
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
        .map(|which| match select::open(which, true) {
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
    let cuda_devices = match cuda::devices() {
        Ok(list) => CudaDevices::List(list),
        Err(e) => CudaDevices::Error {
            error: select::reason(&e),
        },
    };
    Devices {
        backends,
        cuda_devices,
        wgpu_adapters: wgpu::adapters(),
        auto,
    }
}
