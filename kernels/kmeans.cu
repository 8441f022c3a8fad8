// k-means kernels for the CUDA backend (src/backend/cuda). Compiled by `cargo xtask ptx` with
// NVRTC 11.8 to PTX ISA 7.8 for compute_75; the binary embeds kernels/ptx/kmeans.ptx.
// No CUDA headers: NVRTC 11.8 from PyPI ships none (toolchain.md §3).
//
// Semantics are defined by src/backend/cpu (labels: argmin of squared L2 distance, ties to the
// lower index; sums: per cluster, members in point order, summed in f64, rounded once).

typedef unsigned int u32;
typedef unsigned long long u64;

#define INF __int_as_float(0x7f800000)

// ---------------------------------------------------------------------------------------------
// Assignment, fast path: GEMM form ‖c‖² − 2·x·c over a 128-point × 128-centroid block tile,
// 8 × 8 per thread, fp32 FMA. Points of the block stay in shared memory (dim-major, all dims);
// centroids stream through in chunks of ASSIGN_DC dims from a dim-major packed copy.

#define ASSIGN_P 128   // points per block
#define ASSIGN_C 128   // centroids per tile
#define ASSIGN_DC 15   // dims per centroid chunk (packed dims are padded to a multiple; 45 = 3·15)
#define ASSIGN_THREADS 256

// Packs centroids dim-major (`packed[d * k_pad + c]`, zero past `dim` and past `k`) and their
// squared norms (+inf for padding slots, so they never win).
extern "C" __global__ void pack_centroids(const float* __restrict__ centroids, u32 k, u32 dim,
                                          u32 dim_pad, u32 k_pad, float* __restrict__ packed,
                                          float* __restrict__ norms) {
    u32 c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= k_pad) return;
    float norm = 0.0f;
    for (u32 d = 0; d < dim_pad; ++d) {
        float v = (c < k && d < dim) ? centroids[(u64)c * dim + d] : 0.0f;
        norm = fmaf(v, v, norm);
        packed[(u64)d * k_pad + c] = v;
    }
    norms[c] = c < k ? norm : INF;
}

__device__ __forceinline__ void keep_better(float& best, u32& best_idx, float v, u32 idx) {
    if (v < best || (v == best && idx < best_idx)) {
        best = v;
        best_idx = idx;
    }
}

// labels[p] = argmin_c norms[c] − 2·points[p]·c over the packed centroids. Dynamic shared
// memory: (dim_pad · ASSIGN_P + ASSIGN_DC · ASSIGN_C) floats. With `point_ids` (else null),
// block rows are points point_ids[0..n) (the f16 kernel's fallback list).
extern "C" __global__ void __launch_bounds__(ASSIGN_THREADS, 2)
    kmeans_assign_tiled(const float* __restrict__ points, u32 n, u32 dim, u32 dim_pad,
                        const float* __restrict__ packed, const float* __restrict__ norms,
                        u32 k_pad, const u32* __restrict__ point_ids, u32* __restrict__ labels) {
    extern __shared__ float4 shared4[];
    float* pts = reinterpret_cast<float*>(shared4);  // [dim_pad][ASSIGN_P]
    float* cen = pts + dim_pad * ASSIGN_P;            // [ASSIGN_DC][ASSIGN_C]
    __shared__ float red_val[ASSIGN_P];
    __shared__ u32 red_idx[ASSIGN_P];
    const u32 tid = threadIdx.x;
    // A warp covers 4 point rows (ty) × 8 centroid columns (tx): per step its shared loads
    // touch 64 B of points and 128 B of centroids, one wavefront each (a 2 × 16 layout needs
    // three, and shared-memory bandwidth, not FMA, would bound the loop).
    const u32 warp = tid / 32, lane = tid % 32;
    const u32 ty = (warp / 2) * 4 + lane / 8, tx = (warp % 2) * 8 + lane % 8;
    const u64 p0 = (u64)blockIdx.x * ASSIGN_P;

    for (u32 i = tid; i < ASSIGN_P * dim_pad; i += ASSIGN_THREADS) {
        u32 p = i / dim_pad, d = i % dim_pad;
        u64 gp = p0 + p;
        u64 src = gp < n && point_ids ? point_ids[gp] : gp;
        pts[d * ASSIGN_P + p] = (gp < n && d < dim) ? points[src * dim + d] : 0.0f;
    }

    float best[8];
    u32 best_idx[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        best[i] = INF;
        best_idx[i] = 0;
    }

    // Chunks (centroid tile, dim range) in order; chunk t + 1 is fetched into registers while
    // chunk t is computed, so the L2 latency hides behind the FMAs.
    const u32 chunks_per_tile = dim_pad / ASSIGN_DC;
    const u32 total = (k_pad / ASSIGN_C) * chunks_per_tile;
    const u32 quads = ASSIGN_DC * ASSIGN_C / 4;  // float4s per chunk
    float4 next0 = make_float4(0.f, 0.f, 0.f, 0.f), next1 = next0;
    auto fetch = [&](u32 t) {
        const u32 c0 = (t / chunks_per_tile) * ASSIGN_C, d0 = (t % chunks_per_tile) * ASSIGN_DC;
        u32 i = tid;
        next0 = reinterpret_cast<const float4*>(packed + (u64)(d0 + i / (ASSIGN_C / 4)) * k_pad +
                                                c0)[i % (ASSIGN_C / 4)];
        i = tid + ASSIGN_THREADS;
        if (i < quads)
            next1 = reinterpret_cast<const float4*>(
                packed + (u64)(d0 + i / (ASSIGN_C / 4)) * k_pad + c0)[i % (ASSIGN_C / 4)];
    };
    fetch(0);
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

    for (u32 t = 0; t < total; ++t) {
        __syncthreads();
        reinterpret_cast<float4*>(cen)[tid] = next0;
        if (tid + ASSIGN_THREADS < quads) reinterpret_cast<float4*>(cen)[tid + ASSIGN_THREADS] = next1;
        __syncthreads();
        if (t + 1 < total) fetch(t + 1);
        const u32 d0 = (t % chunks_per_tile) * ASSIGN_DC;
#pragma unroll
        for (u32 dd = 0; dd < ASSIGN_DC; ++dd) {
            const float* prow = pts + (d0 + dd) * ASSIGN_P;
            const float* crow = cen + dd * ASSIGN_C;
            float4 a0 = *reinterpret_cast<const float4*>(prow + ty * 4);
            float4 a1 = *reinterpret_cast<const float4*>(prow + 64 + ty * 4);
            float4 b0 = *reinterpret_cast<const float4*>(crow + tx * 4);
            float4 b1 = *reinterpret_cast<const float4*>(crow + 64 + tx * 4);
            float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
                for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (t % chunks_per_tile == chunks_per_tile - 1) {
            // Centroids in ascending index order per thread: strict < keeps the lower on ties.
            const u32 c0 = (t / chunks_per_tile) * ASSIGN_C;
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                u32 c = c0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + (j - 4));
                float norm = norms[c];
#pragma unroll
                for (int i = 0; i < 8; ++i) {
                    float v = fmaf(-2.0f, acc[i][j], norm);
                    if (v < best[i]) {
                        best[i] = v;
                        best_idx[i] = c;
                    }
                    acc[i][j] = 0.0f;
                }
            }
        }
    }
    // The 16 threads sharing a row of points (same ty): 8 lanes of each of two warps.
#pragma unroll
    for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int off = 4; off > 0; off >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, best[i], off);
            u32 oi = __shfl_xor_sync(0xffffffffu, best_idx[i], off);
            keep_better(best[i], best_idx[i], ov, oi);
        }
    }
    if (warp % 2 == 1 && lane % 8 == 0) {
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            u32 p = i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4);
            red_val[p] = best[i];
            red_idx[p] = best_idx[i];
        }
    }
    __syncthreads();
    if (warp % 2 == 0 && lane % 8 == 0) {
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            u32 p = i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4);
            keep_better(best[i], best_idx[i], red_val[p], red_idx[p]);
            if (p0 + p < n) labels[point_ids ? point_ids[p0 + p] : p0 + p] = best_idx[i];
        }
    }
}

// Assignment, tensor-core path (dim <= 48): f16 operands, fp32 accumulation through
// mma.sync m16n8k8 (sm_75). Per point it keeps the best two approximate distances
// d~(c) = ‖c‖² − 2·x~·c~; when the gap between them exceeds twice a rigorous bound on
// |d~ − d| (f16 rounding of both operands, subnormals, fp32 accumulation, the norms), the
// best is the exact argmin. Otherwise the point goes to a fallback list that the fp32 kernel
// above re-assigns. A warp owns 64 points (four 16-row tiles, A fragments in registers for
// all 48 dims); centroids stream through in tiles of 8, packed in fragment order.

#define F16_WARPS 4     // warps per block
#define F16_ROWS 64     // points per warp
#define F16_KSTEPS 6    // k-steps of 8 dims: dims padded to 48
#define F16_MAX 65000.0f  // larger magnitudes would round to f16 infinity

__device__ __forceinline__ u32 pack_half2(float lo, float hi) {
    u32 r;
    asm("{\n .reg .b16 l, h;\n cvt.rn.f16.f32 l, %1;\n cvt.rn.f16.f32 h, %2;\n mov.b32 %0, {l, h};\n}"
        : "=r"(r)
        : "f"(lo), "f"(hi));
    return r;
}

__device__ __forceinline__ void mma_f16(float (&acc)[4], u32 a0, u32 a1, u32 b) {
    asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, "
        "{%0,%1,%2,%3};"
        : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
        : "r"(a0), "r"(a1), "r"(b));
}

// Packs centroid tile t (8 centroids) for lane l = 4g + q as 8 u32 at packed[(t·32 + l)·8]:
// six f16x2 B fragments (centroid 8t + g, dims 8s + 2q, +1) and the fp32 squared norms of
// centroids 8t + 2q and 8t + 2q + 1 (the accumulator's columns; +inf past k). `cmax_bits`
// (zeroed by the caller) receives max ‖c‖ as float bits, or +inf when a value is too large
// for f16 (every point then falls back).
extern "C" __global__ void pack_centroids_f16(const float* __restrict__ centroids, u32 k,
                                              u32 dim, u32 tiles, u32* __restrict__ packed,
                                              u32* __restrict__ cmax_bits) {
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= tiles * 32) return;
    const u32 tile = i / 32, lane = i % 32, g = lane / 4, q = lane % 4;
    u32* out = packed + (u64)i * 8;
    const u32 c = tile * 8 + g;
    for (u32 s = 0; s < F16_KSTEPS; ++s) {
        u32 d = 8 * s + 2 * q;
        float lo = (c < k && d < dim) ? centroids[(u64)c * dim + d] : 0.0f;
        float hi = (c < k && d + 1 < dim) ? centroids[(u64)c * dim + d + 1] : 0.0f;
        out[s] = pack_half2(lo, hi);
    }
    for (u32 j = 0; j < 2; ++j) {
        u32 cc = tile * 8 + 2 * q + j;
        float norm = 0.0f, big = 0.0f;
        if (cc < k)
            for (u32 d = 0; d < dim; ++d) {
                float v = centroids[(u64)cc * dim + d];
                norm = fmaf(v, v, norm);
                big = fmaxf(big, fabsf(v));
            }
        out[6 + j] = __float_as_uint(cc < k ? norm : INF);
        // Lanes g = 0 report each real centroid once.
        if (g == 0 && cc < k)
            atomicMax(cmax_bits, big >= F16_MAX ? 0x7f800000u : __float_as_uint(sqrtf(norm)));
    }
}

// Keeps the best value (and its index) and the second best value.
__device__ __forceinline__ void keep_two(float& best, float& second, u32& best_idx, float v,
                                         u32 idx) {
    second = fminf(second, fmaxf(v, best));
    if (v < best) {
        best = v;
        best_idx = idx;
    }
}

// labels[p] for points whose f16 margin is safe; the others are appended to `fallback`
// (count in `fallback_count`, zeroed by the caller). 128 threads per block, 256 points.
extern "C" __global__ void __launch_bounds__(F16_WARPS * 32)
    kmeans_assign_f16(const float* __restrict__ points, u32 n, u32 dim,
                      const uint4* __restrict__ packed, u32 tiles,
                      const u32* __restrict__ cmax_bits, u32* __restrict__ labels,
                      u32* __restrict__ fallback, u32* __restrict__ fallback_count) {
    const u32 lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
    const u64 row0 = ((u64)blockIdx.x * F16_WARPS + threadIdx.x / 32) * F16_ROWS;
    // A fragments: tile m, k-step s, rows g (reg 0) and g + 8 (reg 1), dims 8s + 2q, +1.
    // Also ‖x‖ per row (+inf when a value does not fit f16), reduced over the 4 lanes q.
    u32 a[4][F16_KSTEPS][2];
    float xnorm[4][2];
#pragma unroll
    for (int m = 0; m < 4; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const u64 r = row0 + 16 * m + 8 * h + g;
            float sq = 0.0f, big = 0.0f;
#pragma unroll
            for (int s = 0; s < F16_KSTEPS; ++s) {
                const u32 d = 8 * s + 2 * q;
                float lo = (r < n && d < dim) ? points[r * dim + d] : 0.0f;
                float hi = (r < n && d + 1 < dim) ? points[r * dim + d + 1] : 0.0f;
                a[m][s][h] = pack_half2(lo, hi);
                sq = fmaf(lo, lo, fmaf(hi, hi, sq));
                big = fmaxf(big, fmaxf(fabsf(lo), fabsf(hi)));
            }
            sq += __shfl_xor_sync(0xffffffffu, sq, 1);
            sq += __shfl_xor_sync(0xffffffffu, sq, 2);
            big = fmaxf(big, __shfl_xor_sync(0xffffffffu, big, 1));
            big = fmaxf(big, __shfl_xor_sync(0xffffffffu, big, 2));
            xnorm[m][h] = big >= F16_MAX ? INF : sqrtf(sq);
        }
    float best[4][2], second[4][2];
    u32 best_idx[4][2];
#pragma unroll
    for (int m = 0; m < 4; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            best[m][h] = INF;
            second[m][h] = INF;
            best_idx[m][h] = 0;
        }
    uint4 next0 = packed[lane * 2], next1 = packed[lane * 2 + 1];
    for (u32 tile = 0; tile < tiles; ++tile) {
        const uint4 b0 = next0, b1 = next1;
        if (tile + 1 < tiles) {
            next0 = packed[((u64)(tile + 1) * 32 + lane) * 2];
            next1 = packed[((u64)(tile + 1) * 32 + lane) * 2 + 1];
        }
        const u32 b[F16_KSTEPS] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y};
        const float norm0 = __uint_as_float(b1.z), norm1 = __uint_as_float(b1.w);
        const u32 c0 = tile * 8 + 2 * q;
#pragma unroll
        for (int m = 0; m < 4; ++m) {
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
            for (int s = 0; s < F16_KSTEPS; ++s) mma_f16(acc, a[m][s][0], a[m][s][1], b[s]);
            keep_two(best[m][0], second[m][0], best_idx[m][0], fmaf(-2.0f, acc[0], norm0), c0);
            keep_two(best[m][0], second[m][0], best_idx[m][0], fmaf(-2.0f, acc[1], norm1), c0 + 1);
            keep_two(best[m][1], second[m][1], best_idx[m][1], fmaf(-2.0f, acc[2], norm0), c0);
            keep_two(best[m][1], second[m][1], best_idx[m][1], fmaf(-2.0f, acc[3], norm1), c0 + 1);
        }
    }
    const float cmax = __uint_as_float(*cmax_bits);
    const float sqrt_dim = sqrtf((float)dim);
#pragma unroll
    for (int m = 0; m < 4; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            float b = best[m][h], s2 = second[m][h];
            u32 bi = best_idx[m][h];
#pragma unroll
            for (int off = 1; off < 4; off <<= 1) {
                float ob = __shfl_xor_sync(0xffffffffu, b, off);
                float os = __shfl_xor_sync(0xffffffffu, s2, off);
                u32 oi = __shfl_xor_sync(0xffffffffu, bi, off);
                s2 = fminf(fminf(s2, os), fmaxf(b, ob));
                if (ob < b || (ob == b && oi < bi)) {
                    b = ob;
                    bi = oi;
                }
            }
            const u64 r = row0 + 16 * m + 8 * h + g;
            if (q == 0 && r < n) {
                // |d~(c) − d(c)| <= e for every c: 2·(2u + u² + accumulation)·‖x‖·cmax with
                // u = 2^-11, 2·1.01·2^-25·√dim·(‖x‖ + cmax) for subnormals, 1e-5·cmax² for the
                // fp32 norms and the final fma (slack added to each term).
                const float x = xnorm[m][h];
                const float e = 2.05e-3f * x * cmax + 6.3e-8f * sqrt_dim * (x + cmax) +
                                1e-5f * cmax * cmax;
                const float need = 2.0f * e + 2.4e-7f * (fabsf(b) + fabsf(s2));
                if (s2 - b > need) {
                    labels[r] = bi;
                } else {
                    fallback[atomicAdd(fallback_count, 1u)] = (u32)r;
                }
            }
        }
}

// Assignment, general path (any dim): one thread per point, direct form Σ(x − c)².
extern "C" __global__ void kmeans_assign_simple(const float* __restrict__ points, u32 n, u32 dim,
                                                const float* __restrict__ centroids, u32 k,
                                                u32* __restrict__ labels) {
    u64 p = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n) return;
    const float* x = points + p * dim;
    float best = INF;
    u32 best_idx = 0;
    for (u32 c = 0; c < k; ++c) {
        const float* y = centroids + (u64)c * dim;
        float s = 0.0f;
        for (u32 d = 0; d < dim; ++d) {
            float t = x[d] - y[d];
            s = fmaf(t, t, s);
        }
        if (s < best) {
            best = s;
            best_idx = c;
        }
    }
    labels[p] = best_idx;
}

// ---------------------------------------------------------------------------------------------
// Update: counts by atomics (exact), members = point ids stably sorted by label (radix sort in
// sort.cu), then per-cluster f64 sums in member (= point) order.

// Labels >= k are not counted; the first such index (+1) goes to `bad` for the error message.
extern "C" __global__ void label_histogram(const u32* __restrict__ labels, u32 n, u32 k,
                                           u32* __restrict__ counts, u32* __restrict__ bad) {
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    u32 label = labels[i];
    if (label < k)
        atomicAdd(&counts[label], 1u);
    else
        atomicCAS(bad, 0u, i + 1);
}

// keys[i] = labels[i], ids[i] = i: the pairs the radix sort orders.
extern "C" __global__ void label_pairs(const u32* __restrict__ labels, u32 n,
                                       u64* __restrict__ keys, u32* __restrict__ ids) {
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        keys[i] = labels[i];
        ids[i] = i;
    }
}

#define SUM_WARPS 8

// One block per cluster. Warp w sums members w, w + 8, … in order (lane = dimension, 32 at a
// time) in f64; the 8 partials are then added in warp order and rounded once to f32. Fixed
// order throughout, so the result is deterministic. `starts` = exclusive scan of `counts`.
extern "C" __global__ void segment_sum(const float* __restrict__ points, u32 dim,
                                       const u32* __restrict__ members,
                                       const u32* __restrict__ starts,
                                       const u32* __restrict__ counts, float* __restrict__ sums) {
    __shared__ double partial[SUM_WARPS][32];
    const u32 c = blockIdx.x;
    const u32 warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const u32 start = starts[c], count = counts[c];
    for (u32 d0 = 0; d0 < dim; d0 += 32) {
        const u32 d = d0 + lane;
        double acc = 0.0;
        if (d < dim) {
            u32 m = warp;
            for (; m + 3 * SUM_WARPS < count; m += 4 * SUM_WARPS) {
                float v0 = points[(u64)members[start + m] * dim + d];
                float v1 = points[(u64)members[start + m + SUM_WARPS] * dim + d];
                float v2 = points[(u64)members[start + m + 2 * SUM_WARPS] * dim + d];
                float v3 = points[(u64)members[start + m + 3 * SUM_WARPS] * dim + d];
                acc += (double)v0;
                acc += (double)v1;
                acc += (double)v2;
                acc += (double)v3;
            }
            for (; m < count; m += SUM_WARPS) acc += (double)points[(u64)members[start + m] * dim + d];
        }
        partial[warp][lane] = acc;
        __syncthreads();
        if (warp == 0 && d < dim) {
            double total = 0.0;
            for (u32 w = 0; w < SUM_WARPS; ++w) total += partial[w][lane];
            sums[(u64)c * dim + d] = (float)total;
        }
        __syncthreads();
    }
}
