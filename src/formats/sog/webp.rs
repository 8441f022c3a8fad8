//! Lossless WebP through libwebp, always with `exact = 1` so RGB under zero alpha survives.
//!
//! `webp::Encoder::encode_lossless()` leaves `exact = 0`, which lets libwebp rewrite the colour
//! of fully transparent pixels (`toolchain.md` §4); SOG keeps data there (sh0 colour of
//! invisible splats), so only the preset + `exact` path below is used.

use super::Image;

/// Highest libwebp lossless preset level.
pub const MAX_EFFORT: u8 = 9;

/// Encodes `image` losslessly at effort `0..=9` (libwebp's lossless presets) as a plain VP8L
/// file (no VP8X, ICC or EXIF chunks). Errors are plain strings; callers add the path.
pub fn encode(image: &Image, effort: u8) -> Result<Vec<u8>, String> {
    if effort > MAX_EFFORT {
        return Err(format!(
            "WebP effort {effort} is out of range: expected 0..={MAX_EFFORT}"
        ));
    }
    let (w, h) = (image.width, image.height);
    if w == 0 || h == 0 || w > 16383 || h > 16383 {
        return Err(format!(
            "cannot encode a {w}x{h} WebP: each side must be 1..=16383 pixels"
        ));
    }
    let expected = w as usize * h as usize * 4;
    if image.rgba.len() != expected {
        return Err(format!(
            "image buffer holds {} bytes, a {w}x{h} RGBA image needs {expected}",
            image.rgba.len()
        ));
    }
    let mut cfg = webp::WebPConfig::new().map_err(|()| "libwebp: WebPConfigInit failed")?;
    // SAFETY: `cfg` is a valid, initialised WebPConfig owned by this frame.
    let ok = unsafe { libwebp_sys::WebPConfigLosslessPreset(&mut cfg, i32::from(effort)) };
    if ok == 0 {
        return Err(format!("libwebp rejected lossless preset {effort}"));
    }
    cfg.lossless = 1;
    cfg.exact = 1;
    let memory = webp::Encoder::from_rgba(&image.rgba, w, h)
        .encode_advanced(&cfg)
        .map_err(|e| format!("libwebp lossless encoding of a {w}x{h} image failed: {e:?}"))?;
    Ok(memory.to_vec())
}

/// Decodes a WebP into RGBA. Images without alpha decode with A = 255.
pub fn decode(bytes: &[u8]) -> Result<Image, String> {
    let features = webp::BitstreamFeatures::new(bytes)
        .ok_or_else(|| "not a WebP image (no valid RIFF/WEBP header)".to_string())?;
    if features.has_animation() {
        return Err("animated WebP is not a SOG texture".into());
    }
    let decoded = webp::Decoder::new(bytes).decode().ok_or_else(|| {
        "WebP data is corrupt or truncated (libwebp could not decode it)".to_string()
    })?;
    let (width, height) = (decoded.width(), decoded.height());
    let pixels = width as usize * height as usize;
    let data: &[u8] = &decoded;
    let rgba = if decoded.is_alpha() {
        if data.len() != pixels * 4 {
            return Err(format!(
                "libwebp returned {} bytes for a {width}x{height} RGBA image",
                data.len()
            ));
        }
        data.to_vec()
    } else {
        if data.len() != pixels * 3 {
            return Err(format!(
                "libwebp returned {} bytes for a {width}x{height} RGB image",
                data.len()
            ));
        }
        let mut out = Vec::with_capacity(pixels * 4);
        for rgb in data.chunks_exact(3) {
            out.extend_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
        }
        out
    };
    Ok(Image {
        width,
        height,
        rgba,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic test bytes without a dependency.
    fn random_bytes(n: usize, mut seed: u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }

    fn random_image(w: u32, h: u32, seed: u64) -> Image {
        let mut rgba = random_bytes(w as usize * h as usize * 4, seed);
        // Every third pixel fully transparent, with non-zero colour underneath.
        for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
            if i % 3 == 0 {
                px[3] = 0;
                px[0] |= 1;
            }
        }
        Image {
            width: w,
            height: h,
            rgba,
        }
    }

    #[test]
    fn lossless_round_trip_keeps_rgb_under_zero_alpha() {
        for (effort, seed) in [(0u8, 1u64), (4, 2), (9, 3)] {
            let img = random_image(37, 21, seed);
            assert!(img.rgba.chunks_exact(4).any(|p| p[3] == 0 && p[0] != 0));
            let bytes = encode(&img, effort).unwrap();
            assert_eq!(&bytes[0..4], b"RIFF");
            assert_eq!(&bytes[8..16], b"WEBPVP8L", "plain VP8L at effort {effort}");
            let back = decode(&bytes).unwrap();
            assert_eq!(back, img, "effort {effort}");
        }
    }

    #[test]
    fn opaque_image_round_trips_with_alpha_255() {
        let mut img = random_image(16, 4, 9);
        for px in img.rgba.chunks_exact_mut(4) {
            px[3] = 255;
        }
        let back = decode(&encode(&img, 1).unwrap()).unwrap();
        assert_eq!(back, img);
    }

    #[test]
    fn rejects_bad_effort_sizes_and_garbage() {
        let img = random_image(4, 4, 5);
        assert!(encode(&img, 10).unwrap_err().contains("0..=9"));
        let short = Image {
            width: 4,
            height: 4,
            rgba: vec![0; 10],
        };
        assert!(encode(&short, 0).is_err());
        assert!(encode(&Image::zeroed(0, 3), 0).is_err());
        assert!(decode(b"not a webp at all").is_err());
        let good = encode(&img, 0).unwrap();
        assert!(decode(&good[..good.len() / 2]).is_err());
    }
}
