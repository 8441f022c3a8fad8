//! Quality of a decoded scene against its source. STUB: owned by the eval helper.

use crate::{Result, Scene};

/// Per-attribute errors of a decoded scene against the original.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Evaluation {
    /// File sizes, filled by the caller.
    pub sizes: Option<Sizes>,
}

/// Sizes of the input and output.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Sizes {}

/// Sizes, bytes per splat and the ratio.
pub fn sizes(input_bytes: u64, output_bytes: u64, splats: usize) -> Sizes {
    let _ = (input_bytes, output_bytes, splats);
    todo!()
}

impl Evaluation {
    /// Human table.
    pub fn table(&self) -> String {
        todo!()
    }
}

/// Matches splats of `decoded` to `original` and measures the errors.
pub fn evaluate(original: &Scene, decoded: &Scene) -> Result<Evaluation> {
    let _ = (original, decoded);
    todo!()
}
