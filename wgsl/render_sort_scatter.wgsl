// Scatter step of one pass of the renderer's LSD radix sort (src/render/wgpu/bin.rs), 4-bit
// digits, stable. Block b's 2048 keys are held 8 consecutive ones per invocation. Each
// invocation counts its keys per digit (16 counters packed two to a u32, 16 bits each: a
// block has at most 2048 keys of a digit), an inclusive Hillis–Steele scan over the
// workgroup turns the counts into the number of same-digit keys held by earlier
// invocations, and a key goes to
//   offsets[digit * num_blocks + b] + (same-digit keys of earlier invocations)
//                                   + (same-digit keys earlier in this invocation),
// which keeps keys with equal digits in index order. Moves the tile word, the depth word and
// the id together. No subgroup operations and no inter-workgroup progress needed.
// Bin read: n (keys), num_blocks, shift, word (0: sort on depth, 1: on tile).

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
@group(0) @binding(1) var<storage, read> tile_in: array<u32>;
@group(0) @binding(2) var<storage, read> depth_in: array<u32>;
@group(0) @binding(3) var<storage, read> ids_in: array<u32>;
@group(0) @binding(4) var<storage, read_write> tile_out: array<u32>;
@group(0) @binding(5) var<storage, read_write> depth_out: array<u32>;
@group(0) @binding(6) var<storage, read_write> ids_out: array<u32>;
@group(0) @binding(7) var<storage, read> offsets: array<u32>;

var<workgroup> counts: array<array<u32, 8>, 256>;

// Counter of `digit` in a packed set of 16.
fn field(packed: array<u32, 8>, digit: u32) -> u32 {
    return (packed[digit >> 1u] >> ((digit & 1u) * 16u)) & 0xffffu;
}

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = wid.x + wid.y * nwg.x;
    let first = block * 2048u + lid * 8u;
    var tiles: array<u32, 8>;
    var depths: array<u32, 8>;
    var digits: array<u32, 8>;
    var ranks: array<u32, 8>;
    var mine: array<u32, 8>;
    for (var j = 0u; j < 8u; j++) {
        let i = first + j;
        if (i < params.n) {
            tiles[j] = tile_in[i];
            depths[j] = depth_in[i];
            let word = select(depths[j], tiles[j], params.word == 1u);
            let d = (word >> params.shift) & 15u;
            digits[j] = d;
            ranks[j] = field(mine, d);
            mine[d >> 1u] += 1u << ((d & 1u) * 16u);
        }
    }
    counts[lid] = mine;
    workgroupBarrier();
    for (var offset = 1u; offset < 256u; offset *= 2u) {
        var add: array<u32, 8>;
        if (lid >= offset) {
            add = counts[lid - offset];
        }
        workgroupBarrier();
        if (lid >= offset) {
            for (var w = 0u; w < 8u; w++) {
                counts[lid][w] += add[w];
            }
        }
        workgroupBarrier();
    }
    var before: array<u32, 8>;
    let inclusive = counts[lid];
    for (var w = 0u; w < 8u; w++) {
        // No borrow between the 16-bit fields: each inclusive field is at least this
        // invocation's own.
        before[w] = inclusive[w] - mine[w];
    }
    for (var j = 0u; j < 8u; j++) {
        let i = first + j;
        if (i < params.n) {
            let d = digits[j];
            let dst = offsets[d * params.num_blocks + block] + field(before, d) + ranks[j];
            tile_out[dst] = tiles[j];
            depth_out[dst] = depths[j];
            ids_out[dst] = ids_in[i];
        }
    }
}
