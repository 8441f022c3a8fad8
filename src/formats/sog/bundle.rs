//! The `.sog` bundle: a stored ZIP, meta.json last, no comment, no Zip64 (`sog-format.md` §3.9).
//!
//! The writer emits the simplest ZIP every reader accepts: stored entries with CRC and sizes in
//! the local header (no data descriptors), a fixed DOS timestamp (1980-01-01 00:00) so the
//! output is byte-deterministic, the UTF-8 name flag, and no extra fields or comments.
//! The reader accepts stored and deflated entries (deflate through the small decoder in
//! `inflate`) and validates every offset against the buffer, so garbage gives an error,
//! never a panic.

mod inflate;

use std::io::Write;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD_LEN: usize = 22;
const LOCAL_LEN: usize = 30;
const CENTRAL_LEN: usize = 46;
/// "Version needed to extract" 2.0: plain stored/deflated entries.
const VERSION: u16 = 20;
/// General-purpose flag bit 11: names are UTF-8.
const FLAG_UTF8: u16 = 0x0800;
/// DOS time 00:00:00.
const DOS_TIME: u16 = 0;
/// DOS date 1980-01-01: (year − 1980) << 9 | month << 5 | day.
const DOS_DATE: u16 = (1 << 5) | 1;

/// The CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) lookup table, built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 of `data` as stored in ZIP headers.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = CRC_TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

fn too_big(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{what} does not fit a ZIP without Zip64 (limit 4 GiB / 65535 entries)"),
    )
}

/// Writes a stored ZIP with `entries` (name, bytes) in the given order.
///
/// Fails (before writing anything) when a size, offset or the entry count would need Zip64.
pub fn write_zip(out: &mut dyn Write, entries: &[(&str, &[u8])]) -> std::io::Result<()> {
    if entries.len() >= 0xFFFF {
        return Err(too_big("the entry count"));
    }
    // Lay out everything first so that the Zip64 check happens before any byte is written.
    let mut offsets = Vec::with_capacity(entries.len());
    let mut offset: u64 = 0;
    for (name, data) in entries {
        if name.len() > 0xFFFF {
            return Err(too_big("an entry name"));
        }
        if data.len() as u64 >= u64::from(u32::MAX) {
            return Err(too_big(&format!("entry `{name}`")));
        }
        if offset >= u64::from(u32::MAX) {
            return Err(too_big("the archive"));
        }
        offsets.push(offset as u32);
        offset += (LOCAL_LEN + name.len() + data.len()) as u64;
    }
    let central_start = offset;
    let central_size: u64 = entries
        .iter()
        .map(|(n, _)| (CENTRAL_LEN + n.len()) as u64)
        .sum();
    if central_start >= u64::from(u32::MAX) || central_size >= u64::from(u32::MAX) {
        return Err(too_big("the archive"));
    }

    let crcs: Vec<u32> = entries.iter().map(|(_, d)| crc32(d)).collect();
    for ((name, data), crc) in entries.iter().zip(&crcs) {
        let mut h = Vec::with_capacity(LOCAL_LEN + name.len());
        put32(&mut h, LOCAL_SIG);
        put16(&mut h, VERSION);
        put16(&mut h, FLAG_UTF8);
        put16(&mut h, 0); // method: stored
        put16(&mut h, DOS_TIME);
        put16(&mut h, DOS_DATE);
        put32(&mut h, *crc);
        put32(&mut h, data.len() as u32);
        put32(&mut h, data.len() as u32);
        put16(&mut h, name.len() as u16);
        put16(&mut h, 0); // extra field length
        h.extend_from_slice(name.as_bytes());
        out.write_all(&h)?;
        out.write_all(data)?;
    }
    let mut cd = Vec::with_capacity(central_size as usize + EOCD_LEN);
    for (((name, data), crc), off) in entries.iter().zip(&crcs).zip(&offsets) {
        put32(&mut cd, CENTRAL_SIG);
        put16(&mut cd, VERSION); // made by
        put16(&mut cd, VERSION); // needed
        put16(&mut cd, FLAG_UTF8);
        put16(&mut cd, 0);
        put16(&mut cd, DOS_TIME);
        put16(&mut cd, DOS_DATE);
        put32(&mut cd, *crc);
        put32(&mut cd, data.len() as u32);
        put32(&mut cd, data.len() as u32);
        put16(&mut cd, name.len() as u16);
        put16(&mut cd, 0); // extra
        put16(&mut cd, 0); // comment
        put16(&mut cd, 0); // disk number start
        put16(&mut cd, 0); // internal attributes
        put32(&mut cd, 0); // external attributes
        put32(&mut cd, *off);
        cd.extend_from_slice(name.as_bytes());
    }
    put32(&mut cd, EOCD_SIG);
    put16(&mut cd, 0); // this disk
    put16(&mut cd, 0); // disk with the central directory
    put16(&mut cd, entries.len() as u16);
    put16(&mut cd, entries.len() as u16);
    put32(&mut cd, central_size as u32);
    put32(&mut cd, central_start as u32);
    put16(&mut cd, 0); // comment length
    out.write_all(&cd)
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// Little-endian field access with bounds checks; every failure names the offset.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u16(&self, at: usize) -> Result<u16, String> {
        self.0
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| {
                format!("truncated ZIP: 2-byte field at byte offset {at} is past the end")
            })
    }

    fn u32(&self, at: usize) -> Result<u32, String> {
        self.0
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| {
                format!("truncated ZIP: 4-byte field at byte offset {at} is past the end")
            })
    }

    fn slice(&self, at: usize, len: usize, what: &str) -> Result<&[u8], String> {
        at.checked_add(len)
            .and_then(|end| self.0.get(at..end))
            .ok_or_else(|| {
                format!(
                    "{what} at byte offset {at} ({len} bytes) runs past the end of the {}-byte file",
                    self.0.len()
                )
            })
    }
}

/// The end-of-central-directory record: where it is and what it says.
struct Eocd {
    at: usize,
    entries: usize,
    central_size: usize,
    central_offset: usize,
    comment_len: usize,
}

/// Scans back from the end for the EOCD signature whose comment length fits the file.
fn find_eocd(bytes: &[u8]) -> Result<Eocd, String> {
    if bytes.len() < EOCD_LEN {
        return Err(format!(
            "not a ZIP: {} bytes is shorter than an end-of-central-directory record",
            bytes.len()
        ));
    }
    let b = Bytes(bytes);
    let last = bytes.len() - EOCD_LEN;
    let first = last.saturating_sub(0xFFFF);
    for at in (first..=last).rev() {
        if b.u32(at)? != EOCD_SIG {
            continue;
        }
        let comment_len = usize::from(b.u16(at + 20)?);
        if at + EOCD_LEN + comment_len != bytes.len() {
            continue;
        }
        let (disk, cd_disk) = (b.u16(at + 4)?, b.u16(at + 6)?);
        let (on_disk, total) = (b.u16(at + 8)?, b.u16(at + 10)?);
        let (central_size, central_offset) = (b.u32(at + 12)?, b.u32(at + 16)?);
        if total == 0xFFFF || central_size == u32::MAX || central_offset == u32::MAX {
            return Err("Zip64 archives are not supported (SOG bundles stay below 4 GiB)".into());
        }
        if at >= 20 && b.u32(at - 20)? == ZIP64_LOCATOR_SIG {
            return Err("Zip64 archives are not supported (found a Zip64 locator)".into());
        }
        if disk != 0 || cd_disk != 0 || on_disk != total {
            return Err("multi-disk (spanned) ZIP archives are not supported".into());
        }
        return Ok(Eocd {
            at,
            entries: usize::from(total),
            central_size: central_size as usize,
            central_offset: central_offset as usize,
            comment_len,
        });
    }
    Err("not a ZIP: no end-of-central-directory record found".into())
}

/// One central-directory entry.
struct CentralEntry {
    name: String,
    flags: u16,
    method: u16,
    crc: u32,
    compressed_size: usize,
    size: usize,
    local_offset: usize,
}

fn central_entries(bytes: &[u8], eocd: &Eocd) -> Result<Vec<CentralEntry>, String> {
    let b = Bytes(bytes);
    let end = eocd
        .central_offset
        .checked_add(eocd.central_size)
        .filter(|&e| e <= eocd.at)
        .ok_or_else(|| {
            format!(
                "central directory (offset {}, {} bytes) overlaps the end record at byte offset {}",
                eocd.central_offset, eocd.central_size, eocd.at
            )
        })?;
    let mut at = eocd.central_offset;
    let mut out = Vec::with_capacity(eocd.entries.min(4096));
    for index in 0..eocd.entries {
        if b.u32(at)? != CENTRAL_SIG {
            return Err(format!(
                "central directory entry {index} at byte offset {at}: bad signature"
            ));
        }
        let flags = b.u16(at + 8)?;
        let method = b.u16(at + 10)?;
        let crc = b.u32(at + 16)?;
        let compressed_size = b.u32(at + 20)?;
        let size = b.u32(at + 24)?;
        let name_len = usize::from(b.u16(at + 28)?);
        let extra_len = usize::from(b.u16(at + 30)?);
        let comment_len = usize::from(b.u16(at + 32)?);
        let local_offset = b.u32(at + 42)?;
        if compressed_size == u32::MAX || size == u32::MAX || local_offset == u32::MAX {
            return Err(format!(
                "central directory entry {index}: Zip64 sizes are not supported"
            ));
        }
        let raw_name = b.slice(at + CENTRAL_LEN, name_len, "entry name")?;
        let name = String::from_utf8(raw_name.to_vec()).map_err(|_| {
            format!("central directory entry {index} at byte offset {at}: name is not UTF-8")
        })?;
        at += CENTRAL_LEN + name_len + extra_len + comment_len;
        if at > end {
            return Err(format!(
                "central directory entry {index} (`{name}`) runs past the directory's end at byte offset {end}"
            ));
        }
        out.push(CentralEntry {
            name,
            flags,
            method,
            crc,
            compressed_size: compressed_size as usize,
            size: size as usize,
            local_offset: local_offset as usize,
        });
    }
    Ok(out)
}

/// Reads every entry of a ZIP (stored or deflated) as (name, bytes), in central-directory order.
///
/// Sizes and offsets come from the central directory (as the engine does); each entry's
/// CRC-32 is verified. Encrypted entries, Zip64 and methods other than 0/8 are errors.
pub fn read_zip(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let eocd = find_eocd(bytes)?;
    let b = Bytes(bytes);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in central_entries(bytes, &eocd)? {
        let name = &entry.name;
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("entry `{name}` appears twice"));
        }
        if entry.flags & 1 != 0 {
            return Err(format!("entry `{name}` is encrypted"));
        }
        let at = entry.local_offset;
        if b.u32(at)? != LOCAL_SIG {
            return Err(format!(
                "entry `{name}`: no local header at byte offset {at}"
            ));
        }
        let skip = LOCAL_LEN + usize::from(b.u16(at + 26)?) + usize::from(b.u16(at + 28)?);
        let raw = b.slice(
            at + skip,
            entry.compressed_size,
            &format!("entry `{name}` data"),
        )?;
        let data = match entry.method {
            0 => {
                if entry.compressed_size != entry.size {
                    return Err(format!(
                        "stored entry `{name}`: compressed size {} differs from size {}",
                        entry.compressed_size, entry.size
                    ));
                }
                raw.to_vec()
            }
            8 => inflate::inflate(raw, entry.size)
                .map_err(|e| format!("deflated entry `{name}`: {e}"))?,
            m => {
                return Err(format!(
                    "entry `{name}` uses compression method {m}; only stored (0) and deflate (8) are supported"
                ));
            }
        };
        if data.len() != entry.size {
            return Err(format!(
                "entry `{name}` decompressed to {} bytes, the directory says {}",
                data.len(),
                entry.size
            ));
        }
        let crc = crc32(&data);
        if crc != entry.crc {
            return Err(format!(
                "entry `{name}`: CRC-32 mismatch (stored {:08x}, computed {crc:08x}); the file is corrupt",
                entry.crc
            ));
        }
        out.push((entry.name, data));
    }
    Ok(out)
}

/// Checks a bundle against the PlayCanvas engine's `.sog` parser (`sog-format.md` §5.1, §3.9):
/// the EOCD exactly at `len − 22` (no comment), no Zip64, methods 0/8 only, every entry at the
/// archive root, and a `meta.json` entry. Readers more lenient than the engine would accept
/// files the viewer cannot load; this catches them.
pub fn check_engine_rules(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < EOCD_LEN {
        return Err("file is shorter than a ZIP end record".into());
    }
    let at = bytes.len() - EOCD_LEN;
    if Bytes(bytes).u32(at)? != EOCD_SIG {
        return Err(format!(
            "no end-of-central-directory record at byte offset {at} (length − 22): \
             the engine rejects ZIP comments and trailing bytes"
        ));
    }
    let eocd = find_eocd(bytes)?;
    if eocd.at != at || eocd.comment_len != 0 {
        return Err("the ZIP has a comment; the engine requires none".into());
    }
    let entries = central_entries(bytes, &eocd)?;
    let mut has_meta = false;
    for e in &entries {
        if e.method != 0 && e.method != 8 {
            return Err(format!(
                "entry `{}` uses method {}; the engine reads only 0 and 8",
                e.name, e.method
            ));
        }
        if e.name.contains('/') || e.name.contains('\\') {
            return Err(format!(
                "entry `{}` is not at the archive root; the engine looks names up at the root",
                e.name
            ));
        }
        has_meta |= e.name == "meta.json";
    }
    if !has_meta {
        return Err("the bundle has no `meta.json` entry".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        write_zip(&mut v, entries).unwrap();
        v
    }

    #[test]
    fn crc32_matches_known_vectors() {
        // Standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
    }

    #[test]
    fn layout_is_plain_stored_zip() {
        let bytes = zip(&[("a.webp", b"hello"), ("meta.json", b"{}")]);
        // local header 1
        assert_eq!(&bytes[0..4], &[0x50, 0x4b, 0x03, 0x04]);
        assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), 0x0800);
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 0);
        assert_eq!(
            u32::from_le_bytes(bytes[14..18].try_into().unwrap()),
            crc32(b"hello")
        );
        assert_eq!(&bytes[30..36], b"a.webp");
        assert_eq!(&bytes[36..41], b"hello");
        // 2 locals (30+6+5, 30+9+2) + 2 centrals (46+6, 46+9) + EOCD 22
        assert_eq!(bytes.len(), 41 + 41 + 52 + 55 + 22);
        let n = bytes.len();
        assert_eq!(&bytes[n - 22..n - 18], &[0x50, 0x4b, 0x05, 0x06]);
        assert_eq!(&bytes[n - 2..], &[0, 0]);
        assert_eq!(
            u32::from_le_bytes(bytes[n - 6..n - 2].try_into().unwrap()),
            82
        );
        check_engine_rules(&bytes).unwrap();
        // deterministic
        assert_eq!(bytes, zip(&[("a.webp", b"hello"), ("meta.json", b"{}")]));
    }

    #[test]
    fn round_trip_keeps_order_and_bytes() {
        let big: Vec<u8> = (0..70_000u32).map(|i| (i * 7 + i / 300) as u8).collect();
        let entries: [(&str, &[u8]); 3] =
            [("z", b""), ("sub\u{e9}.bin", &big), ("meta.json", b"{}")];
        let back = read_zip(&zip(&entries)).unwrap();
        assert_eq!(back.len(), 3);
        for ((n, d), (bn, bd)) in entries.iter().zip(&back) {
            assert_eq!(n, bn);
            assert_eq!(*d, bd.as_slice());
        }
    }

    #[test]
    fn comment_and_garbage_are_caught() {
        let mut bytes = zip(&[("meta.json", b"{\"version\":2}")]);
        let n = bytes.len();
        // add a comment: readers accept it, the engine does not
        bytes[n - 2] = 3;
        bytes.extend_from_slice(b"hey");
        assert_eq!(read_zip(&bytes).unwrap().len(), 1);
        assert!(check_engine_rules(&bytes).is_err());
        let sub = zip(&[("dir/meta.json", b"{}")]);
        assert!(check_engine_rules(&sub).unwrap_err().contains("root"));
        let nometa = zip(&[("a", b"{}")]);
        assert!(
            check_engine_rules(&nometa)
                .unwrap_err()
                .contains("meta.json")
        );
    }

    #[test]
    fn corrupt_input_errors_without_panicking() {
        let data: Vec<u8> = (0..500u32).map(|i| (i % 251) as u8).collect();
        let bytes = zip(&[("a.webp", &data), ("b.webp", b"xyz"), ("meta.json", b"{}")]);
        for cut in 0..bytes.len() {
            assert!(read_zip(&bytes[..cut]).is_err(), "truncated at {cut}");
            let _ = check_engine_rules(&bytes[..cut]);
        }
        let mut state = 0x1234_5678_u32;
        for _ in 0..3000 {
            let mut g = bytes.clone();
            for _ in 0..3 {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let at = (state >> 8) as usize % g.len();
                g[at] ^= (state >> 24) as u8 | 1;
            }
            let _ = read_zip(&g);
            let _ = check_engine_rules(&g);
        }
        // a flipped data byte is caught by the CRC
        let mut g = bytes.clone();
        g[40] ^= 0xFF;
        assert!(read_zip(&g).unwrap_err().contains("CRC"));
    }
}
