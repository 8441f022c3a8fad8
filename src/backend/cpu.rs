//! The CPU backend: plain Rust with rayon. It defines what every kernel computes.
//! STUB (being written by the lead).

use super::{Backend, Elem};
use crate::Result;

/// Reference kernels on the host.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cpu;

/// Nearest centroid by squared L2, ties to the lower index.
pub fn kmeans_assign(points: &[f32], centroids: &[f32], dim: usize, labels: &mut [u32]) {
    let _ = (points, centroids, dim, labels);
    todo!()
}

/// Per-cluster sums and counts, summed in point order.
pub fn kmeans_update(
    points: &[f32],
    labels: &[u32],
    dim: usize,
    k: usize,
    sums: &mut [f32],
    counts: &mut [u32],
) {
    let _ = (points, labels, dim, k, sums, counts);
    todo!()
}

/// Stable sort of values by keys.
pub fn sort_pairs(keys: &mut [u64], values: &mut [u32]) {
    let mut pairs: Vec<(u64, u32)> = keys.iter().copied().zip(values.iter().copied()).collect();
    pairs.sort_by_key(|p| p.0);
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        keys[i] = k;
        values[i] = v;
    }
}

impl Backend for Cpu {
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

    fn write<T: Elem>(&self, buf: &mut Vec<T>, data: &[T]) -> Result<()> {
        buf.copy_from_slice(data);
        Ok(())
    }

    fn zeros<T: Elem>(&self, len: usize) -> Result<Vec<T>> {
        Ok(vec![T::zeroed(); len])
    }

    fn kmeans_assign(
        &self,
        points: &Vec<f32>,
        centroids: &Vec<f32>,
        dim: usize,
        labels: &mut Vec<u32>,
    ) -> Result<()> {
        kmeans_assign(points, centroids, dim, labels);
        Ok(())
    }

    fn kmeans_update(
        &self,
        points: &Vec<f32>,
        labels: &Vec<u32>,
        dim: usize,
        k: usize,
        sums: &mut Vec<f32>,
        counts: &mut Vec<u32>,
    ) -> Result<()> {
        kmeans_update(points, labels, dim, k, sums, counts);
        Ok(())
    }

    fn sort_pairs(&self, keys: &mut Vec<u64>, values: &mut Vec<u32>) -> Result<()> {
        sort_pairs(keys, values);
        Ok(())
    }
}
