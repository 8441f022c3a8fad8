//! Where every splat of every level goes in a streamed SOG: the tree of the manifest and the
//! file units (one SOG each). Pure: positions, rotations and log-scales in, a [`Plan`] out.
//!
//! As splat-transform 3.10.2's `writeLod` partitions (`write-lod.ts`, `spatial/b-tree.ts`):
//!
//! - A kd-tree over the centres of all levels together (level 0, then the coarser levels): a
//!   node is split at the median (`n / 2`) of the largest axis of its centres' bounding box;
//!   nodes of at most [`TREE_LEAF`] splats are never split.
//! - From the root, a node becomes two manifest children when it is not a tree leaf and holds
//!   more than `chunk_count · 1024` splats, or is wider than `chunk_extent` (largest extent of
//!   its centres' box) and holds more than `chunk_min · 1024`; otherwise it is a manifest leaf.
//! - Leaves in depth-first order (`children[0]` first): each level's splats of the leaf form
//!   one run, appended to that level's current file unit (`<level>_<index>/meta.json`, named
//!   in `filenames` on first use) at offset = the unit's splats so far; a unit that then holds
//!   more than `chunk_count · 1024` splats is closed and the level starts the next one.
//! - A leaf's `bound` is the union of its splats' (all levels) oriented-ellipsoid boxes,
//!   centre ± |R|·exp(log-scale) with R from the normalised quaternion; an inner node's the
//!   union of its children's.
//!
//! Differences that do not change what a reader gets: the median split keeps equal centres
//! on either side as `select_nth_unstable` leaves them (splat-transform's quickselect may
//! differ), a leaf's levels are taken in ascending order (so `filenames` lists a leaf's new
//! units level by level), and each run lists its splats in scene order (the writer then sorts
//! the run in Morton order). A leaf whose splats all have non-finite boxes (an overflowing
//! scale) is bounded by its centres instead of by nothing.

use rayon::prelude::*;

use crate::scene::Scene;

/// Tree nodes of at most this many splats are not split further (splat-transform's B-tree).
pub const TREE_LEAF: usize = 256;

/// How a streamed SOG is cut into file units, in splat-transform's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chunking {
    /// Thousands (×1024) of splats per file unit, and the most a manifest leaf holds.
    pub count: u32,
    /// Widest extent (world units) of a leaf that holds more than `min` thousand splats.
    pub extent: f64,
    /// Thousands (×1024) of splats below which a leaf is not split for its extent.
    pub min: u32,
}

impl Default for Chunking {
    /// splat-transform's defaults: 512, 16, 8.
    fn default() -> Self {
        Chunking {
            count: 512,
            extent: 16.0,
            min: 8,
        }
    }
}

impl Chunking {
    /// Splats per file unit (`asset.chunkGaussians`).
    pub fn gaussians(&self) -> u64 {
        self.count as u64 * 1024
    }

    /// Splats below which a node is not split for extent (`asset.chunkMinGaussians`).
    pub fn min_gaussians(&self) -> u64 {
        self.min as u64 * 1024
    }
}

/// An axis-aligned box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub min: [f64; 3],
    pub max: [f64; 3],
}

impl Bound {
    /// The empty box (min +∞, max −∞).
    pub const EMPTY: Bound = Bound {
        min: [f64::INFINITY; 3],
        max: [f64::NEG_INFINITY; 3],
    };

    fn union(&self, other: &Bound) -> Bound {
        Bound {
            min: std::array::from_fn(|a| self.min[a].min(other.min[a])),
            max: std::array::from_fn(|a| self.max[a].max(other.max[a])),
        }
    }

    fn is_empty(&self) -> bool {
        (0..3).any(|a| self.min[a] > self.max[a])
    }
}

/// A leaf's range of one level: splats `offset .. offset + count` of unit `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Index into [`Plan::units`] (and the manifest's `filenames`).
    pub file: usize,
    pub offset: u64,
    pub count: u64,
}

/// A node of the manifest tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Inner {
        bound: Bound,
        children: Box<[Node; 2]>,
    },
    /// `lods`: (level, range), levels ascending.
    Leaf {
        bound: Bound,
        lods: Vec<(u32, Range)>,
    },
}

impl Node {
    pub fn bound(&self) -> &Bound {
        match self {
            Node::Inner { bound, .. } | Node::Leaf { bound, .. } => bound,
        }
    }
}

/// One file unit: an unbundled SOG holding some leaves' runs of one level, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub level: u32,
    /// The unit's number within its level (`<level>_<index>`).
    pub index: usize,
    /// Each run: indices into the level's scene, ascending. Runs in offset order.
    pub runs: Vec<Vec<u32>>,
}

impl Unit {
    /// The manifest's name for it: `<level>_<index>/meta.json`.
    pub fn filename(&self) -> String {
        format!("{}/meta.json", self.folder())
    }

    /// The folder holding its SOG: `<level>_<index>`.
    pub fn folder(&self) -> String {
        format!("{}_{}", self.level, self.index)
    }

    /// Splats in the unit.
    pub fn len(&self) -> usize {
        self.runs.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.iter().all(Vec::is_empty)
    }
}

/// Everything the manifest says, and what each unit holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub chunking: Chunking,
    /// Splats of each level.
    pub counts: Vec<u64>,
    /// The units in `filenames` order (order of first use).
    pub units: Vec<Unit>,
    pub tree: Node,
}

impl Plan {
    /// The manifest's `filenames`.
    pub fn filenames(&self) -> Vec<String> {
        self.units.iter().map(Unit::filename).collect()
    }
}

/// The plan for `levels` (level 0 first). Every level must hold at least one splat, and all
/// together fewer than 2³² splats.
pub fn plan(levels: &[&Scene], chunking: Chunking) -> Result<Plan, String> {
    if levels.is_empty() {
        return Err("no levels to write".into());
    }
    if chunking.count == 0 {
        return Err("the chunk count must be at least 1 (thousand splats)".into());
    }
    if chunking.extent.is_nan() || chunking.extent <= 0.0 {
        return Err(format!(
            "the chunk extent must be a positive number of world units, not {}",
            chunking.extent
        ));
    }
    let mut base = Vec::with_capacity(levels.len() + 1);
    base.push(0u64);
    for (l, scene) in levels.iter().enumerate() {
        if scene.is_empty() {
            return Err(format!("level {l} holds no splats"));
        }
        base.push(base[l] + scene.len() as u64);
    }
    let total = *base.last().unwrap();
    if total > u32::MAX as u64 {
        return Err(format!(
            "{total} splats over all levels: a streamed SOG here holds fewer than 2^32"
        ));
    }
    let centres: Vec<[f32; 3]> = levels
        .iter()
        .flat_map(|s| s.positions.iter().copied())
        .collect();
    let mut indices: Vec<u32> = (0..total as u32).collect();
    let shape = partition(&centres, &mut indices, &chunking);
    drop(centres);

    // Each leaf's runs and bound are independent of the others: computed in parallel, then
    // handed to the depth-first walk that numbers units, in leaf order.
    let mut spans = Vec::new();
    leaf_spans(&shape, &mut spans);
    let leaves: Vec<LeafRuns> = spans
        .par_iter()
        .map(|&(start, end)| leaf_runs(levels, &base, &indices[start..end]))
        .collect();
    let mut state = Assign {
        chunking,
        leaves: leaves.into_iter(),
        units: Vec::new(),
        current: vec![None; levels.len()],
        next_index: vec![0; levels.len()],
    };
    let tree = state.build(&shape);
    let units = state.units;
    Ok(Plan {
        chunking,
        counts: levels.iter().map(|s| s.len() as u64).collect(),
        units,
        tree,
    })
}

/// The manifest tree's shape: leaves are ranges of the partitioned index array.
enum Shape {
    Inner(Box<[Shape; 2]>),
    Leaf(usize, usize),
}

/// Partitions `indices` (global splat numbers) in place into the manifest tree's leaves.
fn partition(centres: &[[f32; 3]], indices: &mut [u32], chunking: &Chunking) -> Shape {
    fn go(centres: &[[f32; 3]], indices: &mut [u32], at: usize, c: &Chunking) -> Shape {
        let n = indices.len();
        let (axis, extent) = largest_axis(centres, indices);
        let split = n > TREE_LEAF
            && (n as u64 > c.gaussians() || (extent > c.extent && n as u64 > c.min_gaussians()));
        if !split {
            return Shape::Leaf(at, at + n);
        }
        let mid = n / 2;
        indices.select_nth_unstable_by(mid, |&a, &b| {
            centres[a as usize][axis].total_cmp(&centres[b as usize][axis])
        });
        let (left, right) = indices.split_at_mut(mid);
        let (l, r) = rayon::join(
            || go(centres, left, at, c),
            || go(centres, right, at + mid, c),
        );
        Shape::Inner(Box::new([l, r]))
    }
    go(centres, indices, 0, chunking)
}

/// The axis of the centres' box with the largest extent (the first of equals) and the extent.
fn largest_axis(centres: &[[f32; 3]], indices: &[u32]) -> (usize, f64) {
    type MinMax = ([f32; 3], [f32; 3]);
    let empty: MinMax = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    let fold = |(mut min, mut max): MinMax, &i: &u32| {
        let p = centres[i as usize];
        for a in 0..3 {
            min[a] = min[a].min(p[a]);
            max[a] = max[a].max(p[a]);
        }
        (min, max)
    };
    let join = |(a_min, a_max): MinMax, (b_min, b_max): MinMax| {
        (
            std::array::from_fn(|a| a_min[a].min(b_min[a])),
            std::array::from_fn(|a| a_max[a].max(b_max[a])),
        )
    };
    // Minimum and maximum do not depend on the order: the big nodes near the root are
    // scanned in parallel, the many small ones below serially.
    let (min, max): MinMax = if indices.len() > 1 << 16 {
        indices
            .par_iter()
            .with_min_len(1 << 14)
            .fold(|| empty, fold)
            .reduce(|| empty, join)
    } else {
        indices.iter().fold(empty, fold)
    };
    let mut best = (0, f64::NEG_INFINITY);
    for a in 0..3 {
        let e = max[a] as f64 - min[a] as f64;
        if e > best.1 {
            best = (a, e);
        }
    }
    best
}

/// The leaves of `shape` in depth-first order (`children[0]` first), as index ranges.
fn leaf_spans(shape: &Shape, out: &mut Vec<(usize, usize)>) {
    match shape {
        Shape::Inner(children) => {
            leaf_spans(&children[0], out);
            leaf_spans(&children[1], out);
        }
        Shape::Leaf(start, end) => out.push((*start, *end)),
    }
}

/// One manifest leaf before units are assigned: its bound and, per level present, the run of
/// that level's splats (indices into the level's scene, ascending).
struct LeafRuns {
    bound: Bound,
    runs: Vec<(usize, Vec<u32>)>,
}

/// The runs and bound of the leaf holding `members` (global splat numbers).
fn leaf_runs(levels: &[&Scene], base: &[u64], members: &[u32]) -> LeafRuns {
    let mut members = members.to_vec();
    members.sort_unstable();
    let mut runs = Vec::new();
    let mut bound = Bound::EMPTY;
    let mut centres = Bound::EMPTY;
    let mut rest = &members[..];
    for (level, scene) in levels.iter().enumerate() {
        let end = rest.partition_point(|&g| (g as u64) < base[level + 1]);
        let (run, after) = rest.split_at(end);
        rest = after;
        if run.is_empty() {
            continue;
        }
        let local: Vec<u32> = run
            .iter()
            .map(|&g| (g as u64 - base[level]) as u32)
            .collect();
        for &i in &local {
            let i = i as usize;
            let p = scene.positions[i];
            let centre = Bound {
                min: p.map(f64::from),
                max: p.map(f64::from),
            };
            centres = centres.union(&centre);
            if let Some(b) = splat_box(p, scene.rotations[i], scene.log_scales[i]) {
                bound = bound.union(&b);
            }
        }
        runs.push((level, local));
    }
    if bound.is_empty() {
        bound = centres;
    }
    LeafRuns { bound, runs }
}

/// The depth-first walk that fills the units and bounds the inner nodes.
struct Assign {
    chunking: Chunking,
    /// The leaves' runs, consumed in depth-first order.
    leaves: std::vec::IntoIter<LeafRuns>,
    units: Vec<Unit>,
    /// Each level's open unit (index into `units`).
    current: Vec<Option<usize>>,
    /// Each level's next unit number.
    next_index: Vec<usize>,
}

impl Assign {
    fn build(&mut self, shape: &Shape) -> Node {
        match shape {
            Shape::Inner(children) => {
                let left = self.build(&children[0]);
                let right = self.build(&children[1]);
                let bound = left.bound().union(right.bound());
                Node::Inner {
                    bound,
                    children: Box::new([left, right]),
                }
            }
            Shape::Leaf(..) => {
                let leaf = self.leaves.next().expect("one LeafRuns per leaf");
                let lods = leaf
                    .runs
                    .into_iter()
                    .map(|(level, run)| (level as u32, self.append(level, run)))
                    .collect();
                Node::Leaf {
                    bound: leaf.bound,
                    lods,
                }
            }
        }
    }

    /// Appends a run to `level`'s open unit; closes the unit when it outgrows a file.
    fn append(&mut self, level: usize, run: Vec<u32>) -> Range {
        let file = match self.current[level] {
            Some(file) => file,
            None => {
                self.units.push(Unit {
                    level: level as u32,
                    index: self.next_index[level],
                    runs: Vec::new(),
                });
                self.next_index[level] += 1;
                let file = self.units.len() - 1;
                self.current[level] = Some(file);
                file
            }
        };
        let unit = &mut self.units[file];
        let offset = unit.len() as u64;
        let count = run.len() as u64;
        unit.runs.push(run);
        if offset + count > self.chunking.gaussians() {
            self.current[level] = None;
        }
        Range {
            file,
            offset,
            count,
        }
    }
}

/// The box of one splat's ellipsoid: centre ± |R|·exp(log-scale), R the rotation of the
/// normalised quaternion (w, x, y, z); `None` when it is not finite. The arithmetic is the
/// engine's (`Quat.normalize`, `Mat4.setTRS` into an f32 matrix, then
/// `BoundingBox.setFromTransformedAabb` in doubles), so the bounds round as splat-transform's.
pub fn splat_box(position: [f32; 3], rotation: [f32; 4], log_scale: [f32; 3]) -> Option<Bound> {
    let [w, x, y, z] = rotation.map(f64::from);
    let len = (x * x + y * y + z * z + w * w).sqrt();
    let (x, y, z, w) = if len == 0.0 {
        (0.0, 0.0, 0.0, 1.0)
    } else {
        let inv = 1.0 / len;
        (x * inv, y * inv, z * inv, w * inv)
    };
    let (x2, y2, z2) = (x + x, y + y, z + z);
    let (xx, xy, xz) = (x * x2, x * y2, x * z2);
    let (yy, yz, zz) = (y * y2, y * z2, z * z2);
    let (wx, wy, wz) = (w * x2, w * y2, w * z2);
    // Rows of R, each entry rounded to f32 as the engine's matrix stores it.
    let r = [
        [1.0 - (yy + zz), xy - wz, xz + wy],
        [xy + wz, 1.0 - (xx + zz), yz - wx],
        [xz - wy, yz + wx, 1.0 - (xx + yy)],
    ]
    .map(|row| row.map(|v| f64::from(v as f32)));
    let s = log_scale.map(|v| f64::from(v).exp());
    let mut bound = Bound::EMPTY;
    for a in 0..3 {
        let half = r[a][0].abs() * s[0] + r[a][1].abs() * s[1] + r[a][2].abs() * s[2];
        let c = f64::from(position[a]);
        bound.min[a] = c - half;
        bound.max[a] = c + half;
    }
    let finite = bound.min.iter().chain(&bound.max).all(|v| v.is_finite());
    finite.then_some(bound)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
