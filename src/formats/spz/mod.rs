//! Niantic SPZ: reads versions 2, 3 and 4, writes 4 (the default: one ZSTD stream per
//! attribute) and 3 (one gzip stream). The layout is in [`container`], the quantisation of
//! each attribute in [`quantize`], the coordinate conventions in [`coords`]; the reference is
//! `nianticlabs/spz` (`src/cc/load-spz.cc`, `splat-types.h`, `splat-utils.h`, README).
//!
//! What a conversion keeps and loses, so that nothing changes silently:
//!
//! - **Coordinates.** SPZ stores RUB (y up, z back) unless the `SPZ_ADOBE_coordinate_system`
//!   extension names another system; a [`Scene`] is RDF, the PLY convention. We convert as the
//!   reference's `ply_to_spz` does (`from = RDF`): y and z of positions negate, as do the
//!   quaternion's y and z, and the SH coefficients odd in y or z (band 1: the first two of
//!   three). Reading honours the extension (any of its 16 systems); writing stores RUB without
//!   it. PlayCanvas splat-transform (3.7 to 3.10) instead stores PLY coordinates unconverted,
//!   so a file it writes reads here, like in every RUB reader, rotated 180° about x, and ours
//!   reads there the same way.
//! - **SH degree 4.** A `Scene` holds at most 3 bands: band 4 is dropped on reading, and
//!   [`read_with_notes`] says so.
//! - **Model.** The antialiased flag (0x1) is written for [`Model::Antialiased`] and read back.
//!   SPZ cannot mark 2D Gaussian splatting: a [`Model::TwoD`] scene is written as ordinary
//!   3DGS whose flat third scale (log-scale −∞) takes the smallest code, e^−10 (splat-transform
//!   does the same), and reads back as [`Model::Default`].
//! - **Precision** (the reference's packing, bit for bit): positions in 24-bit fixed point with
//!   12 fraction bits (0.24 mm), fewer only when a coordinate exceeds ±2048 (the reference
//!   wraps around there instead); log-scales in steps of 1/16 over [−10, 5.94]; opacity as a
//!   byte of sigmoid(logit) (bytes 0 and 255 decode to logits ∓13.8, as in splat-transform,
//!   where the reference gives ∓∞); `f_dc` in steps of 1/(0.15·255) ≈ 0.026 over [−3.3, 3.3];
//!   quaternions as "smallest three" (v3, v4: 9 bits and a sign per component); SH band 1 with
//!   5 significant bits (steps of 1/16) and bands 2–3 with 4 (1/8), over [−1, 1].
//! - **Extensions** other than the coordinate system are skipped, with a note.

pub mod container;
pub mod coords;
pub mod quantize;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::formats::atomic;
use crate::scene::{Model, sh_coeffs};
use crate::{Error, Result, Scene};

use container::{FLAG_ANTIALIASED, MAX_SPLATS, Packed, sh_dim, stream_sizes};
use quantize::{
    pack_alpha, pack_color, pack_position, pack_scale, pack_sh, pack_smallest_three, sh_bits,
};

/// The SPZ version written when none is asked for.
pub const DEFAULT_VERSION: u8 = 4;

/// Extension type of `SPZ_ADOBE_coordinate_system` (payload: u32 system code).
const EXT_COORDINATE_SYSTEM: u32 = 0xADBE_0003;
/// Extension type of `SPZ_ADOBE_safe_orbit_camera`.
const EXT_SAFE_ORBIT_CAMERA: u32 = 0xADBE_0002;

/// Reads an SPZ file (versions 2 to 4). See [`read_with_notes`] for what it drops.
pub fn read(path: &Path) -> Result<Scene> {
    read_with_notes(path).map(|(scene, _)| scene)
}

/// Reads an SPZ file (versions 2 to 4) and says, one line each, what the scene could not keep
/// or what the file declared: SH band 4 dropped, a coordinate-system extension applied,
/// extensions skipped.
pub fn read_with_notes(path: &Path) -> Result<(Scene, Vec<String>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let packed = container::decode(path, &bytes)?;
    drop(bytes);
    unpack(path, &packed)
}

/// Writes `scene` as SPZ `version` (3 or 4), atomically.
pub fn write(path: &Path, scene: &Scene, version: u8) -> Result<()> {
    if !(3..=4).contains(&version) {
        return Err(Error::output(
            path,
            format!("SPZ version {version} is not written: choose 4 (ZSTD streams) or 3 (gzip)"),
        ));
    }
    let packed = pack(scene, version).map_err(|m| Error::output(path, m))?;
    let bytes = container::encode(&packed)
        .map_err(|e| Error::output(path, format!("SPZ compression failed: {e}")))?;
    atomic::write_bytes(path, &bytes)
}

/// Quantises a scene into SPZ attribute streams of `version` (3 or 4), in RUB.
pub fn pack(scene: &Scene, version: u8) -> Result<Packed, String> {
    scene.check_columns()?;
    let n = scene.len();
    if n == 0 {
        return Err(
            "an empty scene cannot be written as SPZ (the reference rejects 0 splats)".into(),
        );
    }
    if n > MAX_SPLATS as usize {
        return Err(format!(
            "{n} splats: SPZ files hold at most {MAX_SPLATS} here"
        ));
    }
    let conv = coords::converter(coords::RDF, coords::RUB);
    let max_abs = scene
        .positions
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let fb = quantize::fractional_bits_for(max_abs).ok_or_else(|| {
        format!("a position coordinate of {max_abs} is beyond SPZ's 24-bit range (±8388607)")
    })?;
    let version = version as u32;
    let degree = scene.sh_bands.min(3);
    let coeffs = sh_coeffs(degree);
    let sizes = stream_sizes(version, n, degree);
    let mut streams: [Vec<u8>; 6] = std::array::from_fn(|i| Vec::with_capacity(sizes[i]));
    let [positions, alphas, colors, scales, rotations, sh] = &mut streams;
    let mut buf = [0.0f32; 15];
    for i in 0..n {
        for v in conv.position(scene.positions[i]) {
            positions.extend(pack_position(v, fb));
        }
        alphas.push(pack_alpha(scene.opacities[i]));
        colors.extend(scene.sh_dc[i].map(pack_color));
        scales.extend(scene.log_scales[i].map(pack_scale));
        let [w, x, y, z] = scene.rotations[i];
        let q = conv.quaternion(quantize::normalized([x, y, z, w]));
        rotations.extend(pack_smallest_three(q));
        if coeffs > 0 {
            let rest = scene.rest(i);
            let base = sh.len();
            sh.resize(base + coeffs * 3, 0);
            for c in 0..3 {
                buf[..coeffs].copy_from_slice(&rest[c * coeffs..(c + 1) * coeffs]);
                conv.sh(&mut buf[..coeffs]);
                for (j, &v) in buf[..coeffs].iter().enumerate() {
                    sh[base + j * 3 + c] = pack_sh(v, sh_bits(j));
                }
            }
        }
    }
    Ok(Packed {
        version,
        count: n,
        sh_degree: degree,
        fractional_bits: fb,
        flags: if scene.model == Model::Antialiased {
            FLAG_ANTIALIASED
        } else {
            0
        },
        streams,
        extensions: Vec::new(),
    })
}

/// Unpacks attribute streams into a scene in PLY (RDF) conventions, with the notes of
/// [`read_with_notes`].
pub fn unpack(path: &Path, p: &Packed) -> Result<(Scene, Vec<String>)> {
    let mut notes = Vec::new();
    let from = extensions(path, &p.extensions, &mut notes)?;
    let conv = coords::converter(from, coords::RDF);
    let n = p.count;
    let dim = sh_dim(p.sh_degree);
    let bands = p.sh_degree.min(3);
    let coeffs = sh_coeffs(bands);
    if p.sh_degree > 3 {
        notes.push(format!(
            "SH band 4 dropped: the file has SH degree {}, splatpress keeps 3 bands",
            p.sh_degree
        ));
    }
    let model = if p.flags & FLAG_ANTIALIASED != 0 {
        Model::Antialiased
    } else {
        Model::Default
    };
    let [positions, alphas, colors, scales, rotations, sh] = &p.streams;
    let sizes = stream_sizes(p.version, n, p.sh_degree);
    for (k, stream) in p.streams.iter().enumerate() {
        if stream.len() != sizes[k] {
            return Err(Error::parse(
                path,
                format!("stream {}", container::STREAM_NAMES[k]),
                format!("{} bytes, {} splats need {}", stream.len(), n, sizes[k]),
            ));
        }
    }
    let mut s = Scene::with_capacity(n, bands, model);
    let fb = p.fractional_bits;
    let three = |b: &[u8], i: usize| [b[i], b[i + 1], b[i + 2]];
    let mut buf = [0.0f32; 15];
    for i in 0..n {
        let pos = [0, 1, 2].map(|a| quantize::unpack_position(three(positions, i * 9 + a * 3), fb));
        s.positions.push(conv.position(pos));
        s.opacities.push(quantize::unpack_alpha(alphas[i]));
        s.sh_dc
            .push(three(colors, i * 3).map(quantize::unpack_color));
        s.log_scales
            .push(three(scales, i * 3).map(quantize::unpack_scale));
        let q = if p.version >= 3 {
            let b = &rotations[i * 4..i * 4 + 4];
            quantize::unpack_smallest_three([b[0], b[1], b[2], b[3]])
        } else {
            quantize::unpack_first_three(three(rotations, i * 3))
        };
        let [x, y, z, w] = conv.quaternion(q);
        s.rotations.push([w, x, y, z]);
        let base = i * dim * 3;
        for c in 0..3 {
            for (j, v) in buf[..coeffs].iter_mut().enumerate() {
                *v = quantize::unpack_sh(sh[base + j * 3 + c]);
            }
            conv.sh(&mut buf[..coeffs]);
            s.sh_rest.extend_from_slice(&buf[..coeffs]);
        }
    }
    s.check_columns()
        .map_err(|m| Error::parse(path, "SPZ", m))?;
    Ok((s, notes))
}

/// Reads extension records (`u32 type · u32 length · payload`), returning the coordinate
/// system the data is stored in (RUB unless `SPZ_ADOBE_coordinate_system` names another).
fn extensions(path: &Path, records: &[u8], notes: &mut Vec<String>) -> Result<u32> {
    let mut system = coords::RUB;
    let mut at = 0;
    let err = |at: usize, message: String| {
        Error::parse(path, format!("extension records, byte {at}"), message)
    };
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    while at < records.len() {
        let left = records.len() - at;
        if left < 8 {
            return Err(err(
                at,
                format!("truncated record: {left} bytes, fewer than a type and a length"),
            ));
        }
        let kind = u32_at(records, at);
        let len = u32_at(records, at + 4) as usize;
        if len > left - 8 {
            return Err(err(
                at,
                format!("record 0x{kind:08x} of {len} bytes runs past the {left} bytes left"),
            ));
        }
        let payload = &records[at + 8..at + 8 + len];
        match kind {
            EXT_COORDINATE_SYSTEM => {
                if len < 4 {
                    return Err(err(
                        at,
                        format!("SPZ_ADOBE_coordinate_system payload of {len} bytes, expected 4"),
                    ));
                }
                let code = u32_at(payload, 0);
                if code > coords::MAX_CODE {
                    return Err(err(
                        at,
                        format!("SPZ_ADOBE_coordinate_system names unknown system {code}"),
                    ));
                }
                // UNSPECIFIED means RUB, as in the reference.
                system = if code == 0 { coords::RUB } else { code };
                notes.push(format!(
                    "data stored in {} (SPZ_ADOBE_coordinate_system), converted to RDF",
                    coords::name(system)
                ));
            }
            EXT_SAFE_ORBIT_CAMERA => {
                notes.push("SPZ_ADOBE_safe_orbit_camera extension not kept".into());
            }
            other => notes.push(format!(
                "unknown extension 0x{other:08x} ({len} bytes) skipped"
            )),
        }
        at += 8 + len;
    }
    Ok(system)
}
