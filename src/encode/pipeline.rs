//! Scene → Sog: order, quantise, cluster, pack. STUB (being written by the lead).

use crate::io::sog::Sog;
use crate::progress::Progress;
use crate::{Result, Scene};

/// Encoder settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lloyd iterations of the SH palette k-means.
    pub sh_iterations: u32,
    /// Keep at most this many SH bands.
    pub sh_bands: Option<u8>,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sh_iterations: 10,
            sh_bands: None,
            seed: 0,
        }
    }
}

/// What the encoder did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub splats: usize,
    pub width: u32,
    pub height: u32,
    pub sh_bands: u8,
    pub palette: usize,
    /// Seconds per stage, in order.
    pub stages: Vec<(String, f64)>,
}

/// Compresses a sanitised scene.
pub fn compress(
    scene: &Scene,
    options: &Options,
    progress: &dyn Progress,
) -> Result<(Sog, Report)> {
    let _ = (scene, options, progress);
    todo!()
}
