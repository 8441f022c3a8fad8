//! Byte-level mutations, the same for every format: bit flips, interesting values, truncation
//! (anywhere and at structural points), deletion, duplication of ranges, and garbage at the end.
//! Each call appends a line to the case's log, so a finding says how it was made.

use crate::rng::Rng;

/// Single bytes that often sit on a boundary.
pub const BYTES: [u8; 7] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x20];

/// 32-bit values that overflow counts, sizes and offsets (written little-endian).
pub const WORDS: [u32; 10] = [
    0,
    1,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff_fffe,
    0x0001_0000,
    0x1000_0000,
    0x00ff_ffff,
    0xffff,
];

/// 64-bit patterns: huge integers, NaN and infinities as f64, f32 pairs of NaN.
pub const WIDE: [u64; 6] = [
    u64::MAX,
    0x7fff_ffff_ffff_ffff,
    0x7ff8_0000_0000_0000,
    0x7ff0_0000_0000_0000,
    0x7fc0_0000_7fc0_0000,
    0x7f80_0000_ff80_0000,
];

/// Where mutations should land more often: the first `hot` bytes (a header), and byte offsets
/// where the structure changes (ends of headers, element boundaries, chunk starts).
#[derive(Debug, Clone, Default)]
pub struct Focus {
    /// Length of the header region; half of the positions fall inside it when non-zero.
    pub hot: usize,
    /// Structural offsets, used as truncation points and field positions.
    pub points: Vec<usize>,
}

/// A position in `0..len` (len > 0), inside the hot region half the time.
fn position(rng: &mut Rng, len: usize, focus: &Focus) -> usize {
    if focus.hot > 0 && rng.chance(1, 2) {
        rng.below(focus.hot.min(len))
    } else {
        rng.below(len)
    }
}

/// Applies 1 to 4 random byte mutations to `data` (more rarely more), logging each.
pub fn havoc(rng: &mut Rng, data: &mut Vec<u8>, focus: &Focus, log: &mut Vec<String>) {
    let rounds = 1 + [0, 0, 0, 1, 1, 2, 3][rng.below(7)];
    for _ in 0..rounds {
        one(rng, data, focus, log);
    }
}

/// One byte mutation.
pub fn one(rng: &mut Rng, data: &mut Vec<u8>, focus: &Focus, log: &mut Vec<String>) {
    if data.is_empty() {
        let n = 1 + rng.below(64);
        data.extend((0..n).map(|_| rng.next_u64() as u8));
        log.push(format!("filled an empty file with {n} random bytes"));
        return;
    }
    let len = data.len();
    match rng.below(11) {
        0 | 1 => {
            let flips = 1 + rng.below(8);
            for _ in 0..flips {
                let at = position(rng, len, focus);
                let bit = rng.below(8);
                data[at] ^= 1 << bit;
            }
            log.push(format!("flipped {flips} random bits"));
        }
        2 => {
            let at = position(rng, len, focus);
            let v = *rng.pick(&BYTES);
            data[at] = v;
            log.push(format!("set byte {at} to {v:#04x}"));
        }
        3 | 4 => {
            let at = aligned_or_point(rng, len, 4, focus);
            if at + 4 <= len {
                let old = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
                let v = match rng.below(4) {
                    0 => old.wrapping_add(1),
                    1 => old.wrapping_sub(1),
                    2 => old.wrapping_mul(2).wrapping_add(rng.below(1 << 20) as u32),
                    _ => *rng.pick(&WORDS),
                };
                data[at..at + 4].copy_from_slice(&v.to_le_bytes());
                log.push(format!("set u32 at byte {at} from {old:#x} to {v:#x}"));
            }
        }
        5 => {
            let at = aligned_or_point(rng, len, 8, focus);
            if at + 8 <= len {
                let v = *rng.pick(&WIDE);
                data[at..at + 8].copy_from_slice(&v.to_le_bytes());
                log.push(format!("set 8 bytes at byte {at} to {v:#x}"));
            }
        }
        6 => {
            let at = if !focus.points.is_empty() && rng.chance(1, 2) {
                let p = *rng.pick(&focus.points);
                (p + rng.below(3)).saturating_sub(1).min(len)
            } else {
                rng.below(len)
            };
            data.truncate(at);
            log.push(format!("truncated to {at} bytes (of {len})"));
        }
        7 => {
            let start = position(rng, len, focus);
            let n = 1 + rng.below((len - start).min(4096));
            data.drain(start..start + n);
            log.push(format!("deleted {n} bytes at byte {start}"));
        }
        8 => {
            let start = position(rng, len, focus);
            let n = 1 + rng.below((len - start).min(4096));
            let copy = data[start..start + n].to_vec();
            let to = position(rng, len, focus);
            data.splice(to..to, copy);
            log.push(format!(
                "duplicated {n} bytes from byte {start} at byte {to}"
            ));
        }
        9 => {
            let n = 1 + rng.below(256);
            let random = rng.chance(1, 2);
            if random {
                data.extend((0..n).map(|_| rng.next_u64() as u8));
            } else {
                let start = rng.below(len);
                let end = (start + n).min(len);
                let copy = data[start..end].to_vec();
                data.extend(copy);
            }
            log.push(format!(
                "appended {n} {} bytes",
                if random { "random" } else { "copied" }
            ));
        }
        _ => {
            let at = position(rng, len, focus);
            let n = 1 + rng.below(16).min(len - at - 1);
            for b in &mut data[at..(at + n).min(len)] {
                *b = rng.next_u64() as u8;
            }
            log.push(format!(
                "overwrote {n} bytes at byte {at} with random bytes"
            ));
        }
    }
}

/// A field position: a structural point half the time (when there are any), else a position
/// aligned to `align` (hot region preferred).
fn aligned_or_point(rng: &mut Rng, len: usize, align: usize, focus: &Focus) -> usize {
    if !focus.points.is_empty() && rng.chance(1, 2) {
        return *rng.pick(&focus.points);
    }
    position(rng, len, focus) / align * align
}

/// Overwrites one 4-byte little-endian field among `fields` (byte offsets) with a huge or
/// boundary value: the "huge count" mutation for binary headers.
pub fn huge_field(rng: &mut Rng, data: &mut [u8], fields: &[(usize, &str)], log: &mut Vec<String>) {
    let usable: Vec<&(usize, &str)> = fields
        .iter()
        .filter(|(at, _)| at + 4 <= data.len())
        .collect();
    if usable.is_empty() {
        return;
    }
    let &&(at, name) = rng.pick(&usable);
    let old = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    let v = match rng.below(5) {
        0 => old.wrapping_add(1),
        1 => old.wrapping_sub(1),
        2 => old.saturating_mul(1 << rng.below(20)),
        _ => *rng.pick(&WORDS),
    };
    data[at..at + 4].copy_from_slice(&v.to_le_bytes());
    log.push(format!("set {name} (u32 at byte {at}) from {old} to {v}"));
}
