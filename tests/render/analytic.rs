//! Analytic cases on the CPU reference and on wgpu: closed-form pixel values, a turned
//! Gaussian, occlusion, SH degree 1.

use splatpress::render::Kernel;

use super::{IDENTITY, axis_camera, both, both_with, close, pixel, scene_of};

#[test]
fn one_isotropic_gaussian_matches_the_closed_form() {
    // At depth 5 with focal 100 the Jacobian scales by 20: world σ² = 3.7/400 gives a screen
    // variance of 3.7 px², plus the 0.3 px² low-pass: σ = 2 px exactly.
    let sigma = (3.7f32).sqrt() / 20.0;
    let color = [0.9, 0.5, 0.2];
    let scene = scene_of(&[([0.0, 0.0, 5.0], [sigma.ln(); 3], IDENTITY, 0.8, color)]);
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
    let h = std::f32::consts::FRAC_1_SQRT_2;
    let long = [0.2f32.ln(), 0.05f32.ln(), 0.05f32.ln()];
    let color = [0.3, 0.7, 0.9];
    let plain = scene_of(&[([0.0, 0.0, 5.0], long, IDENTITY, 0.9, color)]);
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
    let far = ([0.0, 0.0, 8.0], big, IDENTITY, 0.9, [0.0, 1.0, 0.0]);
    let near = ([0.0, 0.0, 4.0], big, IDENTITY, 0.9, [1.0, 0.0, 0.0]);
    for scene in [scene_of(&[far, near]), scene_of(&[near, far])] {
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
        IDENTITY,
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
