//! Quality of a decoded scene against its source. STUB: owned by the eval helper.

use crate::{Result, Scene};

/// Per-attribute errors of a decoded scene against the original.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Evaluation {}

/// Matches splats of `decoded` to `original` and measures the errors.
pub fn evaluate(original: &Scene, decoded: &Scene) -> Result<Evaluation> {
    let _ = (original, decoded);
    todo!()
}
