//! PLAS on the device (`algorithms.md` §1.8; kernels/plas.cu): the per-radius box blur as two
//! launches (x circular, then y reflected in place), the in-place group-of-four reorder and
//! the loss, each one launch whose last block reduces the per-block f64 partial losses in
//! block order, then an 8-byte read-back. Scratch buffers (the blur's f64 prefix sums, the
//! partial losses, the block counter, the result) are allocated once and kept, so the
//! reorder loop allocates nothing on the device.
//!
//! Blurred targets and reordered cells are bit-identical to [`crate::backend::cpu::plas`];
//! losses equal the CPU's up to the f64 summation order.

use std::sync::MutexGuard;

use super::driver::Device;
use super::module::Arg;
use super::{CudaBackend, CudaBuffer, cuda_error, to_u32};
use crate::Result;
use crate::backend::Plas;
use crate::backend::plas::{PlasBlocks, PlasGrid};

/// Threads per block of every PLAS kernel (`PLAS_THREADS` in kernels/plas.cu).
const THREADS: u32 = 256;
/// Threads per block of the blur: one thread per line and channel gives only W·C or H·C
/// threads (14 336 at 1024 × 14), so small blocks spread them over every SM.
const BLUR_THREADS: u32 = 64;
/// Widest cell `plas_reorder` keeps in registers (`PLAS_MAX_C`); wider cells use
/// `plas_reorder_wide`.
const MAX_REGISTER_CHANNELS: usize = 16;

entry_points!(
    /// Entry points of `kernels/plas.cu`.
    PlasKernels {
        plas_blur_rows,
        plas_blur_columns,
        plas_reorder,
        plas_reorder_wide,
        plas_loss,
    }
);

/// Device scratch kept between PLAS calls (grown on demand, never shrunk).
#[derive(Default)]
pub(super) struct PlasScratch {
    /// f64 prefix sums of the blur: (W·H + max(W, H))·C values.
    prefix: Option<CudaBuffer<f64>>,
    /// One f64 partial loss per launched block.
    partial: Option<CudaBuffer<f64>>,
    /// Blocks finished so far in the running launch; the last block sets it back to 0.
    counter: Option<CudaBuffer<u32>>,
    /// The reduced loss.
    result: Option<CudaBuffer<f64>>,
    /// False when a failed call may have left `counter` non-zero.
    armed: bool,
}

/// The device addresses a loss-reducing launch needs.
struct LossTargets {
    partial: u64,
    counter: u64,
    result: u64,
}

impl PlasScratch {
    /// The prefix buffer, with room for at least `len` values.
    fn prefix(&mut self, device: &Device, len: usize) -> Result<u64> {
        if self.prefix.as_ref().is_none_or(|b| b.len() < len) {
            self.prefix = None; // free the old one first
            self.prefix = Some(device.allocate::<f64>(len, "plas blur prefix sums")?);
        }
        Ok(self.prefix.as_ref().map_or(0, CudaBuffer::ptr))
    }

    /// Partials for `blocks` blocks, a zero counter and the result slot.
    fn loss_targets(&mut self, device: &Device, blocks: u32) -> Result<LossTargets> {
        if self
            .partial
            .as_ref()
            .is_none_or(|b| b.len() < blocks as usize)
        {
            self.partial = None;
            self.partial = Some(device.allocate::<f64>(blocks as usize, "plas partial losses")?);
        }
        if self.counter.is_none() {
            self.counter = Some(device.allocate::<u32>(1, "plas block counter")?);
            self.armed = false;
        }
        if self.result.is_none() {
            self.result = Some(device.allocate::<f64>(1, "plas loss")?);
        }
        let counter = self.counter.as_ref().map_or(0, CudaBuffer::ptr);
        if !self.armed {
            if let Some(buf) = &self.counter {
                device.zero(buf)?;
            }
            self.armed = true;
        }
        Ok(LossTargets {
            partial: self.partial.as_ref().map_or(0, CudaBuffer::ptr),
            counter,
            result: self.result.as_ref().map_or(0, CudaBuffer::ptr),
        })
    }

    /// Reads the reduced loss back (waits for the launch).
    fn read_loss(&self, device: &Device) -> Result<f64> {
        let result = self
            .result
            .as_ref()
            .ok_or_else(|| cuda_error("plas: no loss buffer"))?;
        Ok(device.copy_to_host(result)?.first().copied().unwrap_or(0.0))
    }
}

impl CudaBackend {
    fn plas_scratch(&self) -> MutexGuard<'_, PlasScratch> {
        // A panic while holding the lock leaves nothing half-written that matters: the next
        // call re-arms the counter.
        self.plas_scratch.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            guard.armed = false;
            guard
        })
    }
}

impl Plas for CudaBackend {
    /// `plas_blur_rows` (x, circular) into `target`, then `plas_blur_columns` (y, reflected)
    /// in place, through the f64 prefix-sum scratch.
    fn run_plas_blur(
        &self,
        grid: &PlasGrid,
        cells: &CudaBuffer<f32>,
        radius: usize,
        target: &mut CudaBuffer<f32>,
    ) -> Result<()> {
        self.run("plas_blur", || {
            let (w, h, c) = (grid.width, grid.height, grid.channels);
            if c == 0 || w * h == 0 {
                return Ok(());
            }
            to_u32(cells.len(), "plas_blur: grid values")?;
            let prefix_len = (w * h + w.max(h))
                .checked_mul(c)
                .ok_or_else(|| cuda_error("plas_blur: grid too large"))?;
            let (w32, h32, c32) = (w as u32, h as u32, c as u32);
            let radius_x = radius.min((w - 1) / 2) as u32;
            let radius_y = radius.min((h - 1) / 2) as u32;
            let mut scratch = self.plas_scratch();
            let prefix = scratch.prefix(&self.device, prefix_len)?;
            self.kernels.plas.plas_blur_rows.launch(
                (h32 * c32).div_ceil(BLUR_THREADS),
                BLUR_THREADS,
                0,
                &[
                    Arg::Ptr(cells.ptr()),
                    Arg::Ptr(target.ptr()),
                    Arg::Ptr(prefix),
                    Arg::U32(w32),
                    Arg::U32(h32),
                    Arg::U32(c32),
                    Arg::U32(radius_x),
                ],
            )?;
            self.kernels.plas.plas_blur_columns.launch(
                (w32 * c32).div_ceil(BLUR_THREADS),
                BLUR_THREADS,
                0,
                &[
                    Arg::Ptr(target.ptr()),
                    Arg::Ptr(prefix),
                    Arg::U32(w32),
                    Arg::U32(h32),
                    Arg::U32(c32),
                    Arg::U32(radius_y),
                ],
            )?;
            self.device.synchronize("plas_blur")
        })
    }

    /// `plas_reorder`, or `plas_reorder_wide` for cells wider than `MAX_REGISTER_CHANNELS`;
    /// one launch and an 8-byte read-back of the loss.
    fn run_plas_reorder(
        &self,
        grid: &PlasGrid,
        cells: &mut CudaBuffer<f32>,
        index: &mut CudaBuffer<u32>,
        target: &CudaBuffer<f32>,
        keys: Option<&CudaBuffer<u32>>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        self.run("plas_reorder", || {
            let c = grid.channels;
            to_u32(cells.len().max(grid.cells()), "plas_reorder: grid values")?;
            let (bx, by) = blocks.counts(grid);
            let b = blocks.size;
            let area = (b * b) as u64;
            let groups_per_block = b * b / 4;
            let groups = to_u32(bx * by * groups_per_block, "plas_reorder: groups")?;
            let launch_blocks = groups.div_ceil(THREADS);
            let mut scratch = self.plas_scratch();
            let loss = scratch.loss_targets(&self.device, launch_blocks)?;
            let kernel = if c <= MAX_REGISTER_CHANNELS {
                &self.kernels.plas.plas_reorder
            } else {
                &self.kernels.plas.plas_reorder_wide
            };
            // Every value below is < W·H ≤ 2^32 (checked above; multiplier reduced mod B²).
            let launched = kernel.launch(
                launch_blocks,
                THREADS,
                0,
                &[
                    Arg::Ptr(cells.ptr()),
                    Arg::Ptr(index.ptr()),
                    Arg::Ptr(target.ptr()),
                    Arg::Ptr(keys.map_or(0, CudaBuffer::ptr)),
                    Arg::U32(grid.width as u32),
                    Arg::U32(grid.height as u32),
                    Arg::U32(c as u32),
                    Arg::U32(grid.valid as u32),
                    Arg::U32(b as u32),
                    Arg::U32(blocks.shift_x as u32),
                    Arg::U32(blocks.shift_y as u32),
                    Arg::U32((blocks.multiplier % area) as u32),
                    Arg::U32(blocks.offset as u32),
                    Arg::U32(bx as u32),
                    Arg::U32(groups_per_block as u32),
                    Arg::U32(groups),
                    Arg::Ptr(loss.partial),
                    Arg::Ptr(loss.counter),
                    Arg::Ptr(loss.result),
                ],
            );
            finish(&mut scratch, &self.device, launched)
        })
    }

    /// `plas_loss`: one launch and an 8-byte read-back.
    fn run_plas_loss(
        &self,
        grid: &PlasGrid,
        cells: &CudaBuffer<f32>,
        target: &CudaBuffer<f32>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        self.run("plas_loss", || {
            to_u32(cells.len().max(grid.cells()), "plas_loss: grid values")?;
            let (bx, by) = blocks.counts(grid);
            let cols = bx * blocks.size;
            let count = to_u32(cols * by * blocks.size, "plas_loss: cells")?;
            let launch_blocks = count.div_ceil(THREADS);
            let mut scratch = self.plas_scratch();
            let loss = scratch.loss_targets(&self.device, launch_blocks)?;
            let launched = self.kernels.plas.plas_loss.launch(
                launch_blocks,
                THREADS,
                0,
                &[
                    Arg::Ptr(cells.ptr()),
                    Arg::Ptr(target.ptr()),
                    Arg::U32(grid.width as u32),
                    Arg::U32(grid.height as u32),
                    Arg::U32(grid.channels as u32),
                    Arg::U32(grid.valid as u32),
                    Arg::U32(blocks.shift_x as u32),
                    Arg::U32(blocks.shift_y as u32),
                    Arg::U32(cols as u32),
                    Arg::U32(count),
                    Arg::Ptr(loss.partial),
                    Arg::Ptr(loss.counter),
                    Arg::Ptr(loss.result),
                ],
            );
            finish(&mut scratch, &self.device, launched)
        })
    }
}

/// Reads the loss of a launch back; on any failure the counter is re-zeroed before next use.
fn finish(scratch: &mut PlasScratch, device: &Device, launched: Result<()>) -> Result<f64> {
    let loss = launched.and_then(|()| scratch.read_loss(device));
    if loss.is_err() {
        scratch.armed = false;
    }
    loss
}

#[cfg(test)]
mod tests {
    use crate::backend::plas::PERMUTATIONS;

    const SOURCE: &str = include_str!("../../../kernels/plas.cu");
    const PTX: &str = include_str!("../../../kernels/ptx/plas.ptx");

    /// The kernel's placement list, parsed from its `X(n, s0, s1, s2, s3)` entries.
    fn kernel_placements() -> Vec<(usize, [u8; 4])> {
        let start = SOURCE
            .find("#define PLAS_PERMUTATIONS(X)")
            .expect("placement list in plas.cu");
        let body = &SOURCE[start..];
        let end = body.find("\n\n").unwrap_or(body.len());
        body[..end]
            .split("X(")
            .skip(1) // the #define line
            .map(|entry| {
                let numbers: Vec<usize> = entry
                    .split(')')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(|n| n.trim().parse().expect("a number"))
                    .collect();
                assert_eq!(numbers.len(), 5, "X(n, s0, s1, s2, s3): {entry}");
                let slots = [1, 2, 3, 4].map(|k| numbers[k] as u8);
                (numbers[0], slots)
            })
            .collect()
    }

    #[test]
    fn kernel_placements_are_the_cpu_order() {
        // The kernel keeps the first strictly best placement, so the order decides ties.
        let placements = kernel_placements();
        assert_eq!(placements.len(), 24);
        for (n, (number, slots)) in placements.into_iter().enumerate() {
            assert_eq!(number, n, "placement {n} numbered {number}");
            assert_eq!(slots, PERMUTATIONS[n], "placement {n}");
        }
    }

    #[test]
    fn ptx_has_every_entry_point() {
        for name in [
            "plas_blur_rows",
            "plas_blur_columns",
            "plas_reorder",
            "plas_reorder_wide",
            "plas_loss",
        ] {
            assert!(
                PTX.contains(&format!(".entry {name}(")),
                "kernels/ptx/plas.ptx lacks {name}: run `cargo xtask ptx`"
            );
        }
    }

    #[test]
    fn constants_match_the_kernel() {
        assert!(SOURCE.contains(&format!("#define PLAS_THREADS {}", super::THREADS)));
        assert!(SOURCE.contains(&format!(
            "#define PLAS_MAX_C {}",
            super::MAX_REGISTER_CHANNELS
        )));
    }

    #[test]
    fn blur_uses_no_fused_multiply_add() {
        // Bit-exactness with the CPU needs every f64/f32 operation rounded on its own.
        let kernels = PTX.split(".entry ").skip(1);
        for kernel in kernels {
            let name = kernel.split('(').next().unwrap_or("");
            assert!(
                !kernel.contains("fma.rn"),
                "{name} contains a fused multiply-add"
            );
        }
    }
}
