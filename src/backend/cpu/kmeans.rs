//! k-means on the host: brute-force and bounded (Yinyang, `yinyang.rs`) assignment over the
//! GEMM-form distance kernels of `assign.rs`, and the deterministic update.

use rayon::prelude::*;

use super::{AssignState, Cpu, assign, yinyang};
use crate::Result;
use crate::backend::{AssignShape, Buffers, Kmeans, UpdateShape};

/// Brute force over every centroid (the `Cpu` backend gets the same labels faster from
/// [`AssignState`] bounds). For each point (row of `dim` values), the index of the nearest
/// centroid by squared L2 distance; ties go to the lower index. Distances are evaluated as ‖c‖² − 2·x·c (the
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

impl Kmeans for Cpu {
    type AssignState = AssignState;

    fn run_kmeans_assign(
        &self,
        shape: AssignShape,
        points: &Vec<f32>,
        centroids: &Vec<f32>,
        labels: &mut Vec<u32>,
        state: &mut AssignState,
    ) -> Result<()> {
        yinyang::assign(points, centroids, shape.dim, labels, state);
        Ok(())
    }

    fn run_kmeans_update(
        &self,
        shape: UpdateShape,
        points: &Vec<f32>,
        labels: &Vec<u32>,
        sums: &mut Vec<f32>,
        counts: &mut Vec<u32>,
    ) -> Result<()> {
        let k = shape.k;
        if k == 0 {
            return Ok(());
        }
        // The CUDA backend's rule: a label outside 0..k is an error, not a count.
        if let Some(i) = labels.iter().position(|&l| l as usize >= k) {
            return Err(self.error(format!(
                "kmeans_update: point {i} has a label outside 0..{k}"
            )));
        }
        kmeans_update(points, labels, shape.dim, k, sums, counts);
        Ok(())
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
}
