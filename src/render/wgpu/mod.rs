//! The renderer on wgpu: the three steps of [`super`] in WGSL, with nothing but the picture
//! (and one u32 pair per view) coming back to the host.
//!
//! 1. Project: `wgsl/render_project.wgsl`, one invocation per splat.
//! 2. Bin and sort (`bin.rs`; [`super::bin`] on the host is the reference it is held to):
//!    tile counts, an exclusive scan for each splat's first key, one key per (tile, splat),
//!    a stable LSD radix sort on (tile, depth) and each tile's range.
//! 3. Blend: `wgsl/render_blend.wgsl`, one workgroup per 16×16 tile, reading the sorted ids
//!    and the ranges where step 2 left them.
//!
//! The device is opened the way the compute backend opens it ([`WgpuBackend`], with the
//! adapter's own buffer limits), so `--backend`-style choices and lavapipe work alike.
//!
//! Limits: a scene column larger than one storage binding (the adapter's
//! `max_storage_buffer_binding_size`, 128 MiB on lavapipe: about 700k splats with three SH
//! bands) is uploaded and projected in batches of splats, each batch in buffers of its own.
//! What must still fit in one binding is the projected splats (48 bytes each: 2.8M splats at
//! 128 MiB) and each array of the sort (4 bytes per (tile, splat) pair); past that the
//! renderer errors, and `eval --render` falls back to the CPU.

mod bin;

use wgpu::util::DeviceExt;

use super::{Bins, Camera, Image, Kernel, Prepared, Projected};
use crate::backend::wgpu::{WgpuBackend, WgpuOptions};
use crate::{Error, Result};

const PROJECT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/wgsl/render_project.wgsl"
));
const BLEND: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/wgsl/render_blend.wgsl"
));

/// Invocations per workgroup of `render_project.wgsl` and of the one-element-per-invocation
/// binning kernels.
const WORKGROUP: u32 = 256;

/// The uniform of `render_project.wgsl` (`struct View`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ViewParams {
    rows: [[f32; 4]; 3],
    eye: [f32; 4],
    fx: f32,
    fy: f32,
    cx: f32,
    cy: f32,
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    n: u32,
    bands: u32,
    sh_stride: u32,
    kernel: u32,
    first: u32,
    pad: [u32; 3],
}

const _: () = assert!(std::mem::size_of::<ViewParams>() == 128);

/// The uniform of `render_blend.wgsl` (`struct Blend`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BlendParams {
    width: u32,
    height: u32,
    tiles_x: u32,
    kernel: u32,
}

fn error(message: impl Into<String>) -> Error {
    Error::Backend {
        backend: "wgpu",
        message: format!("renderer: {}", message.into()),
    }
}

/// An open device with the render pipelines.
pub struct WgpuRenderer {
    backend: WgpuBackend,
    project: wgpu::ComputePipeline,
    blend: wgpu::ComputePipeline,
    bin: bin::Pipelines,
    /// The largest storage binding planned with (below the adapter's only in tests).
    binding_limit: u64,
}

impl std::fmt::Debug for WgpuRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// One batch of the scene's columns on the device: splats `first..first + len`.
struct Batch {
    first: u32,
    len: u32,
    positions: wgpu::Buffer,
    covariances: wgpu::Buffer,
    opacities: wgpu::Buffer,
    sh: wgpu::Buffer,
}

/// The scene on the device, and the projected splats of the current view.
struct Uploaded {
    n: u32,
    batches: Vec<Batch>,
    projected: wgpu::Buffer,
}

/// A storage buffer holding `bytes` (padded to 16 bytes: empty bindings are invalid).
fn storage_init(device: &wgpu::Device, label: &str, bytes: &[u8]) -> wgpu::Buffer {
    let bytes = if bytes.len() < 16 {
        let mut padded = bytes.to_vec();
        padded.resize(16, 0);
        std::borrow::Cow::Owned(padded)
    } else {
        std::borrow::Cow::Borrowed(bytes)
    };
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: &bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    })
}

/// Workgroup counts (x, y) covering `groups` within the per-dimension limit; the kernels
/// take the linear index `x + y · num_workgroups.x` and ignore what lies past their data.
fn grid(groups: u32, per_dim: u32) -> (u32, u32) {
    if groups <= per_dim {
        (groups, 1)
    } else {
        (per_dim, groups.div_ceil(per_dim))
    }
}

impl WgpuRenderer {
    /// Opens an adapter as `options` allow (hardware first; software only with `allow_cpu`)
    /// and compiles the pipelines.
    pub fn new(options: WgpuOptions) -> Result<Self> {
        let backend = WgpuBackend::new(options)?;
        let (device, _, limits) = backend.device();
        let pipeline = |label: &str, source: &str| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let (project, blend, bin) = scoped(&backend, "compiling the render kernels", || {
            Ok((
                pipeline("render_project", PROJECT),
                pipeline("render_blend", BLEND),
                bin::Pipelines::new(&pipeline),
            ))
        })?;
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        Ok(WgpuRenderer {
            backend,
            project,
            blend,
            bin,
            binding_limit,
        })
    }

    /// `wgpu (<adapter>, <api>)`.
    pub fn name(&self) -> String {
        let a = self.backend.adapter();
        format!("wgpu ({}, {})", a.name, a.backend)
    }

    /// Plans with storage bindings of at most `bytes` (never above the adapter's limit), so
    /// that tests reach the batched projection with small scenes.
    pub fn limit_binding(&mut self, bytes: u64) {
        self.binding_limit = self.binding_limit.min(bytes);
    }

    /// Renders every camera's view; the scene is uploaded once.
    pub fn render_all(
        &self,
        scene: &Prepared,
        cameras: &[Camera],
        kernel: Kernel,
        done: &mut dyn FnMut(usize),
    ) -> Result<Vec<Image>> {
        let uploaded = scoped(&self.backend, "uploading the scene", || self.upload(scene))?;
        let mut images = Vec::with_capacity(cameras.len());
        for (k, camera) in cameras.iter().enumerate() {
            let what = format!("rendering view {k}");
            images.push(scoped(&self.backend, &what, || {
                self.project(scene, &uploaded, camera, kernel)?;
                let bins = self.bin_on_device(&uploaded.projected, uploaded.n, camera)?;
                self.blend(&uploaded.projected, &bins, camera, kernel)
            })?);
            done(k);
        }
        Ok(images)
    }

    /// Step 2 alone on the device, for splats projected elsewhere, with the bins read back:
    /// what tests hold to the host's [`super::bin`].
    pub fn bin_projected(&self, projected: &[Projected], camera: &Camera) -> Result<Bins> {
        scoped(&self.backend, "binning", || {
            let (device, _, _) = self.backend.device();
            let n = u32::try_from(projected.len()).map_err(|_| error("too many splats"))?;
            let buffer = storage_init(device, "render projected", bytemuck::cast_slice(projected));
            let bins = self.bin_on_device(&buffer, n, camera)?;
            let ids = if bins.total == 0 {
                Vec::new()
            } else {
                bytemuck::pod_collect_to_vec(&self.download(&bins.ids, u64::from(bins.total) * 4)?)
            };
            let ranges = if bins.tiles == 0 {
                Vec::new()
            } else {
                bytemuck::pod_collect_to_vec(
                    &self.download(&bins.ranges, u64::from(bins.tiles) * 8)?,
                )
            };
            Ok(Bins { ids, ranges })
        })
    }

    /// The scene's columns in batches of splats, each column of a batch within one binding.
    fn upload(&self, scene: &Prepared) -> Result<Uploaded> {
        let (device, _, _) = self.backend.device();
        let limit = self.binding_limit;
        let n = u32::try_from(scene.len()).map_err(|_| error("too many splats"))?;
        let projected_bytes = (scene.len().max(1) * std::mem::size_of::<Projected>()) as u64;
        let per_splat = (scene.sh_stride() * 4).max(std::mem::size_of::<[f32; 6]>()) as u64;
        if projected_bytes > limit || per_splat > limit {
            return Err(error(format!(
                "{} projected splats need {} MiB in one binding; the adapter allows {} MiB",
                scene.len(),
                projected_bytes >> 20,
                limit >> 20
            )));
        }
        let batch = (limit / per_splat) as usize;
        let mut batches = Vec::with_capacity(scene.len().div_ceil(batch));
        let stride = scene.sh_stride();
        for first in (0..scene.len()).step_by(batch) {
            let end = (first + batch).min(scene.len());
            batches.push(Batch {
                first: first as u32,
                len: (end - first) as u32,
                positions: storage_init(
                    device,
                    "render positions",
                    bytemuck::cast_slice(&scene.positions[first..end]),
                ),
                covariances: storage_init(
                    device,
                    "render covariances",
                    bytemuck::cast_slice(&scene.covariances[first..end]),
                ),
                opacities: storage_init(
                    device,
                    "render opacities",
                    bytemuck::cast_slice(&scene.opacities[first..end]),
                ),
                sh: storage_init(
                    device,
                    "render sh",
                    bytemuck::cast_slice(&scene.sh[first * stride..end * stride]),
                ),
            });
        }
        Ok(Uploaded {
            n,
            batches,
            projected: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("render projected"),
                size: projected_bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
        })
    }

    /// Step 1 on the device, one dispatch per batch, into `uploaded.projected`.
    fn project(
        &self,
        scene: &Prepared,
        uploaded: &Uploaded,
        camera: &Camera,
        kernel: Kernel,
    ) -> Result<()> {
        if uploaded.batches.is_empty() {
            return Ok(());
        }
        let (device, queue, limits) = self.backend.device();
        let eye = camera.position();
        let (tiles_x, tiles_y) = camera.tiles();
        let r = &camera.rotation;
        let t = &camera.translation;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("render_project"),
        });
        for batch in &uploaded.batches {
            let params = ViewParams {
                rows: [0, 1, 2].map(|k| [r[k][0], r[k][1], r[k][2], t[k]]),
                eye: [eye[0], eye[1], eye[2], 0.0],
                fx: camera.fx,
                fy: camera.fy,
                cx: camera.cx,
                cy: camera.cy,
                width: camera.width,
                height: camera.height,
                tiles_x,
                tiles_y,
                n: batch.len,
                bands: u32::from(scene.bands),
                sh_stride: scene.sh_stride() as u32,
                kernel: kernel.code(),
                first: batch.first,
                pad: [0; 3],
            };
            let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("render view"),
                contents: bytemuck::bytes_of(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("render_project"),
                layout: &self.project.get_bind_group_layout(0),
                entries: &entries(&[
                    &uniform,
                    &batch.positions,
                    &batch.covariances,
                    &batch.opacities,
                    &batch.sh,
                    &uploaded.projected,
                ]),
            });
            let (gx, gy) = grid(
                batch.len.div_ceil(WORKGROUP),
                limits.max_compute_workgroups_per_dimension,
            );
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("render_project"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.project);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Step 3 on the device: the picture.
    fn blend(
        &self,
        projected: &wgpu::Buffer,
        bins: &bin::DeviceBins,
        camera: &Camera,
        kernel: Kernel,
    ) -> Result<Image> {
        let (device, queue, limits) = self.backend.device();
        let (tiles_x, tiles_y) = camera.tiles();
        let max_groups = limits.max_compute_workgroups_per_dimension;
        if tiles_x > max_groups || tiles_y > max_groups {
            return Err(error(format!(
                "{}×{} pixels is too large for one dispatch",
                camera.width, camera.height
            )));
        }
        let params = BlendParams {
            width: camera.width,
            height: camera.height,
            tiles_x,
            kernel: kernel.code(),
        };
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("render blend params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let pixel_bytes = u64::from(camera.width) * u64::from(camera.height) * 16;
        let pixels = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("render pixels"),
            size: pixel_bytes.max(16),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("render_blend"),
            layout: &self.blend.get_bind_group_layout(0),
            entries: &entries(&[&uniform, projected, &bins.ids, &bins.ranges, &pixels]),
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("render_blend"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("render_blend"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.blend);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(tiles_x, tiles_y, 1);
        }
        queue.submit([encoder.finish()]);
        if pixel_bytes == 0 {
            return Ok(Image {
                width: camera.width,
                height: camera.height,
                rgb: Vec::new(),
                alpha: Vec::new(),
            });
        }
        let raw = self.download(&pixels, pixel_bytes)?;
        let values: Vec<[f32; 4]> = bytemuck::pod_collect_to_vec(&raw);
        Ok(Image {
            width: camera.width,
            height: camera.height,
            rgb: values.iter().map(|v| [v[0], v[1], v[2]]).collect(),
            alpha: values.iter().map(|v| v[3]).collect(),
        })
    }

    /// Copies the first `bytes` of `source` back to the host.
    fn download(&self, source: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        let (device, queue, _) = self.backend.device();
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("render download"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("render download"),
        });
        encoder.copy_buffer_to_buffer(source, 0, &staging, 0, bytes);
        queue.submit([encoder.finish()]);
        let (sender, receiver) = std::sync::mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = sender.send(r);
        });
        wait(&self.backend)?;
        receiver
            .recv()
            .map_err(|_| error("the download was never mapped"))?
            .map_err(|e| error(format!("mapping a download failed: {e}")))?;
        let view = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| error(format!("reading a download failed: {e}")))?;
        let out = view.to_vec();
        drop(view);
        staging.unmap();
        Ok(out)
    }
}

/// Bind-group entries for `buffers` at bindings 0, 1, ….
fn entries<'a>(buffers: &[&'a wgpu::Buffer]) -> Vec<wgpu::BindGroupEntry<'a>> {
    buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect()
}

fn wait(backend: &WgpuBackend) -> Result<()> {
    let (device, _, _) = backend.device();
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map(|_| ())
        .map_err(|e| error(format!("waiting for the device failed: {e}")))
}

/// Runs `body` inside out-of-memory and validation error scopes and waits for the device;
/// the first error becomes [`Error::Backend`] naming `what`.
fn scoped<R>(backend: &WgpuBackend, what: &str, body: impl FnOnce() -> Result<R>) -> Result<R> {
    let (device, _, _) = backend.device();
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let result = body().and_then(|r| wait(backend).map(|()| r));
    let errors = [
        pollster::block_on(validation.pop()),
        pollster::block_on(oom.pop()),
    ];
    if let Some(e) = errors.into_iter().flatten().next() {
        return Err(error(format!("{what}: {e}")));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use naga::valid::{Capabilities, ValidationFlags, Validator};

    /// The size naga gives the struct `name` of `source` (which must validate).
    fn struct_size(source: &str, name: &str) -> usize {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
        Validator::new(ValidationFlags::all(), Capabilities::empty())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
        match module
            .types
            .iter()
            .find(|(_, ty)| ty.name.as_deref() == Some(name))
        {
            Some((
                _,
                naga::Type {
                    inner: naga::TypeInner::Struct { span, .. },
                    ..
                },
            )) => *span as usize,
            other => panic!("{name} is not a struct: {other:?}"),
        }
    }

    /// Every kernel validates, and host and shader agree on every shared struct.
    #[test]
    fn kernels_validate_and_sizes_agree() {
        assert_eq!(
            struct_size(PROJECT, "View"),
            std::mem::size_of::<ViewParams>()
        );
        assert_eq!(
            struct_size(PROJECT, "Projected"),
            std::mem::size_of::<Projected>()
        );
        assert_eq!(
            struct_size(BLEND, "Blend"),
            std::mem::size_of::<BlendParams>()
        );
        assert_eq!(
            struct_size(BLEND, "Projected"),
            std::mem::size_of::<Projected>()
        );
        for source in [
            bin::TILE_COUNT,
            bin::SCAN_BLOCKS,
            bin::SCAN_ADD,
            bin::EMIT,
            bin::SORT_HISTOGRAM,
            bin::SORT_SCATTER,
            bin::RANGES,
        ] {
            assert_eq!(
                struct_size(source, "Bin"),
                std::mem::size_of::<bin::BinParams>()
            );
            assert!(source.contains(&format!("@workgroup_size({WORKGROUP})")));
        }
        for source in [bin::TILE_COUNT, bin::EMIT] {
            assert_eq!(
                struct_size(source, "Projected"),
                std::mem::size_of::<Projected>()
            );
        }
        assert!(PROJECT.contains(&format!("@workgroup_size({WORKGROUP})")));
        assert!(BLEND.contains(&format!(
            "@workgroup_size({}, {})",
            super::super::TILE,
            super::super::TILE
        )));
    }
}
