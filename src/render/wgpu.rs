//! The renderer on wgpu: steps 1 and 3 of [`super`] in WGSL (`wgsl/render_project.wgsl`,
//! `wgsl/render_blend.wgsl`), step 2 (binning and the depth sort) on the host, shared with the
//! CPU reference ([`super::bin`]). The device is opened the way the compute backend opens it
//! ([`WgpuBackend`]), so `--backend`-style choices and lavapipe work alike.
//!
//! Limits: every column of the scene must fit in one storage binding (the adapter's
//! `max_storage_buffer_binding_size`, at least 128 MiB: about 700k splats with three SH bands);
//! a larger scene is an error, on which `eval --render` falls back to the CPU.

use wgpu::util::DeviceExt;

use super::{Bins, Camera, Image, Kernel, Prepared, Projected, bin};
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

/// Invocations per workgroup of `render_project.wgsl`.
const PROJECT_WORKGROUP: u32 = 256;

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
}

const _: () = assert!(std::mem::size_of::<ViewParams>() == 112);

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

/// An open device with the two render pipelines.
pub struct WgpuRenderer {
    backend: WgpuBackend,
    project: wgpu::ComputePipeline,
    blend: wgpu::ComputePipeline,
}

impl std::fmt::Debug for WgpuRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// The scene's columns on the device.
struct Uploaded {
    positions: wgpu::Buffer,
    covariances: wgpu::Buffer,
    opacities: wgpu::Buffer,
    sh: wgpu::Buffer,
    projected: wgpu::Buffer,
}

impl WgpuRenderer {
    /// Opens an adapter as `options` allow (hardware first; software only with `allow_cpu`)
    /// and compiles the pipelines.
    pub fn new(options: WgpuOptions) -> Result<Self> {
        let backend = WgpuBackend::new(options)?;
        let (device, _, _) = backend.device();
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
        let (project, blend) = scoped(&backend, "compiling the render kernels", || {
            Ok((
                pipeline("render_project", PROJECT),
                pipeline("render_blend", BLEND),
            ))
        })?;
        Ok(WgpuRenderer {
            backend,
            project,
            blend,
        })
    }

    /// `wgpu (<adapter>, <api>)`.
    pub fn name(&self) -> String {
        let a = self.backend.adapter();
        format!("wgpu ({}, {})", a.name, a.backend)
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
            let projected = scoped(&self.backend, &what, || {
                self.project(scene, &uploaded, camera, kernel)
            })?;
            let bins = bin(&projected, camera);
            images.push(scoped(&self.backend, &what, || {
                self.blend(&uploaded, &bins, camera, kernel)
            })?);
            done(k);
        }
        Ok(images)
    }

    fn upload(&self, scene: &Prepared) -> Result<Uploaded> {
        let (device, _, limits) = self.backend.device();
        let max = limits.max_storage_buffer_binding_size;
        let n = scene.len().max(1);
        let sh_bytes = (n * scene.sh_stride() * 4) as u64;
        let projected_bytes = (n * std::mem::size_of::<Projected>()) as u64;
        if sh_bytes.max(projected_bytes) > max {
            return Err(error(format!(
                "{} splats need {} MiB in one binding; the adapter allows {} MiB",
                scene.len(),
                sh_bytes.max(projected_bytes) >> 20,
                max >> 20
            )));
        }
        let storage = |label: &str, bytes: &[u8]| {
            // Empty bindings are invalid: pad to one value.
            let bytes = if bytes.is_empty() {
                &[0u8; 16][..]
            } else {
                bytes
            };
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        Ok(Uploaded {
            positions: storage("render positions", bytemuck::cast_slice(&scene.positions)),
            covariances: storage(
                "render covariances",
                bytemuck::cast_slice(&scene.covariances),
            ),
            opacities: storage("render opacities", bytemuck::cast_slice(&scene.opacities)),
            sh: storage("render sh", bytemuck::cast_slice(&scene.sh)),
            projected: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("render projected"),
                size: projected_bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
        })
    }

    /// Step 1 on the device; the projected splats come back for binning.
    fn project(
        &self,
        scene: &Prepared,
        uploaded: &Uploaded,
        camera: &Camera,
        kernel: Kernel,
    ) -> Result<Vec<Projected>> {
        if scene.is_empty() {
            return Ok(Vec::new());
        }
        let (device, queue, limits) = self.backend.device();
        let eye = camera.position();
        let (tiles_x, tiles_y) = camera.tiles();
        let r = &camera.rotation;
        let t = &camera.translation;
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
            n: scene.len() as u32,
            bands: u32::from(scene.bands),
            sh_stride: scene.sh_stride() as u32,
            kernel: kernel.code(),
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
                &uploaded.positions,
                &uploaded.covariances,
                &uploaded.opacities,
                &uploaded.sh,
                &uploaded.projected,
            ]),
        });
        let groups = (scene.len() as u32).div_ceil(PROJECT_WORKGROUP);
        let per_dim = limits.max_compute_workgroups_per_dimension;
        let (gx, gy) = if groups <= per_dim {
            (groups, 1)
        } else {
            (per_dim, groups.div_ceil(per_dim))
        };
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("render_project"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("render_project"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.project);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        queue.submit([encoder.finish()]);
        let bytes = (scene.len() * std::mem::size_of::<Projected>()) as u64;
        let raw = self.download(&uploaded.projected, bytes)?;
        Ok(bytemuck::pod_collect_to_vec(&raw))
    }

    /// Step 3 on the device: the picture.
    fn blend(
        &self,
        uploaded: &Uploaded,
        bins: &Bins,
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
        let init = |label: &str, contents: &[u8], usage: wgpu::BufferUsages| {
            let contents = if contents.is_empty() {
                &[0u8; 16][..]
            } else {
                contents
            };
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
        };
        let uniform = init(
            "render blend params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM,
        );
        let ids = init(
            "render ids",
            bytemuck::cast_slice(&bins.ids),
            wgpu::BufferUsages::STORAGE,
        );
        let ranges = init(
            "render ranges",
            bytemuck::cast_slice(&bins.ranges),
            wgpu::BufferUsages::STORAGE,
        );
        let pixel_bytes = u64::from(camera.width) * u64::from(camera.height) * 16;
        let pixels = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("render pixels"),
            size: pixel_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("render_blend"),
            layout: &self.blend.get_bind_group_layout(0),
            entries: &entries(&[&uniform, &uploaded.projected, &ids, &ranges, &pixels]),
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

    /// Both kernels validate, and host and shader agree on every shared struct.
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
        assert!(PROJECT.contains(&format!("@workgroup_size({PROJECT_WORKGROUP})")));
        assert!(BLEND.contains(&format!(
            "@workgroup_size({}, {})",
            super::super::TILE,
            super::super::TILE
        )));
    }
}
