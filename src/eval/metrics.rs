//! Error accumulators (RMSE, max and an approximate p99 in one pass, mergeable across threads)
//! and the per-attribute error formulas.

use serde::Serialize;

/// Summary of one error distribution over matched pairs.
///
/// All values are 0 when `count` is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ErrorStats {
    /// Number of values included (one per pair, or one per pair and axis/channel/coefficient).
    pub count: u64,
    /// Root mean square error (weighted mean of squares for weighted metrics).
    pub rmse: f64,
    /// 99th percentile (weighted for weighted metrics), from a histogram with bins 1/64 of an
    /// octave wide: within about 1 % of the exact value.
    pub p99: f64,
    /// Largest value (among values with non-zero weight for weighted metrics).
    pub max: f64,
    /// Values left out because one side was NaN, or non-finite and unequal to the other side.
    pub skipped: u64,
}

impl ErrorStats {
    /// The same distribution with every value divided by `divisor` (e.g. a bounding-box
    /// diagonal), for relative errors.
    pub fn scaled(&self, divisor: f64) -> ErrorStats {
        ErrorStats {
            rmse: self.rmse / divisor,
            p99: self.p99 / divisor,
            max: self.max / divisor,
            ..*self
        }
    }
}

/// Sub-bins per octave of the histogram (the top mantissa bits of an f64 used as the index).
const SUB_BITS: u32 = 6;
/// Smallest binned magnitude is 2^-LOW_OCTAVE; smaller non-zero values share the first bin.
const LOW_OCTAVE: u64 = 48;
/// Octaves covered: 2^-48 .. 2^16; larger values share the last bin (p99 is capped by max).
const OCTAVES: usize = 64;
const BINS: usize = OCTAVES << SUB_BITS;
/// Offset subtracted from `bits >> (52 - SUB_BITS)` so that 2^-LOW_OCTAVE maps to bin 0.
const BIN_BASE: u64 = (1023 - LOW_OCTAVE) << SUB_BITS;

/// Accumulates non-negative error values with optional weights.
#[derive(Debug, Clone)]
pub(crate) struct Accumulator {
    count: u64,
    skipped: u64,
    weight: f64,
    sum_sq: f64,
    max: f64,
    zero_weight: f64,
    bins: Vec<f64>,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            count: 0,
            skipped: 0,
            weight: 0.0,
            sum_sq: 0.0,
            max: 0.0,
            zero_weight: 0.0,
            bins: vec![0.0; BINS],
        }
    }
}

fn bin_of(value: f64) -> usize {
    let key = value.to_bits() >> (52 - SUB_BITS);
    (key.saturating_sub(BIN_BASE) as usize).min(BINS - 1)
}

/// Midpoint of bin `bin`'s value range.
fn bin_value(bin: usize) -> f64 {
    let lower = f64::from_bits((bin as u64 + BIN_BASE) << (52 - SUB_BITS));
    let upper = f64::from_bits((bin as u64 + 1 + BIN_BASE) << (52 - SUB_BITS));
    0.5 * (lower + upper)
}

impl Accumulator {
    /// Adds one error value with weight 1.
    pub(crate) fn add(&mut self, value: f64) {
        self.add_weighted(value, 1.0);
    }

    /// Adds one error value `value >= 0` with weight `weight >= 0`.
    pub(crate) fn add_weighted(&mut self, value: f64, weight: f64) {
        self.count += 1;
        if weight <= 0.0 {
            return;
        }
        self.weight += weight;
        self.sum_sq += weight * value * value;
        self.max = self.max.max(value);
        if value == 0.0 {
            self.zero_weight += weight;
        } else {
            self.bins[bin_of(value)] += weight;
        }
    }

    /// Counts a value that could not be compared.
    pub(crate) fn skip(&mut self) {
        self.skipped += 1;
    }

    /// Adds everything `other` accumulated.
    pub(crate) fn merge(&mut self, other: &Accumulator) {
        self.count += other.count;
        self.skipped += other.skipped;
        self.weight += other.weight;
        self.sum_sq += other.sum_sq;
        self.max = self.max.max(other.max);
        self.zero_weight += other.zero_weight;
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a += b;
        }
    }

    /// The summary.
    pub(crate) fn finish(&self) -> ErrorStats {
        if self.weight <= 0.0 {
            return ErrorStats {
                count: self.count,
                skipped: self.skipped,
                ..ErrorStats::default()
            };
        }
        let target = 0.99 * self.weight;
        let mut p99 = 0.0;
        let mut cumulative = self.zero_weight;
        if cumulative < target {
            for (bin, w) in self.bins.iter().enumerate() {
                cumulative += w;
                if cumulative >= target {
                    p99 = bin_value(bin);
                    break;
                }
            }
        }
        ErrorStats {
            count: self.count,
            rmse: (self.sum_sq / self.weight).sqrt(),
            p99: if cumulative < target {
                self.max
            } else {
                p99.min(self.max)
            },
            max: self.max,
            skipped: self.skipped,
        }
    }
}

/// sigmoid(logit) in f64; ±∞ give 1 and 0. NaN stays NaN.
pub(crate) fn sigmoid(logit: f32) -> f64 {
    1.0 / (1.0 + (-(logit as f64)).exp())
}

/// Rotation angle in degrees between the rotations of two quaternions (w, x, y, z), after
/// normalising both: 2·acos(|⟨q, q'⟩|), computed as 4·atan2(|q − q'|, |q + q'|) with q' signed
/// so that ⟨q, q'⟩ ≥ 0 (equal mathematically, and exact near 0 where acos is not).
/// `None` when either is zero or not finite.
pub(crate) fn rotation_angle_deg(a: [f32; 4], b: [f32; 4]) -> Option<f64> {
    let unit = |q: [f32; 4]| {
        let q = q.map(f64::from);
        let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
        (norm > 0.0 && norm.is_finite()).then(|| q.map(|c| c / norm))
    };
    let (a, mut b) = (unit(a)?, unit(b)?);
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    if dot < 0.0 {
        b = b.map(|c| -c);
    }
    let diff = (0..4).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>().sqrt();
    let sum = (0..4).map(|k| (a[k] + b[k]).powi(2)).sum::<f64>().sqrt();
    Some((4.0 * diff.atan2(sum)).to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rmse_max_and_p99_of_a_known_distribution() {
        let mut acc = Accumulator::default();
        // 1000 values 1..=1000 scaled by 1e-3: p99 = 0.99 (the 990th value), max 1.
        for k in 1..=1000 {
            acc.add(k as f64 * 1e-3);
        }
        acc.skip();
        let s = acc.finish();
        let mean_sq: f64 = (1..=1000).map(|k| (k as f64 * 1e-3).powi(2)).sum::<f64>() / 1000.0;
        assert_eq!(s.count, 1000);
        assert_eq!(s.skipped, 1);
        assert!((s.rmse - mean_sq.sqrt()).abs() < 1e-12);
        assert_eq!(s.max, 1.0);
        assert!((s.p99 - 0.99).abs() < 0.01 * 0.99, "p99 {}", s.p99);
    }

    #[test]
    fn merge_equals_single_pass_and_zeros_give_zero_p99() {
        let (mut a, mut b, mut all) = (
            Accumulator::default(),
            Accumulator::default(),
            Accumulator::default(),
        );
        for k in 0..200 {
            let v = if k < 199 { 0.0 } else { 5.0 };
            if k % 2 == 0 { &mut a } else { &mut b }.add(v);
            all.add(v);
        }
        a.merge(&b);
        assert_eq!(a.finish(), all.finish());
        assert_eq!(all.finish().p99, 0.0);
        assert_eq!(all.finish().max, 5.0);
    }

    #[test]
    fn weighted_rmse_is_a_weighted_mean_of_squares() {
        let mut acc = Accumulator::default();
        acc.add_weighted(1.0, 3.0);
        acc.add_weighted(2.0, 1.0);
        acc.add_weighted(100.0, 0.0); // invisible: counted, no influence
        let s = acc.finish();
        assert_eq!(s.count, 3);
        assert!((s.rmse - ((3.0 + 4.0) / 4.0f64).sqrt()).abs() < 1e-12);
        assert_eq!(s.max, 2.0);
    }

    #[test]
    fn rotation_angle_matches_the_acos_formula_and_ignores_sign_and_norm() {
        let half = 20f64.to_radians() / 2.0;
        let q = [1.0f32, 0.0, 0.0, 0.0];
        let r = [half.cos() as f32, 0.0, half.sin() as f32, 0.0];
        let angle = rotation_angle_deg(q, r).unwrap();
        assert!((angle - 20.0).abs() < 1e-5, "{angle}");
        let scaled_negated = r.map(|c| -3.0 * c);
        assert!((rotation_angle_deg(q, scaled_negated).unwrap() - angle).abs() < 1e-9);
        assert_eq!(rotation_angle_deg(r, r), Some(0.0));
        assert_eq!(rotation_angle_deg(q, [0.0; 4]), None);
        let acos = 2.0 * (half.cos()).acos().to_degrees();
        assert!((angle - acos).abs() < 1e-5);
    }

    #[test]
    fn sigmoid_handles_infinities() {
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(f32::NAN).is_nan());
    }
}
