// radix_scatter (scan-then-scatter step of one LSD radix pass): block b moves each of its
// keys (and values) to offsets[digit * num_blocks + b] + (rank of the key among the block's
// earlier keys with the same digit). Ranks are taken in index order, so the pass is stable,
// as LSD radix sort requires. `offsets` is the exclusive scan of radix_histogram's output.
// The block goes 256 keys at a time: each key sets its bit (its invocation index) in a
// 256-bit mask of its digit; its rank among the 256 is the number of bits set below its own,
// and the digit's last key moves the digit's next offset past them all.
// Params read: n, num_blocks, shift, word.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys_in: array<u32>;
@group(0) @binding(2) var<storage, read> values_in: array<u32>;
@group(0) @binding(3) var<storage, read_write> keys_out: array<u32>;
@group(0) @binding(4) var<storage, read_write> values_out: array<u32>;
@group(0) @binding(5) var<storage, read> offsets: array<u32>;

var<workgroup> next: array<u32, 256>;
// Per digit, 8 words of 32 bits: which of the current 256 keys have that digit.
var<workgroup> masks: array<atomic<u32>, 2048>;

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
    let word = lid / 32u;
    let bit = 1u << (lid % 32u);
    for (var s = 0u; s < 4u; s++) {
        for (var w = 0u; w < 8u; w++) {
            atomicStore(&masks[lid * 8u + w], 0u);
        }
        workgroupBarrier();
        let i = block * 1024u + s * 256u + lid;
        let valid = live && i < params.n;
        var lo = 0u;
        var hi = 0u;
        var digit = 0u;
        if (valid) {
            lo = keys_in[2u * i];
            hi = keys_in[2u * i + 1u];
            digit = (select(lo, hi, params.word == 1u) >> params.shift) & 255u;
            atomicOr(&masks[digit * 8u + word], bit);
        }
        workgroupBarrier();
        var before = 0u;
        var count = 0u;
        if (valid) {
            for (var w = 0u; w < 8u; w++) {
                let m = atomicLoad(&masks[digit * 8u + w]);
                count += countOneBits(m);
                if (w < word) {
                    before += countOneBits(m);
                } else if (w == word) {
                    before += countOneBits(m & (bit - 1u));
                }
            }
            let dst = next[digit] + before;
            keys_out[2u * dst] = lo;
            keys_out[2u * dst + 1u] = hi;
            values_out[dst] = values_in[i];
        }
        workgroupBarrier();
        if (valid && before + 1u == count) {
            next[digit] += count;
        }
        workgroupBarrier();
    }
}
