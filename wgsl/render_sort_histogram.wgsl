// Reduce step of one pass of the renderer's LSD radix sort (src/render/wgpu/bin.rs), 4-bit
// digits: for block b of 2048 keys, the number whose digit (key >> shift) & 15 is d goes to
// hist[d * num_blocks + b]. Digit-major, so the exclusive scan of `hist` is where each
// (digit, block) starts in the output. `key` is the word the pass sorts on.
// Bin read: n (keys), num_blocks, shift.

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

@group(0) @binding(0) var<uniform> params: Bin;
@group(0) @binding(1) var<storage, read> key: array<u32>;
@group(0) @binding(2) var<storage, read_write> hist: array<u32>;

var<workgroup> bins: array<atomic<u32>, 16>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = wid.x + wid.y * nwg.x;
    if (lid < 16u) {
        atomicStore(&bins[lid], 0u);
    }
    workgroupBarrier();
    for (var s = 0u; s < 8u; s++) {
        let i = block * 2048u + s * 256u + lid;
        if (i < params.n) {
            atomicAdd(&bins[(key[i] >> params.shift) & 15u], 1u);
        }
    }
    workgroupBarrier();
    if (lid < 16u && block < params.num_blocks) {
        hist[lid * params.num_blocks + block] = atomicLoad(&bins[lid]);
    }
}
