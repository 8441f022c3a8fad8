// Exclusive prefix sum of data[0..n) (u32, wrapping), level one of a multi-level scan
// (src/render/wgpu/bin.rs): workgroup b scans its block of 1024 values (4 per invocation)
// in place and writes the block's total to sums[b]. The host scans `sums` the same way and
// adds it back (render_scan_add.wgsl) when there is more than one block.
// Bin read: n, num_blocks.

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
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;

var<workgroup> partial: array<u32, 256>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = wid.x + wid.y * nwg.x;
    let first = block * 1024u + lid * 4u;
    var v: array<u32, 4>;
    var sum = 0u;
    for (var j = 0u; j < 4u; j++) {
        if (first + j < params.n) {
            v[j] = data[first + j];
        }
        sum += v[j];
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var offset = 1u; offset < 256u; offset *= 2u) {
        var add = 0u;
        if (lid >= offset) {
            add = partial[lid - offset];
        }
        workgroupBarrier();
        partial[lid] += add;
        workgroupBarrier();
    }
    var running = partial[lid] - sum;
    for (var j = 0u; j < 4u; j++) {
        if (first + j < params.n) {
            data[first + j] = running;
        }
        running += v[j];
    }
    if (lid == 255u && block < params.num_blocks) {
        sums[block] = partial[255];
    }
}
