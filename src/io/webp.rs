//! Lossless WebP through libwebp, always with `exact = 1` so RGB under zero alpha survives.
//! STUB: owned by the sog-files helper.

use super::sog::Image;

/// Encodes `image` losslessly at effort `0..=9` (libwebp's lossless presets).
pub fn encode(image: &Image, effort: u8) -> Result<Vec<u8>, String> {
    let _ = (image, effort);
    todo!()
}

/// Decodes a WebP into RGBA.
pub fn decode(bytes: &[u8]) -> Result<Image, String> {
    let _ = bytes;
    todo!()
}
