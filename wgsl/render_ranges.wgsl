// Step 2 of the renderer on the device, last part (src/render/wgpu/bin.rs): from the keys
// sorted by (tile, depth), each tile's [start, end) in the sorted ids. Key k starts its
// tile's range when the key before it is of another tile and ends it when the key after it
// is; tiles without keys keep the zeros the host cleared `ranges` to.
// Bin read: n (keys).

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
@group(0) @binding(1) var<storage, read> tile: array<u32>;
@group(0) @binding(2) var<storage, read_write> ranges: array<vec2<u32>>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let k = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (k >= params.n) {
        return;
    }
    let t = tile[k];
    if (k == 0u || tile[k - 1u] != t) {
        ranges[t].x = k;
    }
    if (k + 1u == params.n || tile[k + 1u] != t) {
        ranges[t].y = k + 1u;
    }
}
