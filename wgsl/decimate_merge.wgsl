// decimate_merge: moment matching of groups of splats (`cpu::decimate::merge_group`, same
// f32 operation order), one invocation per group of the owned group window, in phases the
// host runs in order so that any member may lie in any source window (the splat columns
// may exceed one storage binding) and no invocation loops past llvmpipe's limit:
//
//   0  sizes[0] = max over groups of the clamped member count (for the host's slicing);
//   1  mass, origin and frame: the first valid member (index < n), its position and unit
//      quaternion q₀, and Σ mass (acc);
//   2  mean about the origin, mass-weighted (acc);
//   3  covariance about the mean in the frame R₀ = R(q₀) (acc): member m adds
//      p·(Q diag(vₘ) Qᵀ + e eᵀ), Q = R(conj(q₀) ⊗ qₘ) (the identity for m = first),
//      e = R₀ᵀ(xₘ − mean); and the mean colour (`out` = the colour rows);
//   4  finish: eigen-decomposition (cyclic Jacobi on Σ / t), axes largest first (ties keep
//      the lower index), det < 0 flips the third column, R = R₀·U, quaternion with w ≥ 0,
//      log scales, opacity logit; results replace the group's accumulator;
//   5  copy one result field into `out` (field 0 positions, 1 rotations, 2 log scales,
//      3 opacities).
//
// Phases 1–3 run once per member slice [member_base, member_base + member_count) of each
// group's list and per source window [src_first, src_first + src_rows); a member outside
// the window is left to the dispatch whose window holds it. Phase 1 with first_pass = 1
// starts the accumulators and zeroes the colour rows. Group g's members are
// members[offsets[g] .. offsets[g + 1]], offsets clamped to the member list; indices >= n
// are skipped. Accumulator row (ACC values): first valid member (NO_MEMBER when none yet),
// Σ mass, origin (3), mean (3), covariance xx, xy, xz, yy, yz, zz, q₀ (4); f32 values are stored
// as their bits (u32), so the member index survives untouched.
// DecimateParams read: n, dim, rows (groups owned), src_first, src_rows, first_pass,
// members_len, member_base, member_count, phase, field.

@group(0) @binding(0) var<uniform> params: DecimateParams;
// offsets[t], offsets[t + 1]: the member range of owned group t.
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> members: array<u32>;
@group(0) @binding(3) var<storage, read> positions: array<f32>;
@group(0) @binding(4) var<storage, read> prepared: array<f32>;
@group(0) @binding(5) var<storage, read> colors: array<f32>;
@group(0) @binding(6) var<storage, read_write> acc: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read_write> sizes: array<atomic<u32>>;

const ACC: u32 = 20u;
const NO_MEMBER: u32 = 0xffffffffu;

// Eigen-decomposition of the symmetric 3×3 `a` (row-major, overwritten; eigenvalues end on
// its diagonal) by cyclic Jacobi rotations; eigenvectors into the columns of `v`.
fn jacobi_eigen(a: ptr<function, array<f32, 9>>, v: ptr<function, array<f32, 9>>) {
    *v = array<f32, 9>(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0);
    for (var sweep = 0u; sweep < JACOBI_SWEEPS; sweep++) {
        for (var pair = 0u; pair < 3u; pair++) {
            let p = select(0u, 1u, pair == 2u);
            let q = select(pair + 1u, 2u, pair == 2u);
            let apq = (*a)[p * 3u + q];
            let app = (*a)[p * 3u + p];
            let aqq = (*a)[q * 3u + q];
            if (abs(apq) <= 1e-9 * max(abs(app), abs(aqq)) || apq == 0.0) {
                continue;
            }
            let theta = (aqq - app) / (2.0 * apq);
            // Rust's signum: −1 for −0 and below, +1 for +0 and above.
            let sign = select(1.0, -1.0, (bitcast<u32>(theta) & 0x80000000u) != 0u);
            let t = sign / (abs(theta) + sqrt(theta * theta + 1.0));
            let c = 1.0 / sqrt(t * t + 1.0);
            let s = t * c;
            for (var k = 0u; k < 3u; k++) {
                let akp = (*a)[k * 3u + p];
                let akq = (*a)[k * 3u + q];
                (*a)[k * 3u + p] = c * akp - s * akq;
                (*a)[k * 3u + q] = s * akp + c * akq;
            }
            for (var k = 0u; k < 3u; k++) {
                let apk = (*a)[p * 3u + k];
                let aqk = (*a)[q * 3u + k];
                (*a)[p * 3u + k] = c * apk - s * aqk;
                (*a)[q * 3u + k] = s * apk + c * aqk;
            }
            for (var k = 0u; k < 3u; k++) {
                let vkp = (*v)[k * 3u + p];
                let vkq = (*v)[k * 3u + q];
                (*v)[k * 3u + p] = c * vkp - s * vkq;
                (*v)[k * 3u + q] = s * vkp + c * vkq;
            }
        }
    }
}

// conj(p) ⊗ q: the rotation R(p)ᵀ·R(q) (`cpu::decimate::relative_quaternion`).
fn relative_quaternion(p: vec4<f32>, q: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        p.x * q.x + p.y * q.y + p.z * q.z + p.w * q.w,
        p.x * q.y - p.y * q.x - p.z * q.w + p.w * q.z,
        p.x * q.z + p.y * q.w - p.z * q.x - p.w * q.y,
        p.x * q.w - p.y * q.z + p.z * q.y - p.w * q.x,
    );
}

// q₀ of the group whose accumulator starts at `b`.
fn frame_quaternion(b: u32) -> vec4<f32> {
    return vec4<f32>(
        bitcast<f32>(acc[b + 14u]),
        bitcast<f32>(acc[b + 15u]),
        bitcast<f32>(acc[b + 16u]),
        bitcast<f32>(acc[b + 17u]),
    );
}

// The unit quaternion (w, x, y, z), w >= 0, of a proper rotation matrix (row-major).
fn quaternion(r: array<f32, 9>) -> vec4<f32> {
    let trace = r[0] + r[4] + r[8];
    var q: vec4<f32>;
    if (trace > 0.0) {
        let s = sqrt(trace + 1.0) * 2.0;
        q = vec4<f32>(0.25 * s, (r[7] - r[5]) / s, (r[2] - r[6]) / s, (r[3] - r[1]) / s);
    } else if (r[0] > r[4] && r[0] > r[8]) {
        let s = sqrt(1.0 + r[0] - r[4] - r[8]) * 2.0;
        q = vec4<f32>((r[7] - r[5]) / s, 0.25 * s, (r[1] + r[3]) / s, (r[2] + r[6]) / s);
    } else if (r[4] > r[8]) {
        let s = sqrt(1.0 + r[4] - r[0] - r[8]) * 2.0;
        q = vec4<f32>((r[2] - r[6]) / s, (r[1] + r[3]) / s, 0.25 * s, (r[5] + r[7]) / s);
    } else {
        let s = sqrt(1.0 + r[8] - r[0] - r[4]) * 2.0;
        q = vec4<f32>((r[3] - r[1]) / s, (r[2] + r[6]) / s, (r[5] + r[7]) / s, 0.25 * s);
    }
    let norm = sqrt(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w);
    let sign = select(1.0, -1.0, q.x < 0.0);
    return vec4<f32>(sign * q.x / norm, sign * q.y / norm, sign * q.z / norm, sign * q.w / norm);
}

// Phase 4 for the group whose accumulator starts at `b`.
fn finish(b: u32) {
    let first = acc[b];
    if (first == NO_MEMBER) {
        acc[b] = 0u;
        acc[b + 1u] = 0u;
        acc[b + 2u] = 0u;
        acc[b + 3u] = bitcast<u32>(1.0f);
        acc[b + 4u] = 0u;
        acc[b + 5u] = 0u;
        acc[b + 6u] = 0u;
        acc[b + 7u] = bitcast<u32>(MIN_LOG_SCALE);
        acc[b + 8u] = bitcast<u32>(MIN_LOG_SCALE);
        acc[b + 9u] = bitcast<u32>(MIN_LOG_SCALE);
        acc[b + 10u] = bitcast<u32>(logit(MIN_ALPHA));
        return;
    }
    let total = bitcast<f32>(acc[b + 1u]);
    let c0 = bitcast<f32>(acc[b + 8u]);
    let c1 = bitcast<f32>(acc[b + 9u]);
    let c2 = bitcast<f32>(acc[b + 10u]);
    let c3 = bitcast<f32>(acc[b + 11u]);
    let c4 = bitcast<f32>(acc[b + 12u]);
    let c5 = bitcast<f32>(acc[b + 13u]);
    let t = max((c0 + c3 + c5) / 3.0, MIN_POSITIVE);
    var a = array<f32, 9>(c0 / t, c1 / t, c2 / t, c1 / t, c3 / t, c4 / t, c2 / t, c4 / t, c5 / t);
    var vectors: array<f32, 9>;
    jacobi_eigen(&a, &vectors);
    let values = array<f32, 3>(a[0], a[4], a[8]);
    // Axes largest first (ties keep the lower index).
    var order = array<u32, 3>(0u, 1u, 2u);
    if (values[order[1]] > values[order[0]]) {
        order = array<u32, 3>(order[1], order[0], order[2]);
    }
    if (values[order[2]] > values[order[1]]) {
        order = array<u32, 3>(order[0], order[2], order[1]);
        if (values[order[1]] > values[order[0]]) {
            order = array<u32, 3>(order[1], order[0], order[2]);
        }
    }
    var u: array<f32, 9>;
    for (var col = 0u; col < 3u; col++) {
        for (var row = 0u; row < 3u; row++) {
            u[row * 3u + col] = vectors[row * 3u + order[col]];
        }
    }
    let det = u[0] * (u[4] * u[8] - u[5] * u[7]) - u[1] * (u[3] * u[8] - u[5] * u[6])
        + u[2] * (u[3] * u[7] - u[4] * u[6]);
    if (det < 0.0) {
        u[2] = -u[2];
        u[5] = -u[5];
        u[8] = -u[8];
    }
    // Back to the world frame: R = R₀·U.
    let r0 = rotation_matrix(frame_quaternion(b));
    var r: array<f32, 9>;
    for (var row = 0u; row < 3u; row++) {
        for (var col = 0u; col < 3u; col++) {
            r[row * 3u + col] = r0[row * 3u] * u[col] + r0[row * 3u + 1u] * u[3u + col]
                + r0[row * 3u + 2u] * u[6u + col];
        }
    }
    let log_scale = vec3<f32>(
        max(0.5 * log(max(values[order[0]] * t, 1e-30)), MIN_LOG_SCALE),
        max(0.5 * log(max(values[order[1]] * t, 1e-30)), MIN_LOG_SCALE),
        max(0.5 * log(max(values[order[2]] * t, 1e-30)), MIN_LOG_SCALE),
    );
    let alpha = clamp(total / ellipsoid_area(log_scale), MIN_ALPHA, 1.0 - MIN_ALPHA);
    let q = quaternion(r);
    let position = vec3<f32>(
        bitcast<f32>(acc[b + 2u]) + bitcast<f32>(acc[b + 5u]),
        bitcast<f32>(acc[b + 3u]) + bitcast<f32>(acc[b + 6u]),
        bitcast<f32>(acc[b + 4u]) + bitcast<f32>(acc[b + 7u]),
    );
    acc[b] = bitcast<u32>(position.x);
    acc[b + 1u] = bitcast<u32>(position.y);
    acc[b + 2u] = bitcast<u32>(position.z);
    acc[b + 3u] = bitcast<u32>(q.x);
    acc[b + 4u] = bitcast<u32>(q.y);
    acc[b + 5u] = bitcast<u32>(q.z);
    acc[b + 6u] = bitcast<u32>(q.w);
    acc[b + 7u] = bitcast<u32>(log_scale.x);
    acc[b + 8u] = bitcast<u32>(log_scale.y);
    acc[b + 9u] = bitcast<u32>(log_scale.z);
    acc[b + 10u] = bitcast<u32>(logit(alpha));
}

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let g = group_index(wid, nwg) * 256u + lid;
    if (g >= params.rows) {
        return;
    }
    let phase = params.phase;
    let dim = params.dim;
    let b = g * ACC;
    if (phase == 5u) {
        // Result layout: position 0..3, rotation 3..7, log scales 7..10, opacity 10.
        let widths = array<u32, 4>(3u, 4u, 3u, 1u);
        let starts = array<u32, 4>(0u, 3u, 7u, 10u);
        let w = widths[params.field];
        for (var k = 0u; k < w; k++) {
            out[g * w + k] = bitcast<f32>(acc[b + starts[params.field] + k]);
        }
        return;
    }
    if (phase == 4u) {
        finish(b);
        return;
    }
    let m_len = params.members_len;
    let start = min(offsets[g], m_len);
    let end = clamp(offsets[g + 1u], start, m_len);
    if (phase == 0u) {
        atomicMax(&sizes[0], end - start);
        return;
    }
    if (phase == 1u && params.first_pass == 1u) {
        for (var k = 0u; k < ACC; k++) {
            acc[b + k] = 0u;
        }
        acc[b] = NO_MEMBER;
        for (var k = 0u; k < dim; k++) {
            out[g * dim + k] = 0.0;
        }
    }
    let s0 = min(start + params.member_base, end);
    let s1 = min(end, s0 + params.member_count);
    var first = acc[b];
    let src_end = params.src_first + params.src_rows;
    if (phase == 1u) {
        var total = bitcast<f32>(acc[b + 1u]);
        for (var s = s0; s < s1; s++) {
            let m = members[s];
            if (m >= params.n) {
                continue;
            }
            if (first == NO_MEMBER) {
                first = m;
            }
            if (m < params.src_first || m >= src_end) {
                continue;
            }
            let lm = m - params.src_first;
            total += prepared[lm * PREPARED];
            if (m == first) {
                acc[b + 2u] = bitcast<u32>(positions[lm * 3u]);
                acc[b + 3u] = bitcast<u32>(positions[lm * 3u + 1u]);
                acc[b + 4u] = bitcast<u32>(positions[lm * 3u + 2u]);
                for (var k = 0u; k < 4u; k++) {
                    acc[b + 14u + k] = bitcast<u32>(prepared[lm * PREPARED + 10u + k]);
                }
            }
        }
        acc[b] = first;
        acc[b + 1u] = bitcast<u32>(total);
        return;
    }
    if (first == NO_MEMBER) {
        return;
    }
    let total = bitcast<f32>(acc[b + 1u]);
    let origin = vec3<f32>(
        bitcast<f32>(acc[b + 2u]),
        bitcast<f32>(acc[b + 3u]),
        bitcast<f32>(acc[b + 4u]),
    );
    var mean = vec3<f32>(
        bitcast<f32>(acc[b + 5u]),
        bitcast<f32>(acc[b + 6u]),
        bitcast<f32>(acc[b + 7u]),
    );
    if (phase == 2u) {
        for (var s = s0; s < s1; s++) {
            let m = members[s];
            if (m >= params.n || m < params.src_first || m >= src_end) {
                continue;
            }
            let lm = m - params.src_first;
            let p = prepared[lm * PREPARED] / total;
            mean.x += p * (positions[lm * 3u] - origin.x);
            mean.y += p * (positions[lm * 3u + 1u] - origin.y);
            mean.z += p * (positions[lm * 3u + 2u] - origin.z);
        }
        acc[b + 5u] = bitcast<u32>(mean.x);
        acc[b + 6u] = bitcast<u32>(mean.y);
        acc[b + 7u] = bitcast<u32>(mean.z);
        return;
    }
    // Phase 3.
    let q0 = frame_quaternion(b);
    let r0 = rotation_matrix(q0);
    var c0 = bitcast<f32>(acc[b + 8u]);
    var c1 = bitcast<f32>(acc[b + 9u]);
    var c2 = bitcast<f32>(acc[b + 10u]);
    var c3 = bitcast<f32>(acc[b + 11u]);
    var c4 = bitcast<f32>(acc[b + 12u]);
    var c5 = bitcast<f32>(acc[b + 13u]);
    for (var s = s0; s < s1; s++) {
        let m = members[s];
        if (m >= params.n || m < params.src_first || m >= src_end) {
            continue;
        }
        let lm = m - params.src_first;
        let row = lm * PREPARED;
        let p = prepared[row] / total;
        let d0 = positions[lm * 3u] - origin.x - mean.x;
        let d1 = positions[lm * 3u + 1u] - origin.y - mean.y;
        let d2 = positions[lm * 3u + 2u] - origin.z - mean.z;
        // R₀ᵀ d.
        let e0 = r0[0] * d0 + r0[3] * d1 + r0[6] * d2;
        let e1 = r0[1] * d0 + r0[4] * d1 + r0[7] * d2;
        let e2 = r0[2] * d0 + r0[5] * d1 + r0[8] * d2;
        let v = vec3<f32>(prepared[row + 7u], prepared[row + 8u], prepared[row + 9u]);
        var own = array<f32, 6>(v.x, 0.0, 0.0, v.y, 0.0, v.z);
        if (m != first) {
            let qm = vec4<f32>(
                prepared[row + 10u],
                prepared[row + 11u],
                prepared[row + 12u],
                prepared[row + 13u],
            );
            let q = rotation_matrix(relative_quaternion(q0, qm));
            own = array<f32, 6>(
                rotated_entry(q, v, 0u, 0u),
                rotated_entry(q, v, 0u, 1u),
                rotated_entry(q, v, 0u, 2u),
                rotated_entry(q, v, 1u, 1u),
                rotated_entry(q, v, 1u, 2u),
                rotated_entry(q, v, 2u, 2u),
            );
        }
        c0 += p * (own[0] + e0 * e0);
        c1 += p * (own[1] + e0 * e1);
        c2 += p * (own[2] + e0 * e2);
        c3 += p * (own[3] + e1 * e1);
        c4 += p * (own[4] + e1 * e2);
        c5 += p * (own[5] + e2 * e2);
        for (var k = 0u; k < dim; k++) {
            out[g * dim + k] += p * colors[lm * dim + k];
        }
    }
    acc[b + 8u] = bitcast<u32>(c0);
    acc[b + 9u] = bitcast<u32>(c1);
    acc[b + 10u] = bitcast<u32>(c2);
    acc[b + 11u] = bitcast<u32>(c3);
    acc[b + 12u] = bitcast<u32>(c4);
    acc[b + 13u] = bitcast<u32>(c5);
}
