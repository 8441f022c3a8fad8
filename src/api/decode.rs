//! `decode_file`: any input to a scene file (PLY, SPZ, glb): the `convert` command.

use std::path::Path;

use serde::Serialize;

use crate::formats::WriteOptions;
use crate::{Error, Result, formats};

/// What [`decode_file`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DecodeReport {
    /// The PLY written.
    pub output: String,
    /// Splats written.
    pub splats: usize,
    /// SH bands written.
    pub sh_bands: u8,
}

/// Reads any supported input and writes it in the scene format the output's name selects
/// (binary 3DGS PLY, SPZ or glb; see [`formats::write_scene`]); a SOG is decoded as the
/// engine decodes it. Atomic, like every output.
pub fn decode_file(input: &Path, output: &Path, options: &WriteOptions) -> Result<DecodeReport> {
    if input == output {
        return Err(Error::output(output, "output would overwrite the input"));
    }
    let scene = formats::read(input)?;
    formats::write_scene(output, &scene, options)?;
    Ok(DecodeReport {
        output: output.display().to_string(),
        splats: scene.len(),
        sh_bands: scene.sh_bands,
    })
}
