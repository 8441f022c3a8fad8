//! The SH palette: Lloyd k-means in squared L2 (`sog-format.md` §3.6), driven once here and
//! run on any [`Backend`]. Init takes `k` distinct points chosen by the seeded generator;
//! each iteration assigns, sums, divides and re-seeds empty clusters at random points; a
//! final assignment makes every label refer to the final centroids.

mod rows;

pub use rows::Rows;

use crate::backend::Backend;
use crate::encode::rng;
use crate::progress::{Event, Progress};
use crate::{Error, Result};

/// Random stream for the initial centroids.
const STREAM_INIT: u64 = 1;
/// Random stream for re-seeding empty clusters (counter = iteration · 2³² + cluster).
const STREAM_RESEED: u64 = 2;

/// Palette size for `n` splats: min(64, 2^floor(log2(n / 1024))) · 1024, which is the
/// largest power of two ≤ n, capped at 65,536 (and 1 for n ≤ 1).
pub fn palette_size(n: usize) -> usize {
    if n <= 1 {
        return 1;
    }
    (1usize << (usize::BITS - 1 - n.leading_zeros())).min(65_536)
}

/// The palette and each point's label.
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// `k` rows of `dim` values.
    pub centroids: Vec<f32>,
    /// One label per point, `< k`.
    pub labels: Vec<u32>,
}

/// `k` distinct indices below `n` (k ≤ n), by Floyd's sampling on the seeded generator,
/// returned in ascending order.
pub fn distinct_indices(n: usize, k: usize, seed: u64) -> Vec<u32> {
    let mut chosen = std::collections::HashSet::with_capacity(k);
    for (draw, j) in (n - k..n).enumerate() {
        let t = rng::below(seed, STREAM_INIT, draw as u64, j as u64 + 1) as usize;
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut out: Vec<u32> = chosen.into_iter().map(|i| i as u32).collect();
    out.sort_unstable();
    out
}

/// The distinct rows of `points` (bitwise) as the index of each one's first appearance,
/// ascending, and for every point the number of its distinct row. Rows are not copied: when
/// every row is distinct (generated and many trained scenes) the points are their own
/// distinct rows, and a copy would be the k-means stage's largest allocation (540 MB at 3M
/// SH3 splats).
///
/// Rows are hashed in parallel; one sequential pass then numbers them in order, comparing a
/// row with the first one of its hash (a rare 64-bit collision between different rows goes
/// through an exact map). At 1M × 45 this is several times faster than hashing the rows in a
/// `HashMap<&[u32], _>` with SipHash, which cost about a second.
pub fn distinct_rows(rows: &Rows) -> (Vec<u32>, Vec<u32>) {
    distinct_rows_hashed(rows, row_hash)
}

/// [`distinct_rows`] with the row hash as a parameter (tests force collisions with a bad one).
fn distinct_rows_hashed(
    rows: &Rows,
    row_hash: impl Fn(&[u32]) -> u64 + Sync,
) -> (Vec<u32>, Vec<u32>) {
    use rayon::prelude::*;
    use std::collections::HashMap;
    use std::collections::hash_map::Entry;
    let bits = |i: usize| -> &[u32] { bytemuck::cast_slice(rows.row(i)) };
    let hashes: Vec<u64> = (0..rows.len())
        .into_par_iter()
        .with_min_len(1 << 12)
        .map(|i| row_hash(bits(i)))
        .collect();
    let mut first: HashMap<u64, u32, BuildPrehashed> =
        HashMap::with_capacity_and_hasher(hashes.len(), BuildPrehashed);
    let mut collided: HashMap<&[u32], u32> = HashMap::new();
    let mut firsts: Vec<u32> = Vec::new();
    let mut inverse = Vec::with_capacity(hashes.len());
    for (row, &hash) in hashes.iter().enumerate() {
        let key = bits(row);
        let next = firsts.len() as u32;
        let id = match first.entry(hash) {
            Entry::Vacant(slot) => *slot.insert(next),
            Entry::Occupied(slot) => {
                let id = *slot.get();
                if bits(firsts[id as usize] as usize) == key {
                    id
                } else {
                    *collided.entry(key).or_insert(next)
                }
            }
        };
        if id == next {
            firsts.push(row as u32);
        }
        inverse.push(id);
    }
    (firsts, inverse)
}

/// A 64-bit hash of a row's bits (FxHash's word step, then a SplitMix64 finish so that the
/// map can use it as is).
fn row_hash(row: &[u32]) -> u64 {
    let mut h = 0u64;
    for &w in row {
        h = (h.rotate_left(5) ^ w as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Hashes a `u64` key that already is a good hash to itself.
#[derive(Clone, Copy, Default)]
struct BuildPrehashed;

impl std::hash::BuildHasher for BuildPrehashed {
    type Hasher = Prehashed;
    fn build_hasher(&self) -> Prehashed {
        Prehashed(0)
    }
}

/// See [`BuildPrehashed`].
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Clusters `points` into `k` centroids with `iterations` Lloyd updates.
///
/// Identical rows are assigned once (SH vectors repeat: all-zero `f_rest` in scenes trained
/// without SH, or scenes decoded from a SOG palette); the update still weighs every point.
/// When there are no more distinct rows than centroids, each gets its own entry (the exact
/// optimum) and the rest of the palette repeats the last one.
pub fn cluster<B: Backend>(
    backend: &B,
    points: Rows,
    k: usize,
    iterations: u32,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Clusters> {
    let (n, dim) = (points.len(), points.dim());
    if n == 0 || k == 0 || k > n || !points.is_whole() {
        return Err(Error::Scene(format!(
            "k-means needs 1 ≤ k ≤ points and whole rows: k = {k}, points = {n}, dim = {dim}"
        )));
    }
    let (firsts, inverse) = distinct_rows(&points);
    let m = firsts.len();
    if m <= k {
        let mut centroids = points.gather(&firsts);
        let last = centroids[(m - 1) * dim..].to_vec();
        for _ in m..k {
            centroids.extend_from_slice(&last);
        }
        progress.event(Event::Note(&format!(
            "k-means: {m} distinct SH vectors fit the {k}-entry palette exactly"
        )));
        return Ok(Clusters {
            centroids,
            labels: inverse,
        });
    }
    let deduplicated = m < n;
    let chosen: Vec<u32> = distinct_indices(m, k, seed)
        .into_iter()
        .map(|i| firsts[i as usize])
        .collect();
    let mut centroids = points.gather(&chosen);
    let device_points = points.upload(backend)?;
    let device_unique = if deduplicated {
        Some(backend.upload(&points.gather(&firsts))?)
    } else {
        None
    };
    let assign_points = device_unique.as_ref().unwrap_or(&device_points);
    let mut device_centroids = backend.upload(&centroids)?;
    let mut unique_labels = backend.zeros::<u32>(m)?;
    let mut labels = if deduplicated {
        Some(backend.zeros::<u32>(n)?)
    } else {
        None
    };
    let mut sums = backend.zeros::<f32>(k * dim)?;
    let mut counts = backend.zeros::<u32>(k)?;
    let mut state = B::AssignState::default();
    let start = std::time::Instant::now();
    progress.event(Event::Start {
        stage: "k-means",
        total: Some(iterations as u64 + 1),
    });
    for iteration in 0..iterations {
        backend.kmeans_assign(
            assign_points,
            &device_centroids,
            dim,
            &mut unique_labels,
            &mut state,
        )?;
        let point_labels = match labels.as_mut() {
            Some(all) => {
                let per_unique = backend.download(&unique_labels)?;
                let expanded: Vec<u32> = inverse.iter().map(|&u| per_unique[u as usize]).collect();
                backend.write(all, &expanded)?;
                &*all
            }
            None => &unique_labels,
        };
        backend.kmeans_update(&device_points, point_labels, dim, k, &mut sums, &mut counts)?;
        let (host_sums, host_counts) = (backend.download(&sums)?, backend.download(&counts)?);
        for c in 0..k {
            let row = &mut centroids[c * dim..(c + 1) * dim];
            if host_counts[c] == 0 {
                let counter = ((iteration as u64) << 32) | c as u64;
                let p = rng::below(seed, STREAM_RESEED, counter, m as u64) as usize;
                let p = firsts[p] as usize;
                row.copy_from_slice(points.row(p));
            } else {
                let inv = 1.0 / host_counts[c] as f64;
                for (v, s) in row.iter_mut().zip(&host_sums[c * dim..(c + 1) * dim]) {
                    *v = (*s as f64 * inv) as f32;
                }
            }
        }
        backend.write(&mut device_centroids, &centroids)?;
        progress.event(Event::Step {
            done: iteration as u64 + 1,
        });
    }
    backend.kmeans_assign(
        assign_points,
        &device_centroids,
        dim,
        &mut unique_labels,
        &mut state,
    )?;
    let per_unique = backend.download(&unique_labels)?;
    let labels = if deduplicated {
        inverse.iter().map(|&u| per_unique[u as usize]).collect()
    } else {
        per_unique
    };
    progress.event(Event::Step {
        done: iterations as u64 + 1,
    });
    progress.event(Event::Finish {
        stage: "k-means",
        secs: start.elapsed().as_secs_f64(),
    });
    Ok(Clusters { centroids, labels })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::Cpu;

    #[test]
    fn palette_size_follows_the_spec_examples() {
        for (n, k) in [
            (1, 1),
            (10, 8),
            (500, 256),
            (1024, 1024),
            (2047, 1024),
            (5000, 4096),
            (60_000, 32_768),
        ] {
            assert_eq!(palette_size(n), k, "n = {n}");
        }
        assert_eq!(palette_size(65_536), 65_536);
        assert_eq!(palette_size(10_000_000), 65_536);
    }

    #[test]
    fn distinct_indices_are_distinct_sorted_and_seeded() {
        let a = distinct_indices(1000, 300, 7);
        assert_eq!(a.len(), 300);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && *a.last().unwrap() < 1000);
        assert_eq!(a, distinct_indices(1000, 300, 7));
        assert_ne!(a, distinct_indices(1000, 300, 8));
        assert_eq!(distinct_indices(5, 5, 1), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn separated_blobs_are_found_and_labels_point_at_nearest_centroids() {
        // Four tight blobs far apart. Lloyd can get stuck with two seeds in one blob; seed 1
        // does not (deterministic), so this checks assignment and update, not init luck.
        let dim = 3;
        let mut points = Vec::new();
        for i in 0..400u64 {
            let blob = (i % 4) as f32 * 100.0;
            for d in 0..dim as u64 {
                points.push(blob + rng::unit(3, d, i) * 0.1);
            }
        }
        let c = cluster(&Cpu, Rows::new(&points, dim), 4, 10, 1, &()).unwrap();
        let mut blobs: Vec<i32> = c
            .centroids
            .chunks(3)
            .map(|r| (r[0] / 100.0).round() as i32)
            .collect();
        blobs.sort();
        assert_eq!(blobs, [0, 1, 2, 3]);
        for (i, &l) in c.labels.iter().enumerate() {
            assert_eq!(
                (c.centroids[l as usize * 3] / 100.0).round() as usize,
                i % 4
            );
        }
    }

    #[test]
    fn distinct_rows_number_in_order_of_first_appearance() {
        let mut rng = crate::encode::rng::Rng::new(3);
        // 5000 rows drawn from 700 distinct ones, 4 wide.
        let pool: Vec<[f32; 4]> = (0..700)
            .map(|_| [0; 4].map(|_| rng.uniform() as f32))
            .collect();
        let rows: Vec<[f32; 4]> = (0..5000).map(|_| pool[rng.below(700) as usize]).collect();
        let points: Vec<f32> = rows.iter().flatten().copied().collect();
        let (firsts, inverse) = distinct_rows(&Rows::new(&points, 4));
        // Every hash colliding (and a few): the same answer through the exact map.
        let (firsts_0, inverse_0) = distinct_rows_hashed(&Rows::new(&points, 4), |_| 7);
        let (firsts_2, inverse_2) =
            distinct_rows_hashed(&Rows::new(&points, 4), |r| (r[0] & 1) as u64);
        assert_eq!((&firsts_0, &inverse_0), (&firsts, &inverse));
        assert_eq!((&firsts_2, &inverse_2), (&firsts, &inverse));
        let unique = Rows::new(&points, 4).gather(&firsts);
        // The reference: a plain map over the rows' bits.
        let mut seen: std::collections::HashMap<[u32; 4], u32> = Default::default();
        let mut expected_unique = Vec::new();
        let expected: Vec<u32> = rows
            .iter()
            .map(|r| {
                let next = seen.len() as u32;
                *seen.entry(r.map(f32::to_bits)).or_insert_with(|| {
                    expected_unique.extend_from_slice(r);
                    next
                })
            })
            .collect();
        assert_eq!(inverse, expected);
        assert_eq!(unique, expected_unique);
        // -0.0 and 0.0 differ bitwise, so they are distinct rows.
        let (firsts, inv) = distinct_rows(&Rows::new(&[0.0, -0.0, 0.0], 1));
        assert_eq!((firsts, inv), (vec![0, 1], vec![0, 1, 0]));
    }

    #[test]
    fn duplicates_are_assigned_once_and_weighted_in_the_update() {
        // 3 distinct rows, repeated unevenly; k = 2 forces a real clustering.
        let rows = [[0.0f32, 0.0], [1.0, 0.0], [10.0, 0.0]];
        let pattern = [0, 0, 0, 0, 1, 2, 2, 0, 1, 0];
        let points: Vec<f32> = pattern.iter().flat_map(|&r| rows[r]).collect();
        let (firsts, inverse) = distinct_rows(&Rows::new(&points, 2));
        assert_eq!(firsts, [0, 4, 5]);
        assert_eq!(inverse, pattern.map(|r| r as u32));
        let c = cluster(&Cpu, Rows::new(&points, 2), 2, 5, 3, &()).unwrap();
        // {0, 1} against {10}: the first centroid is the weighted mean (6·0 + 2·1) / 8.
        let mut xs: Vec<f32> = c.centroids.chunks(2).map(|r| r[0]).collect();
        xs.sort_by(f32::total_cmp);
        assert_eq!(xs, [0.25, 10.0]);
        // Fewer distinct rows than centroids: exact, padded with the last row.
        let exact = cluster(&Cpu, Rows::new(&points, 2), 4, 5, 3, &()).unwrap();
        assert_eq!(exact.labels, inverse);
        assert_eq!(&exact.centroids[6..], &[10.0, 0.0]);
    }

    #[test]
    fn same_seed_same_result_and_k_equal_n_is_exact() {
        let points: Vec<f32> = (0..90).map(|i| rng::unit(9, 0, i)).collect();
        let a = cluster(&Cpu, Rows::new(&points, 9), 4, 3, 5, &()).unwrap();
        assert_eq!(
            a,
            cluster(&Cpu, Rows::new(&points, 9), 4, 3, 5, &()).unwrap()
        );
        let all = cluster(&Cpu, Rows::new(&points, 9), 10, 2, 5, &()).unwrap();
        for (i, &l) in all.labels.iter().enumerate() {
            assert_eq!(
                &all.centroids[l as usize * 9..l as usize * 9 + 9],
                &points[i * 9..i * 9 + 9]
            );
        }
        assert!(cluster(&Cpu, Rows::new(&points, 9), 11, 1, 0, &()).is_err());
    }
}
