//! PlayCanvas `.compressed.ply`: chunks of 256 splats with per-chunk ranges and packed
//! 32-bit position, rotation, scale and colour words. STUB: owned by the io-readers helper.

use std::path::Path;

use super::ply::Header;
use crate::{Result, Scene};

/// True when the header has the compressed layout (a `chunk` element and packed vertex words).
pub fn is_compressed(header: &Header) -> bool {
    header.elements.iter().any(|e| e.name == "chunk")
}

/// Reads a compressed PLY into a scene.
pub fn read(path: &Path) -> Result<Scene> {
    let _ = path;
    todo!()
}
