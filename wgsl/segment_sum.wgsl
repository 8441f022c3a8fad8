// segment_sum: for each cluster c (one workgroup each), sums[c][d] += the points of its
// members whose index lies in this point window [first_row, first_row + n), in increasing
// point index, one invocation per dimension and a strictly sequential compensated (Kahan)
// f32 sum. The order is fixed, so the result is deterministic without atomics, and the
// compensation keeps it within a few ulps of the CPU's f64 sum in point order. (The
// compensation term restarts at each window; there is one window unless the point matrix
// exceeds a storage binding.)
//
// `members` holds the point ids sorted by (cluster, id); `offsets[c]` is the exclusive scan
// of `counts`. Params read: n, k, dim, first_row, first_window (1: start from zero).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> members: array<u32>;
@group(0) @binding(3) var<storage, read> offsets: array<u32>;
@group(0) @binding(4) var<storage, read> counts: array<u32>;
@group(0) @binding(5) var<storage, read_write> sums: array<f32>;

// First position in members[lo, hi) whose id is >= id (members ascending there).
fn lower_bound(lo_in: u32, hi_in: u32, id: u32) -> u32 {
    var lo = lo_in;
    var hi = hi_in;
    while (lo < hi) {
        let mid = lo + (hi - lo) / 2u;
        if (members[mid] < id) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}

@compute @workgroup_size(64)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let cluster = group_index(wid, nwg);
    if (cluster >= params.k) {
        return;
    }
    let start = offsets[cluster];
    let end = start + counts[cluster];
    let lo = lower_bound(start, end, params.first_row);
    let hi = lower_bound(lo, end, params.first_row + params.n);
    for (var d = lid; d < params.dim; d += 64u) {
        var acc = 0.0;
        if (params.first_window == 0u) {
            acc = sums[cluster * params.dim + d];
        }
        var carry = 0.0;
        for (var m = lo; m < hi; m++) {
            let row = members[m] - params.first_row;
            let y = points[row * params.dim + d] - carry;
            let t = acc + y;
            carry = (t - acc) - y;
            acc = t;
        }
        sums[cluster * params.dim + d] = acc;
    }
}
