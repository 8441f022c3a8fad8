use super::*;
use crate::backend::cpu::Cpu;
use crate::sample;

/// The scene's scale and colour codebooks, as the pipeline builds them.
fn books(scene: &Scene) -> (Vec<f32>, Vec<f32>) {
    (
        codebook::build(bytemuck::cast_slice(&scene.log_scales)),
        codebook::build(bytemuck::cast_slice(&scene.sh_dc)),
    )
}

/// PLAS order of `scene` on the CPU.
fn sorted(scene: &Scene, w: u32, h: u32, options: &PlasOptions, seed: u64) -> Vec<u32> {
    let (scales, colour) = books(scene);
    let books = Codebooks {
        scales: &scales,
        colour: &colour,
    };
    order(&Cpu, &(), scene, &books, w, h, options, seed).unwrap()
}

fn is_permutation(order: &[u32], n: usize) -> bool {
    let mut seen = vec![false; n];
    order.len() == n
        && order
            .iter()
            .all(|&i| (i as usize) < n && !std::mem::replace(&mut seen[i as usize], true))
}

/// Mean squared difference between right and down neighbours of the first n texels.
fn roughness(features: &[f32], c: usize, order: &[u32], w: usize) -> f64 {
    let n = order.len();
    let row = |t: usize| &features[order[t] as usize * c..(order[t] as usize + 1) * c];
    let (mut sum, mut count) = (0.0, 0);
    for t in 0..n {
        for u in [t + 1, t + w] {
            if u < n && (u != t + 1 || u % w != 0) {
                sum += row(t)
                    .iter()
                    .zip(row(u))
                    .map(|(a, b)| f64::from((a - b) * (a - b)))
                    .sum::<f64>();
                count += 1;
            }
        }
    }
    sum / count.max(1) as f64
}

#[test]
fn any_count_gives_a_permutation() {
    for n in [1, 2, 17, 1000, 1009] {
        let scene = sample::scene(n, 0, 3);
        let (w, h) = crate::encode::quantize::grid_size(n).unwrap();
        for quality in [Quality::Fast, Quality::Default] {
            let options = PlasOptions {
                quality,
                ..PlasOptions::default()
            };
            let order = sorted(&scene, w, h, &options, 5);
            assert!(is_permutation(&order, n), "n = {n}");
        }
    }
}

#[test]
fn same_seed_same_order_and_plas_smooths_a_shuffle() {
    let n = 3000;
    let scene = sample::scene(n, 0, 1);
    let (w, h) = crate::encode::quantize::grid_size(n).unwrap();
    let options = PlasOptions {
        init: Init::Shuffle,
        quality: Quality::Fast,
        ..PlasOptions::default()
    };
    let a = sorted(&scene, w, h, &options, 11);
    let b = sorted(&scene, w, h, &options, 11);
    let c = sorted(&scene, w, h, &options, 12);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let (scales, colour) = books(&scene);
    let books = Codebooks {
        scales: &scales,
        colour: &colour,
    };
    let (feats, channels) = features(&scene, &books, &options.features);
    let before = roughness(&feats, channels, &shuffle(n, 11), w as usize);
    let after = roughness(&feats, channels, &a, w as usize);
    assert!(after < 0.5 * before, "{after} vs {before}");
}

#[test]
fn padding_stays_at_the_tail_of_a_sorted_grid() {
    // 10 splats of 1 channel in a 4×4 grid: the 6 padding cells must not receive splats, and
    // a constant input keeps its start order (ties keep the identity).
    let feats = vec![1.0f32; 10];
    let start: Vec<u32> = (0..10).rev().collect();
    let schedule = Schedule::new(Quality::Default, 4, 4, None);
    let (order, _) = sort(&Cpu, &(), &feats, 1, &start, None, 4, 4, &schedule, 0).unwrap();
    assert_eq!(order, start);
}

#[test]
fn zscore_gives_unit_variance() {
    let mut rows = vec![1.0, 5.0, 3.0, 5.0, 5.0, 5.0];
    zscore(&mut rows, 2);
    assert!((rows[0] + 1.2247).abs() < 1e-3 && rows[1] == 0.0);
}
