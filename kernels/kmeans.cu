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
// memory: (dim_pad · ASSIGN_P + ASSIGN_DC · ASSIGN_C) floats.
extern "C" __global__ void __launch_bounds__(ASSIGN_THREADS, 2)
    kmeans_assign_tiled(const float* __restrict__ points, u32 n, u32 dim, u32 dim_pad,
                        const float* __restrict__ packed, const float* __restrict__ norms,
                        u32 k_pad, u32* __restrict__ labels) {
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
        pts[d * ASSIGN_P + p] = (gp < n && d < dim) ? points[gp * dim + d] : 0.0f;
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
            if (p0 + p < n) labels[p0 + p] = best_idx[i];
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
