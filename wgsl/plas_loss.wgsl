// plas_loss: Σ‖cell − target‖² over the valid cells the block lattice covers, one invocation
// per covered cell (rows (shift_y + row) mod H for row < blocks_y·B, columns
// (shift_x + col) mod W for col < blocks_x·B), one partial sum per workgroup (fixed tree
// order); plas_reduce finishes the sum.
// PlasParams read: width, height, channels, valid, size, shift_x, shift_y, blocks_x,
// total (= covered cells), partials.

@group(0) @binding(0) var<uniform> params: PlasParams;
@group(0) @binding(1) var<storage, read> cells: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let group = group_index(wid, nwg);
    let item = group * PLAS_WG + lid;
    var value = 0.0;
    if (item < params.total) {
        let cols = params.blocks_x * params.size;
        let x = (params.shift_x + item % cols) % params.width;
        let y = (params.shift_y + item / cols) % params.height;
        let q = y * params.width + x;
        if (q < params.valid) {
            let c = params.channels;
            for (var ch = 0u; ch < c; ch++) {
                let d = cells[q * c + ch] - targets[q * c + ch];
                value = value + d * d;
            }
        }
    }
    let sum = workgroup_total(lid, value);
    if (lid == 0u && group < params.partials) {
        partials[group] = sum;
    }
}
