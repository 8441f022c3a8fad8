//! A static 3-D k-d tree over finite points, built in parallel, answering nearest-neighbour and
//! radius queries. Matching needs both over up to millions of original splat centres, whose
//! density is far from uniform (a dense core and sparse far outliers), which rules out a
//! uniform grid.
//!
//! Layout: the points are reordered in place while building. A node covers a range
//! `[lo, hi)` of the reordered points and splits it at `mid = lo + (hi - lo) / 2`; its split
//! is stored at index `mid` of `splits` (distinct nodes have distinct `mid`s), so the tree needs
//! no child pointers and the two halves can be built on different threads.

/// Ranges of at most this many points are leaves, scanned linearly.
const LEAF: usize = 8;

/// Ranges larger than this build their halves in parallel.
const PARALLEL_BUILD: usize = 1 << 14;

/// The split of one inner node: points left of `mid` have `coord[axis] <= value`, the others
/// `>= value`.
#[derive(Debug, Clone, Copy, Default)]
struct Split {
    value: f32,
    axis: u8,
}

/// A k-d tree over points tagged with caller ids.
#[derive(Debug)]
pub(crate) struct KdTree {
    points: Vec<[f32; 3]>,
    ids: Vec<u32>,
    splits: Vec<Split>,
}

/// Squared Euclidean distance.
pub(crate) fn distance2(a: [f32; 3], b: [f32; 3]) -> f32 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

impl KdTree {
    /// Builds the tree. Every point must be finite (the caller filters).
    pub(crate) fn build(mut items: Vec<([f32; 3], u32)>) -> Self {
        let mut splits = vec![Split::default(); items.len()];
        build_range(&mut items, &mut splits);
        let (points, ids) = items.into_iter().unzip();
        KdTree {
            points,
            ids,
            splits,
        }
    }

    /// Number of points.
    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }

    /// The id of the point nearest to `query` and its squared distance; `None` when empty.
    pub(crate) fn nearest(&self, query: [f32; 3]) -> Option<(u32, f32)> {
        if self.points.is_empty() {
            return None;
        }
        let mut best = (0usize, f32::INFINITY);
        self.nearest_in(0, self.points.len(), query, &mut best);
        Some((self.ids[best.0], best.1))
    }

    fn nearest_in(&self, lo: usize, hi: usize, query: [f32; 3], best: &mut (usize, f32)) {
        if hi - lo <= LEAF {
            for slot in lo..hi {
                let d2 = distance2(self.points[slot], query);
                if d2 < best.1 {
                    *best = (slot, d2);
                }
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        let split = self.splits[mid];
        let offset = query[split.axis as usize] - split.value;
        let (near, far) = if offset < 0.0 {
            ((lo, mid), (mid, hi))
        } else {
            ((mid, hi), (lo, mid))
        };
        self.nearest_in(near.0, near.1, query, best);
        if offset * offset < best.1 {
            self.nearest_in(far.0, far.1, query, best);
        }
    }

    /// Appends to `out` the ids and squared distances of points within squared distance
    /// `radius2` of `query`, stopping after `cap` points (an arbitrary subset then).
    pub(crate) fn within(
        &self,
        query: [f32; 3],
        radius2: f32,
        cap: usize,
        out: &mut Vec<(u32, f32)>,
    ) {
        self.within_in(0, self.points.len(), query, radius2, cap, out);
    }

    fn within_in(
        &self,
        lo: usize,
        hi: usize,
        query: [f32; 3],
        radius2: f32,
        cap: usize,
        out: &mut Vec<(u32, f32)>,
    ) {
        if out.len() >= cap {
            return;
        }
        if hi - lo <= LEAF {
            for slot in lo..hi {
                let d2 = distance2(self.points[slot], query);
                if d2 <= radius2 && out.len() < cap {
                    out.push((self.ids[slot], d2));
                }
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        let split = self.splits[mid];
        let offset = query[split.axis as usize] - split.value;
        if offset <= 0.0 || offset * offset <= radius2 {
            self.within_in(lo, mid, query, radius2, cap, out);
        }
        if offset >= 0.0 || offset * offset <= radius2 {
            self.within_in(mid, hi, query, radius2, cap, out);
        }
    }
}

/// Splits `items` at its median along its widest axis and recurses; see the module docs.
fn build_range(items: &mut [([f32; 3], u32)], splits: &mut [Split]) {
    let n = items.len();
    if n <= LEAF {
        return;
    }
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    for (p, _) in items.iter() {
        for a in 0..3 {
            min[a] = min[a].min(p[a]);
            max[a] = max[a].max(p[a]);
        }
    }
    let axis = (0..3)
        .max_by(|&a, &b| (max[a] - min[a]).total_cmp(&(max[b] - min[b])))
        .unwrap_or(0);
    let mid = n / 2;
    items.select_nth_unstable_by(mid, |a, b| a.0[axis].total_cmp(&b.0[axis]));
    splits[mid] = Split {
        value: items[mid].0[axis],
        axis: axis as u8,
    };
    let (left_items, right_items) = items.split_at_mut(mid);
    let (left_splits, right_splits) = splits.split_at_mut(mid);
    if n > PARALLEL_BUILD {
        rayon::join(
            || build_range(left_items, left_splits),
            || build_range(right_items, right_splits),
        );
    } else {
        build_range(left_items, left_splits);
        build_range(right_items, right_splits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 mapped to [-1, 1).
    fn random_points(n: usize, seed: u64) -> Vec<[f32; 3]> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        };
        (0..n)
            .map(|_| [next(), next() * 0.01, next() * 100.0])
            .collect()
    }

    fn tree(points: &[[f32; 3]]) -> KdTree {
        KdTree::build(
            points
                .iter()
                .enumerate()
                .map(|(i, p)| (*p, i as u32))
                .collect(),
        )
    }

    #[test]
    fn nearest_agrees_with_brute_force() {
        // Anisotropic extents and duplicates exercise axis choice and equal split values.
        let mut points = random_points(3000, 1);
        points.extend_from_within(0..500);
        let t = tree(&points);
        assert_eq!(t.len(), 3500);
        for q in random_points(500, 2) {
            let (id, d2) = t.nearest(q).unwrap();
            let brute = points
                .iter()
                .map(|p| distance2(*p, q))
                .fold(f32::INFINITY, f32::min);
            assert_eq!(d2, brute, "query {q:?}");
            assert_eq!(distance2(points[id as usize], q), brute);
        }
    }

    #[test]
    fn within_returns_exactly_the_points_in_the_ball() {
        let points = random_points(2000, 3);
        let t = tree(&points);
        for q in random_points(100, 4) {
            let r2 = 4.0;
            let mut out = Vec::new();
            t.within(q, r2, usize::MAX, &mut out);
            let mut got: Vec<u32> = out.iter().map(|(id, _)| *id).collect();
            got.sort_unstable();
            let want: Vec<u32> = (0..points.len() as u32)
                .filter(|&i| distance2(points[i as usize], q) <= r2)
                .collect();
            assert_eq!(got, want);
            let mut capped = Vec::new();
            t.within(q, r2, 3, &mut capped);
            assert_eq!(capped.len(), want.len().min(3));
        }
    }

    #[test]
    fn empty_tree_has_no_nearest() {
        assert!(KdTree::build(Vec::new()).nearest([0.0; 3]).is_none());
    }
}
