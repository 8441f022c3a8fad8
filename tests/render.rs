//! The renderer behind `eval --render` (`src/render/`):
//!
//! - analytic cases, on the CPU reference and on wgpu: one isotropic Gaussian (pixel values at
//!   its centre and at 1σ from the closed form), an anisotropic one turned 90° about the view
//!   axis (the picture transposes), two opaque splats (the nearer wins whatever their order in
//!   the file), SH degree 1 (the colour follows the view direction as the formula says);
//! - wgpu against the CPU on the sample scene from orbit views (PSNR bar [`CPU_WGPU_BAR`]);
//! - the command: `eval --render --json` on a compressed sample, a file against itself,
//!   `--images` (PNG signature and sizes), a `cameras.json` beside the PLY, a bad one;
//! - agreement with the PlayCanvas engine: `tests/render_engine.rs`.
//!
//! Without a wgpu adapter the wgpu cases print `skipped:` (`REQUIRE_GPU_ADAPTER=1` fails
//! them).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use splatpress::Scene;
use splatpress::backend::wgpu::WgpuOptions;
use splatpress::eval::image::psnr;
use splatpress::render::wgpu::WgpuRenderer;
use splatpress::render::{self, Camera, Image, Kernel, Renderer, cameras};
use splatpress::scene::SH_C0;

use crate::util::{self, splatpress, temp_dir};

/// PSNR (dB) wgpu must reach against the CPU reference on the sample scene. Both compute in
/// f32 in the same order; `exp` and fused multiply-adds differ by a few ulp.
const CPU_WGPU_BAR: f64 = 50.0;

/// The wgpu renderer on any adapter (lavapipe included), or `None` after printing why.
fn gpu() -> Option<&'static WgpuRenderer> {
    static SLOT: OnceLock<Result<WgpuRenderer, String>> = OnceLock::new();
    let slot = SLOT.get_or_init(|| {
        WgpuRenderer::new(WgpuOptions {
            allow_cpu: true,
            ..WgpuOptions::default()
        })
        .map_err(|e| e.to_string())
    });
    match slot {
        Ok(r) => Some(r),
        Err(why) => {
            if std::env::var("REQUIRE_GPU_ADAPTER").as_deref() == Ok("1") {
                panic!("REQUIRE_GPU_ADAPTER=1 but no wgpu adapter: {why}");
            }
            util::skip("render wgpu", &format!("no wgpu adapter ({why})"));
            None
        }
    }
}

/// Renders `scene` from `cameras` with the reference kernel on the CPU and, when an adapter
/// exists, on wgpu.
fn both(scene: &Scene, cameras: &[Camera]) -> Vec<(&'static str, Vec<Image>)> {
    both_with(scene, cameras, Kernel::Standard)
}

/// [`both`] with `kernel`.
fn both_with(scene: &Scene, cameras: &[Camera], kernel: Kernel) -> Vec<(&'static str, Vec<Image>)> {
    let prepared = render::prepare(scene);
    let mut out = vec![(
        "cpu",
        Renderer::Cpu
            .render_all(&prepared, cameras, kernel, &mut |_| {})
            .unwrap(),
    )];
    if let Some(gpu) = gpu() {
        out.push((
            "wgpu",
            gpu.render_all(&prepared, cameras, kernel, &mut |_| {})
                .unwrap(),
        ));
    }
    out
}

/// A camera at the origin looking down +z (OpenCV axes), `size`² pixels, focal 100 px, the
/// principal point on the centre of pixel (size/2, size/2).
fn axis_camera(size: u32) -> Camera {
    Camera {
        name: "axis".into(),
        rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        translation: [0.0; 3],
        fx: 100.0,
        fy: 100.0,
        cx: size as f32 / 2.0 + 0.5,
        cy: size as f32 / 2.0 + 0.5,
        width: size,
        height: size,
    }
}

fn logit(p: f32) -> f32 {
    (p / (1.0 - p)).ln()
}

/// One splat: position, log-scales, quaternion, opacity, base colour.
type Splat = ([f32; 3], [f32; 3], [f32; 4], f32, [f32; 3]);

/// A scene of `splats`.
fn scene_of(splats: &[Splat]) -> Scene {
    let mut scene = Scene::default();
    for &(p, s, q, o, c) in splats {
        scene.positions.push(p);
        scene.log_scales.push(s);
        scene.rotations.push(q);
        scene.opacities.push(logit(o));
        scene.sh_dc.push(c.map(|v| (v - 0.5) / SH_C0));
    }
    scene
}

fn pixel(image: &Image, x: u32, y: u32) -> [f32; 3] {
    image.rgb[(y * image.width + x) as usize]
}

fn close(a: [f32; 3], b: [f32; 3], tol: f32) -> bool {
    (0..3).all(|c| (a[c] - b[c]).abs() <= tol)
}

#[test]
fn one_isotropic_gaussian_matches_the_closed_form() {
    // At depth 5 with focal 100 the Jacobian scales by 20: world σ² = 3.7/400 gives a screen
    // variance of 3.7 px², plus the 0.3 px² low-pass: σ = 2 px exactly.
    let sigma = (3.7f32).sqrt() / 20.0;
    let color = [0.9, 0.5, 0.2];
    let scene = scene_of(&[(
        [0.0, 0.0, 5.0],
        [sigma.ln(); 3],
        [1.0, 0.0, 0.0, 0.0],
        0.8,
        color,
    )]);
    for (name, images) in both(&scene, &[axis_camera(64)]) {
        let image = &images[0];
        let centre = pixel(image, 32, 32);
        let at_sigma = pixel(image, 34, 32);
        let below = pixel(image, 32, 34);
        let expect = |a: f32| color.map(|c| c * a);
        assert!(
            close(centre, expect(0.8), 1e-5),
            "{name}: centre {centre:?}, expected {:?}",
            expect(0.8)
        );
        let a1 = 0.8 * (-0.5f32).exp();
        assert!(
            close(at_sigma, expect(a1), 1e-5),
            "{name}: 1σ right {at_sigma:?}"
        );
        assert!(close(below, expect(a1), 1e-5), "{name}: 1σ down {below:?}");
        let alpha = image.alpha[(32 * 64 + 32) as usize];
        assert!((alpha - 0.8).abs() < 1e-5, "{name}: coverage {alpha}");
        // Beyond the 3σ rectangle's tiles nothing is drawn.
        assert_eq!(pixel(image, 0, 0), [0.0; 3], "{name}: corner");
    }
    // The engine's kernel: a 0.075 px² low-pass (σ² = 3.775 px²), the Gaussian less e^(−4)
    // rescaled to 1 at the centre, nothing past 2√2σ (pixel 38 is 6 px away: m² = 9.5).
    let e4 = (-4.0f32).exp();
    for (name, images) in both_with(&scene, &[axis_camera(64)], Kernel::PlayCanvas) {
        let image = &images[0];
        let a1 = 0.8 * ((-0.5f32 * 4.0 / 3.775).exp() - e4) / (1.0 - e4);
        assert!(
            close(pixel(image, 32, 32), color.map(|c| c * 0.8), 1e-5),
            "{name}: centre"
        );
        assert!(
            close(pixel(image, 34, 32), color.map(|c| c * a1), 1e-5),
            "{name}: 1σ"
        );
        assert_eq!(pixel(image, 38, 32), [0.0; 3], "{name}: 3σ");
    }
}

#[test]
fn a_gaussian_turned_90_degrees_transposes_the_picture() {
    let (h, q) = (std::f32::consts::FRAC_1_SQRT_2, [1.0, 0.0, 0.0, 0.0]);
    let long = [0.2f32.ln(), 0.05f32.ln(), 0.05f32.ln()];
    let color = [0.3, 0.7, 0.9];
    let plain = scene_of(&[([0.0, 0.0, 5.0], long, q, 0.9, color)]);
    let turned = scene_of(&[([0.0, 0.0, 5.0], long, [h, 0.0, 0.0, h], 0.9, color)]);
    let a = both(&plain, &[axis_camera(48)]);
    let b = both(&turned, &[axis_camera(48)]);
    for ((name, a), (_, b)) in a.iter().zip(&b) {
        let (a, b) = (&a[0], &b[0]);
        // Elongated along x, then along y.
        assert!(
            pixel(a, 30, 24)[1] > 10.0 * pixel(a, 24, 30)[1],
            "{name}: not elongated"
        );
        for y in 0..48 {
            for x in 0..48 {
                assert!(
                    close(pixel(a, x, y), pixel(b, y, x), 1e-5),
                    "{name}: ({x}, {y}) {:?} against the transpose {:?}",
                    pixel(a, x, y),
                    pixel(b, y, x)
                );
            }
        }
    }
}

#[test]
fn the_nearer_of_two_opaque_splats_wins() {
    let big = [0.5f32.ln(); 3];
    let q = [1.0, 0.0, 0.0, 0.0];
    let far_first = scene_of(&[
        ([0.0, 0.0, 8.0], big, q, 0.9, [0.0, 1.0, 0.0]),
        ([0.0, 0.0, 4.0], big, q, 0.9, [1.0, 0.0, 0.0]),
    ]);
    let near_first = scene_of(&[
        ([0.0, 0.0, 4.0], big, q, 0.9, [1.0, 0.0, 0.0]),
        ([0.0, 0.0, 8.0], big, q, 0.9, [0.0, 1.0, 0.0]),
    ]);
    for scene in [far_first, near_first] {
        for (name, images) in both(&scene, &[axis_camera(32)]) {
            let c = pixel(&images[0], 16, 16);
            // Red with α 0.9, then green through T = 0.1.
            assert!(close(c, [0.9, 0.09, 0.0], 1e-5), "{name}: centre {c:?}");
        }
    }
}

#[test]
fn sh_degree_one_follows_the_view_direction() {
    let k = 0.4f32;
    let mut scene = scene_of(&[(
        [0.0, 0.0, 0.0],
        [0.1f32.ln(); 3],
        [1.0, 0.0, 0.0, 0.0],
        0.5,
        [0.5, 0.5, 0.5],
    )]);
    scene.sh_bands = 1;
    // Red's coefficient of the z basis function (+C1·z), channel-major layout.
    scene.sh_rest = vec![0.0, k, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let mut front = axis_camera(32);
    front.translation = [0.0, 0.0, 5.0]; // at (0, 0, −5) looking down +z
    let mut back = front.clone();
    back.rotation = [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]]; // at (0, 0, 5), down −z
    let c1 = 0.488_602_52f32;
    for (name, images) in both(&scene, &[front, back]) {
        for (image, z) in images.iter().zip([1.0f32, -1.0]) {
            let red = (0.5 + c1 * z * k) * 0.5;
            let c = pixel(image, 16, 16);
            assert!(
                close(c, [red, 0.25, 0.25], 1e-5),
                "{name}: seen along z = {z}: {c:?}, expected red {red}"
            );
        }
    }
}

#[test]
fn wgpu_matches_the_cpu_on_the_sample() {
    let Some(gpu) = gpu() else { return };
    let scene = splatpress::sample::scene(20_000, 3, 1);
    let views = cameras::orbit(&scene, 4, 256);
    let prepared = render::prepare(&scene);
    for kernel in [Kernel::Standard, Kernel::PlayCanvas] {
        let cpu = Renderer::Cpu
            .render_all(&prepared, &views, kernel, &mut |_| {})
            .unwrap();
        let gpu = gpu
            .render_all(&prepared, &views, kernel, &mut |_| {})
            .unwrap();
        for (k, (a, b)) in cpu.iter().zip(&gpu).enumerate() {
            let db = psnr(&a.rgb, &b.rgb);
            let worst = a
                .rgb
                .iter()
                .zip(&b.rgb)
                .flat_map(|(p, q)| (0..3).map(move |c| (p[c] - q[c]).abs()))
                .fold(0.0f32, f32::max);
            eprintln!(
                "{kernel:?} view {k}: wgpu against cpu {db:.2} dB, largest difference {worst:e}"
            );
            assert!(
                db > CPU_WGPU_BAR,
                "{kernel:?} view {k}: {db:.2} dB < {CPU_WGPU_BAR}"
            );
            let covered = a.alpha.iter().filter(|&&v| v > 0.5).count();
            assert!(covered > 1000, "view {k}: only {covered} pixels covered");
        }
    }
}

/// `splatpress sample` + `compress` in `dir`: (the PLY, the SOG).
fn compressed_sample(dir: &Path) -> (PathBuf, PathBuf) {
    splatpress(dir, ["sample", "s.ply", "--count", "4000", "--bands", "1"]).success();
    splatpress(dir, ["compress", "s.ply", "s.sog", "-q"]).success();
    (dir.join("s.ply"), dir.join("s.sog"))
}

fn json_of(ran: &util::Ran) -> Value {
    serde_json::from_str(&ran.stdout()).unwrap_or_else(|e| panic!("{e}\n{}", ran.report()))
}

#[test]
fn eval_render_reports_every_view() {
    let dir = temp_dir("eval-render");
    compressed_sample(dir.path());
    let args = [
        "eval", "--render", "s.ply", "s.sog", "--json", "--views", "3",
    ];
    let ran = splatpress(
        dir.path(),
        args.iter()
            .chain(&["--size", "96", "--render-backend", "cpu"]),
    )
    .success();
    let report = json_of(&ran);
    assert_eq!(report["renderer"], "cpu");
    assert_eq!(report["cameras"], "orbit");
    let views = report["views"].as_array().unwrap();
    assert_eq!(views.len(), 3);
    for v in views {
        let (db, ssim) = (v["psnr_db"].as_f64().unwrap(), v["ssim"].as_f64().unwrap());
        assert!((25.0..100.0).contains(&db), "PSNR {db}: {v}");
        assert!(ssim > 0.8 && ssim < 1.0, "SSIM {ssim}: {v}");
        assert!(v["masked_psnr_db"].as_f64().unwrap() <= db, "{v}");
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(96), Some(96))
        );
    }
    assert!(report["mean"]["psnr_db"].as_f64().unwrap() > 25.0);

    // The text table names every view and the mean.
    let text = splatpress(
        dir.path(),
        [
            "eval",
            "--render",
            "s.ply",
            "s.sog",
            "--views",
            "3",
            "--size",
            "64",
            "--render-backend",
            "cpu",
        ],
    )
    .success()
    .stdout();
    assert!(text.contains("orbit 2") && text.contains("mean"), "{text}");
}

#[test]
fn eval_render_of_a_file_against_itself_is_perfect() {
    let dir = temp_dir("eval-render-self");
    compressed_sample(dir.path());
    let ran = splatpress(
        dir.path(),
        [
            "eval",
            "--render",
            "s.ply",
            "s.ply",
            "--json",
            "--views",
            "2",
            "--size",
            "64",
            "--render-backend",
            "cpu",
        ],
    )
    .success();
    let report = json_of(&ran);
    for v in report["views"].as_array().unwrap() {
        assert_eq!(v["psnr_db"].as_f64(), Some(100.0), "{v}");
        assert!((v["ssim"].as_f64().unwrap() - 1.0).abs() < 1e-12, "{v}");
    }
}

#[test]
fn eval_render_reads_one_level_of_a_streamed_sog() {
    let dir = temp_dir("eval-render-lod");
    splatpress(
        dir.path(),
        ["sample", "s.ply", "--count", "4000", "--bands", "1"],
    )
    .success();
    splatpress(
        dir.path(),
        [
            "compress",
            "s.ply",
            "out/lod-meta.json",
            "--lod-levels",
            "2",
            "-q",
        ],
    )
    .success();
    let run = |lod: &str| {
        let ran = splatpress(
            dir.path(),
            [
                "eval",
                "--render",
                "s.ply",
                "out/lod-meta.json",
                "--lod",
                lod,
                "--json",
                "--views",
                "2",
                "--size",
                "64",
                "--render-backend",
                "cpu",
            ],
        )
        .success();
        json_of(&ran)
    };
    let (full, half) = (run("0"), run("1"));
    assert_eq!(full["splats"][1].as_u64(), Some(4000), "{full}");
    let coarse = half["splats"][1].as_u64().unwrap();
    assert!((1000..4000).contains(&coarse), "{half}");
    let db = |r: &Value| r["mean"]["psnr_db"].as_f64().unwrap();
    assert!(
        db(&full) > db(&half),
        "level 1 ({}) must lose more than level 0 ({})",
        db(&half),
        db(&full)
    );
}

#[test]
fn eval_render_writes_pictures() {
    let dir = temp_dir("eval-render-images");
    compressed_sample(dir.path());
    let ran = splatpress(
        dir.path(),
        [
            "eval",
            "--render",
            "s.ply",
            "s.sog",
            "--views",
            "2",
            "--size",
            "80",
            "--render-backend",
            "cpu",
            "--images",
            "pics",
        ],
    )
    .success();
    for (file, size) in [
        ("view_00.png", (3 * 80 + 8, 80)),
        ("view_01.png", (248, 80)),
        ("contact_sheet.png", (248, 2 * 84)),
    ] {
        let png = crate::render_engine::decode_png(&dir.path().join("pics").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}\n{}", ran.report()));
        assert_eq!((png.width, png.height), size, "{file}");
    }
}

#[test]
fn eval_render_uses_cameras_json_and_names_a_bad_field() {
    let dir = temp_dir("eval-render-cameras");
    compressed_sample(dir.path());
    // The sample sits around the origin, about 4 units across: a camera 12 units back on z.
    let good = r#"[{"id": 0, "img_name": "front", "width": 120, "height": 80,
        "position": [0, 0, -12], "rotation": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "fx": 90, "fy": 90}]"#;
    std::fs::write(dir.path().join("cameras.json"), good).unwrap();
    let ran = splatpress(
        dir.path(),
        [
            "eval",
            "--render",
            "s.ply",
            "s.sog",
            "--json",
            "--render-backend",
            "cpu",
        ],
    )
    .success();
    let report = json_of(&ran);
    assert!(
        report["cameras"]
            .as_str()
            .unwrap()
            .ends_with("cameras.json"),
        "{report}"
    );
    let view = &report["views"][0];
    assert_eq!(view["name"], "front");
    assert_eq!(
        (view["width"].as_u64(), view["height"].as_u64()),
        (Some(120), Some(80))
    );
    assert!(view["foreground"].as_f64().unwrap() > 0.05, "{view}");

    let bad = good.replace(", [0, 0, 1]]", "]");
    std::fs::write(dir.path().join("bad.json"), bad).unwrap();
    let ran = splatpress(
        dir.path(),
        [
            "eval",
            "--render",
            "s.ply",
            "s.sog",
            "--cameras",
            "bad.json",
            "--render-backend",
            "cpu",
        ],
    );
    assert!(!ran.output.status.success(), "{}", ran.report());
    let err = ran.stderr();
    assert!(
        err.contains("bad.json") && err.contains("`rotation`") && err.contains("camera 0"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
