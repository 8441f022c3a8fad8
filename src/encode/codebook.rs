//! The 256-entry 1-D codebook quantizer of `sog-format.md` §3.5 (histogram + dynamic
//! programming), byte-compatible with splat-transform 3.7.0's meta.json codebooks.
//!
//! The reference is JavaScript, so every intermediate is an f64 except where it stores into a
//! `Float32Array`. Precision choices, step by step:
//! - the finite input values are sorted as f32 (they are f32 already; −0 sorts before +0);
//! - min, max, range = max − min, the IQR and β are f64 computed from the f32 values;
//! - rank position `i / Nf`, value position `(s[i] − min) / range`, their blend and
//!   `floor(H · pos)` are f64, in the reference's operation order;
//! - bin counts and sums are f64 (sums accumulate the f32 values widened to f64, in sorted order);
//! - centres, weights (`√count`, which is what `Math.pow(c, 0.5)` returns), prefix sums,
//!   range costs and range means are f64, with `w·c·c` evaluated left to right;
//! - the DP compares f64 costs with a strict `<`, initial best 1e30 and initial split m − 2;
//! - centroids are rounded to f32 (round-to-nearest-even, as a `Float32Array` store does),
//!   then sorted; sentinels `min − 20` / `max + 20` are computed in f64 and rounded to f32;
//! - `index` compares the value (widened to f64) with `(cb[mid] + cb[mid + 1]) · 0.5` in f64.
//!
//! The DP is O(K·H²) with H ≤ 1024 and K ≤ 256. The range costs do not depend on the number of
//! clusters, so they are computed once into a table (the same expression, so the same bits),
//! and each DP cell is a first-minimum search over `dp[s] + cost[s + 1][j]`, run in parallel
//! over j.

use rayon::prelude::*;

/// Entries in every SOG v2 codebook.
pub const CODEBOOK_SIZE: usize = 256;

/// Histogram bins at most (H = min(1024, number of finite values)).
const MAX_BINS: usize = 1024;

/// Ranges narrower than this are treated as a single value.
const DEGENERATE_RANGE: f64 = 1e-20;

/// Distance of the ±∞ sentinels from the finite extremes.
const SENTINEL_GAP: f64 = 20.0;

/// Initial "infinite" cost of the reference's DP.
const DP_INF: f64 = 1e30;

/// Builds the 256-entry ascending codebook for `values` (pooled columns; order does not matter).
///
/// NaN values are ignored. −∞ and +∞ each reserve one entry (the first or last) holding a
/// finite sentinel 20 below the smallest / above the largest finite value, so every entry is
/// finite. With no finite values and no infinities the codebook is all zeros.
pub fn build(values: &[f32]) -> Vec<f32> {
    let mut has_neg_inf = false;
    let mut has_pos_inf = false;
    let mut finite: Vec<f32> = Vec::with_capacity(values.len());
    for &v in values {
        if v.is_finite() {
            finite.push(v);
        } else if v == f32::NEG_INFINITY {
            has_neg_inf = true;
        } else if v == f32::INFINITY {
            has_pos_inf = true;
        }
    }
    sort_f32(&mut finite);

    let min_max = finite.first().zip(finite.last()).map(|(&a, &b)| (a, b));
    let degenerate = |(lo, hi): (f32, f32)| f64::from(hi) - f64::from(lo) < DEGENERATE_RANGE;
    if !has_neg_inf && !has_pos_inf {
        match min_max {
            None => return vec![0.0; CODEBOOK_SIZE],
            Some((lo, hi)) if degenerate((lo, hi)) => return vec![lo; CODEBOOK_SIZE],
            Some(_) => {}
        }
    }

    let k_finite = CODEBOOK_SIZE - usize::from(has_neg_inf) - usize::from(has_pos_inf);
    let mut centroids: Vec<f32> = match min_max {
        None => Vec::new(),
        Some((lo, hi)) if degenerate((lo, hi)) => vec![lo],
        Some(_) => dp_centroids(&Histogram::new(&finite), k_finite),
    };
    sort_f32(&mut centroids);

    let (lo, hi) = min_max.map_or((0.0, 0.0), |(lo, hi)| (f64::from(lo), f64::from(hi)));
    let low_sentinel = (lo - SENTINEL_GAP) as f32;
    let high_sentinel = (hi + SENTINEL_GAP) as f32;
    let mut codebook = Vec::with_capacity(CODEBOOK_SIZE);
    if has_neg_inf {
        codebook.push(low_sentinel);
    }
    codebook.extend_from_slice(&centroids);
    // Pad with the last finite centroid; with none, with the nearest sentinel (low first).
    let pad = centroids.last().copied().unwrap_or(if has_neg_inf {
        low_sentinel
    } else {
        high_sentinel
    });
    let body_end = CODEBOOK_SIZE - usize::from(has_pos_inf);
    codebook.resize(body_end, pad);
    if has_pos_inf {
        codebook.push(high_sentinel);
    }
    codebook
}

/// Index of the codebook entry nearest to `v` (ties go up; NaN → 255), by binary search on midpoints.
///
/// Midpoints are `(cb[mid] + cb[mid + 1]) · 0.5` in f64, as the reference computes them.
/// `codebook` must hold at most 256 ascending entries; an empty codebook gives 0.
pub fn index(codebook: &[f32], v: f32) -> u8 {
    let v = f64::from(v);
    let mut lo = 0;
    let mut hi = codebook.len().saturating_sub(1);
    while lo < hi {
        let mid = (lo + hi) >> 1;
        if v < (f64::from(codebook[mid]) + f64::from(codebook[mid + 1])) * 0.5 {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo as u8
}

/// A codebook with its midpoints precomputed, for labelling many values.
/// `Quantizer::new(cb).index(v) == index(cb, v)` for every v.
#[derive(Debug, Clone)]
pub struct Quantizer {
    /// `midpoints[i] = (cb[i] + cb[i + 1]) · 0.5` in f64.
    midpoints: Vec<f64>,
}

impl Quantizer {
    /// Precomputes the midpoints of `codebook` (at most 256 ascending entries).
    pub fn new(codebook: &[f32]) -> Self {
        let midpoints = codebook
            .windows(2)
            .map(|w| (f64::from(w[0]) + f64::from(w[1])) * 0.5)
            .collect();
        Quantizer { midpoints }
    }

    /// Index of the entry nearest to `v`; the same search as [`index`].
    #[inline]
    pub fn index(&self, v: f32) -> u8 {
        let v = f64::from(v);
        if let Ok(mids) = <&[f64; CODEBOOK_SIZE - 1]>::try_from(self.midpoints.as_slice()) {
            // Midpoints ascend, so "!(v < mid)" holds for a prefix of them and the search's
            // answer is that prefix's length (NaN: every midpoint → 255). Find it bit by bit,
            // without data-dependent branches.
            let mut at = 0usize;
            for step in [128, 64, 32, 16, 8, 4, 2, 1] {
                let probe = at + step;
                at = if v < mids[probe - 1] { at } else { probe };
            }
            return at as u8;
        }
        let mut lo = 0;
        let mut hi = self.midpoints.len();
        while lo < hi {
            let mid = (lo + hi) >> 1;
            if v < self.midpoints[mid] {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo as u8
    }
}

/// Sorts f32 values ascending (−0 before +0; no NaN expected) with a stable LSD radix sort on
/// order-preserving bit patterns.
fn sort_f32(values: &mut [f32]) {
    if values.len() < 4096 {
        values.sort_by(f32::total_cmp);
        return;
    }
    // Flip all bits of negatives and the sign bit of positives: unsigned order = float order.
    let mut keys: Vec<u32> = values
        .par_iter()
        .with_min_len(1 << 14)
        .map(|v| {
            let b = v.to_bits();
            if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
        })
        .collect();
    sort_keys(
        &mut keys,
        rayon::current_num_threads() >= PARALLEL_SORT_THREADS,
    );
    values
        .par_iter_mut()
        .with_min_len(1 << 14)
        .zip(keys)
        .for_each(|(v, k)| {
            let b = if k >> 31 == 1 { k & 0x7fff_ffff } else { !k };
            *v = f32::from_bits(b);
        });
}

/// Threads from which a parallel comparison sort beats the serial radix sort of the values.
const PARALLEL_SORT_THREADS: usize = 8;

/// Values from which the histogram is binned in parallel.
const PARALLEL_BINNING: usize = 1 << 16;

/// Bin counts and sums of `sorted` into `h` bins, in parallel, with the serial loop's bits.
///
/// A value's bin only grows along the sorted values (the rank and value positions both grow
/// and every rounding step is monotone), so each bin is one contiguous range: its count is
/// the range's length and its sum is added up over the range in sorted order, exactly as one
/// pass over all values would. Should the bins ever not be monotone, the serial pass runs.
fn bin_parallel(
    sorted: &[f32],
    h: usize,
    bin_of: impl Fn(usize, f32) -> usize + Sync,
) -> (Vec<f64>, Vec<f64>) {
    let bins: Vec<u16> = sorted
        .par_iter()
        .enumerate()
        .with_min_len(1 << 14)
        .map(|(i, &s)| bin_of(i, s) as u16)
        .collect();
    if !bins.par_windows(2).all(|w| w[0] <= w[1]) {
        let mut counts = vec![0f64; h];
        let mut sums = vec![0f64; h];
        for (&bin, &s) in bins.iter().zip(sorted) {
            counts[bin as usize] += 1.0;
            sums[bin as usize] += f64::from(s);
        }
        return (counts, sums);
    }
    (0..h)
        .into_par_iter()
        .map(|b| {
            let start = bins.partition_point(|&x| (x as usize) < b);
            let end = bins.partition_point(|&x| (x as usize) <= b);
            let mut sum = 0f64;
            for &s in &sorted[start..end] {
                sum += f64::from(s);
            }
            ((end - start) as f64, sum)
        })
        .unzip()
}

/// Sorts the keys, in parallel or by one serial radix sort (linear time: faster on the few
/// threads of a 4-vCPU cloud GPU host). Equal keys are equal bits, so both give the same.
fn sort_keys(keys: &mut Vec<u32>, parallel: bool) {
    if parallel {
        keys.par_sort_unstable();
    } else {
        super::order::radix_sort_stable(keys, 32, |k| k);
    }
}

/// The weighted histogram of §3.5 and its prefix sums, over sorted finite values.
pub(crate) struct Histogram {
    /// Values per bin (f64, as the reference's `Float64Array`).
    counts: Vec<f64>,
    /// Bin centres: mean of the bin's values, or the bin's mid-value when empty.
    centers: Vec<f64>,
    /// Prefix sums of w, w·c and w·c·c (length H + 1).
    pref_w: Vec<f64>,
    pref_wx: Vec<f64>,
    pref_wxx: Vec<f64>,
}

impl Histogram {
    /// Bins `sorted` (ascending, finite, range ≥ 1e-20) on the β-blend of rank and value.
    pub(crate) fn new(sorted: &[f32]) -> Self {
        let nf = sorted.len();
        let h = MAX_BINS.min(nf);
        let min = f64::from(sorted[0]);
        let range = f64::from(sorted[nf - 1]) - min;
        let n = nf as f64;
        let iqr = f64::from(sorted[(n * 0.75).floor() as usize])
            - f64::from(sorted[(n * 0.25).floor() as usize]);
        let beta = (1.0 - iqr / range).clamp(0.5, 0.999);
        let hf = h as f64;

        let bin_of = |i: usize, s: f32| {
            let v = f64::from(s);
            let rank_pos = i as f64 / n;
            let value_pos = (v - min) / range;
            let pos = beta * rank_pos + (1.0 - beta) * value_pos;
            // pos ≥ 0, so the cast truncates exactly like floor.
            ((hf * pos).floor() as usize).min(h - 1)
        };
        let (counts, sums) = if nf >= PARALLEL_BINNING {
            bin_parallel(sorted, h, bin_of)
        } else {
            let mut counts = vec![0f64; h];
            let mut sums = vec![0f64; h];
            for (i, &s) in sorted.iter().enumerate() {
                let bin = bin_of(i, s);
                counts[bin] += 1.0;
                sums[bin] += f64::from(s);
            }
            (counts, sums)
        };
        Self::from_bins(counts, sums, min, range)
    }

    /// Centres, weights and prefix sums from raw bin counts and sums.
    pub(crate) fn from_bins(counts: Vec<f64>, sums: Vec<f64>, min: f64, range: f64) -> Self {
        let h = counts.len();
        let hf = h as f64;
        let centers: Vec<f64> = (0..h)
            .map(|b| {
                if counts[b] > 0.0 {
                    sums[b] / counts[b]
                } else {
                    min + (b as f64 + 0.5) / hf * range
                }
            })
            .collect();
        // Weight = count^0.5 (the reference's alpha = 0.5; `Math.pow(c, 0.5)` is `sqrt`).
        let weights = counts.iter().map(|&c| if c > 0.0 { c.sqrt() } else { 0.0 });
        let mut pref_w = vec![0f64; h + 1];
        let mut pref_wx = vec![0f64; h + 1];
        let mut pref_wxx = vec![0f64; h + 1];
        for (b, w) in weights.enumerate() {
            let c = centers[b];
            pref_w[b + 1] = pref_w[b] + w;
            pref_wx[b + 1] = pref_wx[b] + w * c;
            pref_wxx[b + 1] = pref_wxx[b] + w * c * c;
        }
        Histogram {
            counts,
            centers,
            pref_w,
            pref_wx,
            pref_wxx,
        }
    }

    fn bins(&self) -> usize {
        self.counts.len()
    }

    /// Weighted SSE of bins a..=b around their weighted mean (0 when their weight is 0).
    #[inline]
    pub(crate) fn cost(&self, a: usize, b: usize) -> f64 {
        let w = self.pref_w[b + 1] - self.pref_w[a];
        if w <= 0.0 {
            return 0.0;
        }
        let wx = self.pref_wx[b + 1] - self.pref_wx[a];
        let wxx = self.pref_wxx[b + 1] - self.pref_wxx[a];
        wxx - (wx * wx) / w
    }

    /// Weighted mean of bins a..=b (midpoint of their centres when their weight is 0).
    pub(crate) fn mean(&self, a: usize, b: usize) -> f64 {
        let w = self.pref_w[b + 1] - self.pref_w[a];
        if w <= 0.0 {
            return (self.centers[a] + self.centers[b]) * 0.5;
        }
        (self.pref_wx[b + 1] - self.pref_wx[a]) / w
    }
}

/// The DP of §3.5: at most `k_target` centroids (unsorted f32, one per cluster) minimising
/// the weighted SSE over the histogram bins.
pub(crate) fn dp_centroids(hist: &Histogram, k_target: usize) -> Vec<f32> {
    let h = hist.bins();
    let non_empty = hist.counts.iter().filter(|&&c| c > 0.0).count();
    let k = k_target.min(non_empty);
    if k == 0 {
        return Vec::new();
    }

    // cost_to[j][s] = cost(s + 1, j) for s < j: contiguous in s for the inner loop.
    let cost_to: Vec<Vec<f64>> = (0..h)
        .into_par_iter()
        .map(|j| (0..j).map(|s| hist.cost(s + 1, j)).collect())
        .collect();

    let mut dp_prev: Vec<f64> = (0..h).map(|j| hist.cost(0, j)).collect();
    let mut dp_curr = vec![DP_INF; h];
    // split[m - 2][j]: best split for m clusters ending at bin j (m ≥ 2).
    let mut split: Vec<Vec<u16>> = Vec::with_capacity(k.saturating_sub(1));
    for m in 2..=k {
        let mut split_m = vec![0u16; h];
        let first = m - 2;
        dp_curr[..m - 1].fill(DP_INF);
        dp_curr[m - 1..]
            .par_iter_mut()
            .zip(split_m[m - 1..].par_iter_mut())
            .enumerate()
            .with_min_len(16)
            .for_each(|(offset, (best_cost, best_split))| {
                let j = m - 1 + offset;
                let (cost, s) = first_minimum(&dp_prev[first..j], &cost_to[j][first..j]);
                *best_cost = cost;
                *best_split = (first + s) as u16;
            });
        split.push(split_m);
        std::mem::swap(&mut dp_prev, &mut dp_curr);
    }

    let mut centroids = vec![0f32; k];
    let mut j = h - 1;
    for m in (1..=k).rev() {
        let split_at = (m > 1).then(|| usize::from(split[m - 2][j]));
        let start = split_at.map_or(0, |s| s + 1);
        centroids[m - 1] = hist.mean(start, j) as f32;
        if let Some(s) = split_at {
            j = s;
        }
    }
    centroids
}

/// The reference's scan `best = 1e30, s = 0; for each i: if a[i] + b[i] < best {…}`, done as
/// a lane-parallel minimum then a search for its first occurrence (same result, no NaN here).
#[inline]
fn first_minimum(a: &[f64], b: &[f64]) -> (f64, usize) {
    const LANES: usize = 8;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [DP_INF; LANES];
    let chunks = n / LANES;
    for (ca, cb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for l in 0..LANES {
            let v = ca[l] + cb[l];
            lanes[l] = if v < lanes[l] { v } else { lanes[l] };
        }
    }
    let mut best = DP_INF;
    for &v in &lanes {
        if v < best {
            best = v;
        }
    }
    for i in chunks * LANES..n {
        let v = a[i] + b[i];
        if v < best {
            best = v;
        }
    }
    if best >= DP_INF {
        return (DP_INF, 0); // nothing beat the initial value: the reference keeps s = m − 2
    }
    let first = (0..n).find(|&i| a[i] + b[i] == best).unwrap_or(0);
    (best, first)
}

#[cfg(test)]
mod tests;
