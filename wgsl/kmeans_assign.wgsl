// kmeans_assign: labels[first_row + r] = argmin_c sum_d (points[r][d] - centroids[c][d])^2,
// ties to the lower index (the scan over c is in increasing order with a strict `<`).
// Defined by `cpu::kmeans_assign`.
//
// Header constants: DIM (values per row), PTS (points per invocation, kept in registers),
// TILE (centroids staged in workgroup memory at a time) and the alias `Scalar` (f32, or f16
// with `enable f16;` for half-precision storage; accumulation is always f32).
// Params read: n (rows in this window), k, first_row, first_centroid, centroid_end,
// centroid_base (global index of centroids[0]).
// Each workgroup owns WG * PTS consecutive rows and streams the centroids
// [first_centroid, centroid_end) through `tile`, keeping a running (best distance, best
// index) per row. No N x K matrix exists anywhere.
//
// The centroid loop is split across dispatches (the host sizes each range, see
// `AssignShape::centroids_per_dispatch`) because some drivers bound the loop iterations of
// one invocation: llvmpipe/lavapipe leaves every loop of a shader once 65,535 iterations
// have run in total. The running minimum is carried between dispatches in `best_dist`
// (and `labels`); the dispatch with first_centroid = 0 starts from +infinity. Ranges are
// scanned in increasing order, so ties still go to the lower index, and the carried f32
// distance is the same value a single pass would hold.

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<Scalar>;
@group(0) @binding(2) var<storage, read> centroids: array<Scalar>;
@group(0) @binding(3) var<storage, read_write> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> best_dist: array<f32>;

var<workgroup> tile: array<Scalar, TILE * DIM>;

@compute @workgroup_size(64)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let base = group_index(wid, nwg) * WG * PTS;
    var x: array<f32, PTS * DIM>;
    var best: array<f32, PTS>;
    var best_label: array<u32, PTS>;
    let infinity = bitcast<f32>(0x7f800000u);
    let resume = params.first_centroid > 0u;
    for (var p = 0u; p < PTS; p++) {
        let row = base + p * WG + lid;
        best[p] = infinity;
        best_label[p] = 0u;
        if (row < params.n) {
            for (var d = 0u; d < DIM; d++) {
                x[p * DIM + d] = f32(points[row * DIM + d]);
            }
            if (resume) {
                best[p] = best_dist[params.first_row + row];
                best_label[p] = labels[params.first_row + row];
            }
        }
    }

    for (var first = params.first_centroid; first < params.centroid_end; first += TILE) {
        let count = min(TILE, params.centroid_end - first);
        workgroupBarrier();
        for (var e = lid; e < count * DIM; e += WG) {
            tile[e] = centroids[(first - params.centroid_base) * DIM + e];
        }
        workgroupBarrier();
        for (var c = 0u; c < count; c++) {
            var acc: array<f32, PTS>;
            for (var d = 0u; d < DIM; d++) {
                let centre = f32(tile[c * DIM + d]);
                for (var p = 0u; p < PTS; p++) {
                    let diff = x[p * DIM + d] - centre;
                    acc[p] += diff * diff;
                }
            }
            for (var p = 0u; p < PTS; p++) {
                if (acc[p] < best[p]) {
                    best[p] = acc[p];
                    best_label[p] = first + c;
                }
            }
        }
    }

    let more = params.centroid_end < params.k;
    for (var p = 0u; p < PTS; p++) {
        let row = base + p * WG + lid;
        if (row < params.n) {
            labels[params.first_row + row] = best_label[p];
            if (more) {
                best_dist[params.first_row + row] = best[p];
            }
        }
    }
}
