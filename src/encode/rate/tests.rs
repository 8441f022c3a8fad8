use super::*;
use crate::encode::quantize::{self, symlog};
use crate::encode::rng::Rng;

/// A random scene's columns, as the pipeline hands them over (texel order).
fn columns(n: usize, seed: u64) -> (Vec<[f32; 3]>, Vec<[f32; 4]>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let mut f = |lo: f32, hi: f32| lo + (hi - lo) * rng.uniform() as f32;
    let positions = (0..n)
        .map(|_| [f(-5.0, 5.0), f(-1.0, 3.0), f(-0.5, 0.5)])
        .collect();
    let rotations = (0..n)
        .map(|_| [f(-1.0, 1.0), f(-1.0, 1.0), f(-1.0, 1.0), f(-1.0, 1.0)])
        .collect();
    let logits = (0..n).map(|_| f(-8.0, 8.0)).collect();
    (positions, rotations, logits)
}

const WIDTH: usize = 48;
const N: usize = 48 * 45 + 7;

#[test]
fn position_codes_stay_within_one_step_and_the_budget() {
    let (positions, _, _) = columns(N, 1);
    for share in [0.0, 0.5, SMALL_SHARE, 1.0] {
        let fine = quantize::means(&positions);
        let mut means = fine.clone();
        let (before, theirs, after) = spend_means(&positions, &mut means, WIDTH, share);
        assert!(
            before < theirs,
            "rounding beats truncation: {before} vs {theirs}"
        );
        assert!(
            after <= budget(before, theirs, share) * (1.0 + 1e-12),
            "share {share}: {after} over the budget {}",
            budget(before, theirs, share)
        );
        let range: [f64; 3] = std::array::from_fn(|a| means.maxs[a] - means.mins[a]);
        let mut moved = 0;
        for (i, p) in positions.iter().enumerate() {
            for a in 0..3 {
                let t = 65535.0 * (symlog(p[a]) - means.mins[a]) / range[a];
                let code = f64::from(means.codes[i][a]);
                assert!(
                    (code - t).abs() <= 1.0 + 1e-9,
                    "share {share}: splat {i} axis {a}: code {code} is more than one step from {t}"
                );
                if means.codes[i][a] != fine.codes[i][a] {
                    moved += 1;
                    assert_eq!(means.codes[i][a] % 2, 0, "a moved code is even");
                }
            }
        }
        if share == 0.0 {
            assert_eq!(moved, 0, "share 0 changes nothing");
            assert_eq!(before, after);
        } else {
            assert!(moved > 0, "share {share} spends some of the margin");
        }
    }
}

#[test]
fn small_positions_error_is_under_splat_transforms() {
    let (positions, _, _) = columns(N, 2);
    let mut means = quantize::means(&positions);
    let (_, theirs, after) = spend_means(&positions, &mut means, WIDTH, SMALL_SHARE);
    assert!(after < theirs, "ours {after} vs splat-transform {theirs}");
}

#[test]
fn quaternion_codes_stay_within_one_step_and_the_budget() {
    let (_, rotations, _) = columns(N, 3);
    for share in [0.0, 0.5, SMALL_SHARE] {
        let fine = quantize::quats(&rotations);
        let mut quats = fine.clone();
        let (before, theirs, after) = spend_quats(&rotations, &[], &mut quats, WIDTH, share);
        assert!(
            before < theirs,
            "rounding beats truncation: {before} vs {theirs}"
        );
        assert!(after <= budget(before, theirs, share) * (1.0 + 1e-12));
        for (i, q) in rotations.iter().enumerate() {
            assert_eq!(
                quats[i][3], fine[i][3],
                "the dropped component never changes"
            );
            let q = q.map(f64::from);
            let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
            let m = usize::from(fine[i][3]);
            let sign = if q[m] < 0.0 { -1.0 } else { 1.0 };
            let kept = (0..4).filter(|&c| c != m);
            for (k, c) in kept.enumerate() {
                let t = 255.0 * (sign * q[c] / norm * std::f64::consts::SQRT_2 * 0.5 + 0.5);
                let b = f64::from(quats[i][k]);
                assert!(
                    (b - t).abs() <= 1.0 + 1e-9,
                    "share {share}: splat {i} byte {k}: {b} is more than one step from {t}"
                );
            }
        }
        // Whether anything moves at a share depends on the data (at least half of the blocks
        // must fit the budget); with none spent, nothing moves.
        if share == 0.0 {
            assert_eq!(quats, fine);
        }
    }
}

#[test]
fn opacity_bytes_stay_within_one_step_and_the_budget() {
    let (_, _, logits) = columns(N, 4);
    for share in [0.0, 0.5, SMALL_SHARE] {
        let fine = quantize::opacities(&logits);
        let mut bytes = fine.clone();
        let (before, theirs, after) = spend_opacities(&logits, &mut bytes, WIDTH, share);
        assert!(after <= budget(before, theirs, share) * (1.0 + 1e-12));
        assert!(after <= theirs);
        for (i, &l) in logits.iter().enumerate() {
            let t = 255.0 / (1.0 + (-f64::from(l)).exp());
            assert!((f64::from(bytes[i]) - t).abs() <= 1.0 + 1e-9, "splat {i}");
        }
        if share == 0.0 {
            assert_eq!(bytes, fine);
        }
    }
}

#[test]
fn blocks_are_coarsened_whole_worst_block_kept_fine_first() {
    // 32×32 grid = 4 blocks of 16×16; block 2 (bottom left) has the largest extra error.
    let width = 32;
    let n = 32 * 32;
    let block = |i: usize| (i / width / BLOCK) * 2 + (i % width) / BLOCK;
    let errors = Errors {
        channels: 1,
        fine: vec![1.0; n],
        coarse: (0..n)
            .map(|i| if block(i) == 2 { 4.0 } else { 2.0 })
            .collect(),
        theirs: 0.0,
        ..Errors::default()
    };
    let all_coarse: f64 = errors.coarse.iter().sum();
    assert!(choose(width, &errors, all_coarse).iter().all(|&c| c));
    // Just under the total: the worst block goes back to fine, the rest stay coarse.
    let chosen = choose(width, &errors, all_coarse - 1.0);
    for i in 0..n {
        assert_eq!(chosen[i], block(i) != 2, "texel {i}");
    }
    // A budget below every coarse block: all fine.
    let fine: f64 = errors.fine.iter().sum();
    assert!(choose(width, &errors, fine).iter().all(|&c| !c));
}

#[test]
fn opacity_bytes_move_to_even_values_in_whole_blocks_when_the_budget_allows() {
    // Values halfway between codes: truncation loses half a step on each, the even code at
    // most one step on half of them, so all of it fits once the whole margin may be spent.
    let logits: Vec<f32> = (0..N)
        .map(|i| {
            let alpha = ((i % 200) as f64 + 20.5) / 255.0;
            (alpha / (1.0 - alpha)).ln() as f32
        })
        .collect();
    let fine = quantize::opacities(&logits);
    let mut bytes = fine.clone();
    let (before, theirs, after) = spend_opacities(&logits, &mut bytes, WIDTH, 1.0);
    assert!(
        after <= theirs,
        "{after} vs splat-transform {theirs} (ours before {before})"
    );
    assert_ne!(bytes, fine, "the whole margin spent moves some bytes");
    for (i, (&b, &f)) in bytes.iter().zip(&fine).enumerate() {
        assert!(b == f || b % 2 == 0, "texel {i}: a moved byte is even");
    }
}

#[test]
fn the_budget_never_falls_below_ours_nor_passes_theirs() {
    assert_eq!(budget(2.0, 1.0, 0.95), 2.0);
    assert_eq!(budget(1.0, 3.0, 0.0), 1.0);
    assert_eq!(budget(1.0, 3.0, 0.5), 2.0);
    assert_eq!(budget(1.0, 3.0, 7.0), 3.0);
}
