//! File formats, one module each. [`read`] picks the reader from the file's name and header.

pub mod atomic;
pub mod compressed_ply;
pub mod ply;
pub mod sog;
pub mod splat;
pub mod webp;

use std::path::Path;

use crate::{Error, Result, Scene};

/// The input formats splatpress reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// 3DGS PLY (INRIA, gsplat, nerfstudio): ASCII or binary, any property order.
    Ply,
    /// PlayCanvas `.compressed.ply` (chunked, quantised).
    CompressedPly,
    /// antimatter15 `.splat` (32 bytes a splat).
    Splat,
    /// SOG: a `.sog` bundle, a `meta.json`, or a folder holding one.
    Sog,
}

/// Decides the format of `path` by its name, and for `.ply` by its header.
pub fn detect(path: &Path) -> Result<Format> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if path.is_dir() || name.ends_with(".sog") || name.ends_with(".json") {
        return Ok(Format::Sog);
    }
    if name.ends_with(".splat") {
        return Ok(Format::Splat);
    }
    if name.ends_with(".ply") {
        let header = ply::read_header_from_path(path)?;
        return Ok(if compressed_ply::is_compressed(&header) {
            Format::CompressedPly
        } else {
            Format::Ply
        });
    }
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    Err(Error::parse(
        path,
        "file name",
        "unknown input format: expected .ply, .compressed.ply, .splat, .sog, meta.json or a SOG folder",
    ))
}

/// Reads any supported input into a [`Scene`] (unsanitised: see [`Scene::sanitize`]).
pub fn read(path: &Path) -> Result<Scene> {
    match detect(path)? {
        Format::Ply => ply::read(path),
        Format::CompressedPly => compressed_ply::read(path),
        Format::Splat => splat::read(path),
        Format::Sog => {
            let sog = sog::read(path)?;
            sog::decode::decode(&sog).map_err(|m| Error::parse(path, "SOG", m))
        }
    }
}
