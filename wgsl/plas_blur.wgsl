// plas_blur: one axis of the PLAS box blur. One invocation per (line, channel): a sliding
// window sum of width 2r+1 along the line with Neumaier compensation (WGSL has no f64; the
// compensated f32 sum stays within a few ulps of the CPU's f64 prefix sums), then times
// 1/(2r+1). Axis 0: lines are rows (length W), x wraps around. Axis 1: lines are columns
// (length H), y reflects without repeating the edge (-k → k, H-1+k → H-1-k). The host clamps
// r to ⌊(len − 1)/2⌋, so one reflection or wrap always lands inside the line.
// Per invocation: 2r+1 + len − 1 < 2·len loop iterations.
// PlasParams read: width, height, channels, total (= lines × C), radius, axis.

@group(0) @binding(0) var<uniform> params: PlasParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// Running compensated sum: (sum, compensation).
var<private> run_sum: f32;
var<private> run_comp: f32;

fn add(v: f32) {
    let t = run_sum + v;
    if (abs(run_sum) >= abs(v)) {
        run_comp = run_comp + ((run_sum - t) + v);
    } else {
        run_comp = run_comp + ((v - t) + run_sum);
    }
    run_sum = t;
}

// Position inside the line of the virtual position i (−r ≤ i < len + r).
fn fold(i: i32, len: i32) -> i32 {
    if (params.axis == 0u) {
        return ((i % len) + len) % len;
    }
    if (i < 0) {
        return -i;
    }
    if (i >= len) {
        return 2 * (len - 1) - i;
    }
    return i;
}

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let item = group_index(wid, nwg) * PLAS_WG + lid;
    if (item >= params.total) {
        return;
    }
    let c = params.channels;
    let line = item / c;
    let ch = item % c;
    var len: u32;
    var base: u32;
    var stride: u32;
    if (params.axis == 0u) {
        len = params.width;
        base = line * params.width * c + ch;
        stride = c;
    } else {
        len = params.height;
        base = line * c + ch;
        stride = params.width * c;
    }
    let n = i32(len);
    let r = i32(params.radius);
    let scale = 1.0 / f32(2u * params.radius + 1u);
    run_sum = 0.0;
    run_comp = 0.0;
    for (var i = -r; i <= r; i++) {
        add(src[base + u32(fold(i, n)) * stride]);
    }
    for (var i = 0; i < n; i++) {
        dst[base + u32(i) * stride] = (run_sum + run_comp) * scale;
        if (i + 1 < n) {
            add(src[base + u32(fold(i + 1 + r, n)) * stride]);
            add(-src[base + u32(fold(i - r, n)) * stride]);
        }
    }
}
