// label_pairs: keys[i] = labels[i] (as a u64: low word = label, high word = 0) and
// values[i] = i, the input of the stable sort that groups point ids by cluster in index
// order. Params read: n.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> keys: array<u32>;
@group(0) @binding(3) var<storage, read_write> values: array<u32>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * 256u + lid;
    if (i < params.n) {
        keys[2u * i] = labels[i];
        keys[2u * i + 1u] = 0u;
        values[i] = i;
    }
}
