//! `evaluate`: what compression lost, per attribute, with the file sizes.

use std::path::Path;

use crate::eval::{self, Evaluation};
use crate::progress::Progress;
use crate::{Result, formats};

/// Per-attribute errors of `compressed` (any readable format) against `original` (sanitised
/// as `compress` would), and both files' sizes.
pub fn evaluate(original: &Path, compressed: &Path, progress: &dyn Progress) -> Result<Evaluation> {
    let (source, _) = super::read_clean(original, progress)?;
    let decoded = formats::read(compressed)?;
    let mut evaluation = eval::evaluate(&source, &decoded)?;
    evaluation.sizes = Some(eval::sizes(
        formats::size_on_disk(original),
        formats::size_on_disk(compressed),
        decoded.len(),
    ));
    Ok(evaluation)
}
