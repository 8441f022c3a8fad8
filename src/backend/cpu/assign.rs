//! Distance kernels on the CPU, in GEMM form: for a point x the squared distance to centroid
//! c is ‖x‖² + ‖c‖² − 2·x·c, and ‖x‖² is the same for every c, so the argmin of
//! ‖c‖² − 2·x·c is the nearest centroid. Centroids are packed in tiles of [`LANES`],
//! dimension-major, so the inner loop is a register-blocked multiply-add over `LANES`
//! centroids and `ROWS` points at once; AVX-512 or AVX2+FMA versions are chosen at run time.

use std::ops::Range;

use rayon::prelude::*;

/// Centroids per tile: one AVX-512 register, two AVX2 registers.
pub const LANES: usize = 16;
/// Tiles per cache chunk of the brute-force scan (1024 centroids, ~100 KB at 24 dimensions).
const CHUNK_TILES: usize = 64;
/// Points handled by one task.
pub const TASK_POINTS: usize = 512;
/// Slot id of a padding lane.
pub const PADDING: u32 = u32::MAX;

/// Centroids rearranged for the kernels: tile t holds `dim` rows of `LANES` values.
pub struct Packed {
    /// `tiles * dim * LANES` values.
    values: Vec<f32>,
    /// ‖c‖² per slot; +∞ for padding so it never wins.
    norms: Vec<f32>,
    /// Centroid index per slot, [`PADDING`] for padding.
    pub ids: Vec<u32>,
    pub dim: usize,
}

/// Packs `centroids` group by group (each group padded to whole tiles); returns the packing
/// and each group's tile range.
pub fn pack(centroids: &[f32], dim: usize, groups: &[Vec<u32>]) -> (Packed, Vec<Range<usize>>) {
    let tiles: usize = groups.iter().map(|g| g.len().div_ceil(LANES)).sum();
    let mut p = Packed {
        values: vec![0.0; tiles * dim * LANES],
        norms: vec![f32::INFINITY; tiles * LANES],
        ids: vec![PADDING; tiles * LANES],
        dim,
    };
    let mut ranges = Vec::with_capacity(groups.len());
    let mut tile = 0;
    for group in groups {
        let first = tile;
        for (n, &c) in group.iter().enumerate() {
            let (t, j) = (first + n / LANES, n % LANES);
            let row = &centroids[c as usize * dim..(c as usize + 1) * dim];
            for (d, v) in row.iter().enumerate() {
                p.values[(t * dim + d) * LANES + j] = *v;
            }
            p.norms[t * LANES + j] = row.iter().map(|v| v * v).sum();
            p.ids[t * LANES + j] = c;
        }
        tile += group.len().div_ceil(LANES);
        ranges.push(first..tile);
    }
    (p, ranges)
}

/// Receives, for point `row` of a task and chunk `chunk`, the smallest GEMM-form value
/// ‖c‖² − 2·x·c in the chunk and its slot (ties → lower slot).
pub type Sink<'a> = &'a mut dyn FnMut(usize, usize, f32, u32);

/// The kernels compiled for the best instruction set of this CPU.
#[derive(Clone, Copy)]
pub struct Kernels {
    /// Scans `points` (rows) against each tile range in `chunks`, calling the sink.
    pub scan: fn(&[f32], &Packed, &[Range<usize>], Sink<'_>),
    /// Squared distances (direct form Σ (x − c)²) from one point to every slot of `tiles`.
    pub distances: fn(&[f32], &Packed, Range<usize>, &mut [f32]),
}

impl Kernels {
    /// The instruction set [`Kernels::detect`] picks on this machine.
    pub fn level() -> &'static str {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return "avx512";
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return "avx2+fma";
            }
        }
        "portable"
    }

    /// Picks AVX-512, AVX2+FMA or portable code.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Kernels {
                    // SAFETY (both): AVX-512F was detected just above.
                    scan: |p, k, c, s| unsafe { x86::scan_avx512(p, k, c, s) },
                    distances: |x, k, t, o| unsafe { x86::distances_avx512(x, k, t, o) },
                };
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Kernels {
                    // SAFETY (both): AVX2 and FMA were detected just above.
                    scan: |p, k, c, s| unsafe { x86::scan_avx2(p, k, c, s) },
                    distances: |x, k, t, o| unsafe { x86::distances_avx2(x, k, t, o) },
                };
            }
        }
        Kernels {
            scan: scan::<4, false>,
            distances: distances::<false, 4>,
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{LANES, PADDING, Packed, Range, Sink, distances, scan_with};

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn scan_avx512(p: &[f32], k: &Packed, c: &[Range<usize>], s: Sink<'_>) {
        scan_with::<8>(p, k, c, s, |rows, packed, tiles| {
            // SAFETY: this closure only runs inside scan_avx512, on a CPU with AVX-512F.
            unsafe { block_min_avx512(rows, packed, tiles) }
        })
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn scan_avx2(p: &[f32], k: &Packed, c: &[Range<usize>], s: Sink<'_>) {
        scan_with::<4>(p, k, c, s, super::block_min::<4, true>)
    }

    /// [`super::distances`] with AVX-512 intrinsics: 8, 4, 2 or 1 tiles at a time, their
    /// accumulators in registers (the portable form spills them at every dimension). Same
    /// arithmetic per lane: `x[d] − c`, then one fused multiply-add, dimensions in order.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn distances_avx512(x: &[f32], k: &Packed, t: Range<usize>, o: &mut [f32]) {
        let dim = k.dim;
        assert!(
            x.len() >= dim
                && o.len() >= t.len() * LANES
                && k.values.len() >= t.end * dim * LANES
                && k.norms.len() >= t.end * LANES
        );
        let mut tile = t.start;
        while tile < t.end {
            let left = t.end - tile;
            let out = o[(tile - t.start) * LANES..].as_mut_ptr();
            // SAFETY: the assert above covers every tile below `t.end`; each call reads
            // `n` tiles from `tile` and writes `n · LANES` values at `out`.
            tile += unsafe {
                match left {
                    8.. => tiles_avx512::<8>(x, k, tile, out),
                    4..=7 => tiles_avx512::<4>(x, k, tile, out),
                    2..=3 => tiles_avx512::<2>(x, k, tile, out),
                    _ => tiles_avx512::<1>(x, k, tile, out),
                }
            };
        }
    }

    /// Distances from `x` to the `N` tiles from `first`, written at `out`; returns `N`.
    ///
    /// # Safety
    /// AVX-512F; tiles `first..first + N` exist in `k`; `out` has room for `N · LANES` values.
    #[inline(always)]
    unsafe fn tiles_avx512<const N: usize>(
        x: &[f32],
        k: &Packed,
        first: usize,
        out: *mut f32,
    ) -> usize {
        let dim = k.dim;
        // SAFETY: the caller's contract (see above).
        unsafe {
            let values = k.values.as_ptr().add(first * dim * LANES);
            let mut acc = [_mm512_setzero_ps(); N];
            for (d, &xd) in x[..dim].iter().enumerate() {
                let xd = _mm512_set1_ps(xd);
                for (b, acc) in acc.iter_mut().enumerate() {
                    let c = _mm512_loadu_ps(values.add((b * dim + d) * LANES));
                    let diff = _mm512_sub_ps(xd, c);
                    *acc = _mm512_fmadd_ps(diff, diff, *acc);
                }
            }
            let infinity = _mm512_set1_ps(f32::INFINITY);
            for (b, acc) in acc.iter().enumerate() {
                let norms = _mm512_loadu_ps(k.norms.as_ptr().add((first + b) * LANES));
                let real = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(norms, infinity);
                _mm512_storeu_ps(
                    out.add(b * LANES),
                    _mm512_mask_blend_ps(real, infinity, *acc),
                );
            }
        }
        N
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn distances_avx2(x: &[f32], k: &Packed, t: Range<usize>, o: &mut [f32]) {
        distances::<true, 4>(x, k, t, o)
    }

    /// [`super::block_min`] for 8 rows with AVX-512 intrinsics: the 8 accumulators and the
    /// running best values and slots of every lane stay in registers (the portable version
    /// spills them to the stack inside the dimension loop).
    #[target_feature(enable = "avx512f")]
    unsafe fn block_min_avx512(
        rows: &[f32],
        packed: &Packed,
        tiles: Range<usize>,
    ) -> [(f32, u32); 8] {
        let dim = packed.dim;
        assert!(rows.len() >= 8 * dim && packed.values.len() >= tiles.end * dim * LANES);
        let x = rows.as_ptr();
        let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let mut best = [_mm512_set1_ps(f32::INFINITY); 8];
        let mut slot = [_mm512_set1_epi32(PADDING as i32); 8];
        for t in tiles {
            // SAFETY (all pointer reads): t < tiles.end, so the tile's dim·LANES values and
            // its LANES norms are inside the vectors checked above; d < dim and r < 8 keep
            // the row reads inside rows[..8·dim].
            let norms = unsafe { _mm512_loadu_ps(packed.norms.as_ptr().add(t * LANES)) };
            let tile = unsafe { packed.values.as_ptr().add(t * dim * LANES) };
            let (mut a0, mut a1, mut a2, mut a3) = (norms, norms, norms, norms);
            let (mut a4, mut a5, mut a6, mut a7) = (norms, norms, norms, norms);
            for d in 0..dim {
                let c = unsafe { _mm512_loadu_ps(tile.add(d * LANES)) };
                let row = |r: usize| unsafe { _mm512_set1_ps(*x.add(r * dim + d)) };
                a0 = _mm512_fmadd_ps(row(0), c, a0);
                a1 = _mm512_fmadd_ps(row(1), c, a1);
                a2 = _mm512_fmadd_ps(row(2), c, a2);
                a3 = _mm512_fmadd_ps(row(3), c, a3);
                a4 = _mm512_fmadd_ps(row(4), c, a4);
                a5 = _mm512_fmadd_ps(row(5), c, a5);
                a6 = _mm512_fmadd_ps(row(6), c, a6);
                a7 = _mm512_fmadd_ps(row(7), c, a7);
            }
            let ids = _mm512_add_epi32(_mm512_set1_epi32((t * LANES) as i32), lanes);
            for (r, acc) in [a0, a1, a2, a3, a4, a5, a6, a7].into_iter().enumerate() {
                let better = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(acc, best[r]);
                best[r] = _mm512_mask_mov_ps(best[r], better, acc);
                slot[r] = _mm512_mask_mov_epi32(slot[r], better, ids);
            }
        }
        let mut out = [(f32::INFINITY, PADDING); 8];
        for r in 0..8 {
            let (mut values, mut slots) = ([0f32; LANES], [0u32; LANES]);
            // SAFETY: both arrays hold exactly one 512-bit register.
            unsafe {
                _mm512_storeu_ps(values.as_mut_ptr(), best[r]);
                _mm512_storeu_si512(slots.as_mut_ptr().cast(), slot[r]);
            }
            for j in 0..LANES {
                if values[j] < out[r].0 || (values[j] == out[r].0 && slots[j] < out[r].1) {
                    out[r] = (values[j], slots[j]);
                }
            }
        }
        out
    }
}

#[inline(always)]
fn fmadd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { c + a * b }
}

#[inline(always)]
fn scan<const ROWS: usize, const FMA: bool>(
    points: &[f32],
    packed: &Packed,
    chunks: &[Range<usize>],
    sink: Sink<'_>,
) {
    scan_with::<ROWS>(points, packed, chunks, sink, block_min::<ROWS, FMA>)
}

/// Blocks of ROWS points (scaled by −2, zero-padded) against each chunk of tiles, through `block`.
#[inline(always)]
fn scan_with<const ROWS: usize>(
    points: &[f32],
    packed: &Packed,
    chunks: &[Range<usize>],
    sink: Sink<'_>,
    block: impl Fn(&[f32], &Packed, Range<usize>) -> [(f32, u32); ROWS],
) {
    let dim = packed.dim;
    let n = points.len() / dim;
    let blocks = n.div_ceil(ROWS);
    // −2·x, padded to whole blocks of ROWS points with zeros.
    let mut scaled = vec![0.0f32; blocks * ROWS * dim];
    for (s, p) in scaled.iter_mut().zip(points) {
        *s = -2.0 * p;
    }
    for (chunk, tiles) in chunks.iter().enumerate() {
        for b in 0..blocks {
            let rows = &scaled[b * ROWS * dim..(b + 1) * ROWS * dim];
            let mins = block(rows, packed, tiles.clone());
            for (r, (v, slot)) in mins.into_iter().enumerate() {
                if b * ROWS + r < n {
                    sink(b * ROWS + r, chunk, v, slot);
                }
            }
        }
    }
}

/// ROWS points against the tiles in `tiles`: per row the smallest ‖c‖² − 2·x·c and its slot.
#[inline(always)]
fn block_min<const ROWS: usize, const FMA: bool>(
    rows: &[f32],
    packed: &Packed,
    tiles: Range<usize>,
) -> [(f32, u32); ROWS] {
    let dim = packed.dim;
    let mut lane_best = [[f32::INFINITY; LANES]; ROWS];
    let mut lane_slot = [[PADDING; LANES]; ROWS];
    for t in tiles {
        let norms: &[f32; LANES] = packed.norms[t * LANES..(t + 1) * LANES].try_into().unwrap();
        let mut acc = [*norms; ROWS];
        let tile = &packed.values[t * dim * LANES..(t + 1) * dim * LANES];
        for d in 0..dim {
            let c: &[f32; LANES] = tile[d * LANES..(d + 1) * LANES].try_into().unwrap();
            for r in 0..ROWS {
                let x = rows[r * dim + d];
                for j in 0..LANES {
                    acc[r][j] = fmadd::<FMA>(x, c[j], acc[r][j]);
                }
            }
        }
        let base = (t * LANES) as u32;
        for r in 0..ROWS {
            for j in 0..LANES {
                let better = acc[r][j] < lane_best[r][j];
                lane_best[r][j] = if better { acc[r][j] } else { lane_best[r][j] };
                lane_slot[r][j] = if better {
                    base + j as u32
                } else {
                    lane_slot[r][j]
                };
            }
        }
    }
    let mut out = [(f32::INFINITY, PADDING); ROWS];
    for r in 0..ROWS {
        for j in 0..LANES {
            let (v, s) = (lane_best[r][j], lane_slot[r][j]);
            if v < out[r].0 || (v == out[r].0 && s < out[r].1) {
                out[r] = (v, s);
            }
        }
    }
    out
}

/// Squared distances from `x` to every slot of `tiles`, `CHAINS` tiles at a time: each
/// tile's sum over the dimensions is one dependent chain of multiply-adds, so one tile at a
/// time waits on the FMA latency at every step while several chains keep the FMA ports busy.
/// Each lane's sum runs over the dimensions in order whatever `CHAINS` is.
#[inline(always)]
fn distances<const FMA: bool, const CHAINS: usize>(
    x: &[f32],
    packed: &Packed,
    tiles: Range<usize>,
    out: &mut [f32],
) {
    let dim = packed.dim;
    let mut tile = tiles.start;
    let mut outs = out.chunks_exact_mut(CHAINS * LANES);
    while tile + CHAINS <= tiles.end {
        let o = outs.next().expect("an output slot for every tile");
        let values = &packed.values[tile * dim * LANES..(tile + CHAINS) * dim * LANES];
        let mut acc = [[0.0f32; LANES]; CHAINS];
        for (d, &xd) in x[..dim].iter().enumerate() {
            for (b, acc) in acc.iter_mut().enumerate() {
                let c: &[f32; LANES] = values[(b * dim + d) * LANES..][..LANES].try_into().unwrap();
                for j in 0..LANES {
                    let diff = xd - c[j];
                    acc[j] = fmadd::<FMA>(diff, diff, acc[j]);
                }
            }
        }
        for (b, acc) in acc.iter().enumerate() {
            finish_tile(packed, tile + b, acc, &mut o[b * LANES..(b + 1) * LANES]);
        }
        tile += CHAINS;
    }
    let rest = &mut out[(tile - tiles.start) * LANES..];
    for (o, t) in rest.chunks_exact_mut(LANES).zip(tile..tiles.end) {
        let mut acc = [0.0f32; LANES];
        let values = &packed.values[t * dim * LANES..(t + 1) * dim * LANES];
        for d in 0..dim {
            let c: &[f32; LANES] = values[d * LANES..(d + 1) * LANES].try_into().unwrap();
            for j in 0..LANES {
                let diff = x[d] - c[j];
                acc[j] = fmadd::<FMA>(diff, diff, acc[j]);
            }
        }
        finish_tile(packed, t, &acc, o);
    }
}

/// Writes one tile's sums, +∞ in padding slots.
#[inline(always)]
fn finish_tile(packed: &Packed, tile: usize, acc: &[f32; LANES], out: &mut [f32]) {
    for j in 0..LANES {
        out[j] = if packed.norms[tile * LANES + j].is_finite() {
            acc[j]
        } else {
            f32::INFINITY
        };
    }
}

/// The smallest value of `values` (a whole number of [`LANES`]; no NaN), +∞ when empty.
/// Lane-wise minima first, so the loop compiles to vector compares.
#[inline]
pub fn smallest(values: &[f32]) -> f32 {
    let mut lanes = [f32::INFINITY; LANES];
    for chunk in values.chunks_exact(LANES) {
        for j in 0..LANES {
            lanes[j] = if chunk[j] < lanes[j] {
                chunk[j]
            } else {
                lanes[j]
            };
        }
    }
    lanes
        .into_iter()
        .fold(f32::INFINITY, |m, v| if v < m { v } else { m })
}

/// Brute force: the nearest centroid of every point (ties → lower index).
pub fn assign(points: &[f32], centroids: &[f32], dim: usize, labels: &mut [u32]) {
    if labels.is_empty() {
        return;
    }
    assert!(
        dim > 0 && !centroids.is_empty(),
        "k-means needs a dimension and at least one centroid"
    );
    let k = centroids.len() / dim;
    let (packed, ranges) = pack(centroids, dim, &[(0..k as u32).collect()]);
    let tiles = ranges[0].clone();
    let chunks: Vec<Range<usize>> = (tiles.start..tiles.end)
        .step_by(CHUNK_TILES)
        .map(|s| s..(s + CHUNK_TILES).min(tiles.end))
        .collect();
    let kernels = Kernels::detect();
    labels
        .par_chunks_mut(TASK_POINTS)
        .enumerate()
        .for_each(|(task, out)| {
            let first = task * TASK_POINTS;
            let mut best = vec![(f32::INFINITY, PADDING); out.len()];
            // Chunks arrive in increasing slot order, so keeping the first minimum keeps the lower index.
            (kernels.scan)(
                &points[first * dim..(first + out.len()) * dim],
                &packed,
                &chunks,
                &mut |row, _, v, slot| {
                    if v < best[row].0 {
                        best[row] = (v, slot);
                    }
                },
            );
            for (o, (_, slot)) in out.iter_mut().zip(best) {
                *o = packed.ids[slot as usize];
            }
        });
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Brute force in the direct form Σ (x − c)², the definition the kernel must agree with.
    pub fn brute(points: &[f32], centroids: &[f32], dim: usize) -> Vec<(u32, Vec<f64>)> {
        points
            .chunks(dim)
            .map(|x| {
                let d: Vec<f64> = centroids
                    .chunks(dim)
                    .map(|c| x.iter().zip(c).map(|(a, b)| ((a - b) as f64).powi(2)).sum())
                    .collect();
                let best = (0..d.len()).fold(0, |b, i| if d[i] < d[b] { i } else { b });
                (best as u32, d)
            })
            .collect()
    }

    pub fn noise(n: usize, seed: u64) -> Vec<f32> {
        (0..n)
            .map(|i| crate::encode::rng::unit(seed, 0, i as u64) - 0.5)
            .collect()
    }

    /// Panics unless `labels` are nearest centroids up to near-ties (1e-5 relative).
    pub fn check_nearest(points: &[f32], centroids: &[f32], dim: usize, labels: &[u32]) {
        for (i, (want, d)) in brute(points, centroids, dim).into_iter().enumerate() {
            let got = labels[i];
            if got != want {
                let (a, b) = (d[got as usize], d[want as usize]);
                assert!(
                    (a - b).abs() <= 1e-5 * b.max(1e-12),
                    "point {i}: {got} ({a}) vs {want} ({b})"
                );
            }
        }
    }

    #[test]
    fn agrees_with_brute_force_except_near_ties() {
        for (n, k, dim) in [
            (1, 1, 9),
            (37, 17, 9),
            (600, 300, 24),
            (1100, 1030, 45),
            (5, 2000, 3),
        ] {
            let points = noise(n * dim, 1);
            let centroids = noise(k * dim, 2);
            let mut labels = vec![u32::MAX; n];
            assign(&points, &centroids, dim, &mut labels);
            check_nearest(&points, &centroids, dim, &labels);
        }
    }

    #[test]
    fn ties_go_to_the_lower_index() {
        let centroids = [[1.0f32, 2.0, 3.0]; 40].concat();
        let points = vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0];
        let mut labels = vec![9; 2];
        assign(&points, &centroids, 3, &mut labels);
        assert_eq!(labels, [0, 0]);
    }

    #[test]
    fn distances_match_direct_form() {
        // Groups of 1 to 21 tiles: whole blocks of CHAINS tiles, a remainder, or both.
        let dim = 5;
        let sizes = [
            20usize,
            1,
            16 * 8,
            16 * 8 + 3,
            16 * 21 - 5,
            33,
            16 * 7,
            16 * 2,
        ];
        let k: usize = sizes.iter().sum();
        let centroids = noise(k * dim, 3);
        let mut next = 0u32;
        let groups: Vec<Vec<u32>> = sizes
            .iter()
            .map(|&size| {
                let group = (next..next + size as u32).collect();
                next += size as u32;
                group
            })
            .collect();
        let (packed, ranges) = pack(&centroids, dim, &groups);
        let x = noise(dim, 4);
        for range in ranges {
            let mut out = vec![0.0; range.len() * LANES];
            (Kernels::detect().distances)(&x, &packed, range.clone(), &mut out);
            // Every instruction set this machine has gives the same bits as the FMA form
            // one tile at a time (the portable form has no FMA: within rounding).
            let mut fused = vec![0.0; out.len()];
            distances::<true, 1>(&x, &packed, range.clone(), &mut fused);
            #[cfg(target_arch = "x86_64")]
            for (level, run) in [
                (
                    "avx512f",
                    x86::distances_avx512 as unsafe fn(&[f32], &Packed, Range<usize>, &mut [f32]),
                ),
                ("avx2", x86::distances_avx2),
            ] {
                if std::arch::is_x86_feature_detected!("fma")
                    && (level == "avx2" || std::arch::is_x86_feature_detected!("avx512f"))
                    && std::arch::is_x86_feature_detected!("avx2")
                {
                    let mut got = vec![0.0; out.len()];
                    // SAFETY: the features were detected just above.
                    unsafe { run(&x, &packed, range.clone(), &mut got) };
                    assert_eq!(got, fused, "{level}, tiles {range:?}");
                }
            }
            let ids = &packed.ids[range.start * LANES..range.end * LANES];
            for (&id, &got) in ids.iter().zip(&out) {
                if id == PADDING {
                    assert_eq!(got, f32::INFINITY);
                    continue;
                }
                let c = &centroids[id as usize * dim..(id as usize + 1) * dim];
                let want: f32 = x.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
                assert!((got - want).abs() < 1e-6, "centroid {id}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn smallest_is_the_minimum() {
        let mut values = noise(7 * LANES, 5);
        let want = values.iter().fold(f32::INFINITY, |m, &v| m.min(v));
        assert_eq!(smallest(&values), want);
        values[3 * LANES + 9] = -2.0;
        assert_eq!(smallest(&values), -2.0);
        assert_eq!(smallest(&[]), f32::INFINITY);
    }
}
