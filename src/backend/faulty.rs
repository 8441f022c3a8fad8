//! A test hook (feature `test-hooks`, never in a release build): a backend that runs another
//! one but fails every call after the first `calls`, as a GPU that is lost mid-job would. It
//! proves that `--backend auto` finishes on the next backend and that an explicit backend
//! fails cleanly, without a partial output.

use std::sync::atomic::{AtomicU64, Ordering};

use super::decimate::{Merged, Splats};
use super::kmeans::{AssignShape, UpdateShape};
use super::plas::{PlasBlocks, PlasGrid};
use super::{Buffers, Decimate, Elem, Kmeans, Plas, Sort};
use crate::Result;

/// Where to inject a failure: on which backend, after how many successful calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectedFailure {
    /// The backend that fails (`cuda`, `wgpu` or `cpu`).
    pub backend: &'static str,
    /// Calls (buffer transfers and kernels) that succeed before every later one fails.
    pub after_calls: u64,
}

/// `inner`, failing every call after the first `calls`.
pub struct Faulty<'a, B> {
    inner: &'a B,
    left: AtomicU64,
}

impl<'a, B: Buffers> Faulty<'a, B> {
    /// Wraps `inner`; the first `calls` calls succeed.
    pub fn new(inner: &'a B, calls: u64) -> Self {
        Faulty {
            inner,
            left: AtomicU64::new(calls),
        }
    }

    /// Counts one call; an error once the budget is spent.
    fn tick(&self, what: &str) -> Result<()> {
        let spent = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_err();
        if spent {
            return Err(self.inner.error(format!(
                "{what}: device lost (failure injected by the test hook)"
            )));
        }
        Ok(())
    }
}

impl<B: Buffers> Buffers for Faulty<'_, B> {
    type Buffer<T: Elem> = B::Buffer<T>;

    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn upload<T: Elem>(&self, data: &[T]) -> Result<Self::Buffer<T>> {
        self.tick("upload")?;
        self.inner.upload(data)
    }

    fn download<T: Elem>(&self, buf: &Self::Buffer<T>) -> Result<Vec<T>> {
        self.tick("download")?;
        self.inner.download(buf)
    }

    fn zeros<T: Elem>(&self, len: usize) -> Result<Self::Buffer<T>> {
        self.tick("zeros")?;
        self.inner.zeros(len)
    }

    fn run_write_at<T: Elem>(
        &self,
        buf: &mut Self::Buffer<T>,
        offset: usize,
        data: &[T],
    ) -> Result<()> {
        self.tick("write")?;
        self.inner.run_write_at(buf, offset, data)
    }
}

impl<B: Kmeans> Kmeans for Faulty<'_, B> {
    type AssignState = B::AssignState;

    fn run_kmeans_assign(
        &self,
        shape: AssignShape,
        points: &Self::Buffer<f32>,
        centroids: &Self::Buffer<f32>,
        labels: &mut Self::Buffer<u32>,
        state: &mut Self::AssignState,
    ) -> Result<()> {
        self.tick("kmeans_assign")?;
        self.inner
            .run_kmeans_assign(shape, points, centroids, labels, state)
    }

    fn run_kmeans_update(
        &self,
        shape: UpdateShape,
        points: &Self::Buffer<f32>,
        labels: &Self::Buffer<u32>,
        sums: &mut Self::Buffer<f32>,
        counts: &mut Self::Buffer<u32>,
    ) -> Result<()> {
        self.tick("kmeans_update")?;
        self.inner
            .run_kmeans_update(shape, points, labels, sums, counts)
    }
}

impl<B: Sort> Sort for Faulty<'_, B> {
    fn run_sort_pairs(
        &self,
        keys: &mut Self::Buffer<u64>,
        values: &mut Self::Buffer<u32>,
    ) -> Result<()> {
        self.tick("sort_pairs")?;
        self.inner.run_sort_pairs(keys, values)
    }
}

impl<B: Plas> Plas for Faulty<'_, B> {
    fn run_plas_blur(
        &self,
        grid: &PlasGrid,
        cells: &Self::Buffer<f32>,
        radius: usize,
        target: &mut Self::Buffer<f32>,
    ) -> Result<()> {
        self.tick("plas_blur")?;
        self.inner.run_plas_blur(grid, cells, radius, target)
    }

    fn run_plas_reorder(
        &self,
        grid: &PlasGrid,
        cells: &mut Self::Buffer<f32>,
        index: &mut Self::Buffer<u32>,
        target: &Self::Buffer<f32>,
        keys: Option<&Self::Buffer<u32>>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        self.tick("plas_reorder")?;
        self.inner
            .run_plas_reorder(grid, cells, index, target, keys, blocks)
    }

    fn run_plas_loss(
        &self,
        grid: &PlasGrid,
        cells: &Self::Buffer<f32>,
        target: &Self::Buffer<f32>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        self.tick("plas_loss")?;
        self.inner.run_plas_loss(grid, cells, target, blocks)
    }
}

impl<B: Decimate> Decimate for Faulty<'_, B> {
    fn run_decimate_prepare(
        &self,
        n: usize,
        rotations: &Self::Buffer<f32>,
        log_scales: &Self::Buffer<f32>,
        opacities: &Self::Buffer<f32>,
        prepared: &mut Self::Buffer<f32>,
    ) -> Result<()> {
        self.tick("decimate_prepare")?;
        self.inner
            .run_decimate_prepare(n, rotations, log_scales, opacities, prepared)
    }

    fn run_decimate_candidates(
        &self,
        n: usize,
        splats: &Splats<'_, Self>,
        window: usize,
        costs: &mut Self::Buffer<f32>,
        partners: &mut Self::Buffer<u32>,
    ) -> Result<()> {
        self.tick("decimate_candidates")?;
        let inner = Splats::<B> {
            positions: splats.positions,
            prepared: splats.prepared,
            colors: splats.colors,
            dim: splats.dim,
        };
        self.inner
            .run_decimate_candidates(n, &inner, window, costs, partners)
    }

    fn run_decimate_merge(
        &self,
        n: usize,
        g: usize,
        splats: &Splats<'_, Self>,
        offsets: &Self::Buffer<u32>,
        members: &Self::Buffer<u32>,
        merged: &mut Merged<'_, Self>,
    ) -> Result<()> {
        self.tick("decimate_merge")?;
        let inner = Splats::<B> {
            positions: splats.positions,
            prepared: splats.prepared,
            colors: splats.colors,
            dim: splats.dim,
        };
        let mut out = Merged::<B> {
            positions: merged.positions,
            rotations: merged.rotations,
            log_scales: merged.log_scales,
            opacities: merged.opacities,
            colors: merged.colors,
        };
        self.inner
            .run_decimate_merge(n, g, &inner, offsets, members, &mut out)
    }
}
