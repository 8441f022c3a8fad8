// Step 1 of the renderer (src/render/mod.rs; the reference is render::cpu::project_one): one
// invocation per splat → its centre in pixels, conic (inverse 2-D covariance + low-pass),
// depth, SH colour seen from the camera, opacity and tile rectangle. A splat not drawn gets
// an all-zero entry (an empty rectangle). `n` and the columns cover one batch of splats;
// the output goes to projected[first + i]. Structs (View, Projected) and TILE, MIN_ALPHA:
// render_common.wgsl.

const NEAR: f32 = 0.01;
const LOW_PASS: f32 = 0.3;
const ENGINE_LOW_PASS: f32 = 0.075;
const ENGINE_MIN_LAMBDA: f32 = 0.125;

const SH_C0: f32 = 0.2820948;
const SH_C1: f32 = 0.48860252;
const SH_C2 = array<f32, 5>(1.0925484, -1.0925484, 0.31539157, -1.0925484, 0.54627424);
const SH_C3 = array<f32, 7>(-0.5900436, 2.8906114, -0.4570458, 0.37317634, -0.4570458, 1.4453057, -0.5900436);

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> positions: array<f32>;
@group(0) @binding(2) var<storage, read> covariances: array<f32>;
@group(0) @binding(3) var<storage, read> opacities: array<f32>;
@group(0) @binding(4) var<storage, read> sh: array<f32>;
@group(0) @binding(5) var<storage, read_write> projected: array<Projected>;

fn sh_color(i: u32, dir: vec3<f32>) -> vec3<f32> {
    let x = dir.x;
    let y = dir.y;
    let z = dir.z;
    var basis: array<f32, 16>;
    basis[0] = SH_C0;
    if (view.bands >= 1u) {
        basis[1] = -SH_C1 * y;
        basis[2] = SH_C1 * z;
        basis[3] = -SH_C1 * x;
    }
    let xx = x * x;
    let yy = y * y;
    let zz = z * z;
    if (view.bands >= 2u) {
        basis[4] = SH_C2[0] * x * y;
        basis[5] = SH_C2[1] * y * z;
        basis[6] = SH_C2[2] * (2.0 * zz - xx - yy);
        basis[7] = SH_C2[3] * x * z;
        basis[8] = SH_C2[4] * (xx - yy);
    }
    if (view.bands >= 3u) {
        basis[9] = SH_C3[0] * y * (3.0 * xx - yy);
        basis[10] = SH_C3[1] * x * y * z;
        basis[11] = SH_C3[2] * y * (4.0 * zz - xx - yy);
        basis[12] = SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy);
        basis[13] = SH_C3[4] * x * (4.0 * zz - xx - yy);
        basis[14] = SH_C3[5] * z * (xx - yy);
        basis[15] = SH_C3[6] * x * (xx - 3.0 * yy);
    }
    let coeffs = view.sh_stride / 3u;
    let base = i * view.sh_stride;
    var rgb = vec3<f32>(0.5, 0.5, 0.5);
    for (var k = 0u; k < coeffs; k++) {
        let b = basis[k];
        rgb.x += b * sh[base + k * 3u];
        rgb.y += b * sh[base + k * 3u + 1u];
        rgb.z += b * sh[base + k * 3u + 2u];
    }
    return max(rgb, vec3<f32>(0.0));
}

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * 256u + lid;
    if (i >= view.n) {
        return;
    }
    var out: Projected;
    let p = vec3<f32>(positions[3u * i], positions[3u * i + 1u], positions[3u * i + 2u]);
    let opacity = opacities[i];
    let v = vec3<f32>(
        dot(view.row0.xyz, p) + view.row0.w,
        dot(view.row1.xyz, p) + view.row1.w,
        dot(view.row2.xyz, p) + view.row2.w,
    );
    let z = v.z;
    let at = view.first + i;
    if (!(z > NEAR) || !(opacity >= MIN_ALPHA)) {
        projected[at] = out;
        return;
    }
    let lim_x = 1.3 * (0.5 * f32(view.width) / view.fx);
    let lim_y = 1.3 * (0.5 * f32(view.height) / view.fy);
    let tx = clamp(v.x / z, -lim_x, lim_x) * z;
    let ty = clamp(v.y / z, -lim_y, lim_y) * z;
    let j00 = view.fx / z;
    let j02 = -view.fx * tx / (z * z);
    let j11 = view.fy / z;
    let j12 = -view.fy * ty / (z * z);
    let t0 = j00 * view.row0.xyz + j02 * view.row2.xyz;
    let t1 = j11 * view.row1.xyz + j12 * view.row2.xyz;
    let c = 6u * i;
    let s = mat3x3<f32>(
        vec3<f32>(covariances[c], covariances[c + 1u], covariances[c + 2u]),
        vec3<f32>(covariances[c + 1u], covariances[c + 3u], covariances[c + 4u]),
        vec3<f32>(covariances[c + 2u], covariances[c + 4u], covariances[c + 5u]),
    );
    let s0 = s * t0;
    let s1 = s * t1;
    var low_pass = LOW_PASS;
    if (view.kernel == 1u) {
        low_pass = ENGINE_LOW_PASS;
    }
    let a = dot(t0, s0) + low_pass;
    let b = dot(t0, s1);
    let cc = dot(t1, s1) + low_pass;
    let det = a * cc - b * b;
    if (!(det > 0.0)) {
        projected[at] = out;
        return;
    }
    let mid = 0.5 * (a + cc);
    if (view.kernel == 1u && mid + sqrt(max(mid * mid - det, 0.0)) < ENGINE_MIN_LAMBDA) {
        projected[at] = out;
        return;
    }
    // The bound of the reference implementation (the 0.1 floor only widens tiny splats).
    let lambda = mid + sqrt(max(mid * mid - det, 0.1));
    let radius = ceil(3.0 * sqrt(lambda));
    let mean = vec2<f32>(view.fx * v.x / z + view.cx, view.fy * v.y / z + view.cy);
    let tiles_x = f32(view.tiles_x);
    let tiles_y = f32(view.tiles_y);
    let tile = f32(TILE);
    let x0 = u32(clamp(floor((mean.x - radius) / tile), 0.0, tiles_x));
    let x1 = u32(clamp(ceil((mean.x + radius) / tile), 0.0, tiles_x));
    let y0 = u32(clamp(floor((mean.y - radius) / tile), 0.0, tiles_y));
    let y1 = u32(clamp(ceil((mean.y + radius) / tile), 0.0, tiles_y));
    if (x1 <= x0 || y1 <= y0) {
        projected[at] = out;
        return;
    }
    let d = p - view.eye.xyz;
    let len = sqrt(dot(d, d));
    var dir = vec3<f32>(0.0, 0.0, 1.0);
    if (len > 0.0) {
        dir = d / len;
    }
    out.mean = mean;
    out.depth = z;
    out.opacity = opacity;
    out.conic = vec3<f32>(cc / det, -b / det, a / det);
    out.rect_min = x0 | (y0 << 16u);
    out.color = sh_color(i, dir);
    out.rect_max = x1 | (y1 << 16u);
    projected[at] = out;
}
