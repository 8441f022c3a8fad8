// key_bits: result = [OR of low words, OR of high words, AND of low words, AND of high
// words] over keys[0..n). A digit whose bits agree in OR and AND is the same for every key,
// so the radix sort skips its pass. `result` must start as [0, 0, !0, !0]. Params read: n.

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
    if (i < params.n) {
        let lo = keys[2u * i];
        let hi = keys[2u * i + 1u];
        atomicOr(&local_bits[0], lo);
        atomicOr(&local_bits[1], hi);
        atomicAnd(&local_bits[2], lo);
        atomicAnd(&local_bits[3], hi);
    }
    workgroupBarrier();
    if (lid == 0u) {
        atomicOr(&result[0], atomicLoad(&local_bits[0]));
        atomicOr(&result[1], atomicLoad(&local_bits[1]));
        atomicAnd(&result[2], atomicLoad(&local_bits[2]));
        atomicAnd(&result[3], atomicLoad(&local_bits[3]));
    }
}
