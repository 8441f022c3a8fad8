//! `splatpress devices`: what the CUDA driver sees, and whether our PTX loads on each GPU.

use super::driver::{self, Device};
use super::module::Module;
use super::ptx;
use crate::Result;
use crate::backend::CudaDeviceReport;
use cudarc::driver::sys::CUdevice_attribute as Attr;

/// Every CUDA device with its report. Fails (without panicking) when no driver is present or
/// the driver is unusable; per-device problems are recorded in the report instead.
pub fn devices() -> Result<Vec<CudaDeviceReport>> {
    let version = driver::init_driver()?;
    Ok((0..count()?)
        .map(|ordinal| report(ordinal, version))
        .collect())
}

/// How many CUDA devices the driver shows this process (after `CUDA_VISIBLE_DEVICES`),
/// without loading any kernels.
pub fn device_count() -> Result<usize> {
    driver::init_driver()?;
    count()
}

fn count() -> Result<usize> {
    let mut count = 0;
    // SAFETY: plain driver call after cuInit.
    unsafe {
        driver::check(
            cudarc::driver::sys::cuDeviceGetCount(&mut count),
            "cuDeviceGetCount",
        )?;
    }
    Ok(count.max(0) as usize)
}

fn report(ordinal: usize, version: i32) -> CudaDeviceReport {
    let mut r = CudaDeviceReport {
        ordinal,
        name: String::new(),
        compute_capability: String::new(),
        memory_bytes: 0,
        free_bytes: 0,
        multiprocessors: 0,
        driver_cuda_version: format!("{}.{}", version / 1000, (version % 1000) / 10),
        driver_version: driver::kernel_driver_version(),
        compute_mode: String::new(),
        ptx_loads: false,
        machine_code: None,
        error: None,
        load_ms: None,
    };
    let mut dev = 0;
    // SAFETY: ordinal < cuDeviceGetCount.
    let rc = unsafe { cudarc::driver::sys::cuDeviceGet(&mut dev, ordinal as i32) };
    if let Err(e) = driver::check(rc, "cuDeviceGet") {
        r.error = Some(e.to_string());
        return r;
    }
    r.name = driver::device_name(dev).unwrap_or_default();
    let attr = |a| driver::attribute(dev, a).unwrap_or(-1);
    let cc = (
        attr(Attr::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
        attr(Attr::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
    );
    r.compute_capability = format!("{}.{}", cc.0, cc.1);
    r.machine_code = ptx::KMEANS.machine_code(cc).map(|c| c.name());
    r.multiprocessors = attr(Attr::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    r.compute_mode = match attr(Attr::CU_DEVICE_ATTRIBUTE_COMPUTE_MODE) {
        0 => "default",
        1 => "exclusive-thread",
        2 => "prohibited",
        3 => "exclusive-process",
        _ => "unknown",
    }
    .into();
    let loaded = Device::open(ordinal).and_then(|device| {
        let (free, total) = device.memory()?;
        r.free_bytes = free;
        r.memory_bytes = total;
        let mut ms = 0.0;
        for module in ptx::ALL {
            ms += Module::load(module.source, module.name)?.load_ms;
        }
        Ok(ms)
    });
    match loaded {
        Ok(ms) => {
            r.ptx_loads = true;
            r.load_ms = Some(ms);
        }
        Err(e) => r.error = Some(e.to_string()),
    }
    r
}
