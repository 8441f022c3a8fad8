//! Stable LSD radix sort of (u64 key, u32 value) pairs, 8-bit digits, reduce-then-scan per
//! digit: `radix_histogram` (per-block digit counts) → `scan` → `radix_scatter` (stable
//! ranks within each block, counted from per-digit bit masks). No decoupled look-back: WebGPU
//! promises no forward progress between workgroups. Digits that are equal in every key are
//! skipped (`key_bits`). Where the device has subgroup operations, the scan and key-bits
//! kernels use their subgroup variants. The renderer's binning (`crate::render::wgpu`)
//! records [`WgpuBackend::encode_scan`] and [`WgpuBackend::encode_radix_passes`] into its own
//! command encoders.

use super::shaders::{Kernel, Params, RADIX_BLOCK, WORKGROUP};
use super::{GpuBuffer, WgpuBackend, backend_error, bind, to_u32};
use crate::Result;
use crate::backend::Sort;

/// Bits per radix digit: each pass sorts on one byte of one key word, `(word, shift)` with
/// `shift` a multiple of this.
pub(crate) const DIGIT_BITS: u32 = 8;

impl Sort for WgpuBackend {
    /// `key_bits` (one 16-byte read-back), then one radix pass per varying 8-bit digit.
    fn run_sort_pairs(&self, keys: &mut GpuBuffer<u64>, values: &mut GpuBuffer<u32>) -> Result<()> {
        self.scoped("sort_pairs", || {
            let n = to_u32(keys.len(), "number of keys")?;
            if n < 2 {
                return Ok(());
            }
            let key_buf = self.whole(keys, "the sort keys")?;
            let value_buf = self.whole(values, "the sort values")?;

            // Which bits vary? One small reduction and a 16-byte read-back.
            let bits = self.allocate::<u32>(4, "key bits")?;
            self.write_chunks(&bits, &[0, 0, u32::MAX, u32::MAX])?;
            let mut encoder = self.encoder("key_bits");
            self.dispatch(
                &mut encoder,
                if self.ctx.subgroups {
                    Kernel::KeyBitsSubgroup
                } else {
                    Kernel::KeyBits
                },
                None,
                Params {
                    n,
                    ..Params::default()
                },
                &[bind(key_buf), bind(&bits.chunks[0])],
                n.div_ceil(WORKGROUP),
            )?;
            self.ctx.queue.submit([encoder.finish()]);
            let found = self.read_chunks(&bits)?;
            let varying = [found[0] ^ found[2], found[1] ^ found[3]];
            let digits: Vec<(u32, u32)> = (0..2u32)
                .flat_map(|word| (0..u32::BITS / DIGIT_BITS).map(move |d| (word, DIGIT_BITS * d)))
                .filter(|&(word, shift)| (varying[word as usize] >> shift) & 0xff != 0)
                .collect();

            let mut encoder = self.encoder("sort_pairs");
            self.encode_radix_passes(&mut encoder, key_buf, value_buf, n, &digits)?;
            self.ctx.queue.submit([encoder.finish()]);
            Ok(())
        })
    }
}

impl WgpuBackend {
    /// Records one radix pass per `(word, shift)` digit (least significant first) over the
    /// first `n` pairs of `keys` (u32 pairs) and `values`; the result ends up back in them.
    /// Stable, so pairs with equal keys keep their order. Also the renderer's depth sort.
    pub(crate) fn encode_radix_passes(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        keys: &wgpu::Buffer,
        values: &wgpu::Buffer,
        n: u32,
        digits: &[(u32, u32)],
    ) -> Result<()> {
        if digits.is_empty() || n < 2 {
            return Ok(());
        }
        let num_blocks = n.div_ceil(RADIX_BLOCK);
        let hist_len = num_blocks
            .checked_mul(256)
            .ok_or_else(|| backend_error("sort_pairs: too many keys for the histogram"))?;
        let storage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        let key_bytes = u64::from(n) * 8;
        let value_bytes = u64::from(n) * 4;
        let keys_tmp = self.raw_buffer(key_bytes, "sort keys (ping-pong)", storage);
        let values_tmp = self.raw_buffer(value_bytes, "sort values (ping-pong)", storage);
        let hist = self.raw_buffer(u64::from(hist_len) * 4, "radix histogram", storage);

        let mut from = (keys, values);
        let mut to = (&keys_tmp, &values_tmp);
        for &(word, shift) in digits {
            let params = Params {
                n,
                num_blocks,
                shift,
                word,
                ..Params::default()
            };
            self.dispatch(
                encoder,
                Kernel::RadixHistogram,
                None,
                params,
                &[bind(from.0), bind(&hist)],
                num_blocks,
            )?;
            self.encode_scan(encoder, &hist, hist_len)?;
            self.dispatch(
                encoder,
                Kernel::RadixScatter,
                None,
                params,
                &[
                    bind(from.0),
                    bind(from.1),
                    bind(to.0),
                    bind(to.1),
                    bind(&hist),
                ],
                num_blocks,
            )?;
            std::mem::swap(&mut from, &mut to);
        }
        if digits.len() % 2 == 1 {
            encoder.copy_buffer_to_buffer(&keys_tmp, 0, keys, 0, key_bytes);
            encoder.copy_buffer_to_buffer(&values_tmp, 0, values, 0, value_bytes);
        }
        Ok(())
    }

    /// Records an in-place exclusive scan of the first `n` u32 of `data` (one workgroup,
    /// 1024 values at a time). Also the renderer's scan of tile counts.
    pub(crate) fn encode_scan(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        data: &wgpu::Buffer,
        n: u32,
    ) -> Result<()> {
        self.dispatch(
            encoder,
            if self.ctx.subgroups {
                Kernel::ScanSubgroup
            } else {
                Kernel::Scan
            },
            None,
            Params {
                n,
                ..Params::default()
            },
            &[bind(data)],
            1,
        )
    }
}
