//! What `splatpress devices` reports about CUDA devices and wgpu adapters: plain data, filled
//! in by the backends but compiled without them, so a build without the `cuda` or `wgpu`
//! feature has the same report shape.

use serde::Serialize;

/// One CUDA device as the driver reports it, with the outcome of loading our kernels.
#[derive(Debug, Clone, Serialize)]
pub struct CudaDeviceReport {
    /// Device ordinal (as in `CUDA_VISIBLE_DEVICES` order).
    pub ordinal: usize,
    /// Device name, e.g. "Tesla T4".
    pub name: String,
    /// Compute capability, e.g. "7.5".
    pub compute_capability: String,
    /// Total device memory in bytes.
    pub memory_bytes: usize,
    /// Free device memory in bytes when the report was made.
    pub free_bytes: usize,
    /// Multiprocessor count.
    pub multiprocessors: i32,
    /// CUDA version the driver supports, e.g. "12.8".
    pub driver_cuda_version: String,
    /// Kernel-module version of the driver (e.g. "580.159.04"), where the OS shows it.
    pub driver_version: Option<String>,
    /// Compute mode: "default", "exclusive-process", "prohibited" (or "exclusive-thread").
    pub compute_mode: String,
    /// True when every embedded PTX module loaded (JIT-compiled) on this device.
    pub ptx_loads: bool,
    /// The embedded machine code this GPU runs without a JIT (`sm_86`), or `None` (the PTX is
    /// JIT-compiled: GPUs outside sm_75/80/86/89/90 families).
    pub machine_code: Option<String>,
    /// Why it did not, if it did not.
    pub error: Option<String>,
    /// Milliseconds spent loading the modules in this process. The first load on a machine is
    /// the driver's JIT; later loads may come from its cache (~/.nv/ComputeCache).
    pub load_ms: Option<f64>,
}

/// What one adapter offers, as `splatpress devices` prints it (`--json`: this struct,
/// field for field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
