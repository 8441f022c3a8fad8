//! Thin safe layer over the CUDA driver API (`cudarc::driver::sys`, loaded at run time):
//! opening a device with the classic failures diagnosed, and device buffers (modules and
//! launches are in `module.rs`). Nothing here panics when libcuda is absent: [`open`] checks
//! `is_culib_present` before the first driver call.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::marker::PhantomData;

use cudarc::driver::sys::{self, CUresult, cudaError_enum as Code};

use super::cuda_error;
use super::ptx::{MIN_DRIVER, MIN_DRIVER_CUDA, PTX_ISA};
use crate::Result;

/// Lowest `cuDriverGetVersion` that JITs our PTX (ISA [`PTX_ISA`]): [`MIN_DRIVER_CUDA`]
/// (11000, CUDA 11.0, driver [`MIN_DRIVER`] = R450).
pub const MIN_DRIVER_VERSION: i32 = MIN_DRIVER_CUDA;

/// `CUDA_ERROR_X: description` for a driver result code.
pub fn describe(rc: CUresult) -> String {
    let mut name: *const c_char = std::ptr::null();
    let mut text: *const c_char = std::ptr::null();
    // SAFETY: the driver returns pointers to static NUL-terminated strings (or leaves null).
    unsafe {
        sys::cuGetErrorName(rc, &mut name);
        sys::cuGetErrorString(rc, &mut text);
        let read = |p: *const c_char| {
            (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
        };
        match (read(name), read(text)) {
            (Some(n), Some(t)) => format!("{n}: {t}"),
            (Some(n), None) => n,
            _ => format!("{rc:?}"),
        }
    }
}

/// `Ok` for `CUDA_SUCCESS`, else an error naming `what` and the code.
pub fn check(rc: CUresult, what: &str) -> Result<()> {
    if rc == Code::CUDA_SUCCESS {
        Ok(())
    } else {
        Err(cuda_error(format!("{what} failed: {}", describe(rc))))
    }
}

/// True when libcuda can be loaded (the NVIDIA driver is installed and visible).
pub fn driver_present() -> bool {
    // SAFETY: only tries to dlopen libcuda; calls no driver function.
    unsafe { sys::is_culib_present() }
}

/// The message for a machine without libcuda.
pub fn no_driver_message() -> String {
    format!(
        "no CUDA driver: libcuda.so (part of the NVIDIA driver) could not be loaded. Install the \
         NVIDIA driver {MIN_DRIVER} or newer; in a container, start it with the NVIDIA container \
         runtime (e.g. `docker run --gpus all`) so the driver is mounted"
    )
}

/// The kernel-module version of the NVIDIA driver (e.g. "580.159.04"), where Linux shows it.
pub fn kernel_driver_version() -> Option<String> {
    let text = std::fs::read_to_string("/proc/driver/nvidia/version").ok()?;
    let line = text.lines().next()?;
    line.split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()) && w.contains('.'))
        .map(str::to_string)
}

/// Refuses a driver whose CUDA version (`cuDriverGetVersion`) cannot JIT our PTX, naming
/// both versions and what happens next. `module` describes the driver in the message.
fn check_driver_version(version: i32, module: &str) -> Result<()> {
    if version >= MIN_DRIVER_VERSION {
        return Ok(());
    }
    Err(cuda_error(format!(
        "the NVIDIA driver{module} supports CUDA {}.{} (cuDriverGetVersion {version}); \
         splatpress's kernels are PTX ISA {PTX_ISA} and need CUDA {}.{} \
         ({MIN_DRIVER_CUDA}), i.e. driver {MIN_DRIVER} or newer. Update the driver, or use \
         --backend wgpu or cpu (--backend auto falls back to wgpu, then cpu)",
        version / 1000,
        (version % 1000) / 10,
        MIN_DRIVER_CUDA / 1000,
        (MIN_DRIVER_CUDA % 1000) / 10
    )))
}

/// `cuInit` and `cuDriverGetVersion`, with the failures explained. Returns the version
/// (e.g. 12080 for CUDA 12.8).
pub fn init_driver() -> Result<i32> {
    if !driver_present() {
        return Err(cuda_error(no_driver_message()));
    }
    let mut version: c_int = 0;
    // SAFETY: libcuda is loaded; cuDriverGetVersion exists in every driver and may be called
    // before cuInit.
    unsafe {
        check(sys::cuDriverGetVersion(&mut version), "cuDriverGetVersion")?;
    }
    let module = kernel_driver_version()
        .map(|v| format!(" (kernel module {v})"))
        .unwrap_or_default();
    check_driver_version(version, &module)?;
    // SAFETY: plain driver call.
    let rc = unsafe { sys::cuInit(0) };
    match rc {
        Code::CUDA_SUCCESS => Ok(version),
        Code::CUDA_ERROR_NO_DEVICE => Err(cuda_error(format!(
            "the NVIDIA driver{module} is installed but sees no CUDA GPU (cuInit: {}); check \
             CUDA_VISIBLE_DEVICES and, in a container, that a GPU was passed in",
            describe(rc)
        ))),
        _ => Err(cuda_error(format!(
            "cuInit failed: {} (driver{module}, CUDA {}.{})",
            describe(rc),
            version / 1000,
            (version % 1000) / 10
        ))),
    }
}

/// One device attribute.
pub fn attribute(dev: sys::CUdevice, attr: sys::CUdevice_attribute) -> Result<i32> {
    let mut value: c_int = 0;
    // SAFETY: `dev` came from cuDeviceGet after cuInit.
    unsafe {
        check(
            sys::cuDeviceGetAttribute(&mut value, attr, dev),
            "cuDeviceGetAttribute",
        )?
    };
    Ok(value)
}

/// The device's name.
pub fn device_name(dev: sys::CUdevice) -> Result<String> {
    let mut buf = [0 as c_char; 256];
    // SAFETY: the buffer length is passed; the driver NUL-terminates.
    unsafe {
        check(
            sys::cuDeviceGetName(buf.as_mut_ptr(), buf.len() as c_int, dev),
            "cuDeviceGetName",
        )?;
        Ok(CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
    }
}

/// A device with its retained primary context.
pub struct Device {
    /// Driver handle of the device.
    pub dev: sys::CUdevice,
    /// Its primary context, made current before each use.
    pub ctx: sys::CUcontext,
    /// Name, e.g. "Tesla T4".
    pub name: String,
    /// Compute capability, e.g. (7, 5).
    pub compute_capability: (i32, i32),
}

// SAFETY: CUDA contexts may be used from any thread once made current there (`bind`).
unsafe impl Send for Device {}
// SAFETY: as above; the driver serialises work on a context internally.
unsafe impl Sync for Device {}

impl Device {
    /// Opens device `ordinal` (driver initialised by [`init_driver`]) after checking its
    /// compute mode.
    pub fn open(ordinal: usize) -> Result<Self> {
        let mut count: c_int = 0;
        // SAFETY: plain driver calls after cuInit.
        unsafe { check(sys::cuDeviceGetCount(&mut count), "cuDeviceGetCount")? };
        if ordinal >= count as usize {
            return Err(cuda_error(format!(
                "CUDA device {ordinal} requested but the driver sees {count}"
            )));
        }
        let mut dev: sys::CUdevice = 0;
        // SAFETY: ordinal is in range.
        unsafe { check(sys::cuDeviceGet(&mut dev, ordinal as c_int), "cuDeviceGet")? };
        let name = device_name(dev)?;
        let mode = attribute(
            dev,
            sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_MODE,
        )?;
        if mode == 2 {
            return Err(cuda_error(format!(
                "GPU {ordinal} ({name}) is in compute mode PROHIBITED: no process may use it. \
                 An administrator can change it with `nvidia-smi -i {ordinal} -c DEFAULT`; or \
                 use --backend wgpu or cpu"
            )));
        }
        let mut ctx: sys::CUcontext = std::ptr::null_mut();
        // SAFETY: dev is valid; the context is released in Drop.
        let rc = unsafe { sys::cuDevicePrimaryCtxRetain(&mut ctx, dev) };
        if rc != Code::CUDA_SUCCESS {
            let busy = matches!(
                rc,
                Code::CUDA_ERROR_DEVICE_UNAVAILABLE | Code::CUDA_ERROR_INVALID_DEVICE
            ) || mode == 3
                || mode == 1;
            let hint = if busy {
                format!(
                    " GPU {ordinal} is in an exclusive compute mode (mode {mode}) and another \
                     process holds it: wait for that process, run on another GPU \
                     (CUDA_VISIBLE_DEVICES), or use --backend wgpu or cpu"
                )
            } else {
                String::new()
            };
            return Err(cuda_error(format!(
                "creating a context on GPU {ordinal} ({name}) failed: {}.{hint}",
                describe(rc)
            )));
        }
        let compute_capability = (
            attribute(
                dev,
                sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
            )?,
            attribute(
                dev,
                sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
            )?,
        );
        let device = Device {
            dev,
            ctx,
            name,
            compute_capability,
        };
        device.bind()?;
        Ok(device)
    }

    /// Makes the context current on the calling thread.
    pub fn bind(&self) -> Result<()> {
        // SAFETY: ctx is a retained primary context.
        unsafe { check(sys::cuCtxSetCurrent(self.ctx), "cuCtxSetCurrent") }
    }

    /// Waits for all queued work; errors of earlier launches surface here.
    pub fn synchronize(&self, what: &str) -> Result<()> {
        // SAFETY: plain driver call on the current context.
        unsafe { check(sys::cuCtxSynchronize(), what) }
    }

    /// (free, total) device memory in bytes.
    pub fn memory(&self) -> Result<(usize, usize)> {
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: plain driver call on the current context.
        unsafe { check(sys::cuMemGetInfo_v2(&mut free, &mut total), "cuMemGetInfo")? };
        Ok((free, total))
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: releases the retain taken in `open`.
        unsafe {
            sys::cuDevicePrimaryCtxRelease_v2(self.dev);
        }
    }
}

/// A device allocation of `len` values of `T` (no allocation when `len` is 0).
pub struct CudaBuffer<T> {
    ptr: sys::CUdeviceptr,
    len: usize,
    ctx: sys::CUcontext,
    _elem: PhantomData<T>,
}

// SAFETY: a device pointer is plain data; the allocation is freed once, in Drop.
unsafe impl<T> Send for CudaBuffer<T> {}
// SAFETY: shared references only read the pointer.
unsafe impl<T> Sync for CudaBuffer<T> {}

impl<T> CudaBuffer<T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The device address, for kernel arguments.
    pub fn ptr(&self) -> sys::CUdeviceptr {
        self.ptr
    }

    /// Size in bytes.
    pub fn bytes(&self) -> usize {
        self.len * std::mem::size_of::<T>()
    }
}

impl<T> std::fmt::Debug for CudaBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CudaBuffer({} × {})",
            self.len,
            std::any::type_name::<T>()
        )
    }
}

impl<T> Drop for CudaBuffer<T> {
    fn drop(&mut self) {
        if self.ptr != 0 {
            // SAFETY: frees the allocation made in `allocate`, with its context current.
            unsafe {
                sys::cuCtxSetCurrent(self.ctx);
                sys::cuMemFree_v2(self.ptr);
            }
        }
    }
}

impl Device {
    /// An uninitialised buffer of `len` elements; out-of-memory says how much was asked for
    /// and how much the device has free.
    pub fn allocate<T>(&self, len: usize, what: &str) -> Result<CudaBuffer<T>> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| cuda_error(format!("{what}: {len} elements overflow the size")))?;
        let mut ptr: sys::CUdeviceptr = 0;
        if bytes > 0 {
            self.bind()?;
            // SAFETY: plain allocation; freed in CudaBuffer's Drop.
            let rc = unsafe { sys::cuMemAlloc_v2(&mut ptr, bytes) };
            if rc == Code::CUDA_ERROR_OUT_OF_MEMORY {
                let (free, total) = self.memory().unwrap_or((0, 0));
                return Err(cuda_error(format!(
                    "out of GPU memory: {what} needs {} but {} of {} is free on {}. Use a \
                     smaller input, free the GPU of other processes, or use --backend cpu",
                    mib(bytes),
                    mib(free),
                    mib(total),
                    self.name
                )));
            }
            check(rc, &format!("{what}: allocating {bytes} bytes"))?;
        }
        Ok(CudaBuffer {
            ptr,
            len,
            ctx: self.ctx,
            _elem: PhantomData,
        })
    }

    /// Copies `data` into `buf` (same byte length).
    pub fn copy_to_device<T: bytemuck::Pod>(&self, buf: &CudaBuffer<T>, data: &[T]) -> Result<()> {
        if data.len() != buf.len {
            return Err(cuda_error(format!(
                "write: {} values into a buffer of {}",
                data.len(),
                buf.len
            )));
        }
        self.copy_to_device_at(buf, 0, data)
    }

    /// Copies `data` into `buf` from value `offset` on (the range must fit).
    pub fn copy_to_device_at<T: bytemuck::Pod>(
        &self,
        buf: &CudaBuffer<T>,
        offset: usize,
        data: &[T],
    ) -> Result<()> {
        if offset
            .checked_add(data.len())
            .is_none_or(|end| end > buf.len)
        {
            return Err(cuda_error(format!(
                "write: {} values at {offset} into a buffer of {}",
                data.len(),
                buf.len
            )));
        }
        if buf.ptr == 0 || data.is_empty() {
            return Ok(());
        }
        self.bind()?;
        let size = std::mem::size_of::<T>();
        // SAFETY: the destination range [offset, offset + len) lies inside `buf` (checked
        // above) and the source is `data`, `len · size` bytes.
        unsafe {
            check(
                sys::cuMemcpyHtoD_v2(
                    buf.ptr + (offset * size) as u64,
                    data.as_ptr() as *const c_void,
                    std::mem::size_of_val(data),
                ),
                "copy to the GPU",
            )
        }
    }

    /// Copies `buf` to a new host vector.
    pub fn copy_to_host<T: bytemuck::Pod>(&self, buf: &CudaBuffer<T>) -> Result<Vec<T>> {
        let mut out = vec![T::zeroed(); buf.len];
        if buf.ptr == 0 {
            return Ok(out);
        }
        self.bind()?;
        // SAFETY: both ranges are `buf.bytes()` long; the copy waits for queued kernels.
        unsafe {
            check(
                sys::cuMemcpyDtoH_v2(out.as_mut_ptr() as *mut c_void, buf.ptr, buf.bytes()),
                "copy from the GPU",
            )?;
        }
        Ok(out)
    }

    /// Copies all of `src` into `dst` (same length) on the device.
    pub fn copy_device<T>(&self, dst: &CudaBuffer<T>, src: &CudaBuffer<T>) -> Result<()> {
        if dst.len != src.len {
            return Err(cuda_error(
                "device copy between buffers of different lengths",
            ));
        }
        if dst.ptr == 0 {
            return Ok(());
        }
        // SAFETY: both allocations are `bytes()` long.
        unsafe {
            check(
                sys::cuMemcpyDtoD_v2(dst.ptr, src.ptr, dst.bytes()),
                "device copy",
            )
        }
    }

    /// Sets every byte of `buf` to zero.
    pub fn zero<T>(&self, buf: &CudaBuffer<T>) -> Result<()> {
        if buf.ptr == 0 {
            return Ok(());
        }
        // SAFETY: the range is the allocation.
        unsafe { check(sys::cuMemsetD8_v2(buf.ptr, 0, buf.bytes()), "memset") }
    }
}

/// Bytes as MiB for messages.
pub fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_driver_too_old_for_the_ptx_is_refused_with_both_versions() {
        // R440 reports CUDA 10.2: one step below ISA 7.0.
        let message = check_driver_version(10020, " (kernel module 440.118.02)")
            .unwrap_err()
            .to_string();
        for part in [
            "CUDA 10.2",
            "CUDA 11.0",
            "R450",
            "PTX ISA 7.0",
            "falls back",
            "440.118.02",
        ] {
            assert!(message.contains(part), "`{part}` missing from: {message}");
        }
        // R450 (11.0) and SageMaker's R470 (11.4) are accepted.
        assert!(check_driver_version(11000, "").is_ok());
        assert!(check_driver_version(11040, "").is_ok());
    }
}
