// kmeans_assign: labels[first_row + r] = argmin_c ‖c‖² − 2·points[r]·c (the point's own norm
// cannot change the argmin), ties to the lower index. Defined by `cpu::kmeans_assign`, which
// evaluates the same form.
//
// Header constants: DIM (values per row), DC (dimensions staged per chunk, ≤ 12) and the
// alias `Scalar` (f32, or f16 with `enable f16;` for half-precision storage; the workgroup
// tiles and all arithmetic are f32).
// Params read: n (rows in this window), k, first_row, first_centroid, centroid_end,
// centroid_base (global index of centroids[0]). `norms[c]` = ‖c‖² for every global c
// (centroid_norms.wgsl).
//
// GEMM form, register-blocked: a workgroup of 256 invocations owns BP = 128 consecutive rows
// and streams the centroids [first_centroid, centroid_end) in tiles of BC = 128. Invocation
// (tp, tc) = (lid / 16, lid % 16) accumulates the dot products of its 8 rows (tile rows
// tp·4 … tp·4+3, "lo", and 64 + tp·4 …, "hi") with its 8 centroids (tile centroids tc·4 …
// tc·4+3, "a", and 64 + tc·4 …, "b"): per dimension, 4 vec4 loads from workgroup memory feed
// 64 FMAs (and the 16 invocations of a row group read 16 consecutive vec4s: no bank conflict). Both tiles are staged DC dimensions at a time (transposed, so one vec4
// holds 4 rows or 4 centroids of one dimension); the sum over dimensions stays sequential.
//
// Each invocation keeps a running (best, label) per row over its own centroids, scanned in
// increasing order with a strict `<`. The 16 invocations sharing rows then merge into
// workgroup memory by (distance, label) — order-free, so the lowest index wins a tie — on
// top of the minimum carried from earlier dispatches (`best_dist`, `labels`; the dispatch
// with first_centroid = 0 starts from +infinity). The centroid range is split across
// dispatches by the host (`AssignShape::centroids_per_dispatch`) because llvmpipe/lavapipe
// leaves every loop of a shader once 65,535 iterations have run in one invocation.

const WG: u32 = 256u;
// Rows per workgroup and centroids per tile.
const BP: u32 = 128u;
const BC: u32 = 128u;
// vec4s per dimension of the row tile and of the centroid tile.
const PV: u32 = 32u;
const CV: u32 = 32u;
// Invocations sharing one group of rows (one per 8 centroids of a tile).
const COLS: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<Scalar>;
@group(0) @binding(2) var<storage, read> centroids: array<Scalar>;
@group(0) @binding(3) var<storage, read> norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> labels: array<u32>;
@group(0) @binding(5) var<storage, read_write> best_dist: array<f32>;

var<workgroup> row_tile: array<vec4<f32>, DC * PV>;
var<workgroup> centroid_tile: array<vec4<f32>, DC * CV>;
var<workgroup> norm_tile: array<vec4<f32>, CV>;
var<workgroup> merged_dist: array<f32, BP>;
var<workgroup> merged_label: array<u32, BP>;

// Running minimum of 4 rows: distance and centroid index.
struct Best {
    dist: vec4<f32>,
    label: vec4<u32>,
}

// `best` updated with the 4 rows' distances to centroid `label` (strict `<`: an equal
// distance keeps the earlier, lower index).
fn consider(best: Best, dist: vec4<f32>, label: u32) -> Best {
    let less = dist < best.dist;
    return Best(select(best.dist, dist, less), select(best.label, vec4<u32>(label), less));
}

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let base = group_index(wid, nwg) * BP;
    let tp = lid / COLS;
    let tc = lid % COLS;
    let infinity = bitcast<f32>(0x7f800000u);
    let end = params.centroid_end;

    var lo = Best(vec4<f32>(infinity), vec4<u32>(0xffffffffu));
    var hi = Best(vec4<f32>(infinity), vec4<u32>(0xffffffffu));

    for (var first = params.first_centroid; first < end; first += BC) {
        // a<j>_lo: dot products of the lo rows with tile centroid tc·4 + j; b<j>: 64 + tc·4 + j.
        var a0_lo = vec4<f32>(0.0);
        var a0_hi = vec4<f32>(0.0);
        var a1_lo = vec4<f32>(0.0);
        var a1_hi = vec4<f32>(0.0);
        var a2_lo = vec4<f32>(0.0);
        var a2_hi = vec4<f32>(0.0);
        var a3_lo = vec4<f32>(0.0);
        var a3_hi = vec4<f32>(0.0);
        var b0_lo = vec4<f32>(0.0);
        var b0_hi = vec4<f32>(0.0);
        var b1_lo = vec4<f32>(0.0);
        var b1_hi = vec4<f32>(0.0);
        var b2_lo = vec4<f32>(0.0);
        var b2_hi = vec4<f32>(0.0);
        var b3_lo = vec4<f32>(0.0);
        var b3_hi = vec4<f32>(0.0);
        for (var d0 = 0u; d0 < DIM; d0 += DC) {
            workgroupBarrier();
            if (d0 == 0u && lid < BC) {
                let c = first + lid;
                var norm = infinity;
                if (c < end) {
                    norm = norms[c];
                }
                norm_tile[lid / 4u][lid % 4u] = norm;
            }
            for (var e = lid; e < DC * BP; e += WG) {
                let r = e / DC;
                let d = d0 + e % DC;
                let row = base + r;
                var v = 0.0;
                if (row < params.n && d < DIM) {
                    v = f32(points[row * DIM + d]);
                }
                row_tile[(e % DC) * PV + r / 4u][r % 4u] = v;
            }
            for (var e = lid; e < DC * BC; e += WG) {
                let c = e / DC;
                let d = d0 + e % DC;
                var v = 0.0;
                if (first + c < end && d < DIM) {
                    v = f32(centroids[(first + c - params.centroid_base) * DIM + d]);
                }
                centroid_tile[(e % DC) * CV + c / 4u][c % 4u] = v;
            }
            workgroupBarrier();
            for (var d = 0u; d < DC; d++) {
                let x_lo = row_tile[d * PV + tp];
                let x_hi = row_tile[d * PV + 16u + tp];
                let a = centroid_tile[d * CV + tc];
                let b = centroid_tile[d * CV + 16u + tc];
                a0_lo += x_lo * a.x;
                a0_hi += x_hi * a.x;
                a1_lo += x_lo * a.y;
                a1_hi += x_hi * a.y;
                a2_lo += x_lo * a.z;
                a2_hi += x_hi * a.z;
                a3_lo += x_lo * a.w;
                a3_hi += x_hi * a.w;
                b0_lo += x_lo * b.x;
                b0_hi += x_hi * b.x;
                b1_lo += x_lo * b.y;
                b1_hi += x_hi * b.y;
                b2_lo += x_lo * b.z;
                b2_hi += x_hi * b.z;
                b3_lo += x_lo * b.w;
                b3_hi += x_hi * b.w;
            }
        }
        // Distances up to the rows' own norms, this invocation's centroids in increasing
        // order.
        let na = norm_tile[tc];
        let nb = norm_tile[16u + tc];
        let ca = first + tc * 4u;
        let cb = first + 64u + tc * 4u;
        lo = consider(lo, vec4<f32>(na.x) - 2.0 * a0_lo, ca);
        hi = consider(hi, vec4<f32>(na.x) - 2.0 * a0_hi, ca);
        lo = consider(lo, vec4<f32>(na.y) - 2.0 * a1_lo, ca + 1u);
        hi = consider(hi, vec4<f32>(na.y) - 2.0 * a1_hi, ca + 1u);
        lo = consider(lo, vec4<f32>(na.z) - 2.0 * a2_lo, ca + 2u);
        hi = consider(hi, vec4<f32>(na.z) - 2.0 * a2_hi, ca + 2u);
        lo = consider(lo, vec4<f32>(na.w) - 2.0 * a3_lo, ca + 3u);
        hi = consider(hi, vec4<f32>(na.w) - 2.0 * a3_hi, ca + 3u);
        lo = consider(lo, vec4<f32>(nb.x) - 2.0 * b0_lo, cb);
        hi = consider(hi, vec4<f32>(nb.x) - 2.0 * b0_hi, cb);
        lo = consider(lo, vec4<f32>(nb.y) - 2.0 * b1_lo, cb + 1u);
        hi = consider(hi, vec4<f32>(nb.y) - 2.0 * b1_hi, cb + 1u);
        lo = consider(lo, vec4<f32>(nb.z) - 2.0 * b2_lo, cb + 2u);
        hi = consider(hi, vec4<f32>(nb.z) - 2.0 * b2_hi, cb + 2u);
        lo = consider(lo, vec4<f32>(nb.w) - 2.0 * b3_lo, cb + 3u);
        hi = consider(hi, vec4<f32>(nb.w) - 2.0 * b3_hi, cb + 3u);
    }

    // Merge the 16 invocations of each row group by (distance, label) onto the carried minimum.
    if (lid < BP) {
        let row = base + lid;
        merged_dist[lid] = infinity;
        merged_label[lid] = 0u;
        if (params.first_centroid > 0u && row < params.n) {
            merged_dist[lid] = best_dist[params.first_row + row];
            merged_label[lid] = labels[params.first_row + row];
        }
    }
    for (var col = 0u; col < COLS; col++) {
        workgroupBarrier();
        if (tc == col) {
            for (var p = 0u; p < 8u; p++) {
                let q = p % 4u;
                let i = select(64u + tp * 4u + q, tp * 4u + q, p < 4u);
                let dist = select(hi.dist[q], lo.dist[q], p < 4u);
                let label = select(hi.label[q], lo.label[q], p < 4u);
                let held = merged_dist[i];
                if (dist < held || (dist == held && label < merged_label[i])) {
                    merged_dist[i] = dist;
                    merged_label[i] = label;
                }
            }
        }
    }
    workgroupBarrier();
    if (lid < BP) {
        let row = base + lid;
        if (row < params.n) {
            labels[params.first_row + row] = merged_label[lid];
            if (end < params.k) {
                best_dist[params.first_row + row] = merged_dist[lid];
            }
        }
    }
}
