//! PLAS kernels (`algorithms.md` §1.3–§1.5, §1.8): the two-pass box blur (`plas_blur.wgsl`,
//! rows then columns through a scratch buffer), the in-place group-of-four reorder
//! (`plas_reorder.wgsl`) and the loss (`plas_loss.wgsl`), both writing one partial sum per
//! workgroup that `plas_reduce.wgsl` reduces in a fixed order. Each loss comes back as 512
//! compensated f32 values summed on the host in f64: one submission and one 2 KiB read-back
//! per call. They compute what [`crate::backend::cpu::plas`] computes.

use wgpu::util::DeviceExt;

use super::shaders::{Kernel, WORKGROUP};
use super::{GpuBuffer, WgpuBackend, backend_error, bind, to_u32};
use crate::Result;
use crate::backend::Plas;
use crate::backend::plas::{PlasBlocks, PlasGrid};

/// Per-call scalars of a PLAS kernel, mirrored by `struct PlasParams` in
/// `wgsl/plas_common.wgsl` (field meanings are documented there). A unit test checks both
/// sizes agree.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct PlasParams {
    pub width: u32,
    pub height: u32,
    pub channels: u32,
    pub valid: u32,
    pub size: u32,
    pub shift_x: u32,
    pub shift_y: u32,
    pub multiplier: u32,
    pub offset: u32,
    pub blocks_x: u32,
    pub groups_per_block: u32,
    pub total: u32,
    pub radius: u32,
    pub axis: u32,
    pub has_keys: u32,
    pub partials: u32,
}

const _: () = assert!(std::mem::size_of::<PlasParams>() == 64);

/// Invocations of `plas_reduce` (one workgroup); each returns a (sum, compensation) pair.
const REDUCE_LANES: u64 = WORKGROUP as u64;

/// Largest block area: `plas_reorder`'s exact 32-bit mulmod needs B² ≤ 2^24 (B ≤ 4096).
const MAX_BLOCK_AREA: u64 = 1 << 24;

/// Largest line of the blur: one invocation runs fewer than 2·len loop iterations, which must
/// stay under llvmpipe's 65,535 per invocation (past it loops end early without an error).
const MAX_LINE: usize = 32_000;

impl Plas for WgpuBackend {
    /// `plas_blur.wgsl` twice: rows (x, circular) into a scratch buffer, then columns (y,
    /// reflected) into `target`.
    fn run_plas_blur(
        &self,
        grid: &PlasGrid,
        cells: &GpuBuffer<f32>,
        radius: usize,
        target: &mut GpuBuffer<f32>,
    ) -> Result<()> {
        self.scoped("plas_blur", || {
            let (w, h, c) = (grid.width, grid.height, grid.channels);
            if c == 0 || w * h == 0 {
                return Ok(());
            }
            if w > MAX_LINE || h > MAX_LINE {
                return Err(backend_error(format!(
                    "plas_blur: a {w}×{h} grid has lines longer than {MAX_LINE} cells"
                )));
            }
            let src = self.whole(cells, "the PLAS grid")?;
            let dst = self.whole(target, "the PLAS target")?;
            let scratch = self.raw_buffer(
                (w * h * c * 4) as u64,
                "plas blur rows",
                wgpu::BufferUsages::STORAGE,
            );
            let base = PlasParams {
                width: to_u32(w, "grid width")?,
                height: to_u32(h, "grid height")?,
                channels: to_u32(c, "channels")?,
                ..PlasParams::default()
            };
            let rows = PlasParams {
                total: to_u32(h * c, "rows × channels")?,
                radius: to_u32(radius.min((w - 1) / 2), "radius")?,
                axis: 0,
                ..base
            };
            let columns = PlasParams {
                total: to_u32(w * c, "columns × channels")?,
                radius: to_u32(radius.min((h - 1) / 2), "radius")?,
                axis: 1,
                ..base
            };
            let mut encoder = self.encoder("plas_blur");
            for (params, from, to) in [(rows, src, &scratch), (columns, &scratch, dst)] {
                let uniform = self.plas_uniform(&params);
                self.dispatch_uniform(
                    &mut encoder,
                    Kernel::PlasBlur,
                    None,
                    &uniform,
                    &[bind(from), bind(to)],
                    params.total.div_ceil(WORKGROUP),
                )?;
            }
            self.ctx.queue.submit([encoder.finish()]);
            Ok(())
        })
    }

    /// `plas_reorder.wgsl` (one partial loss per workgroup), reduced by `plas_reduce.wgsl`.
    fn run_plas_reorder(
        &self,
        grid: &PlasGrid,
        cells: &mut GpuBuffer<f32>,
        index: &mut GpuBuffer<u32>,
        target: &GpuBuffer<f32>,
        keys: Option<&GpuBuffer<u32>>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        self.scoped("plas_reorder", || {
            let mut params = self.lattice(grid, blocks, "plas_reorder")?;
            let (bx, by) = blocks.counts(grid);
            let groups = bx * by * (blocks.size * blocks.size / 4);
            params.total = to_u32(groups, "groups of four")?;
            params.has_keys = u32::from(keys.is_some());
            if groups == 0 || grid.channels == 0 {
                return Ok(0.0);
            }
            let cell_buf = self.whole(cells, "the PLAS grid")?;
            let index_buf = self.whole(index, "the PLAS index")?;
            let target_buf = self.whole(target, "the PLAS target")?;
            // A 16-byte stand-in keeps the binding valid when there are no keys.
            let no_keys;
            let key_buf = match keys {
                Some(k) => self.whole(k, "the PLAS keys")?,
                None => {
                    no_keys = self.raw_buffer(16, "no plas keys", wgpu::BufferUsages::STORAGE);
                    &no_keys
                }
            };
            self.partial_sum(
                params,
                "plas_reorder",
                |encoder, uniform, partials, groups| {
                    self.dispatch_uniform(
                        encoder,
                        Kernel::PlasReorder,
                        None,
                        uniform,
                        &[
                            bind(cell_buf),
                            bind(index_buf),
                            bind(target_buf),
                            bind(key_buf),
                            bind(partials),
                        ],
                        groups,
                    )
                },
            )
        })
    }

    /// `plas_loss.wgsl` (one partial loss per workgroup), reduced by `plas_reduce.wgsl`.
    fn run_plas_loss(
        &self,
        grid: &PlasGrid,
        cells: &GpuBuffer<f32>,
        target: &GpuBuffer<f32>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        self.scoped("plas_loss", || {
            let mut params = self.lattice(grid, blocks, "plas_loss")?;
            let (bx, by) = blocks.counts(grid);
            let covered = bx * blocks.size * by * blocks.size;
            params.total = to_u32(covered, "covered cells")?;
            if covered == 0 || grid.channels == 0 {
                return Ok(0.0);
            }
            let cell_buf = self.whole(cells, "the PLAS grid")?;
            let target_buf = self.whole(target, "the PLAS target")?;
            self.partial_sum(params, "plas_loss", |encoder, uniform, partials, groups| {
                self.dispatch_uniform(
                    encoder,
                    Kernel::PlasLoss,
                    None,
                    uniform,
                    &[bind(cell_buf), bind(target_buf), bind(partials)],
                    groups,
                )
            })
        })
    }
}

impl WgpuBackend {
    /// The grid and block-lattice fields of a reorder or loss call (`total` still unset).
    fn lattice(&self, grid: &PlasGrid, blocks: &PlasBlocks, kernel: &str) -> Result<PlasParams> {
        let area = (blocks.size * blocks.size) as u64;
        if area > MAX_BLOCK_AREA {
            return Err(backend_error(format!(
                "{kernel}: blocks of side {} exceed 4096",
                blocks.size
            )));
        }
        let (bx, _) = blocks.counts(grid);
        Ok(PlasParams {
            width: to_u32(grid.width, "grid width")?,
            height: to_u32(grid.height, "grid height")?,
            channels: to_u32(grid.channels, "channels")?,
            valid: to_u32(grid.valid, "valid cells")?,
            size: to_u32(blocks.size, "block side")?,
            shift_x: to_u32(blocks.shift_x, "block shift")?,
            shift_y: to_u32(blocks.shift_y, "block shift")?,
            multiplier: (blocks.multiplier % area) as u32,
            offset: blocks.offset as u32,
            blocks_x: to_u32(bx, "blocks per row")?,
            groups_per_block: (area / 4) as u32,
            ..PlasParams::default()
        })
    }

    /// Sets `params.partials` from `params.total`, records `body` (which must dispatch the
    /// number of workgroups it is given, each writing one partial sum into the buffer it is
    /// given), the reduction and the copy
    /// back, submits once and returns the f64 sum.
    fn partial_sum(
        &self,
        mut params: PlasParams,
        what: &str,
        body: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::Buffer, &wgpu::Buffer, u32) -> Result<()>,
    ) -> Result<f64> {
        params.partials = params.total.div_ceil(WORKGROUP);
        if u64::from(params.partials) > REDUCE_LANES * 65_000 {
            return Err(backend_error(format!(
                "{what}: {} work items are too many for one reduction",
                params.total
            )));
        }
        let uniform = self.plas_uniform(&params);
        let partials = self.raw_buffer(
            u64::from(params.partials) * 4,
            "plas partial losses",
            wgpu::BufferUsages::STORAGE,
        );
        let out_bytes = REDUCE_LANES * 2 * 4;
        let out = self.raw_buffer(
            out_bytes,
            "plas loss lanes",
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let staging = self.raw_buffer(
            out_bytes,
            "plas loss read-back",
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let mut encoder = self.encoder(what);
        body(&mut encoder, &uniform, &partials, params.partials)?;
        self.dispatch_uniform(
            &mut encoder,
            Kernel::PlasReduce,
            None,
            &uniform,
            &[bind(&partials), bind(&out)],
            1,
        )?;
        encoder.copy_buffer_to_buffer(&out, 0, &staging, 0, out_bytes);
        self.ctx.queue.submit([encoder.finish()]);
        let (sender, receiver) = std::sync::mpsc::channel();
        staging
            .slice(0..out_bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = sender.send(r);
            });
        self.wait()?;
        receiver
            .recv()
            .map_err(|_| backend_error("the loss read-back was dropped"))?
            .map_err(|e| backend_error(format!("mapping the loss read-back failed: {e}")))?;
        let view = staging
            .slice(0..out_bytes)
            .get_mapped_range()
            .map_err(|e| backend_error(format!("reading the loss read-back failed: {e}")))?;
        let lanes: &[f32] = bytemuck::cast_slice(&view);
        // (sum, compensation) per lane, in lane order: fixed, so the result is deterministic.
        let total = lanes.iter().map(|&v| f64::from(v)).sum();
        drop(view);
        staging.unmap();
        Ok(total)
    }

    /// A uniform buffer holding `params`.
    fn plas_uniform(&self, params: &PlasParams) -> wgpu::Buffer {
        self.ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("plas params"),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }
}
