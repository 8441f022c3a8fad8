// Step 3 of the renderer (src/render/mod.rs; the reference is render::cpu::blend_pixel): one
// workgroup per 16×16 tile (the tile index is the linear workgroup index, row-major), one
// invocation per pixel. The tile's splats, nearest first, are staged 256 at a time in
// workgroup memory; each pixel blends them front to back and stops before the transmittance
// would fall below 1e-4. The workgroup stops when every pixel has. Structs (Blend,
// Projected) and TILE, MIN_ALPHA: render_common.wgsl.

const BATCH: u32 = TILE * TILE;
const MAX_ALPHA: f32 = 0.99;
const MIN_TRANSMITTANCE: f32 = 1e-4;
const EXP_MINUS_4: f32 = 0.01831564;

@group(0) @binding(0) var<uniform> params: Blend;
@group(0) @binding(1) var<storage, read> projected: array<Projected>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read> ranges: array<vec2<u32>>;
// Per pixel: colour and coverage (1 − transmittance).
@group(0) @binding(4) var<storage, read_write> pixels: array<vec4<f32>>;

var<workgroup> batch: array<Projected, BATCH>;
var<workgroup> done_count: atomic<u32>;
var<workgroup> all_done: u32;

@compute @workgroup_size(TILE, TILE)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) index: u32,
) {
    let tile = group_index(wid, nwg);
    if (tile >= params.tiles_x * params.tiles_y) {
        return;
    }
    let x = (tile % params.tiles_x) * TILE + local.x;
    let y = (tile / params.tiles_x) * TILE + local.y;
    let inside = x < params.width && y < params.height;
    let pixel = vec2<f32>(f32(x) + 0.5, f32(y) + 0.5);
    let range = ranges[tile];
    let total = range.y - range.x;
    let rounds = (total + BATCH - 1u) / BATCH;
    if (index == 0u) {
        atomicStore(&done_count, 0u);
    }
    workgroupBarrier();
    var done = !inside;
    if (done) {
        atomicAdd(&done_count, 1u);
    }
    var transmittance = 1.0;
    var color = vec3<f32>(0.0);
    for (var r = 0u; r < rounds; r++) {
        workgroupBarrier();
        if (index == 0u) {
            all_done = atomicLoad(&done_count);
        }
        if (workgroupUniformLoad(&all_done) == BATCH) {
            break;
        }
        let at = r * BATCH + index;
        if (at < total) {
            batch[index] = projected[ids[range.x + at]];
        }
        workgroupBarrier();
        if (!done) {
            let count = min(BATCH, total - r * BATCH);
            for (var j = 0u; j < count; j++) {
                let s = batch[j];
                let d = pixel - s.mean;
                let power = -0.5 * (s.conic.x * d.x * d.x + s.conic.z * d.y * d.y) - s.conic.y * d.x * d.y;
                if (power > 0.0) {
                    continue;
                }
                var alpha: f32;
                if (params.kernel == 1u) {
                    if (power < -4.0) {
                        continue;
                    }
                    alpha = s.opacity * ((exp(power) - EXP_MINUS_4) / (1.0 - EXP_MINUS_4));
                } else {
                    alpha = min(s.opacity * exp(power), MAX_ALPHA);
                }
                if (alpha < MIN_ALPHA) {
                    continue;
                }
                let next = transmittance * (1.0 - alpha);
                if (next < MIN_TRANSMITTANCE) {
                    done = true;
                    atomicAdd(&done_count, 1u);
                    break;
                }
                color += s.color * (alpha * transmittance);
                transmittance = next;
            }
        }
    }
    if (inside) {
        pixels[y * params.width + x] = vec4<f32>(color, 1.0 - transmittance);
    }
}
