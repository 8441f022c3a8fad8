// Step 2 of the renderer on the device, part 2 (src/render/wgpu/bin.rs): splat i writes one
// key per tile of its rectangle, row-major, at offsets[i] (the exclusive scan of
// render_tile_count.wgsl's counts): tile index in `tile`, its depth's f32 bits in `depth`,
// i in `ids`. Keys come out in splat order, so a stable sort leaves equal keys by id, as the
// host's sort of (key, id) does.
// Bin read: n (splats), tiles_x.

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

struct Projected {
    mean: vec2<f32>,
    depth: f32,
    opacity: f32,
    conic: vec3<f32>,
    rect_min: u32,
    color: vec3<f32>,
    rect_max: u32,
}

@group(0) @binding(0) var<uniform> params: Bin;
@group(0) @binding(1) var<storage, read> projected: array<Projected>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> tile: array<u32>;
@group(0) @binding(4) var<storage, read_write> depth: array<u32>;
@group(0) @binding(5) var<storage, read_write> ids: array<u32>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
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
            tile[at] = ty * params.tiles_x + tx;
            depth[at] = bits;
            ids[at] = i;
            at += 1u;
        }
    }
}
