// kmeans_assign: labels[first_row + r] = argmin_c ‖c‖² − 2·points[r]·c (the point's own norm
// cannot change the argmin), ties to the lower index. Defined by `cpu::kmeans_assign`, which
// evaluates the same form.
//
// Header constants: DIM (values per row), DC (dimensions staged per chunk, ≤ 16) and the
// alias `Scalar` (f32, or f16 with `enable f16;` for half-precision storage; the workgroup
// tiles and all arithmetic are f32).
// Params read: n (rows in this window), k, first_row, first_centroid, centroid_end,
// centroid_base (global index of centroids[0]). `norms[c]` = ‖c‖² for every global c
// (centroid_norms.wgsl).
//
// GEMM form, register-blocked: a workgroup of 256 invocations owns BP = 128 consecutive rows
// and streams the centroids [first_centroid, centroid_end) in tiles of BC = 64. Invocation
// (tp, tc) = (lid / 16, lid % 16) accumulates the dot products of its 8 rows tp·8 … tp·8+7
// with its 4 centroids tc·4 … tc·4+3 of the tile: per dimension, 3 vec4 loads from workgroup
// memory feed 32 FMAs. Both tiles are staged DC dimensions at a time (transposed, so one vec4
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
const BC: u32 = 64u;
// vec4s per dimension of the row tile and of the centroid tile.
const PV: u32 = 32u;
const CV: u32 = 16u;
// Invocations sharing one group of rows (one per 4 centroids of a tile).
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

    // Running minimum of rows tp·8 + 0…3 (lo) and + 4…7 (hi) over this invocation's centroids.
    var best_lo = vec4<f32>(infinity);
    var best_hi = vec4<f32>(infinity);
    var label_lo = vec4<u32>(0xffffffffu);
    var label_hi = vec4<u32>(0xffffffffu);

    for (var first = params.first_centroid; first < end; first += BC) {
        // acc_j_lo / acc_j_hi: dot products of the 8 rows with centroid tc·4 + j.
        var acc0_lo = vec4<f32>(0.0);
        var acc0_hi = vec4<f32>(0.0);
        var acc1_lo = vec4<f32>(0.0);
        var acc1_hi = vec4<f32>(0.0);
        var acc2_lo = vec4<f32>(0.0);
        var acc2_hi = vec4<f32>(0.0);
        var acc3_lo = vec4<f32>(0.0);
        var acc3_hi = vec4<f32>(0.0);
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
                let lo = row_tile[d * PV + tp * 2u];
                let hi = row_tile[d * PV + tp * 2u + 1u];
                let c = centroid_tile[d * CV + tc];
                acc0_lo += lo * c.x;
                acc0_hi += hi * c.x;
                acc1_lo += lo * c.y;
                acc1_hi += hi * c.y;
                acc2_lo += lo * c.z;
                acc2_hi += hi * c.z;
                acc3_lo += lo * c.w;
                acc3_hi += hi * c.w;
            }
        }
        // Distances up to the rows' own norms, centroids in increasing order, strict `<`.
        let norm = norm_tile[tc];
        let c0 = first + tc * 4u;
        var dist = vec4<f32>(norm.x) - 2.0 * acc0_lo;
        var less = dist < best_lo;
        best_lo = select(best_lo, dist, less);
        label_lo = select(label_lo, vec4<u32>(c0), less);
        dist = vec4<f32>(norm.x) - 2.0 * acc0_hi;
        less = dist < best_hi;
        best_hi = select(best_hi, dist, less);
        label_hi = select(label_hi, vec4<u32>(c0), less);
        dist = vec4<f32>(norm.y) - 2.0 * acc1_lo;
        less = dist < best_lo;
        best_lo = select(best_lo, dist, less);
        label_lo = select(label_lo, vec4<u32>(c0 + 1u), less);
        dist = vec4<f32>(norm.y) - 2.0 * acc1_hi;
        less = dist < best_hi;
        best_hi = select(best_hi, dist, less);
        label_hi = select(label_hi, vec4<u32>(c0 + 1u), less);
        dist = vec4<f32>(norm.z) - 2.0 * acc2_lo;
        less = dist < best_lo;
        best_lo = select(best_lo, dist, less);
        label_lo = select(label_lo, vec4<u32>(c0 + 2u), less);
        dist = vec4<f32>(norm.z) - 2.0 * acc2_hi;
        less = dist < best_hi;
        best_hi = select(best_hi, dist, less);
        label_hi = select(label_hi, vec4<u32>(c0 + 2u), less);
        dist = vec4<f32>(norm.w) - 2.0 * acc3_lo;
        less = dist < best_lo;
        best_lo = select(best_lo, dist, less);
        label_lo = select(label_lo, vec4<u32>(c0 + 3u), less);
        dist = vec4<f32>(norm.w) - 2.0 * acc3_hi;
        less = dist < best_hi;
        best_hi = select(best_hi, dist, less);
        label_hi = select(label_hi, vec4<u32>(c0 + 3u), less);
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
                let i = tp * 8u + p;
                let q = p % 4u;
                let dist = select(best_hi[q], best_lo[q], p < 4u);
                let label = select(label_hi[q], label_lo[q], p < 4u);
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
