//! The CPU backend: plain Rust with rayon. It defines what every kernel computes; the
//! conformance tests hold the GPU backends to these functions. One file per kernel family:
//! buffers here, [`kmeans_assign`] / [`kmeans_update`] in `kmeans.rs`, [`sort_pairs`] in
//! `sort.rs`, [`plas`].

mod assign;
pub mod decimate;
mod kmeans;
pub mod plas;
mod sort;
mod yinyang;

pub use kmeans::{kmeans_assign, kmeans_update};
pub use sort::sort_pairs;
pub use yinyang::State as AssignState;

use super::{Buffers, Elem};
use crate::Result;

/// Reference kernels on the host. Buffers are plain `Vec`s.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cpu;

/// The instruction set the CPU kernels use on this machine: "avx512", "avx2+fma" or "portable".
pub fn simd_level() -> &'static str {
    assign::Kernels::level()
}

impl Buffers for Cpu {
    type Buffer<T: Elem> = Vec<T>;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn upload<T: Elem>(&self, data: &[T]) -> Result<Vec<T>> {
        Ok(data.to_vec())
    }

    fn download<T: Elem>(&self, buf: &Vec<T>) -> Result<Vec<T>> {
        Ok(buf.clone())
    }

    fn zeros<T: Elem>(&self, len: usize) -> Result<Vec<T>> {
        Ok(vec![T::zeroed(); len])
    }

    fn run_write_at<T: Elem>(&self, buf: &mut Vec<T>, offset: usize, data: &[T]) -> Result<()> {
        buf[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }
}
