use super::*;
use crate::encode::rng;

fn random_cells(n: usize, seed: u64) -> Vec<f32> {
    (0..n)
        .map(|i| rng::unit(seed, 9, i as u64) * 10.0)
        .collect()
}

/// The literal definition: average of the cells at (x + dx mod W, reflect(y + dy)) for
/// |dx|, |dy| ≤ the clamped radius.
fn naive_blur(grid: &PlasGrid, cells: &[f32], r: usize) -> Vec<f32> {
    let (w, h, c) = (grid.width as isize, grid.height as isize, grid.channels);
    let (rx, ry) = (
        r.min((grid.width - 1) / 2) as isize,
        r.min((grid.height - 1) / 2) as isize,
    );
    let reflect = |y: isize| {
        if y < 0 {
            -y
        } else if y >= h {
            2 * (h - 1) - y
        } else {
            y
        }
    };
    let mut out = vec![0f32; cells.len()];
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                let mut s = 0f64;
                for dy in -ry..=ry {
                    for dx in -rx..=rx {
                        let (xx, yy) = ((x + dx).rem_euclid(w), reflect(y + dy));
                        s += f64::from(cells[((yy * w + xx) as usize) * c + ch]);
                    }
                }
                out[((y * w + x) as usize) * c + ch] =
                    (s / ((2 * rx + 1) * (2 * ry + 1)) as f64) as f32;
            }
        }
    }
    out
}

#[test]
fn blur_matches_a_naive_box_filter() {
    for &(w, h, c, r) in &[
        (8, 6, 3, 1),
        (8, 6, 2, 2),
        (9, 7, 1, 10),
        (16, 4, 4, 3),
        (1, 5, 2, 2),
    ] {
        let grid = PlasGrid {
            width: w,
            height: h,
            channels: c,
            valid: w * h,
        };
        let cells = random_cells(w * h * c, (w * 100 + r) as u64);
        let mut target = vec![0f32; cells.len()];
        plas_blur(&grid, &cells, r, &mut target);
        let expected = naive_blur(&grid, &cells, r);
        for (a, b) in target.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-4, "{w}×{h}×{c} r={r}: {a} vs {b}");
        }
    }
}

#[test]
fn permutation_table_is_all_24_distinct_with_identity_first() {
    assert_eq!(PERMUTATIONS[0], [0, 1, 2, 3]);
    for (i, p) in PERMUTATIONS.iter().enumerate() {
        let mut s = *p;
        s.sort();
        assert_eq!(s, [0, 1, 2, 3]);
        assert!(PERMUTATIONS[..i].iter().all(|q| q != p));
    }
}

fn group_cost(grid: &PlasGrid, cells: &[f32], target: &[f32], pos: &[usize]) -> f32 {
    let c = grid.channels;
    pos.iter()
        .filter(|&&q| q < grid.valid)
        .map(|&q| distance(&cells[q * c..(q + 1) * c], &target[q * c..(q + 1) * c]))
        .sum()
}

#[test]
fn reorder_never_raises_a_group_cost_keeps_a_permutation_and_pins_padding() {
    let (w, h, c) = (12, 10, 3);
    let grid = PlasGrid {
        width: w,
        height: h,
        channels: c,
        valid: 107,
    };
    let mut cells = random_cells(w * h * c, 1);
    let before = cells.clone();
    let target = random_cells(w * h * c, 2);
    let mut index: Vec<u32> = (0..(w * h) as u32).collect();
    let blocks = PlasBlocks {
        size: 4,
        shift_x: 3,
        shift_y: 9,
        multiplier: 5,
        offset: 7,
    };
    let old = cells.clone();
    let loss = plas_reorder(&grid, &mut cells, &mut index, &target, None, &blocks);
    // Recompute the groups independently and compare each group's cost.
    let (bx, by) = blocks.counts(&grid);
    let mut total = 0.0;
    let mut seen = vec![false; w * h];
    for block in 0..bx * by {
        for g in 0..4u64 {
            let pos: Vec<usize> = (0..4)
                .map(|j| {
                    let k = 4 * g + j;
                    let p = ((5 * k + 7) % 16) as usize;
                    let (x, y) = (
                        (3 + (block % bx) * 4 + p % 4) % w,
                        (9 + (block / bx) * 4 + p / 4) % h,
                    );
                    y * w + x
                })
                .collect();
            for &q in &pos {
                assert!(!seen[q], "cell {q} in two groups");
                seen[q] = true;
            }
            let after = group_cost(&grid, &cells, &target, &pos);
            assert!(after <= group_cost(&grid, &old, &target, &pos) + 1e-5);
            total += f64::from(after);
        }
    }
    assert!(
        (loss - total).abs() < 1e-3 * total.max(1.0),
        "{loss} vs {total}"
    );
    // Still a permutation, each cell holding the vector its index names; padding unmoved.
    let mut sorted = index.clone();
    sorted.sort();
    assert_eq!(sorted, (0..(w * h) as u32).collect::<Vec<_>>());
    for (q, &id) in index.iter().enumerate() {
        let id = id as usize;
        assert_eq!(cells[q * c..(q + 1) * c], before[id * c..(id + 1) * c]);
        if q >= grid.valid || id >= grid.valid {
            assert_eq!(q, id, "padding cell moved");
        }
    }
    assert!(
        index.iter().enumerate().any(|(q, &id)| q != id as usize),
        "something moved"
    );
}

#[test]
fn reorder_applies_a_three_cycle_in_the_scoring_direction() {
    // One 2×2 block, one group. Cells hold 1-channel values A=0, B=10, C=20, D=30 at
    // positions 0..3; the targets want A at position 1, B at 2, C at 0 and D to stay: the
    // optimum is the 3-cycle 0→1→2→0. Applying its inverse would put A at 2, B at 0, C at 1.
    let grid = PlasGrid {
        width: 2,
        height: 2,
        channels: 1,
        valid: 4,
    };
    let mut cells = vec![0.0, 10.0, 20.0, 30.0];
    let target = vec![20.0, 0.0, 10.0, 30.0];
    let mut index = vec![0, 1, 2, 3];
    let blocks = PlasBlocks {
        size: 2,
        shift_x: 0,
        shift_y: 0,
        multiplier: 1,
        offset: 0,
    };
    let loss = plas_reorder(&grid, &mut cells, &mut index, &target, None, &blocks);
    assert_eq!(cells, target);
    assert_eq!(index, [2, 0, 1, 3]);
    assert_eq!(loss, 0.0);
}

#[test]
fn ties_keep_the_identity_and_loss_matches_definition() {
    let grid = PlasGrid {
        width: 4,
        height: 4,
        channels: 2,
        valid: 16,
    };
    let mut cells = vec![1.0; 32];
    let target = random_cells(32, 3);
    let mut index: Vec<u32> = (0..16).collect();
    let blocks = PlasBlocks {
        size: 4,
        shift_x: 1,
        shift_y: 2,
        multiplier: 3,
        offset: 5,
    };
    let expected = plas_loss(&grid, &cells, &target, &blocks);
    let loss = plas_reorder(&grid, &mut cells, &mut index, &target, None, &blocks);
    assert_eq!(index, (0..16).collect::<Vec<_>>());
    let naive: f64 = (0..32)
        .map(|i| f64::from((1.0 - target[i]) * (1.0 - target[i])))
        .sum();
    assert!((expected - naive).abs() < 1e-4 && (loss - naive).abs() < 1e-3);
}
