//! PLAS kernels on the host (`algorithms.md` §1.3–§1.5): the per-radius box blur, the in-place
//! group-of-four reorder and the loss reduction. They define what the GPU kernels compute.
//!
//! A grid is W×H cells of C f32 channels, cell-major (`cells[(y·W + x)·C + c]`). Cells with
//! index ≥ `valid` are padding: they never move and never count in a loss.

use rayon::prelude::*;

use super::Cpu;
use crate::Result;
use crate::backend::Plas;
use crate::backend::plas::{PERMUTATIONS, PlasBlocks, PlasGrid};

/// Box mean of width 2r+1 in x (circular) then in y (reflect, edge not repeated), per channel,
/// of `cells` into `target`. The radius is clamped per axis to ⌊(side − 1)/2⌋, so a window
/// never covers a cell twice. Sums are exact prefix sums in f64.
pub fn plas_blur(grid: &PlasGrid, cells: &[f32], radius: usize, target: &mut [f32]) {
    let (w, h, c) = (grid.width, grid.height, grid.channels);
    assert_eq!(cells.len(), w * h * c, "cells match the grid");
    assert_eq!(target.len(), cells.len(), "target matches the grid");
    if c == 0 || w * h == 0 {
        return;
    }
    let mut rows = vec![0f32; cells.len()];
    box_rows(
        cells,
        &mut rows,
        w,
        c,
        radius.min((w - 1) / 2),
        Border::Wrap,
    );
    let mut columns = vec![0f32; cells.len()];
    transpose(&rows, &mut columns, w, h, c);
    box_rows(
        &columns,
        &mut rows,
        h,
        c,
        radius.min((h - 1) / 2),
        Border::Reflect,
    );
    transpose(&rows, target, h, w, c);
}

#[derive(Clone, Copy)]
enum Border {
    Wrap,
    Reflect,
}

/// Box mean of width 2r+1 along each row of `len` cells (r ≤ (len − 1)/2).
fn box_rows(src: &[f32], dst: &mut [f32], len: usize, c: usize, r: usize, border: Border) {
    let scale = 1.0 / (2 * r + 1) as f64;
    dst.par_chunks_mut(len * c)
        .zip(src.par_chunks(len * c))
        .for_each(|(out, row)| {
            // prefix[i·c + ch] = sum of row cells 0..i.
            let mut prefix = vec![0f64; (len + 1) * c];
            for i in 0..len {
                for ch in 0..c {
                    prefix[(i + 1) * c + ch] = prefix[i * c + ch] + f64::from(row[i * c + ch]);
                }
            }
            // Sum of cells lo..=hi (0 ≤ lo ≤ hi < len), channel ch.
            let span =
                |lo: usize, hi: usize, ch: usize| prefix[(hi + 1) * c + ch] - prefix[lo * c + ch];
            for i in 0..len {
                let (lo, hi) = (i as isize - r as isize, i + r);
                for ch in 0..c {
                    let inner = span(lo.max(0) as usize, hi.min(len - 1), ch);
                    let outer = match border {
                        // Cells -k wrap to len - k; cells len - 1 + k wrap to k - 1.
                        Border::Wrap => {
                            let mut s = 0.0;
                            if lo < 0 {
                                s += span((len as isize + lo) as usize, len - 1, ch);
                            }
                            if hi >= len {
                                s += span(0, hi - len, ch);
                            }
                            s
                        }
                        // Cells -k reflect to k; cells len - 1 + k reflect to len - 1 - k.
                        Border::Reflect => {
                            let mut s = 0.0;
                            if lo < 0 {
                                s += span(1, (-lo) as usize, ch);
                            }
                            if hi >= len {
                                let over = hi - (len - 1);
                                s += span(len - 1 - over, len - 2, ch);
                            }
                            s
                        }
                    };
                    out[i * c + ch] = ((inner + outer) * scale) as f32;
                }
            }
        });
}

/// `dst[(x·H + y)·C + ch] = src[(y·W + x)·C + ch]` for a W×H grid.
fn transpose(src: &[f32], dst: &mut [f32], w: usize, h: usize, c: usize) {
    dst.par_chunks_mut(h * c).enumerate().for_each(|(x, col)| {
        for y in 0..h {
            let from = (y * w + x) * c;
            col[y * c..(y + 1) * c].copy_from_slice(&src[from..from + c]);
        }
    });
}

/// Groups handled by one parallel task (the partial losses are summed in task order, so the
/// result does not depend on the thread count).
const GROUPS_PER_TASK: usize = 2048;

/// Shared mutable access to disjoint elements from several threads.
struct Disjoint<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: callers only touch disjoint indices from different threads (see `plas_reorder`).
unsafe impl<T: Send> Sync for Disjoint<T> {}

impl<T: Copy> Disjoint<T> {
    fn new(slice: &mut [T]) -> Self {
        Disjoint {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
        }
    }

    /// # Safety
    /// No other thread may write `i` concurrently.
    #[inline]
    unsafe fn get(&self, i: usize) -> T {
        assert!(i < self.len);
        // SAFETY: in bounds; no concurrent writer by the caller's contract.
        unsafe { *self.ptr.add(i) }
    }

    /// # Safety
    /// No other thread may read or write `i` concurrently.
    #[inline]
    unsafe fn set(&self, i: usize, v: T) {
        assert!(i < self.len);
        // SAFETY: in bounds; exclusive access by the caller's contract.
        unsafe { *self.ptr.add(i) = v }
    }
}

/// One reorder (§1.4, correct direction): in every block, every group of four cells takes the
/// placement of its four vectors (and their `index` entries) that minimises Σ‖cell − target‖²,
/// trying all 24 and keeping the current one on ties. Padding cells stay where they are.
/// With `keys` (one per cell, fixed to the cell), a vector may only move to a cell of the same
/// key. Returns the loss over the processed valid cells after the move.
pub fn plas_reorder(
    grid: &PlasGrid,
    cells: &mut [f32],
    index: &mut [u32],
    target: &[f32],
    keys: Option<&[u32]>,
    blocks: &PlasBlocks,
) -> f64 {
    let c = grid.channels;
    assert_eq!(cells.len(), grid.cells() * c, "cells match the grid");
    assert_eq!(index.len(), grid.cells(), "one index per cell");
    assert_eq!(target.len(), cells.len(), "target matches the grid");
    assert!(
        keys.is_none_or(|k| k.len() == grid.cells()),
        "one key per cell"
    );
    let (bx, by) = blocks.counts(grid);
    let b = blocks.size;
    if bx * by == 0 || !b.is_multiple_of(2) {
        return 0.0;
    }
    let groups_per_block = b * b / 4;
    let total = bx * by * groups_per_block;
    let tasks = total.div_ceil(GROUPS_PER_TASK);
    let cells_shared = Disjoint::new(cells);
    let index_shared = Disjoint::new(index);
    let partial: Vec<f64> = (0..tasks)
        .into_par_iter()
        .map(|task| {
            let mut loss = 0.0;
            let mut p = vec![0f32; 4 * c];
            for g in task * GROUPS_PER_TASK..((task + 1) * GROUPS_PER_TASK).min(total) {
                let (block, group) = (g / groups_per_block, (g % groups_per_block) as u64);
                let pos: [usize; 4] =
                    std::array::from_fn(|j| blocks.cell(grid, bx, block, 4 * group + j as u64));
                // SAFETY: the affine map is a bijection of a block's B² positions and blocks
                // cover disjoint cells (bx·B ≤ W, by·B ≤ H), so group g owns its four cells.
                unsafe {
                    for j in 0..4 {
                        for ch in 0..c {
                            p[j * c + ch] = cells_shared.get(pos[j] * c + ch);
                        }
                    }
                }
                let valid: [bool; 4] = pos.map(|q| q < grid.valid);
                let key: [u32; 4] = match keys {
                    Some(k) => pos.map(|q| k[q]),
                    None => [0; 4],
                };
                let t = |j: usize| &target[pos[j] * c..(pos[j] + 1) * c];
                // cost[i][j] = ‖p_i − t_j‖² (element i placed at position j), both valid.
                let mut cost = [[0f32; 4]; 4];
                for i in 0..4 {
                    for j in 0..4 {
                        if valid[i] && valid[j] {
                            cost[i][j] = distance(&p[i * c..(i + 1) * c], t(j));
                        }
                    }
                }
                let mut best = 0;
                let mut best_cost = f32::INFINITY;
                for (n, perm) in PERMUTATIONS.iter().enumerate() {
                    if (0..4).any(|i| {
                        let to = perm[i] as usize;
                        (!valid[i] && to != i) || key[to] != key[i]
                    }) {
                        continue;
                    }
                    let sum = (cost[0][perm[0] as usize] + cost[1][perm[1] as usize])
                        + (cost[2][perm[2] as usize] + cost[3][perm[3] as usize]);
                    if sum < best_cost {
                        best_cost = sum;
                        best = n;
                    }
                }
                loss += f64::from(best_cost);
                if best != 0 {
                    let perm = PERMUTATIONS[best];
                    // SAFETY: as above, this task owns the four cells of the group.
                    unsafe {
                        let ids = pos.map(|q| index_shared.get(q));
                        for i in 0..4 {
                            // Element i (now at pos[i]) moves to position perm[i].
                            let to = pos[perm[i] as usize];
                            for ch in 0..c {
                                cells_shared.set(to * c + ch, p[i * c + ch]);
                            }
                            index_shared.set(to, ids[i]);
                        }
                    }
                }
            }
            loss
        })
        .collect();
    partial.iter().sum()
}

/// Σ over the processed valid cells of ‖cell − target‖² (the loss before a configuration's
/// first reorder), summed per block row in a fixed order.
pub fn plas_loss(grid: &PlasGrid, cells: &[f32], target: &[f32], blocks: &PlasBlocks) -> f64 {
    let c = grid.channels;
    let (bx, by) = blocks.counts(grid);
    let b = blocks.size;
    let partial: Vec<f64> = (0..by * b)
        .into_par_iter()
        .map(|row| {
            let y = (blocks.shift_y + row) % grid.height;
            let mut loss = 0.0;
            for col in 0..bx * b {
                let x = (blocks.shift_x + col) % grid.width;
                let q = y * grid.width + x;
                if q < grid.valid {
                    let r = q * c..(q + 1) * c;
                    loss += f64::from(distance(&cells[r.clone()], &target[r]));
                }
            }
            loss
        })
        .collect();
    partial.iter().sum()
}

/// Squared L2 distance.
#[inline]
fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl Plas for Cpu {
    fn run_plas_blur(
        &self,
        grid: &PlasGrid,
        cells: &Vec<f32>,
        radius: usize,
        target: &mut Vec<f32>,
    ) -> Result<()> {
        plas_blur(grid, cells, radius, target);
        Ok(())
    }

    fn run_plas_reorder(
        &self,
        grid: &PlasGrid,
        cells: &mut Vec<f32>,
        index: &mut Vec<u32>,
        target: &Vec<f32>,
        keys: Option<&Vec<u32>>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        Ok(plas_reorder(
            grid,
            cells,
            index,
            target,
            keys.map(Vec::as_slice),
            blocks,
        ))
    }

    fn run_plas_loss(
        &self,
        grid: &PlasGrid,
        cells: &Vec<f32>,
        target: &Vec<f32>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        Ok(plas_loss(grid, cells, target, blocks))
    }
}

#[cfg(test)]
#[path = "plas_tests.rs"]
mod tests;
