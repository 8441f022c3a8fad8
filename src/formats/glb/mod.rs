//! glTF binary with KHR_gaussian_splatting (placeholder seam: filled in by the glTF work).

use std::path::Path;

use crate::{Error, Result, Scene};

/// Reads a `.glb` holding one KHR_gaussian_splatting primitive.
pub fn read(path: &Path) -> Result<Scene> {
    Err(Error::parse(path, "glTF", "glTF reading is not built yet"))
}

/// Writes `scene` as a `.glb` with KHR_gaussian_splatting, atomically.
pub fn write(path: &Path, _scene: &Scene) -> Result<()> {
    Err(Error::output(path, "glTF writing is not built yet"))
}
