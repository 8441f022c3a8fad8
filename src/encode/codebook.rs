//! The 256-entry 1-D codebook quantizer of `sog-format.md` §3.5 (histogram + dynamic
//! programming), byte-compatible with splat-transform's meta.json values.
//! STUB: owned by the encode-stages helper.

/// Builds the 256-entry ascending codebook for `values` (pooled columns; order does not matter).
pub fn build(values: &[f32]) -> Vec<f32> {
    let _ = values;
    todo!()
}

/// Index of the codebook entry nearest to `v` (ties go up; NaN → 255), by binary search on midpoints.
pub fn index(codebook: &[f32], v: f32) -> u8 {
    let _ = (codebook, v);
    todo!()
}
