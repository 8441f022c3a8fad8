//! The built-in sample scene. STUB (being written by the lead).

use crate::Scene;

/// A deterministic synthetic scene of `n` splats with `bands` SH bands.
pub fn scene(n: usize, bands: u8, seed: u64) -> Scene {
    let _ = (n, bands, seed);
    todo!()
}
