//! The points k-means clusters, seen through the texel order without copying them.
//!
//! The encoder clusters the SH rows in texel order. Gathering them first would hold a second
//! copy of the largest column of the scene (540 MB at 3M splats with three bands) beside the
//! scene for the whole k-means stage; a [`Rows`] reads each row where the scene keeps it, and
//! [`Rows::upload`] fills the device buffer from gathers of [`UPLOAD_ROWS`] rows at a time.

use rayon::prelude::*;

use crate::Result;
use crate::backend::Buffers;

/// Rows gathered per host piece of [`Rows::upload`] (16 MiB at 64 values a row).
const UPLOAD_ROWS: usize = 1 << 16;

/// `dim`-value rows of `data`, optionally in the order `order` (row i is row `order[i]` of
/// `data`).
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    data: &'a [f32],
    dim: usize,
    order: Option<&'a [u32]>,
}

impl<'a> Rows<'a> {
    /// The rows of `data` as they lie.
    pub fn new(data: &'a [f32], dim: usize) -> Self {
        Rows {
            data,
            dim,
            order: None,
        }
    }

    /// Row `i` is row `order[i]` of `data`; every index must be below `data.len() / dim`.
    pub fn in_order(data: &'a [f32], dim: usize, order: &'a [u32]) -> Self {
        Rows {
            data,
            dim,
            order: Some(order),
        }
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self.order {
            Some(order) => order.len(),
            None => self.data.len() / self.dim.max(1),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every index of the order is inside the data (and, without an order, the data
    /// is whole rows).
    pub fn is_whole(&self) -> bool {
        if self.dim == 0 {
            return false;
        }
        let rows = self.data.len() / self.dim;
        match self.order {
            Some(order) => order.iter().all(|&r| (r as usize) < rows),
            None => self.data.len() == rows * self.dim,
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [f32] {
        let r = self.order.map_or(i, |order| order[i] as usize);
        &self.data[r * self.dim..(r + 1) * self.dim]
    }

    /// The rows at `indices` (indices into these rows), in that order, as one matrix.
    pub fn gather(&self, indices: &[u32]) -> Vec<f32> {
        let mut out = vec![0.0; indices.len() * self.dim];
        self.fill(&mut out, indices.par_iter().map(|&i| i as usize));
        out
    }

    /// Copies the rows `which` yields into consecutive rows of `out`, in parallel.
    fn fill(&self, out: &mut [f32], which: impl IndexedParallelIterator<Item = usize>) {
        if self.dim == 0 {
            return;
        }
        out.par_chunks_mut(self.dim)
            .with_min_len(1 << 10)
            .zip(which)
            .for_each(|(dst, i)| dst.copy_from_slice(self.row(i)));
    }

    /// A device buffer holding the rows in order: the data itself when there is no order,
    /// else filled from host gathers of [`UPLOAD_ROWS`] rows.
    pub fn upload<B: Buffers>(&self, backend: &B) -> Result<B::Buffer<f32>> {
        if self.order.is_none() {
            return backend.upload(self.data);
        }
        let (n, dim) = (self.len(), self.dim);
        let mut buffer = backend.zeros::<f32>(n * dim)?;
        let mut piece = vec![0.0f32; UPLOAD_ROWS.min(n) * dim];
        for first in (0..n).step_by(UPLOAD_ROWS) {
            let end = (first + UPLOAD_ROWS).min(n);
            let values = &mut piece[..(end - first) * dim];
            self.fill(values, (first..end).into_par_iter());
            backend.write_at(&mut buffer, first * dim, values)?;
        }
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::Cpu;

    #[test]
    fn ordered_rows_read_through_the_order_and_upload_in_order() {
        // 70,000 rows of 3 > one upload piece, so the pieces' offsets are exercised.
        let n = UPLOAD_ROWS + 4464;
        let data: Vec<f32> = (0..n * 3).map(|v| v as f32).collect();
        let order: Vec<u32> = (0..n as u32).rev().collect();
        let rows = Rows::in_order(&data, 3, &order);
        assert!(rows.is_whole());
        assert_eq!(rows.len(), n);
        assert_eq!(rows.row(0), &data[(n - 1) * 3..]);
        let expected: Vec<f32> = order
            .iter()
            .flat_map(|&r| data[r as usize * 3..r as usize * 3 + 3].to_vec())
            .collect();
        assert_eq!(rows.upload(&Cpu).unwrap(), expected);
        assert_eq!(
            rows.gather(&[1, 0]),
            [&expected[3..6], &expected[..3]].concat()
        );
        let plain = Rows::new(&data, 3);
        assert_eq!(plain.upload(&Cpu).unwrap(), data);
        assert!(!Rows::in_order(&data, 3, &[n as u32]).is_whole());
        assert!(!Rows::new(&data[..4], 3).is_whole());
    }
}
