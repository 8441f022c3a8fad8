//! Kernel modules and entry points: loading a module (its machine code for the GPU at hand, or
//! the PTX through the driver's JIT) and launching its kernels.

use std::ffi::{CString, c_uint, c_void};
use std::time::Instant;

use cudarc::driver::sys::{self, cudaError_enum as Code};

use super::cuda_error;
use super::driver::{check, describe};
use super::ptx::{MIN_DRIVER, MIN_DRIVER_CUDA, PTX_ISA, PtxModule};
use crate::Result;

/// A loaded module, what was loaded, and the time the load took.
pub struct Module {
    handle: sys::CUmodule,
    /// Milliseconds spent loading (for PTX: the driver's JIT, or its cache).
    pub load_ms: f64,
    /// The machine code's architecture (`sm_86`), or `None` when the PTX was JIT-compiled.
    pub machine_code: Option<String>,
}

// SAFETY: module handles are context-wide and usable from any thread with the context current.
unsafe impl Send for Module {}
// SAFETY: as above; only read after loading.
unsafe impl Sync for Module {}

impl Module {
    /// Loads `module` for a GPU of compute capability `cc`: its machine code when it has some
    /// for that GPU (no JIT), else, or when the driver refuses the cubin, the PTX.
    pub fn load_for(module: &PtxModule, cc: (i32, i32)) -> Result<Self> {
        if let Some(cubin) = module.machine_code(cc) {
            let mut handle: sys::CUmodule = std::ptr::null_mut();
            let start = Instant::now();
            // SAFETY: bytes is a complete cubin ELF image, alive for the program's life.
            let rc = unsafe {
                sys::cuModuleLoadData(&mut handle, cubin.bytes.as_ptr() as *const c_void)
            };
            if rc == Code::CUDA_SUCCESS {
                return Ok(Module {
                    handle,
                    load_ms: start.elapsed().as_secs_f64() * 1e3,
                    machine_code: Some(cubin.name()),
                });
            }
        }
        Self::load(module.source, module.name)
    }

    /// JIT-compiles `ptx` for the current context's device; a failure carries the JIT log.
    pub fn load(ptx: &str, name: &str) -> Result<Self> {
        let source = CString::new(ptx).map_err(|_| cuda_error(format!("{name}: NUL in PTX")))?;
        let mut log = vec![0u8; 16 * 1024];
        let mut options = [
            sys::CUjit_option::CU_JIT_ERROR_LOG_BUFFER,
            sys::CUjit_option::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
        ];
        let mut values = [log.as_mut_ptr() as *mut c_void, log.len() as *mut c_void];
        let mut handle: sys::CUmodule = std::ptr::null_mut();
        let start = Instant::now();
        // SAFETY: source is NUL-terminated PTX; the log buffer outlives the call and its size
        // is passed; options and values have the same length.
        let rc = unsafe {
            sys::cuModuleLoadDataEx(
                &mut handle,
                source.as_ptr() as *const c_void,
                options.len() as c_uint,
                options.as_mut_ptr(),
                values.as_mut_ptr(),
            )
        };
        let load_ms = start.elapsed().as_secs_f64() * 1e3;
        if rc != Code::CUDA_SUCCESS {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let log = String::from_utf8_lossy(&log[..end]).trim().to_string();
            let advice = match rc {
                Code::CUDA_ERROR_UNSUPPORTED_PTX_VERSION => format!(
                    " The driver is too old for PTX ISA {PTX_ISA}: install driver {MIN_DRIVER} \
                     or newer (CUDA {}.{}+), or use --backend wgpu or cpu.",
                    MIN_DRIVER_CUDA / 1000,
                    (MIN_DRIVER_CUDA % 1000) / 10
                ),
                Code::CUDA_ERROR_NO_BINARY_FOR_GPU | Code::CUDA_ERROR_INVALID_PTX => {
                    " The GPU may be older than compute capability 7.5 (Turing), which the \
                     kernels target; use --backend wgpu or cpu."
                        .to_string()
                }
                _ => String::new(),
            };
            let log = if log.is_empty() {
                String::new()
            } else {
                format!("\nJIT log:\n{log}")
            };
            return Err(cuda_error(format!(
                "loading the {name} kernels (PTX JIT) failed: {}.{advice}{log}",
                describe(rc)
            )));
        }
        Ok(Module {
            handle,
            load_ms,
            machine_code: None,
        })
    }

    /// The kernel `name` of this module.
    pub fn function(&self, name: &str) -> Result<Function> {
        let cname = CString::new(name).map_err(|_| cuda_error("NUL in kernel name"))?;
        let mut f: sys::CUfunction = std::ptr::null_mut();
        // SAFETY: handle is a loaded module; name is NUL-terminated.
        unsafe {
            check(
                sys::cuModuleGetFunction(&mut f, self.handle, cname.as_ptr()),
                &format!("looking up kernel {name}"),
            )?;
        }
        Ok(Function {
            handle: f,
            name: name.to_string(),
        })
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        // SAFETY: unloads the module loaded in `load`; its functions die with it (they are
        // only held by the backend that holds the module).
        unsafe {
            sys::cuModuleUnload(self.handle);
        }
    }
}

/// A kernel entry point.
pub struct Function {
    handle: sys::CUfunction,
    name: String,
}

// SAFETY: function handles are immutable and context-wide.
unsafe impl Send for Function {}
// SAFETY: as above.
unsafe impl Sync for Function {}

/// One kernel argument.
#[derive(Clone, Copy)]
pub enum Arg {
    /// A device pointer.
    Ptr(sys::CUdeviceptr),
    /// A 32-bit unsigned integer.
    U32(u32),
}

impl Function {
    /// Queues `grid` blocks of `block` threads with `shared` bytes of dynamic shared memory.
    pub fn launch(&self, grid: u32, block: u32, shared: u32, args: &[Arg]) -> Result<()> {
        if grid == 0 {
            return Ok(());
        }
        // Each value lives in a u64 slot; a u32 parameter reads the slot's first (low,
        // little-endian) 4 bytes.
        let mut slots: Vec<u64> = args
            .iter()
            .map(|a| match *a {
                Arg::Ptr(p) => p,
                Arg::U32(v) => u64::from(v),
            })
            .collect();
        let mut params: Vec<*mut c_void> = slots
            .iter_mut()
            .map(|s| s as *mut u64 as *mut c_void)
            .collect();
        // SAFETY: params point at live slots of the kernel's parameter types (pointers and
        // u32, checked against the .cu signatures by the conformance tests); the null stream
        // orders launches with the synchronous copies.
        unsafe {
            check(
                sys::cuLaunchKernel(
                    self.handle,
                    grid,
                    1,
                    1,
                    block,
                    1,
                    1,
                    shared,
                    std::ptr::null_mut(),
                    params.as_mut_ptr(),
                    std::ptr::null_mut(),
                ),
                &format!("launching {}", self.name),
            )
        }
    }
}
