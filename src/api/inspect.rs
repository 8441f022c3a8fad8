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
    /// For SOG inputs, every rule of the engine's loader the file breaks (empty: conforms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sog_conformance_problems: Option<Vec<String>>,
}

/// Summarises any supported input; SOG inputs are also checked against the engine's rules
/// (`sog-format.md` §5.4).
pub fn inspect(path: &Path) -> Result<Info> {
    let format = formats::detect(path)?;
    let (scene, problems, generator) = if format == Format::Sog {
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
        sog_conformance_problems: problems,
    })
}
