//! Splat order in the texture grid. Morton (Z-order) exactly as splat-transform 3.7.0 does it
//! (`sog-format.md` §3.3). STUB: owned by the encode-stages helper.

/// `order[i]` = the source splat stored at texel i, by recursive 10-bit Morton codes.
pub fn morton(positions: &[[f32; 3]]) -> Vec<u32> {
    let _ = positions;
    todo!()
}
