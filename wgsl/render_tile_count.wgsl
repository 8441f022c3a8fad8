// Step 2 of the renderer on the device, part 1 (src/render/wgpu/bin.rs; the reference is
// render::bin): the number of tiles each projected splat touches, (x1 − x0)·(y1 − y0) with
// saturating differences, into counts[i]; and their 64-bit sum, as (low, high) u32 words in
// `total` (a carry is counted whenever an addition to the low word wraps), so the host can
// size the key buffers and tell a sum past 2³² from a small one.

@group(0) @binding(0) var<uniform> params: Bin;
@group(0) @binding(1) var<storage, read> projected: array<Projected>;
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;
@group(0) @binding(3) var<storage, read_write> total: array<atomic<u32>, 2>;

var<workgroup> group_low: atomic<u32>;
var<workgroup> group_high: atomic<u32>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    if (lid == 0u) {
        atomicStore(&group_low, 0u);
        atomicStore(&group_high, 0u);
    }
    workgroupBarrier();
    let i = group_index(wid, nwg) * 256u + lid;
    var count = 0u;
    if (i < params.n) {
        let p = projected[i];
        let x0 = p.rect_min & 0xffffu;
        let y0 = p.rect_min >> 16u;
        let x1 = p.rect_max & 0xffffu;
        let y1 = p.rect_max >> 16u;
        let w = select(0u, x1 - x0, x1 > x0);
        let h = select(0u, y1 - y0, y1 > y0);
        count = w * h;
        counts[i] = count;
    }
    if (count > 0u) {
        let old = atomicAdd(&group_low, count);
        if (old + count < old) {
            atomicAdd(&group_high, 1u);
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let low = atomicLoad(&group_low);
        var high = atomicLoad(&group_high);
        if (low > 0u) {
            let old = atomicAdd(&total[0], low);
            if (old + low < old) {
                high += 1u;
            }
        }
        if (high > 0u) {
            atomicAdd(&total[1], high);
        }
    }
}
