//! The GLB container (glTF 2.0 §4.4 "Binary glTF Layout"): a 12-byte header (magic `glTF`,
//! version 2, total length), then chunks of (length, type, data): the JSON chunk first, then
//! at most one BIN chunk; unknown chunk types are skipped. All integers little-endian; chunk
//! data padded to 4 bytes (JSON with spaces, BIN with zeros).

use std::path::Path;

use crate::{Error, Result};

/// `glTF` as a little-endian u32.
pub const MAGIC: u32 = 0x4654_6C67;
/// The GLB container version glTF 2.0 uses.
pub const VERSION: u32 = 2;
/// Chunk type of the JSON chunk (`JSON`).
pub const CHUNK_JSON: u32 = 0x4E4F_534A;
/// Chunk type of the binary buffer chunk (`BIN\0`).
pub const CHUNK_BIN: u32 = 0x004E_4942;
/// Bytes of the file header.
pub const HEADER_BYTES: usize = 12;
/// Bytes of a chunk header.
pub const CHUNK_HEADER_BYTES: usize = 8;

/// The chunks of a GLB file, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunks<'a> {
    /// The JSON chunk, trailing padding (spaces, NULs) removed.
    pub json: &'a [u8],
    /// The BIN chunk (with its padding), if present.
    pub bin: Option<&'a [u8]>,
}

/// `n` rounded up to a multiple of 4.
pub fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Splits a GLB file into its chunks, checking the header and every chunk length against the
/// file; errors name the byte offset and the field.
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<Chunks<'a>> {
    let err = |context: String, message: String| Error::parse(path, context, message);
    if bytes.len() < HEADER_BYTES {
        return Err(err(
            "GLB header".into(),
            format!(
                "the file is {} bytes, shorter than the {HEADER_BYTES}-byte GLB header: truncated or not a .glb",
                bytes.len()
            ),
        ));
    }
    let magic = u32_at(bytes, 0);
    if magic != MAGIC {
        let message = if bytes.trim_ascii_start().starts_with(b"{") {
            "this is glTF JSON text (.gltf), not binary glTF: only .glb files are read".to_string()
        } else {
            format!(
                "magic is {:02x} {:02x} {:02x} {:02x}, expected \"glTF\": not a .glb file",
                bytes[0], bytes[1], bytes[2], bytes[3]
            )
        };
        return Err(err("byte 0 (GLB magic)".into(), message));
    }
    let version = u32_at(bytes, 4);
    if version != VERSION {
        return Err(err(
            "byte 4 (GLB version)".into(),
            format!("GLB container version {version}; only version {VERSION} (glTF 2.0) is read"),
        ));
    }
    let length = u32_at(bytes, 8) as usize;
    if length != bytes.len() {
        let why = if length > bytes.len() {
            "the file is truncated"
        } else {
            "extra bytes follow the GLB"
        };
        return Err(err(
            "byte 8 (GLB length)".into(),
            format!(
                "the header gives the file length as {length} bytes but the file has {}: {why}",
                bytes.len()
            ),
        ));
    }

    let mut json = None;
    let mut bin = None;
    let mut at = HEADER_BYTES;
    let mut index = 0;
    while at < length {
        if length - at < CHUNK_HEADER_BYTES {
            return Err(err(
                format!("byte {at} (chunk {index} header)"),
                format!(
                    "{} bytes left, fewer than an {CHUNK_HEADER_BYTES}-byte chunk header: truncated",
                    length - at
                ),
            ));
        }
        let chunk_length = u32_at(bytes, at) as usize;
        let chunk_type = u32_at(bytes, at + 4);
        let data_at = at + CHUNK_HEADER_BYTES;
        if chunk_length > length - data_at {
            return Err(err(
                format!("byte {at} (chunk {index} length)"),
                format!(
                    "the chunk claims {chunk_length} bytes but only {} remain in the file: truncated",
                    length - data_at
                ),
            ));
        }
        let data = &bytes[data_at..data_at + chunk_length];
        match (index, chunk_type) {
            (0, CHUNK_JSON) => json = Some(data),
            (0, other) => {
                return Err(err(
                    format!("byte {} (chunk 0 type)", at + 4),
                    format!(
                        "the first chunk has type {other:#010x}, expected JSON ({CHUNK_JSON:#010x})"
                    ),
                ));
            }
            (1, CHUNK_BIN) => bin = Some(data),
            (_, CHUNK_JSON | CHUNK_BIN) => {
                return Err(err(
                    format!("byte {} (chunk {index} type)", at + 4),
                    "a second JSON chunk, or a BIN chunk that is not the second chunk".into(),
                ));
            }
            // Unknown chunk types are skipped (glTF 2.0 §4.4.3.1).
            _ => {}
        }
        at = data_at + chunk_length;
        index += 1;
    }
    let json = json.ok_or_else(|| err("byte 12".into(), "the GLB has no JSON chunk".into()))?;
    let end = json
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |i| i + 1);
    Ok(Chunks {
        json: &json[..end],
        bin,
    })
}

/// The file header and the JSON chunk (padded with spaces) of a GLB whose BIN chunk holds
/// `bin_len` bytes (a multiple of 4); the caller appends the BIN chunk header
/// ([`bin_chunk_header`]) and data. `Err` when the total passes the 32-bit GLB length.
pub fn head(json: &[u8], bin_len: usize) -> std::result::Result<Vec<u8>, String> {
    debug_assert_eq!(bin_len % 4, 0);
    let json_len = align4(json.len());
    let total = HEADER_BYTES as u64
        + CHUNK_HEADER_BYTES as u64
        + json_len as u64
        + CHUNK_HEADER_BYTES as u64
        + bin_len as u64;
    let total = u32::try_from(total).map_err(|_| {
        format!("the scene needs {total} bytes, more than one .glb can hold (GLB lengths are 32-bit: 4 GiB)")
    })?;
    let mut out = Vec::with_capacity(HEADER_BYTES + CHUNK_HEADER_BYTES + json_len);
    out.extend(MAGIC.to_le_bytes());
    out.extend(VERSION.to_le_bytes());
    out.extend(total.to_le_bytes());
    out.extend((json_len as u32).to_le_bytes());
    out.extend(CHUNK_JSON.to_le_bytes());
    out.extend_from_slice(json);
    out.resize(HEADER_BYTES + CHUNK_HEADER_BYTES + json_len, b' ');
    Ok(out)
}

/// The header of a BIN chunk of `bin_len` bytes.
pub fn bin_chunk_header(bin_len: usize) -> [u8; CHUNK_HEADER_BYTES] {
    let mut h = [0; CHUNK_HEADER_BYTES];
    h[..4].copy_from_slice(&(bin_len as u32).to_le_bytes());
    h[4..].copy_from_slice(&CHUNK_BIN.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glb(json: &[u8], bin: &[u8]) -> Vec<u8> {
        let mut out = head(json, bin.len()).unwrap();
        out.extend(bin_chunk_header(bin.len()));
        out.extend_from_slice(bin);
        out
    }

    fn message(bytes: &[u8]) -> String {
        parse(Path::new("x.glb"), bytes).unwrap_err().to_string()
    }

    #[test]
    fn head_pads_json_with_spaces_and_counts_every_byte() {
        let bytes = glb(b"{\"a\":1}", &[1, 2, 3, 4]);
        assert_eq!(bytes.len(), 12 + 8 + 8 + 8 + 4);
        assert_eq!(&bytes[0..4], b"glTF");
        assert_eq!(u32_at(&bytes, 8) as usize, bytes.len());
        assert_eq!(u32_at(&bytes, 12), 8);
        assert_eq!(bytes[27], b' ');
        let chunks = parse(Path::new("x.glb"), &bytes).unwrap();
        assert_eq!(chunks.json, b"{\"a\":1}");
        assert_eq!(chunks.bin, Some(&[1u8, 2, 3, 4][..]));
    }

    #[test]
    fn bin_chunk_is_optional_and_unknown_chunks_are_skipped() {
        // A GLB of the JSON chunk alone: `head` counted a BIN chunk header, so fix the length.
        let mut bytes = head(b"{}", 0).unwrap();
        let len = bytes.len() as u32;
        bytes[8..12].copy_from_slice(&len.to_le_bytes());
        assert_eq!(parse(Path::new("x.glb"), &bytes).unwrap().bin, None);
        let mut with_extra = glb(b"{}", &[0; 4]);
        with_extra.extend(4u32.to_le_bytes());
        with_extra.extend(0x1234_5678u32.to_le_bytes());
        with_extra.extend([9; 4]);
        let len = with_extra.len() as u32;
        with_extra[8..12].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            parse(Path::new("x.glb"), &with_extra).unwrap().bin,
            Some(&[0u8; 4][..])
        );
    }

    #[test]
    fn bad_containers_name_the_field() {
        assert!(message(b"glTF").contains("shorter than the 12-byte GLB header"));
        assert!(message(b"{\"asset\":{\"version\":\"2.0\"}}").contains("glTF JSON text"));
        assert!(message(b"PK\x03\x04\0\0\0\0\0\0\0\0").contains("GLB magic"));
        let good = glb(b"{}", &[0; 8]);
        let mut v1 = good.clone();
        v1[4] = 1;
        assert!(message(&v1).contains("version 1"));
        let truncated = &good[..good.len() - 4];
        let m = message(truncated);
        assert!(
            m.contains("byte 8 (GLB length)") && m.contains("truncated"),
            "{m}"
        );
        let mut long_chunk = good.clone();
        long_chunk[24..28].copy_from_slice(&100u32.to_le_bytes());
        let m = message(&long_chunk);
        assert!(
            m.contains("chunk 1 length") && m.contains("claims 100 bytes"),
            "{m}"
        );
        let mut bin_first = good.clone();
        bin_first[16..20].copy_from_slice(&CHUNK_BIN.to_le_bytes());
        assert!(message(&bin_first).contains("expected JSON"));
    }

    #[test]
    fn head_refuses_more_than_4_gib() {
        assert!(head(b"{}", (u32::MAX as usize) & !3).is_err());
    }
}
