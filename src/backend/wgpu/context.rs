//! Instance, adapter choice and device creation, plus the adapter report behind
//! `splatpress devices`.

use std::sync::{Arc, Mutex};

use super::WgpuOptions;
use crate::{Error, Result};

/// What one adapter offers, as `splatpress devices` prints it (`--json`: this struct,
/// field for field).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdapterReport {
    /// Adapter name, e.g. "NVIDIA H100" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// "DiscreteGpu", "IntegratedGpu", "VirtualGpu", "Cpu" or "Other".
    pub device_type: String,
    /// Graphics API: "Vulkan", "Metal", "Dx12", "Gl"…
    pub backend: String,
    /// Driver name and version text.
    pub driver: String,
    /// Further driver details (Mesa / LLVM version…).
    pub driver_info: String,
    /// A software rasteriser (lavapipe / llvmpipe): used only when asked for.
    pub is_cpu: bool,
    /// Largest storage-buffer binding in bytes (lavapipe: 128 MiB); bigger point matrices
    /// are processed in windows of rows.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer in bytes; bigger buffers are split into chunks.
    pub max_buffer_size: u64,
    /// Workgroup memory in bytes (bounds the centroid tile).
    pub max_compute_workgroup_storage_size: u32,
    /// Largest dispatch per dimension (bigger ones are folded into 2-D).
    pub max_compute_workgroups_per_dimension: u32,
    /// `shader-f16` is available (half-precision storage in k-means assignment).
    pub shader_f16: bool,
    /// Subgroup operations are available (the radix sort's scan and key-bits kernels then use
    /// their subgroup variants).
    pub subgroup: bool,
}

impl AdapterReport {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        AdapterReport {
            name: info.name,
            device_type: format!("{:?}", info.device_type),
            backend: format!("{:?}", info.backend),
            driver: info.driver,
            driver_info: info.driver_info,
            is_cpu: info.device_type == wgpu::DeviceType::Cpu,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            subgroup: features.contains(wgpu::Features::SUBGROUP),
        }
    }
}

/// Every adapter wgpu can see (backends from `WGPU_BACKEND`, default all), best first in
/// the order `open` would try them.
pub fn adapters() -> Vec<AdapterReport> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let mut found = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    found.sort_by_key(rank);
    found.iter().map(AdapterReport::of).collect()
}

/// Sort key: hardware before software, then the native APIs before GL.
fn rank(adapter: &wgpu::Adapter) -> (u8, u8) {
    let info = adapter.get_info();
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let api = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        wgpu::Backend::Gl => 1,
        _ => 2,
    };
    (kind, api)
}

/// An open device and what the kernels need to know about it.
pub(crate) struct Context {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub report: AdapterReport,
    pub limits: wgpu::Limits,
    /// Half-precision storage is enabled (adapter has it and the caller allowed it).
    pub f16: bool,
    /// Subgroup operations are enabled (the adapter has them).
    pub subgroups: bool,
    /// Errors wgpu reported outside any error scope, and a device-lost message.
    pub uncaptured: Arc<Mutex<Vec<String>>>,
}

fn backend_error(message: impl Into<String>) -> Error {
    Error::Backend {
        backend: "wgpu",
        message: message.into(),
    }
}

/// Picks the best adapter (hardware first; a CPU adapter only with `allow_cpu`) and opens a
/// device with the adapter's own limits (wgpu's defaults would cap buffers at 256 MiB).
pub(crate) fn open(options: &WgpuOptions) -> Result<Context> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let mut found = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if found.is_empty() {
        return Err(backend_error(
            "no adapter found (no Vulkan/Metal/DX12/GL driver; on Linux without a GPU install \
             mesa-vulkan-drivers for lavapipe)",
        ));
    }
    found.sort_by_key(rank);
    let mut passed_over = Vec::new();
    let mut chosen = None;
    for adapter in found {
        let report = AdapterReport::of(&adapter);
        if report.is_cpu && !options.allow_cpu {
            passed_over.push(format!(
                "{} ({}): software adapter, used only when asked for (--backend wgpu)",
                report.name, report.backend
            ));
            continue;
        }
        let downlevel = adapter.get_downlevel_capabilities();
        if !downlevel
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            passed_over.push(format!(
                "{} ({}): no compute shaders",
                report.name, report.backend
            ));
            continue;
        }
        chosen = Some((adapter, report));
        break;
    }
    let Some((adapter, report)) = chosen else {
        return Err(backend_error(format!(
            "no usable adapter: {}",
            passed_over.join("; ")
        )));
    };

    let f16 = options.allow_f16 && report.shader_f16;
    let mut required_features = wgpu::Features::empty();
    if f16 {
        required_features |= wgpu::Features::SHADER_F16;
    }
    let subgroups = report.subgroup;
    if subgroups {
        required_features |= wgpu::Features::SUBGROUP;
    }
    let limits = adapter.limits();
    let descriptor = wgpu::DeviceDescriptor {
        label: Some("splatpress"),
        required_features,
        required_limits: limits.clone(),
        ..Default::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&descriptor)).map_err(|e| {
        backend_error(format!(
            "cannot open a device on {} ({}): {e}",
            report.name, report.backend
        ))
    })?;

    let uncaptured = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&uncaptured);
    device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
        if let Ok(mut list) = sink.lock() {
            list.push(error.to_string());
        }
    }));
    let sink = Arc::clone(&uncaptured);
    device.set_device_lost_callback(move |reason, message| {
        if let Ok(mut list) = sink.lock() {
            list.push(format!("device lost ({reason:?}): {message}"));
        }
    });
    Ok(Context {
        device,
        queue,
        report,
        limits,
        f16,
        subgroups,
        uncaptured,
    })
}
