//! The `.sog` bundle: a stored ZIP, meta.json last, no comment, no Zip64 (`sog-format.md` §3.9).
//! STUB: owned by the sog-files helper.

/// Writes a stored ZIP with `entries` (name, bytes) in the given order.
pub fn write_zip(out: &mut dyn std::io::Write, entries: &[(&str, &[u8])]) -> std::io::Result<()> {
    let _ = (out, entries);
    todo!()
}

/// Reads every entry of a ZIP (stored or deflated) as (name, bytes), in central-directory order.
pub fn read_zip(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let _ = bytes;
    todo!()
}
