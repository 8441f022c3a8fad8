//! Measuring and comparing decoded scenes: value mismatches between two decoders, matching
//! decoded splats to source splats by position, and per-attribute error statistics.

use splatpress::Scene;

/// How many f64 values lie between `a` and `b` (0 when equal), for finite values.
pub(super) fn ulps_apart(a: f64, b: f64) -> u64 {
    // Map the sign-magnitude bit patterns onto one ordered integer line.
    let ordered = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 { i64::MIN - bits } else { bits }
    };
    ordered(a).abs_diff(ordered(b))
}

pub(super) fn sigmoid(logit: f32) -> f64 {
    1.0 / (1.0 + (-(logit as f64)).exp())
}

/// Collects value mismatches between two decodings, to report them all at once.
pub(super) struct Mismatches {
    file: String,
    count: usize,
    examples: Vec<String>,
}

impl Mismatches {
    pub(super) fn new(file: &str) -> Self {
        Mismatches {
            file: file.to_string(),
            count: 0,
            examples: Vec::new(),
        }
    }

    /// Records a mismatch unless |ours − theirs| ≤ abs + rel·max(|ours|, |theirs|).
    pub(super) fn check(
        &mut self,
        what: &str,
        splat: usize,
        ours: f32,
        theirs: f32,
        rel: f32,
        abs: f32,
    ) {
        let tolerance = abs + rel * ours.abs().max(theirs.abs());
        if ours == theirs || (ours - theirs).abs() <= tolerance {
            return;
        }
        self.count += 1;
        if self.examples.len() < 8 {
            self.examples.push(format!(
                "splat {splat} {what}: ours {ours} splat-transform {theirs}"
            ));
        }
    }

    pub(super) fn assert_none(&self) {
        assert!(
            self.count == 0,
            "{}: {} values decoded differently by us and by splat-transform: {:#?}",
            self.file,
            self.count,
            self.examples
        );
    }
}

/// For each decoded splat, the index of the source splat at the nearest position. Panics
/// unless that is a one-to-one matching with small distances (decoded positions are within
/// one 16-bit step of the source; distinct source splats are much further apart).
pub(super) fn match_to_source(file: &str, decoded: &Scene, source: &Scene) -> Vec<usize> {
    assert_eq!(decoded.len(), source.len(), "{file}: splat count");
    let mut used = vec![false; source.len()];
    let mut matches = Vec::with_capacity(decoded.len());
    for (i, p) in decoded.positions.iter().enumerate() {
        let (nearest, distance) = source
            .positions
            .iter()
            .map(|s| distance(p, s))
            .enumerate()
            .fold((usize::MAX, f64::INFINITY), |best, (j, d)| {
                if d < best.1 { (j, d) } else { best }
            });
        let scale = source.positions[nearest]
            .iter()
            .fold(1.0f64, |m, v| m.max(v.abs() as f64));
        assert!(
            distance <= 1e-3 * scale,
            "{file}: decoded splat {i} at {p:?} is {distance:e} from the nearest source splat {nearest}"
        );
        assert!(
            !used[nearest],
            "{file}: source splat {nearest} matched twice (again by decoded splat {i})"
        );
        used[nearest] = true;
        matches.push(nearest);
    }
    matches
}

pub(super) fn distance(a: &[f32; 3], b: &[f32; 3]) -> f64 {
    (0..3)
        .map(|k| (a[k] as f64 - b[k] as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Mean and maximum of a per-splat error.
#[derive(Default, Clone, Copy)]
pub(super) struct Stat {
    pub(super) mean: f64,
    pub(super) max: f64,
}

impl Stat {
    fn of(values: impl Iterator<Item = f64>) -> Stat {
        let (mut sum, mut max, mut n) = (0.0, 0.0f64, 0usize);
        for v in values {
            sum += v;
            max = max.max(v);
            n += 1;
        }
        Stat {
            mean: sum / n.max(1) as f64,
            max,
        }
    }
}

/// Errors of a decoded scene against the source, splat by splat through a matching.
pub(super) struct Errors {
    /// Euclidean distance between decoded and source centres.
    pub(super) position: Stat,
    /// Angle (radians) between decoded and source rotations.
    pub(super) rotation: Stat,
    /// |decoded alpha − source alpha|.
    pub(super) opacity: Stat,
    /// |decoded − source| per log-scale axis.
    pub(super) log_scale: Stat,
    /// |decoded − source| per f_dc channel.
    pub(super) dc: Stat,
    /// Root mean square of the f_rest differences.
    pub(super) sh_rmse: f64,
}

impl Errors {
    pub(super) fn measure(source: &Scene, decoded: &Scene, to_source: &[usize]) -> Errors {
        let pairs = || to_source.iter().enumerate().map(|(i, &s)| (i, s));
        let sh = pairs()
            .flat_map(|(i, s)| decoded.rest(i).iter().zip(source.rest(s)))
            .map(|(d, s)| (*d as f64 - *s as f64).powi(2));
        let sh_count = decoded.len() * decoded.rest_len();
        Errors {
            position: Stat::of(
                pairs().map(|(i, s)| distance(&decoded.positions[i], &source.positions[s])),
            ),
            rotation: Stat::of(
                pairs().map(|(i, s)| angle(&decoded.rotations[i], &source.rotations[s])),
            ),
            opacity: Stat::of(pairs().map(|(i, s)| {
                (sigmoid(decoded.opacities[i]) - sigmoid(source.opacities[s])).abs()
            })),
            log_scale: Stat::of(pairs().flat_map(|(i, s)| {
                (0..3).map(move |a| {
                    (decoded.log_scales[i][a] as f64 - source.log_scales[s][a] as f64).abs()
                })
            })),
            dc: Stat::of(pairs().flat_map(|(i, s)| {
                (0..3).map(move |c| (decoded.sh_dc[i][c] as f64 - source.sh_dc[s][c] as f64).abs())
            })),
            sh_rmse: (sh.sum::<f64>() / sh_count.max(1) as f64).sqrt(),
        }
    }
}

impl std::fmt::Display for Errors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "position {:.3e} / {:.3e}, rotation {:.3e} / {:.3e} rad, opacity {:.3e} / {:.3e}, SH RMSE {:.5}",
            self.position.mean,
            self.position.max,
            self.rotation.mean,
            self.rotation.max,
            self.opacity.mean,
            self.opacity.max,
            self.sh_rmse
        )
    }
}

/// Angle in radians between the rotations of two (not necessarily unit) quaternions.
pub(super) fn angle(a: &[f32; 4], b: &[f32; 4]) -> f64 {
    let norm = |q: &[f32; 4]| q.iter().map(|c| (*c as f64).powi(2)).sum::<f64>().sqrt();
    let dot: f64 = (0..4).map(|k| a[k] as f64 * b[k] as f64).sum();
    2.0 * (dot.abs() / (norm(a) * norm(b))).min(1.0).acos()
}

#[test]
pub(super) fn ulps_apart_counts_representable_steps() {
    let next = |x: f64| f64::from_bits(x.to_bits() + 1);
    assert_eq!(ulps_apart(1.5, 1.5), 0);
    assert_eq!(ulps_apart(1.5, next(1.5)), 1);
    assert_eq!(ulps_apart(-1.5, -next(1.5)), 1);
    assert_eq!(ulps_apart(-0.0, 0.0), 0);
    // The two smallest subnormals of opposite sign are two steps apart (through zero).
    assert_eq!(ulps_apart(-next(0.0), next(0.0)), 2);
}
