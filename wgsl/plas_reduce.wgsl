// plas_reduce: the per-workgroup partial losses of plas_reorder / plas_loss, reduced by one
// workgroup in a fixed order: invocation t adds partials t, t + 256, t + 512, … with Neumaier
// compensation and writes (sum, compensation) to out[2t], out[2t + 1]; the host adds the 512
// values in f64. Deterministic: nothing depends on timing.
// PlasParams read: partials. At most 65,535 partials per invocation (the host checks).

@group(0) @binding(0) var<uniform> params: PlasParams;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var sum = 0.0;
    var comp = 0.0;
    for (var i = lid; i < params.partials; i += PLAS_WG) {
        let v = partials[i];
        let t = sum + v;
        if (abs(sum) >= abs(v)) {
            comp = comp + ((sum - t) + v);
        } else {
            comp = comp + ((v - t) + sum);
        }
        sum = t;
    }
    out[2u * lid] = sum;
    out[2u * lid + 1u] = comp;
}
