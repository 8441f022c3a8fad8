// label_histogram: counts[labels[i]] += 1 for every i < n (u32 atomics; counts must start
// at zero). The result is exact and independent of execution order. Params read: n, k
// (labels >= k are ignored; the caller guarantees they do not occur).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * 256u + lid;
    if (i < params.n) {
        let label = labels[i];
        if (label < params.k) {
            atomicAdd(&counts[label], 1u);
        }
    }
}
