//! Compute backends. The drivers in `encode/` (k-means loop, Morton order) are written once,
//! generic over [`Backend`]; a backend supplies device buffers and the kernels.
//!
//! | concept            | host          | `cpu`      | `wgpu`                    | `cuda`          |
//! |--------------------|---------------|------------|---------------------------|-----------------|
//! | buffer of `T`      | `Vec<T>`      | `Vec<T>`   | `wgpu::Buffer` chunks     | `CudaSlice<T>`  |
//! | kmeans_assign      | —             | `cpu.rs`   | `wgsl/kmeans_assign.wgsl` | `kernels/*.cu`  |
//! | kmeans_update      | —             | `cpu.rs`   | `wgsl/label_histogram`, `scan`, `label_pairs`, `segment_sum` | `kernels/*.cu` |
//! | sort_pairs         | —             | `cpu.rs`   | `wgsl/key_bits`, `radix_histogram`, `scan`, `radix_scatter` | `kernels/*.cu` |
//!
//! `cpu.rs` defines what every kernel computes; the conformance tests hold the others to it.

pub mod cpu;
pub mod cuda;
pub mod plas;
pub mod select;
pub mod wgpu;

use crate::Result;

/// Checks the shapes of a `kmeans_assign` call and returns (points, centroids): whole rows
/// of `dim`, one label per point, and at least one centroid when there are points. Shared by
/// the GPU backends so that they reject bad calls with the same words.
pub(crate) fn assign_rows(
    points: usize,
    centroids: usize,
    dim: usize,
    labels: usize,
) -> Result<(usize, usize), String> {
    if dim == 0 || !points.is_multiple_of(dim) || !centroids.is_multiple_of(dim) {
        return Err(format!(
            "kmeans_assign: {points} point values and {centroids} centroid values are not whole rows of {dim}"
        ));
    }
    let (n, k) = (points / dim, centroids / dim);
    if labels != n {
        return Err(format!("kmeans_assign: {labels} labels for {n} points"));
    }
    if n > 0 && k == 0 {
        return Err("kmeans_assign: no centroids".into());
    }
    Ok((n, k))
}

/// Checks the shapes of a `kmeans_update` call and returns the number of points: whole rows
/// of `dim`, one label per point, `k` rows of sums and `k` counts.
pub(crate) fn update_rows(
    points: usize,
    labels: usize,
    dim: usize,
    k: usize,
    sums: usize,
    counts: usize,
) -> Result<usize, String> {
    if dim == 0 || !points.is_multiple_of(dim) {
        return Err(format!(
            "kmeans_update: {points} point values are not whole rows of {dim}"
        ));
    }
    let n = points / dim;
    if labels != n || sums != k * dim || counts != k {
        return Err(format!(
            "kmeans_update: {labels} labels, {sums} sums and {counts} counts for {n} points, k = {k}, dim = {dim}"
        ));
    }
    Ok(n)
}

/// Checks that a `sort_pairs` call has one value per key.
pub(crate) fn sort_lengths(keys: usize, values: usize) -> Result<(), String> {
    if keys != values {
        return Err(format!("sort_pairs: {keys} keys but {values} values"));
    }
    Ok(())
}

/// Element types that may live in a device buffer.
pub trait Elem: bytemuck::Pod + Send + Sync + 'static {}
impl Elem for f32 {}
impl Elem for u32 {}
impl Elem for u64 {}

/// A compute device running splatpress's kernels. Buffers stay on the device between calls;
/// drivers download only what they decide on.
pub trait Backend {
    /// A device buffer of `T`.
    type Buffer<T: Elem>;

    /// What an assignment may carry to the next one over the same points (per-point bounds
    /// on the CPU; `()` where unused). Start from `Default` for new points.
    type AssignState: Default + Send;

    /// Short name used in messages and `--backend`.
    fn name(&self) -> &'static str;

    /// Copies `data` to a new device buffer.
    fn upload<T: Elem>(&self, data: &[T]) -> Result<Self::Buffer<T>>;

    /// Copies a device buffer back to the host.
    fn download<T: Elem>(&self, buf: &Self::Buffer<T>) -> Result<Vec<T>>;

    /// Overwrites `buf` (same length) with `data`.
    fn write<T: Elem>(&self, buf: &mut Self::Buffer<T>, data: &[T]) -> Result<()>;

    /// A zero-filled device buffer of `len` elements.
    fn zeros<T: Elem>(&self, len: usize) -> Result<Self::Buffer<T>>;

    /// For each point (row of `dim` values in `points`), the index of the nearest centroid
    /// (rows of `dim` in `centroids`) in squared L2 distance, into `labels`. Ties go to the
    /// lower index. Defined by [`cpu::kmeans_assign`]. `state` must come from `Default` or
    /// from earlier calls with the same `points`.
    fn kmeans_assign(
        &self,
        points: &Self::Buffer<f32>,
        centroids: &Self::Buffer<f32>,
        dim: usize,
        labels: &mut Self::Buffer<u32>,
        state: &mut Self::AssignState,
    ) -> Result<()>;

    /// Per-cluster sums of the member points (`k` rows of `dim`) and member counts,
    /// overwriting `sums` and `counts`. Deterministic. Defined by [`cpu::kmeans_update`].
    fn kmeans_update(
        &self,
        points: &Self::Buffer<f32>,
        labels: &Self::Buffer<u32>,
        dim: usize,
        k: usize,
        sums: &mut Self::Buffer<f32>,
        counts: &mut Self::Buffer<u32>,
    ) -> Result<()>;

    /// Stable sort of `values` by `keys`, both permuted in place. Defined by [`cpu::sort_pairs`].
    fn sort_pairs(
        &self,
        keys: &mut Self::Buffer<u64>,
        values: &mut Self::Buffer<u32>,
    ) -> Result<()>;
    /// PLAS blur (`algorithms.md` §1.3): `target` = box mean of width 2r+1 of `cells`, circular
    /// in x, reflected in y (edge not repeated), the radius clamped per axis to ⌊(side − 1)/2⌋.
    fn plas_blur(
        &self,
        grid: &plas::PlasGrid,
        cells: &Self::Buffer<f32>,
        radius: usize,
        target: &mut Self::Buffer<f32>,
    ) -> Result<()>;

    /// One PLAS reorder (§1.4, correct swap direction): every group of four cells of every
    /// block takes the placement of its vectors (and `index` entries) that minimises
    /// Σ‖cell − target‖², the current one on ties; padding never moves; with `keys`, a vector
    /// only moves between cells of equal key. Returns the loss of the processed valid cells
    /// after the move (the stop rule's one readback).
    fn plas_reorder(
        &self,
        grid: &plas::PlasGrid,
        cells: &mut Self::Buffer<f32>,
        index: &mut Self::Buffer<u32>,
        target: &Self::Buffer<f32>,
        keys: Option<&Self::Buffer<u32>>,
        blocks: &plas::PlasBlocks,
    ) -> Result<f64>;

    /// Σ‖cell − target‖² over the valid cells the block lattice covers (the loss a
    /// configuration starts from).
    fn plas_loss(
        &self,
        grid: &plas::PlasGrid,
        cells: &Self::Buffer<f32>,
        target: &Self::Buffer<f32>,
        blocks: &plas::PlasBlocks,
    ) -> Result<f64>;
}
