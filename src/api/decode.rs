//! `decode_file`: any input to a scene file (PLY, SPZ, glb): the `convert` command.

use std::path::Path;

use serde::Serialize;

use crate::formats::{Format, WriteOptions};
use crate::scene::Model;
use crate::{Error, Result, Scene, formats};

/// What [`decode_file`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DecodeReport {
    /// The file written.
    pub output: String,
    /// Splats written.
    pub splats: usize,
    /// SH bands written.
    pub sh_bands: u8,
    /// The splat model of the scene.
    pub model: Model,
    /// What the reader changed or left out (an SPZ's SH band 4, a coordinate extension).
    pub read_notes: Vec<String>,
    /// What the output format could not hold and so was left out (the model, extras).
    pub not_kept: Vec<String>,
}

/// Reads any supported input and writes it in the scene format the output's name selects
/// (binary 3DGS PLY, SPZ or glb; see [`formats::write_scene`]); a SOG is decoded as the
/// engine decodes it. Atomic, like every output. Metadata the output cannot hold is listed in
/// [`DecodeReport::not_kept`], never dropped silently.
pub fn decode_file(input: &Path, output: &Path, options: &WriteOptions) -> Result<DecodeReport> {
    decode_file_lod(input, None, output, options)
}

/// [`decode_file`] of one level of detail of a streamed SOG (`lod-meta.json`): `Some(n)` level
/// `n` (refused for other inputs), `None` level 0, the full detail (see
/// [`formats::read_lod`]).
pub fn decode_file_lod(
    input: &Path,
    lod: Option<u32>,
    output: &Path,
    options: &WriteOptions,
) -> Result<DecodeReport> {
    if input == output {
        return Err(Error::output(output, "output would overwrite the input"));
    }
    let (scene, read_notes) = formats::read_lod(input, lod)?;
    formats::write_scene(output, &scene, options)?;
    Ok(DecodeReport {
        output: output.display().to_string(),
        splats: scene.len(),
        sh_bands: scene.sh_bands,
        model: scene.model,
        read_notes,
        not_kept: not_kept(formats::scene_output_format(output), &scene),
    })
}

/// The metadata of `scene` that a `format` file cannot record.
fn not_kept(format: Format, scene: &Scene) -> Vec<String> {
    let name = format.info().name;
    let mut lost = Vec::new();
    if scene.model == Model::TwoD && format == Format::Spz {
        lost.push(format!(
            "the 2DGS model: {name} cannot record it (written as 3DGS with a flat third scale)"
        ));
    }
    if scene.extras.is_some() && matches!(format, Format::Ply | Format::Spz) {
        lost.push(format!("extras: {name} has no place for them"));
    }
    lost
}
