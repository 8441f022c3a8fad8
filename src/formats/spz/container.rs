//! The SPZ container: headers, the version-4 table of contents and the compressed streams,
//! between file bytes and [`Packed`] attribute bytes. Nothing here knows what the bytes mean.
//!
//! Layouts (reference `src/cc/load-spz.cc`, README "File layout"), all little-endian:
//!
//! ```text
//! v2, v3: gzip( header16 · positions · alphas · colors · scales · rotations · sh · [extensions] )
//!   header16 = u32 magic "NGSP" · u32 version · u32 count · u8 shDegree · u8 fractionalBits
//!              · u8 flags · u8 reserved
//! v4:     header32 · [extensions] · TOC · zstd(positions) · zstd(alphas) · … · zstd(sh)
//!   header32 = header16 with byte 15 = u8 numStreams, then u32 tocByteOffset, 12 reserved bytes
//!   TOC      = numStreams × (u64 compressedSize, u64 uncompressedSize); the streams follow it
//!              back to back to the end of the file; empty attributes (sh at degree 0) have
//!              no stream
//! flags: 0x1 antialiased, 0x2 extension records present
//! ```
//!
//! Hostile input: every count is checked before anything is allocated for it (at most
//! [`MAX_SPLATS`], and in v4 no more than the reference accepts for the file's size), every
//! stream is decompressed with a limit of the size its header implies, so a decompression bomb
//! ends in an error, and the buffers grow with the data actually decompressed.

use std::io::{Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// `"NGSP"` as a little-endian u32.
pub const MAGIC: u32 = 0x5053_474e;
/// Flag bit: the scene was trained antialiased (mip splatting).
pub const FLAG_ANTIALIASED: u8 = 0x1;
/// Flag bit: extension records follow the header (v4) or the attributes (v2, v3).
pub const FLAG_EXTENSIONS: u8 = 0x2;
/// Splat counts above this are refused before anything is allocated (2^28).
pub const MAX_SPLATS: u32 = 1 << 28;
/// The highest SH degree SPZ holds.
pub const MAX_SH_DEGREE: u8 = 4;
/// The most fraction bits a 24-bit position may have.
pub const MAX_FRACTIONAL_BITS: u8 = 24;
/// Bytes of extension records accepted at the end of a v2/v3 stream.
const MAX_LEGACY_EXTENSION_BYTES: usize = 1 << 20;
/// The reference's bound on a v4 header's count: at most 1024 × file size / 9 splats.
const MAX_RATIO: u64 = 1024;
const MIN_BYTES_PER_SPLAT: u64 = 9;
/// ZSTD level of the reference writer.
const ZSTD_LEVEL: i32 = 12;

/// Attribute names in stream order, for messages.
pub const STREAM_NAMES: [&str; 6] = ["positions", "alphas", "colors", "scales", "rotations", "sh"];

/// The attribute bytes of a file and the header fields that say how to read them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Packed {
    /// Format version, 2 to 4.
    pub version: u32,
    /// Number of splats.
    pub count: usize,
    /// SH degree, 0 to 4.
    pub sh_degree: u8,
    /// Fraction bits of the 24-bit fixed-point positions.
    pub fractional_bits: u8,
    /// Header flags ([`FLAG_ANTIALIASED`], [`FLAG_EXTENSIONS`]).
    pub flags: u8,
    /// The six attribute streams, in [`STREAM_NAMES`] order.
    pub streams: [Vec<u8>; 6],
    /// Raw extension records (`u32 type · u32 length · payload`, repeated); empty if none.
    pub extensions: Vec<u8>,
}

/// SH coefficients per channel for an SH degree (0, 3, 8, 15, 24).
pub fn sh_dim(degree: u8) -> usize {
    let d = degree as usize;
    (d + 1) * (d + 1) - 1
}

/// Byte size of each attribute stream for `count` splats.
pub fn stream_sizes(version: u32, count: usize, sh_degree: u8) -> [usize; 6] {
    let rotation = if version >= 3 { 4 } else { 3 };
    [
        count * 9,
        count,
        count * 3,
        count * 3,
        count * rotation,
        count * sh_dim(sh_degree) * 3,
    ]
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// The fields of the first 16 header bytes every version shares, checked.
struct Common {
    version: u32,
    count: usize,
    sh_degree: u8,
    fractional_bits: u8,
    flags: u8,
}

/// Parses and checks the shared header fields from `h` (at least 16 bytes); `versions` are
/// the ones this container form may hold.
fn parse_common(path: &Path, h: &[u8], versions: std::ops::RangeInclusive<u32>) -> Result<Common> {
    let err = |context: &str, message: String| Error::parse(path, context, message);
    let magic = u32_at(h, 0);
    if magic != MAGIC {
        return Err(err(
            "header byte 0 (magic)",
            format!("expected \"NGSP\" (0x{MAGIC:08x}), found 0x{magic:08x}: not an SPZ file"),
        ));
    }
    let version = u32_at(h, 4);
    if version == 1 {
        return Err(err(
            "header byte 4 (version)",
            "SPZ version 1 (float16 positions, never released) is not supported".into(),
        ));
    }
    if !versions.contains(&version) {
        let hint = if (2..=3).contains(&version) {
            ": versions 2 and 3 are gzip-compressed, but this file starts with a plain NGSP header"
        } else {
            ""
        };
        return Err(err(
            "header byte 4 (version)",
            format!("unsupported SPZ version {version} (splatpress reads versions 2 to 4){hint}"),
        ));
    }
    let count = u32_at(h, 8);
    if count > MAX_SPLATS {
        return Err(err(
            "header byte 8 (numPoints)",
            format!("{count} splats is more than the {MAX_SPLATS} splatpress accepts"),
        ));
    }
    let sh_degree = h[12];
    if sh_degree > MAX_SH_DEGREE {
        return Err(err(
            "header byte 12 (shDegree)",
            format!("SH degree {sh_degree}: SPZ holds degrees 0 to {MAX_SH_DEGREE}"),
        ));
    }
    let fractional_bits = h[13];
    if fractional_bits > MAX_FRACTIONAL_BITS {
        return Err(err(
            "header byte 13 (fractionalBits)",
            format!(
                "{fractional_bits} fraction bits: expected 0 to {MAX_FRACTIONAL_BITS} for 24-bit positions"
            ),
        ));
    }
    Ok(Common {
        version,
        count: count as usize,
        sh_degree,
        fractional_bits,
        flags: h[14],
    })
}

/// Reads a whole SPZ file's bytes into its attribute streams.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Packed> {
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        decode_gzip(path, bytes)
    } else if bytes.len() >= 4 && u32_at(bytes, 0) == MAGIC {
        decode_ngsp(path, bytes)
    } else {
        Err(Error::parse(
            path,
            "byte 0",
            "not an SPZ file: expected gzip data (versions 2, 3) or the \"NGSP\" magic (version 4)",
        ))
    }
}

/// Reads from `reader` until `limit` bytes or its end, growing the buffer only with the data.
fn read_limited(reader: impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(limit as u64).read_to_end(&mut out)?;
    Ok(out)
}

fn decode_gzip(path: &Path, bytes: &[u8]) -> Result<Packed> {
    let gz_err =
        |e: std::io::Error| Error::parse(path, "gzip stream", format!("cannot decompress: {e}"));
    let mut reader = flate2::read::GzDecoder::new(bytes);
    let mut head = [0u8; 16];
    let got = read_limited(&mut reader, 16).map_err(gz_err)?;
    if got.len() < 16 {
        return Err(Error::parse(
            path,
            "gzip stream",
            format!(
                "truncated: {} decompressed bytes, fewer than the 16-byte header",
                got.len()
            ),
        ));
    }
    head.copy_from_slice(&got);
    // A gzip stream may hold version 4 too: the reference reads it with this layout.
    let c = parse_common(path, &head, 2..=4)?;
    let sizes = stream_sizes(c.version, c.count, c.sh_degree);
    let expected: usize = sizes.iter().sum();
    let allowance = if c.flags & FLAG_EXTENSIONS != 0 {
        MAX_LEGACY_EXTENSION_BYTES
    } else {
        0
    };
    let mut body = read_limited(&mut reader, expected + allowance + 1).map_err(gz_err)?;
    if body.len() < expected {
        return Err(Error::parse(
            path,
            format!("decompressed byte {}", 16 + body.len()),
            format!(
                "truncated: the header's {} splats (SH degree {}) need {expected} bytes of \
                 attributes after the header, the stream holds {}",
                c.count,
                c.sh_degree,
                body.len()
            ),
        ));
    }
    if body.len() > expected + allowance {
        return Err(Error::parse(
            path,
            format!("decompressed byte {}", 16 + expected),
            format!(
                "more data than the header's {} splats account for ({expected} bytes of \
                 attributes{})",
                c.count,
                if allowance > 0 {
                    " and up to 1 MiB of extensions"
                } else {
                    ", and the extension flag is not set"
                }
            ),
        ));
    }
    // Stopping short of the limit means the decoder reached its end and checked the gzip
    // trailer (CRC-32 and length).
    let extensions = body.split_off(expected);
    let mut streams: [Vec<u8>; 6] = Default::default();
    let mut at = 0;
    for (stream, size) in streams.iter_mut().zip(sizes) {
        *stream = body[at..at + size].to_vec();
        at += size;
    }
    Ok(Packed {
        version: c.version,
        count: c.count,
        sh_degree: c.sh_degree,
        fractional_bits: c.fractional_bits,
        flags: c.flags,
        streams,
        extensions,
    })
}

fn decode_ngsp(path: &Path, bytes: &[u8]) -> Result<Packed> {
    let len = bytes.len();
    if len < 32 {
        return Err(Error::parse(
            path,
            "header",
            format!("truncated: the file is {len} bytes, shorter than the 32-byte header"),
        ));
    }
    let c = parse_common(path, &bytes[..16], 4..=4)?;
    if c.count as u64 > (len as u64).saturating_mul(MAX_RATIO) / MIN_BYTES_PER_SPLAT {
        return Err(Error::parse(
            path,
            "header byte 8 (numPoints)",
            format!(
                "{} splats cannot fit a {len}-byte file (at most 1024 × size / 9, the \
                 reference's bound)",
                c.count
            ),
        ));
    }
    let num_streams = bytes[15] as usize;
    let toc = u32_at(bytes, 16) as usize;
    let sizes = stream_sizes(c.version, c.count, c.sh_degree);
    let wanted: Vec<usize> = (0..6).filter(|&i| sizes[i] > 0).collect();
    if num_streams != wanted.len() {
        return Err(Error::parse(
            path,
            "header byte 15 (numStreams)",
            format!(
                "{num_streams} streams, but {} splats of SH degree {} need {}",
                c.count,
                c.sh_degree,
                wanted.len()
            ),
        ));
    }
    if toc < 32 {
        return Err(Error::parse(
            path,
            "header byte 16 (tocByteOffset)",
            format!("table of contents at byte {toc} overlaps the 32-byte header"),
        ));
    }
    let data_start = toc + num_streams * 16;
    if data_start > len {
        return Err(Error::parse(
            path,
            "header byte 16 (tocByteOffset)",
            format!(
                "the table of contents (bytes {toc} to {data_start}) runs past the end of the \
                 {len}-byte file"
            ),
        ));
    }
    let mut streams: [Vec<u8>; 6] = Default::default();
    let mut at = data_start;
    for (k, &i) in wanted.iter().enumerate() {
        let entry = toc + k * 16;
        let name = STREAM_NAMES[i];
        let compressed = u64_at(bytes, entry);
        let uncompressed = u64_at(bytes, entry + 8);
        if uncompressed != sizes[i] as u64 {
            return Err(Error::parse(
                path,
                format!("table of contents byte {} (stream {k}, {name})", entry + 8),
                format!(
                    "uncompressed size {uncompressed}, but {} splats need {}",
                    c.count, sizes[i]
                ),
            ));
        }
        if compressed > (len - at) as u64 {
            return Err(Error::parse(
                path,
                format!("table of contents byte {entry} (stream {k}, {name})"),
                format!(
                    "the stream's {compressed} bytes at byte {at} run past the end of the \
                     {len}-byte file"
                ),
            ));
        }
        let end = at + compressed as usize;
        let data =
            read_limited(zstd_reader(path, &bytes[at..end], name)?, sizes[i] + 1).map_err(|e| {
                Error::parse(
                    path,
                    format!("byte {at} (stream {k}, {name})"),
                    format!("cannot decompress ZSTD data: {e}"),
                )
            })?;
        if data.len() != sizes[i] {
            return Err(Error::parse(
                path,
                format!("byte {at} (stream {k}, {name})"),
                format!(
                    "decompressed to {}{} bytes, the table of contents says {}",
                    if data.len() > sizes[i] {
                        "more than "
                    } else {
                        ""
                    },
                    data.len().min(sizes[i]),
                    sizes[i]
                ),
            ));
        }
        streams[i] = data;
        at = end;
    }
    if at != len {
        return Err(Error::parse(
            path,
            format!("byte {at}"),
            format!("{} bytes after the last stream", len - at),
        ));
    }
    let extensions = if c.flags & FLAG_EXTENSIONS != 0 {
        bytes[32..toc].to_vec()
    } else {
        Vec::new()
    };
    Ok(Packed {
        version: c.version,
        count: c.count,
        sh_degree: c.sh_degree,
        fractional_bits: c.fractional_bits,
        flags: c.flags,
        streams,
        extensions,
    })
}

fn zstd_reader<'a>(path: &Path, data: &'a [u8], name: &str) -> Result<impl Read + 'a> {
    zstd::stream::read::Decoder::with_buffer(data).map_err(|e| {
        Error::parse(
            path,
            format!("stream {name}"),
            format!("cannot start ZSTD decoding: {e}"),
        )
    })
}

/// The 16 header bytes every version shares.
fn common_header(p: &Packed, byte15: u8) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    h[4..8].copy_from_slice(&p.version.to_le_bytes());
    h[8..12].copy_from_slice(&(p.count as u32).to_le_bytes());
    h[12] = p.sh_degree;
    h[13] = p.fractional_bits;
    h[14] = p.flags;
    h[15] = byte15;
    h
}

/// Serialises attribute streams as an SPZ file of `p.version` (3: gzip, 4: ZSTD streams).
/// Extension records are not written (`p.extensions` must be empty).
pub fn encode(p: &Packed) -> std::io::Result<Vec<u8>> {
    debug_assert!(p.extensions.is_empty() && p.flags & FLAG_EXTENSIONS == 0);
    if p.version < 4 {
        let raw: usize = p.streams.iter().map(Vec::len).sum();
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(raw / 4),
            flate2::Compression::default(),
        );
        gz.write_all(&common_header(p, 0))?;
        for stream in &p.streams {
            gz.write_all(stream)?;
        }
        return gz.finish();
    }
    let present: Vec<&Vec<u8>> = p.streams.iter().filter(|s| !s.is_empty()).collect();
    // The streams are independent: compress them side by side, as the reference does.
    let chunks: Vec<std::io::Result<Vec<u8>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = present
            .iter()
            .map(|s| scope.spawn(move || zstd::bulk::compress(s, ZSTD_LEVEL)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("ZSTD compression does not panic"))
            .collect()
    });
    let chunks = chunks.into_iter().collect::<std::io::Result<Vec<_>>>()?;
    let toc = 32usize;
    let mut out =
        Vec::with_capacity(toc + 16 * chunks.len() + chunks.iter().map(Vec::len).sum::<usize>());
    out.extend_from_slice(&common_header(p, chunks.len() as u8));
    out.extend_from_slice(&(toc as u32).to_le_bytes());
    out.extend_from_slice(&[0u8; 12]);
    for (chunk, raw) in chunks.iter().zip(&present) {
        out.extend_from_slice(&(chunk.len() as u64).to_le_bytes());
        out.extend_from_slice(&(raw.len() as u64).to_le_bytes());
    }
    for chunk in &chunks {
        out.extend_from_slice(chunk);
    }
    Ok(out)
}
