// scan: in-place exclusive prefix sum of data[0..n) (u32) by ONE workgroup, tile by tile
// (1024 values per tile, 4 per invocation) with a running carry. Used for the radix
// histograms and the cluster offsets; both are small next to the data they index, so a
// single workgroup is enough and needs no inter-workgroup progress guarantee.
// Params read: n.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;

var<workgroup> partial: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var carry = 0u;
    for (var base = 0u; base < params.n; base += 1024u) {
        let first = base + lid * 4u;
        var v: array<u32, 4>;
        var sum = 0u;
        for (var j = 0u; j < 4u; j++) {
            if (first + j < params.n) {
                v[j] = data[first + j];
            }
            sum += v[j];
        }
        partial[lid] = sum;
        workgroupBarrier();
        for (var offset = 1u; offset < 256u; offset *= 2u) {
            var add = 0u;
            if (lid >= offset) {
                add = partial[lid - offset];
            }
            workgroupBarrier();
            partial[lid] += add;
            workgroupBarrier();
        }
        var running = carry + partial[lid] - sum;
        for (var j = 0u; j < 4u; j++) {
            if (first + j < params.n) {
                data[first + j] = running;
            }
            running += v[j];
        }
        carry += partial[255];
        workgroupBarrier();
    }
}
