//! Choosing a backend: `--backend auto|cuda|wgpu|cpu`. `auto` tries CUDA, then a hardware
//! wgpu adapter, then the CPU, and keeps the reason each one was passed over. An explicit
//! `wgpu` also accepts a software adapter (lavapipe), which `auto` never picks.

use std::str::FromStr;

use super::cpu::Cpu;
#[cfg(feature = "cuda")]
use super::cuda::CudaBackend;
#[cfg(feature = "wgpu")]
use super::wgpu::{WgpuBackend, WgpuOptions};
use crate::{Error, Result};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    /// The fastest available: CUDA, then a hardware wgpu adapter, then the CPU.
    #[default]
    Auto,
    /// NVIDIA GPUs through the driver API.
    Cuda,
    /// Any GPU through wgpu (software adapters included).
    Wgpu,
    /// The CPU reference.
    Cpu,
}

impl Choice {
    /// Every value, in `--help` order.
    pub const ALL: [Choice; 4] = [Choice::Auto, Choice::Cuda, Choice::Wgpu, Choice::Cpu];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Choice::Auto => "auto",
            Choice::Cuda => "cuda",
            Choice::Wgpu => "wgpu",
            Choice::Cpu => "cpu",
        }
    }
}

impl FromStr for Choice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Choice::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown backend `{s}`: expected auto, cuda, wgpu or cpu"))
    }
}

/// An opened backend of any kind.
#[derive(Debug)]
pub enum AnyBackend {
    Cpu(Cpu),
    #[cfg(feature = "wgpu")]
    Wgpu(Box<WgpuBackend>),
    #[cfg(feature = "cuda")]
    Cuda(Box<CudaBackend>),
}

impl AnyBackend {
    /// The backend's name.
    pub fn name(&self) -> &'static str {
        match self {
            AnyBackend::Cpu(_) => "cpu",
            #[cfg(feature = "wgpu")]
            AnyBackend::Wgpu(_) => "wgpu",
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(_) => "cuda",
        }
    }

    /// One line describing the device in use.
    pub fn describe(&self) -> String {
        match self {
            AnyBackend::Cpu(_) => format!(
                "cpu ({} threads, {})",
                rayon::current_num_threads(),
                super::cpu::simd_level()
            ),
            #[cfg(feature = "wgpu")]
            AnyBackend::Wgpu(b) => {
                let a = b.adapter();
                format!(
                    "wgpu: {} ({}, {} {})",
                    a.name, a.backend, a.driver, a.driver_info
                )
            }
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => format!(
                "cuda: {} ({} loaded in {:.0} ms)",
                b.device_name(),
                b.kernel_code(),
                b.load_ms()
            ),
        }
    }
}

/// Why a backend could not be used.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PassedOver {
    pub backend: &'static str,
    pub reason: String,
}

#[cfg(feature = "cuda")]
fn open_cuda(ordinal: usize) -> Result<AnyBackend> {
    Ok(AnyBackend::Cuda(Box::new(CudaBackend::with_device(
        ordinal,
    )?)))
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(_ordinal: usize) -> Result<AnyBackend> {
    Err(not_built("cuda"))
}

#[cfg(feature = "wgpu")]
fn open_wgpu(allow_cpu: bool) -> Result<AnyBackend> {
    let options = WgpuOptions {
        allow_cpu,
        ..WgpuOptions::default()
    };
    Ok(AnyBackend::Wgpu(Box::new(WgpuBackend::new(options)?)))
}

#[cfg(not(feature = "wgpu"))]
fn open_wgpu(_allow_cpu: bool) -> Result<AnyBackend> {
    Err(not_built("wgpu"))
}

/// The error for a backend this build left out.
#[cfg(not(all(feature = "cuda", feature = "wgpu")))]
pub(crate) fn not_built(backend: &'static str) -> Error {
    Error::Backend {
        backend,
        message: format!(
            "this build of splatpress has no {backend} backend (built without the `{backend}` feature)"
        ),
    }
}

/// The backends to try for `choice`, best first. Only `auto` has more than one.
pub fn candidates(choice: Choice) -> Vec<Choice> {
    match choice {
        Choice::Auto => vec![Choice::Cuda, Choice::Wgpu, Choice::Cpu],
        other => vec![other],
    }
}

/// Opens one concrete backend (CUDA on device `cuda_device`). Under `auto` a wgpu software
/// adapter is refused (the CPU backend is faster than a CPU-emulated GPU).
pub fn open(which: Choice, cuda_device: usize, under_auto: bool) -> Result<AnyBackend> {
    match which {
        Choice::Cuda => open_cuda(cuda_device),
        Choice::Wgpu => open_wgpu(!under_auto),
        Choice::Cpu | Choice::Auto => Ok(AnyBackend::Cpu(Cpu)),
    }
}

/// The message of a backend error without the `backend X:` prefix.
pub fn reason(error: &Error) -> String {
    match error {
        Error::Backend { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_auto_ends_on_cpu() {
        for c in Choice::ALL {
            assert_eq!(c.name().parse::<Choice>().unwrap(), c);
        }
        assert!(
            "gpu"
                .parse::<Choice>()
                .unwrap_err()
                .contains("expected auto")
        );
        assert_eq!(candidates(Choice::Auto).last(), Some(&Choice::Cpu));
        // Whatever this machine has, auto ends with a backend that always opens.
        assert!(open(Choice::Cpu, 0, true).is_ok());
    }
}
