// radix_histogram (reduce step of one LSD radix pass): for block b (BLOCK = 1024 keys), the
// number of keys whose current 8-bit digit is v goes to hist[v * num_blocks + b]. The
// digit-major layout makes the exclusive scan of `hist` the scatter base of every
// (digit, block). Keys are u64 stored as (low, high) u32 pairs.
// Params read: n, num_blocks, shift, word.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> hist: array<u32>;

var<workgroup> bins: array<atomic<u32>, 256>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = group_index(wid, nwg);
    atomicStore(&bins[lid], 0u);
    workgroupBarrier();
    if (block < params.num_blocks) {
        for (var s = 0u; s < 4u; s++) {
            let i = block * 1024u + s * 256u + lid;
            if (i < params.n) {
                let digit = (keys[2u * i + params.word] >> params.shift) & 255u;
                atomicAdd(&bins[digit], 1u);
            }
        }
    }
    workgroupBarrier();
    if (block < params.num_blocks) {
        hist[lid * params.num_blocks + block] = atomicLoad(&bins[lid]);
    }
}
