// PLAS kernels for the CUDA backend (src/backend/cuda/plas.rs). Compiled by `cargo xtask ptx`
// with NVRTC 11.8 to PTX ISA 7.8 for compute_75; the binary embeds kernels/ptx/plas.ptx.
// No CUDA headers (toolchain.md §3).
//
// Semantics are defined by src/backend/cpu/plas.rs, and the kernels follow its arithmetic
// operation for operation with explicitly rounded intrinsics (no FMA contraction), so blurred
// targets and reordered cells are bit-identical to the CPU's:
// - blur: per line and channel, an f64 prefix sum in line order, spans as prefix differences,
//   (inner + outer) × 1/(2r+1) in f64, rounded once to f32;
// - reorder / loss: ‖a − b‖² as an f32 sum in channel order, group costs (c0 + c1) + (c2 + c3),
//   the first strictly best of the 24 placements in the CPU's order (identity first).
// Losses are summed in f64 per block, then over blocks in block order by the last block to
// finish (deterministic, but not the CPU's summation order: equal up to f64 rounding).
//
// A grid is W×H cells of C f32 channels, cell-major (cells[(y·W + x)·C + c]); cells with index
// ≥ valid are padding.

typedef unsigned int u32;
typedef unsigned long long u64;

#define INF __int_as_float(0x7f800000)
#define PLAS_THREADS 256
// Widest cell the register path of plas_reorder holds; wider cells take plas_reorder_wide.
#define PLAS_MAX_C 16

// ---------------------------------------------------------------------------------------------
// Blur: box mean of width 2r+1 along lines of `len` cells (r ≤ (len − 1)/2). One thread per
// (line, channel): element i of the line is in[i·stride], its prefix pre[i·stride] (len + 1
// entries), its output out[i·stride]; `out` may be `in` (each thread reads its whole line
// before writing it).

__device__ __forceinline__ double span(const double* pre, u64 stride, u32 lo, u32 hi) {
    // Sum of elements lo..=hi.
    return __dsub_rn(pre[(u64)(hi + 1) * stride], pre[(u64)lo * stride]);
}

__device__ void box_line(const float* in, double* pre, float* out, u64 stride, u32 len, u32 r,
                         bool wrap) {
    double acc = 0.0;
    pre[0] = 0.0;
#pragma unroll 8
    for (u32 i = 0; i < len; ++i) {
        acc = __dadd_rn(acc, (double)in[(u64)i * stride]);
        pre[(u64)(i + 1) * stride] = acc;
    }
    const double scale = __ddiv_rn(1.0, (double)(2 * r + 1));
    for (u32 i = 0; i < len; ++i) {
        const int lo = (int)i - (int)r;
        const u32 hi = i + r;
        const double inner = span(pre, stride, lo < 0 ? 0u : (u32)lo, hi < len ? hi : len - 1);
        double outer = 0.0;
        if (wrap) {
            // Cells -k wrap to len - k; cells len - 1 + k wrap to k - 1.
            if (lo < 0) outer = __dadd_rn(outer, span(pre, stride, (u32)((int)len + lo), len - 1));
            if (hi >= len) outer = __dadd_rn(outer, span(pre, stride, 0, hi - len));
        } else {
            // Cells -k reflect to k; cells len - 1 + k reflect to len - 1 - k.
            if (lo < 0) outer = __dadd_rn(outer, span(pre, stride, 1, (u32)(-lo)));
            if (hi >= len) {
                const u32 over = hi - (len - 1);
                outer = __dadd_rn(outer, span(pre, stride, len - 1 - over, len - 2));
            }
        }
        out[(u64)i * stride] = __double2float_rn(__dmul_rn(__dadd_rn(inner, outer), scale));
    }
}

// x pass, circular: thread t = y·C + ch; prefix line y at pre[y·(W + 1)·C + ch].
extern "C" __global__ void __launch_bounds__(PLAS_THREADS)
    plas_blur_rows(const float* __restrict__ cells, float* __restrict__ target,
                   double* __restrict__ pre, u32 w, u32 h, u32 c, u32 r) {
    const u32 t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= h * c) return;
    const u32 y = t / c, ch = t % c;
    const u64 line = (u64)y * w * c + ch;
    box_line(cells + line, pre + (u64)y * (w + 1) * c + ch, target + line, c, w, r, true);
}

// y pass, reflected, in place on the x pass's output: thread t = x·C + ch; element y of the
// column at y·W·C + t, its prefix at pre[y·W·C + t].
extern "C" __global__ void __launch_bounds__(PLAS_THREADS)
    plas_blur_columns(float* target, double* __restrict__ pre, u32 w, u32 h, u32 c, u32 r) {
    const u32 t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= w * c) return;
    box_line(target + t, pre + t, target + t, (u64)w * c, h, r, false);
}

// ---------------------------------------------------------------------------------------------
// Loss reduction: each block's f64 partial (a fixed tree over its threads) goes to
// partial[blockIdx]; the last block to finish sums the partials in block order (each thread a
// fixed stride, then the same tree), writes result[0] and re-arms the counter.

__device__ double block_sum(double v, double* shared) {
    const u32 tid = threadIdx.x;
    shared[tid] = v;
    __syncthreads();
    for (u32 s = PLAS_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) shared[tid] = __dadd_rn(shared[tid], shared[tid + s]);
        __syncthreads();
    }
    const double total = shared[0];
    __syncthreads();
    return total;
}

__device__ void finish_loss(double loss, double* __restrict__ partial, u32* __restrict__ counter,
                            double* __restrict__ result) {
    __shared__ double sums[PLAS_THREADS];
    __shared__ bool last;
    const double block = block_sum(loss, sums);
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = block;
        __threadfence();
        last = atomicAdd(counter, 1u) == gridDim.x - 1;
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    const volatile double* parts = partial;
    double acc = 0.0;
    for (u32 b = threadIdx.x; b < gridDim.x; b += PLAS_THREADS) acc = __dadd_rn(acc, parts[b]);
    const double total = block_sum(acc, sums);
    if (threadIdx.x == 0) {
        result[0] = total;
        *counter = 0;
    }
}

// ---------------------------------------------------------------------------------------------
// Reorder. Block lattice and in-block permutation as PlasBlocks::cell: block (bx, by) covers
// cells ((sx + bx·B + ix) mod W, (sy + by·B + iy) mod H); in-block step k maps to
// p(k) = (a·k + o) mod B², (ix, iy) = (p mod B, p / B); group g of a block is steps 4g..4g+3.

// The 24 placements, in the CPU's order (lexicographic, identity first): element i goes to
// group slot s_i. X(n, s0, s1, s2, s3) per placement, so `choose` sees literal indices.
#define PLAS_PERMUTATIONS(X)                                                                   \
    X(0, 0, 1, 2, 3) X(1, 0, 1, 3, 2) X(2, 0, 2, 1, 3) X(3, 0, 2, 3, 1) X(4, 0, 3, 1, 2)        \
    X(5, 0, 3, 2, 1) X(6, 1, 0, 2, 3) X(7, 1, 0, 3, 2) X(8, 1, 2, 0, 3) X(9, 1, 2, 3, 0)        \
    X(10, 1, 3, 0, 2) X(11, 1, 3, 2, 0) X(12, 2, 0, 1, 3) X(13, 2, 0, 3, 1) X(14, 2, 1, 0, 3)   \
    X(15, 2, 1, 3, 0) X(16, 2, 3, 0, 1) X(17, 2, 3, 1, 0) X(18, 3, 0, 1, 2) X(19, 3, 0, 2, 1)   \
    X(20, 3, 1, 0, 2) X(21, 3, 1, 2, 0) X(22, 3, 2, 0, 1) X(23, 3, 2, 1, 0)

// The same as a table for the write-back: the chosen placement packed as s0 | s1 << 2 | ….
#define PLAS_PACK(n, s0, s1, s2, s3) (u32)((s0) | (s1) << 2 | (s2) << 4 | (s3) << 6),
__constant__ u32 PLACEMENTS[24] = {PLAS_PERMUTATIONS(PLAS_PACK)};

struct Lattice {
    u32 w, h, b, sx, sy, a, o, blocks_x, groups_per_block;
};

// The four cells of group `g` (block-major numbering).
__device__ __forceinline__ void group_cells(const Lattice& l, u32 g, u32 pos[4]) {
    const u32 block = g / l.groups_per_block, group = g % l.groups_per_block;
    const u32 bx = block % l.blocks_x, by = block / l.blocks_x;
    const u32 area = l.b * l.b;
    // p(4·group), then p(k + 1) = (p(k) + a) mod B² (a < B²).
    u32 p = (u32)(((u64)l.a * (u64)(4 * group) + l.o) % area);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        u32 x = l.sx + bx * l.b + p % l.b;
        u32 y = l.sy + by * l.b + p / l.b;
        x = x >= l.w ? x - l.w : x;  // sx < W and bx·B + ix < W
        y = y >= l.h ? y - l.h : y;
        pos[j] = y * l.w + x;
        const u64 next = (u64)p + l.a;
        p = (u32)(next >= area ? next - area : next);
    }
}

// Choice of placement from the 4×4 cost matrix (cost[i][j]: element i at slot j, zero where
// either is padding) and the per-move permission ok[i][j]. Returns the placement number;
// `best_cost` its summed cost (+inf if none beats it, as on the CPU).
__device__ __forceinline__ int choose(const float cost[4][4], const bool ok[4][4],
                                      float& best_cost) {
    int best = 0;
    best_cost = INF;
#define PLAS_TRY(n, s0, s1, s2, s3)                                                            \
    if (ok[0][s0] && ok[1][s1] && ok[2][s2] && ok[3][s3]) {                                    \
        const float sum = __fadd_rn(__fadd_rn(cost[0][s0], cost[1][s1]),                       \
                                    __fadd_rn(cost[2][s2], cost[3][s3]));                      \
        if (sum < best_cost) {                                                                 \
            best_cost = sum;                                                                   \
            best = n;                                                                          \
        }                                                                                      \
    }
    PLAS_PERMUTATIONS(PLAS_TRY)
#undef PLAS_TRY
    return best;
}

// ok[i][j]: element i may go to slot j (padding stays; keys must match).
__device__ __forceinline__ void permissions(const u32 pos[4], u32 valid,
                                            const u32* __restrict__ keys, bool ok[4][4],
                                            bool live[4]) {
    u32 key[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        live[i] = pos[i] < valid;
        key[i] = keys ? keys[pos[i]] : 0u;
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) ok[i][j] = (live[i] || i == j) && key[i] == key[j];
}

__device__ __forceinline__ u32 pick(const u32 v[4], int i) {
    return i == 0 ? v[0] : i == 1 ? v[1] : i == 2 ? v[2] : v[3];
}

// Loads the C ≤ PLAS_MAX_C channels of cell q (8-byte loads when C is even).
__device__ __forceinline__ void load_cell(const float* __restrict__ base, u32 q, u32 c,
                                          float v[PLAS_MAX_C]) {
    const float* cell = base + (u64)q * c;
    if ((c & 1) == 0) {
        const float2* cell2 = reinterpret_cast<const float2*>(cell);
#pragma unroll
        for (int h = 0; h < PLAS_MAX_C / 2; ++h) {
            if (2 * h < (int)c) {
                const float2 x = cell2[h];
                v[2 * h] = x.x;
                v[2 * h + 1] = x.y;
            } else {
                v[2 * h] = 0.0f;
                v[2 * h + 1] = 0.0f;
            }
        }
    } else {
#pragma unroll
        for (int k = 0; k < PLAS_MAX_C; ++k) v[k] = k < (int)c ? cell[k] : 0.0f;
    }
}

// ‖a − b‖² in channel order (the CPU's `distance`).
__device__ __forceinline__ float distance_regs(const float a[PLAS_MAX_C],
                                               const float b[PLAS_MAX_C], u32 c) {
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < PLAS_MAX_C; ++k) {
        if (k < (int)c) {
            const float d = __fsub_rn(a[k], b[k]);
            sum = __fadd_rn(sum, __fmul_rn(d, d));
        }
    }
    return sum;
}

// One thread per group, cells in registers (C ≤ PLAS_MAX_C). `keys` may be null.
extern "C" __global__ void __launch_bounds__(PLAS_THREADS, 2)
    plas_reorder(float* __restrict__ cells, u32* __restrict__ index,
                 const float* __restrict__ target, const u32* __restrict__ keys, u32 w, u32 h,
                 u32 c, u32 valid, u32 b, u32 sx, u32 sy, u32 a, u32 o, u32 blocks_x,
                 u32 groups_per_block, u32 groups, double* __restrict__ partial,
                 u32* __restrict__ counter, double* __restrict__ result) {
    const u32 g = blockIdx.x * blockDim.x + threadIdx.x;
    double loss = 0.0;
    if (g < groups) {
        const Lattice l = {w, h, b, sx, sy, a, o, blocks_x, groups_per_block};
        u32 pos[4];
        group_cells(l, g, pos);
        bool ok[4][4], live[4];
        permissions(pos, valid, keys, ok, live);
        float p[4][PLAS_MAX_C];
#pragma unroll
        for (int i = 0; i < 4; ++i) load_cell(cells, pos[i], c, p[i]);
        float cost[4][4];
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            float t[PLAS_MAX_C];
            load_cell(target, pos[j], c, t);
#pragma unroll
            for (int i = 0; i < 4; ++i)
                cost[i][j] = live[i] && live[j] ? distance_regs(p[i], t, c) : 0.0f;
        }
        float best_cost;
        const int best = choose(cost, ok, best_cost);
        loss = (double)best_cost;
        if (best != 0) {
            const u32 placement = PLACEMENTS[best];
            u32 ids[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) ids[i] = index[pos[i]];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int slot = (placement >> (2 * i)) & 3;
                if (slot == i) continue;
                const u32 to = pick(pos, slot);
                float* cell = cells + (u64)to * c;
#pragma unroll
                for (int k = 0; k < PLAS_MAX_C; ++k)
                    if (k < (int)c) cell[k] = p[i][k];
                index[to] = ids[i];
            }
        }
    }
    finish_loss(loss, partial, counter, result);
}

// The same for any C, channels streamed from memory (cells wider than PLAS_MAX_C).
extern "C" __global__ void __launch_bounds__(PLAS_THREADS)
    plas_reorder_wide(float* __restrict__ cells, u32* __restrict__ index,
                      const float* __restrict__ target, const u32* __restrict__ keys, u32 w,
                      u32 h, u32 c, u32 valid, u32 b, u32 sx, u32 sy, u32 a, u32 o,
                      u32 blocks_x, u32 groups_per_block, u32 groups,
                      double* __restrict__ partial, u32* __restrict__ counter,
                      double* __restrict__ result) {
    const u32 g = blockIdx.x * blockDim.x + threadIdx.x;
    double loss = 0.0;
    if (g < groups) {
        const Lattice l = {w, h, b, sx, sy, a, o, blocks_x, groups_per_block};
        u32 pos[4];
        group_cells(l, g, pos);
        bool ok[4][4], live[4];
        permissions(pos, valid, keys, ok, live);
        float cost[4][4];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) cost[i][j] = 0.0f;
        for (u32 k = 0; k < c; ++k) {
            float x[4], y[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                x[i] = cells[(u64)pos[i] * c + k];
                y[i] = target[(u64)pos[i] * c + k];
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    const float d = __fsub_rn(x[i], y[j]);
                    cost[i][j] = __fadd_rn(cost[i][j], __fmul_rn(d, d));
                }
        }
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j)
                if (!(live[i] && live[j])) cost[i][j] = 0.0f;
        float best_cost;
        const int best = choose(cost, ok, best_cost);
        loss = (double)best_cost;
        if (best != 0) {
            const u32 placement = PLACEMENTS[best];
            int slot[4];
            u32 to[4], ids[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                slot[i] = (placement >> (2 * i)) & 3;
                to[i] = pick(pos, slot[i]);
                ids[i] = index[pos[i]];
            }
            for (u32 k = 0; k < c; ++k) {
                float x[4];
#pragma unroll
                for (int i = 0; i < 4; ++i) x[i] = cells[(u64)pos[i] * c + k];
#pragma unroll
                for (int i = 0; i < 4; ++i)
                    if (slot[i] != i) cells[(u64)to[i] * c + k] = x[i];
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
                if (slot[i] != i) index[to[i]] = ids[i];
        }
    }
    finish_loss(loss, partial, counter, result);
}

// ---------------------------------------------------------------------------------------------
// Loss over the cells the lattice covers: thread t = row·(blocks_x·B) + col, cell
// ((sx + col) mod W, (sy + row) mod H), counted when valid.
extern "C" __global__ void __launch_bounds__(PLAS_THREADS)
    plas_loss(const float* __restrict__ cells, const float* __restrict__ target, u32 w, u32 h,
              u32 c, u32 valid, u32 sx, u32 sy, u32 cols, u32 count,
              double* __restrict__ partial, u32* __restrict__ counter,
              double* __restrict__ result) {
    const u32 t = blockIdx.x * blockDim.x + threadIdx.x;
    double loss = 0.0;
    if (t < count) {
        u32 x = sx + t % cols, y = sy + t / cols;
        x = x >= w ? x - w : x;
        y = y >= h ? y - h : y;
        const u32 q = y * w + x;
        if (q < valid) {
            const float* a = cells + (u64)q * c;
            const float* e = target + (u64)q * c;
            float sum = 0.0f;
            for (u32 k = 0; k < c; ++k) {
                const float d = __fsub_rn(a[k], e[k]);
                sum = __fadd_rn(sum, __fmul_rn(d, d));
            }
            loss = (double)sum;
        }
    }
    finish_loss(loss, partial, counter, result);
}
