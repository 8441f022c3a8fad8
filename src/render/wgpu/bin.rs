//! Step 2 of the renderer on the device: binning by tile and the depth sort, the same
//! result as the host's [`crate::render::bin`] (ids and ranges equal, not merely close).
//!
//! 1. `render_tile_count`: per splat, the tiles of its rectangle, and their 64-bit total.
//! 2. An exclusive scan of the counts (`render_scan_blocks` + `render_scan_add`, 1024 values
//!    per workgroup, levels of block sums until one block remains): each splat's first key.
//!    The total comes back to the host (two u32) to size the key arrays.
//! 3. `render_emit`: per splat, one key per tile, row-major: tile index, depth bits, id.
//! 4. A stable LSD radix sort on (tile, depth) carrying the id, 4-bit digits, 2048 keys per
//!    workgroup of 256 (8 consecutive keys per invocation): the eight digits of the depth
//!    bits, then the ⌈log₂ tiles⌉ bits of the tile index, each pass `render_sort_histogram`
//!    (per-block digit counts, digit-major) → scan → `render_sort_scatter` (stable ranks
//!    within the block). Keys are emitted in splat order and every pass is stable, so equal
//!    keys stay by id: the host's order of (key, id).
//! 5. `render_ranges`: each tile's `[start, end)` from the boundaries of the sorted tiles.
//!
//! Nothing here needs subgroup operations or progress between workgroups, so it runs the
//! same on every adapter, lavapipe included.

use wgpu::util::DeviceExt;

use super::{WORKGROUP, WgpuRenderer, error, grid};
use crate::Result;
use crate::render::Camera;

/// `include_str!` of `wgsl/<name>.wgsl`.
macro_rules! kernel {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/wgsl/",
            $name,
            ".wgsl"
        ))
    };
}

pub(super) const TILE_COUNT: &str = kernel!("render_tile_count");
pub(super) const SCAN_BLOCKS: &str = kernel!("render_scan_blocks");
pub(super) const SCAN_ADD: &str = kernel!("render_scan_add");
pub(super) const EMIT: &str = kernel!("render_emit");
pub(super) const SORT_HISTOGRAM: &str = kernel!("render_sort_histogram");
pub(super) const SORT_SCATTER: &str = kernel!("render_sort_scatter");
pub(super) const RANGES: &str = kernel!("render_ranges");

/// Values per workgroup of the scan (4 per invocation).
const SCAN_BLOCK: u32 = 1024;
/// Keys per workgroup of the sort (8 per invocation).
const SORT_BLOCK: u32 = 2048;
/// Bits per radix digit.
const DIGIT_BITS: u32 = 4;
/// Values of one digit.
const RADIX: u32 = 1 << DIGIT_BITS;

/// The uniform of every binning kernel (`struct Bin`); each kernel's file says which fields
/// it reads.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct BinParams {
    n: u32,
    tiles_x: u32,
    num_blocks: u32,
    shift: u32,
    word: u32,
    pad: [u32; 3],
}

/// The binning pipelines.
pub(super) struct Pipelines {
    tile_count: wgpu::ComputePipeline,
    scan_blocks: wgpu::ComputePipeline,
    scan_add: wgpu::ComputePipeline,
    emit: wgpu::ComputePipeline,
    histogram: wgpu::ComputePipeline,
    scatter: wgpu::ComputePipeline,
    ranges: wgpu::ComputePipeline,
}

impl Pipelines {
    /// Compiles every kernel with `make(label, source)`.
    pub(super) fn new(make: &dyn Fn(&str, &str) -> wgpu::ComputePipeline) -> Self {
        Pipelines {
            tile_count: make("render_tile_count", TILE_COUNT),
            scan_blocks: make("render_scan_blocks", SCAN_BLOCKS),
            scan_add: make("render_scan_add", SCAN_ADD),
            emit: make("render_emit", EMIT),
            histogram: make("render_sort_histogram", SORT_HISTOGRAM),
            scatter: make("render_sort_scatter", SORT_SCATTER),
            ranges: make("render_ranges", RANGES),
        }
    }
}

/// The bins of one view, on the device.
pub(super) struct DeviceBins {
    /// Splat ids, tile-major, nearest first (`total` of them; a padded buffer when 0).
    pub ids: wgpu::Buffer,
    /// Per tile, `[start, end)` in `ids` as two u32.
    pub ranges: wgpu::Buffer,
    /// (tile, splat) pairs.
    pub total: u32,
    /// Tiles of the view.
    pub tiles: u32,
}

/// The three arrays of a key set: tile word, depth word, id.
struct Keys {
    tile: wgpu::Buffer,
    depth: wgpu::Buffer,
    ids: wgpu::Buffer,
}

/// The digits the sort visits, least significant first, as (word, shift): word 0 is the
/// depth bits (all 32), word 1 the tile index (only the bits a tile below `tiles` can set).
pub(super) fn digits(tiles: u32) -> Vec<(u32, u32)> {
    let tile_bits = u32::BITS - tiles.saturating_sub(1).leading_zeros();
    let depth = (0..u32::BITS).step_by(DIGIT_BITS as usize).map(|s| (0, s));
    let tile = (0..tile_bits).step_by(DIGIT_BITS as usize).map(|s| (1, s));
    depth.chain(tile).collect()
}

impl WgpuRenderer {
    fn buffer(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        let (device, _, _) = self.backend.device();
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(16),
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Records `pipeline` over `groups` workgroups with `params` at binding 0 and `buffers`
    /// at bindings 1, 2, …; one compute pass per dispatch.
    fn dispatch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        pipeline: &wgpu::ComputePipeline,
        params: BinParams,
        buffers: &[&wgpu::Buffer],
        groups: u32,
    ) {
        if groups == 0 {
            return;
        }
        let (device, _, limits) = self.backend.device();
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("render bin params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut all = Vec::with_capacity(buffers.len() + 1);
        all.push(&uniform);
        all.extend_from_slice(buffers);
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &super::entries(&all),
        });
        let (gx, gy) = grid(groups, limits.max_compute_workgroups_per_dimension);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(gx, gy, 1);
    }

    /// Records an in-place exclusive scan of the first `n` u32 of `data`: one level of
    /// 1024-value blocks, the block sums scanned the same way, added back.
    fn encode_scan(&self, encoder: &mut wgpu::CommandEncoder, data: &wgpu::Buffer, n: u32) {
        if n == 0 {
            return;
        }
        let num_blocks = n.div_ceil(SCAN_BLOCK);
        let sums = self.buffer("render scan sums", u64::from(num_blocks) * 4);
        let params = BinParams {
            n,
            num_blocks,
            ..BinParams::default()
        };
        let p = &self.bin;
        self.dispatch(encoder, &p.scan_blocks, params, &[data, &sums], num_blocks);
        if num_blocks > 1 {
            self.encode_scan(encoder, &sums, num_blocks);
            self.dispatch(encoder, &p.scan_add, params, &[data, &sums], num_blocks);
        }
    }

    /// Bins the first `n` splats of `projected` by tile of `camera`'s view, nearest first.
    pub(super) fn bin_on_device(
        &self,
        projected: &wgpu::Buffer,
        n: u32,
        camera: &Camera,
    ) -> Result<DeviceBins> {
        let (device, queue, _) = self.backend.device();
        let (tiles_x, tiles_y) = camera.tiles();
        let tiles = tiles_x
            .checked_mul(tiles_y)
            .filter(|t| *t < u32::MAX / 2)
            .ok_or_else(|| error("too many tiles"))?;
        let ranges = self.buffer("render ranges", u64::from(tiles) * 8);
        let p = &self.bin;

        // Tile counts, their total and their scan.
        let counts = self.buffer("render tile counts", u64::from(n) * 4);
        let totals = self.buffer("render key total", 8);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("render bin"),
        });
        encoder.clear_buffer(&ranges, 0, None);
        encoder.clear_buffer(&totals, 0, None);
        let each = BinParams {
            n,
            tiles_x,
            ..BinParams::default()
        };
        let groups = n.div_ceil(WORKGROUP);
        self.dispatch(
            &mut encoder,
            &p.tile_count,
            each,
            &[projected, &counts, &totals],
            groups,
        );
        self.encode_scan(&mut encoder, &counts, n);
        queue.submit([encoder.finish()]);
        let total: [u32; 2] = bytemuck::pod_read_unaligned(&self.download(&totals, 8)?);
        let pairs = u64::from(total[0]) | (u64::from(total[1]) << 32);
        if pairs * 4 > self.binding_limit {
            return Err(error(format!(
                "{pairs} (tile, splat) pairs need {} MiB in one binding; the adapter allows \
                 {} MiB (render smaller pictures)",
                (pairs * 4) >> 20,
                self.binding_limit >> 20
            )));
        }
        let total = total[0];
        if total == 0 {
            return Ok(DeviceBins {
                ids: self.buffer("render ids", 16),
                ranges,
                total,
                tiles,
            });
        }

        // Keys, sorted, and the ranges.
        let bytes = u64::from(total) * 4;
        let keys = || Keys {
            tile: self.buffer("render key tiles", bytes),
            depth: self.buffer("render key depths", bytes),
            ids: self.buffer("render key ids", bytes),
        };
        let (mut from, mut to) = (keys(), keys());
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("render sort"),
        });
        self.dispatch(
            &mut encoder,
            &p.emit,
            each,
            &[projected, &counts, &from.tile, &from.depth, &from.ids],
            groups,
        );
        let num_blocks = total.div_ceil(SORT_BLOCK);
        let hist_len = num_blocks
            .checked_mul(RADIX)
            .ok_or_else(|| error("too many keys for the sort histogram"))?;
        let hist = self.buffer("render radix histogram", u64::from(hist_len) * 4);
        for (word, shift) in digits(tiles) {
            let params = BinParams {
                n: total,
                num_blocks,
                shift,
                word,
                ..BinParams::default()
            };
            let key = if word == 0 { &from.depth } else { &from.tile };
            self.dispatch(
                &mut encoder,
                &p.histogram,
                params,
                &[key, &hist],
                num_blocks,
            );
            self.encode_scan(&mut encoder, &hist, hist_len);
            self.dispatch(
                &mut encoder,
                &p.scatter,
                params,
                &[
                    &from.tile,
                    &from.depth,
                    &from.ids,
                    &to.tile,
                    &to.depth,
                    &to.ids,
                    &hist,
                ],
                num_blocks,
            );
            std::mem::swap(&mut from, &mut to);
        }
        let params = BinParams {
            n: total,
            ..BinParams::default()
        };
        self.dispatch(
            &mut encoder,
            &p.ranges,
            params,
            &[&from.tile, &ranges],
            total.div_ceil(WORKGROUP),
        );
        queue.submit([encoder.finish()]);
        Ok(DeviceBins {
            ids: from.ids,
            ranges,
            total,
            tiles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_cover_the_depth_and_the_tile_bits() {
        assert_eq!(digits(1).len(), 8);
        assert_eq!(
            digits(16),
            [(0..8).map(|d| (0, 4 * d)).collect::<Vec<_>>(), vec![(1, 0)]].concat()
        );
        assert_eq!(digits(17).len(), 10);
        // 512×512 pixels: 32×32 tiles, tile indices below 1024 need 10 bits.
        assert_eq!(digits(1024).len(), 11);
        assert_eq!(digits(1025).len(), 11);
        assert_eq!(digits(4097).len(), 12);
    }
}
