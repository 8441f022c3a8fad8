//! The sort family: `sort_pairs`, a stable sort of (u64 key, u32 value) pairs by key. The
//! provided method checks the lengths once, here, and calls the backend's `run_sort_pairs`;
//! [`super::cpu::sort_pairs`] defines what it computes.

use super::buffers::{Buffers, DeviceBuffer};
use crate::Result;

/// Sorting kernels. Required: `run_sort_pairs`; drivers call the provided `sort_pairs`.
pub trait Sort: Buffers {
    /// Stable sort of `values` by `keys`, both permuted in place. Defined by
    /// [`super::cpu::sort_pairs`]. Keys and values of different lengths are an error naming
    /// `sort_pairs`.
    fn sort_pairs(
        &self,
        keys: &mut Self::Buffer<u64>,
        values: &mut Self::Buffer<u32>,
    ) -> Result<()> {
        if keys.len() != values.len() {
            return Err(self.error(format!(
                "sort_pairs: {} keys but {} values",
                keys.len(),
                values.len()
            )));
        }
        self.run_sort_pairs(keys, values)
    }

    /// [`Sort::sort_pairs`] after the seam's check: one value per key.
    fn run_sort_pairs(
        &self,
        keys: &mut Self::Buffer<u64>,
        values: &mut Self::Buffer<u32>,
    ) -> Result<()>;
}
