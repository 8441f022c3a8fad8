//! The PLAS family (`algorithms.md` §1.3–§1.5): `plas_blur`, `plas_reorder` and `plas_loss`,
//! with the shapes every backend shares: the grid, the block lattice with its in-block
//! permutation, and the 24 placements of a group of four. The provided methods of [`Plas`]
//! check the arguments once, here (`check_shapes`), and call the backend's `run_plas_*`
//! method; the CPU kernels in [`crate::backend::cpu::plas`] define what they compute.
//!
//! A grid is W×H cells of C f32 channels, cell-major (`cells[(y·W + x)·C + c]`). Cells with
//! index ≥ `valid` are padding: they never move and never count in a loss.

use super::buffers::{Buffers, DeviceBuffer};
use crate::Result;

/// Shape of a PLAS grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlasGrid {
    /// Cells per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// f32 channels per cell.
    pub channels: usize,
    /// Cells `0..valid` hold splats; the rest are padding pinned in place.
    pub valid: usize,
}

impl PlasGrid {
    /// Number of cells (W·H).
    pub fn cells(&self) -> usize {
        self.width * self.height
    }
}

/// Block layout and in-block permutation of one reorder.
///
/// Block (bx, by), for bx < W / size and by < H / size, covers cells
/// ((shift_x + bx·size + ix) mod W, (shift_y + by·size + iy) mod H). In-block position k maps
/// to p(k) = (multiplier·k + offset) mod size², read as (ix, iy) = (p mod size, p / size);
/// consecutive k in fours form the groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlasBlocks {
    /// Block side B (even, ≤ min(W, H)).
    pub size: usize,
    /// Roll of the block lattice in x, in 0..W.
    pub shift_x: usize,
    /// Roll of the block lattice in y, in 0..H.
    pub shift_y: usize,
    /// Multiplier a of the affine permutation; gcd(a, B²) = 1.
    pub multiplier: u64,
    /// Offset c of the affine permutation, in 0..B².
    pub offset: u64,
}

impl PlasBlocks {
    /// Blocks per row and per column of the lattice.
    pub fn counts(&self, grid: &PlasGrid) -> (usize, usize) {
        if self.size == 0 {
            return (0, 0);
        }
        (grid.width / self.size, grid.height / self.size)
    }

    /// The cell of in-block step `k` of block `block` (row-major block id).
    #[inline]
    pub fn cell(&self, grid: &PlasGrid, blocks_x: usize, block: usize, k: u64) -> usize {
        let b = self.size;
        let area = (b * b) as u64;
        let p = ((self.multiplier % area) * k + self.offset) % area;
        let (ix, iy) = ((p % b as u64) as usize, (p / b as u64) as usize);
        let (bx, by) = (block % blocks_x, block / blocks_x);
        let x = (self.shift_x + bx * b + ix) % grid.width;
        let y = (self.shift_y + by * b + iy) % grid.height;
        y * grid.width + x
    }
}

/// The 24 permutations of {0, 1, 2, 3}, identity first (ties keep the current placement).
pub const PERMUTATIONS: [[u8; 4]; 24] = permutations();

const fn permutations() -> [[u8; 4]; 24] {
    let mut out = [[0u8; 4]; 24];
    let mut n = 0;
    let mut a = 0;
    while a < 4 {
        let mut b = 0;
        while b < 4 {
            let mut c = 0;
            while c < 4 {
                let d = 6 - a - b - c;
                if a != b && a != c && b != c {
                    out[n] = [a as u8, b as u8, c as u8, d as u8];
                    n += 1;
                }
                c += 1;
            }
            b += 1;
        }
        a += 1;
    }
    out
}

/// PLAS kernels. Required: `run_plas_blur`, `run_plas_reorder` and `run_plas_loss`, which
/// receive checked arguments; drivers call the provided `plas_blur`, `plas_reorder` and
/// `plas_loss`. Bad lengths or block lattices are an error naming the kernel.
pub trait Plas: Buffers {
    /// PLAS blur (`algorithms.md` §1.3): `target` = box mean of width 2r+1 of `cells`, circular
    /// in x, reflected in y (edge not repeated), the radius clamped per axis to ⌊(side − 1)/2⌋.
    /// Defined by [`crate::backend::cpu::plas::plas_blur`].
    fn plas_blur(
        &self,
        grid: &PlasGrid,
        cells: &Self::Buffer<f32>,
        radius: usize,
        target: &mut Self::Buffer<f32>,
    ) -> Result<()> {
        check_shapes(
            "plas_blur",
            grid,
            cells.len(),
            target.len(),
            None,
            None,
            None,
        )
        .map_err(|message| self.error(message))?;
        self.run_plas_blur(grid, cells, radius, target)
    }

    /// One PLAS reorder (§1.4, correct swap direction): every group of four cells of every
    /// block takes the placement of its vectors (and `index` entries) that minimises
    /// Σ‖cell − target‖², the current one on ties; padding never moves; with `keys`, a vector
    /// only moves between cells of equal key. Returns the loss of the processed valid cells
    /// after the move (the stop rule's one readback). Defined by
    /// [`crate::backend::cpu::plas::plas_reorder`].
    fn plas_reorder(
        &self,
        grid: &PlasGrid,
        cells: &mut Self::Buffer<f32>,
        index: &mut Self::Buffer<u32>,
        target: &Self::Buffer<f32>,
        keys: Option<&Self::Buffer<u32>>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        check_shapes(
            "plas_reorder",
            grid,
            cells.len(),
            target.len(),
            Some(index.len()),
            keys.map(DeviceBuffer::len),
            Some(blocks),
        )
        .map_err(|message| self.error(message))?;
        self.run_plas_reorder(grid, cells, index, target, keys, blocks)
    }

    /// Σ‖cell − target‖² over the valid cells the block lattice covers (the loss a
    /// configuration starts from). Defined by [`crate::backend::cpu::plas::plas_loss`].
    fn plas_loss(
        &self,
        grid: &PlasGrid,
        cells: &Self::Buffer<f32>,
        target: &Self::Buffer<f32>,
        blocks: &PlasBlocks,
    ) -> Result<f64> {
        check_shapes(
            "plas_loss",
            grid,
            cells.len(),
            target.len(),
            None,
            None,
            Some(blocks),
        )
        .map_err(|message| self.error(message))?;
        self.run_plas_loss(grid, cells, target, blocks)
    }

    /// [`Plas::plas_blur`] with `cells` and `target` checked against `grid`.
    fn run_plas_blur(
        &self,
        grid: &PlasGrid,
        cells: &Self::Buffer<f32>,
        radius: usize,
        target: &mut Self::Buffer<f32>,
    ) -> Result<()>;

    /// [`Plas::plas_reorder`] with every buffer checked against `grid` and `blocks` against
    /// the grid.
    fn run_plas_reorder(
        &self,
        grid: &PlasGrid,
        cells: &mut Self::Buffer<f32>,
        index: &mut Self::Buffer<u32>,
        target: &Self::Buffer<f32>,
        keys: Option<&Self::Buffer<u32>>,
        blocks: &PlasBlocks,
    ) -> Result<f64>;

    /// [`Plas::plas_loss`] with `cells` and `target` checked against `grid` and `blocks`
    /// against the grid.
    fn run_plas_loss(
        &self,
        grid: &PlasGrid,
        cells: &Self::Buffer<f32>,
        target: &Self::Buffer<f32>,
        blocks: &PlasBlocks,
    ) -> Result<f64>;
}

/// Checks the buffer lengths of a PLAS kernel call against `grid`, and its block lattice when
/// it has one (the argument rule of every backend, applied by [`Plas`]'s provided methods).
fn check_shapes(
    kernel: &str,
    grid: &PlasGrid,
    cells: usize,
    target: usize,
    index: Option<usize>,
    keys: Option<usize>,
    blocks: Option<&PlasBlocks>,
) -> Result<(), String> {
    let want = grid.cells() * grid.channels;
    if cells != want || target != want {
        return Err(format!(
            "{kernel}: {cells} cell values and {target} target values for a {}×{} grid of {} channels ({want} expected)",
            grid.width, grid.height, grid.channels
        ));
    }
    if grid.valid > grid.cells() {
        return Err(format!(
            "{kernel}: {} valid cells in a grid of {}",
            grid.valid,
            grid.cells()
        ));
    }
    for (what, len) in [("index", index), ("key", keys)] {
        if let Some(len) = len
            && len != grid.cells()
        {
            return Err(format!(
                "{kernel}: {len} {what} entries for {} cells",
                grid.cells()
            ));
        }
    }
    match blocks {
        Some(blocks) => check_blocks(kernel, grid, blocks),
        None => Ok(()),
    }
}

/// Checks a block lattice against `grid`: an even side that fits, shifts inside the grid and
/// an affine multiplier coprime with B².
fn check_blocks(kernel: &str, grid: &PlasGrid, blocks: &PlasBlocks) -> Result<(), String> {
    let b = blocks.size;
    let area = (b * b) as u64;
    let coprime = {
        let (mut a, mut m) = (blocks.multiplier % area.max(1), area);
        while m != 0 {
            (a, m) = (m, a % m);
        }
        a == 1
    };
    if b == 0
        || !b.is_multiple_of(2)
        || b > grid.width
        || b > grid.height
        || blocks.shift_x >= grid.width
        || blocks.shift_y >= grid.height
        || !coprime
        || blocks.offset >= area
    {
        return Err(format!(
            "{kernel}: block lattice {blocks:?} does not fit a {}×{} grid",
            grid.width, grid.height
        ));
    }
    Ok(())
}
