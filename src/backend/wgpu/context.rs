//! Instance, adapter choice and device creation, plus the adapter report behind
//! `splatpress devices`.

use std::sync::{Arc, Mutex};

use super::WgpuOptions;
use crate::backend::AdapterReport;
use crate::{Error, Result};

/// The report of one adapter.
fn report_of(adapter: &wgpu::Adapter) -> AdapterReport {
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

/// Every adapter wgpu can see (all backends), best first in
/// the order `open` would try them.
pub fn adapters() -> Vec<AdapterReport> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let mut found = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    found.sort_by_key(rank);
    found.iter().map(report_of).collect()
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
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
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
        let report = report_of(&adapter);
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
