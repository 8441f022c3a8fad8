// Decimation kernels for the CUDA backend (src/backend/cuda/decimate.rs). Compiled by `cargo
// xtask ptx` with NVRTC 11.8 to PTX for compute_75; the binary embeds kernels/ptx/decimate.ptx.
// No CUDA headers (toolchain.md §3).
//
// Semantics are defined by src/backend/cpu/decimate.rs, and the kernels follow its f32
// arithmetic operation for operation with explicitly rounded intrinsics (no FMA contraction):
// the same formulas, clamps, skip and tie rules. Only expf / logf (CUDA's, ≤ 2 ulp) differ
// from the host's libm; sqrt and division are IEEE (__fsqrt_rn, __fdiv_rn).
//
// Layouts (f32, row-major): positions n·3, rotations n·4 (w, x, y, z), log scales n·3,
// opacities n, colours n·dim, prepared rows n·DEC_PREPARED (mass, covariance xx xy xz yy yz
// zz, variances σ² (3), unit quaternion w x y z). Row offsets are 64-bit (n·dim may exceed
// 2^32 values). Conditioning (the regularised ln det, the merge in the first member's
// frame) is explained in src/backend/cpu/decimate.rs.

typedef unsigned int u32;
typedef unsigned long long u64;

#define INF __int_as_float(0x7f800000)
#define DEC_PREPARED 14
// Leading prepared values decimate_candidates reads (mass, covariance, variances).
#define DEC_CAND_PREPARED 10
#define DEC_CANDIDATES 4
#define DEC_NO_PARTNER 0xffffffffu
// Threads per block of every decimation kernel; in decimate_candidates also the splats i a
// block owns.
#define DEC_THREADS 128
// Colour values of splat i decimate_candidates keeps in registers (and stages per j in shared
// memory); values past it are read from global memory (correct for any dim, slow).
#define DEC_REG_DIM 48
// Colour values decimate_merge accumulates in registers per pass over a group's members.
#define DEC_MERGE_CHUNK 16

#define THOMSEN_P 1.6075f
#define MIN_LOG_SCALE (-34.5f)
#define MIN_MASS 1e-30f
#define DET_FLOOR 1e-4f
#define MAX_VARIANCE_RATIO 1e12f
#define MIN_ALPHA 1e-6f
#define JACOBI_SWEEPS 8
#define F32_MIN_POSITIVE 1.17549435e-38f
#define PI_F32 3.14159265358979323846f

__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float dvd(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ float sqrt_rn(float a) { return __fsqrt_rn(a); }
// Rust's f32::max / f32::min: the other operand when one is NaN (fmaxf / fminf do the same).
__device__ __forceinline__ float fmax_(float a, float b) { return fmaxf(a, b); }
// Rust's f32::clamp: NaN stays NaN.
__device__ __forceinline__ float clamp_(float x, float lo, float hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}
// Rust's f32::signum: ±1 by the sign bit, NaN for NaN.
__device__ __forceinline__ float signum_(float x) { return x != x ? x : copysignf(1.0f, x); }

// sigmoid(x) = 1 / (1 + e^-x).
__device__ __forceinline__ float sigmoid(float x) { return dvd(1.0f, add(1.0f, expf(-x))); }

// ln(α / (1 − α)).
__device__ __forceinline__ float logit(float alpha) { return logf(dvd(alpha, sub(1.0f, alpha))); }

// Thomsen's ellipsoid surface area from the log semi-axes, largest term factored out.
__device__ float ellipsoid_area(float l0, float l1, float l2) {
    l0 = fmax_(l0, MIN_LOG_SCALE);
    l1 = fmax_(l1, MIN_LOG_SCALE);
    l2 = fmax_(l2, MIN_LOG_SCALE);
    const float e0 = mul(THOMSEN_P, add(l0, l1));
    const float e1 = mul(THOMSEN_P, add(l0, l2));
    const float e2 = mul(THOMSEN_P, add(l1, l2));
    const float m = fmax_(fmax_(e0, e1), e2);
    const float sum = add(add(expf(sub(e0, m)), expf(sub(e1, m))), expf(sub(e2, m)));
    return mul(mul(4.0f, PI_F32), expf(dvd(add(m, logf(dvd(sum, 3.0f))), THOMSEN_P)));
}

// ln det(c / t + κI), t = tr(c) / 3, of the symmetric matrix with upper triangle c (xx, xy,
// xz, yy, yz, zz), by LDLᵀ with every pivot floored at κ; t into *t_out.
__device__ __forceinline__ float regularised_log_det(const float c[6], float* t_out) {
    const float t = fmax_(dvd(add(add(c[0], c[3]), c[5]), 3.0f), F32_MIN_POSITIVE);
    const float s0 = add(dvd(c[0], t), DET_FLOOR);
    const float s1 = dvd(c[1], t);
    const float s2 = dvd(c[2], t);
    const float s3 = add(dvd(c[3], t), DET_FLOOR);
    const float s4 = dvd(c[4], t);
    const float s5 = add(dvd(c[5], t), DET_FLOOR);
    const float d0 = s0;
    const float l1 = dvd(s1, d0), l2 = dvd(s2, d0);
    const float d1 = fmax_(sub(s3, mul(s1, l1)), DET_FLOOR);
    const float e12 = sub(s4, mul(s1, l2));
    const float e22 = sub(s5, mul(s2, l2));
    const float d2 = fmax_(sub(e22, mul(e12, dvd(e12, d1))), DET_FLOOR);
    *t_out = t;
    return logf(mul(mul(d0, d1), d2));
}

// ln det(Σ / t + κI) of a splat with variances v0, v1, v2.
__device__ __forceinline__ float splat_log_det(float v0, float v1, float v2, float t) {
    const float f0 = add(fminf(dvd(v0, t), MAX_VARIANCE_RATIO), DET_FLOOR);
    const float f1 = add(fminf(dvd(v1, t), MAX_VARIANCE_RATIO), DET_FLOOR);
    const float f2 = add(fminf(dvd(v2, t), MAX_VARIANCE_RATIO), DET_FLOOR);
    return logf(mul(mul(f0, f1), f2));
}

// Rotation matrix (row-major) of a quaternion (w, x, y, z) after normalising it; the
// identity for a zero one.
__device__ void rotation_matrix(const float q[4], float r[9]) {
    const float norm = sqrt_rn(
        add(add(add(mul(q[0], q[0]), mul(q[1], q[1])), mul(q[2], q[2])), mul(q[3], q[3])));
    if (norm <= 0.0f) {
        r[0] = 1.0f; r[1] = 0.0f; r[2] = 0.0f;
        r[3] = 0.0f; r[4] = 1.0f; r[5] = 0.0f;
        r[6] = 0.0f; r[7] = 0.0f; r[8] = 1.0f;
        return;
    }
    const float w = dvd(q[0], norm), x = dvd(q[1], norm), y = dvd(q[2], norm), z = dvd(q[3], norm);
    r[0] = sub(1.0f, mul(2.0f, add(mul(y, y), mul(z, z))));
    r[1] = mul(2.0f, sub(mul(x, y), mul(w, z)));
    r[2] = mul(2.0f, add(mul(x, z), mul(w, y)));
    r[3] = mul(2.0f, add(mul(x, y), mul(w, z)));
    r[4] = sub(1.0f, mul(2.0f, add(mul(x, x), mul(z, z))));
    r[5] = mul(2.0f, sub(mul(y, z), mul(w, x)));
    r[6] = mul(2.0f, sub(mul(x, z), mul(w, y)));
    r[7] = mul(2.0f, add(mul(y, z), mul(w, x)));
    r[8] = sub(1.0f, mul(2.0f, add(mul(x, x), mul(y, y))));
}

// ---------------------------------------------------------------------------------------------
// decimate_prepare: one thread per splat.

// Σ = R diag(v) Rᵀ, entry (a, b) = Σ_k R[a][k] v[k] R[b][k].
__device__ __forceinline__ float cov_entry(const float r[9], const float v[3], int a, int b) {
    return add(add(mul(mul(r[a * 3], v[0]), r[b * 3]), mul(mul(r[a * 3 + 1], v[1]), r[b * 3 + 1])),
               mul(mul(r[a * 3 + 2], v[2]), r[b * 3 + 2]));
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS)
    decimate_prepare(const float* __restrict__ rotations, const float* __restrict__ log_scales,
                     const float* __restrict__ opacities, float* __restrict__ prepared, u32 n) {
    const u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float* q = rotations + (u64)i * 4;
    const float* ls = log_scales + (u64)i * 3;
    const float l0 = fmax_(ls[0], MIN_LOG_SCALE);
    const float l1 = fmax_(ls[1], MIN_LOG_SCALE);
    const float l2 = fmax_(ls[2], MIN_LOG_SCALE);
    const float mass = fmax_(mul(sigmoid(opacities[i]), ellipsoid_area(l0, l1, l2)), MIN_MASS);
    // The normalised quaternion; (1, 0, 0, 0) for a zero one.
    float qu[4] = {1.0f, 0.0f, 0.0f, 0.0f};
    const float norm =
        sqrt_rn(add(add(add(mul(q[0], q[0]), mul(q[1], q[1])), mul(q[2], q[2])), mul(q[3], q[3])));
    if (!(norm <= 0.0f)) {
#pragma unroll
        for (int k = 0; k < 4; ++k) qu[k] = dvd(q[k], norm);
    }
    float r[9];
    rotation_matrix(qu, r);
    const float v[3] = {expf(mul(2.0f, l0)), expf(mul(2.0f, l1)), expf(mul(2.0f, l2))};
    float* row = prepared + (u64)i * DEC_PREPARED;
    row[0] = mass;
    row[1] = cov_entry(r, v, 0, 0);
    row[2] = cov_entry(r, v, 0, 1);
    row[3] = cov_entry(r, v, 0, 2);
    row[4] = cov_entry(r, v, 1, 1);
    row[5] = cov_entry(r, v, 1, 2);
    row[6] = cov_entry(r, v, 2, 2);
    row[7] = v[0];
    row[8] = v[1];
    row[9] = v[2];
#pragma unroll
    for (int k = 0; k < 4; ++k) row[10 + k] = qu[k];
}

// ---------------------------------------------------------------------------------------------
// decimate_candidates: block b owns splats i0 = b·DEC_THREADS .. i0 + DEC_THREADS, one thread
// each. Step k of thread i looks at j = i + 1 + k (k < window, j < n), so every thread walks its
// j in increasing order, as the CPU does. The steps go in chunks of `steps`: before chunk
// k0 .. k0 + steps the block stages rows j = i0 + 1 + k0 .. + rows (rows = DEC_THREADS + steps)
// in shared memory, structure of arrays with an odd stride, so that at each step the warp's 32
// threads read 32 consecutive j: no bank conflicts. Splat i's own values stay in registers.
//
// Shared layout (floats, stride S = rows | 1): positions 3·S, the first DEC_CAND_PREPARED
// values of the prepared rows, then the first min(dim, DEC_REG_DIM) colour values,
// dim-major: (3 + DEC_CAND_PREPARED + staged)·S floats.

extern "C" __global__ void __launch_bounds__(DEC_THREADS)
    decimate_candidates(const float* __restrict__ positions, const float* __restrict__ prepared,
                        const float* __restrict__ colors, u32 n, u32 dim, u32 window, u32 steps,
                        float* __restrict__ costs, u32* __restrict__ partners) {
    extern __shared__ float stage[];
    const u32 rows = DEC_THREADS + steps;
    const u32 stride = rows | 1u;
    const u32 staged = dim < DEC_REG_DIM ? dim : DEC_REG_DIM;
    float* s_pos = stage;
    float* s_prep = stage + 3 * stride;
    float* s_col = stage + (3 + DEC_CAND_PREPARED) * stride;

    const u64 i0 = (u64)blockIdx.x * DEC_THREADS;
    const u32 tid = threadIdx.x;
    const u64 i = i0 + tid;
    const bool live = i < n;

    // Splat i in registers.
    float pi[3], prep_i[DEC_CAND_PREPARED], col_i[DEC_REG_DIM];
#pragma unroll
    for (int k = 0; k < 3; ++k) pi[k] = live ? positions[i * 3 + k] : 0.0f;
#pragma unroll
    for (int k = 0; k < DEC_CAND_PREPARED; ++k)
        prep_i[k] = live ? prepared[i * DEC_PREPARED + k] : 0.0f;
#pragma unroll
    for (int c = 0; c < DEC_REG_DIM; ++c)
        col_i[c] = live && c < (int)staged ? colors[i * dim + c] : 0.0f;

    float best[DEC_CANDIDATES];
    u32 who[DEC_CANDIDATES];
#pragma unroll
    for (int s = 0; s < DEC_CANDIDATES; ++s) {
        best[s] = INF;
        who[s] = DEC_NO_PARTNER;
    }
    // Steps of this thread whose j is below n: j = i + 1 + k < n.
    const u64 reach = live ? (u64)n - 1 - i : 0;
    const u32 last = (u32)(reach < (u64)window ? reach : (u64)window);

    for (u32 k0 = 0; k0 < window; k0 += steps) {
        const u64 j0 = i0 + 1 + k0;  // row 0 of the stage
        __syncthreads();             // the previous chunk is done with the stage
        // Positions and prepared rows: contiguous in global memory.
        const u64 avail = j0 < n ? (u64)n - j0 : 0;
        const u32 count = (u32)(avail < rows ? avail : rows);
        for (u32 e = tid; e < count * 3; e += DEC_THREADS) {
            const u32 row = e / 3, k = e - row * 3;
            s_pos[k * stride + row] = positions[j0 * 3 + e];
        }
        for (u32 e = tid; e < count * DEC_CAND_PREPARED; e += DEC_THREADS) {
            const u32 row = e / DEC_CAND_PREPARED, k = e % DEC_CAND_PREPARED;
            s_prep[k * stride + row] = prepared[(j0 + row) * DEC_PREPARED + k];
        }
        if (staged == dim) {
            for (u32 e = tid; e < count * dim; e += DEC_THREADS) {
                const u32 row = e / dim, c = e - row * dim;
                s_col[c * stride + row] = colors[j0 * dim + e];
            }
        } else {
            for (u32 e = tid; e < count * staged; e += DEC_THREADS) {
                const u32 row = e / staged, c = e - row * staged;
                s_col[c * stride + row] = colors[(j0 + row) * dim + c];
            }
        }
        __syncthreads();
        const u32 k_end = k0 + steps < last ? k0 + steps : last;
        for (u32 k = k0; k < k_end; ++k) {
            const u32 jl = tid + (k - k0);  // this j's stage row
            const u64 j = i + 1 + k;
            // merge_cost(i, j), in the CPU's order.
            const float wi = prep_i[0], wj = s_prep[jl];
            const float w = add(wi, wj);
            const float a = dvd(wi, w), b = dvd(wj, w);
            const float d0 = sub(pi[0], s_pos[jl]);
            const float d1 = sub(pi[1], s_pos[stride + jl]);
            const float d2 = sub(pi[2], s_pos[2 * stride + jl]);
            const float ab = mul(a, b);
            float c[6];
            c[0] = add(add(mul(a, prep_i[1]), mul(b, s_prep[1 * stride + jl])), mul(mul(ab, d0), d0));
            c[1] = add(add(mul(a, prep_i[2]), mul(b, s_prep[2 * stride + jl])), mul(mul(ab, d0), d1));
            c[2] = add(add(mul(a, prep_i[3]), mul(b, s_prep[3 * stride + jl])), mul(mul(ab, d0), d2));
            c[3] = add(add(mul(a, prep_i[4]), mul(b, s_prep[4 * stride + jl])), mul(mul(ab, d1), d1));
            c[4] = add(add(mul(a, prep_i[5]), mul(b, s_prep[5 * stride + jl])), mul(mul(ab, d1), d2));
            c[5] = add(add(mul(a, prep_i[6]), mul(b, s_prep[6 * stride + jl])), mul(mul(ab, d2), d2));
            float t;
            const float merged = regularised_log_det(c, &t);
            const float li = splat_log_det(prep_i[7], prep_i[8], prep_i[9], t);
            const float lj = splat_log_det(s_prep[7 * stride + jl], s_prep[8 * stride + jl],
                                           s_prep[9 * stride + jl], t);
            const float bound =
                mul(mul(0.5f, w), sub(sub(merged, mul(a, li)), mul(b, lj)));
            // Floored at 0 (NaN stays NaN).
            const float geometry = bound < 0.0f ? 0.0f : bound;
            float colour = 0.0f;
#pragma unroll
            for (int ch = 0; ch < DEC_REG_DIM; ++ch) {
                if (ch < (int)staged) {
                    const float e = sub(col_i[ch], s_col[ch * stride + jl]);
                    colour = add(colour, mul(e, e));
                }
            }
            for (u32 ch = DEC_REG_DIM; ch < dim; ++ch) {
                const float e = sub(colors[i * dim + ch], colors[j * dim + ch]);
                colour = add(colour, mul(e, e));
            }
            const float cost = add(geometry, mul(dvd(mul(wi, wj), w), colour));
            // Insert, cheapest first; ties keep the earlier (lower) j; NaN never compares less.
            if (cost < best[3]) {
                if (cost < best[2]) {
                    best[3] = best[2];
                    who[3] = who[2];
                    if (cost < best[1]) {
                        best[2] = best[1];
                        who[2] = who[1];
                        if (cost < best[0]) {
                            best[1] = best[0];
                            who[1] = who[0];
                            best[0] = cost;
                            who[0] = (u32)j;
                        } else {
                            best[1] = cost;
                            who[1] = (u32)j;
                        }
                    } else {
                        best[2] = cost;
                        who[2] = (u32)j;
                    }
                } else {
                    best[3] = cost;
                    who[3] = (u32)j;
                }
            }
        }
    }
    if (live) {
#pragma unroll
        for (int s = 0; s < DEC_CANDIDATES; ++s) {
            costs[i * DEC_CANDIDATES + s] = best[s];
            partners[i * DEC_CANDIDATES + s] = who[s];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// decimate_merge: one thread per group. The covariance is accumulated in the principal frame
// R₀ of the first valid member: member m adds p·(Q diag(vₘ) Qᵀ + e eᵀ) with
// Q = R(conj(q₀) ⊗ qₘ) (the identity for m = first) and e = R₀ᵀ(xₘ − mean); the eigenvectors
// U found there go back to the world as R = R₀·U.

// conj(p) ⊗ q: the rotation R(p)ᵀ·R(q).
__device__ __forceinline__ void relative_quaternion(const float p[4], const float q[4],
                                                    float out[4]) {
    out[0] = add(add(add(mul(p[0], q[0]), mul(p[1], q[1])), mul(p[2], q[2])), mul(p[3], q[3]));
    out[1] = add(sub(sub(mul(p[0], q[1]), mul(p[1], q[0])), mul(p[2], q[3])), mul(p[3], q[2]));
    out[2] = sub(sub(add(mul(p[0], q[2]), mul(p[1], q[3])), mul(p[2], q[0])), mul(p[3], q[1]));
    out[3] = sub(add(sub(mul(p[0], q[3]), mul(p[1], q[2])), mul(p[2], q[1])), mul(p[3], q[0]));
}

// One cyclic-Jacobi rotation in the (p, q) plane, skipped as on the CPU.
template <int p, int q>
__device__ __forceinline__ void jacobi_rotate(float a[9], float v[9]) {
    const float apq = a[p * 3 + q];
    const float app = a[p * 3 + p], aqq = a[q * 3 + q];
    if (fabsf(apq) <= mul(1e-9f, fmax_(fabsf(app), fabsf(aqq))) || apq == 0.0f) return;
    const float theta = dvd(sub(aqq, app), mul(2.0f, apq));
    const float t = dvd(signum_(theta), add(fabsf(theta), sqrt_rn(add(mul(theta, theta), 1.0f))));
    const float c = dvd(1.0f, sqrt_rn(add(mul(t, t), 1.0f)));
    const float s = mul(t, c);
#pragma unroll
    for (int k = 0; k < 3; ++k) {
        const float akp = a[k * 3 + p], akq = a[k * 3 + q];
        a[k * 3 + p] = sub(mul(c, akp), mul(s, akq));
        a[k * 3 + q] = add(mul(s, akp), mul(c, akq));
    }
#pragma unroll
    for (int k = 0; k < 3; ++k) {
        const float apk = a[p * 3 + k], aqk = a[q * 3 + k];
        a[p * 3 + k] = sub(mul(c, apk), mul(s, aqk));
        a[q * 3 + k] = add(mul(s, apk), mul(c, aqk));
    }
#pragma unroll
    for (int k = 0; k < 3; ++k) {
        const float vkp = v[k * 3 + p], vkq = v[k * 3 + q];
        v[k * 3 + p] = sub(mul(c, vkp), mul(s, vkq));
        v[k * 3 + q] = add(mul(s, vkp), mul(c, vkq));
    }
}

__device__ __forceinline__ float pick3(float a, float b, float c, int k) {
    return k == 0 ? a : (k == 1 ? b : c);
}

// Unit quaternion (w, x, y, z), w ≥ 0, of a proper rotation matrix (row-major).
__device__ void quaternion(const float r[9], float out[4]) {
    const float trace = add(add(r[0], r[4]), r[8]);
    float q[4];
    if (trace > 0.0f) {
        const float s = mul(sqrt_rn(add(trace, 1.0f)), 2.0f);
        q[0] = mul(0.25f, s);
        q[1] = dvd(sub(r[7], r[5]), s);
        q[2] = dvd(sub(r[2], r[6]), s);
        q[3] = dvd(sub(r[3], r[1]), s);
    } else if (r[0] > r[4] && r[0] > r[8]) {
        const float s = mul(sqrt_rn(sub(sub(add(1.0f, r[0]), r[4]), r[8])), 2.0f);
        q[0] = dvd(sub(r[7], r[5]), s);
        q[1] = mul(0.25f, s);
        q[2] = dvd(add(r[1], r[3]), s);
        q[3] = dvd(add(r[2], r[6]), s);
    } else if (r[4] > r[8]) {
        const float s = mul(sqrt_rn(sub(sub(add(1.0f, r[4]), r[0]), r[8])), 2.0f);
        q[0] = dvd(sub(r[2], r[6]), s);
        q[1] = dvd(add(r[1], r[3]), s);
        q[2] = mul(0.25f, s);
        q[3] = dvd(add(r[5], r[7]), s);
    } else {
        const float s = mul(sqrt_rn(sub(sub(add(1.0f, r[8]), r[0]), r[4])), 2.0f);
        q[0] = dvd(sub(r[3], r[1]), s);
        q[1] = dvd(add(r[2], r[6]), s);
        q[2] = dvd(add(r[5], r[7]), s);
        q[3] = mul(0.25f, s);
    }
    const float norm =
        sqrt_rn(add(add(add(mul(q[0], q[0]), mul(q[1], q[1])), mul(q[2], q[2])), mul(q[3], q[3])));
    const float sign = q[0] < 0.0f ? -1.0f : 1.0f;
#pragma unroll
    for (int k = 0; k < 4; ++k) out[k] = dvd(mul(sign, q[k]), norm);
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS)
    decimate_merge(const float* __restrict__ positions, const float* __restrict__ prepared,
                   const float* __restrict__ colors, u32 n, u32 dim,
                   const u32* __restrict__ offsets, const u32* __restrict__ members,
                   u32 members_len, u32 groups, float* __restrict__ out_positions,
                   float* __restrict__ out_rotations, float* __restrict__ out_log_scales,
                   float* __restrict__ out_opacities, float* __restrict__ out_colors) {
    const u32 g = blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= groups) return;
    const u32 start = offsets[g] < members_len ? offsets[g] : members_len;
    u32 end = offsets[g + 1];
    end = end < start ? start : (end > members_len ? members_len : end);
    float* pos_out = out_positions + (u64)g * 3;
    float* rot_out = out_rotations + (u64)g * 4;
    float* ls_out = out_log_scales + (u64)g * 3;
    float* col_out = out_colors + (u64)g * dim;

    u32 first = DEC_NO_PARTNER;
    for (u32 m = start; m < end; ++m) {
        if (members[m] < n) {
            first = members[m];
            break;
        }
    }
    if (first == DEC_NO_PARTNER) {
        for (u32 c = 0; c < dim; ++c) col_out[c] = 0.0f;
        pos_out[0] = 0.0f;
        pos_out[1] = 0.0f;
        pos_out[2] = 0.0f;
        rot_out[0] = 1.0f;
        rot_out[1] = 0.0f;
        rot_out[2] = 0.0f;
        rot_out[3] = 0.0f;
        ls_out[0] = MIN_LOG_SCALE;
        ls_out[1] = MIN_LOG_SCALE;
        ls_out[2] = MIN_LOG_SCALE;
        out_opacities[g] = logit(MIN_ALPHA);
        return;
    }
    const float o0 = positions[(u64)first * 3], o1 = positions[(u64)first * 3 + 1],
                o2 = positions[(u64)first * 3 + 2];
    float total = 0.0f;
    for (u32 m = start; m < end; ++m) {
        const u32 s = members[m];
        if (s < n) total = add(total, prepared[(u64)s * DEC_PREPARED]);
    }
    // Mean, relative to the first member.
    float mean0 = 0.0f, mean1 = 0.0f, mean2 = 0.0f;
    for (u32 m = start; m < end; ++m) {
        const u32 s = members[m];
        if (s >= n) continue;
        const float p = dvd(prepared[(u64)s * DEC_PREPARED], total);
        const float* x = positions + (u64)s * 3;
        mean0 = add(mean0, mul(p, sub(x[0], o0)));
        mean1 = add(mean1, mul(p, sub(x[1], o1)));
        mean2 = add(mean2, mul(p, sub(x[2], o2)));
    }
    // The first member's frame.
    const float* row0 = prepared + (u64)first * DEC_PREPARED;
    const float q0[4] = {row0[10], row0[11], row0[12], row0[13]};
    float r0[9];
    rotation_matrix(q0, r0);
    float c[6] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (u32 m = start; m < end; ++m) {
        const u32 s = members[m];
        if (s >= n) continue;
        const float* row = prepared + (u64)s * DEC_PREPARED;
        const float p = dvd(row[0], total);
        const float* x = positions + (u64)s * 3;
        const float d0 = sub(sub(x[0], o0), mean0);
        const float d1 = sub(sub(x[1], o1), mean1);
        const float d2 = sub(sub(x[2], o2), mean2);
        // R₀ᵀ d.
        const float e0 = add(add(mul(r0[0], d0), mul(r0[3], d1)), mul(r0[6], d2));
        const float e1 = add(add(mul(r0[1], d0), mul(r0[4], d1)), mul(r0[7], d2));
        const float e2 = add(add(mul(r0[2], d0), mul(r0[5], d1)), mul(r0[8], d2));
        const float v[3] = {row[7], row[8], row[9]};
        float own[6] = {v[0], 0.0f, 0.0f, v[1], 0.0f, v[2]};
        if (s != first) {
            const float qm[4] = {row[10], row[11], row[12], row[13]};
            float qr[4], q[9];
            relative_quaternion(q0, qm, qr);
            rotation_matrix(qr, q);
            own[0] = cov_entry(q, v, 0, 0);
            own[1] = cov_entry(q, v, 0, 1);
            own[2] = cov_entry(q, v, 0, 2);
            own[3] = cov_entry(q, v, 1, 1);
            own[4] = cov_entry(q, v, 1, 2);
            own[5] = cov_entry(q, v, 2, 2);
        }
        c[0] = add(c[0], mul(p, add(own[0], mul(e0, e0))));
        c[1] = add(c[1], mul(p, add(own[1], mul(e0, e1))));
        c[2] = add(c[2], mul(p, add(own[2], mul(e0, e2))));
        c[3] = add(c[3], mul(p, add(own[3], mul(e1, e1))));
        c[4] = add(c[4], mul(p, add(own[4], mul(e1, e2))));
        c[5] = add(c[5], mul(p, add(own[5], mul(e2, e2))));
    }
    // Colour: per value, Σ p·v over the members in order, DEC_MERGE_CHUNK values per pass.
    for (u32 c0 = 0; c0 < dim; c0 += DEC_MERGE_CHUNK) {
        float acc[DEC_MERGE_CHUNK];
#pragma unroll
        for (int k = 0; k < DEC_MERGE_CHUNK; ++k) acc[k] = 0.0f;
        for (u32 m = start; m < end; ++m) {
            const u32 s = members[m];
            if (s >= n) continue;
            const float p = dvd(prepared[(u64)s * DEC_PREPARED], total);
            const float* v = colors + (u64)s * dim + c0;
#pragma unroll
            for (int k = 0; k < DEC_MERGE_CHUNK; ++k)
                if (c0 + k < dim) acc[k] = add(acc[k], mul(p, v[k]));
        }
#pragma unroll
        for (int k = 0; k < DEC_MERGE_CHUNK; ++k)
            if (c0 + k < dim) col_out[c0 + k] = acc[k];
    }
    // Eigen-decompose Σ / t.
    const float t = fmax_(dvd(add(add(c[0], c[3]), c[5]), 3.0f), F32_MIN_POSITIVE);
    float a[9] = {dvd(c[0], t), dvd(c[1], t), dvd(c[2], t), dvd(c[1], t), dvd(c[3], t),
                  dvd(c[4], t), dvd(c[2], t), dvd(c[4], t), dvd(c[5], t)};
    float v[9] = {1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 1.0f};
#pragma unroll 1
    for (int sweep = 0; sweep < JACOBI_SWEEPS; ++sweep) {
        jacobi_rotate<0, 1>(a, v);
        jacobi_rotate<0, 2>(a, v);
        jacobi_rotate<1, 2>(a, v);
    }
    const float values[3] = {a[0], a[4], a[8]};
    // Axes largest first (ties keep the lower index).
    int o[3] = {0, 1, 2};
    if (pick3(values[0], values[1], values[2], o[1]) > pick3(values[0], values[1], values[2], o[0])) {
        const int x = o[0]; o[0] = o[1]; o[1] = x;
    }
    if (pick3(values[0], values[1], values[2], o[2]) > pick3(values[0], values[1], values[2], o[1])) {
        const int x = o[1]; o[1] = o[2]; o[2] = x;
        if (pick3(values[0], values[1], values[2], o[1]) >
            pick3(values[0], values[1], values[2], o[0])) {
            const int y = o[0]; o[0] = o[1]; o[1] = y;
        }
    }
    float u[9];
#pragma unroll
    for (int col = 0; col < 3; ++col)
#pragma unroll
        for (int row = 0; row < 3; ++row)
            u[row * 3 + col] = pick3(v[row * 3], v[row * 3 + 1], v[row * 3 + 2], o[col]);
    const float det = add(sub(mul(u[0], sub(mul(u[4], u[8]), mul(u[5], u[7]))),
                              mul(u[1], sub(mul(u[3], u[8]), mul(u[5], u[6])))),
                          mul(u[2], sub(mul(u[3], u[7]), mul(u[4], u[6]))));
    if (det < 0.0f) {
        u[2] = -u[2];
        u[5] = -u[5];
        u[8] = -u[8];
    }
    // Back to the world frame: R = R₀·U.
    float r[9];
#pragma unroll
    for (int row = 0; row < 3; ++row)
#pragma unroll
        for (int col = 0; col < 3; ++col)
            r[row * 3 + col] = add(add(mul(r0[row * 3], u[col]), mul(r0[row * 3 + 1], u[3 + col])),
                                   mul(r0[row * 3 + 2], u[6 + col]));
    float ls[3];
#pragma unroll
    for (int k = 0; k < 3; ++k) {
        const float value = pick3(values[0], values[1], values[2], o[k]);
        ls[k] = fmax_(mul(0.5f, logf(fmax_(mul(value, t), 1e-30f))), MIN_LOG_SCALE);
    }
    const float alpha =
        clamp_(dvd(total, ellipsoid_area(ls[0], ls[1], ls[2])), MIN_ALPHA, 1.0f - MIN_ALPHA);
    pos_out[0] = add(o0, mean0);
    pos_out[1] = add(o1, mean1);
    pos_out[2] = add(o2, mean2);
    float quat[4];
    quaternion(r, quat);
#pragma unroll
    for (int k = 0; k < 4; ++k) rot_out[k] = quat[k];
    ls_out[0] = ls[0];
    ls_out[1] = ls[1];
    ls_out[2] = ls[2];
    out_opacities[g] = logit(alpha);
}
