//! antimatter15 `.splat`: no header, 32 bytes a splat, little-endian:
//! position 3×f32, linear scale (σ) 3×f32, colour RGBA 4×u8, rotation 4×u8 (w, x, y, z),
//! each rotation byte `b` meaning `(b − 128) / 128`.

use std::path::Path;

use crate::scene::{Model, SH_C0};
use crate::{Error, Result, Scene};

/// Bytes per splat record.
pub const RECORD_BYTES: usize = 32;

/// Opacity logit for a stored alpha byte: `−ln(1/α − 1)` with α = a/255, clamped to ±40 at the
/// ends (α = 0 or 1 have no finite logit), as the PlayCanvas engine does.
pub fn opacity_logit(alpha_byte: u8) -> f32 {
    match alpha_byte {
        0 => -40.0,
        255 => 40.0,
        a => {
            let alpha = f32::from(a) / 255.0;
            -(1.0 / alpha - 1.0).ln()
        }
    }
}

/// The SH DC coefficient for a stored 8-bit colour channel: `(c/255 − 0.5) / SH_C0`.
pub fn dc_from_byte(channel: u8) -> f32 {
    (f32::from(channel) / 255.0 - 0.5) / SH_C0
}

/// Decodes one 32-byte record into the scene's columns.
fn push_record(scene: &mut Scene, r: &[u8; RECORD_BYTES]) {
    let f = |at: usize| f32::from_le_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]);
    scene.positions.push([f(0), f(4), f(8)]);
    scene.log_scales.push([f(12).ln(), f(16).ln(), f(20).ln()]);
    scene.sh_dc.push([
        dc_from_byte(r[24]),
        dc_from_byte(r[25]),
        dc_from_byte(r[26]),
    ]);
    scene.opacities.push(opacity_logit(r[27]));
    let q = |b: u8| (f32::from(b) - 128.0) / 128.0;
    scene
        .rotations
        .push([q(r[28]), q(r[29]), q(r[30]), q(r[31])]);
}

/// Reads a `.splat` file into a scene (SH degree 0, no other checks: values are as stored).
pub fn read(path: &Path) -> Result<Scene> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if data.len() % RECORD_BYTES != 0 {
        return Err(Error::parse(
            path,
            format!("byte {}", data.len() - data.len() % RECORD_BYTES),
            format!(
                "file length {} is not a multiple of {RECORD_BYTES} bytes (one splat): {} whole splats and {} bytes left over; the file is truncated or not a .splat",
                data.len(),
                data.len() / RECORD_BYTES,
                data.len() % RECORD_BYTES
            ),
        ));
    }
    let n = data.len() / RECORD_BYTES;
    let mut scene = Scene::with_capacity(n, 0, Model::Default);
    for record in data.chunks_exact(RECORD_BYTES) {
        // chunks_exact yields exactly RECORD_BYTES bytes, so this conversion cannot fail.
        if let Ok(record) = record.try_into() {
            push_record(&mut scene, record);
        }
    }
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pos: [f32; 3], scale: [f32; 3], rgba: [u8; 4], rot: [u8; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        for v in pos.iter().chain(&scale) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&rgba);
        out.extend_from_slice(&rot);
        out
    }

    #[test]
    fn decodes_each_field_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.splat");
        let mut bytes = record(
            [1.0, -2.0, 3.5],
            [1.0, 0.5, 2.0],
            [255, 0, 128, 51],
            [255, 128, 0, 192],
        );
        bytes.extend(record([0.0; 3], [1.0; 3], [0, 0, 0, 0], [128; 4]));
        bytes.extend(record([0.0; 3], [1.0; 3], [0, 0, 0, 255], [128; 4]));
        std::fs::write(&path, &bytes).unwrap();
        let s = read(&path).unwrap();
        s.check_columns().unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.positions[0], [1.0, -2.0, 3.5]);
        assert_eq!(s.log_scales[0], [0.0, 0.5f32.ln(), 2.0f32.ln()]);
        // colour 255 → f_dc with 0.5 + SH_C0·f_dc = 1.
        assert!((0.5 + SH_C0 * s.sh_dc[0][0] - 1.0).abs() < 1e-6);
        assert!((0.5 + SH_C0 * s.sh_dc[0][1]).abs() < 1e-6);
        // alpha 51/255 = 0.2: sigmoid(logit) = 0.2.
        let sigmoid = |x: f32| 1.0 / (1.0 + (-x).exp());
        assert!((sigmoid(s.opacities[0]) - 0.2).abs() < 1e-6);
        assert_eq!(s.rotations[0], [127.0 / 128.0, 0.0, -1.0, 0.5]);
        assert_eq!(s.opacities[1], -40.0);
        assert_eq!(s.opacities[2], 40.0);
    }

    #[test]
    fn length_not_a_multiple_of_32_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.splat");
        std::fs::write(&path, vec![0u8; 70]).unwrap();
        let m = read(&path).unwrap_err().to_string();
        assert!(
            m.contains("70") && m.contains("multiple of 32") && m.contains("b.splat"),
            "{m}"
        );
    }
}
