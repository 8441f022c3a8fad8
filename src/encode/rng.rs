//! A counter-based random generator: every random number is a pure function of
//! (seed, stream, counter), so any backend, thread or call order draws the same values.

/// A well-mixed 64-bit value for `(seed, stream, counter)` (SplitMix64 finaliser over a
/// combination of the three).
pub fn hash(seed: u64, stream: u64, counter: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(counter.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7))
        .wrapping_add(0x2545_F491_4F6C_DD1D);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform integer in `0..n` (n > 0) for `(seed, stream, counter)`.
pub fn below(seed: u64, stream: u64, counter: u64, n: u64) -> u64 {
    ((hash(seed, stream, counter) as u128 * n as u128) >> 64) as u64
}

/// A uniform float in [0, 1) for `(seed, stream, counter)`.
pub fn unit(seed: u64, stream: u64, counter: u64) -> f32 {
    (hash(seed, stream, counter) >> 40) as f32 / (1u64 << 24) as f32
}

/// SplitMix64: a sequential stream for reproducible data. The one generator of this
/// repository's tests and benchmarks (the encoder itself draws from [`hash`], which does not
/// depend on call order).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The stream starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 well-mixed bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, cosine branch).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Uniform f32 in [-1, 1), 24 bits.
    pub fn signed(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// An integer in `0..n` (n > 0; modulo, so very slightly uneven for huge n).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// An integer in `lo..hi` (lo < hi).
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_spreads() {
        let mut seen = [0u32; 10];
        for i in 0..10_000 {
            seen[below(7, 1, i, 10) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
        assert_ne!(hash(1, 0, 0), hash(2, 0, 0));
        assert_ne!(hash(1, 0, 0), hash(1, 1, 0));
    }
}
