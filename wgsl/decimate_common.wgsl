// Shared by the decimation kernels (decimate_prepare, decimate_candidates, decimate_merge);
// the host appends it after common.wgsl. Keep `DecimateParams` in sync with
// `decimate::DecimateParams`, and the math with `backend::cpu::decimate`, whose f32
// operation order these functions follow step by step.

// Per-dispatch scalars of a decimation kernel. Row buffers are bound one window at a time:
// index 0 of a binding is the window's first row.
struct DecimateParams {
    // Splats in all (global row indices are below n).
    n: u32,
    // Values per colour row.
    dim: u32,
    // Global index of the first row of the window this dispatch owns (one invocation per
    // owned row or group), and how many rows or groups it owns.
    first_row: u32,
    rows: u32,
    // Global index of the first row of the bound source window, and its row count
    // (candidates: the owned rows and the window after them; merge: any window of splats).
    src_first: u32,
    src_rows: u32,
    // Candidates: the partner offsets [j_begin, j_end) this dispatch scans (partner
    // j = i + 1 + offset); the window is split across dispatches that carry the rows.
    j_begin: u32,
    j_end: u32,
    // 1 on the first dispatch over an owned window (rows start empty), else 0.
    first_pass: u32,
    // Merge: length of the member list; the member slice [member_base, member_base +
    // member_count) of each group this dispatch visits; the phase (0 sizes, 1 mass and
    // origin, 2 mean, 3 covariance and colour, 4 finish, 5 write `field`) and the output
    // field phase 5 writes (0 positions, 1 rotations, 2 log scales, 3 opacities).
    members_len: u32,
    member_base: u32,
    member_count: u32,
    phase: u32,
    field: u32,
    pad0: u32,
    pad1: u32,
}

const PREPARED: u32 = 14u;
const CANDIDATES: u32 = 4u;
const NO_PARTNER: u32 = 0xffffffffu;
const THOMSEN_P: f32 = 1.6075;
const MIN_LOG_SCALE: f32 = -34.5;
const MIN_MASS: f32 = 1e-30;
const DET_FLOOR: f32 = 1e-4;
const MAX_VARIANCE_RATIO: f32 = 1e12;
const MIN_ALPHA: f32 = 1e-6;
const JACOBI_SWEEPS: u32 = 8u;
const PI: f32 = 3.14159265358979323846;
// f32::MIN_POSITIVE, the smallest normal f32.
const MIN_POSITIVE: f32 = 1.17549435e-38;

// +∞ (WGSL has no infinite literal).
fn infinity() -> f32 {
    return bitcast<f32>(0x7f800000u);
}

// True for NaN, from the bits (comparisons may assume NaN away).
fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// 1 / (1 + e^-x).
fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

// Thomsen's ellipsoid surface area from the log semi-axes, largest term factored out.
fn ellipsoid_area(l_in: vec3<f32>) -> f32 {
    let l = vec3<f32>(
        max(l_in.x, MIN_LOG_SCALE),
        max(l_in.y, MIN_LOG_SCALE),
        max(l_in.z, MIN_LOG_SCALE),
    );
    let e0 = THOMSEN_P * (l.x + l.y);
    let e1 = THOMSEN_P * (l.x + l.z);
    let e2 = THOMSEN_P * (l.y + l.z);
    let m = max(max(e0, e1), e2);
    let sum = exp(e0 - m) + exp(e1 - m) + exp(e2 - m);
    return 4.0 * PI * exp((m + log(sum / 3.0)) / THOMSEN_P);
}

// ln det(c / t + κI), t = tr(c) / 3, of the symmetric matrix with upper triangle (xx, xy,
// xz, yy, yz, zz), by LDLᵀ with every pivot floored at κ (`cpu::decimate`'s
// regularised_log_det); returns (ln det, t).
fn regularised_log_det(c0: f32, c1: f32, c2: f32, c3: f32, c4: f32, c5: f32) -> vec2<f32> {
    let t = max((c0 + c3 + c5) / 3.0, MIN_POSITIVE);
    let s0 = c0 / t + DET_FLOOR;
    let s1 = c1 / t;
    let s2 = c2 / t;
    let s3 = c3 / t + DET_FLOOR;
    let s4 = c4 / t;
    let s5 = c5 / t + DET_FLOOR;
    let d0 = s0;
    let l1 = s1 / d0;
    let l2 = s2 / d0;
    let d1 = max(s3 - s1 * l1, DET_FLOOR);
    let e12 = s4 - s1 * l2;
    let e22 = s5 - s2 * l2;
    let d2 = max(e22 - e12 * (e12 / d1), DET_FLOOR);
    return vec2<f32>(log(d0 * d1 * d2), t);
}

// ln det(Σ / t + κI) of a splat with variances v (`cpu::decimate`'s splat_log_det).
fn splat_log_det(v0: f32, v1: f32, v2: f32, t: f32) -> f32 {
    let f0 = min(v0 / t, MAX_VARIANCE_RATIO) + DET_FLOOR;
    let f1 = min(v1 / t, MAX_VARIANCE_RATIO) + DET_FLOOR;
    let f2 = min(v2 / t, MAX_VARIANCE_RATIO) + DET_FLOOR;
    return log(f0 * f1 * f2);
}

// The rotation matrix (row-major) of a quaternion (w, x, y, z) after normalising it; the
// identity for a zero quaternion (`cpu::decimate::rotation_matrix`).
fn rotation_matrix(q: vec4<f32>) -> array<f32, 9> {
    let norm = sqrt(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w);
    if (norm <= 0.0) {
        return array<f32, 9>(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0);
    }
    let w = q.x / norm;
    let x = q.y / norm;
    let y = q.z / norm;
    let z = q.w / norm;
    return array<f32, 9>(
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y - w * z),
        2.0 * (x * z + w * y),
        2.0 * (x * y + w * z),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z - w * x),
        2.0 * (x * z - w * y),
        2.0 * (y * z + w * x),
        1.0 - 2.0 * (x * x + y * y),
    );
}

// Entry (a, b) of R diag(v) Rᵀ, R row-major.
fn rotated_entry(r: array<f32, 9>, v: vec3<f32>, a: u32, b: u32) -> f32 {
    return r[a * 3u] * v.x * r[b * 3u] + r[a * 3u + 1u] * v.y * r[b * 3u + 1u]
        + r[a * 3u + 2u] * v.z * r[b * 3u + 2u];
}

// ln(α / (1 − α)).
fn logit(alpha: f32) -> f32 {
    return log(alpha / (1.0 - alpha));
}
