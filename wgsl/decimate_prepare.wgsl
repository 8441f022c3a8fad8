// decimate_prepare: one invocation per splat of the bound window computes its prepared row
// (mass = sigmoid(opacity) · Thomsen area, the covariance R·diag(σ²)·Rᵀ of the normalised
// rotation as xx, xy, xz, yy, yz, zz, the variances σ² and the unit quaternion), as
// `cpu::decimate::prepare` does, in the same f32 operation order.
// DecimateParams read: rows (splats in the window; every binding starts at its first row).

@group(0) @binding(0) var<uniform> params: DecimateParams;
@group(0) @binding(1) var<storage, read> rotations: array<f32>;
@group(0) @binding(2) var<storage, read> log_scales: array<f32>;
@group(0) @binding(3) var<storage, read> opacities: array<f32>;
@group(0) @binding(4) var<storage, read_write> prepared: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * 256u + lid;
    if (i >= params.rows) {
        return;
    }
    let l = vec3<f32>(
        max(log_scales[i * 3u], MIN_LOG_SCALE),
        max(log_scales[i * 3u + 1u], MIN_LOG_SCALE),
        max(log_scales[i * 3u + 2u], MIN_LOG_SCALE),
    );
    let mass = max(sigmoid(opacities[i]) * ellipsoid_area(l), MIN_MASS);
    // The normalised quaternion (w, x, y, z); (1, 0, 0, 0) for zero.
    let q0 = rotations[i * 4u];
    let q1 = rotations[i * 4u + 1u];
    let q2 = rotations[i * 4u + 2u];
    let q3 = rotations[i * 4u + 3u];
    let norm = sqrt(q0 * q0 + q1 * q1 + q2 * q2 + q3 * q3);
    var q = vec4<f32>(1.0, 0.0, 0.0, 0.0);
    if (!(norm <= 0.0)) {
        q = vec4<f32>(q0 / norm, q1 / norm, q2 / norm, q3 / norm);
    }
    let r = rotation_matrix(q);
    let v = vec3<f32>(exp(2.0 * l.x), exp(2.0 * l.y), exp(2.0 * l.z));
    let o = i * PREPARED;
    prepared[o] = mass;
    prepared[o + 1u] = rotated_entry(r, v, 0u, 0u);
    prepared[o + 2u] = rotated_entry(r, v, 0u, 1u);
    prepared[o + 3u] = rotated_entry(r, v, 0u, 2u);
    prepared[o + 4u] = rotated_entry(r, v, 1u, 1u);
    prepared[o + 5u] = rotated_entry(r, v, 1u, 2u);
    prepared[o + 6u] = rotated_entry(r, v, 2u, 2u);
    prepared[o + 7u] = v.x;
    prepared[o + 8u] = v.y;
    prepared[o + 9u] = v.z;
    prepared[o + 10u] = q.x;
    prepared[o + 11u] = q.y;
    prepared[o + 12u] = q.z;
    prepared[o + 13u] = q.w;
}
