// plas_reorder: one PLAS reorder (algorithms.md §1.4, correct swap direction), one invocation
// per group of four cells, in place (groups own disjoint cells). Group g of block
// g / groups_per_block covers the in-block steps k = 4·(g mod groups_per_block) + j, j < 4,
// at positions p(k) = (a·k + c) mod B², (ix, iy) = (p mod B, p / B), cell
// ((shift_x + bx·B + ix) mod W, (shift_y + by·B + iy) mod H). cost[i][j] = Σ_ch (p_i − t_j)²
// (0 unless both cells are valid); of the 24 placements, identity first, the first strictly
// cheapest allowed one wins (padding stays put; with keys, a vector only moves to a cell of
// its own key), summed as (c0 + c1) + (c2 + c3) like the CPU. The vectors and index entries
// move; each workgroup writes the sum of its groups' best costs (fixed tree order).
// PlasParams read: all but radius and axis.

@group(0) @binding(0) var<uniform> params: PlasParams;
@group(0) @binding(1) var<storage, read_write> cells: array<f32>;
@group(0) @binding(2) var<storage, read_write> index: array<u32>;
@group(0) @binding(3) var<storage, read> targets: array<f32>;
@group(0) @binding(4) var<storage, read> keys: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

// The 24 permutations of {0,1,2,3} in the order of `plas::PERMUTATIONS` (lexicographic,
// identity first), 2 bits per element: element i goes to position (perm >> 2i) & 3.
const PERMS = array<u32, 24>(
    0xe4u, 0xb4u, 0xd8u, 0x78u, 0x9cu, 0x6cu,
    0xe1u, 0xb1u, 0xc9u, 0x39u, 0x8du, 0x2du,
    0xd2u, 0x72u, 0xc6u, 0x36u, 0x4eu, 0x1eu,
    0x93u, 0x63u, 0x87u, 0x27u, 0x4bu, 0x1bu,
);

// (a·k) mod m exactly in 32 bits for a, k < m ≤ 2^24: a taken 4 bits at a time, so every
// intermediate stays below 2^29.
fn mulmod(a: u32, k: u32, m: u32) -> u32 {
    var r = 0u;
    for (var shift = 20; shift >= 0; shift -= 4) {
        r = (r * 16u + ((a >> u32(shift)) & 15u) * k) % m;
    }
    return r;
}

// The cell of in-block position p of block `block`.
fn cell_of(block: u32, p: u32) -> u32 {
    let b = params.size;
    let bx = block % params.blocks_x;
    let by = block / params.blocks_x;
    let x = (params.shift_x + bx * b + p % b) % params.width;
    let y = (params.shift_y + by * b + p / b) % params.height;
    return y * params.width + x;
}

// Reorders group g; returns its best cost.
fn reorder_group(g: u32) -> f32 {
    let block = g / params.groups_per_block;
    let k0 = 4u * (g % params.groups_per_block);
    let area = params.size * params.size;
    var p = (mulmod(params.multiplier, k0, area) + params.offset) % area;
    var pos: array<u32, 4>;
    for (var j = 0u; j < 4u; j++) {
        pos[j] = cell_of(block, p);
        p = p + params.multiplier;
        if (p >= area) {
            p = p - area;
        }
    }
    var valid: array<bool, 4>;
    var key: array<u32, 4>;
    for (var j = 0u; j < 4u; j++) {
        valid[j] = pos[j] < params.valid;
        key[j] = 0u;
        if (params.has_keys != 0u) {
            key[j] = keys[pos[j]];
        }
    }
    let c = params.channels;
    // cost[4·i + j] = ‖p_i − t_j‖².
    var cost: array<f32, 16>;
    for (var e = 0u; e < 16u; e++) {
        cost[e] = 0.0;
    }
    for (var ch = 0u; ch < c; ch++) {
        let p0 = cells[pos[0] * c + ch];
        let p1 = cells[pos[1] * c + ch];
        let p2 = cells[pos[2] * c + ch];
        let p3 = cells[pos[3] * c + ch];
        let t = vec4<f32>(
            targets[pos[0] * c + ch],
            targets[pos[1] * c + ch],
            targets[pos[2] * c + ch],
            targets[pos[3] * c + ch],
        );
        let d0 = vec4<f32>(p0) - t;
        let d1 = vec4<f32>(p1) - t;
        let d2 = vec4<f32>(p2) - t;
        let d3 = vec4<f32>(p3) - t;
        let s0 = d0 * d0;
        let s1 = d1 * d1;
        let s2 = d2 * d2;
        let s3 = d3 * d3;
        for (var j = 0u; j < 4u; j++) {
            cost[j] = cost[j] + s0[j];
            cost[4u + j] = cost[4u + j] + s1[j];
            cost[8u + j] = cost[8u + j] + s2[j];
            cost[12u + j] = cost[12u + j] + s3[j];
        }
    }
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            if (!(valid[i] && valid[j])) {
                cost[4u * i + j] = 0.0;
            }
        }
    }
    var best = 0u;
    var best_cost = bitcast<f32>(0x7f800000u);
    for (var n = 0u; n < 24u; n++) {
        let perm = PERMS[n];
        var allowed = true;
        for (var i = 0u; i < 4u; i++) {
            let to = (perm >> (2u * i)) & 3u;
            if ((!valid[i] && to != i) || key[to] != key[i]) {
                allowed = false;
            }
        }
        if (!allowed) {
            continue;
        }
        let sum = (cost[(perm & 3u)] + cost[4u + ((perm >> 2u) & 3u)])
            + (cost[8u + ((perm >> 4u) & 3u)] + cost[12u + ((perm >> 6u) & 3u)]);
        if (sum < best_cost) {
            best_cost = sum;
            best = n;
        }
    }
    if (best != 0u) {
        let perm = PERMS[best];
        let to = vec4<u32>(
            pos[perm & 3u],
            pos[(perm >> 2u) & 3u],
            pos[(perm >> 4u) & 3u],
            pos[(perm >> 6u) & 3u],
        );
        for (var ch = 0u; ch < c; ch++) {
            let v = vec4<f32>(
                cells[pos[0] * c + ch],
                cells[pos[1] * c + ch],
                cells[pos[2] * c + ch],
                cells[pos[3] * c + ch],
            );
            for (var i = 0u; i < 4u; i++) {
                cells[to[i] * c + ch] = v[i];
            }
        }
        let ids = vec4<u32>(index[pos[0]], index[pos[1]], index[pos[2]], index[pos[3]]);
        for (var i = 0u; i < 4u; i++) {
            index[to[i]] = ids[i];
        }
    }
    return best_cost;
}

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let group = group_index(wid, nwg);
    let g = group * PLAS_WG + lid;
    var value = 0.0;
    if (g < params.total) {
        value = reorder_group(g);
    }
    let sum = workgroup_total(lid, value);
    if (lid == 0u && group < params.partials) {
        partials[group] = sum;
    }
}
