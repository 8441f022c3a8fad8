//! Pairs each decoded splat with the original splat it was encoded from.
//!
//! The compressed file reorders splats and moves each centre by at most half a quantisation
//! step (16 bits per axis in symmetric-log space, sog-format.md §1.5), so a decoded centre lies
//! next to its source. Two originals closer together than that step (or exact duplicates) are
//! ambiguous by position alone; among the originals within the step bound of a decoded centre
//! (always including its nearest neighbour) the one with the most similar attributes is taken,
//! and each original is given to at most one decoded splat while an unclaimed candidate exists.

use rayon::prelude::*;
use serde::Serialize;

use super::kdtree::KdTree;
use super::metrics::{rotation_angle_deg, sigmoid};
use crate::Scene;

/// Candidates beyond this many within the search radius are not considered (only reached by
/// large groups of duplicated centres).
const MAX_CANDIDATES: usize = 64;

/// Marks "no original" in the pair table.
pub(crate) const UNMATCHED: u32 = u32::MAX;

/// How the decoded splats were paired with the originals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Matching {
    /// Splats in the original scene.
    pub original_splats: usize,
    /// Splats in the decoded scene.
    pub decoded_splats: usize,
    /// True when the two counts differ (splats dropped or added by the encoder): not an error,
    /// but the errors below then cover only the matched pairs.
    pub counts_differ: bool,
    /// Decoded splats paired with an original.
    pub matched: usize,
    /// Decoded splats left unpaired because their centre is not finite.
    pub decoded_unmatched: usize,
    /// Originals that no decoded splat was paired with.
    pub originals_unmatched: usize,
    /// Decoded splats paired with an original that another decoded splat was paired with
    /// first, because no unclaimed original lay within their search radius.
    pub shared: usize,
    /// Largest distance between a decoded centre and its original's, in world units.
    pub max_distance: f64,
}

/// The pairing: `pairs[i]` is the original index of decoded splat `i`, or [`UNMATCHED`].
pub(crate) struct Pairs {
    pub pairs: Vec<u32>,
    pub summary: Matching,
}

/// Per-axis range of the symmetric-log transform of the original's finite centres, from which
/// the 16-bit quantisation step follows.
struct Quantisation {
    step: [f64; 3],
}

fn symmetric_log(v: f64) -> f64 {
    v.signum() * v.abs().ln_1p()
}

impl Quantisation {
    fn of(scene: &Scene) -> Self {
        let mut min = [f64::INFINITY; 3];
        let mut max = [f64::NEG_INFINITY; 3];
        for p in scene
            .positions
            .iter()
            .filter(|p| p.iter().all(|c| c.is_finite()))
        {
            for a in 0..3 {
                let n = symmetric_log(p[a] as f64);
                min[a] = min[a].min(n);
                max[a] = max[a].max(n);
            }
        }
        let step = std::array::from_fn(|a| ((max[a] - min[a]) / 65535.0).max(0.0));
        Quantisation { step }
    }

    /// Squared search radius around decoded centre `p`: twice the worst-case error of a 16-bit
    /// symmetric-log position, (1 + |v|)·(e^(step/2) − 1) per axis, plus f32 rounding.
    fn radius2(&self, p: [f32; 3]) -> f32 {
        let mut r2 = 0.0;
        for a in 0..3 {
            let v = (p[a] as f64).abs();
            let bound = (1.0 + v) * (self.step[a] / 2.0).exp_m1() + v * 2f64.powi(-22);
            r2 += (2.0 * bound).powi(2);
        }
        r2 as f32
    }
}

/// Dissimilarity of decoded splat `i` to original `j` at squared distance `d2` within a search
/// radius `r2`: the normalised squared distance plus squared differences of opacity, DC colour,
/// log-scales (clamped to ±30) and rotation angle (in units of 180°). Only used to choose among
/// nearby candidates, so the mix of units does not matter much.
fn dissimilarity(original: &Scene, j: usize, decoded: &Scene, i: usize, d2: f32, r2: f32) -> f64 {
    let mut cost = if r2 > 0.0 { (d2 / r2) as f64 } else { 0.0 };
    let opacity = sigmoid(original.opacities[j]) - sigmoid(decoded.opacities[i]);
    cost += if opacity.is_nan() {
        1.0
    } else {
        opacity * opacity
    };
    for c in 0..3 {
        let d =
            (original.sh_dc[j][c] as f64 - decoded.sh_dc[i][c] as f64) * crate::scene::SH_C0 as f64;
        cost += if d.is_finite() { d * d } else { 1.0 };
        let clamp = |s: f32| (s as f64).clamp(-30.0, 30.0);
        let s = clamp(original.log_scales[j][c]) - clamp(decoded.log_scales[i][c]);
        cost += if s.is_nan() { 1.0 } else { s * s };
    }
    let angle = rotation_angle_deg(original.rotations[j], decoded.rotations[i]).unwrap_or(180.0);
    cost + (angle / 180.0).powi(2)
}

struct Matcher<'a> {
    original: &'a Scene,
    decoded: &'a Scene,
    tree: KdTree,
    quantisation: Quantisation,
}

impl Matcher<'_> {
    /// Candidates for decoded splat `i` as (cost, original, squared distance), best first
    /// (ties by original index, so the result does not depend on the tree layout).
    fn candidates(&self, i: usize, scratch: &mut Vec<(u32, f32)>, out: &mut Vec<(f64, u32, f32)>) {
        out.clear();
        scratch.clear();
        let q = self.decoded.positions[i];
        let Some((_, nearest2)) = self.tree.nearest(q) else {
            return;
        };
        let r2 = self.quantisation.radius2(q).max(nearest2 * (1.0 + 1e-6));
        self.tree.within(q, r2, MAX_CANDIDATES, scratch);
        if scratch.is_empty() {
            // Only when rounding put the nearest neighbour just outside r2.
            let (j, d2) = self.tree.nearest(q).unwrap_or((UNMATCHED, 0.0));
            scratch.push((j, d2));
        }
        out.extend(scratch.iter().map(|&(j, d2)| {
            let cost = dissimilarity(self.original, j as usize, self.decoded, i, d2, r2);
            (cost, j, d2)
        }));
        out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }
}

/// Pairs every decoded splat with an original; see the module docs. `None` when the original
/// has no splat with a finite centre.
pub(crate) fn match_splats(original: &Scene, decoded: &Scene) -> Option<Pairs> {
    let finite = |p: &[f32; 3]| p.iter().all(|c| c.is_finite());
    let items: Vec<([f32; 3], u32)> = original
        .positions
        .iter()
        .enumerate()
        .filter(|(_, p)| finite(p))
        .map(|(j, p)| (*p, j as u32))
        .collect();
    let matcher = Matcher {
        original,
        decoded,
        tree: KdTree::build(items),
        quantisation: Quantisation::of(original),
    };
    if matcher.tree.len() == 0 {
        return None;
    }

    // Phase 1: every decoded splat picks its best candidate, in parallel.
    let best: Vec<(f64, u32)> = (0..decoded.len())
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(scratch, out), i| {
                if !finite(&decoded.positions[i]) {
                    return (f64::INFINITY, UNMATCHED);
                }
                matcher.candidates(i, scratch, out);
                out.first()
                    .map_or((f64::INFINITY, UNMATCHED), |c| (c.0, c.1))
            },
        )
        .collect();

    // Phase 2: each original goes to the decoded splat that wants it most.
    let mut claimant = vec![UNMATCHED; original.len()];
    for (i, &(cost, j)) in best.iter().enumerate() {
        if j == UNMATCHED {
            continue;
        }
        let current = claimant[j as usize];
        if current == UNMATCHED || cost < best[current as usize].0 {
            claimant[j as usize] = i as u32;
        }
    }
    let mut pairs: Vec<u32> = best.iter().map(|b| b.1).collect();
    let mut losers: Vec<u32> = (0..decoded.len() as u32)
        .filter(|&i| {
            let j = pairs[i as usize];
            j != UNMATCHED && claimant[j as usize] != i
        })
        .collect();
    losers.sort_by(|&a, &b| {
        best[a as usize]
            .0
            .total_cmp(&best[b as usize].0)
            .then(a.cmp(&b))
    });

    // Phase 3: the others take their best unclaimed candidate, cheapest first, else share.
    let mut shared = 0;
    let (mut scratch, mut out) = (Vec::new(), Vec::new());
    for i in losers {
        matcher.candidates(i as usize, &mut scratch, &mut out);
        match out.iter().find(|c| claimant[c.1 as usize] == UNMATCHED) {
            Some(&(_, j, _)) => {
                claimant[j as usize] = i;
                pairs[i as usize] = j;
            }
            None => shared += 1,
        }
    }

    let decoded_unmatched = pairs.iter().filter(|&&j| j == UNMATCHED).count();
    let max_distance = pairs
        .par_iter()
        .enumerate()
        .filter(|(_, j)| **j != UNMATCHED)
        .map(|(i, &j)| {
            let (a, b) = (decoded.positions[i], original.positions[j as usize]);
            (0..3)
                .map(|k| (a[k] as f64 - b[k] as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .reduce(|| 0.0, f64::max);
    let summary = Matching {
        original_splats: original.len(),
        decoded_splats: decoded.len(),
        counts_differ: original.len() != decoded.len(),
        matched: decoded.len() - decoded_unmatched,
        decoded_unmatched,
        originals_unmatched: claimant.iter().filter(|&&c| c == UNMATCHED).count(),
        shared,
        max_distance,
    };
    Some(Pairs { pairs, summary })
}
