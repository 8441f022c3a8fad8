//! antimatter15 `.splat`: 32 bytes a splat. STUB: owned by the io-readers helper.

use std::path::Path;

use crate::{Result, Scene};

/// Reads a `.splat` file into a scene.
pub fn read(path: &Path) -> Result<Scene> {
    let _ = path;
    todo!()
}
