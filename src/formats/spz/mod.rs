//! Niantic SPZ (placeholder seam: filled in by the SPZ work).

use std::path::Path;

use crate::{Error, Result, Scene};

/// The SPZ version written when none is asked for.
pub const DEFAULT_VERSION: u8 = 4;

/// Reads an SPZ file (versions 2 to 4).
pub fn read(path: &Path) -> Result<Scene> {
    Err(Error::parse(path, "SPZ", "SPZ reading is not built yet"))
}

/// Writes `scene` as SPZ `version` (3 or 4), atomically.
pub fn write(path: &Path, _scene: &Scene, _version: u8) -> Result<()> {
    Err(Error::output(path, "SPZ writing is not built yet"))
}
