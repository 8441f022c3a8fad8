//! `evaluate`: what compression lost, per attribute, with the file sizes.

use std::path::Path;

use crate::eval::{self, Evaluation};
use crate::progress::Progress;
use crate::{Result, formats};

/// Per-attribute errors of `compressed` (any readable format) against `original` (sanitised
/// as `compress` would), and both files' sizes.
pub fn evaluate(original: &Path, compressed: &Path, progress: &dyn Progress) -> Result<Evaluation> {
    evaluate_lod(original, compressed, None, progress)
}

/// [`evaluate`] of one level of detail of a streamed SOG (`lod-meta.json`) `compressed`:
/// `Some(n)` level `n` (refused when `compressed` has no levels), `None` level 0, the full
/// detail. Coarser levels hold merged splats: their errors measure the merge, not only the
/// quantisation.
pub fn evaluate_lod(
    original: &Path,
    compressed: &Path,
    lod: Option<u32>,
    progress: &dyn Progress,
) -> Result<Evaluation> {
    let (source, _) = super::read_clean(original, None, progress)?;
    let (decoded, _) = formats::read_lod(compressed, lod)?;
    let mut evaluation = eval::evaluate(&source, &decoded)?;
    evaluation.sizes = Some(eval::sizes(
        formats::size_on_disk(original),
        formats::size_on_disk(compressed),
        decoded.len(),
    ));
    Ok(evaluation)
}
