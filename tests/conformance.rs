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

    // Still working: the good calls after the refusals.
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
