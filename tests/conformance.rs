//! Every backend against the CPU reference (`backend::cpu`): one body per kernel, generic over
//! `Backend`, instantiated by `conformance!` for `cpu`, `wgpu`, `wgpu_windowed` (tiny point
//! windows and buffer chunks, so the split paths run on small inputs) and `cuda`; plus `cuda`
//! against `wgpu` directly (`cuda_matches_wgpu`).
//!
//! - sort: bit-exact (keys and values).
//! - assignment: labels equal, except at true near-ties: the two centroids' squared distances
//!   (in f64) within `NEAR_TIE` relative. Near-ties are counted and printed. Exact duplicate
//!   centroids must go to the lower index on every backend.
//! - update: counts exact; sums within `SUM_TOLERANCE` of the magnitude of the summed values.
//! - decimation (`decimate_*`): within the tolerances of `DECIMATE_*` plus twice the spread
//!   of the CPU's own result when its inputs move by `PERTURB_ULPS` ulps (transcendental
//!   functions, divisions and contraction differ); each candidate's cost against the CPU's
//!   cost of the same pair, partners equal except at near-ties (the CPU's costs of the kept
//!   and the dropped partner within the sum of their tolerances); merged rotations compared
//!   through their covariance R·diag(e^2l)·Rᵀ (eigenvector signs and equal axes may differ).
//!   Self-tests: deliberately wrong results (costs × 1.5, swapped axes, opacity logits off
//!   by 0.05) must be rejected (`SELF_TEST_REJECTED`).
//! - bad calls (`rejects_bad_calls`): every bad length or PLAS lattice is an `Err` naming the
//!   kernel, on every backend (the checks sit at the family traits' seam), and the backend
//!   still works afterwards.
//!
//! Without a wgpu adapter the wgpu tests print `skipped: no wgpu adapter (<why>)` and pass,
//! unless `REQUIRE_GPU_ADAPTER=1`, which makes them fail. Without a usable CUDA driver the
//! cuda tests print `skipped: no CUDA driver (<why>)` and pass, unless `REQUIRE_CUDA=1`.

use std::sync::OnceLock;

use splatpress::backend::cpu;
use splatpress::backend::cuda::CudaBackend;
use splatpress::backend::decimate::{CANDIDATES, MAX_WINDOW, Merged, NO_PARTNER, PREPARED, Splats};
use splatpress::backend::plas::{PlasBlocks, PlasGrid};
use splatpress::backend::wgpu::{WgpuBackend, WgpuOptions};
use splatpress::backend::{Backend, Buffers, Kmeans, Sort};

/// Squared distances this close (relative) are a tie that rounding may break either way: the
/// CPU and WGSL kernels evaluate ‖c‖² − 2·x·c in f32 with different summation orders.
const NEAR_TIE: f64 = 1e-5;
/// Sums may differ by this fraction of Σ|x| over the members (the CPU sums in f64, the GPU
/// in compensated f32).
const SUM_TOLERANCE: f64 = 1e-5;

/// The running test's name (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("conformance")
        .to_string()
}

fn open(options: WgpuOptions) -> Result<WgpuBackend, String> {
    WgpuBackend::new(options).map_err(|e| e.to_string())
}

/// The shared backend of `slot`, or `None` after printing why the test is skipped.
fn shared(
    slot: &'static OnceLock<Result<WgpuBackend, String>>,
    options: fn() -> WgpuOptions,
) -> Option<&'static WgpuBackend> {
    match slot.get_or_init(|| open(options())) {
        Ok(backend) => Some(backend),
        Err(why) => {
            if std::env::var("REQUIRE_GPU_ADAPTER").as_deref() == Ok("1") {
                panic!("REQUIRE_GPU_ADAPTER=1 but no wgpu adapter: {why}");
            }
            crate::util::skip(&test_name(), &format!("no wgpu adapter ({why})"));
            None
        }
    }
}

pub(crate) fn wgpu_default() -> Option<&'static WgpuBackend> {
    static SLOT: OnceLock<Result<WgpuBackend, String>> = OnceLock::new();
    shared(&SLOT, || WgpuOptions {
        allow_cpu: true,
        ..WgpuOptions::default()
    })
}

pub(crate) fn wgpu_windowed() -> Option<&'static WgpuBackend> {
    static SLOT: OnceLock<Result<WgpuBackend, String>> = OnceLock::new();
    shared(&SLOT, || WgpuOptions {
        allow_cpu: true,
        // 192 rows of 45 values per window, and the smallest chunk (184 320 values).
        max_window_bytes: Some(192 * 45 * 4),
        max_buffer_bytes: Some(1),
        ..WgpuOptions::default()
    })
}

/// The shared CUDA backend, or `None` after printing why the test is skipped.
pub(crate) fn cuda() -> Option<&'static CudaBackend> {
    static SLOT: OnceLock<Result<CudaBackend, String>> = OnceLock::new();
    match SLOT.get_or_init(|| CudaBackend::new().map_err(|e| e.to_string())) {
        Ok(backend) => Some(backend),
        Err(why) => {
            if std::env::var("REQUIRE_CUDA").as_deref() == Ok("1") {
                panic!("REQUIRE_CUDA=1 but no usable CUDA: {why}");
            }
            crate::util::skip(&test_name(), &format!("no CUDA driver ({why})"));
            None
        }
    }
}

/// One test module per body, instantiated for cpu, wgpu, wgpu_windowed and cuda (also used by
/// `plas_conformance`).
macro_rules! conformance {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[test]
            fn cpu() {
                super::$body(&splatpress::backend::cpu::Cpu);
            }
            #[test]
            fn wgpu() {
                if let Some(backend) = crate::conformance::wgpu_default() {
                    super::$body(backend);
                }
            }
            #[test]
            fn wgpu_windowed() {
                if let Some(backend) = crate::conformance::wgpu_windowed() {
                    super::$body(backend);
                }
            }
            #[test]
            fn cuda() {
                if let Some(backend) = crate::conformance::cuda() {
                    super::$body(backend);
                }
            }
        }
    )*};
}
pub(crate) use conformance;

conformance!(
    sort_pairs_bit_exact,
    kmeans_assign_matches_cpu,
    kmeans_update_matches_cpu,
    kmeans_assign_on_palette_shapes,
    kmeans_assign_large_k,
    morton_order_matches_cpu,
    decimate_prepare_matches_cpu,
    decimate_candidates_matches_cpu,
    decimate_merge_matches_cpu,
    write_at_matches_cpu,
    rejects_bad_calls,
);

/// The repository's one generator (shared by the PLAS test modules).
pub(crate) use splatpress::encode::rng::Rng;

/// Sizes around the 64- and 256-wide workgroups, a prime over several groups, a larger case.
const SIZES: [usize; 6] = [0, 1, 63, 65, 1009, 5003];
const KS: [usize; 4] = [1, 7, 256, 1024];
const DIMS: [usize; 3] = [9, 24, 45];

/// Draws one sort key.
type KeyMaker = Box<dyn Fn(&mut Rng) -> u64>;

fn sort_pairs_bit_exact<B: Backend>(backend: &B) {
    let name = backend.name();
    let mut rng = Rng::new(1);
    for n in SIZES.into_iter().chain([70_001]) {
        let patterns: [(&str, KeyMaker); 4] = [
            ("random 64-bit", Box::new(|r: &mut Rng| r.next_u64())),
            (
                "16 distinct (stability)",
                Box::new(|r: &mut Rng| r.below(16) << 20),
            ),
            (
                "high word only",
                Box::new(|r: &mut Rng| r.below(1000) << 40),
            ),
            ("constant", Box::new(|_: &mut Rng| 0xdead_beef_0000_0001)),
        ];
        for (label, make) in patterns.iter() {
            let keys: Vec<u64> = (0..n).map(|_| make(&mut rng)).collect();
            let values: Vec<u32> = (0..n as u32).collect();
            let (mut want_keys, mut want_values) = (keys.clone(), values.clone());
            cpu::sort_pairs(&mut want_keys, &mut want_values);
            let mut k = backend.upload(&keys).unwrap();
            let mut v = backend.upload(&values).unwrap();
            backend.sort_pairs(&mut k, &mut v).unwrap();
            let got_keys = backend.download(&k).unwrap();
            let got_values = backend.download(&v).unwrap();
            if let Some(i) =
                (0..n).find(|&i| got_keys[i] != want_keys[i] || got_values[i] != want_values[i])
            {
                panic!(
                    "{name}: sort n={n} ({label}): first difference at {i}: got ({}, {}), want ({}, {})",
                    got_keys[i], got_values[i], want_keys[i], want_values[i]
                );
            }
        }
    }
}

fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum()
}

/// Labels of `backend` against the CPU's for one case; returns the number of near-ties.
fn check_assign<B: Backend>(
    backend: &B,
    points: &[f32],
    centroids: &[f32],
    dim: usize,
    duplicates: &[(usize, usize)],
) -> usize {
    let (n, k) = (points.len() / dim, centroids.len() / dim);
    let mut want = vec![0u32; n];
    cpu::kmeans_assign(points, centroids, dim, &mut want);
    let p = backend.upload(points).unwrap();
    let c = backend.upload(centroids).unwrap();
    let mut l = backend.upload(&vec![u32::MAX; n]).unwrap();
    backend
        .kmeans_assign(&p, &c, dim, &mut l, &mut Default::default())
        .unwrap();
    let got = backend.download(&l).unwrap();
    let row = |m: &[f32], i: usize| m[i * dim..(i + 1) * dim].to_vec();
    let mut near = 0;
    for i in 0..n {
        let case = format!("{}: n={n} k={k} dim={dim} point {i}", backend.name());
        assert!(
            (got[i] as usize) < k,
            "{case}: label {} out of range",
            got[i]
        );
        for &(low, high) in duplicates {
            assert_ne!(
                got[i] as usize, high,
                "{case}: duplicate centroids {low}/{high} must tie to {low}"
            );
        }
        if got[i] != want[i] {
            let x = row(points, i);
            let a = squared_distance(&x, &row(centroids, got[i] as usize));
            let b = squared_distance(&x, &row(centroids, want[i] as usize));
            assert!(
                (a - b).abs() <= NEAR_TIE * a.max(b),
                "{case}: label {} (distance {a}) but the CPU says {} (distance {b})",
                got[i],
                want[i]
            );
            near += 1;
        }
    }
    near
}

fn kmeans_assign_matches_cpu<B: Backend>(backend: &B) {
    let mut rng = Rng::new(2);
    let mut near_ties = 0;
    let mut cases = 0;
    for (i, n) in SIZES.into_iter().enumerate() {
        for (j, k) in KS.into_iter().enumerate() {
            let dims: &[usize] = if n == 5003 {
                &DIMS
            } else {
                &DIMS[(i + j) % 3..][..1]
            };
            for &dim in dims {
                let points: Vec<f32> = (0..n * dim).map(|_| rng.signed()).collect();
                let mut centroids: Vec<f32> = (0..k * dim).map(|_| rng.signed()).collect();
                // Some centroids are data points (distance 0) and one pair is duplicated.
                for c in (0..k).step_by(3) {
                    if n > 0 {
                        let src = rng.below(n as u64) as usize;
                        centroids[c * dim..(c + 1) * dim]
                            .copy_from_slice(&points[src * dim..(src + 1) * dim]);
                    }
                }
                let mut duplicates = Vec::new();
                if k >= 7 {
                    let (low, high) = (2, k - 1);
                    centroids.copy_within(low * dim..(low + 1) * dim, high * dim);
                    duplicates.push((low, high));
                }
                near_ties += check_assign(backend, &points, &centroids, dim, &duplicates);
                cases += 1;
            }
        }
    }
    eprintln!(
        "{}: kmeans_assign: {cases} cases, {near_ties} labels differ at near-ties",
        backend.name()
    );
}

fn kmeans_update_matches_cpu<B: Backend>(backend: &B) {
    let mut rng = Rng::new(3);
    for (i, n) in SIZES.into_iter().enumerate() {
        for (j, k) in KS.into_iter().enumerate() {
            let dim = DIMS[(i + j) % 3];
            let points: Vec<f32> = (0..n * dim).map(|_| rng.signed() * 4.0).collect();
            // Half the cases leave the upper half of the clusters empty.
            let used = if (i + j) % 2 == 0 { k } else { k.div_ceil(2) };
            let labels: Vec<u32> = (0..n).map(|_| rng.below(used as u64) as u32).collect();
            let (mut want_sums, mut want_counts) = (vec![0f32; k * dim], vec![0u32; k]);
            cpu::kmeans_update(&points, &labels, dim, k, &mut want_sums, &mut want_counts);
            let p = backend.upload(&points).unwrap();
            let l = backend.upload(&labels).unwrap();
            // Stale contents must be overwritten.
            let mut s = backend.upload(&vec![7.0f32; k * dim]).unwrap();
            let mut c = backend.upload(&vec![7u32; k]).unwrap();
            backend
                .kmeans_update(&p, &l, dim, k, &mut s, &mut c)
                .unwrap();
            let (got_sums, got_counts) =
                (backend.download(&s).unwrap(), backend.download(&c).unwrap());
            let case = format!("{}: n={n} k={k} dim={dim}", backend.name());
            assert_eq!(got_counts, want_counts, "{case}: counts");
            let mut magnitude = vec![0f64; k * dim];
            for (row, &label) in labels.iter().enumerate() {
                for d in 0..dim {
                    magnitude[label as usize * dim + d] += f64::from(points[row * dim + d].abs());
                }
            }
            for e in 0..k * dim {
                let diff = (f64::from(got_sums[e]) - f64::from(want_sums[e])).abs();
                assert!(
                    diff <= SUM_TOLERANCE * magnitude[e] || got_sums[e] == want_sums[e],
                    "{case}: sum of cluster {} dim {}: got {}, want {} (Σ|x| = {})",
                    e / dim,
                    e % dim,
                    got_sums[e],
                    want_sums[e],
                    magnitude[e]
                );
            }
        }
    }
}

/// Pieces written into a buffer at offsets (k-means fills its point buffer this way) land
/// where a host slice copy puts them, across chunk boundaries too (`wgpu_windowed`'s chunks
/// are 184,320 values: the buffer spans three).
fn write_at_matches_cpu<B: Backend>(backend: &B) {
    let n = 400_000;
    let mut rng = Rng::new(11);
    let mut want: Vec<f32> = (0..n).map(|_| rng.signed()).collect();
    let mut buf = backend.upload(&want).unwrap();
    let pieces = [
        (0, 5),
        (184_320 - 7, 20),
        (184_320, 1),
        (2 * 184_320 - 1, 2),
        (250_000, 100_000),
        (n - 3, 3),
        (17, 0),
    ];
    for (offset, len) in pieces {
        let data: Vec<f32> = (0..len).map(|_| rng.signed()).collect();
        backend.write_at(&mut buf, offset, &data).unwrap();
        want[offset..offset + len].copy_from_slice(&data);
    }
    assert!(
        backend.download(&buf).unwrap() == want,
        "{}: write_at",
        backend.name()
    );
}

/// One point matrix over lavapipe's 128 MiB binding limit (800 000 × 45 f32 = 144 MB) goes
/// through windows of the real limit; labels checked at sampled rows.
#[test]
fn wgpu_assign_past_the_binding_limit() {
    let Some(backend) = wgpu_default() else {
        return;
    };
    let (n, k, dim) = (800_000, 7, 45);
    let mut rng = Rng::new(4);
    let points: Vec<f32> = (0..n * dim).map(|_| rng.signed()).collect();
    let centroids: Vec<f32> = (0..k * dim).map(|_| rng.signed()).collect();
    let p = backend.upload(&points).unwrap();
    let c = backend.upload(&centroids).unwrap();
    let mut l = backend.zeros::<u32>(n).unwrap();
    backend
        .kmeans_assign(&p, &c, dim, &mut l, &mut Default::default())
        .unwrap();
    let got = backend.download(&l).unwrap();
    let sample: Vec<usize> = (0..n).step_by(997).chain([n - 1]).collect();
    for i in sample {
        let mut want = [0u32];
        cpu::kmeans_assign(&points[i * dim..(i + 1) * dim], &centroids, dim, &mut want);
        if got[i] != want[0] {
            let x = &points[i * dim..(i + 1) * dim];
            let a = squared_distance(x, &centroids[got[i] as usize * dim..][..dim]);
            let b = squared_distance(x, &centroids[want[0] as usize * dim..][..dim]);
            assert!(
                (a - b).abs() <= NEAR_TIE * a.max(b),
                "row {i}: got {} want {}",
                got[i],
                want[0]
            );
        }
    }
}

/// The f16-storage variant (where the adapter has `shader-f16`) on inputs that f16 holds
/// exactly (multiples of 1/256 in [-1, 1]): then only the storage format differs, and
/// labels must equal the CPU's except at near-ties.
#[test]
fn wgpu_f16_assign_on_f16_exact_inputs() {
    static SLOT: OnceLock<Result<WgpuBackend, String>> = OnceLock::new();
    let Some(backend) = shared(&SLOT, || WgpuOptions {
        allow_cpu: true,
        allow_f16: true,
        ..WgpuOptions::default()
    }) else {
        return;
    };
    if !backend.uses_f16() {
        crate::util::skip(
            &test_name(),
            &format!("adapter {} has no shader-f16", backend.adapter().name),
        );
        return;
    }
    let mut rng = Rng::new(5);
    let mut exact = || (rng.below(513) as f32 - 256.0) / 256.0;
    let mut near = 0;
    for (n, k, dim) in [(1, 1, 9), (65, 7, 24), (1009, 256, 45), (5003, 1024, 45)] {
        let points: Vec<f32> = (0..n * dim).map(|_| exact()).collect();
        let centroids: Vec<f32> = (0..k * dim).map(|_| exact()).collect();
        near += check_assign(backend, &points, &centroids, dim, &[]);
    }
    eprintln!("wgpu f16: {near} labels differ at near-ties");
}

/// The palette's real shape: SH of the sample scene, large k, centroids drawn from the points
/// (as the k-means init does), so every point has a centroid at distance 0 or near it.
fn kmeans_assign_on_palette_shapes<B: Backend>(backend: &B) {
    let mut near_ties = 0;
    for (n, k, bands) in [
        (8000, 7400, 1),
        (5000, 2048, 3),
        (5000, 4096, 3),
        (3000, 2048, 2),
        (20_000, 16_384, 1),
    ] {
        let scene = splatpress::sample::scene(n, bands, 5);
        let dim = scene.rest_len();
        let rows = splatpress::encode::kmeans::distinct_indices(n, k, 1);
        let centroids: Vec<f32> = rows
            .iter()
            .flat_map(|&r| scene.rest(r as usize).to_vec())
            .collect();
        near_ties += check_assign(backend, &scene.sh_rest, &centroids, dim, &[]);
    }
    eprintln!(
        "{}: palette shapes: {near_ties} labels differ at near-ties",
        backend.name()
    );
}

/// Rows wider than the tiled kernel's shared memory (dim 100, 80) take the simple kernel; the
/// tiled kernel at dim 75 (its widest) and at K not a multiple of its tile.
#[test]
fn cuda_assign_wide_rows_and_odd_tiles() {
    let Some(backend) = cuda() else {
        return;
    };
    let mut rng = Rng::new(6);
    let mut near = 0;
    for (n, k, dim) in [
        (3001, 300, 100),
        (3001, 129, 80),
        (257, 1, 1),
        (1000, 4097, 3),
    ] {
        let points: Vec<f32> = (0..n * dim).map(|_| rng.signed()).collect();
        let centroids: Vec<f32> = (0..k * dim).map(|_| rng.signed()).collect();
        near += check_assign(backend, &points, &centroids, dim, &[]);
    }
    eprintln!("cuda wide/odd: {near} labels differ at near-ties");
}

/// `cuda` against `wgpu` directly on one k-means step (assignment, then update from the CUDA
/// labels) and a sort: labels equal except at near-ties, counts exact, sums within tolerance,
/// sort bit-exact.
#[test]
fn cuda_matches_wgpu() {
    let (Some(cuda), Some(wgpu)) = (cuda(), wgpu_default()) else {
        return;
    };
    let (n, k, dim) = (20_000, 1024, 45);
    let mut rng = Rng::new(7);
    let points: Vec<f32> = (0..n * dim).map(|_| rng.signed()).collect();
    let centroids: Vec<f32> = (0..k * dim).map(|_| rng.signed()).collect();
    let labels_of = |b: &dyn Fn() -> Vec<u32>| b();
    let cuda_labels = labels_of(&|| {
        let p = cuda.upload(&points).unwrap();
        let c = cuda.upload(&centroids).unwrap();
        let mut l = cuda.zeros::<u32>(n).unwrap();
        cuda.kmeans_assign(&p, &c, dim, &mut l, &mut ()).unwrap();
        cuda.download(&l).unwrap()
    });
    let wgpu_labels = labels_of(&|| {
        let p = wgpu.upload(&points).unwrap();
        let c = wgpu.upload(&centroids).unwrap();
        let mut l = wgpu.zeros::<u32>(n).unwrap();
        wgpu.kmeans_assign(&p, &c, dim, &mut l, &mut ()).unwrap();
        wgpu.download(&l).unwrap()
    });
    let mut near = 0;
    for i in 0..n {
        if cuda_labels[i] != wgpu_labels[i] {
            let x = &points[i * dim..(i + 1) * dim];
            let a = squared_distance(x, &centroids[cuda_labels[i] as usize * dim..][..dim]);
            let b = squared_distance(x, &centroids[wgpu_labels[i] as usize * dim..][..dim]);
            assert!(
                (a - b).abs() <= NEAR_TIE * a.max(b),
                "point {i}: cuda {} ({a}) vs wgpu {} ({b})",
                cuda_labels[i],
                wgpu_labels[i]
            );
            near += 1;
        }
    }
    let update = |b: &dyn Fn() -> (Vec<f32>, Vec<u32>)| b();
    let (cs, cc) = update(&|| {
        let p = cuda.upload(&points).unwrap();
        let l = cuda.upload(&cuda_labels).unwrap();
        let mut s = cuda.zeros::<f32>(k * dim).unwrap();
        let mut c = cuda.zeros::<u32>(k).unwrap();
        cuda.kmeans_update(&p, &l, dim, k, &mut s, &mut c).unwrap();
        (cuda.download(&s).unwrap(), cuda.download(&c).unwrap())
    });
    let (ws, wc) = update(&|| {
        let p = wgpu.upload(&points).unwrap();
        let l = wgpu.upload(&cuda_labels).unwrap();
        let mut s = wgpu.zeros::<f32>(k * dim).unwrap();
        let mut c = wgpu.zeros::<u32>(k).unwrap();
        wgpu.kmeans_update(&p, &l, dim, k, &mut s, &mut c).unwrap();
        (wgpu.download(&s).unwrap(), wgpu.download(&c).unwrap())
    });
    assert_eq!(cc, wc, "counts");
    for e in 0..k * dim {
        let tol = SUM_TOLERANCE * f64::from(cc[e / dim]).max(1.0);
        assert!(
            (f64::from(cs[e]) - f64::from(ws[e])).abs() <= tol,
            "sum {e}: cuda {} wgpu {}",
            cs[e],
            ws[e]
        );
    }
    let keys: Vec<u64> = (0..100_003)
        .map(|_| rng.next_u64() >> rng.below(64))
        .collect();
    let values: Vec<u32> = (0..keys.len() as u32).collect();
    let sorted = |b: &dyn Fn() -> (Vec<u64>, Vec<u32>)| b();
    let c = sorted(&|| {
        let mut k = cuda.upload(&keys).unwrap();
        let mut v = cuda.upload(&values).unwrap();
        cuda.sort_pairs(&mut k, &mut v).unwrap();
        (cuda.download(&k).unwrap(), cuda.download(&v).unwrap())
    });
    let w = sorted(&|| {
        let mut k = wgpu.upload(&keys).unwrap();
        let mut v = wgpu.upload(&values).unwrap();
        wgpu.sort_pairs(&mut k, &mut v).unwrap();
        (wgpu.download(&k).unwrap(), wgpu.download(&v).unwrap())
    });
    assert!(c == w, "sorted pairs differ");
    eprintln!(
        "cuda vs wgpu: n={n} k={k} dim={dim}: {near} labels differ at near-ties; update and sort agree"
    );
}

/// k far past what one invocation can scan on lavapipe (its 65,535-iteration loop limit cut
/// the scan off near 1,370 centroids of 45 values, 56,000 of 9), so the wgpu backend must
/// split the centroids across dispatches and carry the running minimum without changing a
/// label. Exact copies of points sit in the first and the last centroids, and duplicated
/// centroids far apart (in different dispatches) must tie to the lower index.
fn kmeans_assign_large_k<B: Backend>(backend: &B) {
    let mut rng = Rng::new(4);
    let mut near_ties = 0;
    for (n, k, dim) in [(3000, 65_536, 45), (2000, 70_000, 9)] {
        let points: Vec<f32> = (0..n * dim).map(|_| rng.signed()).collect();
        let mut centroids: Vec<f32> = (0..k * dim).map(|_| rng.signed()).collect();
        let mut place = |centroid: usize, point: usize| {
            centroids[centroid * dim..(centroid + 1) * dim]
                .copy_from_slice(&points[point * dim..(point + 1) * dim]);
        };
        for point in 0..n / 3 {
            // A third of the points at a centroid early, the rest of those late.
            let centroid = if point % 2 == 0 { point } else { k - 1 - point };
            place(centroid, point);
        }
        let duplicates = [(3, k - 2), (k / 2, k - 3), (1000, 40_001)];
        for &(low, high) in &duplicates {
            centroids.copy_within(low * dim..(low + 1) * dim, high * dim);
        }
        near_ties += check_assign(backend, &points, &centroids, dim, &duplicates);
    }
    eprintln!(
        "{}: large k: {near_ties} labels differ at near-ties",
        backend.name()
    );
}

/// The Morton driver (`encode::order::morton_with`) sorts through the backend's `sort_pairs`;
/// every backend must give exactly the CPU's order, refinement of long equal-code runs included.
fn morton_order_matches_cpu<B: Backend>(backend: &B) {
    let sample = splatpress::sample::scene(30_000, 0, 2).positions;
    // A dense cluster of 3,000 nearly equal positions far from a few outliers: its codes
    // collide at the first level and must be refined over their own box.
    let mut clustered: Vec<[f32; 3]> = (0..3000u32)
        .map(|i| {
            [
                1.0 + i as f32 * 1e-6,
                2.0 - (i % 7) as f32 * 1e-6,
                3.0 + (i % 13) as f32 * 1e-6,
            ]
        })
        .collect();
    clustered.extend([
        [-500.0, 0.0, 0.0],
        [500.0, 40.0, -9.0],
        [0.0, f32::NAN, 0.0],
    ]);
    for (name, positions) in [("sample", sample), ("clustered", clustered)] {
        let expected = splatpress::encode::order::morton(&positions);
        let got = splatpress::encode::order::morton_with(backend, &positions).unwrap();
        assert!(
            got == expected,
            "{}: Morton order of `{name}` differs from the CPU's",
            backend.name()
        );
    }
}

/// `decimate_prepare`: mass, variances relative, covariance entries relative to the largest
/// variance, quaternion components absolute.
const DECIMATE_PREPARE_TOLERANCE: f64 = 1e-5;
/// `decimate_candidates`: a backend's cost of a pair may differ from the CPU's cost of the
/// same pair by this fraction of the magnitude of its terms, ½w(|ln det Sₘ| + a·|ln det Sᵢ| +
/// b·|ln det Sⱼ|) plus the colour term (S the regularised matrices over t), plus the
/// larger of twice the CPU's own f32 error (its distance from the same formula in f64) and
/// `PERTURB_SAFETY` × the spread of the CPU cost under `PERTURB_ULPS` perturbations of its
/// inputs (`cost_spread`). The a-priori bound of `merge_cost_f64` is only printed (how the
/// CPU's f32 error compares with it).
const DECIMATE_COST_TOLERANCE: f64 = 1e-4;
/// `decimate_merge`: covariance entries, relative to the largest variance of the group.
const DECIMATE_COVARIANCE_TOLERANCE: f64 = 1e-4;
/// `decimate_merge`: opacities (as α), colours and positions (relative to the group's
/// largest standard deviation) within this much.
const DECIMATE_MERGE_TOLERANCE: f64 = 1e-4;
/// The decimation checks also allow twice the spread of the CPU reference's own result when
/// every input value it reads is moved by this many ulps (`Perturb`): what a backend whose
/// operations are not correctly rounded can reach. NVIDIA's Vulkan driver gives exp / log
/// to ~3 ulp (more for exp of large |x|), division 2.5 ulp, sqrt and inverseSqrt 2–3 ulp,
/// contracts mul + add (½ ulp each) and flushes denormals; 4 ulp is the largest of those
/// single-operation errors with a margin, the factor 2 (`PERTURB_SAFETY`) covers a few of
/// them compounding along a chain. Where the problem is well conditioned the spread is a few
/// ε of the result and the relative terms above still decide; where it is not (near-flat
/// splats: small eigenvalues ~1e-6 of the largest, below what f32 world-frame entries
/// resolve) it is what any f32 evaluation of the same formula can honestly promise.
const PERTURB_ULPS: i32 = 4;
/// Factor on the perturbation spread (see [`PERTURB_ULPS`]).
const PERTURB_SAFETY: f64 = 2.0;
/// Self-test of the candidate checker: at least this fraction of the CPU's own costs × 1.5
/// must be rejected (here 0.94: the rest are costs below ~2e-4 of the magnitude of their
/// terms, which the relative term cannot tell from 1.5× themselves, perturbation or not),
/// and the perturbation term may let through at most 1e-3 of them. The merge checker must
/// reject every swapped pair of axes (groups whose two largest log scales differ by > 0.05)
/// and every opacity logit off by 0.05 (α in 1e-3 … 0.99).
const SELF_TEST_REJECTED: f64 = 0.85;
/// Sign patterns of a perturbation: all +, all −, alternating (two phases), two seeded random.
const PERTURB_PATTERNS: usize = 6;

/// `x` moved by `k` ulps (k > 0: up in value); 0, ±∞ and NaN unchanged (a flushing backend
/// has no denormal steps around 0).
fn ulp_step(x: f32, k: i32) -> f32 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let k = if x < 0.0 { -k } else { k };
    let bits = (i64::from(x.abs().to_bits()) + i64::from(k)).clamp(1, i64::from(f32::MAX.to_bits()))
        as u32;
    f32::from_bits(bits).copysign(x)
}

/// One deterministic perturbation of a run of input values: pattern `0..PERTURB_PATTERNS`,
/// the sign of each successive value as the pattern says.
struct Perturb {
    pattern: usize,
    counter: usize,
    rng: Rng,
}

impl Perturb {
    fn new(pattern: usize, seed: u64) -> Self {
        Perturb {
            pattern,
            counter: 0,
            rng: Rng::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(pattern as u64)),
        }
    }

    fn sign(&mut self) -> i32 {
        let c = self.counter;
        self.counter += 1;
        match self.pattern {
            0 => 1,
            1 => -1,
            2 => 1 - 2 * (c % 2) as i32,
            3 => 2 * (c % 2) as i32 - 1,
            _ => 1 - 2 * self.rng.below(2) as i32,
        }
    }

    fn apply(&mut self, values: &[f32]) -> Vec<f32> {
        values
            .iter()
            .map(|&x| ulp_step(x, self.sign() * PERTURB_ULPS))
            .collect()
    }
}

/// How far the CPU's cost of the pair (i, j) moves when its inputs are perturbed (largest
/// over the `PERTURB_PATTERNS`): the difference of the two positions (the only way the cost
/// sees them: a backend subtracts them exactly as the CPU does), both prepared rows and both
/// colour rows, each value by `PERTURB_ULPS`.
fn cost_spread(scene: &DecimateScene, prepared: &[f32], i: usize, j: usize) -> f64 {
    let dim = scene.dim;
    let d: Vec<f32> = (0..3)
        .map(|k| scene.positions[i * 3 + k] - scene.positions[j * 3 + k])
        .collect();
    let (pi, pj) = (
        &prepared[i * PREPARED..][..PREPARED],
        &prepared[j * PREPARED..][..PREPARED],
    );
    let (ci, cj) = (
        &scene.colors[i * dim..][..dim],
        &scene.colors[j * dim..][..dim],
    );
    let cost = |d: &[f32], pi: &[f32], ci: &[f32], pj: &[f32], cj: &[f32]| {
        f64::from(cpu::decimate::merge_cost(
            [d[0], d[1], d[2]],
            pi,
            ci,
            [0.0; 3],
            pj,
            cj,
        ))
    };
    let base = cost(&d, pi, ci, pj, cj);
    let mut spread = 0f64;
    for pattern in 0..PERTURB_PATTERNS {
        let mut p = Perturb::new(pattern, (i * 1_000_003 + j) as u64);
        let (d, pi, pj, ci, cj) = (
            p.apply(&d),
            p.apply(pi),
            p.apply(pj),
            p.apply(ci),
            p.apply(cj),
        );
        let moved = (cost(&d, &pi, &ci, &pj, &cj) - base).abs();
        if moved.is_finite() {
            spread = spread.max(moved);
        }
    }
    spread
}

/// How far the CPU's merge of `group` moves when its inputs are perturbed (largest over the
/// `PERTURB_PATTERNS`): each valid member's offset from the first (positions enter the merge
/// only through it) and its whole prepared row (mass, variances, quaternion), each value by
/// `PERTURB_ULPS`. Per output: position (per axis), covariance R·diag(e^2l)·Rᵀ (largest entry
/// difference), log scale (per axis) and α.
#[derive(Clone, Copy, Default)]
struct MergeSpread {
    position: [f64; 3],
    covariance: f64,
    log_scale: [f64; 3],
    alpha: f64,
}

fn merge_spread(scene: &DecimateScene, prepared: &[f32], group: &[u32]) -> MergeSpread {
    let (n, dim) = (scene.len(), scene.dim);
    // The valid members, each once (a repeated member stays one row, as in the merge).
    let mut unique: Vec<usize> = Vec::new();
    let members: Vec<u32> = group
        .iter()
        .map(|&m| m as usize)
        .filter(|&m| m < n)
        .map(|m| {
            let k = unique.iter().position(|&u| u == m).unwrap_or_else(|| {
                unique.push(m);
                unique.len() - 1
            });
            k as u32
        })
        .collect();
    let mut spread = MergeSpread::default();
    let Some(&first) = unique.first() else {
        return spread;
    };
    let origin = &scene.positions[first * 3..][..3];
    let offsets: Vec<f32> = unique
        .iter()
        .flat_map(|&m| (0..3).map(move |k| scene.positions[m * 3 + k] - origin[k]))
        .collect();
    let rows: Vec<f32> = unique
        .iter()
        .flat_map(|&m| prepared[m * PREPARED..][..PREPARED].iter().copied())
        .collect();
    let colors: Vec<f32> = unique
        .iter()
        .flat_map(|&m| scene.colors[m * dim..][..dim].iter().copied())
        .collect();
    let mut color = vec![0f32; dim];
    let mut merge = |offsets: &[f32], rows: &[f32]| {
        cpu::decimate::merge_group(offsets, rows, &colors, dim, &members, &mut color)
    };
    let sigmoid = |x: f32| 1.0 / (1.0 + (-f64::from(x)).exp());
    let (p0, q0, l0, o0) = merge(&offsets, &rows);
    let c0 = covariance_f64(&q0, &l0);
    for pattern in 0..PERTURB_PATTERNS {
        let mut perturb = Perturb::new(pattern, u64::from(group[0]) * 7919 + group.len() as u64);
        let (offsets, rows) = (perturb.apply(&offsets), perturb.apply(&rows));
        let (p, q, l, o) = merge(&offsets, &rows);
        let c = covariance_f64(&q, &l);
        let keep = |s: &mut f64, v: f64| {
            if v.is_finite() {
                *s = s.max(v);
            }
        };
        for k in 0..3 {
            keep(&mut spread.position[k], f64::from(p[k] - p0[k]).abs());
            keep(&mut spread.log_scale[k], f64::from(l[k] - l0[k]).abs());
        }
        for k in 0..6 {
            keep(&mut spread.covariance, (c[k] - c0[k]).abs());
        }
        keep(&mut spread.alpha, (sigmoid(o) - sigmoid(o0)).abs());
    }
    spread
}

/// The columns of a random decimation scene.
struct DecimateScene {
    positions: Vec<f32>,
    rotations: Vec<f32>,
    log_scales: Vec<f32>,
    opacities: Vec<f32>,
    colors: Vec<f32>,
    dim: usize,
}

impl DecimateScene {
    fn len(&self) -> usize {
        self.opacities.len()
    }

    fn prepared(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.len() * PREPARED];
        cpu::decimate::decimate_prepare(
            &self.rotations,
            &self.log_scales,
            &self.opacities,
            &mut out,
        );
        out
    }
}

/// Angles (radians) between the two flat splats of a pair (kinds 10 and 11 of
/// `decimate_scene`).
const FLAT_PAIR_ANGLES: [f32; 7] = [0.0, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 1.5707964];

/// Quaternion `q` (w, x, y, z) turned by `angle` about the unit axis `u`: r(u, angle) ⊗ q.
fn turned(q: [f32; 4], u: [f32; 3], angle: f32) -> [f32; 4] {
    let (s, c) = (0.5 * angle).sin_cos();
    let p = [c, s * u[0], s * u[1], s * u[2]];
    [
        p[0] * q[0] - p[1] * q[1] - p[2] * q[2] - p[3] * q[3],
        p[0] * q[1] + p[1] * q[0] + p[2] * q[3] - p[3] * q[2],
        p[0] * q[2] - p[1] * q[3] + p[2] * q[0] + p[3] * q[1],
        p[0] * q[3] + p[1] * q[2] - p[2] * q[1] + p[3] * q[0],
    ]
}

/// A random unit vector.
fn unit_vector(rng: &mut Rng) -> [f32; 3] {
    loop {
        let v = [rng.signed(), rng.signed(), rng.signed()];
        let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        if norm > 0.1 && norm <= 1.0 {
            return v.map(|x| x / norm);
        }
    }
}

/// A seeded scene of `n` splats: positions spread over 10 m (offset by 1000 m when `far`),
/// log scales in −7..1, opacity logits in −5..8, colours in −1.5..1.5; among them spheres
/// (equal scales), flat splats (one axis at −7), splats at the previous one's position,
/// exact copies of the previous splat, zero quaternions, and the near-singular cases of
/// kernels/NOTES.md (session 6): near-flat splats with variance ratios 1e5–1e7 (kind 9),
/// each followed by a copy turned by one of `FLAT_PAIR_ANGLES` and moved by 1 % of its
/// largest scale (kind 10) and by a flatter splat at its position, turned likewise (kind 11).
fn decimate_scene(rng: &mut Rng, n: usize, dim: usize, far: bool) -> DecimateScene {
    let offset = if far {
        [1000.0, -1000.0, 500.0]
    } else {
        [0.0; 3]
    };
    let mut s = DecimateScene {
        positions: Vec::with_capacity(n * 3),
        rotations: Vec::with_capacity(n * 4),
        log_scales: Vec::with_capacity(n * 3),
        opacities: Vec::with_capacity(n),
        colors: Vec::with_capacity(n * dim),
        dim,
    };
    let scale = |rng: &mut Rng| (rng.uniform() * 8.0 - 7.0) as f32;
    for i in 0..n {
        let kind = i % 12;
        let mut p = [0f32; 3];
        for k in 0..3 {
            p[k] = offset[k] + rng.signed() * 5.0;
        }
        let mut q = [rng.signed(), rng.signed(), rng.signed(), rng.signed()];
        if i % 97 == 5 {
            q = [0.0; 4];
        }
        let mut l = [scale(rng), scale(rng), scale(rng)];
        match kind {
            1 => l = [l[0]; 3],
            2 => l = [l[0].max(-1.0), l[1].max(-1.0), -7.0],
            9 | 11 => {
                // Variance ratio 1e5..1e7 between the largest and the smallest axis.
                let ratio = 5.0 + 2.0 * rng.uniform() as f32;
                let half = 0.5 * ratio * std::f32::consts::LN_10;
                let big = (rng.uniform() * 5.0 - 4.0) as f32;
                l = [big, big - 0.5 * rng.uniform() as f32, big - half];
            }
            _ => {}
        }
        if i > 0 && (kind == 10 || kind == 11) {
            let angle = FLAT_PAIR_ANGLES[(i / 12) % FLAT_PAIR_ANGLES.len()];
            let prev = [
                s.rotations[(i - 1) * 4],
                s.rotations[(i - 1) * 4 + 1],
                s.rotations[(i - 1) * 4 + 2],
                s.rotations[(i - 1) * 4 + 3],
            ];
            let axis = unit_vector(rng);
            q = turned(prev, axis, angle);
            let prev_p = &s.positions[(i - 1) * 3..i * 3];
            if kind == 10 {
                l.copy_from_slice(&s.log_scales[(i - 1) * 3..i * 3]);
                let step = 0.01 * l[0].exp();
                let dir = unit_vector(rng);
                for k in 0..3 {
                    p[k] = prev_p[k] + step * dir[k];
                }
            } else {
                p.copy_from_slice(prev_p);
            }
        }
        let o = (rng.uniform() * 13.0 - 5.0) as f32;
        let c: Vec<f32> = (0..dim).map(|_| rng.signed() * 1.5).collect();
        if i > 0 && (kind == 3 || kind == 4) {
            p.copy_from_slice(&s.positions[(i - 1) * 3..i * 3]);
        }
        s.positions.extend(p);
        if i > 0 && kind == 4 {
            // An exact copy of the previous splat.
            s.rotations.extend_from_within((i - 1) * 4..i * 4);
            s.log_scales.extend_from_within((i - 1) * 3..i * 3);
            s.opacities.push(s.opacities[i - 1]);
            s.colors.extend_from_within((i - 1) * dim..i * dim);
        } else {
            s.rotations.extend(q);
            s.log_scales.extend(l);
            s.opacities.push(o);
            s.colors.extend(c);
        }
    }
    s
}

fn decimate_prepare_matches_cpu<B: Backend>(backend: &B) {
    let name = backend.name();
    let mut rng = Rng::new(21);
    let mut worst = [0f64; 4];
    for (n, far) in [
        (0, false),
        (1, false),
        (255, false),
        (257, true),
        (5003, false),
        (70_001, true),
    ] {
        let scene = decimate_scene(&mut rng, n, 3, far);
        let want = scene.prepared();
        let r = backend.upload(&scene.rotations).unwrap();
        let l = backend.upload(&scene.log_scales).unwrap();
        let o = backend.upload(&scene.opacities).unwrap();
        let mut p = backend.upload(&vec![7f32; n * PREPARED]).unwrap();
        backend.decimate_prepare(&r, &l, &o, &mut p).unwrap();
        let got = backend.download(&p).unwrap();
        for i in 0..n {
            let (g, w) = (
                &got[i * PREPARED..][..PREPARED],
                &want[i * PREPARED..][..PREPARED],
            );
            let case = format!("{name}: decimate_prepare n={n} splat {i}: got {g:?}, want {w:?}");
            let mass = (f64::from(g[0]) - f64::from(w[0])).abs() / f64::from(w[0]);
            let variance = f64::from(w[1].max(w[4]).max(w[6]));
            let covariance = (1..7)
                .map(|k| (f64::from(g[k]) - f64::from(w[k])).abs() / variance)
                .fold(0.0, f64::max);
            let variances = (7..10)
                .map(|k| (f64::from(g[k]) - f64::from(w[k])).abs() / f64::from(w[k]))
                .fold(0.0, f64::max);
            let quaternion = (10..14)
                .map(|k| (f64::from(g[k]) - f64::from(w[k])).abs())
                .fold(0.0, f64::max);
            for (k, e) in [mass, covariance, variances, quaternion]
                .into_iter()
                .enumerate()
            {
                assert!(e <= DECIMATE_PREPARE_TOLERANCE, "{case} (error {e})");
                worst[k] = worst[k].max(e);
            }
        }
    }
    eprintln!(
        "{name}: decimate_prepare: largest relative differences: mass {:.2e}, covariance {:.2e}, variances {:.2e}, quaternion {:.2e}",
        worst[0], worst[1], worst[2], worst[3]
    );
}

/// `merge_cost` of splats i and j in f64 (from the same f32 inputs): (value, magnitude of
/// its terms, a-priori bound on the f32 error). The bound is first order: rounding moves
/// each entry of Sₘ = Σₘ/t + κI by at most 6ε of the sum of its terms' magnitudes (three
/// products, two sums, the division; a fused multiply-add only drops roundings) and the
/// LDLᵀ adds a backward error of 6ε·√(sₐₐ s_bb); ln det Sₘ then moves by ≤ Σ |S⁻¹|ₐ_b·ΔSₐ_b;
/// the logs and their weighted difference add 4ε of the magnitude of their terms.
fn merge_cost_f64(scene: &DecimateScene, prepared: &[f32], i: usize, j: usize) -> (f64, f64, f64) {
    let f = |v: f32| f64::from(v);
    let kappa = f(cpu::decimate::DET_FLOOR);
    let eps = f(f32::EPSILON);
    let (pi, pj) = (
        &prepared[i * PREPARED..][..PREPARED],
        &prepared[j * PREPARED..][..PREPARED],
    );
    let (wi, wj) = (f(pi[0]), f(pj[0]));
    let w = wi + wj;
    let (a, b) = (wi / w, wj / w);
    let d: Vec<f64> = (0..3)
        .map(|k| f(scene.positions[i * 3 + k]) - f(scene.positions[j * 3 + k]))
        .collect();
    let pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];
    let c: Vec<f64> = pairs
        .iter()
        .enumerate()
        .map(|(k, &(x, y))| a * f(pi[k + 1]) + b * f(pj[k + 1]) + a * b * d[x] * d[y])
        .collect();
    let sizes: Vec<f64> = pairs
        .iter()
        .enumerate()
        .map(|(k, &(x, y))| {
            a * f(pi[k + 1]).abs() + b * f(pj[k + 1]).abs() + (a * b * d[x] * d[y]).abs()
        })
        .collect();
    let t = (c[0] + c[3] + c[5]) / 3.0;
    let full = |v: &[f64]| [v[0], v[1], v[2], v[1], v[3], v[4], v[2], v[4], v[5]];
    let mut sv = c.iter().map(|x| x / t).collect::<Vec<_>>();
    sv[0] += kappa;
    sv[3] += kappa;
    sv[5] += kappa;
    let s = full(&sv);
    let det = s[0] * (s[4] * s[8] - s[5] * s[7]) - s[1] * (s[3] * s[8] - s[5] * s[6])
        + s[2] * (s[3] * s[7] - s[4] * s[6]);
    // S⁻¹ by cofactors (S ≥ κI: well inside f64).
    let cof = |r: usize, c: usize| {
        let (r0, r1) = ([1, 0, 0][r], [2, 2, 1][r]);
        let (c0, c1) = ([1, 0, 0][c], [2, 2, 1][c]);
        s[r0 * 3 + c0] * s[r1 * 3 + c1] - s[r0 * 3 + c1] * s[r1 * 3 + c0]
    };
    let delta = full(&sizes);
    let mut sensitivity = 0.0;
    for r in 0..3 {
        for col in 0..3 {
            let inverse = (cof(col, r) / det).abs();
            let entry =
                6.0 * eps * delta[r * 3 + col] / t + 6.0 * eps * (s[r * 4] * s[col * 4]).sqrt();
            sensitivity += inverse * entry;
        }
    }
    let merged = det.ln();
    let own = |p: &[f32]| -> f64 {
        (7..10)
            .map(|k| (f(p[k]) / t).min(f(cpu::decimate::MAX_VARIANCE_RATIO)) + kappa)
            .map(f64::ln)
            .sum()
    };
    let (li, lj) = (own(pi), own(pj));
    let dim = scene.dim;
    let colour: f64 = (0..dim)
        .map(|k| (f(scene.colors[i * dim + k]) - f(scene.colors[j * dim + k])).powi(2))
        .sum();
    let colour_term = wi * wj / w * colour;
    let value = (0.5 * w * (merged - a * li - b * lj)).max(0.0) + colour_term;
    let magnitude = 0.5 * w * (merged.abs() + a * li.abs() + b * lj.abs()) + colour_term;
    // Plus the roundings of the three logs and of their combination.
    let combination = 4.0 * eps * (merged.abs() + a * li.abs() + b * lj.abs());
    (value, magnitude, 0.5 * w * (sensitivity + combination))
}

fn decimate_candidates_matches_cpu<B: Backend>(backend: &B) {
    let name = backend.name();
    let mut rng = Rng::new(22);
    let (mut worst, mut near_ties, mut slots) = (0f64, 0, 0);
    // The CPU's own f32 error over the a-priori bound, at its largest.
    let worst_bound = std::cell::Cell::new(0f64);
    // Pair tolerances the perturbation widened; its largest term (with that pair's cost
    // and whole tolerance).
    let perturbed = std::cell::Cell::new(0usize);
    // Pair tolerances tighter than the a-priori bound made them.
    let tightened = std::cell::Cell::new(0usize);
    let largest_spread = std::cell::Cell::new((0f64, 0f64, 0f64));
    // Self-test of the checker: slots with a positive cost, and how many of them reject
    // that cost × 1.5.
    // How many of those the perturbation term lets through (rejected without it).
    let (mut scaled, mut scaled_rejected, mut scaled_widened) = (0usize, 0usize, 0usize);
    for (n, dim, window, far) in [
        (0, 3, 8, false),
        (1, 3, 8, false),
        (2, 48, 1, false),
        (257, 3, 16, true),
        (1000, 48, MAX_WINDOW, false),
        (5003, 48, 16, true),
        (7000, 27, 40, false),
        (5003, 3, MAX_WINDOW, false),
    ] {
        let scene = decimate_scene(&mut rng, n, dim, far);
        let prepared = scene.prepared();
        let mut want_costs = vec![0f32; n * CANDIDATES];
        let mut want_partners = vec![0u32; n * CANDIDATES];
        cpu::decimate::decimate_candidates(
            &scene.positions,
            &prepared,
            &scene.colors,
            dim,
            window,
            &mut want_costs,
            &mut want_partners,
        );
        let positions = backend.upload(&scene.positions).unwrap();
        let prep = backend.upload(&prepared).unwrap();
        let colors = backend.upload(&scene.colors).unwrap();
        let splats = Splats::<B> {
            positions: &positions,
            prepared: &prep,
            colors: &colors,
            dim,
        };
        let mut c = backend.upload(&vec![7f32; n * CANDIDATES]).unwrap();
        let mut p = backend.upload(&vec![7u32; n * CANDIDATES]).unwrap();
        backend
            .decimate_candidates(&splats, window, &mut c, &mut p)
            .unwrap();
        let (got_costs, got_partners) =
            (backend.download(&c).unwrap(), backend.download(&p).unwrap());
        let cpu_cost = |i: usize, j: usize| {
            let point = |k: usize| {
                [
                    scene.positions[k * 3],
                    scene.positions[k * 3 + 1],
                    scene.positions[k * 3 + 2],
                ]
            };
            cpu::decimate::merge_cost(
                point(i),
                &prepared[i * PREPARED..][..PREPARED],
                &scene.colors[i * dim..][..dim],
                point(j),
                &prepared[j * PREPARED..][..PREPARED],
                &scene.colors[j * dim..][..dim],
            )
        };
        // What a cost of the pair (i, j) may differ by (`DECIMATE_COST_TOLERANCE`), and what
        // the a-priori rule before it allowed (1e-4 of the magnitude + twice the larger of
        // the CPU's f32 error and the a-priori bound). Memoised: the self-test and the
        // near-ties reuse it.
        let mut tolerances = std::collections::HashMap::new();
        let mut tolerance = |i: usize, j: usize| -> (f64, f64) {
            *tolerances.entry((i, j)).or_insert_with(|| {
                let (exact, magnitude, bound) = merge_cost_f64(&scene, &prepared, i, j);
                let cpu_error = (f64::from(cpu_cost(i, j)) - exact).abs();
                worst_bound.set(
                    worst_bound
                        .get()
                        .max(cpu_error / bound.max(f64::MIN_POSITIVE)),
                );
                let spread = PERTURB_SAFETY * cost_spread(&scene, &prepared, i, j);
                let before = DECIMATE_COST_TOLERANCE * magnitude + 2.0 * cpu_error.max(bound);
                let tol = DECIMATE_COST_TOLERANCE * magnitude + (2.0 * cpu_error).max(spread);
                if tol > before {
                    perturbed.set(perturbed.get() + 1);
                } else if tol < before {
                    tightened.set(tightened.get() + 1);
                }
                if spread > largest_spread.get().0 {
                    largest_spread.set((spread, tol, exact));
                }
                (tol, before)
            })
        };
        for i in 0..n {
            let row = i * CANDIDATES..(i + 1) * CANDIDATES;
            let case = format!(
                "{name}: decimate_candidates n={n} dim={dim} window={window} splat {i}: got {:?} {:?}, want {:?} {:?}",
                &got_partners[row.clone()],
                &got_costs[row.clone()],
                &want_partners[row.clone()],
                &want_costs[row.clone()]
            );
            // Slots, costs in order, partners in the window and distinct.
            for s in row.clone() {
                let (want_p, got_p) = (want_partners[s], got_partners[s]);
                if want_p == NO_PARTNER {
                    assert!(
                        got_p == NO_PARTNER && got_costs[s] == f32::INFINITY,
                        "{case}"
                    );
                    continue;
                }
                let j = got_p as usize;
                assert!(
                    j > i && j <= i + window && j < n,
                    "{case}: partner {j} out of the window"
                );
                assert!(
                    !got_partners[row.start..s].contains(&got_p),
                    "{case}: partner {j} twice"
                );
                assert!(
                    s == row.start || got_costs[s - 1] <= got_costs[s],
                    "{case}: costs out of order"
                );
                // The backend's cost of (i, j) against the CPU's cost of the same pair.
                let tol = tolerance(i, j).0;
                let diff = (f64::from(got_costs[s]) - f64::from(cpu_cost(i, j))).abs();
                assert!(
                    diff <= tol,
                    "{case}: cost of ({i}, {j}) {diff} off (tolerance {tol})"
                );
                worst = worst.max(diff / tol.max(f64::MIN_POSITIVE));
                slots += 1;
                // Self-test of the checker: the CPU's own cost × 1.5 must be rejected.
                let want_c = f64::from(want_costs[s]);
                if want_c > 0.0 && want_c.is_finite() {
                    let (tol, before) = tolerance(i, want_p as usize);
                    scaled += 1;
                    scaled_rejected += usize::from(0.5 * want_c > tol);
                    scaled_widened += usize::from(0.5 * want_c > before && 0.5 * want_c <= tol);
                }
            }
            // Partners the backend kept and the CPU did not, and the other way round: every
            // such exchange must be a near-tie, the two CPU costs within the sum of the two
            // pairs' tolerances (the backend's cost of the dropped one can be no lower than
            // that of the one it kept instead).
            let (got_row, want_row) = (&got_partners[row.clone()], &want_partners[row.clone()]);
            let extra: Vec<usize> = got_row
                .iter()
                .filter(|p| **p != NO_PARTNER && !want_row.contains(p))
                .map(|&p| p as usize)
                .collect();
            let dropped: Vec<usize> = want_row
                .iter()
                .filter(|p| **p != NO_PARTNER && !got_row.contains(p))
                .map(|&p| p as usize)
                .collect();
            for &j in &extra {
                for &w in &dropped {
                    let (cj, cw) = (f64::from(cpu_cost(i, j)), f64::from(cpu_cost(i, w)));
                    let tol = tolerance(i, j).0 + tolerance(i, w).0;
                    assert!(
                        cj - cw <= tol,
                        "{case}: partner {j} (CPU cost {cj}) is not a near-tie of {w} ({cw}, tolerance {tol})"
                    );
                }
                near_ties += 1;
            }
        }
    }
    let (spread, tol, exact) = largest_spread.get();
    eprintln!(
        "{name}: decimate_candidates: {slots} candidates, {near_ties} partners differ at near-ties, largest cost difference {worst:.3} of its tolerance; the CPU's f32 error at most {:.3} of the a-priori bound; pair tolerances against the a-priori rule: {} widened, {} tightened; the {PERTURB_ULPS}-ulp perturbation's largest term {:.3e} (×{PERTURB_SAFETY}; cost {exact:.3e}, tolerance {tol:.3e}); self-test: cost × 1.5 rejected in {scaled_rejected} of {scaled} slots (let through by the perturbation term: {scaled_widened})",
        worst_bound.get(),
        perturbed.get(),
        tightened.get(),
        spread
    );
    // Costs far below the magnitude of their terms (1e-4 of it) cannot be told from 1.5×
    // themselves; the perturbation term may add only a few slots to those.
    assert!(
        scaled_rejected as f64 >= SELF_TEST_REJECTED * scaled as f64
            && scaled_widened as f64 <= 1e-3 * scaled as f64,
        "{name}: decimate_candidates: the checker accepts a cost × 1.5 in {} of {scaled} slots ({scaled_widened} through the perturbation term)",
        scaled - scaled_rejected
    );
}

/// Offsets and members of `groups` groups of 1..=4 random members of `n` splats, with an
/// index ≥ n now and then, a group of splats at one position, the near-flat cases of
/// `decimate_scene` (a kind-9 splat alone, or with its turned copy or its flatter
/// neighbour), and (after `g` real groups) an empty group and one whose end offset lies past
/// the member list.
fn decimate_groups(rng: &mut Rng, n: usize, groups: usize, big: usize) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = vec![0u32];
    let mut members = Vec::new();
    if big > 0 {
        members.extend((0..big).map(|k| (k * 7 % n.max(1)) as u32));
        offsets.push(members.len() as u32);
    }
    for gi in 0..groups {
        if n >= 12 && (gi % 5 == 3 || gi % 5 == 4) {
            let flat = 9 + 12 * ((gi / 5) % (n / 12));
            members.push(flat as u32);
            if gi % 5 == 4 {
                members.push((flat + 1 + (gi / 5) % 2) as u32);
            }
            offsets.push(members.len() as u32);
            continue;
        }
        let size = 1 + rng.below(4) as usize;
        for k in 0..size {
            let m = if n > 0 && gi % 5 == 2 {
                // Consecutive splats: the scene often repeats a position there.
                ((gi * 13 + k) % n) as u32
            } else if n == 0 || rng.below(23) == 0 {
                (n + rng.below(5) as usize) as u32
            } else {
                rng.below(n as u64) as u32
            };
            members.push(m);
        }
        offsets.push(members.len() as u32);
    }
    offsets.push(members.len() as u32);
    offsets.push(members.len() as u32 + 9);
    (offsets, members)
}

/// Σ = R·diag(e^2l)·Rᵀ (upper triangle) of a quaternion (w, x, y, z) and log scales, in f64.
fn covariance_f64(q: &[f32], l: &[f32]) -> [f64; 6] {
    let norm = q.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
    let (w, x, y, z) = (
        f64::from(q[0]) / norm,
        f64::from(q[1]) / norm,
        f64::from(q[2]) / norm,
        f64::from(q[3]) / norm,
    );
    let r = [
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y - w * z),
        2.0 * (x * z + w * y),
        2.0 * (x * y + w * z),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z - w * x),
        2.0 * (x * z - w * y),
        2.0 * (y * z + w * x),
        1.0 - 2.0 * (x * x + y * y),
    ];
    let v: Vec<f64> = l.iter().map(|&s| (2.0 * f64::from(s)).exp()).collect();
    let e = |a: usize, b: usize| {
        (0..3)
            .map(|k| r[a * 3 + k] * v[k] * r[b * 3 + k])
            .sum::<f64>()
    };
    [e(0, 0), e(0, 1), e(0, 2), e(1, 1), e(1, 2), e(2, 2)]
}

/// How far a one-member group's output (rotation `q`, log scales `l`, opacity logit `o`) is
/// from its input splat m: (the largest |M − diag(v)|ₐ_b over 1e-4·√(vₐv_b) + 8ε·max(vₐ, v_b),
/// M = Rᵀ Σ_out R in the input's frame R, v its variances: the check sees each axis at its
/// own scale; the relative α difference, α clamped as the merge clamps it).
fn lone_splat_error(scene: &DecimateScene, m: usize, q: &[f32], l: &[f32], o: f32) -> (f64, f64) {
    let f = f64::from;
    let eps = f(f32::EPSILON);
    let out = covariance_f64(q, l);
    let out = [
        out[0], out[1], out[2], out[1], out[3], out[4], out[2], out[4], out[5],
    ];
    let qi = &scene.rotations[m * 4..][..4];
    let li: Vec<f32> = scene.log_scales[m * 3..][..3]
        .iter()
        .map(|&x| x.max(cpu::decimate::MIN_LOG_SCALE))
        .collect();
    // The input's axes: the columns of its rotation (covariance_f64 of unit variances per
    // axis gives r·rᵀ; take R itself from the quaternion).
    let r = rotation_f64(qi);
    let v: Vec<f64> = li.iter().map(|&x| (2.0 * f(x)).exp()).collect();
    let mut error = 0f64;
    for a in 0..3 {
        for b in 0..3 {
            let mut mab = 0.0;
            for x in 0..3 {
                for y in 0..3 {
                    mab += r[x * 3 + a] * out[x * 3 + y] * r[y * 3 + b];
                }
            }
            let want = if a == b { v[a] } else { 0.0 };
            let tol = 1e-4 * (v[a] * v[b]).sqrt() + 8.0 * eps * v[a].max(v[b]);
            error = error.max((mab - want).abs() / tol);
        }
    }
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let min_alpha = f(cpu::decimate::MIN_ALPHA);
    let want = sigmoid(f(scene.opacities[m])).clamp(min_alpha, 1.0 - min_alpha);
    let got = sigmoid(f(o));
    // The merged opacity is mass / area of the merged axes: the same axes up to rounding.
    (error, (got - want).abs() / want)
}

/// The rotation matrix (row-major, f64) of a quaternion (w, x, y, z), normalised; the
/// identity for a zero one.
fn rotation_f64(q: &[f32]) -> [f64; 9] {
    let norm = q.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    }
    let (w, x, y, z) = (
        f64::from(q[0]) / norm,
        f64::from(q[1]) / norm,
        f64::from(q[2]) / norm,
        f64::from(q[3]) / norm,
    );
    [
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y - w * z),
        2.0 * (x * z + w * y),
        2.0 * (x * y + w * z),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z - w * x),
        2.0 * (x * z - w * y),
        2.0 * (y * z + w * x),
        1.0 - 2.0 * (x * x + y * y),
    ]
}

fn decimate_merge_matches_cpu<B: Backend>(backend: &B) {
    let name = backend.name();
    let mut rng = Rng::new(23);
    // position, covariance, log scale, α, colour, lone splat's frame and opacity: largest
    // error over its tolerance.
    let mut worst = [0f64; 7];
    // The largest perturbation terms (`PERTURB_SAFETY` × spread): covariance over the
    // largest variance, log scale, α over its tolerance before the term.
    let mut widest = [0f64; 3];
    // Self-tests of the checker: (tried, rejected) for two swapped axes and for the opacity
    // logit + 0.05.
    let (mut swapped, mut shifted) = ((0usize, 0usize), (0usize, 0usize));
    for (n, dim, groups, big, far) in [
        (0, 3, 3, 0, false),
        (1, 3, 2, 0, false),
        (2, 48, 1, 0, true),
        (300, 3, 257, 0, true),
        (1000, 48, 600, 0, false),
        (5003, 48, 2600, 0, true),
        (7000, 27, 7200, 0, false),
        (3000, 48, 40, 1500, false),
    ] {
        let scene = decimate_scene(&mut rng, n, dim, far);
        let prepared = scene.prepared();
        let (offsets, members) = decimate_groups(&mut rng, n, groups, big);
        let g = offsets.len() - 1;
        let mut want = (
            vec![0f32; g * 3],
            vec![0f32; g * 4],
            vec![0f32; g * 3],
            vec![0f32; g],
            vec![0f32; g * dim],
        );
        cpu::decimate::decimate_merge(
            &scene.positions,
            &prepared,
            &scene.colors,
            dim,
            &offsets,
            &members,
            (
                &mut want.0,
                &mut want.1,
                &mut want.2,
                &mut want.3,
                &mut want.4,
            ),
        );
        let positions = backend.upload(&scene.positions).unwrap();
        let prep = backend.upload(&prepared).unwrap();
        let colors = backend.upload(&scene.colors).unwrap();
        let splats = Splats::<B> {
            positions: &positions,
            prepared: &prep,
            colors: &colors,
            dim,
        };
        let off = backend.upload(&offsets).unwrap();
        let mem = backend.upload(&members).unwrap();
        let mut out = (
            backend.upload(&vec![7f32; g * 3]).unwrap(),
            backend.upload(&vec![7f32; g * 4]).unwrap(),
            backend.upload(&vec![7f32; g * 3]).unwrap(),
            backend.upload(&vec![7f32; g]).unwrap(),
            backend.upload(&vec![7f32; g * dim]).unwrap(),
        );
        let mut merged = Merged::<B> {
            positions: &mut out.0,
            rotations: &mut out.1,
            log_scales: &mut out.2,
            opacities: &mut out.3,
            colors: &mut out.4,
        };
        backend
            .decimate_merge(&splats, &off, &mem, &mut merged)
            .unwrap();
        let got = (
            backend.download(&out.0).unwrap(),
            backend.download(&out.1).unwrap(),
            backend.download(&out.2).unwrap(),
            backend.download(&out.3).unwrap(),
            backend.download(&out.4).unwrap(),
        );
        let f = f64::from;
        for gi in 0..g {
            let case = |what: &str| {
                format!(
                    "{name}: decimate_merge n={n} dim={dim} group {gi} ({:?}): {what}: got {:?} {:?} {:?} {}, want {:?} {:?} {:?} {}",
                    &members[(offsets[gi] as usize).min(members.len())
                        ..(offsets[gi + 1] as usize).min(members.len())],
                    &got.0[gi * 3..][..3],
                    &got.1[gi * 4..][..4],
                    &got.2[gi * 3..][..3],
                    got.3[gi],
                    &want.0[gi * 3..][..3],
                    &want.1[gi * 4..][..4],
                    &want.2[gi * 3..][..3],
                    want.3[gi]
                )
            };
            let wl = &want.2[gi * 3..][..3];
            let gl = &got.2[gi * 3..][..3];
            let sigma = f(wl[0]).exp();
            let group = &members[(offsets[gi] as usize).min(members.len())
                ..(offsets[gi + 1] as usize).min(members.len())];
            let spread = merge_spread(&scene, &prepared, group);
            let safety = PERTURB_SAFETY;
            let mut check = |k: usize, error: f64, tolerance: f64, what: &str| {
                assert!(
                    error <= tolerance,
                    "{} (error {error}, tolerance {tolerance})",
                    case(what)
                );
                worst[k] = worst[k].max(error / tolerance);
            };
            for k in 0..3 {
                let (a, b) = (f(got.0[gi * 3 + k]), f(want.0[gi * 3 + k]));
                let tol = 4.0 * f64::from(f32::EPSILON) * b.abs()
                    + DECIMATE_MERGE_TOLERANCE * sigma
                    + safety * spread.position[k];
                check(0, (a - b).abs(), tol, "position");
            }
            let q = &got.1[gi * 4..][..4];
            let norm = q.iter().map(|&v| f(v).powi(2)).sum::<f64>().sqrt();
            assert!(
                (norm - 1.0).abs() < 1e-5 && q[0] >= 0.0,
                "{}",
                case("rotation not a unit w ≥ 0")
            );
            let (cg, cw) = (
                covariance_f64(q, gl),
                covariance_f64(&want.1[gi * 4..][..4], wl),
            );
            let largest = (2.0 * f(wl[0])).exp();
            let covariance_tol =
                DECIMATE_COVARIANCE_TOLERANCE * largest + safety * spread.covariance;
            widest[0] = widest[0].max(safety * spread.covariance / largest);
            for k in 0..6 {
                check(1, (cg[k] - cw[k]).abs(), covariance_tol, "covariance");
            }
            // An axis far below the largest is known only to the largest's precision.
            let log_scale_tol = |k: usize| {
                DECIMATE_MERGE_TOLERANCE * (1.0 + (2.0 * (f(wl[0]) - f(wl[k]))).exp())
                    + safety * spread.log_scale[k]
            };
            for k in 0..3 {
                widest[1] = widest[1].max(safety * spread.log_scale[k]);
                check(
                    2,
                    (f(gl[k]) - f(wl[k])).abs(),
                    log_scale_tol(k),
                    "log scale",
                );
            }
            let alpha = |logit: f32| 1.0 / (1.0 + (-f(logit)).exp());
            let (ag, aw) = (alpha(got.3[gi]), alpha(want.3[gi]));
            let alpha_before = DECIMATE_MERGE_TOLERANCE * aw + 1e-6;
            let alpha_tol = alpha_before + safety * spread.alpha;
            widest[2] = widest[2].max(safety * spread.alpha / alpha_before);
            check(3, (ag - aw).abs(), alpha_tol, "opacity");
            // Self-tests of the checker on the CPU's own result: two axes swapped (the
            // rotation kept), and the opacity logit off by 0.05, must be rejected.
            if group.iter().any(|&m| (m as usize) < n) {
                if f(wl[0]) - f(wl[1]) > 0.05 {
                    let bad = [wl[1], wl[0], wl[2]];
                    let cb = covariance_f64(&want.1[gi * 4..][..4], &bad);
                    let caught = (0..6).any(|k| (cb[k] - cw[k]).abs() > covariance_tol)
                        || (0..3).any(|k| (f(bad[k]) - f(wl[k])).abs() > log_scale_tol(k));
                    swapped.0 += 1;
                    swapped.1 += usize::from(caught);
                }
                if (1e-3..=0.99).contains(&aw) {
                    let bad = alpha(want.3[gi] + 0.05);
                    shifted.0 += 1;
                    shifted.1 += usize::from((bad - aw).abs() > alpha_tol);
                }
            }
            for k in 0..dim {
                let (a, b) = (f(got.4[gi * dim + k]), f(want.4[gi * dim + k]));
                check(4, (a - b).abs(), DECIMATE_MERGE_TOLERANCE * 1e-1, "colour");
            }
            // A one-member group gives its splat back, small axes included.
            if let [m] = group
                && (*m as usize) < n
            {
                let m = *m as usize;
                let (error, alpha_error) = lone_splat_error(&scene, m, q, gl, got.3[gi]);
                check(5, error, 1.0, "lone splat's own frame");
                check(
                    6,
                    alpha_error,
                    DECIMATE_MERGE_TOLERANCE,
                    "lone splat's opacity",
                );
            }
        }
    }
    eprintln!(
        "{name}: decimate_merge: largest errors over their tolerances: position {:.3}, covariance {:.3}, log scale {:.3}, opacity {:.3}, colour {:.3}; one-member groups against their input: frame {:.3}, opacity {:.3}; largest {PERTURB_ULPS}-ulp perturbation terms (×{PERTURB_SAFETY}): covariance {:.2e} of the largest variance, log scale {:.2e}, α {:.3} of its tolerance before; self-test: swapped axes rejected in {} of {}, opacity logit + 0.05 in {} of {}",
        worst[0],
        worst[1],
        worst[2],
        worst[3],
        worst[4],
        worst[5],
        worst[6],
        widest[0],
        widest[1],
        widest[2],
        swapped.1,
        swapped.0,
        shifted.1,
        shifted.0
    );
    for (what, (tried, rejected)) in [("swapped axes", swapped), ("opacity + 0.05", shifted)] {
        assert!(
            rejected == tried,
            "{name}: decimate_merge: the checker accepts {what} in {} of {tried} groups",
            tried - rejected
        );
    }
}

/// The `Splats` view of three columns.
fn splat_view<'a, B: Backend>(
    positions: &'a B::Buffer<f32>,
    prepared: &'a B::Buffer<f32>,
    colors: &'a B::Buffer<f32>,
    dim: usize,
) -> Splats<'a, B> {
    Splats {
        positions,
        prepared,
        colors,
        dim,
    }
}

/// The error of a call that must be refused; its message must name `kernel`.
fn refused<T: std::fmt::Debug>(
    backend: &str,
    kernel: &str,
    case: &str,
    result: splatpress::Result<T>,
) -> String {
    match result {
        Ok(value) => panic!("{backend}: {kernel} accepted {case} (returned {value:?})"),
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains(kernel),
                "{backend}: {kernel} refused {case} without naming the kernel: {message}"
            );
            message
        }
    }
}

/// Bad lengths and block lattices are errors naming the kernel, never a panic or silent
/// garbage, on every backend (the CPU reference included): the family traits check them
/// before any backend code runs. The backend still works after the refusals.
fn rejects_bad_calls<B: Backend>(backend: &B) {
    let name = backend.name();

    // Buffers: a write must match the buffer's length.
    let mut buf = backend.upload(&[1u32, 2, 3, 4]).unwrap();
    refused(
        name,
        "write",
        "3 values into 4",
        backend.write(&mut buf, &[5, 6, 7]),
    );
    refused(
        name,
        "write",
        "5 values into 4",
        backend.write(&mut buf, &[5, 6, 7, 8, 9]),
    );
    refused(
        name,
        "write_at",
        "2 values at 3 of 4",
        backend.write_at(&mut buf, 3, &[5, 6]),
    );
    refused(
        name,
        "write_at",
        "an offset that overflows",
        backend.write_at(&mut buf, usize::MAX, &[5]),
    );
    assert_eq!(
        backend.download(&buf).unwrap(),
        [1, 2, 3, 4],
        "{name}: write"
    );

    // kmeans_assign: 2 points of 45, 1 centroid.
    let p = backend.upload(&[0f32; 90]).unwrap();
    let c = backend.upload(&[0f32; 45]).unwrap();
    let empty = backend.zeros::<f32>(0).unwrap();
    let mut l3 = backend.zeros::<u32>(3).unwrap();
    let mut l2 = backend.zeros::<u32>(2).unwrap();
    let state = &mut B::AssignState::default();
    let message = refused(
        name,
        "kmeans_assign",
        "3 labels for 2 points",
        backend.kmeans_assign(&p, &c, 45, &mut l3, state),
    );
    assert!(
        message.contains("3 labels for 2 points"),
        "{name}: {message}"
    );
    refused(
        name,
        "kmeans_assign",
        "dim 0",
        backend.kmeans_assign(&p, &c, 0, &mut l2, state),
    );
    refused(
        name,
        "kmeans_assign",
        "points not whole rows",
        backend.kmeans_assign(&p, &c, 40, &mut l2, state),
    );
    refused(
        name,
        "kmeans_assign",
        "no centroids",
        backend.kmeans_assign(&p, &empty, 45, &mut l2, state),
    );

    // kmeans_update: 2 points of 45, k = 2.
    let labels = backend.upload(&[0u32, 1]).unwrap();
    let short_labels = backend.upload(&[0u32]).unwrap();
    let mut sums = backend.zeros::<f32>(2 * 45).unwrap();
    let mut short_sums = backend.zeros::<f32>(45).unwrap();
    let mut counts = backend.zeros::<u32>(2).unwrap();
    let mut long_counts = backend.zeros::<u32>(3).unwrap();
    for (case, result) in [
        (
            "1 label for 2 points",
            backend.kmeans_update(&p, &short_labels, 45, 2, &mut sums, &mut counts),
        ),
        (
            "one row of sums for k = 2",
            backend.kmeans_update(&p, &labels, 45, 2, &mut short_sums, &mut counts),
        ),
        (
            "3 counts for k = 2",
            backend.kmeans_update(&p, &labels, 45, 2, &mut sums, &mut long_counts),
        ),
        (
            "dim 0",
            backend.kmeans_update(&p, &labels, 0, 2, &mut sums, &mut counts),
        ),
        (
            "points not whole rows",
            backend.kmeans_update(&p, &labels, 40, 2, &mut sums, &mut counts),
        ),
    ] {
        refused(name, "kmeans_update", case, result);
    }

    // sort_pairs: one value per key.
    let mut keys = backend.upload(&[1u64, 2]).unwrap();
    let mut values = backend.upload(&[1u32]).unwrap();
    refused(
        name,
        "sort_pairs",
        "2 keys, 1 value",
        backend.sort_pairs(&mut keys, &mut values),
    );

    // PLAS: an 8×6 grid of 3 channels.
    let g = PlasGrid {
        width: 8,
        height: 6,
        channels: 3,
        valid: 48,
    };
    let mut cells = backend.upload(&vec![0f32; 48 * 3]).unwrap();
    let short = backend.upload(&vec![0f32; 47 * 3]).unwrap();
    let mut target = backend.upload(&vec![0.25f32; 48 * 3]).unwrap();
    let mut short_target = backend.zeros::<f32>(47 * 3).unwrap();
    let mut index = backend.upload(&(0..48u32).collect::<Vec<_>>()).unwrap();
    let mut short_index = backend.upload(&(0..47u32).collect::<Vec<_>>()).unwrap();
    let short_keys = backend.upload(&[0u32; 40]).unwrap();
    let fine = PlasBlocks {
        size: 4,
        shift_x: 1,
        shift_y: 2,
        multiplier: 3,
        offset: 5,
    };
    let too_many_valid = PlasGrid { valid: 49, ..g };
    let ragged = backend.upload(&vec![0f32; 48 * 3 - 1]).unwrap();
    refused(
        name,
        "plas_blur",
        "short cells",
        backend.plas_blur(&g, &short, 1, &mut target),
    );
    refused(
        name,
        "plas_blur",
        "short target",
        backend.plas_blur(&g, &cells, 1, &mut short_target),
    );
    refused(
        name,
        "plas_blur",
        "valid > cells",
        backend.plas_blur(&too_many_valid, &cells, 1, &mut target),
    );
    refused(
        name,
        "plas_blur",
        "cells not whole rows of channels",
        backend.plas_blur(&g, &ragged, 1, &mut target),
    );
    refused(
        name,
        "plas_loss",
        "short cells",
        backend.plas_loss(&g, &short, &target, &fine),
    );
    refused(
        name,
        "plas_loss",
        "valid > cells",
        backend.plas_loss(&too_many_valid, &cells, &target, &fine),
    );
    refused(
        name,
        "plas_reorder",
        "short index",
        backend.plas_reorder(&g, &mut cells, &mut short_index, &target, None, &fine),
    );
    refused(
        name,
        "plas_reorder",
        "short keys",
        backend.plas_reorder(
            &g,
            &mut cells,
            &mut index,
            &target,
            Some(&short_keys),
            &fine,
        ),
    );
    let bad = [
        PlasBlocks { size: 3, ..fine },
        PlasBlocks { size: 0, ..fine },
        PlasBlocks { size: 8, ..fine },
        PlasBlocks { shift_x: 8, ..fine },
        PlasBlocks { shift_y: 6, ..fine },
        PlasBlocks {
            multiplier: 2,
            ..fine
        },
        PlasBlocks { offset: 16, ..fine },
    ];
    for blocks in bad {
        let case = format!("{blocks:?}");
        refused(
            name,
            "plas_reorder",
            &case,
            backend.plas_reorder(&g, &mut cells, &mut index, &target, None, &blocks),
        );
        refused(
            name,
            "plas_loss",
            &case,
            backend.plas_loss(&g, &cells, &target, &blocks),
        );
    }

    // Decimation: 2 splats, colour rows of 3.
    let rot = backend
        .upload(&[1f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
        .unwrap();
    let short_rot = backend.upload(&[1f32, 0.0, 0.0, 0.0]).unwrap();
    let ls = backend.zeros::<f32>(6).unwrap();
    let op = backend.zeros::<f32>(2).unwrap();
    let mut prep = backend.zeros::<f32>(2 * PREPARED).unwrap();
    let mut short_prep = backend.zeros::<f32>(PREPARED).unwrap();
    refused(
        name,
        "decimate_prepare",
        "1 rotation for 2 opacities",
        backend.decimate_prepare(&short_rot, &ls, &op, &mut prep),
    );
    refused(
        name,
        "decimate_prepare",
        "1 prepared row for 2 opacities",
        backend.decimate_prepare(&rot, &ls, &op, &mut short_prep),
    );
    refused(
        name,
        "decimate_prepare",
        "log scales not whole rows",
        backend.decimate_prepare(&rot, &op, &op, &mut prep),
    );
    let pos = backend.zeros::<f32>(6).unwrap();
    let ragged_pos = backend.zeros::<f32>(5).unwrap();
    let col = backend.zeros::<f32>(6).unwrap();
    let good = splat_view::<B>(&pos, &prep, &col, 3);
    let mut costs = backend.zeros::<f32>(2 * CANDIDATES).unwrap();
    let mut partners = backend.zeros::<u32>(2 * CANDIDATES).unwrap();
    let mut short_costs = backend.zeros::<f32>(CANDIDATES).unwrap();
    let mut short_partners = backend.zeros::<u32>(CANDIDATES).unwrap();
    for (case, view, window) in [
        (
            "positions not whole rows",
            splat_view::<B>(&ragged_pos, &prep, &col, 3),
            4,
        ),
        ("colour rows of 2", splat_view::<B>(&pos, &prep, &col, 2), 4),
        (
            "short prepared rows",
            splat_view::<B>(&pos, &short_prep, &col, 3),
            4,
        ),
        (
            "colours for 1 splat",
            splat_view::<B>(&pos, &prep, &op, 3),
            4,
        ),
        ("window 0", splat_view::<B>(&pos, &prep, &col, 3), 0),
        (
            "window past MAX_WINDOW",
            splat_view::<B>(&pos, &prep, &col, 3),
            MAX_WINDOW + 1,
        ),
    ] {
        refused(
            name,
            "decimate_candidates",
            case,
            backend.decimate_candidates(&view, window, &mut costs, &mut partners),
        );
    }
    refused(
        name,
        "decimate_candidates",
        "short costs",
        backend.decimate_candidates(&good, 4, &mut short_costs, &mut partners),
    );
    refused(
        name,
        "decimate_candidates",
        "short partners",
        backend.decimate_candidates(&good, 4, &mut costs, &mut short_partners),
    );
    let offsets = backend.upload(&[0u32, 1, 2]).unwrap();
    let no_offsets = backend.zeros::<u32>(0).unwrap();
    let members = backend.upload(&[0u32, 1]).unwrap();
    let too_many_members = backend.zeros::<u32>(33).unwrap();
    let mut out = (
        backend.zeros::<f32>(6).unwrap(),
        backend.zeros::<f32>(8).unwrap(),
        backend.zeros::<f32>(6).unwrap(),
        backend.zeros::<f32>(2).unwrap(),
        backend.zeros::<f32>(6).unwrap(),
    );
    let mut short_out = backend.zeros::<f32>(3).unwrap();
    {
        let mut merged = Merged::<B> {
            positions: &mut out.0,
            rotations: &mut out.1,
            log_scales: &mut out.2,
            opacities: &mut out.3,
            colors: &mut out.4,
        };
        for (case, view, offs, mems) in [
            (
                "positions not whole rows",
                splat_view::<B>(&ragged_pos, &prep, &col, 3),
                &offsets,
                &members,
            ),
            (
                "colour rows of 2",
                splat_view::<B>(&pos, &prep, &col, 2),
                &offsets,
                &members,
            ),
            (
                "short prepared rows",
                splat_view::<B>(&pos, &short_prep, &col, 3),
                &offsets,
                &members,
            ),
            (
                "no offsets",
                splat_view::<B>(&pos, &prep, &col, 3),
                &no_offsets,
                &members,
            ),
            (
                "33 members for 2 splats",
                splat_view::<B>(&pos, &prep, &col, 3),
                &offsets,
                &too_many_members,
            ),
        ] {
            refused(
                name,
                "decimate_merge",
                case,
                backend.decimate_merge(&view, offs, mems, &mut merged),
            );
        }
    }
    let mut short_merged = Merged::<B> {
        positions: &mut out.0,
        rotations: &mut out.1,
        log_scales: &mut out.2,
        opacities: &mut out.3,
        colors: &mut short_out,
    };
    refused(
        name,
        "decimate_merge",
        "short merged colours",
        backend.decimate_merge(&good, &offsets, &members, &mut short_merged),
    );

    // Still working: the good calls after the refusals.
    // Decimation still works: two unit spheres merge into one.
    backend.decimate_prepare(&rot, &ls, &op, &mut prep).unwrap();
    let good = splat_view::<B>(&pos, &prep, &col, 3);
    backend
        .decimate_candidates(&good, 4, &mut costs, &mut partners)
        .unwrap();
    assert_eq!(
        backend.download(&partners).unwrap(),
        [
            1, NO_PARTNER, NO_PARTNER, NO_PARTNER, NO_PARTNER, NO_PARTNER, NO_PARTNER, NO_PARTNER
        ],
        "{name}: partners"
    );
    let pair = backend.upload(&[0u32, 2]).unwrap();
    let mut one = (
        backend.zeros::<f32>(3).unwrap(),
        backend.zeros::<f32>(4).unwrap(),
        backend.zeros::<f32>(3).unwrap(),
        backend.zeros::<f32>(1).unwrap(),
        backend.zeros::<f32>(3).unwrap(),
    );
    let mut merged = Merged::<B> {
        positions: &mut one.0,
        rotations: &mut one.1,
        log_scales: &mut one.2,
        opacities: &mut one.3,
        colors: &mut one.4,
    };
    backend
        .decimate_merge(&good, &pair, &members, &mut merged)
        .unwrap();
    assert_eq!(
        backend.download(&one.1).unwrap()[0],
        1.0,
        "{name}: merged rotation"
    );
    backend.kmeans_assign(&p, &c, 45, &mut l2, state).unwrap();
    assert_eq!(backend.download(&l2).unwrap(), [0, 0], "{name}: labels");
    backend
        .kmeans_update(&p, &labels, 45, 2, &mut sums, &mut counts)
        .unwrap();
    assert_eq!(backend.download(&counts).unwrap(), [1, 1], "{name}: counts");
    let mut keys = backend.upload(&[2u64, 1]).unwrap();
    let mut values = backend.upload(&[0u32, 1]).unwrap();
    backend.sort_pairs(&mut keys, &mut values).unwrap();
    assert_eq!(backend.download(&values).unwrap(), [1, 0], "{name}: sort");
    // 2×1 blocks of 4×4 cells, 3 channels, each off by 0.25 (exact in binary, so the sum is
    // exact).
    let loss = backend.plas_loss(&g, &cells, &target, &fine).unwrap();
    assert_eq!(loss, 2.0 * 16.0 * 3.0 * 0.0625, "{name}: loss");
    backend
        .plas_reorder(&g, &mut cells, &mut index, &target, None, &fine)
        .unwrap();
    backend.plas_blur(&g, &cells, 1, &mut target).unwrap();
}

/// A label outside 0..k is an error (naming the point) on the backends that check labels:
/// the CPU reference and CUDA. (wgpu's `label_histogram.wgsl` skips such labels: the driver
/// never produces them.)
fn rejects_labels_out_of_range<B: Backend>(backend: &B) {
    let p = backend.upload(&[0f32; 90]).unwrap();
    let labels = backend.upload(&[0u32, 5]).unwrap();
    let mut sums = backend.zeros::<f32>(2 * 45).unwrap();
    let mut counts = backend.zeros::<u32>(2).unwrap();
    let message = refused(
        backend.name(),
        "kmeans_update",
        "label 5 for k = 2",
        backend.kmeans_update(&p, &labels, 45, 2, &mut sums, &mut counts),
    );
    assert!(
        message.contains("point 1 has a label outside 0..2"),
        "{message}"
    );
}

#[test]
fn cpu_rejects_labels_out_of_range() {
    rejects_labels_out_of_range(&cpu::Cpu);
}

#[test]
fn cuda_rejects_labels_out_of_range() {
    if let Some(backend) = cuda() {
        rejects_labels_out_of_range(backend);
    }
}
