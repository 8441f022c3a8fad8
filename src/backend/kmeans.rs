//! The k-means family: `kmeans_assign` (nearest centroid per point) and `kmeans_update`
//! (per-cluster sums and counts). The provided methods check the arguments once, here, and
//! hand the checked shape to the backend's `run_kmeans_*` method. [`super::cpu::kmeans_assign`]
//! and [`super::cpu::kmeans_update`] define what they compute.

use super::buffers::{Buffers, DeviceBuffer};
use crate::Result;

/// The checked shape of a `kmeans_assign` call: `n` points and `k` centroids, rows of `dim`
/// (`dim > 0`), one label per point, and `k > 0` when `n > 0`. Built only by the seam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssignShape {
    /// Points (rows of `points`, entries of `labels`).
    pub n: usize,
    /// Centroids (rows of `centroids`).
    pub k: usize,
    /// Values per row.
    pub dim: usize,
}

impl AssignShape {
    /// Checks the buffer lengths (in values) of a `kmeans_assign` call.
    pub(crate) fn new(
        points: usize,
        centroids: usize,
        dim: usize,
        labels: usize,
    ) -> Result<Self, String> {
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
        Ok(AssignShape { n, k, dim })
    }
}

/// The checked shape of a `kmeans_update` call: `n` points in rows of `dim` (`dim > 0`), one
/// label per point, `k` rows of sums and `k` counts. Built only by the seam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpdateShape {
    /// Points (rows of `points`, entries of `labels`).
    pub n: usize,
    /// Clusters (rows of `sums`, entries of `counts`).
    pub k: usize,
    /// Values per row.
    pub dim: usize,
}

impl UpdateShape {
    /// Checks the buffer lengths (in values) of a `kmeans_update` call.
    pub(crate) fn new(
        points: usize,
        labels: usize,
        dim: usize,
        k: usize,
        sums: usize,
        counts: usize,
    ) -> Result<Self, String> {
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
        Ok(UpdateShape { n, k, dim })
    }
}

/// k-means kernels. Required: `run_kmeans_assign` and `run_kmeans_update`, which receive
/// checked shapes; drivers call the provided `kmeans_assign` and `kmeans_update`.
pub trait Kmeans: Buffers {
    /// What an assignment may carry to the next one over the same points (per-point bounds
    /// on the CPU; `()` where unused). Start from `Default` for new points.
    type AssignState: Default + Send;

    /// For each point (row of `dim` values in `points`), the index of the nearest centroid
    /// (rows of `dim` in `centroids`) in squared L2 distance, into `labels`. Ties go to the
    /// lower index. Defined by [`super::cpu::kmeans_assign`]. `state` must come from `Default`
    /// or from earlier calls with the same `points`. Bad lengths are an error naming
    /// `kmeans_assign`.
    fn kmeans_assign(
        &self,
        points: &Self::Buffer<f32>,
        centroids: &Self::Buffer<f32>,
        dim: usize,
        labels: &mut Self::Buffer<u32>,
        state: &mut Self::AssignState,
    ) -> Result<()> {
        let shape = AssignShape::new(points.len(), centroids.len(), dim, labels.len())
            .map_err(|message| self.error(message))?;
        self.run_kmeans_assign(shape, points, centroids, labels, state)
    }

    /// Per-cluster sums of the member points (`k` rows of `dim`) and member counts,
    /// overwriting `sums` and `counts`. Deterministic. Defined by
    /// [`super::cpu::kmeans_update`]. Bad lengths are an error naming `kmeans_update`.
    fn kmeans_update(
        &self,
        points: &Self::Buffer<f32>,
        labels: &Self::Buffer<u32>,
        dim: usize,
        k: usize,
        sums: &mut Self::Buffer<f32>,
        counts: &mut Self::Buffer<u32>,
    ) -> Result<()> {
        let shape = UpdateShape::new(points.len(), labels.len(), dim, k, sums.len(), counts.len())
            .map_err(|message| self.error(message))?;
        self.run_kmeans_update(shape, points, labels, sums, counts)
    }

    /// [`Kmeans::kmeans_assign`] with its lengths checked against `shape`.
    fn run_kmeans_assign(
        &self,
        shape: AssignShape,
        points: &Self::Buffer<f32>,
        centroids: &Self::Buffer<f32>,
        labels: &mut Self::Buffer<u32>,
        state: &mut Self::AssignState,
    ) -> Result<()>;

    /// [`Kmeans::kmeans_update`] with its lengths checked against `shape`.
    fn run_kmeans_update(
        &self,
        shape: UpdateShape,
        points: &Self::Buffer<f32>,
        labels: &Self::Buffer<u32>,
        sums: &mut Self::Buffer<f32>,
        counts: &mut Self::Buffer<u32>,
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_shapes() {
        assert_eq!(
            AssignShape::new(6, 4, 2, 3),
            Ok(AssignShape { n: 3, k: 2, dim: 2 })
        );
        assert_eq!(
            AssignShape::new(0, 0, 3, 0),
            Ok(AssignShape { n: 0, k: 0, dim: 3 })
        );
        for (points, centroids, dim, labels, words) in [
            (6, 4, 0, 3, "not whole rows of 0"),
            (7, 4, 2, 3, "not whole rows of 2"),
            (6, 5, 2, 3, "not whole rows of 2"),
            (6, 4, 2, 2, "2 labels for 3 points"),
            (6, 0, 2, 3, "no centroids"),
        ] {
            let err = AssignShape::new(points, centroids, dim, labels).unwrap_err();
            assert!(
                err.starts_with("kmeans_assign: ") && err.contains(words),
                "{err}"
            );
        }
    }

    #[test]
    fn update_shapes() {
        assert_eq!(
            UpdateShape::new(6, 3, 2, 4, 8, 4),
            Ok(UpdateShape { n: 3, k: 4, dim: 2 })
        );
        for (points, labels, dim, k, sums, counts) in [
            (6, 3, 0, 4, 8, 4),
            (5, 3, 2, 4, 8, 4),
            (6, 2, 2, 4, 8, 4),
            (6, 3, 2, 4, 7, 4),
            (6, 3, 2, 4, 8, 3),
        ] {
            let err = UpdateShape::new(points, labels, dim, k, sums, counts).unwrap_err();
            assert!(err.starts_with("kmeans_update: "), "{err}");
        }
    }
}
