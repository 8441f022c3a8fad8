//! Coordinate systems: SPZ stores RUB (x right, y up, z back: OpenGL, three.js) unless the
//! `SPZ_ADOBE_coordinate_system` extension names another; a [`Scene`](crate::Scene) is RDF
//! (x right, y down, z forward: the INRIA PLY).
//!
//! Transcribed from the reference, `src/cc/splat-types.h` (`coordinateConverter`, the
//! `kAnalyticRotateMinusPiHalfAboutXTable` SH rotations) in `nianticlabs/spz`. Within one
//! family (the first eight systems) a conversion flips the sign of axes: positions by
//! `flip_p`, the quaternion's x, y, z by `flip_q` (w is never flipped), SH coefficient `j` by
//! `flip_sh[j]`. A system of the rotated family (codes 9 to 16: y and z swapped) is first
//! flipped into the standard family, then rotated by −π/2 about x (positions, quaternions and
//! each SH band).

/// The 16 named systems of the reference, by their code (0 is `UNSPECIFIED`).
const NAMES: [&str; 17] = [
    "UNSPECIFIED",
    "LDB",
    "RDB",
    "LUB",
    "RUB",
    "LDF",
    "RDF",
    "LUF",
    "RUF",
    "LFD",
    "RFD",
    "LFU",
    "RFU",
    "LBD",
    "RBD",
    "LBU",
    "RBU",
];

/// Code of RUB, SPZ's default storage system.
pub const RUB: u32 = 4;
/// Code of RDF, the PLY system a `Scene` is in.
pub const RDF: u32 = 6;
/// The largest defined code (RBU).
pub const MAX_CODE: u32 = 16;

/// The name of a coordinate-system code (`"RUB"`), or `"unknown"`.
pub fn name(code: u32) -> &'static str {
    NAMES.get(code as usize).copied().unwrap_or("unknown")
}

/// How to carry positions, quaternions and SH coefficients from one system to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Converter {
    /// Sign per position axis (applied before `rotate`).
    pub flip_p: [f32; 3],
    /// Sign per quaternion x, y, z (applied before `rotate`).
    pub flip_q: [f32; 3],
    /// Sign per SH coefficient of bands 1 to 3 (applied before `rotate`).
    pub flip_sh: [f32; 15],
    /// Whether a rotation of −π/2 about x follows the flips (from the rotated family).
    pub rotate: bool,
}

/// Flips between two systems of the same family (`axesMatch` in the reference).
fn flips(from: u32, to: u32) -> ([f32; 3], [f32; 3], [f32; 15]) {
    let (a, b) = (from.wrapping_sub(1), to.wrapping_sub(1));
    let sign = |bit: u32| {
        if from == 0 || to == 0 || (a >> bit) & 1 == (b >> bit) & 1 {
            1.0
        } else {
            -1.0
        }
    };
    let (x, y, z) = (sign(0), sign(1), sign(2));
    let flip_sh = [
        y,
        z,
        x,
        x * y,
        y * z,
        1.0,
        x * z,
        1.0,
        y,
        x * y * z,
        y,
        z,
        x,
        z,
        x,
    ];
    ([x, y, z], [y * z, x * z, x * y], flip_sh)
}

/// The conversion from `from` into the standard-family system `to` (RDF when reading, RUB
/// when writing). `UNSPECIFIED` on either side converts nothing, as in the reference.
pub fn converter(from: u32, to: u32) -> Converter {
    debug_assert!(from <= MAX_CODE && (1..=8).contains(&to));
    let rotate = from > 8;
    let inner = if rotate { from - 8 } else { from };
    let (flip_p, flip_q, flip_sh) = flips(inner, to);
    Converter {
        flip_p,
        flip_q,
        flip_sh,
        rotate,
    }
}

impl Converter {
    /// True when the conversion changes nothing.
    pub fn is_identity(&self) -> bool {
        !self.rotate
            && self.flip_p == [1.0; 3]
            && self.flip_q == [1.0; 3]
            && self.flip_sh == [1.0; 15]
    }

    /// Converts a position.
    pub fn position(&self, p: [f32; 3]) -> [f32; 3] {
        let [x, y, z] = [0, 1, 2].map(|i| p[i] * self.flip_p[i]);
        if self.rotate { [x, z, -y] } else { [x, y, z] }
    }

    /// Converts a quaternion given as (x, y, z, w).
    pub fn quaternion(&self, q: [f32; 4]) -> [f32; 4] {
        let [x, y, z] = [0, 1, 2].map(|i| q[i] * self.flip_q[i]);
        let w = q[3];
        if !self.rotate {
            return [x, y, z, w];
        }
        let s = std::f32::consts::FRAC_1_SQRT_2;
        [s * (-w + x), s * (y + z), s * (-y + z), s * (w + x)]
    }

    /// Converts the higher-band SH coefficients of one colour channel in place: `coeffs` holds
    /// bands 1.. in order (3, 8 or 15 values).
    pub fn sh(&self, coeffs: &mut [f32]) {
        for (v, f) in coeffs.iter_mut().zip(self.flip_sh) {
            *v *= f;
        }
        if self.rotate {
            rotate_sh_minus_half_pi_x(coeffs);
        }
    }
}

/// Rotates SH bands 1 to 3 of one channel by −π/2 about x (the reference's
/// `kAnalyticRotateMinusPiHalfAboutXTable`).
fn rotate_sh_minus_half_pi_x(c: &mut [f32]) {
    if c.len() >= 3 {
        let s = [c[0], c[1], c[2]];
        c[0] = -s[1];
        c[1] = s[0];
        c[2] = s[2];
    }
    if c.len() >= 8 {
        let s: [f32; 5] = std::array::from_fn(|i| c[3 + i]);
        let s3 = 3f32.sqrt();
        let p = &mut c[3..8];
        p[0] = -s[3];
        p[1] = -s[1];
        p[2] = -0.5 * s[2] - (s3 / 2.0) * s[4];
        p[3] = s[0];
        p[4] = -(s3 / 2.0) * s[2] + 0.5 * s[4];
    }
    if c.len() >= 15 {
        let s: [f32; 7] = std::array::from_fn(|i| c[8 + i]);
        let s15 = 15f32.sqrt();
        let (a, b) = ((5.0f32 / 8.0).sqrt(), (3.0f32 / 8.0).sqrt());
        let p = &mut c[8..15];
        p[0] = a * s[3] - b * s[5];
        p[1] = -s[1];
        p[2] = b * s[3] + a * s[5];
        p[3] = -a * s[0] - b * s[2];
        p[4] = -0.25 * s[4] - (s15 / 4.0) * s[6];
        p[5] = b * s[0] - a * s[2];
        p[6] = -(s15 / 4.0) * s[4] + 0.25 * s[6];
    }
}
