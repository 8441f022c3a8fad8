//! Step 2 on the device (`src/render/wgpu/bin.rs`: tile counts, scan, keys, radix sort,
//! ranges) against the host's `render::bin`, exactly: the sample scene's projections and
//! crafted cases (ties, large and empty rectangles, an empty scene, a scan over a million
//! splats, many sort blocks); and the batched projection against the single-batch one.

use splatpress::Scene;
use splatpress::backend::wgpu::WgpuOptions;
use splatpress::render::wgpu::WgpuRenderer;
use splatpress::render::{self, Bins, Camera, Kernel, Projected, cameras, cpu};

use super::{axis_camera, gpu};
use crate::util;

/// GPU bins of `projected` equal the host's, ids and ranges.
fn check(what: &str, projected: &[Projected], camera: &Camera) -> Bins {
    let gpu = gpu().expect("checked by the caller");
    let host = render::bin(projected, camera);
    let device = gpu
        .bin_projected(projected, camera)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(device.ranges.len(), host.ranges.len(), "{what}: tiles");
    if let Some(t) = (0..host.ranges.len()).find(|&t| device.ranges[t] != host.ranges[t]) {
        panic!(
            "{what}: tile {t}: range {:?} on the device, {:?} on the host",
            device.ranges[t], host.ranges[t]
        );
    }
    assert_eq!(device.ids.len(), host.ids.len(), "{what}: keys");
    if let Some(k) = (0..host.ids.len()).find(|&k| device.ids[k] != host.ids[k]) {
        panic!(
            "{what}: key {k} of {}: id {} on the device, {} on the host",
            host.ids.len(),
            device.ids[k],
            host.ids[k]
        );
    }
    host
}

/// A splat covering tiles `[x0, x1) × [y0, y1)` at `depth` (nothing else matters to binning).
fn splat(x0: u32, y0: u32, x1: u32, y1: u32, depth: f32) -> Projected {
    Projected {
        depth,
        opacity: 0.5,
        rect_min: x0 | (y0 << 16),
        rect_max: x1 | (y1 << 16),
        ..Projected::default()
    }
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
}

#[test]
fn gpu_bins_equal_the_host_on_the_sample() {
    if gpu().is_none() {
        return;
    }
    let scene = splatpress::sample::scene(20_000, 3, 1);
    let prepared = render::prepare(&scene);
    for size in [256, 512] {
        for (k, camera) in cameras::orbit(&scene, 3, size).iter().enumerate() {
            for kernel in [Kernel::Standard, Kernel::PlayCanvas] {
                let projected = cpu::project(&prepared, camera, kernel);
                let bins = check(
                    &format!("{size} px view {k} {kernel:?}"),
                    &projected,
                    camera,
                );
                assert!(bins.ids.len() > 20_000, "{} keys", bins.ids.len());
            }
        }
    }
}

#[test]
fn gpu_bins_equal_the_host_on_crafted_cases() {
    if gpu().is_none() {
        return;
    }
    // 1024² pixels: 64×64 tiles (12 tile bits, 3 tile digits).
    let camera = axis_camera(1024);

    // Nothing at all: no keys, every range empty.
    let bins = check("empty scene", &[], &camera);
    assert!(bins.ids.is_empty() && bins.ranges.iter().all(|r| *r == [0, 0]));

    // Splats touching no tile: empty, inverted and flat rectangles.
    let none = [
        splat(0, 0, 0, 0, 1.0),
        splat(5, 5, 3, 9, 1.0),
        splat(5, 9, 9, 3, 1.0),
        splat(7, 7, 7, 9, 1.0),
        splat(7, 7, 9, 7, 1.0),
    ];
    let bins = check("zero tiles", &none, &camera);
    assert!(bins.ids.is_empty());

    // Equal depths in one tile, more than a sort block of them: the lower id first.
    let mut ties: Vec<Projected> = (0..3000).map(|_| splat(3, 4, 4, 5, 2.5)).collect();
    ties.extend((0..500).map(|i| splat(3, 4, 4, 5, if i % 2 == 0 { 1.5 } else { 2.5 })));
    let bins = check("ties", &ties, &camera);
    let range = bins.ranges[4 * 64 + 3];
    assert_eq!(range, [0, 3500]);
    assert!(bins.ids[..250].windows(2).all(|w| w[0] < w[1]));

    // Splats covering many tiles (the whole view, a band) among small ones, with zero-tile
    // splats between them.
    let mut rng = Rng(7);
    let mut many = vec![splat(0, 0, 64, 64, 3.0), splat(0, 10, 64, 20, 0.5)];
    for i in 0..5000 {
        let (x0, y0) = (rng.below(64), rng.below(64));
        let (w, h) = (1 + rng.below(4), 1 + rng.below(4));
        let depth = 0.1 + rng.below(50) as f32 * 0.25;
        many.push(if i % 7 == 0 {
            splat(x0, y0, x0, y0, depth)
        } else {
            splat(x0, y0, (x0 + w).min(64), (y0 + h).min(64), depth)
        });
    }
    many.push(splat(0, 0, 64, 64, 3.0));
    let bins = check("many tiles", &many, &camera);
    assert!(bins.ids.len() > 3 * 4096);

    // More keys than one workgroup sorts, depths over the whole positive finite range (every
    // digit varies) with repeats.
    let mut rng = Rng(11);
    let depths: Vec<f32> = (0..300)
        .map(|_| f32::from_bits(1 + rng.below(0x7f7f_ffff)))
        .collect();
    let spread: Vec<Projected> = (0..40_000)
        .map(|_| {
            let (x0, y0) = (rng.below(64), rng.below(64));
            let (x1, y1) = (
                (x0 + 1 + rng.below(3)).min(64),
                (y0 + 1 + rng.below(3)).min(64),
            );
            splat(x0, y0, x1, y1, depths[rng.below(300) as usize])
        })
        .collect();
    let bins = check("many sort blocks", &spread, &camera);
    assert!(bins.ids.len() > 100 * 1024, "{} keys", bins.ids.len());

    // Over a million splats to scan (more than 1024 tiles of 1024 values), most touching no
    // tile.
    let n = 1024 * 1024 + 70_000;
    let sparse: Vec<Projected> = (0..n)
        .map(|i| {
            if i % 997 == 0 {
                let t = (i / 997) as u32 % 60;
                splat(t, t, t + 1 + (i % 3) as u32, t + 2, (i % 13) as f32 + 0.5)
            } else {
                splat(0, 0, 0, 0, 1.0)
            }
        })
        .collect();
    let bins = check("a million splats", &sparse, &camera);
    assert!(bins.ids.len() > 2000);

    // One tile in the whole view (tile index has no bits to sort).
    let one = axis_camera(16);
    let single: Vec<Projected> = (0..2000)
        .map(|i| splat(0, 0, 1, 1, (i % 5) as f32))
        .collect();
    check("one tile", &single, &one);
}

/// An empty scene renders to an empty picture on the device.
#[test]
fn gpu_renders_an_empty_scene() {
    let Some(gpu) = gpu() else { return };
    let prepared = render::prepare(&Scene::default());
    let images = gpu
        .render_all(&prepared, &[axis_camera(40)], Kernel::Standard, &mut |_| {})
        .unwrap();
    assert!(images[0].rgb.iter().all(|p| *p == [0.0; 3]));
    assert!(images[0].alpha.iter().all(|a| *a == 0.0));
}

/// A scene whose columns do not fit one binding is projected in batches: with bindings
/// limited to 256 KiB (1365 splats of three SH bands, 192 bytes each, per batch: four
/// batches) the pictures are the same, bit for bit.
#[test]
fn batched_projection_renders_the_same() {
    let Some(gpu) = gpu() else { return };
    let mut small = match WgpuRenderer::new(WgpuOptions {
        allow_cpu: true,
        ..WgpuOptions::default()
    }) {
        Ok(r) => r,
        Err(e) => {
            util::skip("render wgpu batches", &e.to_string());
            return;
        }
    };
    small.limit_binding(256 << 10);
    let scene = splatpress::sample::scene(5_000, 3, 2);
    let prepared = render::prepare(&scene);
    let views = cameras::orbit(&scene, 2, 128);
    let whole = gpu
        .render_all(&prepared, &views, Kernel::PlayCanvas, &mut |_| {})
        .unwrap();
    let batched = small
        .render_all(&prepared, &views, Kernel::PlayCanvas, &mut |_| {})
        .unwrap();
    assert_eq!(whole, batched);
    assert!(whole[0].alpha.iter().filter(|a| **a > 0.5).count() > 500);

    // 5000 projected splats need 234 KiB in one binding: more than 128 KiB is a clear error.
    small.limit_binding(128 << 10);
    let err = small
        .render_all(&prepared, &views, Kernel::PlayCanvas, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("in one binding"), "{err}");
}
