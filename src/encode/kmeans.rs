//! The SH palette: Lloyd k-means in squared L2 (`sog-format.md` §3.6), driven once here and
//! run on any [`Backend`]. STUB (being written by the lead).

use crate::Result;
use crate::backend::Backend;
use crate::progress::Progress;

/// Palette size for `n` splats: min(64, 2^floor(log2(n / 1024))) · 1024, at least 1.
pub fn palette_size(n: usize) -> usize {
    let _ = n;
    todo!()
}

/// The palette and each point's label.
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// `k` rows of `dim` values.
    pub centroids: Vec<f32>,
    /// One label per point, `< k`.
    pub labels: Vec<u32>,
}

/// Clusters `points` (rows of `dim`) into `k` centroids with `iterations` Lloyd steps.
pub fn cluster<B: Backend>(
    backend: &B,
    points: &[f32],
    dim: usize,
    k: usize,
    iterations: u32,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Clusters> {
    let _ = (backend, points, dim, k, iterations, seed, progress);
    todo!()
}
