//! Splat order in the texture grid: recursive 10-bit Morton (Z-order) codes, exactly as
//! splat-transform 3.7.0 orders splats (`sog-format.md` §3.3), so our texel order is
//! byte-compatible with its output.
//!
//! Precision follows the JavaScript reference: bounding boxes are taken with `<`/`>` on the
//! f32 inputs (NaN never wins a comparison), extents, multipliers and cell coordinates are
//! computed in f64 from the f32 values, and cells are converted with `ToUint32` semantics
//! (truncation, NaN → 0) after clamping to 1023.

use std::ops::Range;

use rayon::prelude::*;

use crate::Result;
use crate::backend::Backend;
use crate::backend::cpu::Cpu;

/// Runs of equal codes longer than this are re-sorted over their own bounding box.
const REFINE_RUN_LEN: usize = 256;

/// Slices at least this long use the parallel bounding box / code pass and the radix sort.
const PARALLEL_LEN: usize = 1 << 15;

/// `order[i]` = the source splat stored at texel i, by recursive 10-bit Morton codes, sorted
/// on the CPU backend. See [`morton_with`].
pub fn morton(positions: &[[f32; 3]]) -> Vec<u32> {
    morton_with(&Cpu, positions).expect("the CPU backend's sort cannot fail")
}

/// `order[i]` = the source splat stored at texel i, by recursive 10-bit Morton codes, with
/// the stable key-value sort running on `backend`.
///
/// The order is a permutation of `0..positions.len()`. Splats whose positions cannot be
/// ordered (a non-finite bounding-box extent, or all identical) keep their input order.
/// splat-transform recurses into every run of more than 256 equal codes; here each level of
/// that recursion is one sort of all the runs at once, keyed by (run number << 32 | code),
/// which orders every run on its own and keeps the runs where they are.
pub fn morton_with<B: Backend>(backend: &B, positions: &[[f32; 3]]) -> Result<Vec<u32>> {
    let mut order: Vec<u32> = (0..positions.len() as u32).collect();
    // The ranges of `order` still to sort: at first the whole of it.
    let mut segments: Vec<Range<usize>> = std::iter::once(0..order.len()).collect();
    while !segments.is_empty() {
        // Keys of every segment that can be ordered (a finite, non-zero bounding box).
        let coded: Vec<(Range<usize>, Vec<u32>)> = segments
            .par_iter()
            .filter_map(|seg| codes(positions, &order[seg.clone()]).map(|c| (seg.clone(), c)))
            .collect();
        if coded.is_empty() {
            break;
        }
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for (run, (seg, seg_codes)) in coded.iter().enumerate() {
            keys.extend(
                seg_codes
                    .iter()
                    .map(|&c| ((run as u64) << 32) | u64::from(c)),
            );
            values.extend_from_slice(&order[seg.clone()]);
        }
        let mut device_keys = backend.upload(&keys)?;
        let mut device_values = backend.upload(&values)?;
        backend.sort_pairs(&mut device_keys, &mut device_values)?;
        let (keys, values) = (
            backend.download(&device_keys)?,
            backend.download(&device_values)?,
        );
        // The sorted runs come back in run order: write them over their segments and find
        // the next level's segments (runs of more than 256 equal codes).
        let mut next = Vec::new();
        let mut at = 0;
        for (seg, _) in &coded {
            let sorted = &keys[at..at + seg.len()];
            order[seg.clone()].copy_from_slice(&values[at..at + seg.len()]);
            let mut first = 0;
            while first < sorted.len() {
                let mut end = first + 1;
                while end < sorted.len() && sorted[end] == sorted[first] {
                    end += 1;
                }
                if end - first > REFINE_RUN_LEN {
                    next.push(seg.start + first..seg.start + end);
                }
                first = end;
            }
            at += seg.len();
        }
        segments = next;
    }
    Ok(order)
}

/// The 30-bit Morton codes of `indices` over their own bounding box, or `None` when the box
/// has a non-finite extent or no extent at all (the reference then leaves the order as is).
fn codes(positions: &[[f32; 3]], indices: &[u32]) -> Option<Vec<u32>> {
    if indices.is_empty() {
        return None;
    }
    let bounds = bounds_of(positions, indices);
    let mut min = [0f64; 3];
    let mut mul = [0f64; 3];
    let mut all_zero = true;
    for a in 0..3 {
        min[a] = f64::from(bounds.min[a]);
        let extent = f64::from(bounds.max[a]) - min[a];
        if !extent.is_finite() {
            return None;
        }
        if extent != 0.0 {
            all_zero = false;
            mul[a] = 1024.0 / extent;
        }
    }
    if all_zero {
        return None;
    }
    let code_of = |g: &u32| {
        let p = &positions[*g as usize];
        let c = |a: usize| cell((f64::from(p[a]) - min[a]) * mul[a]);
        morton_code(c(0), c(1), c(2))
    };
    Some(if indices.len() >= PARALLEL_LEN {
        indices.par_iter().map(code_of).collect()
    } else {
        indices.iter().map(code_of).collect()
    })
}

/// Inserts two zero bits between each of the low 10 bits of `v` (bit k moves to bit 3k).
pub fn spread_bits(v: u32) -> u32 {
    let mut v = v & 0x0000_03ff;
    v = (v ^ (v << 16)) & 0xff00_00ff;
    v = (v ^ (v << 8)) & 0x0300_f00f;
    v = (v ^ (v << 4)) & 0x030c_30c3;
    v = (v ^ (v << 2)) & 0x0924_9249;
    v
}

/// The 30-bit Morton code of cell `(x, y, z)` (each 0..=1023): z bits highest, x lowest.
pub fn morton_code(x: u32, y: u32, z: u32) -> u32 {
    (spread_bits(z) << 2) | (spread_bits(y) << 1) | spread_bits(x)
}

/// JavaScript `Math.min(1023, v) >>> 0`: NaN → 0, otherwise clamp to 1023 and convert with
/// `ToUint32` (truncate toward zero, wrap modulo 2³²).
fn cell(v: f64) -> u32 {
    if v.is_nan() {
        0
    } else if v > 1023.0 {
        1023
    } else {
        // ToUint32 for |v| < 2⁶³: truncate, then wrap modulo 2³².
        v as i64 as u32
    }
}

/// Per-axis bounding box with the reference's comparisons (NaN skipped, starts at ±∞).
#[derive(Clone, Copy)]
struct Bounds {
    min: [f32; 3],
    max: [f32; 3],
}

impl Bounds {
    const EMPTY: Bounds = Bounds {
        min: [f32::INFINITY; 3],
        max: [f32::NEG_INFINITY; 3],
    };

    fn add(mut self, p: &[f32; 3]) -> Bounds {
        for a in 0..3 {
            if p[a] < self.min[a] {
                self.min[a] = p[a];
            }
            if p[a] > self.max[a] {
                self.max[a] = p[a];
            }
        }
        self
    }

    fn merge(mut self, other: Bounds) -> Bounds {
        for a in 0..3 {
            if other.min[a] < self.min[a] {
                self.min[a] = other.min[a];
            }
            if other.max[a] > self.max[a] {
                self.max[a] = other.max[a];
            }
        }
        self
    }
}

fn bounds_of(positions: &[[f32; 3]], indices: &[u32]) -> Bounds {
    if indices.len() >= PARALLEL_LEN {
        indices
            .par_iter()
            .fold(|| Bounds::EMPTY, |b, &g| b.add(&positions[g as usize]))
            .reduce(|| Bounds::EMPTY, Bounds::merge)
    } else {
        indices
            .iter()
            .fold(Bounds::EMPTY, |b, &g| b.add(&positions[g as usize]))
    }
}

/// Stable LSD radix sort of `items` by `key(item)`, of which only the low `key_bits` bits
/// (≤ 32) are used. Digits are at most 11 bits (30 bits → 3 passes of 10; 32 → 3 of 11);
/// passes where every item has the same digit are skipped.
pub(crate) fn radix_sort_stable<T: Copy>(
    items: &mut Vec<T>,
    key_bits: u32,
    key: impl Fn(T) -> u32,
) {
    let n = items.len();
    if n < 2 || key_bits == 0 {
        return;
    }
    let passes = key_bits.min(32).div_ceil(11);
    let digit_bits = key_bits.min(32).div_ceil(passes);
    let radix = 1usize << digit_bits;
    let mask = (radix - 1) as u32;
    let digit = |k: u32, pass: u32| ((k >> (pass * digit_bits)) & mask) as usize;

    let mut counts = vec![0usize; passes as usize * radix];
    for &item in items.iter() {
        let k = key(item);
        for pass in 0..passes {
            counts[pass as usize * radix + digit(k, pass)] += 1;
        }
    }

    let mut spare: Vec<T> = items.clone();
    for pass in 0..passes {
        let offsets = &mut counts[pass as usize * radix..(pass as usize + 1) * radix];
        if offsets.contains(&n) {
            continue; // one bucket holds everything: this pass would not move anything
        }
        let mut sum = 0;
        for slot in offsets.iter_mut() {
            let count = *slot;
            *slot = sum;
            sum += count;
        }
        for &item in items.iter() {
            let d = digit(key(item), pass);
            spare[offsets[d]] = item;
            offsets[d] += 1;
        }
        std::mem::swap(items, &mut spare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::rng::Rng;

    /// Straightforward re-statement of §3.3 used as the reference: std stable sort, plain
    /// recursion, no packing, no parallelism.
    fn reference(positions: &[[f32; 3]]) -> Vec<u32> {
        fn go(p: &[[f32; 3]], idx: &mut [u32]) {
            if idx.is_empty() {
                return;
            }
            let mut mn = [f32::INFINITY; 3];
            let mut mx = [f32::NEG_INFINITY; 3];
            for &g in idx.iter() {
                for a in 0..3 {
                    let v = p[g as usize][a];
                    if v < mn[a] {
                        mn[a] = v;
                    }
                    if v > mx[a] {
                        mx[a] = v;
                    }
                }
            }
            let ext: Vec<f64> = (0..3).map(|a| mx[a] as f64 - mn[a] as f64).collect();
            if ext.iter().any(|e| !e.is_finite()) || ext.iter().all(|&e| e == 0.0) {
                return;
            }
            let code = |g: u32| {
                let c: Vec<u32> = (0..3)
                    .map(|a| {
                        let mul = if ext[a] == 0.0 { 0.0 } else { 1024.0 / ext[a] };
                        let v = (p[g as usize][a] as f64 - mn[a] as f64) * mul;
                        if v.is_nan() { 0 } else { v.min(1023.0) as u32 }
                    })
                    .collect();
                let mut m = 0u32;
                for bit in 0..10 {
                    for a in 0..3 {
                        m |= ((c[a] >> bit) & 1) << (3 * bit + a as u32);
                    }
                }
                m
            };
            idx.sort_by_key(|&g| code(g));
            let mut s = 0;
            while s < idx.len() {
                let mut e = s + 1;
                while e < idx.len() && code(idx[e]) == code(idx[s]) {
                    e += 1;
                }
                if e - s > 256 {
                    go(p, &mut idx[s..e]);
                }
                s = e;
            }
        }
        let mut idx: Vec<u32> = (0..positions.len() as u32).collect();
        go(positions, &mut idx);
        idx
    }

    #[test]
    fn spread_and_interleave() {
        assert_eq!(spread_bits(0), 0);
        assert_eq!(spread_bits(1), 1);
        assert_eq!(spread_bits(2), 0b1000);
        assert_eq!(spread_bits(0b11), 0b1001);
        assert_eq!(spread_bits(1023), 0x0924_9249);
        assert_eq!(spread_bits(1024), 0, "only 10 bits are used");
        assert_eq!(morton_code(1, 0, 0), 1);
        assert_eq!(morton_code(0, 1, 0), 2);
        assert_eq!(morton_code(0, 0, 1), 4);
        assert_eq!(morton_code(1023, 1023, 1023), (1 << 30) - 1);
    }

    #[test]
    fn cell_matches_javascript_conversion() {
        assert_eq!(cell(f64::NAN), 0);
        assert_eq!(cell(0.0), 0);
        assert_eq!(cell(511.999), 511);
        assert_eq!(cell(1023.5), 1023);
        assert_eq!(cell(1024.0), 1023);
        assert_eq!(cell(f64::INFINITY), 1023);
    }

    #[test]
    fn cube_corners_follow_z_order() {
        // Corner (x, y, z) ∈ {0, 1}³ lands in cell 0 or 1023 per axis, so its code orders
        // like the 3-bit number x + 2y + 4z.
        let corners: Vec<[f32; 3]> = [5, 2, 7, 0, 3, 6, 1, 4]
            .iter()
            .map(|&b: &u32| [(b & 1) as f32, ((b >> 1) & 1) as f32, ((b >> 2) & 1) as f32])
            .collect();
        let order = morton(&corners);
        let ranks: Vec<u32> = order
            .iter()
            .map(|&g| {
                let p = corners[g as usize];
                p[0] as u32 + 2 * p[1] as u32 + 4 * p[2] as u32
            })
            .collect();
        assert_eq!(ranks, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn cells_truncate_and_clamp() {
        // extent 1 in x → mul 1024: x = 0.5 → cell 512, x = 0.0009 → 0, x = 1 → 1023.
        // y, z vary so the codes differ in a known way.
        let p = vec![
            [1.0, 0.0, 0.0],    // cell x 1023
            [0.5, 0.0, 0.0],    // 512
            [0.0009, 0.0, 0.0], // 0
            [0.0, 0.0, 0.0],    // 0 (ties with the previous: stable)
        ];
        assert_eq!(morton(&p), vec![2, 3, 1, 0]);
    }

    #[test]
    fn equal_codes_keep_input_order() {
        let mut p = vec![[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]];
        for i in 0..20 {
            // all in the far corner cell, interleaved with a near one
            p.push(if i % 2 == 0 {
                [0.9999, 0.9999, 0.9999]
            } else {
                [0.0, 0.0, 0.0]
            });
        }
        let order = morton(&p);
        let near: Vec<u32> = order
            .iter()
            .copied()
            .filter(|&g| p[g as usize][0] == 0.0)
            .collect();
        let mut sorted = near.clone();
        sorted.sort();
        assert_eq!(near, sorted, "equal codes must stay in input order");
        assert_eq!(order[..near.len()], near[..]);
    }

    fn cluster_with_outlier(cluster: usize) -> (Vec<[f32; 3]>, Vec<u32>) {
        // `cluster` points on a line x ∈ [0, 0.5], shuffled, plus one far point: at the top
        // level the whole cluster shares cell 0.
        let mut xs: Vec<u32> = (0..cluster as u32).collect();
        let mut rng = Rng::new(99);
        for i in (1..xs.len()).rev() {
            let j = ((rng.uniform() as f32) * (i + 1) as f32) as usize;
            xs.swap(i, j.min(i));
        }
        let mut p: Vec<[f32; 3]> = xs
            .iter()
            .map(|&k| [k as f32 * 0.5 / cluster as f32, 0.0, 0.0])
            .collect();
        p.push([1000.0, 1000.0, 1000.0]);
        (p, xs)
    }

    #[test]
    fn runs_longer_than_256_are_refined() {
        let (p, _) = cluster_with_outlier(300);
        let order = morton(&p);
        assert_eq!(order[300], 300, "far point last");
        let xs: Vec<f32> = order[..300].iter().map(|&g| p[g as usize][0]).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "cluster sorted along x");
    }

    #[test]
    fn runs_of_256_are_not_refined() {
        let (p, _) = cluster_with_outlier(256);
        let order = morton(&p);
        assert_eq!(order, (0..257).collect::<Vec<u32>>(), "input order kept");
    }

    #[test]
    fn nan_coordinates_are_skipped_and_land_in_cell_zero() {
        // NaN x does not enter the box; its x cell is 0, y and z cells 1023.
        let p = vec![[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [f32::NAN, 1.0, 1.0]];
        assert_eq!(morton(&p), vec![0, 2, 1]);
    }

    #[test]
    fn degenerate_boxes_keep_input_order() {
        assert!(morton(&[]).is_empty());
        assert_eq!(morton(&[[3.0; 3]; 5]), vec![0, 1, 2, 3, 4]);
        let with_inf = vec![[1.0, 0.0, 0.0], [f32::INFINITY, 0.0, 0.0], [0.0, 0.0, 0.0]];
        assert_eq!(morton(&with_inf), vec![0, 1, 2]);
        let all_nan = vec![[f32::NAN; 3]; 3];
        assert_eq!(morton(&all_nan), vec![0, 1, 2]);
    }

    #[test]
    fn matches_reference_on_clustered_scene() {
        // Dense clusters inside a box stretched by outliers: deep recursion, many runs.
        let mut rng = Rng::new(7);
        let mut p = Vec::new();
        for c in 0..40 {
            let centre = [
                (rng.uniform() as f32) * 10.0,
                (rng.uniform() as f32) * 10.0,
                (rng.uniform() as f32) * 10.0,
            ];
            let spread = 10f32.powi(-(c % 5));
            for _ in 0..2000 {
                p.push([
                    centre[0] + (rng.uniform() as f32) * spread,
                    centre[1] + (rng.uniform() as f32) * spread,
                    centre[2] + (rng.uniform() as f32) * spread,
                ]);
            }
        }
        p.push([1e4, -1e4, 3e3]);
        p.extend(std::iter::repeat_n([0.5, 0.5, 0.5], 600)); // identical points
        p.push([f32::NAN, 1.0, 2.0]);
        let order = morton(&p);
        assert_eq!(order, reference(&p));
    }

    #[test]
    fn radix_sort_is_stable_and_sorted() {
        let mut rng = Rng::new(3);
        let items: Vec<(u32, u32)> = (0..5000)
            .map(|i| {
                (
                    (((rng.uniform() as f32) * 4096.0) as u32) << 20 | 0xfffff,
                    i,
                )
            })
            .collect();
        let mut radix = items.clone();
        radix_sort_stable(&mut radix, 32, |(k, _)| k);
        let mut std_sorted = items;
        std_sorted.sort_by_key(|&(k, _)| k);
        assert_eq!(radix, std_sorted);
    }

    /// `cargo test --release --lib order::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release"]
    fn timing() {
        let mut rng = Rng::new(21);
        let n = 1_000_000;
        // Uniform cube, and a clustered scene inside a box stretched by floaters.
        let uniform: Vec<[f32; 3]> = (0..n)
            .map(|_| {
                [
                    (rng.uniform() as f32),
                    (rng.uniform() as f32),
                    (rng.uniform() as f32),
                ]
            })
            .collect();
        let mut clustered = Vec::with_capacity(n);
        while clustered.len() < n {
            let c = [
                (rng.uniform() as f32) * 4.0,
                (rng.uniform() as f32) * 4.0,
                (rng.uniform() as f32),
            ];
            for _ in 0..1000 {
                clustered.push([
                    c[0] + (rng.uniform() as f32) * 0.05,
                    c[1] + (rng.uniform() as f32) * 0.05,
                    c[2] + (rng.uniform() as f32) * 0.05,
                ]);
            }
        }
        clustered.truncate(n - 100);
        for i in 0..100 {
            clustered.push([(i as f32 - 50.0) * 1e3, 500.0, -800.0]);
        }
        for (name, p) in [("uniform", &uniform), ("clustered", &clustered)] {
            let t = std::time::Instant::now();
            let order = morton(p);
            eprintln!("morton {name} {n}: {:.3} s", t.elapsed().as_secs_f64());
            assert_eq!(order.len(), n);
        }
    }
}
