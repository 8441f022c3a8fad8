// scan_subgroup: scan.wgsl (in-place exclusive prefix sum of data[0..n) by ONE workgroup,
// 1024 values per tile, 4 per invocation, running carry) with subgroup operations, built
// only where the device has them. Params read: n.
//
// WGSL does not promise how invocations are grouped into subgroups, so the kernel first
// checks that every subgroup is a full, aligned, in-order run of local_invocation_index
// (lid = g·size + subgroup_invocation_id); only then does it scan inside subgroups
// (subgroupInclusiveAdd) and across the 256/size subgroup totals (one more
// subgroupInclusiveAdd when they fit one subgroup, else a barrier ladder over them). Any
// other layout takes the barrier ladder over all 256 partial sums, as scan.wgsl does. Integer
// sums are exact, so both paths give the same result.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;

var<workgroup> partial: array<u32, 256>;
var<workgroup> layout_broken: atomic<u32>;
// 256 / subgroup size when the layout is usable, else 0.
var<workgroup> group_count: u32;
var<workgroup> group_size: u32;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_invocation_id) sid: u32,
    @builtin(subgroup_size) size: u32,
) {
    let members = subgroupAdd(1u);
    let lowest = subgroupMin(lid);
    let in_order = sid <= lid && lowest == lid - sid;
    if (!in_order || members != size || size == 0u || lowest % size != 0u || 256u % size != 0u) {
        atomicOr(&layout_broken, 1u);
    }
    workgroupBarrier();
    if (lid == 0u) {
        group_count = select(0u, 256u / size, atomicLoad(&layout_broken) == 0u);
        group_size = size;
    }
    let groups = workgroupUniformLoad(&group_count);
    let width = workgroupUniformLoad(&group_size);

    var carry = 0u;
    for (var base = 0u; base < params.n; base += 1024u) {
        let first = base + lid * 4u;
        var v: array<u32, 4>;
        var sum = 0u;
        for (var j = 0u; j < 4u; j++) {
            if (first + j < params.n) {
                v[j] = data[first + j];
            }
            sum += v[j];
        }
        var exclusive = 0u;
        var tile_total = 0u;
        if (groups > 0u) {
            let inclusive = subgroupInclusiveAdd(sum);
            let g = lid / width;
            if (sid == width - 1u) {
                partial[g] = inclusive;
            }
            workgroupBarrier();
            if (groups <= width) {
                // Subgroup 0 (lids 0 … width − 1, all active) scans the subgroup totals.
                if (lid < width) {
                    var total = 0u;
                    if (lid < groups) {
                        total = partial[lid];
                    }
                    let scanned = subgroupInclusiveAdd(total);
                    if (lid < groups) {
                        partial[lid] = scanned;
                    }
                }
                workgroupBarrier();
            } else {
                for (var offset = 1u; offset < groups; offset *= 2u) {
                    var add = 0u;
                    if (lid < groups && lid >= offset) {
                        add = partial[lid - offset];
                    }
                    workgroupBarrier();
                    if (lid < groups) {
                        partial[lid] += add;
                    }
                    workgroupBarrier();
                }
            }
            var before = 0u;
            if (g > 0u) {
                before = partial[g - 1u];
            }
            exclusive = before + inclusive - sum;
            tile_total = partial[groups - 1u];
        } else {
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
            exclusive = partial[lid] - sum;
            tile_total = partial[255];
        }
        var running = carry + exclusive;
        for (var j = 0u; j < 4u; j++) {
            if (first + j < params.n) {
                data[first + j] = running;
            }
            running += v[j];
        }
        carry += tile_total;
        workgroupBarrier();
    }
}
