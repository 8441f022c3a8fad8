//! Structure-aware mutations of container formats: the fields of a ZIP (`.sog`), a repacked ZIP
//! with a mutated entry, the chunks of a `.glb`, and the gzip / ZSTD streams inside an SPZ.

use std::io::{Read, Write};

use splatpress::formats::sog::bundle;

use crate::edits;
use crate::mutate::{self, Focus};
use crate::rng::Rng;

fn u16_at(data: &[u8], at: usize) -> Option<usize> {
    data.get(at..at + 2)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u32_at(data: &[u8], at: usize) -> Option<usize> {
    data.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Every size, count and offset field of a ZIP's end record, central directory and local
/// headers: (byte offset, width, name). Tolerant: stops where the structure stops making sense.
pub fn zip_fields(data: &[u8]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let Some(eocd) = (0..data.len().saturating_sub(21))
        .rev()
        .find(|&at| data[at..at + 4] == [0x50, 0x4b, 0x05, 0x06])
    else {
        return out;
    };
    for (off, w, name) in [
        (8, 2, "EOCD entries on disk"),
        (10, 2, "EOCD total entries"),
        (12, 4, "EOCD central size"),
        (16, 4, "EOCD central offset"),
        (20, 2, "EOCD comment length"),
    ] {
        out.push((eocd + off, w, name.to_string()));
    }
    let entries = u16_at(data, eocd + 10).unwrap_or(0);
    let mut at = u32_at(data, eocd + 16).unwrap_or(usize::MAX);
    for i in 0..entries {
        if data.get(at..at + 4) != Some(&[0x50, 0x4b, 0x01, 0x02]) {
            break;
        }
        for (off, w, name) in [
            (8, 2, "flags"),
            (10, 2, "method"),
            (16, 4, "crc"),
            (20, 4, "compressed size"),
            (24, 4, "size"),
            (28, 2, "name length"),
            (30, 2, "extra length"),
            (32, 2, "comment length"),
            (42, 4, "local offset"),
        ] {
            out.push((at + off, w, format!("central entry {i} {name}")));
        }
        if let Some(local) = u32_at(data, at + 42)
            && data.get(local..local + 4) == Some(&[0x50, 0x4b, 0x03, 0x04])
        {
            for (off, w, name) in [
                (6, 2, "flags"),
                (8, 2, "method"),
                (18, 4, "compressed size"),
                (22, 4, "size"),
                (26, 2, "name length"),
                (28, 2, "extra length"),
            ] {
                out.push((local + off, w, format!("local header {i} {name}")));
            }
        }
        let skip = 46
            + u16_at(data, at + 28).unwrap_or(0)
            + u16_at(data, at + 30).unwrap_or(0)
            + u16_at(data, at + 32).unwrap_or(0);
        at += skip;
    }
    out
}

/// Sets one ZIP header field to a boundary value (sizes and offsets past the end, 0xFFFF…).
pub fn zip_field(rng: &mut Rng, data: &mut [u8], log: &mut Vec<String>) -> bool {
    let fields = zip_fields(data);
    if fields.is_empty() {
        return false;
    }
    let (at, width, name) = rng.pick(&fields).clone();
    let len = data.len() as u32;
    if width == 2 {
        let old = u16_at(data, at).unwrap_or(0) as u16;
        let v = [
            0u16,
            1,
            8,
            99,
            0xffff,
            0xfffe,
            0x7fff,
            old.wrapping_add(1),
            old.wrapping_sub(1),
        ][rng.below(9)];
        data[at..at + 2].copy_from_slice(&v.to_le_bytes());
        log.push(format!("zip: {name} (u16 at byte {at}) {old} -> {v}"));
    } else {
        let old = u32_at(data, at).unwrap_or(0) as u32;
        let v = match rng.below(6) {
            0 => old.wrapping_add(1),
            1 => old.wrapping_sub(1),
            2 => len,
            3 => len.wrapping_sub(old),
            _ => *rng.pick(&mutate::WORDS),
        };
        data[at..at + 4].copy_from_slice(&v.to_le_bytes());
        log.push(format!("zip: {name} (u32 at byte {at}) {old} -> {v}"));
    }
    true
}

/// Unpacks the ZIP, mutates one entry (meta.json as JSON, others as bytes; or renames, drops
/// or duplicates one), and packs it again with correct headers, so the change reaches the
/// reader behind the container.
pub fn zip_repack(rng: &mut Rng, data: &mut Vec<u8>, log: &mut Vec<String>) -> bool {
    let Ok(mut entries) = bundle::read_zip(data) else {
        return false;
    };
    if entries.is_empty() {
        return false;
    }
    let i = if rng.chance(1, 2) {
        entries
            .iter()
            .position(|(n, _)| n == "meta.json")
            .unwrap_or(0)
    } else {
        rng.below(entries.len())
    };
    let name = entries[i].0.clone();
    match rng.below(8) {
        0 => {
            let (n, d) = entries.remove(i);
            log.push(format!(
                "zip repack: dropped entry `{n}` ({} bytes)",
                d.len()
            ));
        }
        1 => {
            let copy = entries[i].clone();
            entries.push(copy);
            log.push(format!("zip repack: entry `{name}` twice"));
        }
        2 => {
            entries[i].0 = ["", "../x", "meta.json", "a/meta.json", "x.webp"][rng.below(5)].into();
            log.push(format!(
                "zip repack: renamed `{name}` to `{}`",
                entries[i].0
            ));
        }
        _ => {
            let mut sub = Vec::new();
            let edited = name.ends_with(".json") && edits::json(rng, &mut entries[i].1, &mut sub);
            if !edited {
                let focus = Focus {
                    hot: 64,
                    points: vec![12, 16, 20, 21, 25],
                };
                mutate::havoc(rng, &mut entries[i].1, &focus, &mut sub);
            }
            log.extend(
                sub.into_iter()
                    .map(|s| format!("zip repack, entry `{name}`: {s}")),
            );
        }
    }
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let mut out = Vec::new();
    if bundle::write_zip(&mut out, &refs).is_err() {
        return false;
    }
    *data = out;
    true
}

/// The parts of a `.glb`: the JSON chunk's text and the BIN chunk's bytes (when present).
fn glb_parts(data: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    if data.get(0..4)? != b"glTF" {
        return None;
    }
    let json_len = u32_at(data, 12)?;
    let json = data.get(20..20 + json_len)?.to_vec();
    let bin_at = 20 + json_len;
    let bin =
        u32_at(data, bin_at).and_then(|n| data.get(bin_at + 8..bin_at + 8 + n).map(<[u8]>::to_vec));
    Some((json, bin))
}

/// Packs a `.glb` from its JSON text and BIN bytes with correct lengths and padding.
fn glb_pack(json: &[u8], bin: Option<&[u8]>) -> Vec<u8> {
    let mut json = json.to_vec();
    while !json.len().is_multiple_of(4) {
        json.push(b' ');
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json);
    if let Some(bin) = bin {
        let mut bin = bin.to_vec();
        while !bin.len().is_multiple_of(4) {
            bin.push(0);
        }
        out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
        out.extend_from_slice(b"BIN\0");
        out.extend_from_slice(&bin);
    }
    let total = out.len() as u32;
    out[8..12].copy_from_slice(&total.to_le_bytes());
    out
}

/// Byte offsets of a `.glb`'s header and chunk-header fields.
pub fn glb_fields(data: &[u8]) -> Vec<(usize, &'static str)> {
    let mut fields = vec![
        (4, "glb version"),
        (8, "glb total length"),
        (12, "JSON chunk length"),
        (16, "JSON chunk type"),
    ];
    if let Some(json_len) = u32_at(data, 12) {
        let at = 20usize.saturating_add(json_len);
        fields.push((at, "BIN chunk length"));
        fields.push((at + 4, "BIN chunk type"));
    }
    fields
}

/// Mutates a `.glb`: a huge chunk length, or its JSON (accessor counts, byte offsets, buffer
/// views…) or BIN bytes edited and the file repacked with consistent lengths.
pub fn glb(rng: &mut Rng, data: &mut Vec<u8>, log: &mut Vec<String>) -> bool {
    if rng.chance(1, 3) {
        let fields = glb_fields(data);
        mutate::huge_field(rng, data, &fields, log);
        return true;
    }
    let Some((mut json, mut bin)) = glb_parts(data) else {
        return false;
    };
    let mut sub = Vec::new();
    if rng.chance(3, 4) || bin.is_none() {
        if !edits::json(rng, &mut json, &mut sub) {
            return false;
        }
    } else if let Some(bin) = bin.as_mut() {
        mutate::havoc(rng, bin, &Focus::default(), &mut sub);
    }
    log.extend(sub.into_iter().map(|s| format!("glb repack: {s}")));
    *data = glb_pack(&json, bin.as_deref());
    true
}

/// A compressed stream found in a file: where it starts and ends, and its kind.
struct Stream {
    start: usize,
    end: usize,
    zstd: bool,
    inner: Vec<u8>,
}

/// Decompressed size limit when looking into streams (the fuzzer's own memory).
const MAX_INNER: u64 = 256 << 20;

/// Finds the gzip members and ZSTD frames in `data` that decompress cleanly.
fn streams(data: &[u8]) -> Vec<Stream> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= data.len() && out.len() < 16 {
        let rest = &data[at..];
        if rest.starts_with(&[0x1f, 0x8b, 0x08]) {
            let mut dec = flate2::read::GzDecoder::new(rest);
            let mut inner = Vec::new();
            if (&mut dec).take(MAX_INNER).read_to_end(&mut inner).is_ok() {
                let used = rest.len() - dec.into_inner().len();
                out.push(Stream {
                    start: at,
                    end: at + used,
                    zstd: false,
                    inner,
                });
                at += used.max(1);
                continue;
            }
        } else if rest.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
            && let Ok(size) = zstd::zstd_safe::find_frame_compressed_size(rest)
        {
            let frame = &rest[..size];
            let mut inner = Vec::new();
            if let Ok(dec) = zstd::stream::read::Decoder::new(frame)
                && dec.take(MAX_INNER).read_to_end(&mut inner).is_ok()
            {
                out.push(Stream {
                    start: at,
                    end: at + size,
                    zstd: true,
                    inner,
                });
                at += size.max(1);
                continue;
            }
        }
        at += 1;
    }
    out
}

/// Mutates the data inside one gzip or ZSTD stream (its first bytes: an SPZ header with
/// numPoints, shDegree, flags) and compresses it again. Returns false when there is none.
pub fn stream(rng: &mut Rng, data: &mut Vec<u8>, log: &mut Vec<String>) -> bool {
    let found = streams(data);
    if found.is_empty() {
        return false;
    }
    let s = &found[rng.below(found.len())];
    let mut inner = s.inner.clone();
    let mut sub = Vec::new();
    if s.start == 0 && rng.chance(1, 2) {
        // SPZ v2/v3 header inside the stream: magic, version, numPoints, then bytes.
        let fields = [(4, "version"), (8, "numPoints"), (12, "shDegree..reserved")];
        mutate::huge_field(rng, &mut inner, &fields, &mut sub);
    } else {
        let focus = Focus {
            hot: 32,
            points: vec![4, 8, 12, 13, 14, 15, 16],
        };
        mutate::havoc(rng, &mut inner, &focus, &mut sub);
    }
    let packed = if s.zstd {
        zstd::encode_all(inner.as_slice(), 1).ok()
    } else {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&inner).ok().and_then(|()| enc.finish().ok())
    };
    let Some(packed) = packed else {
        return false;
    };
    let kind = if s.zstd { "zstd frame" } else { "gzip member" };
    log.extend(
        sub.into_iter()
            .map(|m| format!("{kind} at byte {}: {m}", s.start)),
    );
    data.splice(s.start..s.end, packed);
    true
}
