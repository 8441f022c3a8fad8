//! The renderer on wgpu: the three steps of [`super`] in WGSL, with nothing but the picture
//! (and one u32 pair per view) coming back to the host.
//!
//! 1. Project: `wgsl/render_project.wgsl`, one invocation per splat.
//! 2. Bin and sort (`bin.rs`; [`super::bin`] on the host is the reference it is held to):
//!    tile counts, the compute backend's exclusive scan for each splat's first key, one
//!    (tile, depth) key per (tile, splat), the backend's stable LSD radix sort and each
//!    tile's range.
//! 3. Blend: `wgsl/render_blend.wgsl`, one workgroup per 16×16 tile, reading the sorted ids
//!    and the ranges where step 2 left them.
//!
//! Everything runs on a [`WgpuBackend`]: the device is opened the way the compute backend
//! opens it (with the adapter's own buffer limits), so `--backend`-style choices and
//! lavapipe work alike; the render kernels are in its shader registry
//! (`backend::wgpu::shaders`, with `wgsl/render_common.wgsl` declaring the structs they
//! share), dispatched, error-scoped and waited for by its helpers.
//!
//! Limits: a scene column larger than one storage binding (the adapter's
//! `max_storage_buffer_binding_size`, 128 MiB on lavapipe: about 700k splats with three SH
//! bands) is uploaded and projected in batches of splats, each batch in buffers of its own.
//! What must still fit in one binding is the projected splats (48 bytes each: 2.8M splats at
//! 128 MiB) and the sort keys (8 bytes per (tile, splat) pair: 16.7M pairs at 128 MiB); past
//! that the renderer errors, and `eval --render` falls back to the CPU.

mod bin;

use wgpu::util::DeviceExt;

use super::{Bins, Camera, Image, Kernel, Prepared, Projected};
use crate::backend::wgpu::shaders::{self, WORKGROUP};
use crate::backend::wgpu::{WgpuBackend, WgpuOptions};
use crate::{Error, Result};

/// The uniform of `render_project.wgsl` (`struct View` in `wgsl/render_common.wgsl`).
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

/// The uniform of `render_blend.wgsl` (`struct Blend` in `wgsl/render_common.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BlendParams {
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    kernel: u32,
}

/// The render kernels, compiled when the renderer is made.
const KERNELS: [shaders::Kernel; 5] = [
    shaders::Kernel::RenderProject,
    shaders::Kernel::RenderTileCount,
    shaders::Kernel::RenderEmit,
    shaders::Kernel::RenderRanges,
    shaders::Kernel::RenderBlend,
];

fn error(message: impl Into<String>) -> Error {
    Error::Backend {
        backend: "wgpu",
        message: format!("renderer: {}", message.into()),
    }
}

/// An open device: a [`WgpuBackend`], whose shader registry compiles the render kernels.
pub struct WgpuRenderer {
    backend: WgpuBackend,
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

impl WgpuRenderer {
    /// Opens an adapter as `options` allow (hardware first; software only with `allow_cpu`)
    /// and compiles the render kernels (the backend's scan and sort compile on first use).
    pub fn new(options: WgpuOptions) -> Result<Self> {
        let backend = WgpuBackend::new(options)?;
        backend.scoped("compiling the render kernels", || {
            KERNELS
                .iter()
                .try_for_each(|&k| backend.pipeline(k, None).map(drop))
        })?;
        let (_, _, limits) = backend.device();
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        Ok(WgpuRenderer {
            backend,
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
        let uploaded = self
            .backend
            .scoped("uploading the scene", || self.upload(scene))?;
        let mut images = Vec::with_capacity(cameras.len());
        for (k, camera) in cameras.iter().enumerate() {
            let what = format!("rendering view {k}");
            images.push(self.backend.scoped(&what, || {
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
        self.backend.scoped("binning", || {
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
        let eye = camera.position();
        let (tiles_x, tiles_y) = camera.tiles();
        let r = &camera.rotation;
        let t = &camera.translation;
        let mut encoder = self.backend.encoder("render_project");
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
            self.backend.dispatch(
                &mut encoder,
                shaders::Kernel::RenderProject,
                None,
                params,
                &[
                    batch.positions.as_entire_binding(),
                    batch.covariances.as_entire_binding(),
                    batch.opacities.as_entire_binding(),
                    batch.sh.as_entire_binding(),
                    uploaded.projected.as_entire_binding(),
                ],
                batch.len.div_ceil(WORKGROUP),
            )?;
        }
        let (_, queue, _) = self.backend.device();
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
        let (tiles_x, tiles_y) = camera.tiles();
        let params = BlendParams {
            width: camera.width,
            height: camera.height,
            tiles_x,
            tiles_y,
            kernel: kernel.code(),
        };
        let pixel_bytes = u64::from(camera.width) * u64::from(camera.height) * 16;
        let pixels = self.buffer("render pixels", pixel_bytes);
        let mut encoder = self.backend.encoder("render_blend");
        self.backend.dispatch(
            &mut encoder,
            shaders::Kernel::RenderBlend,
            None,
            params,
            &[
                projected.as_entire_binding(),
                bins.ids.as_entire_binding(),
                bins.ranges.as_entire_binding(),
                pixels.as_entire_binding(),
            ],
            bins.tiles,
        )?;
        let (_, queue, _) = self.backend.device();
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

    /// A storage buffer of at least `bytes` (never empty: empty bindings are invalid) that
    /// can be copied to and from.
    fn buffer(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        self.backend.raw_buffer(
            bytes,
            label,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// Copies the first `bytes` of `source` back to the host.
    fn download(&self, source: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        let (_, queue, _) = self.backend.device();
        let staging = self.backend.raw_buffer(
            bytes,
            "render download",
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let mut encoder = self.backend.encoder("render download");
        encoder.copy_buffer_to_buffer(source, 0, &staging, 0, bytes);
        queue.submit([encoder.finish()]);
        let (sender, receiver) = std::sync::mpsc::channel();
        staging
            .slice(..bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = sender.send(r);
            });
        self.backend.wait()?;
        receiver
            .recv()
            .map_err(|_| error("the download was never mapped"))?
            .map_err(|e| error(format!("mapping a download failed: {e}")))?;
        let view = staging
            .slice(..bytes)
            .get_mapped_range()
            .map_err(|e| error(format!("reading a download failed: {e}")))?;
        let out = view.to_vec();
        drop(view);
        staging.unmap();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size naga gives the struct `name` in `module`.
    fn struct_size(module: &naga::Module, name: &str) -> usize {
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

    /// Host and shader agree on every struct of `wgsl/render_common.wgsl`, in every render
    /// kernel, and the blend's workgroup is one tile. (`backend::wgpu::shaders` validates
    /// the kernels and checks their workgroup sizes.)
    #[test]
    fn render_structs_match_the_host() {
        for kernel in KERNELS {
            assert!(kernel.is_render());
            let source = shaders::source(kernel, None);
            let module = naga::front::wgsl::parse_str(&source)
                .unwrap_or_else(|e| panic!("{}", e.emit_to_string(&source)));
            for (name, size) in [
                ("View", std::mem::size_of::<ViewParams>()),
                ("Blend", std::mem::size_of::<BlendParams>()),
                ("Bin", std::mem::size_of::<bin::BinParams>()),
                ("Projected", std::mem::size_of::<Projected>()),
            ] {
                assert_eq!(struct_size(&module, name), size, "{name}");
            }
        }
        let tile = super::super::TILE;
        assert_eq!(
            shaders::Kernel::RenderBlend.workgroup_size(),
            [tile, tile, 1]
        );
    }
}
