//! Nearest-centroid assignment on the CPU, in GEMM form: for a point x the squared distance to
//! centroid c is ‖x‖² + ‖c‖² − 2·x·c, and ‖x‖² is the same for every c, so the argmin of
//! ‖c‖² − 2·x·c is the nearest centroid. Centroids are packed in tiles of [`LANES`], dimension-
//! major, so the inner loop is a register-blocked multiply-add over `LANES` centroids and
//! `ROWS` points at once; the centroid set is walked in chunks that stay in L2 cache.

use rayon::prelude::*;

/// Centroids per tile: one AVX-512 register, two AVX2 registers.
const LANES: usize = 16;
/// Centroids per cache chunk (about 100 KB at 24 dimensions).
const CHUNK_CENTROIDS: usize = 1024;
/// Points handled by one task.
const TASK_POINTS: usize = 512;

/// Centroids rearranged for the kernel: tile t holds `dim` rows of `LANES` values.
struct Packed {
    /// `tiles * dim * LANES` values.
    values: Vec<f32>,
    /// ‖c‖² per centroid, padded to whole tiles with +∞ so padding never wins.
    norms: Vec<f32>,
    tiles: usize,
}

fn pack(centroids: &[f32], dim: usize) -> Packed {
    let k = centroids.len() / dim;
    let tiles = k.div_ceil(LANES);
    let mut values = vec![0.0; tiles * dim * LANES];
    let mut norms = vec![f32::INFINITY; tiles * LANES];
    for c in 0..k {
        let row = &centroids[c * dim..(c + 1) * dim];
        let (t, j) = (c / LANES, c % LANES);
        for (d, v) in row.iter().enumerate() {
            values[(t * dim + d) * LANES + j] = *v;
        }
        norms[c] = row.iter().map(|v| v * v).sum();
    }
    Packed {
        values,
        norms,
        tiles,
    }
}

/// Writes into `labels` the index of the nearest centroid of each point (ties → lower index).
pub fn assign(points: &[f32], centroids: &[f32], dim: usize, labels: &mut [u32]) {
    if labels.is_empty() {
        return;
    }
    assert!(
        dim > 0 && !centroids.is_empty(),
        "k-means needs a dimension and at least one centroid"
    );
    let packed = pack(centroids, dim);
    let kernel = select_kernel();
    labels
        .par_chunks_mut(TASK_POINTS)
        .enumerate()
        .for_each(|(task, out)| {
            let first = task * TASK_POINTS;
            let pts = &points[first * dim..(first + out.len()) * dim];
            kernel(pts, &packed, dim, out);
        });
}

type Kernel = fn(&[f32], &Packed, usize, &mut [u32]);

fn select_kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return |p, c, d, o| {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                unsafe { x86::assign_avx512(p, c, d, o) }
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return |p, c, d, o| {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                unsafe { x86::assign_avx2(p, c, d, o) }
            };
        }
    }
    assign_task::<4, false>
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Packed, assign_task};

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn assign_avx512(
        points: &[f32],
        packed: &Packed,
        dim: usize,
        out: &mut [u32],
    ) {
        assign_task::<8, true>(points, packed, dim, out)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn assign_avx2(points: &[f32], packed: &Packed, dim: usize, out: &mut [u32]) {
        assign_task::<4, true>(points, packed, dim, out)
    }
}

/// One task: `out.len()` points (rows of `points`) against every centroid.
#[inline(always)]
fn assign_task<const ROWS: usize, const FMA: bool>(
    points: &[f32],
    packed: &Packed,
    dim: usize,
    out: &mut [u32],
) {
    let n = out.len();
    // −2·x, padded to whole blocks of ROWS points with zeros.
    let blocks = n.div_ceil(ROWS);
    let mut scaled = vec![0.0f32; blocks * ROWS * dim];
    for (s, p) in scaled.iter_mut().zip(points) {
        *s = -2.0 * p;
    }
    let mut best = vec![(f32::INFINITY, 0u32); blocks * ROWS];
    let tiles_per_chunk = CHUNK_CENTROIDS / LANES;
    let mut first_tile = 0;
    while first_tile < packed.tiles {
        let last_tile = (first_tile + tiles_per_chunk).min(packed.tiles);
        for b in 0..blocks {
            let rows = &scaled[b * ROWS * dim..(b + 1) * ROWS * dim];
            let block_best = &mut best[b * ROWS..(b + 1) * ROWS];
            block::<ROWS, FMA>(rows, packed, dim, first_tile..last_tile, block_best);
        }
        first_tile = last_tile;
    }
    for (o, (_, label)) in out.iter_mut().zip(best) {
        *o = label;
    }
}

/// ROWS points against the tiles in `tiles`; merges into `best` (earlier chunks win ties).
#[inline(always)]
fn block<const ROWS: usize, const FMA: bool>(
    rows: &[f32],
    packed: &Packed,
    dim: usize,
    tiles: std::ops::Range<usize>,
    best: &mut [(f32, u32)],
) {
    let mut lane_best = [[f32::INFINITY; LANES]; ROWS];
    let mut lane_label = [[0u32; LANES]; ROWS];
    for t in tiles {
        let norms: &[f32; LANES] = packed.norms[t * LANES..(t + 1) * LANES].try_into().unwrap();
        let mut acc = [*norms; ROWS];
        let tile = &packed.values[t * dim * LANES..(t + 1) * dim * LANES];
        for d in 0..dim {
            let c: &[f32; LANES] = tile[d * LANES..(d + 1) * LANES].try_into().unwrap();
            for r in 0..ROWS {
                let x = rows[r * dim + d];
                for j in 0..LANES {
                    acc[r][j] = if FMA {
                        x.mul_add(c[j], acc[r][j])
                    } else {
                        acc[r][j] + x * c[j]
                    };
                }
            }
        }
        let base = (t * LANES) as u32;
        for r in 0..ROWS {
            for j in 0..LANES {
                let better = acc[r][j] < lane_best[r][j];
                lane_best[r][j] = if better { acc[r][j] } else { lane_best[r][j] };
                lane_label[r][j] = if better {
                    base + j as u32
                } else {
                    lane_label[r][j]
                };
            }
        }
    }
    for r in 0..ROWS {
        let (mut v, mut l) = best[r];
        for j in 0..LANES {
            let (cv, cl) = (lane_best[r][j], lane_label[r][j]);
            if cv < v || (cv == v && cl < l) {
                v = cv;
                l = cl;
            }
        }
        best[r] = (v, l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force in the direct form Σ (x − c)², the definition the kernel must agree with.
    fn brute(points: &[f32], centroids: &[f32], dim: usize) -> Vec<(u32, Vec<f64>)> {
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

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let h = crate::encode::rng::hash(seed, 0, i as u64);
                (h >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
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
            for (i, (want, d)) in brute(&points, &centroids, dim).into_iter().enumerate() {
                let got = labels[i];
                assert!((got as usize) < k);
                if got != want {
                    let (a, b) = (d[got as usize], d[want as usize]);
                    assert!(
                        (a - b).abs() <= 1e-5 * b.max(1e-12),
                        "point {i}: {got} ({a}) vs {want} ({b})"
                    );
                }
            }
        }
    }

    #[test]
    fn ties_go_to_the_lower_index() {
        let dim = 3;
        let centroids = [[1.0f32, 2.0, 3.0]; 40].concat();
        let points = vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0];
        let mut labels = vec![9; 2];
        assign(&points, &centroids, dim, &mut labels);
        assert_eq!(labels, [0, 0]);
    }
}
