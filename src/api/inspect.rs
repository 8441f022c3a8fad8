//! `inspect`: what a file holds, and for SOG whether the engine will accept it.

use std::path::Path;

use serde::Serialize;

use crate::formats::{self, Format, sog};
use crate::stats::{self, Stats};
use crate::{Error, Result};

/// What [`inspect`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    /// The input's format.
    pub format: Format,
    /// Count, SH bands, bounds, value ranges, non-finite values.
    #[serde(flatten)]
    pub stats: Stats,
    /// The writer the file names (SOG `asset.generator`), when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// Free-form metadata the file carries (SOG or glTF `extras`), passed through by
    /// conversions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extras: Option<serde_json::Value>,
    /// For a streamed SOG (`lod-meta.json`): its levels and the one summarised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lod: Option<LodInfo>,
    /// For SOG inputs, every rule of the engine's loader the file breaks (empty: conforms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sog_conformance_problems: Option<Vec<String>>,
}

/// The levels of detail of a streamed SOG, as [`inspect_lod`] reports them.
#[derive(Debug, Clone, Serialize)]
pub struct LodInfo {
    /// The level the statistics describe (0: full detail).
    pub level: u32,
    /// Splats of each level, level 0 first.
    pub counts: Vec<u64>,
    /// Chunk SOGs the manifest names.
    pub chunks: usize,
}

/// Summarises any supported input; SOG inputs are also checked against the engine's rules
/// (`sog-format.md` §5.4). A streamed SOG is summarised at level 0 ([`inspect_lod`]).
pub fn inspect(path: &Path) -> Result<Info> {
    inspect_lod(path, None)
}

/// [`inspect`] of one level of detail: `Some(n)` level `n` of a streamed SOG (`lod-meta.json`;
/// refused for other inputs), `None` level 0. The manifest is checked in full either way.
pub fn inspect_lod(path: &Path, lod: Option<u32>) -> Result<Info> {
    let format = formats::detect(path)?;
    if format == Format::LodMeta {
        let manifest = formats::lod::read_manifest(path)?;
        let level = lod.unwrap_or(0);
        let (scene, _) = formats::read_lod(path, Some(level))?;
        return Ok(Info {
            format,
            stats: stats::stats(&scene),
            generator: Some(manifest.generator.clone()).filter(|g| !g.is_empty()),
            extras: scene.extras,
            lod: Some(LodInfo {
                level,
                counts: manifest.counts,
                chunks: manifest.filenames.len(),
            }),
            sog_conformance_problems: None,
        });
    }
    let (scene, problems, generator) = if let Some(n) = lod {
        (formats::read_lod(path, Some(n))?.0, None, None)
    } else if format == Format::Sog {
        let file = sog::read(path)?;
        let problems = sog::check::check(&file);
        let scene = sog::decode::decode(&file).map_err(|m| Error::parse(path, "SOG", m))?;
        let generator = Some(file.meta.asset.generator.clone()).filter(|g| !g.is_empty());
        (scene, Some(problems), generator)
    } else {
        (formats::read(path)?, None, None)
    };
    Ok(Info {
        format,
        stats: stats::stats(&scene),
        generator,
        extras: scene.extras,
        lod: None,
        sog_conformance_problems: problems,
    })
}
