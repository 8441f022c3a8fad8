//! The reference rasteriser: the definition of what `wgsl/render_project.wgsl` and
//! `wgsl/render_blend.wgsl` compute (the steps are described in [`super`]). f32 throughout,
//! in the same order of operations as the WGSL, so the two agree to rounding.

use rayon::prelude::*;

use super::{
    Bins, Camera, ENGINE_LOW_PASS, ENGINE_MIN_LAMBDA, EXP_MINUS_4, Image, Kernel, LOW_PASS,
    MAX_ALPHA, MIN_ALPHA, MIN_TRANSMITTANCE, NEAR, Prepared, Projected, TILE, bin, sh_color,
};

/// Renders `scene` as `camera` sees it, with `kernel`.
pub fn render(scene: &Prepared, camera: &Camera, kernel: Kernel) -> Image {
    let projected = project(scene, camera, kernel);
    let bins = bin(&projected, camera);
    blend(&projected, &bins, camera, kernel)
}

/// Step 1 for every splat (see [`super`]). A splat not drawn has an empty tile rectangle.
pub fn project(scene: &Prepared, camera: &Camera, kernel: Kernel) -> Vec<Projected> {
    let eye = camera.position();
    let stride = scene.sh_stride();
    (0..scene.len())
        .into_par_iter()
        .map(|i| {
            project_one(
                scene.positions[i],
                &scene.covariances[i],
                scene.opacities[i],
                &scene.sh[i * stride..(i + 1) * stride],
                scene.bands,
                eye,
                camera,
                kernel,
            )
        })
        .collect()
}

/// Projects one splat.
#[allow(clippy::too_many_arguments)]
pub fn project_one(
    p: [f32; 3],
    cov: &[f32; 6],
    opacity: f32,
    sh: &[f32],
    bands: u8,
    eye: [f32; 3],
    camera: &Camera,
    kernel: Kernel,
) -> Projected {
    let none = Projected::default();
    let r = &camera.rotation;
    let t = &camera.translation;
    let v = [0, 1, 2].map(|k| r[k][0] * p[0] + r[k][1] * p[1] + r[k][2] * p[2] + t[k]);
    let z = v[2];
    // Written so that NaN fails too.
    if z.partial_cmp(&NEAR) != Some(std::cmp::Ordering::Greater)
        || opacity.is_nan()
        || opacity < MIN_ALPHA
    {
        return none;
    }
    // The Jacobian at x/z, y/z clamped to 1.3 half fields of view (off-screen splats keep a
    // bounded footprint).
    let lim_x = 1.3 * (0.5 * camera.width as f32 / camera.fx);
    let lim_y = 1.3 * (0.5 * camera.height as f32 / camera.fy);
    let tx = (v[0] / z).clamp(-lim_x, lim_x) * z;
    let ty = (v[1] / z).clamp(-lim_y, lim_y) * z;
    let j00 = camera.fx / z;
    let j02 = -camera.fx * tx / (z * z);
    let j11 = camera.fy / z;
    let j12 = -camera.fy * ty / (z * z);
    // T = J W (2×3), W the world → camera rotation.
    let t0 = [0, 1, 2].map(|c| j00 * r[0][c] + j02 * r[2][c]);
    let t1 = [0, 1, 2].map(|c| j11 * r[1][c] + j12 * r[2][c]);
    let s = [
        [cov[0], cov[1], cov[2]],
        [cov[1], cov[3], cov[4]],
        [cov[2], cov[4], cov[5]],
    ];
    let sv = |a: &[f32; 3]| [0, 1, 2].map(|k| s[k][0] * a[0] + s[k][1] * a[1] + s[k][2] * a[2]);
    let (s0, s1) = (sv(&t0), sv(&t1));
    let dot = |a: &[f32; 3], b: &[f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let low_pass = match kernel {
        Kernel::Standard => LOW_PASS,
        Kernel::PlayCanvas => ENGINE_LOW_PASS,
    };
    let a = dot(&t0, &s0) + low_pass;
    let b = dot(&t0, &s1);
    let c = dot(&t1, &s1) + low_pass;
    let det = a * c - b * b;
    if det.is_nan() || det <= 0.0 {
        return none;
    }
    let conic = [c / det, -b / det, a / det];
    let mid = 0.5 * (a + c);
    if kernel == Kernel::PlayCanvas && mid + (mid * mid - det).max(0.0).sqrt() < ENGINE_MIN_LAMBDA {
        return none;
    }
    // The bound of the reference implementation (the 0.1 floor only widens tiny splats).
    let lambda = mid + (mid * mid - det).max(0.1).sqrt();
    let radius = (3.0 * lambda.sqrt()).ceil();
    let mean = [
        camera.fx * v[0] / z + camera.cx,
        camera.fy * v[1] / z + camera.cy,
    ];
    let (tiles_x, tiles_y) = camera.tiles();
    let tile = TILE as f32;
    let x0 = ((mean[0] - radius) / tile)
        .floor()
        .clamp(0.0, tiles_x as f32) as u32;
    let x1 = ((mean[0] + radius) / tile)
        .ceil()
        .clamp(0.0, tiles_x as f32) as u32;
    let y0 = ((mean[1] - radius) / tile)
        .floor()
        .clamp(0.0, tiles_y as f32) as u32;
    let y1 = ((mean[1] + radius) / tile)
        .ceil()
        .clamp(0.0, tiles_y as f32) as u32;
    if x1 <= x0 || y1 <= y0 {
        return none;
    }
    let d = [p[0] - eye[0], p[1] - eye[1], p[2] - eye[2]];
    let len = dot(&d, &d).sqrt();
    let dir = if len > 0.0 {
        d.map(|x| x / len)
    } else {
        [0.0, 0.0, 1.0]
    };
    Projected {
        mean,
        depth: z,
        opacity,
        conic,
        rect_min: x0 | (y0 << 16),
        color: sh_color(sh, bands, dir),
        rect_max: x1 | (y1 << 16),
    }
}

/// Step 3: every tile's pixels, front to back.
pub fn blend(projected: &[Projected], bins: &Bins, camera: &Camera, kernel: Kernel) -> Image {
    let (w, h) = (camera.width as usize, camera.height as usize);
    let (tiles_x, _) = camera.tiles();
    let tiles: Vec<(Vec<[f32; 3]>, Vec<f32>)> = bins
        .ranges
        .par_iter()
        .enumerate()
        .map(|(t, range)| {
            let (tx, ty) = (t as u32 % tiles_x, t as u32 / tiles_x);
            let ids = &bins.ids[range[0] as usize..range[1] as usize];
            let mut rgb = vec![[0.0f32; 3]; (TILE * TILE) as usize];
            let mut alpha = vec![0.0f32; (TILE * TILE) as usize];
            for py in 0..TILE {
                for px in 0..TILE {
                    let pixel = [(tx * TILE + px) as f32 + 0.5, (ty * TILE + py) as f32 + 0.5];
                    let (color, a) = blend_pixel(projected, ids, pixel, kernel);
                    rgb[(py * TILE + px) as usize] = color;
                    alpha[(py * TILE + px) as usize] = a;
                }
            }
            (rgb, alpha)
        })
        .collect();
    let mut image = Image {
        width: camera.width,
        height: camera.height,
        rgb: vec![[0.0; 3]; w * h],
        alpha: vec![0.0; w * h],
    };
    for (t, (rgb, alpha)) in tiles.iter().enumerate() {
        let (tx, ty) = (t % tiles_x as usize, t / tiles_x as usize);
        for py in 0..TILE as usize {
            for px in 0..TILE as usize {
                let (x, y) = (tx * TILE as usize + px, ty * TILE as usize + py);
                if x < w && y < h {
                    image.rgb[y * w + x] = rgb[py * TILE as usize + px];
                    image.alpha[y * w + x] = alpha[py * TILE as usize + px];
                }
            }
        }
    }
    image
}

/// One pixel centre over the tile's sorted splats: (colour, 1 − transmittance).
pub fn blend_pixel(
    projected: &[Projected],
    ids: &[u32],
    pixel: [f32; 2],
    kernel: Kernel,
) -> ([f32; 3], f32) {
    let mut transmittance = 1.0f32;
    let mut color = [0.0f32; 3];
    for &id in ids {
        let s = &projected[id as usize];
        let dx = pixel[0] - s.mean[0];
        let dy = pixel[1] - s.mean[1];
        let power = -0.5 * (s.conic[0] * dx * dx + s.conic[2] * dy * dy) - s.conic[1] * dx * dy;
        if power > 0.0 {
            continue;
        }
        let alpha = match kernel {
            Kernel::Standard => (s.opacity * power.exp()).min(MAX_ALPHA),
            // Cut where ½m² > 4 (m > 2√2), rescaled to reach 0 there.
            Kernel::PlayCanvas if power < -4.0 => continue,
            Kernel::PlayCanvas => s.opacity * ((power.exp() - EXP_MINUS_4) / (1.0 - EXP_MINUS_4)),
        };
        if alpha < MIN_ALPHA {
            continue;
        }
        let next = transmittance * (1.0 - alpha);
        if next < MIN_TRANSMITTANCE {
            break;
        }
        for (c, v) in color.iter_mut().enumerate() {
            *v += s.color[c] * (alpha * transmittance);
        }
        transmittance = next;
    }
    (color, 1.0 - transmittance)
}
