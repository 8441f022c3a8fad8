// Shared by the PLAS kernels (plas_blur, plas_reorder, plas_loss, plas_reduce); the host
// appends it after common.wgsl. Keep `PlasParams` in sync with `plas::PlasParams`.

// Per-call scalars of a PLAS kernel. A grid is W×H cells of C f32 channels, cell-major
// (`cells[(y·W + x)·C + c]`); cells with index >= valid are padding.
struct PlasParams {
    width: u32,
    height: u32,
    channels: u32,
    valid: u32,
    // Block side B, lattice roll and in-block affine permutation p(k) = (a·k + c) mod B²
    // (multiplier already reduced mod B²).
    size: u32,
    shift_x: u32,
    shift_y: u32,
    multiplier: u32,
    offset: u32,
    // Blocks per row of the lattice, and groups of four per block (B²/4).
    blocks_x: u32,
    groups_per_block: u32,
    // Work items of the dispatch: groups (reorder), processed cells (loss), lines × C (blur),
    // partial sums (reduce).
    total: u32,
    // Blur: the clamped radius of this axis, and the axis (0: rows, wrap; 1: columns, reflect).
    radius: u32,
    axis: u32,
    // Reorder: 1 when the keys binding holds one key per cell.
    has_keys: u32,
    // Number of per-workgroup partial sums the dispatch writes.
    partials: u32,
}

const PLAS_WG: u32 = 256u;

var<workgroup> plas_sums: array<f32, 256>;

// Sum of `value` over the workgroup in a fixed tree order (deterministic). Must be reached
// by every invocation of the workgroup.
fn workgroup_total(lid: u32, value: f32) -> f32 {
    plas_sums[lid] = value;
    workgroupBarrier();
    for (var step = PLAS_WG / 2u; step > 0u; step = step / 2u) {
        if (lid < step) {
            plas_sums[lid] = plas_sums[lid] + plas_sums[lid + step];
        }
        workgroupBarrier();
    }
    return plas_sums[0];
}
