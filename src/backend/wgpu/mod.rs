//! The wgpu backend: splatpress's kernels in WGSL (`wgsl/*.wgsl`) on any adapter wgpu finds
//! (Vulkan, Metal, DX12, GL; lavapipe on machines without a GPU). Results are held to
//! [`super::cpu`] by `tests/conformance.rs`.
//!
//! Every operation runs inside wgpu error scopes and waits for the device, so a validation
//! error, an out-of-memory or a lost device comes back as [`crate::Error::Backend`] from the
//! call that caused it; nothing panics.
//!
//! One file per kernel family: buffers here (with the context, pipeline and dispatch helpers
//! the families share; chunked storage in `buffer.rs`), `kmeans.rs`, `sort.rs`, `plas.rs`.
//! `shaders.rs` registers the WGSL files. The renderer (`crate::render::wgpu`) runs on this
//! backend too: its kernels are in the registry, it dispatches them with the helpers here
//! and reuses the scan and the radix sort of `sort.rs`.

mod buffer;
mod context;
mod decimate;
mod kmeans;
mod plas;
pub(crate) mod shaders;
pub(crate) mod sort;

use std::collections::HashMap;
use std::sync::Mutex;

use wgpu::util::DeviceExt;

use crate::backend::AdapterReport;
pub use buffer::GpuBuffer;
pub use context::adapters;
use shaders::{AssignVariant, Kernel};

use super::{Buffers, DeviceBuffer, Elem};
use crate::{Error, Result};

/// How to choose and configure the adapter.
#[derive(Debug, Clone, Default)]
pub struct WgpuOptions {
    /// Accept a software adapter (lavapipe/llvmpipe) when no hardware one exists. Off by
    /// default: a CPU adapter is slower than the `cpu` backend.
    pub allow_cpu: bool,
    /// Store points and centroids as f16 in `kmeans_assign` where the adapter has
    /// `shader-f16` (accumulation stays f32). Off by default: rounding the inputs to f16
    /// moves distances by ~1e-3 relative, so labels may differ from the f32 CPU reference
    /// beyond near-ties; they equal the reference run on f16-rounded inputs instead.
    pub allow_f16: bool,
    /// Lower the size of the point windows bound per dispatch below the adapter's storage
    /// binding limit (testing the windowed path).
    pub max_window_bytes: Option<u64>,
    /// Lower the buffer size used for chunking (testing the chunked path).
    pub max_buffer_bytes: Option<u64>,
}

/// A wgpu device with its compiled pipelines. Build once, run many kernels.
pub struct WgpuBackend {
    ctx: context::Context,
    options: WgpuOptions,
    pipelines: Mutex<HashMap<(Kernel, Option<AssignVariant>), wgpu::ComputePipeline>>,
}

impl std::fmt::Debug for WgpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WgpuBackend")
            .field("adapter", &self.ctx.report)
            .field("f16", &self.ctx.f16)
            .finish()
    }
}

pub(crate) fn backend_error(message: impl Into<String>) -> Error {
    Error::Backend {
        backend: "wgpu",
        message: message.into(),
    }
}

impl WgpuBackend {
    /// Opens the best adapter allowed by `options` (hardware first). Fails with a message
    /// listing what was found and why it was passed over when none is usable.
    pub fn new(options: WgpuOptions) -> Result<Self> {
        let ctx = context::open(&options)?;
        Ok(WgpuBackend {
            ctx,
            options,
            pipelines: Mutex::new(HashMap::new()),
        })
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterReport {
        &self.ctx.report
    }

    /// True when `kmeans_assign` stores points and centroids as f16.
    pub fn uses_f16(&self) -> bool {
        self.ctx.f16
    }

    /// The open device, its queue and limits, for GPU work outside the kernel families (the
    /// renderer behind `eval --render`), so that adapters are chosen and opened one way only.
    pub(crate) fn device(&self) -> (&wgpu::Device, &wgpu::Queue, &wgpu::Limits) {
        (&self.ctx.device, &self.ctx.queue, &self.ctx.limits)
    }

    /// A command encoder labelled `label`.
    pub(crate) fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }

    /// Blocks until the queue is idle.
    pub(crate) fn wait(&self) -> Result<()> {
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| backend_error(format!("waiting for the device failed: {e}")))
    }

    /// Runs `body` inside out-of-memory, validation and internal error scopes, waits for
    /// the device, and turns the first error into [`Error::Backend`] naming `what`.
    pub(crate) fn scoped<R>(&self, what: &str, body: impl FnOnce() -> Result<R>) -> Result<R> {
        let device = &self.ctx.device;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
        let result = body().and_then(|r| self.wait().map(|()| r));
        let errors = [
            pollster::block_on(internal.pop()),
            pollster::block_on(validation.pop()),
            pollster::block_on(oom.pop()),
        ];
        if let Some(error) = errors.into_iter().flatten().next() {
            return Err(backend_error(format!("{what}: {error}")));
        }
        if let Ok(mut list) = self.ctx.uncaptured.lock()
            && let Some(first) = list.drain(..).next()
        {
            return Err(backend_error(format!("{what}: {first}")));
        }
        result.map_err(|e| match e {
            Error::Backend { message, .. } => backend_error(format!("{what}: {message}")),
            other => other,
        })
    }

    /// The pipeline of `kernel` (compiled on first use, then cached).
    pub(crate) fn pipeline(
        &self,
        kernel: Kernel,
        variant: Option<AssignVariant>,
    ) -> Result<wgpu::ComputePipeline> {
        let mut cache = self
            .pipelines
            .lock()
            .map_err(|_| backend_error("pipeline cache poisoned by an earlier panic"))?;
        if let Some(p) = cache.get(&(kernel, variant)) {
            return Ok(p.clone());
        }
        if kernel.uses_subgroups() && !self.ctx.subgroups {
            return Err(backend_error(format!(
                "{}: the device has no subgroup operations",
                kernel.name()
            )));
        }
        let source = shaders::source(kernel, variant);
        let device = &self.ctx.device;
        let descriptor = wgpu::ShaderModuleDescriptor {
            label: Some(kernel.name()),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        };
        let module = if kernel == Kernel::KmeansAssign {
            // SAFETY: the hot loop of kmeans_assign.wgsl runs without wgpu's injected index
            // clamps and loop counters. Every index it uses is in bounds by construction:
            // workgroup-array indices are bounded by the loop conditions over the tile sizes,
            // and storage indices are guarded by `row < n`, `d < DIM` and `c < centroid_end`,
            // which `run_kmeans_assign` keeps within the bound buffers (a window of `n` rows, a
            // centroid part holding [centroid_base, centroid_end), `k` norms, labels and
            // distances for every row). Every loop steps a counter towards a bound that cannot
            // wrap (`run_kmeans_assign` rejects k within a tile of 2^32).
            unsafe {
                device.create_shader_module_trusted(
                    descriptor,
                    wgpu::ShaderRuntimeChecks::unchecked(),
                )
            }
        } else {
            device.create_shader_module(descriptor)
        };
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.name()),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        cache.insert((kernel, variant), pipeline.clone());
        Ok(pipeline)
    }

    /// Records one dispatch of `groups` workgroups (folded into 2-D past the per-dimension
    /// limit) with `params` at binding 0 and `bindings` at 1, 2, … `params` is the kernel's
    /// uniform: [`shaders::Params`] for most kernels, the family's own struct for the others.
    pub(crate) fn dispatch<P: bytemuck::Pod>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: Kernel,
        variant: Option<AssignVariant>,
        params: P,
        bindings: &[wgpu::BindingResource<'_>],
        groups: u32,
    ) -> Result<()> {
        if groups == 0 {
            return Ok(());
        }
        let uniform = self
            .ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::bytes_of(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        self.dispatch_uniform(encoder, kernel, variant, &uniform, bindings, groups)
    }

    /// [`Self::dispatch`] with the parameters already in `uniform` (binding 0).
    fn dispatch_uniform(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: Kernel,
        variant: Option<AssignVariant>,
        uniform: &wgpu::Buffer,
        bindings: &[wgpu::BindingResource<'_>],
        groups: u32,
    ) -> Result<()> {
        if groups == 0 {
            return Ok(());
        }
        let pipeline = self.pipeline(kernel, variant)?;
        let device = &self.ctx.device;
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        for (i, resource) in bindings.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: resource.clone(),
            });
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name()),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let max = self.ctx.limits.max_compute_workgroups_per_dimension.max(1);
        let (x, y) = if groups <= max {
            (groups, 1)
        } else {
            (max, groups.div_ceil(max))
        };
        if y > max {
            return Err(backend_error(format!(
                "{}: {groups} workgroups exceed {max}×{max}",
                kernel.name()
            )));
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(kernel.name()),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(x, y, 1);
        Ok(())
    }
}

/// A whole buffer as a binding.
fn bind(buffer: &wgpu::Buffer) -> wgpu::BindingResource<'_> {
    buffer.as_entire_binding()
}

/// `bytes` of `buffer` from `offset` as a binding.
fn bind_range(buffer: &wgpu::Buffer, offset: u64, bytes: u64) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer,
        offset,
        size: std::num::NonZeroU64::new(bytes.max(4)),
    })
}

/// Converts a length to the u32 the kernels index with.
fn to_u32(value: usize, what: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| backend_error(format!("{what} ({value}) exceeds 2^32")))
}

impl<T> DeviceBuffer for GpuBuffer<T> {
    fn len(&self) -> usize {
        GpuBuffer::len(self)
    }
}

impl Buffers for WgpuBackend {
    type Buffer<T: Elem> = GpuBuffer<T>;

    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn upload<T: Elem>(&self, data: &[T]) -> Result<GpuBuffer<T>> {
        self.scoped("upload", || {
            let buf = self.allocate::<T>(data.len(), "upload")?;
            self.write_chunks(&buf, data)?;
            Ok(buf)
        })
    }

    fn download<T: Elem>(&self, buf: &GpuBuffer<T>) -> Result<Vec<T>> {
        self.scoped("download", || self.read_chunks(buf))
    }

    fn zeros<T: Elem>(&self, len: usize) -> Result<GpuBuffer<T>> {
        self.scoped("zeros", || self.allocate::<T>(len, "zeros"))
    }

    fn run_write_at<T: Elem>(
        &self,
        buf: &mut GpuBuffer<T>,
        offset: usize,
        data: &[T],
    ) -> Result<()> {
        self.scoped("write", || self.write_chunks_at(buf, offset, data))
    }
}
