// Stable LSD radix sort of (u64 key, u32 value) pairs, 8-bit digits, and the scans it needs.
// Compiled by `cargo xtask ptx` (NVRTC 11.8, compute_75) into kernels/ptx/sort.ptx.
//
// Per digit: `radix_histogram` (digit counts per tile of RADIX_TILE pairs, digit-major) →
// `scan_exclusive` (where each tile's run of each digit starts) → `radix_scatter` (stable rank
// inside the tile from warp match masks: warps own contiguous slices, in order).

typedef unsigned int u32;
typedef unsigned long long u64;

#define RADIX_THREADS 256
#define RADIX_WARPS (RADIX_THREADS / 32)
#define RADIX_ITEMS 8                                // per thread
#define RADIX_TILE (RADIX_THREADS * RADIX_ITEMS)     // 2048 pairs per block
#define SCAN_THREADS 1024

__device__ __forceinline__ u32 digit_of(u64 key, u32 shift) { return (u32)(key >> shift) & 0xffu; }

// bits[0] |= every key, bits[1] &= every key: the digits where both agree never vary.
extern "C" __global__ void key_bits(const u64* __restrict__ keys, u32 n, u64* __restrict__ bits) {
    __shared__ u64 ors[RADIX_WARPS], ands[RADIX_WARPS];
    u64 o = 0, a = ~0ull;
    for (u32 i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        u64 k = keys[i];
        o |= k;
        a &= k;
    }
    for (int off = 16; off > 0; off >>= 1) {
        o |= __shfl_xor_sync(0xffffffffu, o, off);
        a &= __shfl_xor_sync(0xffffffffu, a, off);
    }
    if (threadIdx.x % 32 == 0) {
        ors[threadIdx.x / 32] = o;
        ands[threadIdx.x / 32] = a;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (u32 w = 1; w < blockDim.x / 32; ++w) {
            o |= ors[w];
            a &= ands[w];
        }
        atomicOr(&bits[0], o);
        atomicAnd(&bits[1], a);
    }
}

// hist[digit * num_blocks + block] = number of pairs of tile `block` with that digit.
extern "C" __global__ void radix_histogram(const u64* __restrict__ keys, u32 n, u32 shift,
                                           u32 num_blocks, u32* __restrict__ hist) {
    __shared__ u32 counts[256];
    counts[threadIdx.x] = 0;
    __syncthreads();
    const u64 base = (u64)blockIdx.x * RADIX_TILE;
    for (u32 i = threadIdx.x; i < RADIX_TILE; i += RADIX_THREADS) {
        u64 idx = base + i;
        if (idx < n) atomicAdd(&counts[digit_of(keys[idx], shift)], 1u);
    }
    __syncthreads();
    hist[(u64)threadIdx.x * num_blocks + blockIdx.x] = counts[threadIdx.x];
}

// In-place exclusive scan of data[0..n), one block of SCAN_THREADS: each thread scans a
// contiguous run, the run totals are scanned across the block.
extern "C" __global__ void scan_exclusive(u32* __restrict__ data, u32 n) {
    __shared__ u32 totals[SCAN_THREADS];
    const u32 t = threadIdx.x;
    const u32 per = (n + SCAN_THREADS - 1) / SCAN_THREADS;
    const u64 begin = (u64)t * per;
    const u64 end = begin + per < n ? begin + per : n;
    u32 sum = 0;
    for (u64 i = begin; i < end; ++i) sum += data[i];
    totals[t] = sum;
    __syncthreads();
    // Hillis–Steele inclusive scan of the run totals.
    for (u32 off = 1; off < SCAN_THREADS; off <<= 1) {
        u32 add = t >= off ? totals[t - off] : 0;
        __syncthreads();
        totals[t] += add;
        __syncthreads();
    }
    u32 run = totals[t] - sum;
    for (u64 i = begin; i < end; ++i) {
        u32 v = data[i];
        data[i] = run;
        run += v;
    }
}

// Stable scatter of one digit pass. `offsets` = exclusive scan of `radix_histogram`'s output.
extern "C" __global__ void __launch_bounds__(RADIX_THREADS)
    radix_scatter(const u64* __restrict__ keys_in, const u32* __restrict__ values_in,
                  u64* __restrict__ keys_out, u32* __restrict__ values_out, u32 n, u32 shift,
                  u32 num_blocks, const u32* __restrict__ offsets) {
    __shared__ u32 warp_counts[RADIX_WARPS][256];
    const u32 tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    for (u32 i = tid; i < RADIX_WARPS * 256; i += RADIX_THREADS) (&warp_counts[0][0])[i] = 0;
    __syncthreads();
    const u64 base = (u64)blockIdx.x * RADIX_TILE + warp * (32 * RADIX_ITEMS);
    const u32 below = (1u << lane) - 1u;
    u64 key[RADIX_ITEMS];
    u32 rank[RADIX_ITEMS], digit[RADIX_ITEMS];
#pragma unroll
    for (int s = 0; s < RADIX_ITEMS; ++s) {
        u64 idx = base + s * 32 + lane;
        bool valid = idx < n;
        key[s] = valid ? keys_in[idx] : 0;
        // Invalid slots get digit 256: they match only each other and are never written.
        u32 d = valid ? digit_of(key[s], shift) : 256u;
        u32 peers = __match_any_sync(0xffffffffu, d);
        u32 before = valid ? warp_counts[warp][d] : 0;
        __syncwarp();
        if (valid && lane == (u32)(__ffs(peers) - 1)) warp_counts[warp][d] = before + __popc(peers);
        __syncwarp();
        rank[s] = before + __popc(peers & below);
        digit[s] = d;
    }
    __syncthreads();
    {
        // Thread t turns digit t's per-warp counts into global start positions, warp order.
        u32 run = offsets[(u64)tid * num_blocks + blockIdx.x];
        for (u32 w = 0; w < RADIX_WARPS; ++w) {
            u32 c = warp_counts[w][tid];
            warp_counts[w][tid] = run;
            run += c;
        }
    }
    __syncthreads();
#pragma unroll
    for (int s = 0; s < RADIX_ITEMS; ++s) {
        u64 idx = base + s * 32 + lane;
        if (idx < n) {
            u32 pos = warp_counts[warp][digit[s]] + rank[s];
            keys_out[pos] = key[s];
            values_out[pos] = values_in[idx];
        }
    }
}
