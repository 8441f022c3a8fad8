//! `decode_file`: any input to a binary 3DGS PLY.

use std::path::Path;

use serde::Serialize;

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

/// Reads any supported input (usually a SOG) and writes it as a binary 3DGS PLY, as the
/// engine would decode it. Atomic, like every output.
pub fn decode_file(input: &Path, output: &Path) -> Result<DecodeReport> {
    if input == output {
        return Err(Error::output(output, "output would overwrite the input"));
    }
    let scene = formats::read(input)?;
    formats::write_scene(output, &scene)?;
    Ok(DecodeReport {
        output: output.display().to_string(),
        splats: scene.len(),
        sh_bands: scene.sh_bands,
    })
}
