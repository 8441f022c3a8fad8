// centroid_norms: norms[centroid_base + c] = Σ_d centroids[c][d]² (in f32, d in increasing
// order) for the n centroids of the bound buffer; the ‖c‖² term of kmeans_assign.wgsl.
// Header: DIM and the alias `Scalar`, as for kmeans_assign. Params read: n, centroid_base.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> centroids: array<Scalar>;
@group(0) @binding(2) var<storage, read_write> norms: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let c = group_index(wid, nwg) * 256u + lid;
    if (c < params.n) {
        var sum = 0.0;
        for (var d = 0u; d < DIM; d++) {
            let v = f32(centroids[c * DIM + d]);
            sum += v * v;
        }
        norms[params.centroid_base + c] = sum;
    }
}
