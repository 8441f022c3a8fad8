use super::*;

use crate::encode::rng::Rng;

/// §3.5 written out literally, step by step, with the cost computed inline in the DP loop
/// (no table, no lanes, no threads): the oracle for `build`.
fn reference_build(values: &[f32]) -> Vec<f32> {
    let neg = values.contains(&f32::NEG_INFINITY);
    let pos = values.contains(&f32::INFINITY);
    let mut s: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if !neg && !pos {
        if s.is_empty() {
            return vec![0.0; 256];
        }
        if (s[s.len() - 1] as f64 - s[0] as f64) < 1e-20 {
            return vec![s[0]; 256];
        }
    }
    let k_finite = 256 - neg as usize - pos as usize;
    let mut cents: Vec<f32> = Vec::new();
    if !s.is_empty() {
        let nf = s.len();
        let min = s[0] as f64;
        let range = s[nf - 1] as f64 - min;
        if range < 1e-20 {
            cents.push(s[0]);
        } else {
            let h = 1024.min(nf);
            let iqr = s[(nf as f64 * 0.75).floor() as usize] as f64
                - s[(nf as f64 * 0.25).floor() as usize] as f64;
            let beta = (1.0 - iqr / range).clamp(0.5, 0.999);
            let mut count = vec![0f64; h];
            let mut sum = vec![0f64; h];
            for i in 0..nf {
                let p =
                    beta * (i as f64 / nf as f64) + (1.0 - beta) * ((s[i] as f64 - min) / range);
                let bin = ((h as f64 * p).floor() as usize).min(h - 1);
                count[bin] += 1.0;
                sum[bin] += s[i] as f64;
            }
            let center: Vec<f64> = (0..h)
                .map(|b| {
                    if count[b] > 0.0 {
                        sum[b] / count[b]
                    } else {
                        min + (b as f64 + 0.5) / h as f64 * range
                    }
                })
                .collect();
            let weight: Vec<f64> = count.iter().map(|&c| c.powf(0.5)).collect();
            let (mut pw, mut px, mut pxx) = (vec![0.0; h + 1], vec![0.0; h + 1], vec![0.0; h + 1]);
            for b in 0..h {
                pw[b + 1] = pw[b] + weight[b];
                px[b + 1] = px[b] + weight[b] * center[b];
                pxx[b + 1] = pxx[b] + weight[b] * center[b] * center[b];
            }
            let cost = |a: usize, b: usize| {
                let w = pw[b + 1] - pw[a];
                if w <= 0.0 {
                    0.0
                } else {
                    let x = px[b + 1] - px[a];
                    (pxx[b + 1] - pxx[a]) - (x * x) / w
                }
            };
            let mean = |a: usize, b: usize| {
                let w = pw[b + 1] - pw[a];
                if w <= 0.0 {
                    (center[a] + center[b]) * 0.5
                } else {
                    (px[b + 1] - px[a]) / w
                }
            };
            let k = k_finite.min(count.iter().filter(|&&c| c > 0.0).count());
            let mut prev: Vec<f64> = (0..h).map(|j| cost(0, j)).collect();
            let mut splits = vec![vec![-1i64; h]; k + 1];
            for m in 2..=k {
                let mut cur = vec![1e30; h];
                for j in m - 1..h {
                    let (mut best, mut best_s) = (1e30, m - 2);
                    for s in m - 2..j {
                        let c = prev[s] + cost(s + 1, j);
                        if c < best {
                            best = c;
                            best_s = s;
                        }
                    }
                    cur[j] = best;
                    splits[m][j] = best_s as i64;
                }
                prev = cur;
            }
            let mut out = vec![0f32; k];
            let mut j = h as i64 - 1;
            for m in (1..=k).rev() {
                let sp = if m > 1 { splits[m][j as usize] } else { -1 };
                out[m - 1] = mean((sp + 1) as usize, j as usize) as f32;
                j = sp;
            }
            out.sort_by(|a, b| a.partial_cmp(b).unwrap());
            cents = out;
        }
    }
    let lo = s.first().map_or(0.0, |&v| v as f64);
    let hi = s.last().map_or(0.0, |&v| v as f64);
    let mut cb = Vec::new();
    if neg {
        cb.push((lo - 20.0) as f32);
    }
    cb.extend(&cents);
    let pad = match cents.last() {
        Some(&c) => c,
        None if neg => (lo - 20.0) as f32,
        None => (hi + 20.0) as f32,
    };
    while cb.len() < 256 - pos as usize {
        cb.push(pad);
    }
    if pos {
        cb.push((hi + 20.0) as f32);
    }
    cb
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_valid(cb: &[f32]) {
    assert_eq!(cb.len(), 256);
    assert!(cb.iter().all(|v| v.is_finite()), "all finite");
    assert!(cb.windows(2).all(|w| w[0] <= w[1]), "ascending");
}

fn normal_values(seed: u64, n: usize, scale: f64, offset: f64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| (rng.normal() * scale + offset) as f32)
        .collect()
}

#[test]
fn matches_literal_reference_bit_for_bit() {
    let mut rng = Rng::new(11);
    let mut cases: Vec<(&str, Vec<f32>)> = vec![
        ("normal 5000", normal_values(1, 5000, 1.0, 0.0)),
        ("small 700", normal_values(2, 700, 0.3, -4.0)),
        (
            "few 300 (< 256 bins non-empty?)",
            normal_values(3, 300, 2.0, 1.0),
        ),
        (
            "duplicates",
            (0..3000).map(|i| ((i * 7919) % 37) as f32 * 0.25).collect(),
        ),
        (
            "heavy tail",
            (0..4000)
                .map(|_| {
                    let u = rng.uniform();
                    (if u < 0.5 { -1.0 } else { 1.0 } * (1.0 / (1e-3 + rng.uniform())).powi(2))
                        as f32
                })
                .collect(),
        ),
    ];
    let mut with_inf = normal_values(4, 2000, 1.5, -5.0);
    with_inf.extend([
        f32::NEG_INFINITY,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ]);
    cases.push(("with ±inf and NaN", with_inf));
    let mut neg_only = normal_values(5, 1500, 0.5, 0.0);
    neg_only.push(f32::NEG_INFINITY);
    cases.push(("with -inf", neg_only));
    for (name, values) in &cases {
        let cb = build(values);
        assert_valid(&cb);
        assert_eq!(bits(&cb), bits(&reference_build(values)), "case {name}");
    }
}

#[test]
fn entries_stay_within_the_finite_range() {
    let values = normal_values(6, 20_000, 0.7, 2.0);
    let cb = build(&values);
    assert_valid(&cb);
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    // Centroids are weighted means of bins, so they lie inside [min, max] (not on it).
    assert!(cb[0] >= lo && cb[255] <= hi);
    let distinct = cb.windows(2).filter(|w| w[0] < w[1]).count() + 1;
    assert_eq!(distinct, 256, "20k spread values fill every entry");
}

#[test]
fn infinities_get_finite_sentinels() {
    let mut values = vec![1.0, 2.0, 3.0, f32::NEG_INFINITY, f32::INFINITY, f32::NAN];
    let cb = build(&values);
    assert_valid(&cb);
    assert_eq!(cb[0], 1.0 - 20.0);
    assert_eq!(cb[255], 3.0 + 20.0);
    assert_eq!(&cb[1..4], &[1.0, 2.0, 3.0]);
    assert!(
        cb[4..255].iter().all(|&v| v == 3.0),
        "padded with the last centroid"
    );
    assert_eq!(index(&cb, f32::NEG_INFINITY), 0);
    assert_eq!(index(&cb, f32::INFINITY), 255);
    assert_eq!(index(&cb, 2.0), 2);

    // Only infinities: sentinels around zero, padding with the low sentinel.
    values = vec![f32::NEG_INFINITY, f32::INFINITY];
    let cb = build(&values);
    assert_valid(&cb);
    assert_eq!((cb[0], cb[254], cb[255]), (-20.0, -20.0, 20.0));

    // 2DGS-like: one constant finite value plus −∞ → [min − 20, min, min, …].
    let cb = build(&[-3.5, -3.5, f32::NEG_INFINITY]);
    assert_eq!(cb[0], -23.5);
    assert!(cb[1..].iter().all(|&v| v == -3.5));
}

#[test]
fn constant_empty_and_nan_inputs() {
    assert!(build(&[0.25; 1000]).iter().all(|&v| v == 0.25));
    assert!(build(&[]).iter().all(|&v| v == 0.0));
    assert_eq!(build(&[]).len(), 256);
    assert!(build(&[f32::NAN; 10]).iter().all(|&v| v == 0.0));
    // NaN is ignored, not pooled.
    assert!(build(&[7.0, f32::NAN, 7.0]).iter().all(|&v| v == 7.0));
}

#[test]
fn few_distinct_values_are_exact_then_padded() {
    // 10 evenly spaced integers once each: H = 10 bins and 10·pos_i ≥ i·min(1, 10/9), so each
    // value gets its own bin → 10 centroids equal to the values.
    let values: Vec<f32> = [3, -4, 0, 5, -1, 2, -3, 1, 4, -2]
        .iter()
        .map(|&v| v as f32)
        .collect();
    let cb = build(&values);
    assert_valid(&cb);
    let mut sorted = values.clone();
    sorted.sort_by(f32::total_cmp);
    assert_eq!(&cb[..10], &sorted[..]);
    assert!(cb[10..].iter().all(|&v| v == 5.0));
    for &v in &values {
        assert_eq!(cb[index(&cb, v) as usize], v, "each value decodes exactly");
    }
}

#[test]
fn index_ties_go_up_and_nan_goes_last() {
    let cb: Vec<f32> = (0..256).map(|i| i as f32).collect();
    assert_eq!(index(&cb, 0.5), 1, "tie → upper entry");
    assert_eq!(index(&cb, 0.49), 0);
    assert_eq!(index(&cb, 254.5), 255);
    assert_eq!(index(&cb, -1e9), 0);
    assert_eq!(index(&cb, 1e9), 255);
    assert_eq!(index(&cb, f32::NAN), 255);
    // Duplicated entries (padding): the last of the equal run wins.
    let mut padded = vec![0.0f32; 256];
    padded[1..].fill(1.0);
    assert_eq!(index(&padded, 1.0), 255);
    assert_eq!(index(&padded, 0.4), 0);
}

#[test]
fn quantizer_agrees_with_index() {
    let values = normal_values(8, 3000, 1.0, 0.0);
    let cb = build(&values);
    let q = Quantizer::new(&cb);
    let mut rng = Rng::new(9);
    for _ in 0..20_000 {
        let v = (rng.normal() * 1.5) as f32;
        assert_eq!(q.index(v), index(&cb, v));
        // and it is the nearest entry
        let i = index(&cb, v) as usize;
        let d = (cb[i] as f64 - v as f64).abs();
        assert!(cb.iter().all(|&c| (c as f64 - v as f64).abs() >= d));
    }
    for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, cb[0], cb[255]] {
        assert_eq!(q.index(v), index(&cb, v));
    }
}

#[test]
fn beats_a_uniform_grid_on_gaussian_data() {
    let values = normal_values(10, 100_000, 1.0, 0.0);
    let sse = |cb: &[f32]| -> f64 {
        values
            .iter()
            .map(|&v| (cb[index(cb, v) as usize] as f64 - v as f64).powi(2))
            .sum()
    };
    let cb = build(&values);
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min) as f64;
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let uniform: Vec<f32> = (0..256)
        .map(|i| (lo + (hi - lo) * (i as f64 + 0.5) / 256.0) as f32)
        .collect();
    let (ours, grid) = (sse(&cb), sse(&uniform));
    assert!(
        ours < grid,
        "DP SSE {ours} should beat the uniform grid's {grid}"
    );
}

#[test]
fn radix_float_sort_orders_like_total_cmp() {
    let mut values = normal_values(12, 50_000, 1e3, 0.0);
    values.extend([
        0.0,
        -0.0,
        f32::MIN,
        f32::MAX,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
    ]);
    let mut ours = values.clone();
    sort_f32(&mut ours);
    values.sort_by(f32::total_cmp);
    assert_eq!(bits(&ours), bits(&values));
}

#[test]
fn parallel_sort_and_binning_match_the_serial_reference() {
    // Above PARALLEL_BINNING values: bins are counted and summed per bin in parallel.
    let mut rng = Rng::new(21);
    let mut values = normal_values(14, 150_000, 0.8, -1.0);
    values.extend((0..100_000).map(|_| {
        let u = rng.uniform() * 2.0 - 1.0;
        (u * u * u * 3.0) as f32
    }));
    values.extend((0..20_000).map(|i| ((i * 7919) % 37) as f32 * 0.25));
    assert!(values.len() > PARALLEL_BINNING);
    assert_eq!(bits(&build(&values)), bits(&reference_build(&values)));

    let keys: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
    let (mut serial, mut parallel) = (keys.clone(), keys);
    sort_keys(&mut serial, false);
    sort_keys(&mut parallel, true);
    assert_eq!(serial, parallel);
}

/// `cargo test --release --lib codebook::tests::timing -- --ignored --nocapture`
#[test]
#[ignore = "timing; run in release"]
fn timing() {
    for n in [1_500_000, 4_500_000] {
        let values = normal_values(13, n, 1.3, -4.0);
        let t = std::time::Instant::now();
        let cb = build(&values);
        let build_s = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let q = Quantizer::new(&cb);
        let sum: u64 = values.iter().map(|&v| u64::from(q.index(v))).sum();
        eprintln!(
            "codebook {n} values: build {build_s:.3} s, index all {:.3} s ({sum})",
            t.elapsed().as_secs_f64()
        );
    }
}
