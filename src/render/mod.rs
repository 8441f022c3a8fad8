//! A 3D Gaussian Splatting rasteriser, for judging compression by what a person sees
//! (`eval --render`). Two implementations of one method:
//!
//! - [`cpu`]: the reference. It defines the maths, in f32, per 16×16 tile with rayon.
//! - `wgpu` (feature `wgpu`): the same steps in WGSL (`wgsl/render_project.wgsl`, the
//!   binning kernels `wgsl/render_{tile_count,emit,ranges}.wgsl` with the compute backend's
//!   scan and radix sort, `wgsl/render_blend.wgsl`; their shared structs in
//!   `wgsl/render_common.wgsl`) on any adapter, lavapipe included; held to the CPU by
//!   `tests/render/`.
//!
//! The method (Kerbl et al. 2023, with the EWA splatting of Zwicker et al. 2002):
//!
//! 1. **Project** ([`cpu::project`]): Σ = R S Sᵀ Rᵀ (scale = exp(log-scale), quaternion
//!    (w, x, y, z) normalised), the 2-D covariance J W Σ Wᵀ Jᵀ with the perspective Jacobian
//!    (x/z, y/z clamped to 1.3× the half field of view, as the reference does), plus 0.3 px² on
//!    the diagonal (the low-pass filter); its inverse (the conic); a radius of ⌈3σ⌉ of the
//!    larger eigenvalue; colour = SH (degree ≤ 3, standard constants, direction from the camera
//!    centre to the splat) + 0.5, clamped at 0; opacity = sigmoid(logit). Splats nearer than
//!    [`NEAR`] are dropped.
//! 2. **Bin and sort**: one key per (tile touched, splat), tile in the high 32 bits and the
//!    depth's f32 bits (positive, so ordered) in the low 32; sorted, equal keys by splat id;
//!    each tile's range found. On the host for the CPU reference ([`bin`]); in WGSL for
//!    wgpu (`wgpu::bin`: tile counts, the backend's scan, key emission, the backend's stable
//!    8-bit LSD radix sort, ranges), held to [`bin`] exactly by `tests/render/gpu_bins.rs`.
//! 3. **Blend** ([`cpu::blend`]): per pixel centre (x + ½, y + ½), front to back:
//!    α = min(0.99, o·exp(−½ dᵀ Σ⁻¹ d)), skipped below 1/255; stop before a splat that would
//!    take the transmittance T below 10⁻⁴; colour Σ cᵢ αᵢ Tᵢ over a black background, alpha
//!    1 − T.
//!
//! [`Kernel::PlayCanvas`] draws as the PlayCanvas engine does (engine 2.23, shader chunks
//! `gsplatCorner` and `gsplat`), because the differences matter on real scenes (fox: 24.7 dB
//! against the engine's picture with the reference kernel). The engine's screen covariance is
//! in half-pixel units (its focal length is `viewport · projection[0][0]`, twice the pixel
//! focal length), so its 0.3 low-pass is [`ENGINE_LOW_PASS`] = 0.075 px², and its
//! `minPixelSize` of 2 culls splats whose larger eigenvalue is under [`ENGINE_MIN_LAMBDA`] =
//! 0.125 px²; the Gaussian is cut at a Mahalanobis distance of 2√2 and rescaled to reach 0
//! there, α = o·(e^(−½m²) − e^(−4)) / (1 − e^(−4)), without the 0.99 cap. What remains
//! different (the engine blends back to front into an 8-bit framebuffer) is measured by
//! `tests/render_engine.rs` against the engine's own pictures.
//!
//! Cameras ([`Camera`]) follow the INRIA/OpenCV convention: x right, y down, z forward.

pub mod cameras;
pub mod cpu;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use crate::Scene;
use crate::scene::{SH_C0, sh_coeffs};

/// The splat footprint: the reference 3DGS Gaussian, or the PlayCanvas engine's variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    /// Kerbl et al.: α = min(0.99, o·e^(−½m²)) within the 3σ rectangle, every splat drawn.
    Standard,
    /// As the PlayCanvas engine draws (see the module docs): what SOG viewers show.
    #[default]
    PlayCanvas,
}

impl Kernel {
    /// The value the WGSL kernels read (`kernel` in their uniforms).
    pub fn code(self) -> u32 {
        match self {
            Kernel::Standard => 0,
            Kernel::PlayCanvas => 1,
        }
    }
}

/// The PlayCanvas engine's low-pass filter in pixels² (0.3 in its half-pixel units).
pub const ENGINE_LOW_PASS: f32 = 0.075;
/// The PlayCanvas engine culls splats whose larger screen eigenvalue (low-pass included) is
/// under this, in pixels² (its `minPixelSize` of 2 on 2·√(2λ) in half-pixel units).
pub const ENGINE_MIN_LAMBDA: f32 = 0.125;
/// e^(−4): the engine's Gaussian at its cut-off (Mahalanobis distance 2√2).
pub const EXP_MINUS_4: f32 = 0.018_315_64;

/// Tile side in pixels.
pub const TILE: u32 = 16;
/// Splats nearer to the camera plane than this (world units) are not drawn.
pub const NEAR: f32 = 0.01;
/// Added to the 2-D covariance's diagonal (px²): the low-pass filter of 3DGS.
pub const LOW_PASS: f32 = 0.3;
/// Largest α one splat may contribute.
pub const MAX_ALPHA: f32 = 0.99;
/// Smallest α that is blended.
pub const MIN_ALPHA: f32 = 1.0 / 255.0;
/// Blending stops before the transmittance would fall below this.
pub const MIN_TRANSMITTANCE: f32 = 1e-4;

/// A pinhole camera: world → camera `rotation` (rows: the camera's right, down and forward
/// axes in world coordinates) and `translation` (p_cam = R p + t), focal lengths and principal
/// point in pixels, and the image size.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Camera {
    /// Name shown in reports (the image name of a `cameras.json` entry, or `orbit k`).
    pub name: String,
    /// World → camera rotation, row-major.
    pub rotation: [[f32; 3]; 3],
    /// World → camera translation.
    pub translation: [f32; 3],
    /// Focal lengths in pixels.
    pub fx: f32,
    /// Focal length along y in pixels.
    pub fy: f32,
    /// Principal point in pixels (the image centre is (width/2, height/2)).
    pub cx: f32,
    /// Principal point, y.
    pub cy: f32,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

impl Camera {
    /// The camera centre in world coordinates: −Rᵀ t.
    pub fn position(&self) -> [f32; 3] {
        let (r, t) = (&self.rotation, &self.translation);
        [0, 1, 2].map(|j| -(r[0][j] * t[0] + r[1][j] * t[1] + r[2][j] * t[2]))
    }

    /// Tiles across and down.
    pub fn tiles(&self) -> (u32, u32) {
        (self.width.div_ceil(TILE), self.height.div_ceil(TILE))
    }
}

/// A rendered picture: colour per pixel (row-major from the top left, not clamped: the sum of
/// SH colours may exceed 1) and the coverage alpha = 1 − transmittance.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGB per pixel.
    pub rgb: Vec<[f32; 3]>,
    /// Coverage per pixel, in [0, 1].
    pub alpha: Vec<f32>,
}

/// A scene in the form the renderers read, computed once for all views: world-space centre,
/// 3-D covariance (xx, xy, xz, yy, yz, zz), opacity after the sigmoid, and SH coefficients per
/// splat, coefficient-major (coefficient 0 = DC, then the rest; R, G, B each).
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Centres.
    pub positions: Vec<[f32; 3]>,
    /// Upper triangle of Σ.
    pub covariances: Vec<[f32; 6]>,
    /// Opacities in [0, 1].
    pub opacities: Vec<f32>,
    /// SH bands evaluated (0..=3).
    pub bands: u8,
    /// `(1 + sh_coeffs(bands)) * 3` values per splat.
    pub sh: Vec<f32>,
}

impl Prepared {
    /// Splats.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// True when there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// SH values per splat.
    pub fn sh_stride(&self) -> usize {
        (1 + sh_coeffs(self.bands)) * 3
    }
}

/// Covariance, opacity and SH layout of every splat of `scene`. Splats with a non-finite
/// value anywhere are given zero opacity (never drawn); a zero quaternion is the identity.
pub fn prepare(scene: &Scene) -> Prepared {
    let rest = sh_coeffs(scene.sh_bands);
    let stride = (1 + rest) * 3;
    let n = scene.len();
    let mut out = Prepared {
        positions: scene.positions.clone(),
        covariances: Vec::with_capacity(n),
        opacities: Vec::with_capacity(n),
        bands: scene.sh_bands,
        sh: vec![0.0; n * stride],
    };
    for i in 0..n {
        let q = scene.rotations[i];
        let norm = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
        let [w, x, y, z] = if norm > 0.0 && norm.is_finite() {
            q.map(|v| v / norm)
        } else {
            [1.0, 0.0, 0.0, 0.0]
        };
        let rot = [
            [
                1.0 - 2.0 * (y * y + z * z),
                2.0 * (x * y - w * z),
                2.0 * (x * z + w * y),
            ],
            [
                2.0 * (x * y + w * z),
                1.0 - 2.0 * (x * x + z * z),
                2.0 * (y * z - w * x),
            ],
            [
                2.0 * (x * z - w * y),
                2.0 * (y * z + w * x),
                1.0 - 2.0 * (x * x + y * y),
            ],
        ];
        let s = scene.log_scales[i].map(f32::exp);
        // M = R S; Σ = M Mᵀ.
        let m = [0, 1, 2].map(|r| [0, 1, 2].map(|c| rot[r][c] * s[c]));
        let dot = |a: usize, b: usize| m[a][0] * m[b][0] + m[a][1] * m[b][1] + m[a][2] * m[b][2];
        let cov = [
            dot(0, 0),
            dot(0, 1),
            dot(0, 2),
            dot(1, 1),
            dot(1, 2),
            dot(2, 2),
        ];
        let opacity = 1.0 / (1.0 + (-scene.opacities[i]).exp());
        let row = &mut out.sh[i * stride..(i + 1) * stride];
        row[..3].copy_from_slice(&scene.sh_dc[i]);
        for c in 0..3 {
            for j in 0..rest {
                row[(1 + j) * 3 + c] = scene.sh_rest[i * rest * 3 + c * rest + j];
            }
        }
        let finite = cov.iter().all(|v| v.is_finite())
            && scene.positions[i].iter().all(|v| v.is_finite())
            && row.iter().all(|v| v.is_finite())
            && opacity.is_finite();
        out.covariances.push(if finite {
            cov
        } else {
            [1.0, 0.0, 0.0, 1.0, 0.0, 1.0]
        });
        out.opacities.push(if finite { opacity } else { 0.0 });
        if !finite {
            row.fill(0.0);
            out.positions[i] = [0.0; 3];
        }
    }
    out
}

/// SH constants of degrees 1–3 (the real spherical harmonics as 3DGS evaluates them).
const SH_C1: f32 = 0.488_602_52;
const SH_C2: [f32; 5] = [
    1.092_548_4,
    -1.092_548_4,
    0.315_391_57,
    -1.092_548_4,
    0.546_274_24,
];
const SH_C3: [f32; 7] = [
    -0.590_043_6,
    2.890_611_4,
    -0.457_045_8,
    0.373_176_34,
    -0.457_045_8,
    1.445_305_7,
    -0.590_043_6,
];

/// The SH colour of one splat seen along unit `dir` (camera → splat), + 0.5, clamped at 0.
/// `sh` holds the splat's coefficients, coefficient-major.
pub fn sh_color(sh: &[f32], bands: u8, dir: [f32; 3]) -> [f32; 3] {
    let [x, y, z] = dir;
    let mut basis = [0.0f32; 16];
    basis[0] = SH_C0;
    if bands >= 1 {
        basis[1] = -SH_C1 * y;
        basis[2] = SH_C1 * z;
        basis[3] = -SH_C1 * x;
    }
    if bands >= 2 {
        let (xx, yy, zz) = (x * x, y * y, z * z);
        basis[4] = SH_C2[0] * x * y;
        basis[5] = SH_C2[1] * y * z;
        basis[6] = SH_C2[2] * (2.0 * zz - xx - yy);
        basis[7] = SH_C2[3] * x * z;
        basis[8] = SH_C2[4] * (xx - yy);
    }
    if bands >= 3 {
        let (xx, yy, zz) = (x * x, y * y, z * z);
        basis[9] = SH_C3[0] * y * (3.0 * xx - yy);
        basis[10] = SH_C3[1] * x * y * z;
        basis[11] = SH_C3[2] * y * (4.0 * zz - xx - yy);
        basis[12] = SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy);
        basis[13] = SH_C3[4] * x * (4.0 * zz - xx - yy);
        basis[14] = SH_C3[5] * z * (xx - yy);
        basis[15] = SH_C3[6] * x * (xx - 3.0 * yy);
    }
    let coeffs = 1 + sh_coeffs(bands);
    let mut rgb = [0.5f32; 3];
    for (k, b) in basis.iter().enumerate().take(coeffs) {
        for (c, v) in rgb.iter_mut().enumerate() {
            *v += b * sh[k * 3 + c];
        }
    }
    rgb.map(|v| v.max(0.0))
}

/// One splat as the camera sees it. The layout is shared with `wgsl/render_project.wgsl`
/// (48 bytes): centre in pixels, conic (Σ₂⁻¹: a, b, c), depth, colour, opacity, and the
/// tile rectangle `[x0, y0) .. [x1, y1)` packed as two u32 pairs of u16 (x | y << 16).
/// `rect_min == rect_max` means not drawn.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Projected {
    /// Centre in pixels.
    pub mean: [f32; 2],
    /// Depth along the camera's forward axis.
    pub depth: f32,
    /// Opacity.
    pub opacity: f32,
    /// Inverse 2-D covariance: (a, b, c) of [[a, b], [b, c]].
    pub conic: [f32; 3],
    /// First tile column and row, x | y << 16.
    pub rect_min: u32,
    /// Colour.
    pub color: [f32; 3],
    /// One past the last tile column and row, x | y << 16.
    pub rect_max: u32,
}

const _: () = assert!(std::mem::size_of::<Projected>() == 48);

/// Splats in front-to-back order for each tile: `ids` lists splat indices tile by tile,
/// `ranges[t]` is tile t's `[start, end)` in `ids`.
#[derive(Debug, Clone, Default)]
pub struct Bins {
    /// Splat indices, tile-major, nearest first within a tile.
    pub ids: Vec<u32>,
    /// Per tile (row-major), `[start, end)` in `ids`.
    pub ranges: Vec<[u32; 2]>,
}

/// Bins projected splats by tile and sorts each tile by depth (step 2 of the method), on the
/// host: the CPU renderer's, and the reference for the WGSL binning of the wgpu renderer.
pub fn bin(projected: &[Projected], camera: &Camera) -> Bins {
    use rayon::prelude::*;
    let (tiles_x, tiles_y) = camera.tiles();
    let tiles = (tiles_x * tiles_y) as usize;
    let rect = |p: &Projected| {
        (
            p.rect_min & 0xffff,
            p.rect_min >> 16,
            p.rect_max & 0xffff,
            p.rect_max >> 16,
        )
    };
    let counts: Vec<usize> = projected
        .par_iter()
        .map(|p| {
            let (x0, y0, x1, y1) = rect(p);
            (x1.saturating_sub(x0) * y1.saturating_sub(y0)) as usize
        })
        .collect();
    let mut offsets = Vec::with_capacity(counts.len() + 1);
    let mut total = 0usize;
    offsets.push(0);
    for c in &counts {
        total += c;
        offsets.push(total);
    }
    let mut keys = vec![(0u64, 0u32); total];
    let mut rest: &mut [(u64, u32)] = &mut keys;
    let mut slices = Vec::with_capacity(projected.len());
    for c in &counts {
        let (head, tail) = rest.split_at_mut(*c);
        slices.push(head);
        rest = tail;
    }
    slices
        .into_par_iter()
        .zip(projected.par_iter())
        .enumerate()
        .for_each(|(i, (out, p))| {
            let (x0, y0, x1, y1) = rect(p);
            let depth = p.depth.to_bits() as u64;
            let mut k = 0;
            for ty in y0..y1 {
                for tx in x0..x1 {
                    let tile = (ty * tiles_x + tx) as u64;
                    out[k] = ((tile << 32) | depth, i as u32);
                    k += 1;
                }
            }
        });
    keys.par_sort_unstable();
    let mut ranges = vec![[0u32; 2]; tiles];
    let mut start = 0usize;
    while start < keys.len() {
        let tile = (keys[start].0 >> 32) as usize;
        let mut end = start + 1;
        while end < keys.len() && (keys[end].0 >> 32) as usize == tile {
            end += 1;
        }
        ranges[tile] = [start as u32, end as u32];
        start = end;
    }
    Bins {
        ids: keys.into_iter().map(|(_, i)| i).collect(),
        ranges,
    }
}

/// Which renderer draws the pictures.
pub enum Renderer {
    /// The CPU reference.
    Cpu,
    /// WGSL on a wgpu adapter.
    #[cfg(feature = "wgpu")]
    Wgpu(Box<wgpu::WgpuRenderer>),
}

impl Renderer {
    /// A short name for reports: `cpu`, or `wgpu (<adapter>, <api>)`.
    pub fn name(&self) -> String {
        match self {
            Renderer::Cpu => "cpu".to_string(),
            #[cfg(feature = "wgpu")]
            Renderer::Wgpu(r) => r.name(),
        }
    }

    /// Renders `scene` (from [`prepare`]) from each of `cameras` with `kernel`, in order;
    /// `done(k)` is called after view k. The scene is uploaded once for all views.
    pub fn render_all(
        &self,
        scene: &Prepared,
        cameras: &[Camera],
        kernel: Kernel,
        done: &mut dyn FnMut(usize),
    ) -> crate::Result<Vec<Image>> {
        match self {
            Renderer::Cpu => Ok(cameras
                .iter()
                .enumerate()
                .map(|(k, camera)| {
                    let image = cpu::render(scene, camera, kernel);
                    done(k);
                    image
                })
                .collect()),
            #[cfg(feature = "wgpu")]
            Renderer::Wgpu(r) => r.render_all(scene, cameras, kernel, done),
        }
    }
}
