// Last step of one level of the multi-level scan (src/render/wgpu/bin.rs): adds the scanned
// total of the blocks before block b (sums[b], exclusive) to each of block b's 1024 values,
// which render_scan_blocks.wgsl left scanned within the block only.
// Bin read: n.

struct Bin {
    // Elements this dispatch covers (splats, keys or scanned values).
    n: u32,
    tiles_x: u32,
    // Blocks (1024 values in the scan, 2048 keys in the sort); radix sort: digit shift, and
    // the word sorted on (0 = depth, 1 = tile).
    num_blocks: u32,
    shift: u32,
    word: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Bin;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read> sums: array<u32>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = wid.x + wid.y * nwg.x;
    let first = block * 1024u + lid * 4u;
    if (first >= params.n) {
        return;
    }
    let add = sums[block];
    for (var j = 0u; j < 4u; j++) {
        if (first + j < params.n) {
            data[first + j] += add;
        }
    }
}
