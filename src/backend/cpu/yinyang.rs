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
/// for themselves (early iterations, re-seeded clusters, many coincident centroids): the
/// next call starts over with a full blocked scan, about 3× cheaper per distance than the
/// refinement's scans. Early on the share roughly doubles per call, so waiting for 0.2
/// cost a refinement as long as a full scan (500k SH2 points, K = 65,536: 0.06, 0.11,
/// 0.23 of the groups in calls 2-4).
const RESCAN_SHARE: f64 = 0.1;

/// Bounds carried from one assignment to the next over the same points.
#[derive(Default, Clone)]
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

/// How far each centroid moved since the previous call, and the farthest move in each group.
fn drifts(centroids: &[f32], state: &State) -> (Vec<f32>, Vec<f32>) {
    let dim = state.dim;
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
    let mut group_drift = vec![0.0f32; state.groups.len()];
    for (c, &g) in state.group_of.iter().enumerate() {
        group_drift[g as usize] = group_drift[g as usize].max(drift[c]);
    }
    (drift, group_drift)
}

/// Updates labels and bounds for moved centroids; returns the share of groups scanned.
fn refine(points: &[f32], centroids: &[f32], state: &mut State, kernels: Kernels) -> f64 {
    let dim = state.dim;
    let g_count = state.groups.len();
    let (drift, group_drift) = drifts(centroids, state);
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
            let pts = &points[first * dim..(first + labels.len()) * dim];
            let bounds = Bounds {
                drift: &drift,
                group_drift: &group_drift,
                centroids,
                dim,
            };
            let wanted = bounds.loosen(pts, labels, upper, lower);
            let scans = scan_wanted(pts, &wanted, &packed, &ranges, kernels);
            replay(&wanted, &scans, group_of, labels, upper, lower)
        })
        .sum();
    scanned as f64 / (n * g_count) as f64
}

/// What moved since the previous call, for loosening the bounds.
struct Bounds<'a> {
    drift: &'a [f32],
    group_drift: &'a [f32],
    centroids: &'a [f32],
    dim: usize,
}

impl Bounds<'_> {
    /// Moves every bound of a task's points by the drifts (the upper bound made exact where
    /// it passes the smallest lower bound) and returns the (group, point) pairs whose lower
    /// bound is below the upper bound, by group: the only groups that can hold a nearer
    /// centroid.
    fn loosen(
        &self,
        pts: &[f32],
        labels: &[u32],
        upper: &mut [f32],
        lower: &mut [f32],
    ) -> Vec<u64> {
        let (dim, g_count) = (self.dim, self.group_drift.len());
        let mut wanted = Vec::new();
        for (row, (&a, u)) in labels.iter().zip(upper.iter_mut()).enumerate() {
            let lb = &mut lower[row * g_count..(row + 1) * g_count];
            *u += self.drift[a as usize];
            for (l, d) in lb.iter_mut().zip(self.group_drift) {
                *l -= d;
            }
            let m = smallest_bound(lb);
            if *u <= m {
                continue;
            }
            let x = &pts[row * dim..(row + 1) * dim];
            let c = &self.centroids[a as usize * dim..(a as usize + 1) * dim];
            *u = x
                .iter()
                .zip(c)
                .map(|(p, q)| (p - q) * (p - q))
                .sum::<f32>()
                .sqrt();
            if *u > m {
                let candidates = lb.iter().enumerate().filter(|&(_, &l)| l < *u);
                wanted.extend(candidates.map(|(g, _)| ((g as u64) << 32) | row as u64));
            }
        }
        wanted.sort_unstable();
        wanted
    }
}

/// One (point, group) scan: the nearest slot's squared distance and centroid (ties → lower
/// id), and the nearest of the group's other slots.
#[derive(Clone, Copy)]
struct Scan {
    best: f32,
    id: u32,
    second: f32,
}

/// Scans each wanted (group, point) pair. Pairs come by group, so a group's centroids stay
/// in cache while its points are scanned.
fn scan_wanted(
    pts: &[f32],
    wanted: &[u64],
    packed: &Packed,
    ranges: &[Range<usize>],
    kernels: Kernels,
) -> Vec<Scan> {
    let dim = packed.dim;
    let mut scratch = Vec::new();
    wanted
        .iter()
        .map(|&key| {
            let (g, row) = ((key >> 32) as usize, key as u32 as usize);
            let tiles = ranges[g].clone();
            let first_slot = tiles.start * LANES;
            scratch.resize(tiles.len() * LANES, 0.0);
            (kernels.distances)(
                &pts[row * dim..(row + 1) * dim],
                packed,
                tiles,
                &mut scratch,
            );
            // Slots hold ascending ids, so the first slot at the smallest distance is the
            // lowest id among ties.
            let best = assign::smallest(&scratch);
            let slot = scratch.iter().position(|&d| d == best).unwrap_or(0);
            scratch[slot] = f32::INFINITY;
            Scan {
                best,
                id: packed.ids[first_slot + slot],
                second: assign::smallest(&scratch),
            }
        })
        .collect()
}

/// Walks each point's scanned groups in ascending order as a one-point-at-a-time Yinyang
/// step would, skipping groups a nearer centroid found earlier rules out: labels and bounds
/// come out as that step's. Returns how many groups were used.
fn replay(
    wanted: &[u64],
    scans: &[Scan],
    group_of: &[u32],
    labels: &mut [u32],
    upper: &mut [f32],
    lower: &mut [f32],
) -> usize {
    let g_count = lower.len() / labels.len().max(1);
    // The pairs by point, each point's groups still ascending.
    let mut start = vec![0usize; labels.len() + 1];
    for &key in wanted {
        start[key as u32 as usize + 1] += 1;
    }
    for row in 0..labels.len() {
        start[row + 1] += start[row];
    }
    let mut next = start.clone();
    let mut by_point = vec![0u32; wanted.len()];
    for (i, &key) in wanted.iter().enumerate() {
        let row = key as u32 as usize;
        by_point[next[row]] = i as u32;
        next[row] += 1;
    }
    let mut used = 0;
    for row in 0..labels.len() {
        let lb = &mut lower[row * g_count..(row + 1) * g_count];
        let (mut a, mut u) = (labels[row], upper[row]);
        for &i in &by_point[start[row]..start[row + 1]] {
            let g = (wanted[i as usize] >> 32) as usize;
            if lb[g] >= u {
                continue;
            }
            used += 1;
            let scan = scans[i as usize];
            let best = scan.best.sqrt();
            if best < u || (best == u && scan.id < a) {
                let old_group = group_of[a as usize] as usize;
                if old_group != g {
                    lb[old_group] = lb[old_group].min(u);
                }
                (a, u) = (scan.id, best);
            }
            // The nearest centroid of the group other than `a`.
            let others = if scan.id == a { scan.second } else { scan.best };
            lb[g] = others.sqrt();
        }
        labels[row] = a;
        upper[row] = u;
    }
    used
}

/// The smallest of a point's group lower bounds (any length), vectorised as
/// [`assign::smallest`].
fn smallest_bound(bounds: &[f32]) -> f32 {
    let whole = bounds.len() / LANES * LANES;
    let tail = bounds[whole..]
        .iter()
        .fold(f32::INFINITY, |m, &v| if v < m { v } else { m });
    let head = assign::smallest(&bounds[..whole]);
    if tail < head { tail } else { head }
}

#[cfg(test)]
mod tests {
    use super::super::assign::tests::{check_nearest, noise};
    use super::*;

    #[test]
    fn refinement_by_group_equals_one_point_at_a_time() {
        let kernels = Kernels::detect();
        for (n, k, dim) in [(3000, 700, 9), (2000, 300, 24), (1500, 1100, 45)] {
            let points = noise(n * dim, 21);
            let mut centroids = noise(k * dim, 22);
            let mut state = State::default();
            let mut labels = vec![0; n];
            assign(&points, &centroids, dim, &mut labels, &mut state);
            for step in 0..6u64 {
                let jitter = noise(k * dim, 200 + step);
                for (i, c) in centroids.iter_mut().enumerate() {
                    *c += if (i / dim) % 13 == 0 {
                        jitter[i]
                    } else {
                        0.02 * jitter[i]
                    };
                }
                let mut reference = state.clone();
                let share = refine(&points, &centroids, &mut state, kernels);
                let want = refine_one_at_a_time(&points, &centroids, &mut reference, kernels);
                assert_eq!(share, want, "share scanned, step {step}");
                assert_eq!(state.labels, reference.labels, "labels, step {step}");
                assert_eq!(state.upper, reference.upper, "upper bounds, step {step}");
                assert_eq!(state.lower, reference.lower, "lower bounds, step {step}");
                assert!(
                    share > 0.0,
                    "step {step} scanned nothing: the test would prove nothing"
                );
                state.previous.clone_from(&centroids);
                reference.previous.clone_from(&centroids);
            }
        }
    }

    /// The refinement as it was before the scans were grouped: one point at a time, each
    /// group scanned when reached. The grouped one must give the same bits.
    fn refine_one_at_a_time(
        points: &[f32],
        centroids: &[f32],
        state: &mut State,
        kernels: Kernels,
    ) -> f64 {
        let dim = state.dim;
        let g_count = state.groups.len();
        let (drift, group_drift) = drifts(centroids, state);
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
                    for (l, d) in lb.iter_mut().zip(&group_drift) {
                        *l -= d;
                    }
                    let m = smallest_bound(lb);
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
                            // Slots hold ascending ids, so the first slot at the smallest
                            // distance is the lowest id among ties.
                            let best_d = assign::smallest(&scratch);
                            let best_slot = scratch.iter().position(|&d| d == best_d).unwrap_or(0);
                            let best_id = packed.ids[first_slot + best_slot];
                            let best = best_d.sqrt();
                            if best < u || (best == u && best_id < a) {
                                let old_group = group_of[a as usize] as usize;
                                if old_group != g {
                                    lb[old_group] = lb[old_group].min(u);
                                }
                                (a, u) = (best_id, best);
                            }
                            // The nearest centroid of the group other than `a`.
                            let others = if best_id == a {
                                scratch[best_slot] = f32::INFINITY;
                                assign::smallest(&scratch)
                            } else {
                                best_d
                            };
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
