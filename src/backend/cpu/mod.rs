//! The CPU backend: plain Rust with rayon. It defines what every kernel computes; the
//! conformance tests hold the GPU backends to these functions.

mod assign;
pub mod plas;
mod yinyang;

pub use yinyang::State as AssignState;

use rayon::prelude::*;

use super::plas::{PlasBlocks, PlasGrid, check_shapes};
use super::{Backend, Elem};
use crate::Result;

/// Reference kernels on the host. Buffers are plain `Vec`s.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cpu;

/// The instruction set the CPU kernels use on this machine: "avx512", "avx2+fma" or "portable".
pub fn simd_level() -> &'static str {
    assign::Kernels::level()
}

/// Brute force over every centroid (the `Cpu` backend gets the same labels faster from
/// [`AssignState`] bounds). For each point (row of `dim` values), the index of the nearest centroid by squared L2
/// distance; ties go to the lower index. Distances are evaluated as ‖c‖² − 2·x·c (the
/// point's own norm cannot change the argmin), so two centroids whose true distances differ
/// by less than float rounding may be ordered either way.
pub fn kmeans_assign(points: &[f32], centroids: &[f32], dim: usize, labels: &mut [u32]) {
    assign::assign(points, centroids, dim, labels);
}

/// Per-cluster sums of member points (`k` rows of `dim`) and member counts. Each cluster's
/// members are summed in point order in f64 and rounded once to f32, so the result does not
/// depend on the number of threads.
pub fn kmeans_update(
    points: &[f32],
    labels: &[u32],
    dim: usize,
    k: usize,
    sums: &mut [f32],
    counts: &mut [u32],
) {
    counts.fill(0);
    for &l in labels {
        counts[l as usize] += 1;
    }
    // Counting sort of point indices by label, stable (point order inside a cluster).
    let mut start = vec![0usize; k + 1];
    for c in 0..k {
        start[c + 1] = start[c] + counts[c] as usize;
    }
    let mut cursor = start.clone();
    let mut members = vec![0u32; labels.len()];
    for (i, &l) in labels.iter().enumerate() {
        members[cursor[l as usize]] = i as u32;
        cursor[l as usize] += 1;
    }
    sums.par_chunks_mut(dim).enumerate().for_each(|(c, row)| {
        let mut acc = vec![0f64; dim];
        for &i in &members[start[c]..start[c + 1]] {
            let p = &points[i as usize * dim..(i as usize + 1) * dim];
            for (a, v) in acc.iter_mut().zip(p) {
                *a += *v as f64;
            }
        }
        for (s, a) in row.iter_mut().zip(acc) {
            *s = a as f32;
        }
    });
}

/// Stable sort of `values` by `keys`, both permuted in place.
pub fn sort_pairs(keys: &mut [u64], values: &mut [u32]) {
    let mut pairs: Vec<(u64, u32)> = keys.iter().copied().zip(values.iter().copied()).collect();
    pairs.par_sort_by_key(|p| p.0);
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        keys[i] = k;
        values[i] = v;
    }
}

impl Backend for Cpu {
    type Buffer<T: Elem> = Vec<T>;
    type AssignState = AssignState;

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
        state: &mut AssignState,
    ) -> Result<()> {
        yinyang::assign(points, centroids, dim, labels, state);
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

    fn plas_blur(
        &self,
        grid: &PlasGrid,
        cells: &Vec<f32>,
        radius: usize,
        target: &mut Vec<f32>,
    ) -> Result<()> {
        check_shapes(
            "plas_blur",
            grid,
            cells.len(),
            target.len(),
            None,
            None,
            None,
        )
        .map_err(cpu_error)?;
        plas::plas_blur(grid, cells, radius, target);
        Ok(())
    }

    fn plas_reorder(
        &self,
        grid: &PlasGrid,
        cells: &mut Vec<f32>,
        index: &mut Vec<u32>,
        target: &Vec<f32>,
        keys: Option<&Vec<u32>>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        check_shapes(
            "plas_reorder",
            grid,
            cells.len(),
            target.len(),
            Some(index.len()),
            keys.map(Vec::len),
            Some(blocks),
        )
        .map_err(cpu_error)?;
        Ok(plas::plas_reorder(
            grid,
            cells,
            index,
            target,
            keys.map(Vec::as_slice),
            blocks,
        ))
    }

    fn plas_loss(
        &self,
        grid: &PlasGrid,
        cells: &Vec<f32>,
        target: &Vec<f32>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        check_shapes(
            "plas_loss",
            grid,
            cells.len(),
            target.len(),
            None,
            None,
            Some(blocks),
        )
        .map_err(cpu_error)?;
        Ok(plas::plas_loss(grid, cells, target, blocks))
    }
}

fn cpu_error(message: String) -> crate::Error {
    crate::Error::Backend {
        backend: "cpu",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_sums_members_and_counts() {
        let points = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let labels = [1, 0, 1];
        let (mut sums, mut counts) = (vec![9.0; 6], vec![9; 3]);
        kmeans_update(&points, &labels, 2, 3, &mut sums, &mut counts);
        assert_eq!(counts, [1, 2, 0]);
        assert_eq!(sums, [3.0, 4.0, 6.0, 8.0, 0.0, 0.0]);
    }

    #[test]
    fn sort_is_stable() {
        let mut keys = vec![3, 1, 3, 0, 1];
        let mut values = vec![0, 1, 2, 3, 4];
        sort_pairs(&mut keys, &mut values);
        assert_eq!(keys, [0, 1, 1, 3, 3]);
        assert_eq!(values, [3, 1, 4, 0, 2]);
    }
}
