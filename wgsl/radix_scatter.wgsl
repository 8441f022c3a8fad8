// radix_scatter (scan-then-scatter step of one LSD radix pass): block b moves each of its
// keys (and values) to offsets[digit * num_blocks + b] + (rank of the key among the block's
// earlier keys with the same digit). Ranks are taken in index order, so the pass is stable,
// as LSD radix sort requires. `offsets` is the exclusive scan of radix_histogram's output.
// Params read: n, num_blocks, shift, word.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys_in: array<u32>;
@group(0) @binding(2) var<storage, read> values_in: array<u32>;
@group(0) @binding(3) var<storage, read_write> keys_out: array<u32>;
@group(0) @binding(4) var<storage, read_write> values_out: array<u32>;
@group(0) @binding(5) var<storage, read> offsets: array<u32>;

var<workgroup> next: array<u32, 256>;
var<workgroup> digits: array<u32, 256>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = group_index(wid, nwg);
    let live = block < params.num_blocks;
    if (live) {
        next[lid] = offsets[lid * params.num_blocks + block];
    }
    workgroupBarrier();
    for (var s = 0u; s < 4u; s++) {
        let i = block * 1024u + s * 256u + lid;
        let valid = live && i < params.n;
        var lo = 0u;
        var hi = 0u;
        var digit = 256u;
        if (valid) {
            lo = keys_in[2u * i];
            hi = keys_in[2u * i + 1u];
            digit = (select(lo, hi, params.word == 1u) >> params.shift) & 255u;
        }
        digits[lid] = digit;
        workgroupBarrier();
        var before = 0u;
        var after = 0u;
        for (var j = 0u; j < 256u; j++) {
            if (digits[j] == digit) {
                if (j < lid) {
                    before += 1u;
                } else if (j > lid) {
                    after += 1u;
                }
            }
        }
        if (valid) {
            let dst = next[digit] + before;
            keys_out[2u * dst] = lo;
            keys_out[2u * dst + 1u] = hi;
            values_out[dst] = values_in[i];
        }
        workgroupBarrier();
        if (valid && after == 0u) {
            next[digit] += before + 1u;
        }
        workgroupBarrier();
    }
}
