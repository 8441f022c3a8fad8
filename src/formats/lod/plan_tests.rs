use super::*;
use crate::scene::Model;

/// A scene of splats at `positions`, identity rotations, standard deviation 0.01.
fn scene(positions: Vec<[f32; 3]>) -> Scene {
    let n = positions.len();
    let mut s = Scene::with_capacity(n, 0, Model::Default);
    s.positions = positions;
    s.rotations = vec![[1.0, 0.0, 0.0, 0.0]; n];
    s.log_scales = vec![[0.01f32.ln(); 3]; n];
    s.opacities = vec![0.0; n];
    s.sh_dc = vec![[0.0; 3]; n];
    s
}

/// `n` splats along x from 0 to `length`, evenly, in a shuffled order.
fn line(n: usize, length: f32) -> Scene {
    let mut positions: Vec<[f32; 3]> = (0..n)
        .map(|i| [length * i as f32 / (n - 1).max(1) as f32, 0.5, -0.5])
        .collect();
    // A fixed permutation so the scene order is not the spatial order.
    for i in (1..n).rev() {
        positions.swap(i, (i * 7919 + 13) % (i + 1));
    }
    scene(positions)
}

fn leaves(node: &Node) -> Vec<(&Bound, &Vec<(u32, Range)>)> {
    match node {
        Node::Leaf { bound, lods } => vec![(bound, lods)],
        Node::Inner { children, .. } => children.iter().flat_map(leaves).collect(),
    }
}

fn chunking(count: u32, extent: f64, min: u32) -> Chunking {
    Chunking { count, extent, min }
}

/// Every unit's runs are the leaves' ranges in order, and each level's splats appear once.
fn check_consistent(plan: &Plan, levels: &[&Scene]) {
    let mut seen: Vec<Vec<bool>> = levels.iter().map(|s| vec![false; s.len()]).collect();
    let mut next_offset = vec![0u64; plan.units.len()];
    let mut run_of_unit = vec![0usize; plan.units.len()];
    for (_, lods) in leaves(&plan.tree) {
        for &(level, range) in lods {
            let unit = &plan.units[range.file];
            assert_eq!(unit.level, level);
            assert_eq!(range.offset, next_offset[range.file], "runs are contiguous");
            let run = &unit.runs[run_of_unit[range.file]];
            assert_eq!(run.len() as u64, range.count);
            for &i in run {
                assert!(!seen[level as usize][i as usize], "splat twice");
                seen[level as usize][i as usize] = true;
            }
            next_offset[range.file] += range.count;
            run_of_unit[range.file] += 1;
        }
    }
    assert!(seen.iter().flatten().all(|s| *s), "every splat placed");
    for (u, unit) in plan.units.iter().enumerate() {
        assert_eq!(run_of_unit[u], unit.runs.len());
        assert_eq!(next_offset[u], unit.len() as u64);
    }
    let counts: Vec<u64> = levels.iter().map(|s| s.len() as u64).collect();
    assert_eq!(plan.counts, counts);
}

#[test]
fn a_small_scene_is_one_leaf_and_one_unit() {
    let s = line(100, 4.0);
    let plan = plan(&[&s], Chunking::default()).unwrap();
    check_consistent(&plan, &[&s]);
    assert_eq!(plan.filenames(), vec!["0_0/meta.json"]);
    let all = leaves(&plan.tree);
    assert_eq!(all.len(), 1);
    let (bound, lods) = all[0];
    assert_eq!(
        lods,
        &vec![(
            0,
            Range {
                file: 0,
                offset: 0,
                count: 100
            }
        )]
    );
    // Centres span x 0..4, y 0.5, z -0.5; each splat reaches 0.01 further.
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    assert!(
        close(bound.min[0], -0.01) && close(bound.max[0], 4.01),
        "{bound:?}"
    );
    assert!(
        close(bound.min[1], 0.49) && close(bound.max[1], 0.51),
        "{bound:?}"
    );
    assert!(
        close(bound.min[2], -0.51) && close(bound.max[2], -0.49),
        "{bound:?}"
    );
    // A run lists its splats in scene order.
    assert_eq!(plan.units[0].runs[0], (0..100).collect::<Vec<u32>>());
}

#[test]
fn nodes_over_the_chunk_count_split_at_the_median_and_units_roll_over() {
    // 3000 > 1024: split into 1500s, again into 750s; narrow, so extent plays no part.
    let s = line(3000, 8.0);
    let plan = plan(&[&s], chunking(1, 16.0, 8)).unwrap();
    check_consistent(&plan, &[&s]);
    let all = leaves(&plan.tree);
    let sizes: Vec<u64> = all.iter().map(|(_, l)| l[0].1.count).collect();
    assert_eq!(sizes, vec![750, 750, 750, 750]);
    // Median split along x: each leaf lies wholly left of the next.
    for pair in all.windows(2) {
        assert!(pair[0].0.max[0] - 0.01 <= pair[1].0.min[0] + 0.01 + 1e-6);
    }
    // Units: 750, then 1500 > 1024 closes 0_0; the next two leaves make 0_1.
    assert_eq!(plan.filenames(), vec!["0_0/meta.json", "0_1/meta.json"]);
    let ranges: Vec<(usize, u64)> = all
        .iter()
        .map(|(_, l)| (l[0].1.file, l[0].1.offset))
        .collect();
    assert_eq!(ranges, vec![(0, 0), (0, 750), (1, 0), (1, 750)]);
    // An inner node's bound is the union of its children's.
    let Node::Inner { bound, children } = &plan.tree else {
        panic!("root must split")
    };
    assert_eq!(bound.min[0], children[0].bound().min[0]);
    assert_eq!(bound.max[0], children[1].bound().max[0]);
}

#[test]
fn wide_nodes_split_only_above_the_chunk_minimum() {
    let s = line(2000, 100.0);
    // 2000 > 1024 = min, 100 m > 16 m: split once; 1000 is not above the minimum.
    let plan_split = plan(&[&s], chunking(512, 16.0, 1)).unwrap();
    check_consistent(&plan_split, &[&s]);
    assert_eq!(leaves(&plan_split.tree).len(), 2);
    // Minimum 8192: never split for extent.
    let plan_whole = plan(&[&s], chunking(512, 16.0, 8)).unwrap();
    assert_eq!(leaves(&plan_whole.tree).len(), 1);
    // Extent 200 m: nothing is too wide.
    let plan_narrow = plan(&[&s], chunking(512, 200.0, 1)).unwrap();
    assert_eq!(leaves(&plan_narrow.tree).len(), 1);
}

#[test]
fn tree_leaves_of_256_or_fewer_are_never_split() {
    // 300 splats over 1 km with no minimum: the root splits, its 150-splat halves cannot.
    let s = line(300, 1000.0);
    let plan = plan(&[&s], chunking(1, 1.0, 0)).unwrap();
    check_consistent(&plan, &[&s]);
    let sizes: Vec<u64> = leaves(&plan.tree)
        .iter()
        .map(|(_, l)| l[0].1.count)
        .collect();
    assert_eq!(sizes, vec![150, 150]);
}

#[test]
fn the_split_axis_is_the_widest() {
    // Wide in z, narrow in x: the two leaves are separated in z.
    let positions: Vec<[f32; 3]> = (0..600)
        .map(|i| [(i % 3) as f32 * 0.1, 0.0, (i * 37 % 600) as f32])
        .collect();
    let s = scene(positions);
    let plan = plan(&[&s], chunking(1, 1.0, 0)).unwrap();
    let all = leaves(&plan.tree);
    assert!(all.len() >= 2);
    assert!(all[0].0.max[2] < all[all.len() - 1].0.min[2]);
}

#[test]
fn levels_share_the_tree_and_each_fills_its_own_units() {
    let fine = line(3000, 8.0);
    let coarse = line(1000, 8.0);
    let levels = [&fine, &coarse];
    let plan = plan(&levels, chunking(1, 16.0, 8)).unwrap();
    check_consistent(&plan, &levels);
    // 4000 splats: 2000, then 1000-splat leaves (≤ 1024): four leaves, each with both levels.
    let all = leaves(&plan.tree);
    assert_eq!(all.len(), 4);
    for (_, lods) in &all {
        let levels: Vec<u32> = lods.iter().map(|(l, _)| *l).collect();
        assert_eq!(levels, vec![0, 1]);
    }
    // The first leaf names both levels' first units, level 0 first.
    assert_eq!(&plan.filenames()[..2], ["0_0/meta.json", "1_0/meta.json"]);
    assert_eq!(plan.counts, vec![3000, 1000]);
    // Level 1 never exceeds one unit's 1024 until the end: 250 a leaf.
    let level1: Vec<&Unit> = plan.units.iter().filter(|u| u.level == 1).collect();
    assert_eq!(level1.len(), 1);
    assert_eq!(level1[0].len(), 1000);
}

#[test]
fn a_rotated_splat_is_bounded_by_its_rotated_axes() {
    // 90° about z: the x standard deviation (2) lies along y, y's (1) along x.
    let h = std::f32::consts::FRAC_1_SQRT_2;
    let b = splat_box(
        [1.0, 2.0, 3.0],
        [h, 0.0, 0.0, h],
        [2f32.ln(), 0.0, 0.5f32.ln()],
    )
    .unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    assert!(close(b.min[0], 0.0) && close(b.max[0], 2.0), "{b:?}");
    assert!(close(b.min[1], 0.0) && close(b.max[1], 4.0), "{b:?}");
    assert!(close(b.min[2], 2.5) && close(b.max[2], 3.5), "{b:?}");
    // An unnormalised quaternion is normalised first.
    let same = splat_box(
        [1.0, 2.0, 3.0],
        [3.0, 0.0, 0.0, 3.0],
        [2f32.ln(), 0.0, 0.5f32.ln()],
    );
    assert!(close(same.unwrap().max[1], 4.0));
    // 45° about z: a unit sphere's box stays ±1 only for equal scales; here √2·(1+1)/2.
    let q = [
        (std::f32::consts::PI / 8.0).cos(),
        0.0,
        0.0,
        (std::f32::consts::PI / 8.0).sin(),
    ];
    let b = splat_box([0.0; 3], q, [0.0; 3]).unwrap();
    assert!(close(b.max[0], std::f64::consts::SQRT_2), "{b:?}");
    // An overflowing scale has no box.
    assert!(splat_box([0.0; 3], [1.0, 0.0, 0.0, 0.0], [1000.0, 0.0, 0.0]).is_none());
}

#[test]
fn a_leaf_of_unbounded_splats_falls_back_to_its_centres() {
    let mut s = line(10, 1.0);
    s.log_scales = vec![[1000.0, 0.0, 0.0]; 10];
    let plan = plan(&[&s], Chunking::default()).unwrap();
    let bound = plan.tree.bound();
    assert_eq!(bound.min, [0.0, 0.5, -0.5]);
    assert_eq!(bound.max, [1.0, 0.5, -0.5]);
}

#[test]
fn bad_plans_are_refused() {
    let s = line(10, 1.0);
    let empty = scene(Vec::new());
    assert!(
        plan(&[], Chunking::default())
            .unwrap_err()
            .contains("no levels")
    );
    assert!(
        plan(&[&s, &empty], Chunking::default())
            .unwrap_err()
            .contains("level 1")
    );
    assert!(
        plan(&[&s], chunking(0, 16.0, 8))
            .unwrap_err()
            .contains("at least 1")
    );
    assert!(
        plan(&[&s], chunking(1, 0.0, 8))
            .unwrap_err()
            .contains("positive")
    );
    assert!(
        plan(&[&s], chunking(1, f64::NAN, 8))
            .unwrap_err()
            .contains("positive")
    );
}
