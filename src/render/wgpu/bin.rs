//! Step 2 of the renderer on the device: binning by tile and the depth sort, the same
//! result as the host's [`crate::render::bin`] (ids and ranges equal, not merely close).
//!
//! 1. `render_tile_count`: per splat, the tiles of its rectangle, and their 64-bit total.
//! 2. The compute backend's exclusive scan of the counts (`WgpuBackend::encode_scan`): each
//!    splat's first key. The total comes back to the host (two u32) to size the key arrays.
//! 3. `render_emit`: per splat, one key per tile, row-major: the u64 (tile index << 32) |
//!    (depth bits) as the backend's sort stores keys ((low, high) u32 pairs), and the id.
//! 4. The backend's stable LSD radix sort (`WgpuBackend::encode_radix_passes`, 8-bit
//!    digits) carrying the id, over the digits that can vary ([`digits`]): the four of the
//!    depth bits, then those of the ⌈log₂ tiles⌉ bits of the tile index. Keys are emitted in
//!    splat order and every pass is stable, so equal keys stay by id: the host's order of
//!    (key, id).
//! 5. `render_ranges`: each tile's `[start, end)` from the boundaries of the sorted tiles.
//!
//! The scan and the sort need no subgroup operations (they use them where the device has
//! them) and no progress between workgroups, so this runs on every adapter, lavapipe
//! included.

use super::{WgpuRenderer, error};
use crate::Result;
use crate::backend::wgpu::shaders::{Kernel, WORKGROUP};
use crate::backend::wgpu::sort::DIGIT_BITS;
use crate::render::Camera;

/// The uniform of the binning kernels (`struct Bin` in `wgsl/render_common.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct BinParams {
    /// Splats (`render_tile_count`, `render_emit`) or sorted keys (`render_ranges`).
    n: u32,
    /// Tiles per row of the view.
    tiles_x: u32,
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

/// The digits the sort visits, least significant first, as the backend's (word, shift):
/// word 0 is the depth bits (all 32: positive f32 bits, their top byte varies too), word 1
/// the tile index (only the bytes holding bits a tile below `tiles` can set).
pub(super) fn digits(tiles: u32) -> Vec<(u32, u32)> {
    let tile_bits = u32::BITS - tiles.saturating_sub(1).leading_zeros();
    let step = DIGIT_BITS as usize;
    let depth = (0..u32::BITS).step_by(step).map(|s| (0, s));
    let tile = (0..tile_bits).step_by(step).map(|s| (1, s));
    depth.chain(tile).collect()
}

impl WgpuRenderer {
    /// Bins the first `n` splats of `projected` by tile of `camera`'s view, nearest first.
    pub(super) fn bin_on_device(
        &self,
        projected: &wgpu::Buffer,
        n: u32,
        camera: &Camera,
    ) -> Result<DeviceBins> {
        let backend = &self.backend;
        let (_, queue, _) = backend.device();
        let (tiles_x, tiles_y) = camera.tiles();
        let tiles = tiles_x
            .checked_mul(tiles_y)
            .filter(|t| *t < u32::MAX / 2)
            .ok_or_else(|| error("too many tiles"))?;
        let ranges = self.buffer("render ranges", u64::from(tiles) * 8);

        // Tile counts, their total and their scan.
        let counts = self.buffer("render tile counts", u64::from(n) * 4);
        let totals = self.buffer("render key total", 8);
        let mut encoder = backend.encoder("render bin");
        encoder.clear_buffer(&ranges, 0, None);
        encoder.clear_buffer(&totals, 0, None);
        let each = BinParams { n, tiles_x };
        let groups = n.div_ceil(WORKGROUP);
        backend.dispatch(
            &mut encoder,
            Kernel::RenderTileCount,
            None,
            each,
            &[
                projected.as_entire_binding(),
                counts.as_entire_binding(),
                totals.as_entire_binding(),
            ],
            groups,
        )?;
        backend.encode_scan(&mut encoder, &counts, n)?;
        queue.submit([encoder.finish()]);
        let total: [u32; 2] = bytemuck::pod_read_unaligned(&self.download(&totals, 8)?);
        let pairs = u64::from(total[0]) | (u64::from(total[1]) << 32);
        if pairs * 8 > self.binding_limit {
            return Err(error(format!(
                "{pairs} (tile, splat) pairs need {} MiB of sort keys in one binding; the \
                 adapter allows {} MiB (render smaller pictures)",
                (pairs * 8) >> 20,
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
        let keys = self.buffer("render keys", u64::from(total) * 8);
        let ids = self.buffer("render ids", u64::from(total) * 4);
        let mut encoder = backend.encoder("render sort");
        backend.dispatch(
            &mut encoder,
            Kernel::RenderEmit,
            None,
            each,
            &[
                projected.as_entire_binding(),
                counts.as_entire_binding(),
                keys.as_entire_binding(),
                ids.as_entire_binding(),
            ],
            groups,
        )?;
        backend.encode_radix_passes(&mut encoder, &keys, &ids, total, &digits(tiles))?;
        backend.dispatch(
            &mut encoder,
            Kernel::RenderRanges,
            None,
            BinParams { n: total, tiles_x },
            &[keys.as_entire_binding(), ranges.as_entire_binding()],
            total.div_ceil(WORKGROUP),
        )?;
        queue.submit([encoder.finish()]);
        Ok(DeviceBins {
            ids,
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
        let depth: Vec<(u32, u32)> = (0..4).map(|d| (0, 8 * d)).collect();
        assert_eq!(digits(1), depth);
        assert_eq!(digits(16), [depth.clone(), vec![(1, 0)]].concat());
        assert_eq!(digits(256).len(), 5);
        assert_eq!(digits(257), [depth, vec![(1, 0), (1, 8)]].concat());
        // 512×512 pixels: 32×32 tiles, tile indices below 1024 need 10 bits, two digits.
        assert_eq!(digits(1024).len(), 6);
        assert_eq!(digits(65_536).len(), 6);
        assert_eq!(digits(65_537).len(), 7);
    }
}
