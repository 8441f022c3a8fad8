//! File formats, one folder or file each, and the one table that maps names and contents to
//! them. Readers produce a [`Scene`]; writers take a [`Scene`] (PLY, for `decode`) or an
//! [`Encoded`] scene (SOG; a streamed SOG takes one per chunk, through [`lod::write`]).
//! Nothing here knows about backends or how encoding is done.
//!
//! To add a format: a module beside these with `read` and/or `write`, one row in [`FORMATS`],
//! and a branch in [`read`] / [`write_encoded`].

pub mod atomic;
pub mod compressed_ply;
pub mod glb;
pub mod lod;
pub mod ply;
pub mod sog;
pub mod splat;
pub mod spz;

use std::path::Path;

use crate::encode::Encoded;
use crate::{Error, Result, Scene};

/// The formats splatpress knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// 3DGS PLY (INRIA, gsplat, nerfstudio): ASCII or binary, any property order.
    Ply,
    /// PlayCanvas `.compressed.ply` (chunked, quantised).
    CompressedPly,
    /// antimatter15 `.splat` (32 bytes a splat).
    Splat,
    /// SOG v2: a `.sog` bundle, a `meta.json`, or a folder holding one.
    Sog,
    /// Niantic SPZ, versions 2 to 4 (gzip or ZSTD streams of quantised attributes).
    Spz,
    /// Binary glTF with the `KHR_gaussian_splatting` extension.
    Glb,
    /// PlayCanvas streamed SOG: a `lod-meta.json` manifest and one SOG folder per chunk and
    /// level.
    LodMeta,
}

/// One row of the format table.
#[derive(Debug, Clone, Copy)]
pub struct FormatInfo {
    /// The format.
    pub format: Format,
    /// Name for messages and `info`.
    pub name: &'static str,
    /// File name endings (lower case) that select it; a folder selects SOG.
    pub suffixes: &'static [&'static str],
    /// Whether splatpress reads it.
    pub reads: bool,
    /// Whether `compress` writes it: from one encoded scene ([`write_encoded`]), or for a
    /// streamed SOG from one encoded scene per chunk ([`lod::write::Writer`], which the
    /// compress job drives level by level and chunk by chunk).
    pub writes_encoded: bool,
    /// Whether `decode` writes it (from a scene).
    pub writes_scene: bool,
}

/// Every format, in the order names are matched (longer suffixes first).
pub const FORMATS: &[FormatInfo] = &[
    FormatInfo {
        format: Format::CompressedPly,
        name: "PlayCanvas compressed PLY",
        suffixes: &[".compressed.ply"],
        reads: true,
        writes_encoded: false,
        writes_scene: false,
    },
    FormatInfo {
        format: Format::Ply,
        name: "3DGS PLY",
        suffixes: &[".ply"],
        reads: true,
        writes_encoded: false,
        writes_scene: true,
    },
    FormatInfo {
        format: Format::Splat,
        name: "antimatter15 .splat",
        suffixes: &[".splat"],
        reads: true,
        writes_encoded: false,
        writes_scene: false,
    },
    FormatInfo {
        format: Format::LodMeta,
        name: "PlayCanvas streamed SOG (lod-meta.json)",
        suffixes: &["lod-meta.json"],
        reads: true,
        writes_encoded: true,
        writes_scene: false,
    },
    FormatInfo {
        format: Format::Sog,
        name: "PlayCanvas SOG v2",
        suffixes: &[".sog", ".json"],
        reads: true,
        writes_encoded: true,
        writes_scene: false,
    },
    FormatInfo {
        format: Format::Spz,
        name: "Niantic SPZ",
        suffixes: &[".spz"],
        reads: true,
        writes_encoded: false,
        writes_scene: true,
    },
    FormatInfo {
        format: Format::Glb,
        name: "glTF binary (KHR_gaussian_splatting)",
        suffixes: &[".glb"],
        reads: true,
        writes_encoded: false,
        writes_scene: true,
    },
];

impl Format {
    /// This format's row of [`FORMATS`].
    pub fn info(self) -> &'static FormatInfo {
        FORMATS
            .iter()
            .find(|f| f.format == self)
            .expect("every format has a row")
    }
}

/// The format whose suffix `path`'s name ends with, if any.
fn by_name(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_string_lossy().to_lowercase();
    FORMATS
        .iter()
        .find(|f| f.suffixes.iter().any(|s| name.ends_with(s)))
        .map(|f| f.format)
}

/// Decides the format of an input: a folder is SOG; a `lod-meta.json`, or any `.json` whose
/// top level has `lodLevels`, is a streamed SOG manifest; otherwise by name, and for `.ply` by
/// the header (a PlayCanvas compressed PLY may be named plain `.ply`).
pub fn detect(path: &Path) -> Result<Format> {
    if path.is_dir() {
        return Ok(Format::Sog);
    }
    if lod::is_manifest(path) {
        return Ok(Format::LodMeta);
    }
    match by_name(path) {
        Some(Format::Ply | Format::CompressedPly) => {
            let header = ply::read_header_from_path(path)?;
            Ok(if compressed_ply::is_compressed(&header) {
                Format::CompressedPly
            } else {
                Format::Ply
            })
        }
        Some(format) => Ok(format),
        None if !path.exists() => Err(Error::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )),
        None => Err(Error::parse(
            path,
            "file name",
            "unknown input format: expected .ply, .compressed.ply, .splat, .spz, .glb, .sog, meta.json, a SOG folder or lod-meta.json",
        )),
    }
}

/// Reads any supported input into a [`Scene`] (unsanitised: see [`Scene::sanitize`]).
pub fn read(path: &Path) -> Result<Scene> {
    read_with_notes(path).map(|(scene, _)| scene)
}

/// [`read`], and one line for each thing the reader changed or left out that the caller
/// should say (an SPZ's SH band 4 dropped, a coordinate-system extension applied).
pub fn read_with_notes(path: &Path) -> Result<(Scene, Vec<String>)> {
    read_lod(path, None)
}

/// [`read_with_notes`] with a level of detail: `Some(n)` reads level `n` of a streamed SOG
/// (`lod-meta.json`) and is refused for any other input; `None` reads a manifest's level 0,
/// the full detail, as splat-transform does for single-scene outputs (see [`lod`]), with a
/// note saying so when there are coarser levels.
pub fn read_lod(path: &Path, level: Option<u32>) -> Result<(Scene, Vec<String>)> {
    let format = detect(path)?;
    if let Some(n) = level.filter(|_| format != Format::LodMeta) {
        return Err(Error::parse(
            path,
            "level of detail",
            format!(
                "level {n} asked for, but {} has no levels of detail (only lod-meta.json does)",
                format.info().name
            ),
        ));
    }
    let scene = match format {
        Format::Ply => ply::read(path)?,
        Format::CompressedPly => compressed_ply::read(path)?,
        Format::Splat => splat::read(path)?,
        Format::Sog => {
            let sog = sog::read(path)?;
            sog::decode::decode(&sog).map_err(|m| Error::parse(path, "SOG", m))?
        }
        Format::Spz => return spz::read_with_notes(path),
        Format::Glb => glb::read(path)?,
        Format::LodMeta => {
            let manifest = lod::read_manifest(path)?;
            let levels = manifest.levels();
            let scene = lod::read_with(path, &manifest, Some(level.unwrap_or(0)))?;
            let mut notes = Vec::new();
            if level.is_none() && levels > 1 {
                notes.push(format!(
                    "read level 0 (full detail) of {levels} levels of detail; --lod N selects another"
                ));
            }
            return Ok((scene, notes));
        }
    };
    Ok((scene, Vec::new()))
}

/// Default lossless WebP effort. Effort 2 writes 0.04–0.34 % more bytes than effort 4 on the
/// shared real scenes and encodes 2.5–4× faster (BENCHMARKS.md, 2026-12-03): the write of
/// `shN_labels` waits for k-means, so its encode time is on every compression's critical path.
pub const DEFAULT_WEBP_EFFORT: u8 = 2;

/// How writers encode their files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Lossless WebP effort, 0 (fastest) to 9 (smallest).
    pub webp_effort: u8,
    /// SPZ version written: 4 (ZSTD streams, the default) or 3 (gzip).
    pub spz_version: u8,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            webp_effort: DEFAULT_WEBP_EFFORT,
            spz_version: spz::DEFAULT_VERSION,
        }
    }
}

/// What a writer wrote: each file's name and size in bytes, and the total.
pub use sog::WriteReport;

/// The format a name asks `compress` for: `*.sog` a bundle, `lod-meta.json` a streamed SOG,
/// any other `*.json` a meta file with its textures beside it, `.ply`/`.spz`/`.glb` those
/// scene formats (which `convert` writes, so [`write_encoded`] refuses them), anything else a
/// SOG folder.
pub fn output_format(path: &Path) -> Format {
    by_name(path).unwrap_or(Format::Sog)
}

/// Writes an encoded scene to `path` in the format its name selects ([`output_format`]).
/// Atomic: a failed write leaves nothing behind.
pub fn write_encoded(
    path: &Path,
    encoded: &Encoded,
    options: &WriteOptions,
) -> Result<WriteReport> {
    match output_format(path) {
        Format::Sog => sog::write(path, &sog::textures::sog(encoded), options.webp_effort),
        Format::LodMeta => Err(Error::output(
            path,
            "a streamed SOG (lod-meta.json) holds levels of detail in many chunk SOGs, each \
             encoded on its own: `compress` writes it from a scene (write_encoded takes one \
             encoded scene; name the output .sog, meta.json or a folder for that)",
        )),
        other => Err(Error::output(
            path,
            format!(
                "compress writes SOG (.sog, meta.json or a folder); for {} use `splatpress convert`",
                other.info().name
            ),
        )),
    }
}

/// The format [`write_scene`] writes to `path`: by name, PLY when the name has no known
/// suffix.
pub fn scene_output_format(path: &Path) -> Format {
    by_name(path).unwrap_or(Format::Ply)
}

/// Writes a scene to `path` in the scene format its name selects: `.ply` (binary 3DGS PLY,
/// also for names without a known suffix), `.spz` or `.glb`. Atomic, like every output.
pub fn write_scene(path: &Path, scene: &Scene, options: &WriteOptions) -> Result<()> {
    match scene_output_format(path) {
        Format::Ply => ply::write(path, scene),
        Format::Spz => spz::write(path, scene, options.spz_version),
        Format::Glb => glb::write(path, scene),
        other => Err(Error::output(
            path,
            format!(
                "{} is not a scene output: name the output .ply, .spz or .glb (SOG is written by `compress`)",
                other.info().name
            ),
        )),
    }
}

/// Size on disk of a file, or of a SOG folder form (meta.json plus the files it names), or of
/// a streamed SOG (the manifest plus every chunk); 0 when it cannot be read.
pub fn size_on_disk(path: &Path) -> u64 {
    if lod::is_manifest(path) {
        let own = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let dir = path.parent().unwrap_or(Path::new("."));
        let chunks = lod::read_manifest(path)
            .map(|m| m.filenames)
            .unwrap_or_default();
        return own
            + chunks
                .iter()
                .map(|f| size_on_disk(&dir.join(f)))
                .sum::<u64>();
    }
    let meta_path = if path.is_dir() {
        path.join(sog::META_NAME)
    } else {
        path.to_path_buf()
    };
    let own = std::fs::metadata(&meta_path).map(|m| m.len()).unwrap_or(0);
    if !meta_path.to_string_lossy().ends_with(".json") {
        return own;
    }
    let dir = meta_path.parent().unwrap_or(Path::new("."));
    let named: Vec<String> = std::fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<sog::Meta>(&b).ok())
        .map(|m| m.files().into_iter().map(String::from).collect())
        .unwrap_or_default();
    own + named
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>()
}
