// to_f16: dst[i] = f16(src[i]) for i < n: half-precision copies of points and centroids for
// the f16 variant of kmeans_assign. Params read: n. The host prepends `enable f16;`.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f16>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * 256u + lid;
    if (i < params.n) {
        dst[i] = f16(src[i]);
    }
}
