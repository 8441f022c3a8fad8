// Step 2 of the renderer on the device, part 2 (src/render/wgpu/bin.rs): splat i writes one
// key per tile of its rectangle, row-major, at offsets[i] (the exclusive scan of
// render_tile_count.wgsl's counts). A key is the u64 (tile index << 32) | (the depth's f32
// bits) as the (low, high) u32 pair the compute backend's radix sort takes, its value i in
// `ids`. Keys come out in splat order, so the stable sort leaves equal keys by id, as the
// host's sort of (key, id) does.
// Bin read: n (splats), tiles_x.

@group(0) @binding(0) var<uniform> params: Bin;
@group(0) @binding(1) var<storage, read> projected: array<Projected>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> keys: array<u32>;
@group(0) @binding(4) var<storage, read_write> ids: array<u32>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * 256u + lid;
    if (i >= params.n) {
        return;
    }
    let p = projected[i];
    let x0 = p.rect_min & 0xffffu;
    let y0 = p.rect_min >> 16u;
    let x1 = p.rect_max & 0xffffu;
    let y1 = p.rect_max >> 16u;
    let bits = bitcast<u32>(p.depth);
    var at = offsets[i];
    for (var ty = y0; ty < y1; ty++) {
        for (var tx = x0; tx < x1; tx++) {
            keys[2u * at] = bits;
            keys[2u * at + 1u] = ty * params.tiles_x + tx;
            ids[at] = i;
            at += 1u;
        }
    }
}
