//! The CUDA PLAS kernels against the CPU reference (`backend::cpu::plas`): blurred targets,
//! reordered cells and index maps bit for bit, losses to f64 rounding (the device sums the
//! same f32 group costs in another order), the whole `encode::plas::sort` driver giving the
//! CPU's order, and (printed, not asserted) timings at 1024×1024×14 and of a full 1M-splat
//! sort. Bad calls are refused on every backend by `conformance::rejects_bad_calls`.
//!
//! Without a usable CUDA driver every test prints `skipped: no CUDA driver (<why>)` and passes,
//! unless `REQUIRE_CUDA=1`.

use std::time::Instant;

use splatpress::backend::cpu::Cpu;
use splatpress::backend::cuda::CudaBackend;
use splatpress::backend::plas::{PlasBlocks, PlasGrid};
use splatpress::backend::{Buffers, Plas};
use splatpress::encode::plas::{Quality, Schedule, sort};

use crate::conformance::Rng;
use crate::plas_conformance::gcd;

/// Relative difference allowed between device and CPU losses: both add the same f32 values in
/// f64, in different orders (n·2⁻⁵³ for n ≤ 2²⁰ terms is under 1.2e-10).
const LOSS_TOLERANCE: f64 = 1e-9;

fn cuda() -> Option<&'static CudaBackend> {
    crate::conformance::cuda()
}

/// Grid values: half the cells continuous, half small integers (so equal costs, and with them
/// the tie rule, actually occur).
fn values(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            if (i / 7) % 2 == 0 {
                rng.signed() * 3.0
            } else {
                rng.below(3) as f32
            }
        })
        .collect()
}

/// A random valid lattice for `grid` of side `size`.
fn lattice(rng: &mut Rng, grid: &PlasGrid, size: usize) -> PlasBlocks {
    let area = (size * size) as u64;
    // Any u64 coprime with B² (the kernels reduce it mod B² as the CPU does).
    let mut multiplier = rng.next_u64() | 1;
    while gcd(multiplier % area, area) != 1 {
        multiplier = multiplier.wrapping_add(2);
    }
    PlasBlocks {
        size,
        shift_x: rng.below(grid.width as u64) as usize,
        shift_y: rng.below(grid.height as u64) as usize,
        multiplier,
        offset: rng.below(area),
    }
}

fn first_bit_difference(got: &[f32], want: &[f32]) -> Option<usize> {
    assert_eq!(got.len(), want.len());
    (0..got.len()).find(|&i| got[i].to_bits() != want[i].to_bits())
}

fn assert_loss(what: &str, got: f64, want: f64) {
    let scale = want.abs().max(1e-30);
    assert!(
        (got - want).abs() <= LOSS_TOLERANCE * scale,
        "{what}: loss {got} on cuda, {want} on the cpu"
    );
}

#[test]
fn blur_is_bit_exact() {
    let Some(gpu) = cuda() else { return };
    let mut rng = Rng::new(11);
    let shapes = [
        (1, 1, 1),
        (1, 7, 3),
        (7, 1, 3),
        (2, 2, 14),
        (13, 9, 14),
        (64, 48, 14),
        (100, 37, 5),
        (33, 65, 16),
        (20, 20, 17),
    ];
    for (w, h, c) in shapes {
        let grid = PlasGrid {
            width: w,
            height: h,
            channels: c,
            valid: w * h,
        };
        let cells = values(&mut rng, w * h * c);
        let on_gpu = gpu.upload(&cells).unwrap();
        for radius in [0, 1, 3, w.min(h) / 2, 1000] {
            let mut want = vec![0f32; cells.len()];
            Cpu.plas_blur(&grid, &cells, radius, &mut want).unwrap();
            // Poisoned, so an unwritten value shows.
            let mut target = gpu.upload(&vec![f32::NAN; cells.len()]).unwrap();
            gpu.plas_blur(&grid, &on_gpu, radius, &mut target).unwrap();
            let got = gpu.download(&target).unwrap();
            if let Some(i) = first_bit_difference(&got, &want) {
                panic!(
                    "blur {w}×{h}×{c} r={radius}: value {i}: cuda {} cpu {}",
                    got[i], want[i]
                );
            }
        }
    }
}

/// One case: several reorders in a row with fresh lattices, compared after each.
fn check_reorders(gpu: &CudaBackend, rng: &mut Rng, grid: PlasGrid, with_keys: bool) {
    let (w, h, c) = (grid.width, grid.height, grid.channels);
    let mut cells = values(rng, w * h * c);
    // An independent target, so that even tiny grids have something to move.
    let target = values(rng, cells.len());
    let mut index: Vec<u32> = (0..(w * h) as u32).collect();
    let keys: Option<Vec<u32>> =
        with_keys.then(|| (0..w * h).map(|_| rng.below(3) as u32).collect());
    let mut g_cells = gpu.upload(&cells).unwrap();
    let mut g_index = gpu.upload(&index).unwrap();
    let g_target = gpu.upload(&target).unwrap();
    let g_keys = keys.as_ref().map(|k| gpu.upload(k).unwrap());
    let side = w.min(h) / 2 * 2;
    let label = format!("{w}×{h}×{c} valid {} keys {with_keys}", grid.valid);
    for round in 0..4 {
        let size = [side, 2, 4.min(side), (side / 2).max(2) / 2 * 2][round];
        let blocks = lattice(rng, &grid, size);
        let want_start = Cpu.plas_loss(&grid, &cells, &target, &blocks).unwrap();
        let got_start = gpu.plas_loss(&grid, &g_cells, &g_target, &blocks).unwrap();
        assert_loss(
            &format!("{label} loss before {blocks:?}"),
            got_start,
            want_start,
        );
        let want = Cpu
            .plas_reorder(
                &grid,
                &mut cells,
                &mut index,
                &target,
                keys.as_ref(),
                &blocks,
            )
            .unwrap();
        let got = gpu
            .plas_reorder(
                &grid,
                &mut g_cells,
                &mut g_index,
                &g_target,
                g_keys.as_ref(),
                &blocks,
            )
            .unwrap();
        assert_loss(&format!("{label} reorder {blocks:?}"), got, want);
        let got_cells = gpu.download(&g_cells).unwrap();
        let got_index = gpu.download(&g_index).unwrap();
        if let Some(i) = first_bit_difference(&got_cells, &cells) {
            panic!(
                "{label} reorder {round} {blocks:?}: cell value {i}: cuda {} cpu {}",
                got_cells[i], cells[i]
            );
        }
        assert_eq!(
            got_index, index,
            "{label} reorder {round} {blocks:?}: index"
        );
    }
    // The reorders moved something (the comparison above is not vacuous).
    assert!(
        index.iter().enumerate().any(|(i, &v)| v != i as u32),
        "{label}: nothing moved"
    );
}

#[test]
fn reorder_and_loss_are_bit_exact() {
    let Some(gpu) = cuda() else { return };
    let mut rng = Rng::new(12);
    // (w, h, c, padding cells): register path (c ≤ 16, even and odd), wide path (c > 16).
    let cases = [
        (2, 2, 1, 0),
        (8, 6, 3, 5),
        (16, 16, 14, 0),
        (37, 29, 14, 100),
        (64, 64, 16, 1),
        (50, 44, 17, 30),
        (24, 40, 20, 0),
        (130, 96, 14, 3000),
    ];
    for (w, h, c, padding) in cases {
        for with_keys in [false, true] {
            let grid = PlasGrid {
                width: w,
                height: h,
                channels: c,
                valid: w * h - padding,
            };
            check_reorders(gpu, &mut rng, grid, with_keys);
        }
    }
}

/// Features of `n` splats in `channels` channels: smooth in the splat id plus noise.
fn features(rng: &mut Rng, n: usize, channels: usize) -> Vec<f32> {
    (0..n * channels)
        .map(|i| ((i / channels) as f32 * 0.001 + (i % channels) as f32).sin() + rng.signed())
        .collect()
}

#[test]
fn sort_matches_cpu() {
    let Some(gpu) = cuda() else { return };
    let mut rng = Rng::new(13);
    let (w, h, c, n) = (96, 80, 14, 7000);
    let feats = features(&mut rng, n, c);
    let start: Vec<u32> = (0..n as u32).rev().collect();
    let schedule = Schedule::new(Quality::Fast, w, h, None);
    let (want, want_stats) = sort(&Cpu, &(), &feats, c, &start, None, w, h, &schedule, 5).unwrap();
    let (got, got_stats) = sort(gpu, &(), &feats, c, &start, None, w, h, &schedule, 5).unwrap();
    assert_eq!(got_stats.reorders, want_stats.reorders);
    assert_eq!(got, want, "PLAS order on cuda differs from the cpu's");
    eprintln!(
        "cuda sort {w}×{h}×{c}: {} reorders, same order as the cpu",
        got_stats.reorders
    );
}

fn median_ms(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

#[test]
fn timings_1m() {
    let Some(gpu) = cuda() else { return };
    let mut rng = Rng::new(14);
    let (w, h, c) = (1024, 1024, 14);
    let grid = PlasGrid {
        width: w,
        height: h,
        channels: c,
        valid: w * h - 1000,
    };
    let cells = values(&mut rng, w * h * c);
    let mut g_cells = gpu.upload(&cells).unwrap();
    let mut g_index = gpu
        .upload(&(0..(w * h) as u32).collect::<Vec<_>>())
        .unwrap();
    let mut g_target = gpu.zeros::<f32>(cells.len()).unwrap();
    let time = |f: &mut dyn FnMut()| {
        f(); // warm-up
        let times: Vec<f64> = (0..20)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        median_ms(times)
    };
    for radius in [511, 8] {
        let ms = time(&mut || {
            gpu.plas_blur(&grid, &g_cells, radius, &mut g_target)
                .unwrap()
        });
        eprintln!("cuda plas_blur {w}×{h}×{c} r={radius}: {ms:.3} ms");
    }
    for size in [1024, 16] {
        let blocks = lattice(&mut rng, &grid, size);
        let ms = time(&mut || {
            gpu.plas_loss(&grid, &g_cells, &g_target, &blocks).unwrap();
        });
        eprintln!("cuda plas_loss {w}×{h}×{c} B={size}: {ms:.3} ms");
        let ms = time(&mut || {
            gpu.plas_reorder(&grid, &mut g_cells, &mut g_index, &g_target, None, &blocks)
                .unwrap();
        });
        eprintln!("cuda plas_reorder {w}×{h}×{c} B={size}: {ms:.3} ms (incl. read-back)");
    }
    // The whole driver at 1M splats, 1000×1000, default schedule.
    let (w, h, n) = (1000, 1000, 1_000_000);
    let feats = features(&mut rng, n, c);
    let start: Vec<u32> = (0..n as u32).collect();
    let schedule = Schedule::new(Quality::Default, w, h, None);
    let t = Instant::now();
    let (order, stats) = sort(gpu, &(), &feats, c, &start, None, w, h, &schedule, 1).unwrap();
    let s = t.elapsed().as_secs_f64();
    assert_eq!(order.len(), n);
    eprintln!(
        "cuda sort 1M×{c} on {w}×{h}: {s:.3} s, {} radii, {} configs, {} reorders ({:.1} µs each on average)",
        stats.radii,
        stats.configs,
        stats.reorders,
        s * 1e6 / f64::from(stats.reorders.max(1))
    );
}
