//! Reading and writing SOG on disk, as a `.sog` bundle or as a folder (meta.json + WebPs).
//! STUB: owned by the sog-files helper.

use std::path::Path;

use super::Sog;
use crate::Result;

/// What was written: each file's name and size in bytes (meta.json last), and the total.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct WriteReport {
    pub files: Vec<(String, u64)>,
    pub total_bytes: u64,
}

/// Writes `sog` to `path`: a bundle when the name ends in `.sog`, else a folder form
/// (`…/meta.json`, or a directory that receives `meta.json`). Atomic: nothing partial is left.
pub fn write(path: &Path, sog: &Sog, webp_effort: u8) -> Result<WriteReport> {
    let _ = (path, sog, webp_effort);
    todo!()
}

/// Reads a `.sog` bundle, a `meta.json` (textures beside it) or a folder holding `meta.json`.
pub fn read(path: &Path) -> Result<Sog> {
    let _ = path;
    todo!()
}
