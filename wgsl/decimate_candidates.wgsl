// decimate_candidates: one invocation per splat i of the owned window keeps the CANDIDATES
// cheapest partners j = i + 1 + offset (j < n) for offsets in [j_begin, j_end), cheapest
// first, ties to the lower j, NaN never kept, as `cpu::decimate::decimate_candidates` does
// with `merge_cost` in the same f32 operation order. The window is split across dispatches
// (llvmpipe's loop limit): the first (first_pass = 1) starts each row empty (+∞,
// NO_PARTNER), later ones continue from the row; scanning j upwards keeps the tie rule.
// DecimateParams read: n, dim, first_row, rows, src_first (= first_row: the bound source
// rows start at the owned rows and run `window` past them), j_begin, j_end, first_pass.

@group(0) @binding(0) var<uniform> params: DecimateParams;
@group(0) @binding(1) var<storage, read> positions: array<f32>;
@group(0) @binding(2) var<storage, read> prepared: array<f32>;
@group(0) @binding(3) var<storage, read> colors: array<f32>;
@group(0) @binding(4) var<storage, read_write> costs: array<f32>;
@group(0) @binding(5) var<storage, read_write> partners: array<u32>;

// `cpu::decimate::merge_cost` of the source rows a and b.
fn merge_cost(a_row: u32, b_row: u32) -> f32 {
    let pa = a_row * PREPARED;
    let pb = b_row * PREPARED;
    let wi = prepared[pa];
    let wj = prepared[pb];
    let w = wi + wj;
    let a = wi / w;
    let b = wj / w;
    let d0 = positions[a_row * 3u] - positions[b_row * 3u];
    let d1 = positions[a_row * 3u + 1u] - positions[b_row * 3u + 1u];
    let d2 = positions[a_row * 3u + 2u] - positions[b_row * 3u + 2u];
    let ab = a * b;
    let c0 = a * prepared[pa + 1u] + b * prepared[pb + 1u] + ab * d0 * d0;
    let c1 = a * prepared[pa + 2u] + b * prepared[pb + 2u] + ab * d0 * d1;
    let c2 = a * prepared[pa + 3u] + b * prepared[pb + 3u] + ab * d0 * d2;
    let c3 = a * prepared[pa + 4u] + b * prepared[pb + 4u] + ab * d1 * d1;
    let c4 = a * prepared[pa + 5u] + b * prepared[pb + 5u] + ab * d1 * d2;
    let c5 = a * prepared[pa + 6u] + b * prepared[pb + 6u] + ab * d2 * d2;
    let merged = regularised_log_det(c0, c1, c2, c3, c4, c5);
    let t = merged.y;
    let li = splat_log_det(prepared[pa + 7u], prepared[pa + 8u], prepared[pa + 9u], t);
    let lj = splat_log_det(prepared[pb + 7u], prepared[pb + 8u], prepared[pb + 9u], t);
    let bound = 0.5 * w * (merged.x - a * li - b * lj);
    // Floored at 0 (NaN stays NaN).
    let geometry = select(bound, 0.0, bound < 0.0);
    var colour = 0.0;
    let dim = params.dim;
    let ca = a_row * dim;
    let cb = b_row * dim;
    for (var k = 0u; k < dim; k++) {
        let e = colors[ca + k] - colors[cb + k];
        colour += e * e;
    }
    return geometry + (wi * wj / w) * colour;
}

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = group_index(wid, nwg) * 256u + lid;
    if (t >= params.rows) {
        return;
    }
    let i = params.first_row + t;
    let li = i - params.src_first;
    var cost_row = array<f32, 4>(infinity(), infinity(), infinity(), infinity());
    var partner_row = array<u32, 4>(NO_PARTNER, NO_PARTNER, NO_PARTNER, NO_PARTNER);
    let o = t * CANDIDATES;
    if (params.first_pass == 0u) {
        for (var s = 0u; s < CANDIDATES; s++) {
            cost_row[s] = costs[o + s];
            partner_row[s] = partners[o + s];
        }
    }
    // Partners j < n only (n - 1 - i later splats).
    let last = min(params.j_end, params.n - 1u - i);
    for (var off = params.j_begin; off < last; off++) {
        let j = i + 1u + off;
        let cost = merge_cost(li, j - params.src_first);
        if (is_nan(cost) || !(cost < cost_row[CANDIDATES - 1u])) {
            continue;
        }
        var slot = CANDIDATES - 1u;
        while (slot > 0u && cost < cost_row[slot - 1u]) {
            cost_row[slot] = cost_row[slot - 1u];
            partner_row[slot] = partner_row[slot - 1u];
            slot -= 1u;
        }
        cost_row[slot] = cost;
        partner_row[slot] = j;
    }
    for (var s = 0u; s < CANDIDATES; s++) {
        costs[o + s] = cost_row[s];
        partners[o + s] = partner_row[s];
    }
}
