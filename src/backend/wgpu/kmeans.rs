//! k-means kernels: assignment (tiled argmin, `kmeans_assign.wgsl`) and the deterministic
//! update (histogram → scan → stable sort of point ids by label → sequential segment sums).

use super::shaders::{ASSIGN_TILE, AssignVariant, Kernel, Params, SEGMENT_WORKGROUP, WORKGROUP};
use super::{GpuBuffer, WgpuBackend, backend_error, bind, bind_range, to_u32};
use crate::Result;
use crate::backend::{AssignShape, Kmeans, UpdateShape};

impl Kmeans for WgpuBackend {
    /// No pruning bounds yet: every assignment is a full pass.
    type AssignState = ();

    /// Per point window and centroid part, `kmeans_assign.wgsl` dispatches over tiles of
    /// centroids (with `centroid_norms.wgsl` first, and `to_f16.wgsl` copies in f16 mode).
    fn run_kmeans_assign(
        &self,
        shape: AssignShape,
        points: &GpuBuffer<f32>,
        centroids: &GpuBuffer<f32>,
        labels: &mut GpuBuffer<u32>,
        _state: &mut (),
    ) -> Result<()> {
        let AssignShape { n, k, dim, .. } = shape;
        self.scoped("kmeans_assign", || {
            if n == 0 {
                return Ok(());
            }
            if k > (u32::MAX - 2 * ASSIGN_TILE) as usize {
                // The kernel's tile counter must not wrap past the last centroid.
                return Err(backend_error(format!(
                    "kmeans_assign: {k} centroids exceed 2^32"
                )));
            }
            let variant = AssignVariant::for_dim(to_u32(dim, "dim")?, self.ctx.f16);
            if variant.workgroup_bytes() > self.ctx.limits.max_compute_workgroup_storage_size {
                return Err(backend_error(format!(
                    "kmeans_assign: rows of {dim} values do not fit workgroup memory ({} bytes)",
                    self.ctx.limits.max_compute_workgroup_storage_size
                )));
            }
            let label_buf = self.whole(labels, "the label array")?;
            let windows = self.windows(points, dim)?;
            let k32 = to_u32(k, "k")?;
            let mut encoder = self.encoder("kmeans_assign");

            // f16 variant: half-precision copies of the centroids and of each point window.
            let half = if variant.f16 {
                let centroid_buf = self.whole(centroids, "the centroid matrix (f16)")?;
                let values = k * dim;
                let cent16 = self.raw_buffer(
                    (values * 2) as u64,
                    "centroids f16",
                    wgpu::BufferUsages::STORAGE,
                );
                self.dispatch(
                    &mut encoder,
                    Kernel::ToF16,
                    None,
                    Params {
                        n: to_u32(values, "centroid values")?,
                        ..Params::default()
                    },
                    &[bind(centroid_buf), bind(&cent16)],
                    to_u32(values, "centroid values")?.div_ceil(WORKGROUP),
                )?;
                let largest = windows.iter().map(|w| w.byte_size).max().unwrap_or(0);
                let points16 =
                    self.raw_buffer(largest / 2, "points f16", wgpu::BufferUsages::STORAGE);
                Some((cent16, points16))
            } else {
                None
            };

            // Running minimum distance per point, carried between the dispatches that split
            // the centroid range (see `AssignVariant::centroids_per_dispatch`); unused when k
            // fits one.
            let best_dist = self.raw_buffer(
                (n * 4) as u64,
                "best distances",
                wgpu::BufferUsages::STORAGE,
            );
            let per_dispatch = variant.centroids_per_dispatch();
            let parts = match &half {
                Some((cent16, _)) => vec![(cent16, 0, k32)],
                None => self.centroid_parts(centroids, dim)?,
            };
            // ‖c‖² of every centroid, from the values the assignment reads (f16 ones included).
            let norms = self.raw_buffer(
                (k * 4) as u64,
                "centroid norms",
                wgpu::BufferUsages::STORAGE,
            );
            for &(centroid_buffer, centroid_base, part_end) in &parts {
                let count = part_end - centroid_base;
                self.dispatch(
                    &mut encoder,
                    Kernel::CentroidNorms,
                    Some(variant),
                    Params {
                        n: count,
                        dim: variant.dim,
                        centroid_base,
                        ..Params::default()
                    },
                    &[bind(centroid_buffer), bind(&norms)],
                    count.div_ceil(WORKGROUP),
                )?;
            }
            for window in &windows {
                let source = &points.chunks[window.chunk];
                let groups = window.rows.div_ceil(variant.rows_per_group());
                let point_binding = match &half {
                    None => bind_range(source, window.byte_offset, window.byte_size),
                    Some((_, points16)) => {
                        let values = window.rows * variant.dim;
                        self.dispatch(
                            &mut encoder,
                            Kernel::ToF16,
                            None,
                            Params {
                                n: values,
                                ..Params::default()
                            },
                            &[
                                bind_range(source, window.byte_offset, window.byte_size),
                                bind(points16),
                            ],
                            values.div_ceil(WORKGROUP),
                        )?;
                        bind(points16)
                    }
                };
                for &(centroid_buffer, centroid_base, part_end) in &parts {
                    let mut first_centroid = centroid_base;
                    while first_centroid < part_end {
                        let centroid_end =
                            part_end.min(first_centroid.saturating_add(per_dispatch));
                        self.dispatch(
                            &mut encoder,
                            Kernel::KmeansAssign,
                            Some(variant),
                            Params {
                                n: window.rows,
                                k: k32,
                                dim: variant.dim,
                                first_row: window.first_row,
                                first_centroid,
                                centroid_end,
                                centroid_base,
                                ..Params::default()
                            },
                            &[
                                point_binding.clone(),
                                bind(centroid_buffer),
                                bind(&norms),
                                bind(label_buf),
                                bind(&best_dist),
                            ],
                            groups,
                        )?;
                        first_centroid = centroid_end;
                    }
                }
            }
            self.ctx.queue.submit([encoder.finish()]);
            Ok(())
        })
    }

    /// `label_histogram` → `scan` → `label_pairs` + radix passes → `segment_sum`, in one
    /// submission.
    fn run_kmeans_update(
        &self,
        shape: UpdateShape,
        points: &GpuBuffer<f32>,
        labels: &GpuBuffer<u32>,
        sums: &mut GpuBuffer<f32>,
        counts: &mut GpuBuffer<u32>,
    ) -> Result<()> {
        let UpdateShape { n, k, dim, .. } = shape;
        self.scoped("kmeans_update", || {
            if k == 0 {
                return Ok(());
            }
            let sums_buf = self.whole(sums, "the cluster sums")?;
            let counts_buf = self.whole(counts, "the cluster counts")?;
            let mut encoder = self.encoder("kmeans_update");
            encoder.clear_buffer(counts_buf, 0, None);
            if n == 0 {
                encoder.clear_buffer(sums_buf, 0, None);
                self.ctx.queue.submit([encoder.finish()]);
                return Ok(());
            }
            let label_buf = self.whole(labels, "the label array")?;
            let windows = self.windows(points, dim)?;
            let n32 = to_u32(n, "n")?;
            let k32 = to_u32(k, "k")?;

            // 1. counts[c] = |{i : labels[i] = c}| (exact, order-free).
            self.dispatch(
                &mut encoder,
                Kernel::LabelHistogram,
                None,
                Params {
                    n: n32,
                    k: k32,
                    ..Params::default()
                },
                &[bind(label_buf), bind(counts_buf)],
                n32.div_ceil(WORKGROUP),
            )?;
            // 2. offsets = exclusive scan of counts: where each cluster's members start.
            let offsets = self.raw_buffer(
                (k * 4) as u64,
                "cluster offsets",
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            );
            encoder.copy_buffer_to_buffer(counts_buf, 0, &offsets, 0, (k * 4) as u64);
            self.encode_scan(&mut encoder, &offsets, k32)?;
            // 3. members = point ids stably sorted by label (so ascending within a cluster).
            let storage = wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST;
            let keys = self.raw_buffer((n * 8) as u64, "label keys", storage);
            let members = self.raw_buffer((n * 4) as u64, "members", storage);
            self.dispatch(
                &mut encoder,
                Kernel::LabelPairs,
                None,
                Params {
                    n: n32,
                    ..Params::default()
                },
                &[bind(label_buf), bind(&keys), bind(&members)],
                n32.div_ceil(WORKGROUP),
            )?;
            let label_bits = 32 - (k32 - 1).leading_zeros();
            let digits: Vec<(u32, u32)> = (0..label_bits.div_ceil(8)).map(|d| (0, 8 * d)).collect();
            self.encode_radix_passes(&mut encoder, &keys, &members, n32, &digits)?;
            // 4. sums: per cluster, a sequential sum of its members in index order, window by
            //    window (members of a window form one contiguous run of each segment).
            for (i, window) in windows.iter().enumerate() {
                self.dispatch(
                    &mut encoder,
                    Kernel::SegmentSum,
                    None,
                    Params {
                        n: window.rows,
                        k: k32,
                        dim: to_u32(dim, "dim")?,
                        first_row: window.first_row,
                        first_window: u32::from(i == 0),
                        ..Params::default()
                    },
                    &[
                        bind_range(
                            &points.chunks[window.chunk],
                            window.byte_offset,
                            window.byte_size,
                        ),
                        bind(&members),
                        bind(&offsets),
                        bind(counts_buf),
                        bind(sums_buf),
                    ],
                    k32,
                )?;
            }
            debug_assert_eq!(SEGMENT_WORKGROUP, 64);
            self.ctx.queue.submit([encoder.finish()]);
            Ok(())
        })
    }
}

impl WgpuBackend {
    /// The device buffers of a centroid matrix as (buffer, global index of its first
    /// centroid, end of its centroids): one part, or one per chunk of a matrix too large for
    /// one buffer (each chunk must hold whole rows and fit one storage binding).
    fn centroid_parts<'b>(
        &self,
        centroids: &'b GpuBuffer<f32>,
        dim: usize,
    ) -> Result<Vec<(&'b wgpu::Buffer, u32, u32)>> {
        if centroids.chunks.len() == 1 {
            let whole = self.whole(centroids, "the centroid matrix")?;
            return Ok(vec![(whole, 0, to_u32(centroids.len() / dim, "k")?)]);
        }
        let chunk_bytes = (centroids.chunk_len * 4) as u64;
        if !centroids.chunk_len.is_multiple_of(dim) || chunk_bytes > self.max_binding() {
            return Err(backend_error(format!(
                "kmeans_assign: a centroid matrix of {dim} values per row spans {} buffers of \
                 {chunk_bytes} bytes; chunking supports dimensions that divide 2880 and buffers \
                 of at most {} bytes",
                centroids.chunks.len(),
                self.max_binding()
            )));
        }
        let rows_per_chunk = centroids.chunk_len / dim;
        let k = centroids.len() / dim;
        let mut parts = Vec::with_capacity(centroids.chunks.len());
        for (i, chunk) in centroids.chunks.iter().enumerate() {
            let first = i * rows_per_chunk;
            let end = (first + rows_per_chunk).min(k);
            parts.push((chunk, to_u32(first, "k")?, to_u32(end, "k")?));
        }
        Ok(parts)
    }
}
