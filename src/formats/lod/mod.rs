//! Streamed SOG (PlayCanvas `lod-meta.json`): a level-of-detail manifest and one unbundled SOG
//! per chunk. Read and written. [`manifest`] checks the manifest in full before any chunk is
//! opened; `read` gathers the splats of one level, or of all. Writing is in two parts:
//! [`plan`] decides, from the geometry of every level, the manifest's tree and which splats
//! each chunk (file unit) holds, as splat-transform 3.10.2 does; [`write`] serialises the
//! manifest and puts the chunk SOGs in place one at a time, the manifest last. The encoding
//! of each chunk between the two is the caller's (`api`), as for every SOG output.
//!
//! Which level a plain read means: `formats::read` (and so `info`, `convert`, `eval`,
//! `compress` without `--lod`) reads **level 0, the full-detail level**, as splat-transform
//! 3.10.2 does for every single-scene output ("A single-scene WRITER takes exactly one LOD: the
//! finest (LOD 0) by default", `cli.mjs`). Coarser levels are other renderings of the same
//! scene, not more of it, so joining levels would double every surface. `read` with `None`
//! still gives every level, level after level: that is what splat-transform's reader returns
//! when no `-L` is given (`resolveLodSelection` selects all levels), for callers that want the
//! whole container.

pub mod manifest;
pub mod plan;
mod read;
pub mod write;

use std::path::Path;

pub use manifest::Manifest;
pub use read::{manifest as read_manifest, read_with};

use crate::{Result, Scene};

/// The file name splat-transform and the engine give a manifest.
pub const MANIFEST_NAME: &str = "lod-meta.json";

/// Reads a streamed SOG: with `Some(n)` the splats of level `n` (each leaf's `lods[n]` range
/// of its chunk, leaves in tree order: depth first, `children[0]` first), with `None` every
/// level's, level 0 first (see the module notes for why plain reads take level 0 instead).
/// Each chunk SOG is read once however many leaves point into it. Chunks must agree on SH
/// bands; where they do not, all are cut to the fewest. The model is the manifest's `model`,
/// else the first chunk's; the extras likewise.
pub fn read(path: &Path, level: Option<u32>) -> Result<Scene> {
    read::read(path, level)
}

/// Whether `path` names a manifest: its name ends in `lod-meta.json` (as splat-transform and
/// the engine decide), or it is some other `.json` whose top level has `lodLevels`.
pub fn is_manifest(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(MANIFEST_NAME) {
        return true;
    }
    if !name.ends_with(".json") || path.is_dir() {
        return false;
    }
    let small = std::fs::metadata(path).is_ok_and(|m| m.len() <= 64 << 20);
    let Some(bytes) = small.then(|| std::fs::read(path).ok()).flatten() else {
        return false;
    };
    if !bytes.windows(11).any(|w| w == b"\"lodLevels\"") {
        return false;
    }
    serde_json::from_slice::<serde_json::Value>(&bytes).is_ok_and(|v| v.get("lodLevels").is_some())
}
