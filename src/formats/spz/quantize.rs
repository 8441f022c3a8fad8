//! Packing and unpacking of each SPZ attribute: pure functions, one value at a time, with the
//! reference's formulas and float order (`src/cc/load-spz.cc` `packGaussians`,
//! `unpackGaussians`; `src/cc/splat-utils.h` `unquantizeSH`, `unpackQuaternionSmallestThree`,
//! `unpackQuaternionFirstThree`), so that our bytes match the reference's bit for bit.
//!
//! | attribute | bytes | packed | unpacked |
//! |---|---|---|---|
//! | position | 3 per axis | signed 24-bit fixed point, `fractionalBits` fraction bits | `q / 2^fb` |
//! | alpha | 1 | `round(sigmoid(logit) · 255)` | logit of `b / 255` (clamped off 0 and 1) |
//! | colour | 1 per channel | `round(f_dc · 0.15 · 255 + 127.5)` | `(b / 255 − 0.5) / 0.15` |
//! | scale | 1 per axis | `round((ln σ + 10) · 16)` | `b / 16 − 10` |
//! | rotation v3+ | 4 | smallest three: 2-bit index of the largest, 3 × (sign + 9-bit magnitude / √½) | |
//! | rotation v2 | 3 | x, y, z of the w ≥ 0 unit quaternion, `round(127.5 · v + 127.5)` | |
//! | SH | 1 per coefficient | `round(v · 128) + 128`, rounded to a bucket of 2^(8 − bits) | `(b − 128) / 128` |

/// The colour scale SPZ uses instead of SH_C0 (`colorScale` in the reference).
pub const COLOR_SCALE: f32 = 0.15;
/// Fraction bits written for positions when the scene fits (≈ 0.24 mm steps, ±2048 units).
pub const DEFAULT_FRACTIONAL_BITS: u8 = 12;
/// Significant bits kept for band-1 SH coefficients (the reference's `sh1Bits` default).
pub const SH1_BITS: u8 = 5;
/// Significant bits kept for SH coefficients of bands 2 and up (`shRestBits`).
pub const SH_REST_BITS: u8 = 4;
/// Largest magnitude of a 24-bit signed fixed-point position.
pub const FIXED24_MAX: i32 = (1 << 23) - 1;
/// How far off 0 and 1 an unpacked alpha is clamped before the logit, so that bytes 0 and 255
/// give finite logits (±13.8), as splat-transform does (the reference gives ±∞).
const ALPHA_EPSILON: f64 = 1e-6;
/// 9 bits of magnitude in a smallest-three component.
const MAG_MASK: u32 = (1 << 9) - 1;

/// Rounds half away from zero and clamps to a byte (the reference's `toUint8`; NaN gives 0).
pub fn to_u8(x: f32) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

/// The largest fraction-bit count, at most [`DEFAULT_FRACTIONAL_BITS`], at which `max_abs`
/// still fits 24 bits; `None` when even 0 fraction bits cannot hold it.
pub fn fractional_bits_for(max_abs: f32) -> Option<u8> {
    (0..=DEFAULT_FRACTIONAL_BITS)
        .rev()
        .find(|&fb| (max_abs * (1u32 << fb) as f32).round() <= FIXED24_MAX as f32)
}

/// One position coordinate as 24-bit fixed point with `fb` fraction bits (clamped to the
/// 24-bit range; NaN gives 0).
pub fn pack_position(v: f32, fb: u8) -> [u8; 3] {
    let fixed = ((v * (1u32 << fb) as f32).round() as i32).clamp(-FIXED24_MAX - 1, FIXED24_MAX);
    let b = fixed.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// One position coordinate from 24-bit fixed point.
pub fn unpack_position(b: [u8; 3], fb: u8) -> f32 {
    let fixed = i32::from_le_bytes([b[0], b[1], b[2], if b[2] & 0x80 != 0 { 0xff } else { 0 }]);
    fixed as f32 * (1.0 / (1u32 << fb) as f32)
}

/// A natural-log scale as a byte.
pub fn pack_scale(log_scale: f32) -> u8 {
    to_u8((log_scale + 10.0) * 16.0)
}

/// A byte as a natural-log scale.
pub fn unpack_scale(b: u8) -> f32 {
    b as f32 / 16.0 - 10.0
}

/// An opacity logit as a byte of sigmoid(logit).
pub fn pack_alpha(logit: f32) -> u8 {
    to_u8(1.0 / (1.0 + (-logit).exp()) * 255.0)
}

/// A byte of opacity as a logit.
pub fn unpack_alpha(b: u8) -> f32 {
    // In f64, as splat-transform computes it, so both decode to the same f32.
    let a = (b as f64 / 255.0).clamp(ALPHA_EPSILON, 1.0 - ALPHA_EPSILON);
    (a / (1.0 - a)).ln() as f32
}

/// An SH DC coefficient (`f_dc`) as a byte.
pub fn pack_color(dc: f32) -> u8 {
    to_u8(dc * (COLOR_SCALE * 255.0) + 0.5 * 255.0)
}

/// A byte as an SH DC coefficient.
pub fn unpack_color(b: u8) -> f32 {
    // In f64, as splat-transform computes it (the reference's f32 differs by an ulp at most).
    ((b as f64 / 255.0 - 0.5) / 0.15) as f32
}

/// A higher-band SH coefficient as a byte keeping `bits` significant bits (1..=8): 8-bit
/// quantisation, then rounding to the nearest bucket of 2^(8 − bits), 0 always on a bucket
/// centre (`quantizeSH`).
pub fn pack_sh(v: f32, bits: u8) -> u8 {
    let bucket = 1i32 << (8 - bits.clamp(1, 8));
    let q = ((v * 128.0).round() + 128.0) as i32;
    let q = q.saturating_add(bucket / 2) / bucket * bucket;
    q.clamp(0, 255) as u8
}

/// A byte as a higher-band SH coefficient.
pub fn unpack_sh(b: u8) -> f32 {
    (b as f32 - 128.0) / 128.0
}

/// Bits kept for SH coefficient `j` of a channel (0..15): band 1 is `j < 3`.
pub fn sh_bits(j: usize) -> u8 {
    if j < 3 { SH1_BITS } else { SH_REST_BITS }
}

/// Normalises a quaternion (x, y, z, w); a zero-length or non-finite one becomes the identity.
pub fn normalized(q: [f32; 4]) -> [f32; 4] {
    let n = q.iter().map(|v| v * v).sum::<f32>().sqrt();
    if n > 0.0 && n.is_finite() {
        q.map(|v| v / n)
    } else {
        [0.0, 0.0, 0.0, 1.0]
    }
}

/// A unit quaternion (x, y, z, w) in "smallest three" form: the index of the largest component
/// in the top two bits, then the other three, each a sign bit and a 9-bit magnitude of
/// `|v| / √½`, the first of them in the most significant place; little-endian.
pub fn pack_smallest_three(q: [f32; 4]) -> [u8; 4] {
    let mut largest = 0;
    for i in 1..4 {
        if q[i].abs() > q[largest].abs() {
            largest = i;
        }
    }
    let negate = q[largest] < 0.0;
    let mut comp = largest as u32;
    for (i, &v) in q.iter().enumerate() {
        if i == largest {
            continue;
        }
        let negbit = ((v < 0.0) ^ negate) as u32;
        let mag = (MAG_MASK as f32 * (v.abs() / std::f32::consts::FRAC_1_SQRT_2) + 0.5) as u32;
        // Two components of equal largest size give 511.5: keep it in its 9 bits.
        comp = (comp << 10) | (negbit << 9) | mag.min(MAG_MASK);
    }
    comp.to_le_bytes()
}

/// A "smallest three" quaternion as (x, y, z, w), unit length.
pub fn unpack_smallest_three(b: [u8; 4]) -> [f32; 4] {
    let mut comp = u32::from_le_bytes(b);
    let largest = (comp >> 30) as usize;
    let mut q = [0.0f32; 4];
    let mut sum = 0.0;
    for i in (0..4).rev() {
        if i == largest {
            continue;
        }
        let mag = comp & MAG_MASK;
        let neg = (comp >> 9) & 1 == 1;
        comp >>= 10;
        let v = std::f32::consts::FRAC_1_SQRT_2 * mag as f32 / MAG_MASK as f32;
        q[i] = if neg { -v } else { v };
        sum += q[i] * q[i];
    }
    q[largest] = (1.0 - sum).max(0.0).sqrt();
    q
}

/// A version-2 quaternion (x, y, z bytes of the w ≥ 0 unit quaternion) as (x, y, z, w).
pub fn unpack_first_three(b: [u8; 3]) -> [f32; 4] {
    let [x, y, z] = b.map(|v| v as f32 / 127.5 - 1.0);
    [x, y, z, (1.0 - (x * x + y * y + z * z)).max(0.0).sqrt()]
}

/// The version-2 packing (x, y, z of the w ≥ 0 quaternion), for tests that build v2 files.
#[cfg(test)]
pub fn pack_first_three(q: [f32; 4]) -> [u8; 3] {
    let s = if q[3] < 0.0 { -127.5 } else { 127.5 };
    [0, 1, 2].map(|i| to_u8(q[i] * s + 127.5))
}
