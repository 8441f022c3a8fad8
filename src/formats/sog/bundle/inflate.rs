//! A small raw-DEFLATE decoder (RFC 1951) so deflated bundle entries read without a new
//! dependency. Canonical Huffman decoding bit by bit (the "puff" approach): slow-ish but
//! short, and bundles written by splat-transform or splatpress are stored anyway.

const MAX_BITS: usize = 15;

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// Order in which code-length code lengths are transmitted.
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    bit_buf: u32,
    bit_count: u32,
}

impl BitReader<'_> {
    fn bits(&mut self, n: u32) -> Result<u32, String> {
        while self.bit_count < n {
            let byte = *self.data.get(self.pos).ok_or("deflate stream ends early")?;
            self.pos += 1;
            self.bit_buf |= u32::from(byte) << self.bit_count;
            self.bit_count += 8;
        }
        let v = self.bit_buf & ((1u32 << n) - 1);
        self.bit_buf = if n == 32 { 0 } else { self.bit_buf >> n };
        self.bit_count -= n;
        Ok(v)
    }
}

/// A canonical Huffman code: how many codes of each length, and symbols in code order.
struct Huffman {
    counts: [u16; MAX_BITS + 1],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Self, String> {
        let mut counts = [0u16; MAX_BITS + 1];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut left: i32 = 1;
        for len in 1..=MAX_BITS {
            left = (left << 1) - i32::from(counts[len]);
            if left < 0 {
                return Err("over-subscribed Huffman code".into());
            }
        }
        let mut offsets = [0u16; MAX_BITS + 2];
        for len in 1..=MAX_BITS {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[usize::from(offsets[usize::from(l)])] = sym as u16;
                offsets[usize::from(l)] += 1;
            }
        }
        Ok(Huffman { counts, symbols })
    }

    fn decode(&self, r: &mut BitReader) -> Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..=MAX_BITS {
            code |= r.bits(1)? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or_else(|| "bad Huffman code".to_string());
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("invalid Huffman code in deflate stream".into())
    }
}

/// The most bytes DEFLATE can produce per input byte (zlib's bound).
const MAX_RATIO: usize = 1032;

/// Decodes a raw DEFLATE stream that must produce exactly `expected` bytes.
pub fn inflate(data: &[u8], expected: usize) -> Result<Vec<u8>, String> {
    // DEFLATE expands at most 1032:1 (a 258-byte match in a 2-bit code, roughly), so the
    // declared size is reserved only as far as `data` could produce it: a 100-byte entry
    // claiming 4 GiB must not take 1 GiB before its first byte is decoded.
    let possible = data
        .len()
        .saturating_mul(MAX_RATIO)
        .saturating_add(MAX_RATIO);
    let mut out: Vec<u8> = Vec::with_capacity(expected.min(possible).min(1 << 30));
    let mut r = BitReader {
        data,
        pos: 0,
        bit_buf: 0,
        bit_count: 0,
    };
    loop {
        let last = r.bits(1)? == 1;
        match r.bits(2)? {
            0 => {
                r.bit_buf = 0;
                r.bit_count = 0;
                let header = data
                    .get(r.pos..r.pos + 4)
                    .ok_or("deflate stored block header ends early")?;
                let len = usize::from(u16::from_le_bytes([header[0], header[1]]));
                let nlen = u16::from_le_bytes([header[2], header[3]]);
                if nlen != !(len as u16) {
                    return Err("deflate stored block length check failed".into());
                }
                r.pos += 4;
                let block = data
                    .get(r.pos..r.pos + len)
                    .ok_or("deflate stored block ends early")?;
                r.pos += len;
                if out.len() + len > expected {
                    return Err(format!("inflates past the declared {expected} bytes"));
                }
                out.extend_from_slice(block);
            }
            1 => {
                let mut lengths = [0u8; 288];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..].fill(8);
                let lit = Huffman::new(&lengths)?;
                let dist = Huffman::new(&[5u8; 30])?;
                codes(&mut r, &mut out, &lit, &dist, expected)?;
            }
            2 => {
                let (lit, dist) = dynamic_tables(&mut r)?;
                codes(&mut r, &mut out, &lit, &dist, expected)?;
            }
            _ => return Err("invalid deflate block type 3".into()),
        }
        if last {
            return Ok(out);
        }
    }
}

fn dynamic_tables(r: &mut BitReader) -> Result<(Huffman, Huffman), String> {
    let nlen = r.bits(5)? as usize + 257;
    let ndist = r.bits(5)? as usize + 1;
    let ncode = r.bits(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return Err("bad dynamic deflate table sizes".into());
    }
    let mut clen = [0u8; 19];
    for &i in &CLEN_ORDER[..ncode] {
        clen[i] = r.bits(3)? as u8;
    }
    let clen_code = Huffman::new(&clen)?;
    let mut lengths = vec![0u8; nlen + ndist];
    let mut i = 0;
    while i < nlen + ndist {
        let sym = clen_code.decode(r)?;
        let (value, repeat) = match sym {
            0..=15 => (sym as u8, 1),
            16 => {
                let prev = *lengths[..i]
                    .last()
                    .ok_or("deflate length repeat with no previous length")?;
                (prev, 3 + r.bits(2)? as usize)
            }
            17 => (0, 3 + r.bits(3)? as usize),
            _ => (0, 11 + r.bits(7)? as usize),
        };
        if i + repeat > nlen + ndist {
            return Err("deflate code lengths overflow the table".into());
        }
        lengths[i..i + repeat].fill(value);
        i += repeat;
    }
    if lengths[256] == 0 {
        return Err("deflate table has no end-of-block code".into());
    }
    Ok((
        Huffman::new(&lengths[..nlen])?,
        Huffman::new(&lengths[nlen..])?,
    ))
}

fn codes(
    r: &mut BitReader,
    out: &mut Vec<u8>,
    lit: &Huffman,
    dist: &Huffman,
    expected: usize,
) -> Result<(), String> {
    loop {
        let sym = usize::from(lit.decode(r)?);
        if sym < 256 {
            if out.len() >= expected {
                return Err(format!("inflates past the declared {expected} bytes"));
            }
            out.push(sym as u8);
        } else if sym == 256 {
            return Ok(());
        } else {
            let li = sym - 257;
            if li >= 29 {
                return Err("invalid deflate length code".into());
            }
            let len = usize::from(LENGTH_BASE[li]) + r.bits(u32::from(LENGTH_EXTRA[li]))? as usize;
            let di = usize::from(dist.decode(r)?);
            if di >= 30 {
                return Err("invalid deflate distance code".into());
            }
            let d = usize::from(DIST_BASE[di]) + r.bits(u32::from(DIST_EXTRA[di]))? as usize;
            if d > out.len() {
                return Err("deflate distance reaches before the start of the data".into());
            }
            if out.len() + len > expected {
                return Err(format!("inflates past the declared {expected} bytes"));
            }
            let start = out.len() - d;
            for k in 0..len {
                out.push(out[start + k]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Raw deflate streams made with Python's zlib (wbits = -15), an independent encoder.
    #[test]
    fn decodes_fixed_dynamic_and_stored_blocks() {
        let text = b"SOG bundles are stored ZIPs; SOG bundles are stored ZIPs; SOG!";
        // zlib.compressobj(9, zlib.DEFLATED, -15).compress(text) + flush()  (fixed Huffman)
        let fixed = FIXED;
        assert_eq!(inflate(fixed, text.len()).unwrap(), text);
        // level 0: stored blocks
        let mut stored = vec![0x01, text.len() as u8, 0, !(text.len() as u8), 0xFF];
        stored.extend_from_slice(text);
        assert_eq!(inflate(&stored, text.len()).unwrap(), text);
        assert!(inflate(fixed, text.len() - 1).is_err());
        for cut in 0..fixed.len() {
            assert!(inflate(&fixed[..cut], text.len()).is_err());
        }
        let dynamic = DYNAMIC;
        assert_eq!((dynamic[0] >> 1) & 3, 2, "fixture is a dynamic block");
        let mut s: u32 = 1;
        let expect: Vec<u8> = (0..600)
            .map(|_| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345) & 0x7fff_ffff;
                b"aaaaabbbcdeeeeeeffgh"[((s >> 16) & 15) as usize]
            })
            .collect();
        assert_eq!(inflate(dynamic, expect.len()).unwrap(), expect);
    }

    const FIXED: &[u8] = &[
        0x0b, 0xf6, 0x77, 0x57, 0x48, 0x2a, 0xcd, 0x4b, 0xc9, 0x49, 0x2d, 0x56, 0x48, 0x2c, 0x4a,
        0x55, 0x28, 0x2e, 0xc9, 0x2f, 0x4a, 0x4d, 0x51, 0x88, 0xf2, 0x0c, 0x28, 0xb6, 0x56, 0x08,
        0x26, 0x20, 0xa9, 0x08, 0x00,
    ];
    /// Python: 600 bytes of an LCG over a skewed alphabet (a dynamic-Huffman block).
    const DYNAMIC: &[u8] = &[
        0x35, 0x92, 0x0b, 0x02, 0xc3, 0x20, 0x0c, 0x42, 0xcf, 0x4a, 0x12, 0xee, 0x7f, 0x85, 0xf2,
        0xa9, 0x5d, 0x37, 0xad, 0x26, 0xaf, 0x80, 0x1b, 0x82, 0xd4, 0x17, 0x43, 0x8f, 0xa3, 0x19,
        0xf5, 0x33, 0xba, 0x8e, 0xcb, 0xf3, 0x83, 0x56, 0xd7, 0x05, 0xfe, 0x10, 0xb7, 0x2e, 0x21,
        0xef, 0xd4, 0x30, 0xd4, 0x56, 0x47, 0x2f, 0x79, 0x06, 0x88, 0x88, 0x1d, 0x08, 0x60, 0xf6,
        0x9e, 0x57, 0xc6, 0x3b, 0xe2, 0x5c, 0x77, 0x0d, 0x1d, 0x23, 0x55, 0x34, 0x5c, 0xcc, 0x1a,
        0xc1, 0xdc, 0x37, 0x99, 0xb4, 0x29, 0x08, 0xf5, 0xaa, 0x44, 0x2b, 0x80, 0xc7, 0x4c, 0x78,
        0xc2, 0xf9, 0x0e, 0xc8, 0x22, 0xfc, 0x3a, 0x3c, 0x0d, 0x51, 0x2b, 0xb2, 0x01, 0x73, 0x7f,
        0x67, 0x2e, 0x83, 0xdd, 0x65, 0x09, 0x2e, 0x46, 0x5f, 0x7b, 0x29, 0x8b, 0x13, 0xeb, 0x71,
        0x04, 0x81, 0x0d, 0x12, 0x40, 0x0d, 0x4a, 0x47, 0x24, 0xa2, 0x6e, 0xd8, 0xb7, 0x8b, 0xbd,
        0x53, 0xbd, 0xa9, 0x55, 0x42, 0x8d, 0xad, 0x92, 0xd3, 0x8e, 0x18, 0xd1, 0x5e, 0xe2, 0x69,
        0xe5, 0xc6, 0x49, 0xc8, 0x36, 0xe0, 0xa1, 0xe1, 0x85, 0x3c, 0xf5, 0x11, 0xab, 0x3a, 0x08,
        0xc7, 0x0d, 0xdc, 0x1f, 0x88, 0x7d, 0xf0, 0xc5, 0xc4, 0x4d, 0x96, 0xb1, 0x8f, 0xe6, 0xa3,
        0x7a, 0x23, 0xb7, 0x5a, 0x69, 0x42, 0x3c, 0xfc, 0x7e, 0x9c, 0x67, 0x4e, 0xf5, 0xde, 0xe1,
        0x20, 0x0e, 0x94, 0xfd, 0xf4, 0x0f, 0x91, 0xe0, 0xae, 0xf2, 0xb5, 0xe7, 0xa0, 0xb6, 0x7c,
        0x3c, 0x12, 0x9a, 0x12, 0x5f, 0xd8, 0xff, 0x79, 0xc7, 0xf9, 0x7e,
    ];
}
