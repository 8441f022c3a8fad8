// key_bits_subgroup: key_bits.wgsl (result = [OR of low words, OR of high words, AND of low
// words, AND of high words] over keys[0..n); `result` starts as [0, 0, !0, !0]) with the
// OR/AND first reduced inside each subgroup, so one invocation per subgroup touches the
// workgroup atomics. Order-free, so no subgroup layout is assumed. Params read: n.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> result: array<atomic<u32>, 4>;

var<workgroup> local_bits: array<atomic<u32>, 4>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    if (lid < 2u) {
        atomicStore(&local_bits[lid], 0u);
        atomicStore(&local_bits[lid + 2u], 0xffffffffu);
    }
    workgroupBarrier();
    let i = group_index(wid, nwg) * 256u + lid;
    // Identities (0 for OR, !0 for AND) past the end.
    var lo = 0u;
    var hi = 0u;
    var lo_and = 0xffffffffu;
    var hi_and = 0xffffffffu;
    if (i < params.n) {
        lo = keys[2u * i];
        hi = keys[2u * i + 1u];
        lo_and = lo;
        hi_and = hi;
    }
    let or_lo = subgroupOr(lo);
    let or_hi = subgroupOr(hi);
    let and_lo = subgroupAnd(lo_and);
    let and_hi = subgroupAnd(hi_and);
    if (subgroupBroadcastFirst(lid) == lid) {
        atomicOr(&local_bits[0], or_lo);
        atomicOr(&local_bits[1], or_hi);
        atomicAnd(&local_bits[2], and_lo);
        atomicAnd(&local_bits[3], and_hi);
    }
    workgroupBarrier();
    if (lid == 0u) {
        atomicOr(&result[0], atomicLoad(&local_bits[0]));
        atomicOr(&result[1], atomicLoad(&local_bits[1]));
        atomicAnd(&result[2], atomicLoad(&local_bits[2]));
        atomicAnd(&result[3], atomicLoad(&local_bits[3]));
    }
}
