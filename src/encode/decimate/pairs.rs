//! Which splats merge: greedy disjoint pairs over the candidate edges, cheapest first
//! (adaptive: over the whole scene; uniform: block by block). The adaptive matching is
//! computed in parallel rounds that give the sequential greedy's pairs exactly.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use rayon::prelude::*;

use super::UNIFORM_BLOCK;
use crate::backend::decimate::NO_PARTNER;

/// A cost as a key that sorts like the float (finite costs only reach here).
fn cost_key(cost: f32) -> u32 {
    let bits = cost.to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

/// A merge group: two splats (the merge kernel takes groups of any size; pairs keep the most
/// detail: free splats joining pairs to finish in one generation cost about 1 dB of render
/// PSNR per level on the shared scenes).
pub(super) type Group = [u32; 2];

/// A splat in no group yet.
const NONE: u32 = u32::MAX;

/// Greedy disjoint pairs over the edges `keys` (from [`edge_keys`]), cheapest edge first,
/// until `quota` splats are removed. `group_of` holds each splat's group or [`NONE`].
fn greedy(
    partners: &[u32],
    slots: usize,
    mut keys: Vec<u64>,
    quota: usize,
    group_of: &mut [u32],
    groups: &mut Vec<Group>,
) -> usize {
    keys.par_sort_unstable();
    let mut made = 0;
    for &key in &keys {
        if made == quota {
            return made;
        }
        let e = key as u32 as usize;
        let (i, j) = (e / slots, partners[e] as usize);
        if i == j || group_of[i] != NONE || group_of[j] != NONE {
            continue;
        }
        group_of[i] = groups.len() as u32;
        group_of[j] = groups.len() as u32;
        groups.push([i as u32, j as u32]);
        made += 1;
    }
    made
}

/// The finite candidate edges of rows `rows` (edge e: row e / slots, its candidate e % slots),
/// each as the key (cost, e) in one u64, so that sorting the keys puts the cheapest first,
/// ties by edge number, without looking the costs up again.
fn edge_keys(
    costs: &[f32],
    partners: &[u32],
    slots: usize,
    rows: std::ops::Range<usize>,
) -> Vec<u64> {
    (rows.start * slots..rows.end * slots)
        .into_par_iter()
        .with_min_len(1 << 14)
        .filter(|&e| partners[e] != NO_PARTNER && costs[e].is_finite())
        .map(|e| (cost_key(costs[e]) as u64) << 32 | e as u64)
        .collect()
}

/// [`Strategy::Adaptive`](super::Strategy::Adaptive): the cheapest groups of the whole scene
/// until `needed` splats are gone. The greedy walk stops after `needed` pairs, and its pairs
/// come in key order, so they are the `needed` cheapest pairs of the full greedy matching,
/// which [`greedy_matching`] finds in parallel.
pub(super) fn select_adaptive(
    costs: &[f32],
    partners: &[u32],
    slots: usize,
    n: usize,
    needed: usize,
) -> Vec<Group> {
    let mut matched = greedy_matching(costs, partners, slots, n);
    matched.par_sort_unstable();
    matched
        .into_iter()
        .take(needed)
        .map(|key| {
            let e = key as u32 as usize;
            [(e / slots) as u32, partners[e]]
        })
        .collect()
}

/// Rounds of locally dominant edges before the rest is walked in key order: chains of
/// ever-cheaper edges take a round per pair, and a long one would otherwise serialise.
const MAX_ROUNDS: usize = 64;

/// The keys (see [`edge_keys`]) of the matching the greedy walk makes over every candidate
/// edge: cheapest first, taken when both ends are free. In parallel rounds: each free splat
/// finds its cheapest edge to another free splat; an edge that is the cheapest of both its
/// ends is taken (the walk reaches it before anything else that could take either end); the
/// rest repeat without the taken splats. With distinct keys (the edge number is part of the
/// key) this is the walk's matching exactly (Preis 1999); after [`MAX_ROUNDS`] rounds the
/// remaining edges are walked in key order, which finishes it the same way.
fn greedy_matching(costs: &[f32], partners: &[u32], slots: usize, n: usize) -> Vec<u64> {
    let valid = |e: usize| {
        let j = partners[e];
        j != NO_PARTNER && j as usize != e / slots && costs[e].is_finite()
    };
    let key = |e: usize| (cost_key(costs[e]) as u64) << 32 | e as u64;
    let other = |e: usize, v: usize| {
        let i = e / slots;
        if i == v { partners[e] as usize } else { i }
    };
    // Edges into each splat (its own are its candidate slots).
    let into: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    (0..n * slots)
        .into_par_iter()
        .filter(|&e| valid(e))
        .for_each(|e| {
            into[partners[e] as usize].fetch_add(1, Relaxed);
        });
    let mut start = Vec::with_capacity(n + 1);
    let mut total = 0u32;
    start.push(0);
    for count in &into {
        total += count.load(Relaxed);
        start.push(total);
    }
    let cursor: Vec<AtomicU32> = start[..n].iter().map(|&s| AtomicU32::new(s)).collect();
    let incoming: Vec<AtomicU32> = (0..total).map(|_| AtomicU32::new(0)).collect();
    (0..n * slots)
        .into_par_iter()
        .filter(|&e| valid(e))
        .for_each(|e| {
            let at = cursor[partners[e] as usize].fetch_add(1, Relaxed);
            incoming[at as usize].store(e as u32, Relaxed);
        });
    drop(cursor);
    let edges_of = |v: usize| {
        let own = (v * slots..(v + 1) * slots).filter(move |&e| valid(e));
        let into = incoming[start[v] as usize..start[v + 1] as usize]
            .iter()
            .map(|e| e.load(Relaxed) as usize);
        own.chain(into)
    };
    let taken: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    let best: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(u64::MAX)).collect();
    let mut free: Vec<u32> = (0..n as u32).collect();
    let mut matched = Vec::new();
    for _ in 0..MAX_ROUNDS {
        free.par_iter().for_each(|&v| {
            let v = v as usize;
            let cheapest = edges_of(v)
                .filter(|&e| taken[other(e, v)].load(Relaxed) == 0)
                .map(key)
                .min()
                .unwrap_or(u64::MAX);
            best[v].store(cheapest, Relaxed);
        });
        let dominant: Vec<u64> = free
            .par_iter()
            .filter_map(|&v| {
                let v = v as usize;
                let b = best[v].load(Relaxed);
                let u = other(b as u32 as usize, v);
                (b != u64::MAX && v < u && best[u].load(Relaxed) == b).then_some(b)
            })
            .collect();
        for &b in &dominant {
            let e = b as u32 as usize;
            taken[e / slots].store(1, Relaxed);
            taken[partners[e] as usize].store(1, Relaxed);
        }
        matched.extend_from_slice(&dominant);
        // A splat without a free partner keeps none: partners only ever get taken.
        free.retain(|&v| {
            taken[v as usize].load(Relaxed) == 0 && best[v as usize].load(Relaxed) != u64::MAX
        });
        if free.is_empty() {
            return matched;
        }
    }
    // The rest, walked in key order.
    let mut rest: Vec<u64> = free
        .par_iter()
        .flat_map_iter(|&v| {
            let v = v as usize;
            (v * slots..(v + 1) * slots)
                .filter(|&e| valid(e) && taken[partners[e] as usize].load(Relaxed) == 0)
                .map(key)
        })
        .collect();
    rest.par_sort_unstable();
    for b in rest {
        let e = b as u32 as usize;
        let (i, j) = (e / slots, partners[e] as usize);
        if taken[i].load(Relaxed) == 0 && taken[j].load(Relaxed) == 0 {
            taken[i].store(1, Relaxed);
            taken[j].store(1, Relaxed);
            matched.push(b);
        }
    }
    matched
}

/// [`Strategy::Uniform`]: block by block, each block's share of `needed` (what a block cannot
/// make passes to the next).
pub(super) fn select_uniform(
    costs: &[f32],
    partners: &[u32],
    slots: usize,
    n: usize,
    needed: usize,
) -> Vec<Group> {
    let mut group_of = vec![NONE; n];
    let mut groups = Vec::with_capacity(needed.min(n / 2));
    let mut owed = 0usize;
    for start in (0..n).step_by(UNIFORM_BLOCK) {
        let end = (start + UNIFORM_BLOCK).min(n);
        let share = needed * end / n - needed * start / n;
        let quota = share + owed;
        let edges = edge_keys(costs, partners, slots, start..end);
        let made = greedy(partners, slots, edges, quota, &mut group_of, &mut groups);
        owed = quota - made;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Candidate edges like the kernel's: up to `slots` partners among the next `window`
    /// rows, some missing, some infinite, some self edges, many equal costs.
    fn graph(n: usize, slots: usize, window: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = crate::encode::rng::Rng::new(seed);
        let mut costs = vec![0.0; n * slots];
        let mut partners = vec![NO_PARTNER; n * slots];
        for i in 0..n {
            for s in 0..slots {
                let e = i * slots + s;
                let roll = rng.below(100);
                partners[e] = match roll {
                    0..=4 => NO_PARTNER,
                    5..=6 => i as u32,
                    _ => (i + 1 + rng.below(window as u64) as usize).min(n - 1) as u32,
                };
                costs[e] = match roll {
                    7..=9 => f32::INFINITY,
                    10..=29 => (rng.below(4) as f32) * 0.5,
                    _ => rng.uniform() as f32,
                };
            }
        }
        (costs, partners)
    }

    /// The sequential walk over every edge, as `greedy` does it, without a quota.
    fn walked(costs: &[f32], partners: &[u32], slots: usize, n: usize, quota: usize) -> Vec<Group> {
        let mut group_of = vec![NONE; n];
        let mut groups = Vec::new();
        let keys = edge_keys(costs, partners, slots, 0..n);
        greedy(partners, slots, keys, quota, &mut group_of, &mut groups);
        groups
    }

    #[test]
    fn parallel_matching_is_the_greedy_walk() {
        for (n, slots, window, seed) in [
            (1, 4, 64, 1),
            (2, 4, 1, 2),
            (500, 4, 64, 3),
            (20_000, 4, 64, 4),
            (20_000, 2, 3, 5),
            (5_000, 8, 16, 6),
        ] {
            let (costs, partners) = graph(n, slots, window, seed);
            let all = walked(&costs, &partners, slots, n, n);
            for quota in [0, 1, all.len() / 3, all.len(), n] {
                let want = walked(&costs, &partners, slots, n, quota);
                let got = select_adaptive(&costs, &partners, slots, n, quota);
                assert_eq!(
                    got, want,
                    "n {n}, slots {slots}, window {window}, quota {quota}"
                );
            }
        }
    }

    #[test]
    fn long_chains_finish_by_the_walk() {
        // Costs falling along a path: each round takes one pair at the cheap end, so the
        // rounds run out and the walk finishes; the result must not change.
        let n = 4 * MAX_ROUNDS + 7;
        let slots = 1;
        let partners: Vec<u32> = (0..n).map(|i| (i + 1).min(n - 1) as u32).collect();
        let costs: Vec<f32> = (0..n).map(|i| (n - i) as f32).collect();
        let want = walked(&costs, &partners, slots, n, n);
        assert!(want.len() > MAX_ROUNDS, "the chain must outlast the rounds");
        assert_eq!(select_adaptive(&costs, &partners, slots, n, n), want);
    }
}
