//! Stable LSD radix sort of (u64 key, u32 value) pairs, 8-bit digits: per digit
//! `radix_histogram` → `scan_exclusive` → `radix_scatter` (kernels/sort.cu). Digits equal in
//! every key are skipped (`key_bits`).

use super::module::Arg;
use super::{CudaBackend, CudaBuffer, cuda_error, to_u32};
use crate::Result;
use crate::backend::Sort;

/// Pairs per block of `radix_histogram` / `radix_scatter`.
const RADIX_TILE: u32 = 2048;
const RADIX_THREADS: u32 = 256;
const SCAN_THREADS: u32 = 1024;

entry_points!(
    /// Entry points of `kernels/sort.cu`.
    SortKernels {
        key_bits,
        radix_histogram,
        scan_exclusive,
        radix_scatter,
    }
);

impl Sort for CudaBackend {
    fn run_sort_pairs(
        &self,
        keys: &mut CudaBuffer<u64>,
        values: &mut CudaBuffer<u32>,
    ) -> Result<()> {
        self.run("sort_pairs", || {
            let n = to_u32(keys.len(), "number of keys")?;
            if n < 2 {
                return Ok(());
            }
            // Which bits vary? One reduction and a 16-byte read-back.
            let bits = self.device.allocate::<u64>(2, "key bits")?;
            self.device.copy_to_device(&bits, &[0, u64::MAX])?;
            self.kernels.sort.key_bits.launch(
                n.div_ceil(RADIX_THREADS).min(1024),
                RADIX_THREADS,
                0,
                &[Arg::Ptr(keys.ptr()), Arg::U32(n), Arg::Ptr(bits.ptr())],
            )?;
            let found = self.device.copy_to_host(&bits)?;
            let varying = found[0] ^ found[1];
            let shifts: Vec<u32> = (0..8u32)
                .map(|d| 8 * d)
                .filter(|&s| (varying >> s) & 0xff != 0)
                .collect();
            self.radix_passes(keys, values, n, &shifts)
        })
    }
}

impl CudaBackend {
    /// One stable pass per digit at `shifts` (least significant first) over the first `n`
    /// pairs; the result ends up back in `keys` / `values`.
    pub(super) fn radix_passes(
        &self,
        keys: &CudaBuffer<u64>,
        values: &CudaBuffer<u32>,
        n: u32,
        shifts: &[u32],
    ) -> Result<()> {
        if shifts.is_empty() || n < 2 {
            return Ok(());
        }
        let num_blocks = n.div_ceil(RADIX_TILE);
        let hist_len = num_blocks
            .checked_mul(256)
            .ok_or_else(|| cuda_error("sort_pairs: too many keys for the histogram"))?;
        let hist = self
            .device
            .allocate::<u32>(hist_len as usize, "radix histogram")?;
        let keys_tmp = self
            .device
            .allocate::<u64>(n as usize, "sort keys (ping-pong)")?;
        let values_tmp = self
            .device
            .allocate::<u32>(n as usize, "sort values (ping-pong)")?;
        let mut from = (keys.ptr(), values.ptr());
        let mut to = (keys_tmp.ptr(), values_tmp.ptr());
        for &shift in shifts {
            self.kernels.sort.radix_histogram.launch(
                num_blocks,
                RADIX_THREADS,
                0,
                &[
                    Arg::Ptr(from.0),
                    Arg::U32(n),
                    Arg::U32(shift),
                    Arg::U32(num_blocks),
                    Arg::Ptr(hist.ptr()),
                ],
            )?;
            self.scan(&hist, hist_len)?;
            self.kernels.sort.radix_scatter.launch(
                num_blocks,
                RADIX_THREADS,
                0,
                &[
                    Arg::Ptr(from.0),
                    Arg::Ptr(from.1),
                    Arg::Ptr(to.0),
                    Arg::Ptr(to.1),
                    Arg::U32(n),
                    Arg::U32(shift),
                    Arg::U32(num_blocks),
                    Arg::Ptr(hist.ptr()),
                ],
            )?;
            std::mem::swap(&mut from, &mut to);
        }
        if shifts.len() % 2 == 1 {
            self.device.copy_device(keys, &keys_tmp)?;
            self.device.copy_device(values, &values_tmp)?;
        }
        self.device.synchronize("sort_pairs")
    }

    /// In-place exclusive scan of the first `n` u32 of `data`.
    pub(super) fn scan(&self, data: &CudaBuffer<u32>, n: u32) -> Result<()> {
        self.kernels.sort.scan_exclusive.launch(
            1,
            SCAN_THREADS,
            0,
            &[Arg::Ptr(data.ptr()), Arg::U32(n)],
        )
    }
}
