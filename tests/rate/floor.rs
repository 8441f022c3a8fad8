//! The floor under `--quality small`: the fewest bytes *any* choice of codes could reach at
//! splat-transform's errors, so that the 0.90 can be set against what is possible.
//!
//! High-resolution rate–distortion theory. Today's codes (`max`) put each coordinate on a
//! uniform grid of step Δ; entropy-coded they cost h(X) − log2 Δ bits per coordinate. Any
//! encoder whose mean squared error per coordinate is D costs at least h(X) − ½·log2(2πe·D)
//! (the Shannon lower bound, which holds for the sum over coordinates whatever the split).
//! So at splat-transform's error no choice of codes saves more than
//! Σ ½·log2(2πe·D / Δ²) bits over the coordinates: 1.25 bits each where D is truncation's
//! Δ²/3. The steps are each splat's own:
//! - positions: the 16-bit symlog grid in world units, Δ·(1 + |x|) per axis;
//! - rotations: the smallest-three byte step √2/255 through the angle metric. For a unit
//!   quaternion with largest component q_m, an error δ in the three stored components turns it
//!   by θ ≈ 2·|J·δ| radians, JᵀJ = I + v·vᵀ/q_m², det = 1/q_m²; the bound per splat becomes
//!   1.5·log2(2πe·D / (4·DEG²·Δ²)) + log2 |q_m| with D the angle MSE per coordinate;
//! - opacity: the byte step 1/255 of alpha. Where the original already sits on that grid
//!   (today's error ≈ 0) the high-resolution form does not apply; there the saving is at most
//!   the entropy of an integer error with second moment D/Δ² (a discrete Gaussian), and the
//!   larger of the two is taken.
//!
//! Scales and colours use splat-transform's codebooks (the same codes, the same error) and SH
//! palettes are not modelled, so the floor is given only for scenes where those attributes
//! have no margin. What the floor assumes is that lossless WebP codes any choice of codes as
//! close to their entropy as it codes today's (the encoder's effort 2 → 9 gains < 0.5 %), in
//! the same texel order: a different order changes today's bytes, and the floor with them.

use std::f64::consts::{E, PI, SQRT_2};
use std::path::Path;

/// Degrees per radian.
const DEG: f64 = 180.0 / PI;

/// splat-transform's and our `max` RMSEs by attribute name (`eval --json` keys).
pub struct Rmses<'a> {
    pub theirs: &'a [(String, f64)],
    pub max: &'a [(String, f64)],
}

impl Rmses<'_> {
    fn theirs(&self, key: &str) -> f64 {
        lookup(self.theirs, key)
    }

    /// Attributes where splat-transform's error exceeds ours and the floor has no model.
    fn unmodelled_margins(&self) -> Vec<String> {
        self.theirs
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "position" | "rotation_deg" | "opacity"))
            .filter(|(key, theirs)| *theirs > lookup(self.max, key) * (1.0 + 1e-6) + 1e-12)
            .map(|(key, _)| key.clone())
            .collect()
    }
}

fn lookup(rmses: &[(String, f64)], key: &str) -> f64 {
    rmses
        .iter()
        .find(|(k, _)| k == key)
        .map_or(f64::NAN, |(_, v)| *v)
}

/// Bits per attribute that no code choice at splat-transform's errors can beat.
#[derive(Debug, Clone, Copy)]
pub struct Savings {
    pub splats: usize,
    pub position: f64,
    pub rotation: f64,
    pub opacity: f64,
}

impl Savings {
    pub fn bytes(&self) -> f64 {
        (self.position + self.rotation + self.opacity) / 8.0
    }
}

/// The floor in bytes for `original` (a PLY): `max_bytes` less the most any code choice can
/// save, or why there is none.
pub fn floor(original: &Path, max_bytes: u64, rmses: &Rmses) -> Result<(f64, Savings), String> {
    let unmodelled = rmses.unmodelled_margins();
    if !unmodelled.is_empty() {
        return Err(format!("margin in {}", unmodelled.join(", ")));
    }
    let scene = splatpress::formats::read(original).map_err(|e| e.to_string())?;
    let savings = Savings {
        splats: scene.len(),
        position: position_bits(&scene.positions, rmses.theirs("position")),
        rotation: rotation_bits(&scene.rotations, rmses.theirs("rotation_deg")),
        opacity: opacity_bits(&scene.opacities, rmses.theirs("opacity")),
    };
    Ok((max_bytes as f64 - savings.bytes(), savings))
}

/// ½·log2(2πe·D/Δ²) summed over the position coordinates, D = rmse²/3 per axis.
pub fn position_bits(positions: &[[f32; 3]], rmse: f64) -> f64 {
    let means = splatpress::encode::quantize::means(positions);
    let per_axis = rmse * rmse / 3.0;
    let mut bits = 0.0;
    for p in positions {
        for a in 0..3 {
            let range = means.maxs[a] - means.mins[a];
            let step = range / 65535.0 * (1.0 + f64::from(p[a]).abs());
            if step > 0.0 && step.is_finite() {
                bits += 0.5 * (2.0 * PI * E * per_axis / (step * step)).log2();
            }
        }
    }
    bits.max(0.0)
}

/// The rotation bound of the module docs summed over splats. A quaternion `eval` cannot
/// measure (zero, non-finite) could take any code for free: it counts its whole 24 bits.
pub fn rotation_bits(rotations: &[[f32; 4]], rmse_deg: f64) -> f64 {
    let step = SQRT_2 / 255.0;
    let per_coordinate = rmse_deg * rmse_deg / 3.0;
    let common = 1.5 * (2.0 * PI * E * per_coordinate / (4.0 * DEG * DEG * step * step)).log2();
    let mut bits = 0.0;
    for q in rotations {
        let q = q.map(f64::from);
        let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            bits += 24.0;
            continue;
        }
        let largest = q.iter().fold(0.0f64, |m, c| m.max(c.abs())) / norm;
        bits += common + largest.log2();
    }
    bits.max(0.0)
}

/// Per splat, the larger of the high-resolution bound and the discrete one (module docs).
pub fn opacity_bits(logits: &[f32], rmse: f64) -> f64 {
    let step = 1.0 / 255.0;
    let ratio = rmse * rmse / (step * step);
    let high_resolution = 0.5 * (2.0 * PI * E * ratio).log2();
    let per_splat = high_resolution.max(integer_error_entropy(ratio));
    per_splat.max(0.0) * logits.len() as f64
}

/// The largest entropy (bits) of an integer-valued error e with E[e²] ≤ `second_moment`:
/// the discrete Gaussian p(k) ∝ exp(−λk²), λ found by bisection.
pub fn integer_error_entropy(second_moment: f64) -> f64 {
    if second_moment <= 0.0 {
        return 0.0;
    }
    let moments = |lambda: f64| {
        let weights: Vec<(f64, f64)> = (-64i32..=64)
            .map(|k| (f64::from(k), (-lambda * f64::from(k * k)).exp()))
            .collect();
        let total: f64 = weights.iter().map(|(_, w)| w).sum();
        let second = weights.iter().map(|(k, w)| w * k * k).sum::<f64>() / total;
        let entropy = -weights
            .iter()
            .map(|(_, w)| w / total)
            .filter(|&p| p > 0.0)
            .map(|p| p * p.log2())
            .sum::<f64>();
        (second, entropy)
    };
    let (mut lo, mut hi) = (1e-9f64, 200.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if moments(mid).0 > second_moment {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    moments(hi).1
}

#[test]
fn integer_error_entropy_matches_known_cases() {
    // No error allowed: no freedom.
    assert_eq!(integer_error_entropy(0.0), 0.0);
    // A large moment approaches the continuous Gaussian's ½·log2(2πe·σ²).
    let wide = integer_error_entropy(100.0);
    let gaussian = 0.5 * (2.0 * PI * E * 100.0f64).log2();
    assert!((wide - gaussian).abs() < 1e-3, "{wide} vs {gaussian}");
    // Second moment 2/3 is met by the uniform law on {−1, 0, 1} (log2 3 bits); the maximum
    // at that moment cannot be lower.
    assert!(integer_error_entropy(2.0 / 3.0) >= 3f64.log2() - 1e-9);
}

#[test]
fn rotation_bound_is_one_and_a_quarter_bits_a_coordinate_at_truncation_error() {
    // The identity has q_m = 1; rounding's angle MSE per coordinate is 4·DEG²·Δ²/12 and
    // truncation's four times that: the bound is ½·log2(2πe/3) ≈ 1.25 bits per coordinate.
    let step = SQRT_2 / 255.0;
    let truncation_rmse = (3.0 * 4.0 * DEG * DEG * step * step / 3.0).sqrt();
    let bits = rotation_bits(&[[1.0, 0.0, 0.0, 0.0]], truncation_rmse);
    let expected = 3.0 * 0.5 * (2.0 * PI * E / 3.0).log2();
    assert!((bits - expected).abs() < 1e-9, "{bits} vs {expected}");
}
