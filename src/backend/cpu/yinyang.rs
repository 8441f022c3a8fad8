//! Exact k-means assignment that skips most distance computations after the first call,
//! after Yinyang k-means (Ding et al., ICML 2015). Centroids are split into groups once;
//! every point keeps an upper bound on the distance to its centroid and, per group, a
//! lower bound on the distance to the group's other centroids. When centroids move by
//! δ, bounds move by δ (triangle inequality), and only groups whose lower bound falls
//! below the upper bound are scanned. Labels equal brute force except at float near-ties.

use std::ops::Range;

use rayon::prelude::*;

use super::assign::{self, Kernels, LANES, PADDING, Packed, TASK_POINTS};

/// Most per-point lower bounds kept in memory (1 GiB of f32).
const MAX_BOUNDS: usize = 1 << 28;
/// When a refinement scanned more than this share of all groups, the bounds are not paying
/// for themselves (e.g. many coincident centroids): the next call starts over with a full
/// blocked scan, which is several times faster per distance than the per-point rescans.
const RESCAN_SHARE: f64 = 0.2;

/// Bounds carried from one assignment to the next over the same points.
#[derive(Default)]
pub struct State {
    /// Centroid ids per group, ascending.
    groups: Vec<Vec<u32>>,
    group_of: Vec<u32>,
    /// Centroids of the previous call.
    previous: Vec<f32>,
    labels: Vec<u32>,
    upper: Vec<f32>,
    /// `points × groups` lower bounds.
    lower: Vec<f32>,
    dim: usize,
    /// Share of (point, group) pairs the last refinement had to scan.
    scanned_share: f64,
}

impl State {
    fn fits(&self, n: usize, k: usize, dim: usize) -> bool {
        self.dim == dim && self.labels.len() == n && self.group_of.len() == k
    }
}

/// Nearest centroid for every point, reusing and updating `state` (fresh state = full scan).
pub fn assign(
    points: &[f32],
    centroids: &[f32],
    dim: usize,
    labels: &mut [u32],
    state: &mut State,
) {
    let (n, k) = (labels.len(), centroids.len() / dim);
    if n == 0 {
        return;
    }
    let kernels = Kernels::detect();
    if !state.fits(n, k, dim) || state.scanned_share > RESCAN_SHARE {
        start(points, centroids, dim, state, kernels);
        state.scanned_share = 0.0;
    } else {
        state.scanned_share = refine(points, centroids, state, kernels);
    }
    state.previous.clear();
    state.previous.extend_from_slice(centroids);
    labels.copy_from_slice(&state.labels);
}

/// Splits centroids into groups by a few Lloyd steps over the centroids themselves.
fn make_groups(centroids: &[f32], dim: usize, n: usize) -> Vec<Vec<u32>> {
    let k = centroids.len() / dim;
    let count = (k / 64).clamp(1, 256).min((MAX_BOUNDS / n).max(1));
    let mut seeds: Vec<f32> = (0..count)
        .flat_map(|g| centroids[g * k / count * dim..][..dim].to_vec())
        .collect();
    let mut member = vec![0u32; k];
    for _ in 0..5 {
        assign::assign(centroids, &seeds, dim, &mut member);
        let (mut sums, mut counts) = (vec![0.0; count * dim], vec![0u32; count]);
        super::kmeans_update(centroids, &member, dim, count, &mut sums, &mut counts);
        for g in 0..count {
            if counts[g] > 0 {
                for d in 0..dim {
                    seeds[g * dim + d] = sums[g * dim + d] / counts[g] as f32;
                }
            }
        }
    }
    assign::assign(centroids, &seeds, dim, &mut member);
    let mut groups = vec![Vec::new(); count];
    for (c, &g) in member.iter().enumerate() {
        groups[g as usize].push(c as u32);
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// Squared Euclidean from the GEMM-form value v = ‖c‖² − 2·x·c, lowered by a margin that
/// covers its rounding so the result is a safe lower bound.
fn lower_from_gemm(v: f32, xx: f32) -> f32 {
    let margin = 1e-6 * (xx + v.abs());
    (v + xx - margin).max(0.0).sqrt()
}

fn start(points: &[f32], centroids: &[f32], dim: usize, state: &mut State, kernels: Kernels) {
    let n = points.len() / dim;
    state.groups = make_groups(centroids, dim, n);
    state.group_of = vec![0; centroids.len() / dim];
    for (g, members) in state.groups.iter().enumerate() {
        for &c in members {
            state.group_of[c as usize] = g as u32;
        }
    }
    state.dim = dim;
    let g_count = state.groups.len();
    let (packed, ranges) = assign::pack(centroids, dim, &state.groups);
    state.labels = vec![0; n];
    state.upper = vec![0.0; n];
    state.lower = vec![0.0; n * g_count];
    let group_of = &state.group_of;
    state
        .labels
        .par_chunks_mut(TASK_POINTS)
        .zip(state.upper.par_chunks_mut(TASK_POINTS))
        .zip(state.lower.par_chunks_mut(TASK_POINTS * g_count))
        .enumerate()
        .for_each(|(task, ((labels, upper), lower))| {
            let first = task * TASK_POINTS;
            let pts = &points[first * dim..(first + labels.len()) * dim];
            let xx: Vec<f32> = pts
                .chunks(dim)
                .map(|x| x.iter().map(|v| v * v).sum())
                .collect();
            let mut best = vec![(f32::INFINITY, PADDING); labels.len()];
            (kernels.scan)(pts, &packed, &ranges, &mut |row, g, v, slot| {
                lower[row * g_count + g] = lower_from_gemm(v, xx[row]);
                let id = packed.ids[slot as usize];
                if v < best[row].0 || (v == best[row].0 && id < best[row].1) {
                    best[row] = (v, id);
                }
            });
            let mut scratch = Vec::new();
            for (row, &(_, id)) in best.iter().enumerate() {
                let x = &pts[row * dim..(row + 1) * dim];
                let g = group_of[id as usize] as usize;
                let (own, without) =
                    scan_group(x, &packed, ranges[g].clone(), id, kernels, &mut scratch);
                labels[row] = id;
                upper[row] = own;
                lower[row * g_count + g] = without;
            }
        });
}

/// Distances from `x` to the group in `tiles`: (distance to `id`, smallest distance to any other).
fn scan_group(
    x: &[f32],
    packed: &Packed,
    tiles: Range<usize>,
    id: u32,
    kernels: Kernels,
    scratch: &mut Vec<f32>,
) -> (f32, f32) {
    scratch.resize(tiles.len() * LANES, 0.0);
    let first_slot = tiles.start * LANES;
    (kernels.distances)(x, packed, tiles, scratch);
    let (mut own, mut other) = (f32::INFINITY, f32::INFINITY);
    for (s, &d) in scratch.iter().enumerate() {
        if packed.ids[first_slot + s] == id {
            own = d;
        } else {
            other = other.min(d);
        }
    }
    (own.sqrt(), other.sqrt())
}

/// Updates labels and bounds for moved centroids; returns the share of groups scanned.
fn refine(points: &[f32], centroids: &[f32], state: &mut State, kernels: Kernels) -> f64 {
    let dim = state.dim;
    let g_count = state.groups.len();
    let drift: Vec<f32> = centroids
        .chunks(dim)
        .zip(state.previous.chunks(dim))
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(p, q)| ((p - q) as f64).powi(2))
                .sum::<f64>()
                .sqrt() as f32
        })
        .collect();
    let mut group_drift = vec![0.0f32; g_count];
    for (c, &g) in state.group_of.iter().enumerate() {
        group_drift[g as usize] = group_drift[g as usize].max(drift[c]);
    }
    let (packed, ranges) = assign::pack(centroids, dim, &state.groups);
    let group_of = &state.group_of;
    let n = state.labels.len();
    let scanned: usize = state
        .labels
        .par_chunks_mut(TASK_POINTS)
        .zip(state.upper.par_chunks_mut(TASK_POINTS))
        .zip(state.lower.par_chunks_mut(TASK_POINTS * g_count))
        .enumerate()
        .map(|(task, ((labels, upper), lower))| {
            let first = task * TASK_POINTS;
            let mut scratch = Vec::new();
            let mut scanned = 0usize;
            for row in 0..labels.len() {
                let x = &points[(first + row) * dim..(first + row + 1) * dim];
                let lb = &mut lower[row * g_count..(row + 1) * g_count];
                let mut a = labels[row];
                let mut u = upper[row] + drift[a as usize];
                let mut m = f32::INFINITY;
                for (l, d) in lb.iter_mut().zip(&group_drift) {
                    *l -= d;
                    m = m.min(*l);
                }
                if u > m {
                    let c = &centroids[a as usize * dim..(a as usize + 1) * dim];
                    u = x
                        .iter()
                        .zip(c)
                        .map(|(p, q)| (p - q) * (p - q))
                        .sum::<f32>()
                        .sqrt();
                }
                if u > m {
                    for g in 0..g_count {
                        if lb[g] >= u {
                            continue;
                        }
                        scanned += 1;
                        let tiles = ranges[g].clone();
                        let first_slot = tiles.start * LANES;
                        scratch.resize(tiles.len() * LANES, 0.0);
                        (kernels.distances)(x, &packed, tiles, &mut scratch);
                        let (mut best_d, mut best_id) = (f32::INFINITY, PADDING);
                        for (s, &d) in scratch.iter().enumerate() {
                            let id = packed.ids[first_slot + s];
                            if d < best_d || (d == best_d && id < best_id) {
                                (best_d, best_id) = (d, id);
                            }
                        }
                        let best = best_d.sqrt();
                        if best < u || (best == u && best_id < a) {
                            let old_group = group_of[a as usize] as usize;
                            if old_group != g {
                                lb[old_group] = lb[old_group].min(u);
                            }
                            (a, u) = (best_id, best);
                        }
                        let others = scratch
                            .iter()
                            .enumerate()
                            .filter(|(s, _)| packed.ids[first_slot + s] != a)
                            .fold(f32::INFINITY, |m, (_, &d)| m.min(d));
                        lb[g] = others.sqrt();
                    }
                }
                labels[row] = a;
                upper[row] = u;
            }
            scanned
        })
        .sum();
    scanned as f64 / (n * g_count) as f64
}

#[cfg(test)]
mod tests {
    use super::super::assign::tests::{check_nearest, noise};
    use super::*;

    #[test]
    fn refinement_tracks_moving_centroids_exactly() {
        for (n, k, dim) in [(3000, 700, 9), (2000, 300, 24), (50, 50, 3), (10, 1, 4)] {
            let points = noise(n * dim, 11);
            let mut centroids = noise(k * dim, 12);
            let mut state = State::default();
            let mut labels = vec![0; n];
            for step in 0..6u64 {
                assign(&points, &centroids, dim, &mut labels, &mut state);
                check_nearest(&points, &centroids, dim, &labels);
                // Move centroids: most a little, a few a lot (like re-seeded empty clusters).
                let jitter = noise(k * dim, 100 + step);
                for (i, c) in centroids.iter_mut().enumerate() {
                    *c += if (i / dim) % 17 == 0 {
                        jitter[i]
                    } else {
                        0.01 * jitter[i]
                    };
                }
            }
        }
    }
}
