//! k-means on the device: assignment (`kmeans_assign_tiled`: 128 points × 128 centroids per
//! block tile in GEMM form, `kmeans_assign_simple` for rows too long for shared memory, or
//! `kmeans_assign_f16` on tensor cores unless [`super::CudaOptions::assign`] says fp32) and
//! the deterministic update (histogram → scan → stable radix sort of point ids by label →
//! per-cluster f64 sums in point order).

use super::module::Arg;
use super::{AssignPrecision, CudaBackend, CudaBuffer, cuda_error, to_u32};
use crate::Result;
use crate::backend::{AssignShape, Kmeans, UpdateShape};

/// Points per block and centroids per tile of `kmeans_assign_tiled` (kernels/kmeans.cu).
const ASSIGN_P: usize = 128;
const ASSIGN_C: usize = 128;
/// Dimensions per centroid chunk; packed rows are padded to a multiple.
const ASSIGN_DC: usize = 15;
/// Widest padded row the tiled kernel keeps in 48 KiB of shared memory (with the centroid
/// chunk and the 1 KiB reduction buffer).
const ASSIGN_MAX_DIM_PAD: usize = 75;
const THREADS: u32 = 256;
/// Widest row the f16 tensor-core kernel takes (six k-steps of 8).
const F16_MAX_DIM: usize = 48;
/// Threads and points per block of `kmeans_assign_f16` (4 warps × 64 points).
const F16_THREADS: u32 = 128;
const F16_POINTS_PER_BLOCK: u32 = 256;
entry_points!(
    /// Entry points of `kernels/kmeans.cu`.
    KmeansKernels {
        pack_centroids,
        kmeans_assign_tiled,
        kmeans_assign_simple,
        pack_centroids_f16,
        kmeans_assign_f16,
        label_histogram,
        label_pairs,
        segment_sum,
    }
);

impl Kmeans for CudaBackend {
    /// No pruning bounds yet: every assignment is a full pass.
    type AssignState = ();

    /// `kmeans_assign_simple` for rows too long for the tiled kernel's shared memory, else
    /// `kmeans_assign_f16` where it applies and the options allow it, else
    /// `kmeans_assign_tiled`.
    fn run_kmeans_assign(
        &self,
        shape: AssignShape,
        points: &CudaBuffer<f32>,
        centroids: &CudaBuffer<f32>,
        labels: &mut CudaBuffer<u32>,
        _state: &mut (),
    ) -> Result<()> {
        let AssignShape { n, k, dim, .. } = shape;
        self.run("kmeans_assign", || {
            if n == 0 {
                return Ok(());
            }
            let n32 = to_u32(n, "n")?;
            let dim32 = to_u32(dim, "dim")?;
            let dim_pad = dim.div_ceil(ASSIGN_DC) * ASSIGN_DC;
            if dim_pad > ASSIGN_MAX_DIM_PAD {
                return self.kernels.kmeans.kmeans_assign_simple.launch(
                    n32.div_ceil(THREADS),
                    THREADS,
                    0,
                    &[
                        Arg::Ptr(points.ptr()),
                        Arg::U32(n32),
                        Arg::U32(dim32),
                        Arg::Ptr(centroids.ptr()),
                        Arg::U32(to_u32(k, "k")?),
                        Arg::Ptr(labels.ptr()),
                    ],
                );
            }
            if dim <= F16_MAX_DIM && k >= 2 && self.options.assign != AssignPrecision::Fp32 {
                return self.kmeans_assign_f16(points, centroids, n32, k, dim, labels);
            }
            self.kmeans_assign_fp32(points, centroids, n32, k, dim, None, labels)?;
            self.device.synchronize("kmeans_assign")
        })
    }

    /// Histogram → scan → stable radix sort of point ids by label → per-cluster sums in
    /// point order.
    fn run_kmeans_update(
        &self,
        shape: UpdateShape,
        points: &CudaBuffer<f32>,
        labels: &CudaBuffer<u32>,
        sums: &mut CudaBuffer<f32>,
        counts: &mut CudaBuffer<u32>,
    ) -> Result<()> {
        let UpdateShape { n, k, dim, .. } = shape;
        self.run("kmeans_update", || {
            if k == 0 {
                return Ok(());
            }
            self.device.zero(counts)?;
            if n == 0 {
                return self.device.zero(sums);
            }
            let n32 = to_u32(n, "n")?;
            let k32 = to_u32(k, "k")?;
            // 1. counts (exact); labels >= k are reported, not counted.
            let bad = self.device.allocate::<u32>(1, "label check")?;
            self.device.zero(&bad)?;
            self.kernels.kmeans.label_histogram.launch(
                n32.div_ceil(THREADS),
                THREADS,
                0,
                &[
                    Arg::Ptr(labels.ptr()),
                    Arg::U32(n32),
                    Arg::U32(k32),
                    Arg::Ptr(counts.ptr()),
                    Arg::Ptr(bad.ptr()),
                ],
            )?;
            let bad_index = self.device.copy_to_host(&bad)?[0];
            if bad_index != 0 {
                let i = (bad_index - 1) as usize;
                return Err(cuda_error(format!(
                    "kmeans_update: point {i} has a label outside 0..{k}"
                )));
            }
            // 2. starts = exclusive scan of counts.
            let starts = self.device.allocate::<u32>(k, "cluster starts")?;
            self.device.copy_device(&starts, counts)?;
            self.scan(&starts, k32)?;
            // 3. members = point ids stably sorted by label.
            let keys = self.device.allocate::<u64>(n, "label keys")?;
            let members = self.device.allocate::<u32>(n, "members")?;
            self.kernels.kmeans.label_pairs.launch(
                n32.div_ceil(THREADS),
                THREADS,
                0,
                &[
                    Arg::Ptr(labels.ptr()),
                    Arg::U32(n32),
                    Arg::Ptr(keys.ptr()),
                    Arg::Ptr(members.ptr()),
                ],
            )?;
            let label_bits = 32 - (k32 - 1).leading_zeros();
            let shifts: Vec<u32> = (0..label_bits.div_ceil(8)).map(|d| 8 * d).collect();
            self.radix_passes(&keys, &members, n32, &shifts)?;
            // 4. per-cluster sums in member order.
            self.kernels.kmeans.segment_sum.launch(
                k32,
                THREADS,
                0,
                &[
                    Arg::Ptr(points.ptr()),
                    Arg::U32(to_u32(dim, "dim")?),
                    Arg::Ptr(members.ptr()),
                    Arg::Ptr(starts.ptr()),
                    Arg::Ptr(counts.ptr()),
                    Arg::Ptr(sums.ptr()),
                ],
            )?;
            self.device.synchronize("kmeans_update")
        })
    }
}

impl CudaBackend {
    /// The fp32 tiled kernel over all points, or over the `n` points listed in `point_ids`.
    /// Queues only: the caller synchronizes before the temporaries are needed elsewhere
    /// (cuMemFree of the temporaries waits for the launch).
    #[allow(clippy::too_many_arguments)]
    fn kmeans_assign_fp32(
        &self,
        points: &CudaBuffer<f32>,
        centroids: &CudaBuffer<f32>,
        n32: u32,
        k: usize,
        dim: usize,
        point_ids: Option<&CudaBuffer<u32>>,
        labels: &CudaBuffer<u32>,
    ) -> Result<()> {
        let dim32 = to_u32(dim, "dim")?;
        let dim_pad = dim.div_ceil(ASSIGN_DC) * ASSIGN_DC;
        let k_pad = k.div_ceil(ASSIGN_C) * ASSIGN_C;
        let packed = self
            .device
            .allocate::<f32>(dim_pad * k_pad, "packed centroids")?;
        let norms = self.device.allocate::<f32>(k_pad, "centroid norms")?;
        let k_pad32 = to_u32(k_pad, "k")?;
        let dim_pad32 = dim_pad as u32;
        self.kernels.kmeans.pack_centroids.launch(
            k_pad32.div_ceil(THREADS),
            THREADS,
            0,
            &[
                Arg::Ptr(centroids.ptr()),
                Arg::U32(to_u32(k, "k")?),
                Arg::U32(dim32),
                Arg::U32(dim_pad32),
                Arg::U32(k_pad32),
                Arg::Ptr(packed.ptr()),
                Arg::Ptr(norms.ptr()),
            ],
        )?;
        let shared = ((dim_pad * ASSIGN_P + ASSIGN_DC * ASSIGN_C) * 4) as u32;
        self.kernels.kmeans.kmeans_assign_tiled.launch(
            n32.div_ceil(ASSIGN_P as u32),
            THREADS,
            shared,
            &[
                Arg::Ptr(points.ptr()),
                Arg::U32(n32),
                Arg::U32(dim32),
                Arg::U32(dim_pad32),
                Arg::Ptr(packed.ptr()),
                Arg::Ptr(norms.ptr()),
                Arg::U32(k_pad32),
                Arg::Ptr(point_ids.map_or(0, |ids| ids.ptr())),
                Arg::Ptr(labels.ptr()),
            ],
        )
    }

    /// Tensor-core assignment (`kmeans_assign_f16`): f16 products with a rigorous error
    /// bound; points whose best and second-best approximate distances are closer than the
    /// bound are re-assigned by the exact fp32 kernel.
    fn kmeans_assign_f16(
        &self,
        points: &CudaBuffer<f32>,
        centroids: &CudaBuffer<f32>,
        n32: u32,
        k: usize,
        dim: usize,
        labels: &CudaBuffer<u32>,
    ) -> Result<()> {
        let k32 = to_u32(k, "k")?;
        let tiles = k32.div_ceil(8);
        let packed = self
            .device
            .allocate::<u32>(tiles as usize * 32 * 8, "f16 centroids")?;
        let scalars = self.device.allocate::<u32>(2, "centroid bound")?;
        self.device.zero(&scalars)?;
        let fallback = self
            .device
            .allocate::<u32>(n32 as usize, "fallback points")?;
        self.kernels.kmeans.pack_centroids_f16.launch(
            (tiles * 32).div_ceil(THREADS),
            THREADS,
            0,
            &[
                Arg::Ptr(centroids.ptr()),
                Arg::U32(k32),
                Arg::U32(dim as u32),
                Arg::U32(tiles),
                Arg::Ptr(packed.ptr()),
                Arg::Ptr(scalars.ptr()),
            ],
        )?;
        // scalars[0] = max ‖c‖ (bits), scalars[1] = fallback count.
        let count_ptr = scalars.ptr() + 4;
        self.kernels.kmeans.kmeans_assign_f16.launch(
            n32.div_ceil(F16_POINTS_PER_BLOCK),
            F16_THREADS,
            0,
            &[
                Arg::Ptr(points.ptr()),
                Arg::U32(n32),
                Arg::U32(dim as u32),
                Arg::Ptr(packed.ptr()),
                Arg::U32(tiles),
                Arg::Ptr(scalars.ptr()),
                Arg::Ptr(labels.ptr()),
                Arg::Ptr(fallback.ptr()),
                Arg::Ptr(count_ptr),
            ],
        )?;
        let fallbacks = self.device.copy_to_host(&scalars)?[1];
        if fallbacks > 0 {
            self.kmeans_assign_fp32(
                points,
                centroids,
                fallbacks,
                k,
                dim,
                Some(&fallback),
                labels,
            )?;
        }
        self.device.synchronize("kmeans_assign")
    }
}
