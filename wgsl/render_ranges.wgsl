// Step 2 of the renderer on the device, last part (src/render/wgpu/bin.rs): from the keys
// sorted by (tile, depth) ((low, high) u32 pairs, the tile in the high word), each tile's
// [start, end) in the sorted ids. Key k starts its tile's range when the key before it is of
// another tile and ends it when the key after it is; tiles without keys keep the zeros the
// host cleared `ranges` to.
// Bin read: n (keys).

@group(0) @binding(0) var<uniform> params: Bin;
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> ranges: array<vec2<u32>>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let k = group_index(wid, nwg) * 256u + lid;
    if (k >= params.n) {
        return;
    }
    let t = keys[2u * k + 1u];
    if (k == 0u || keys[2u * k - 1u] != t) {
        ranges[t].x = k;
    }
    if (k + 1u == params.n || keys[2u * k + 3u] != t) {
        ranges[t].y = k + 1u;
    }
}
