//! SOG → Scene with the PlayCanvas engine's decoder formulas (`sog-format.md` §5.2).
//! STUB: owned by the sog-files helper.

use super::Sog;
use crate::Scene;

/// Decodes the first `meta.count` texels of `sog` into a scene.
pub fn decode(sog: &Sog) -> Result<Scene, String> {
    let _ = sog;
    todo!()
}
