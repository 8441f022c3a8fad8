//! PlayCanvas `.compressed.ply`: chunks of 256 splats with per-chunk ranges and packed
//! 32-bit position, rotation, scale and colour words.
//!
//! Layout (facts from PlayCanvas splat-transform's decompressor):
//! - element `chunk`, one row per 256 vertices: `min_x min_y min_z max_x max_y max_z`,
//!   `min_scale_x..z max_scale_x..z` (log scales), optionally `min_r min_g min_b max_r max_g max_b`;
//! - element `vertex`, `uint` words:
//!   `packed_position` and `packed_scale` = 11-10-11 bits (x in the top 11 bits, y in the next
//!   10, z in the low 11), each a fraction of its chunk's min..max;
//!   `packed_rotation` = 2-bit index of the largest component (0..3 in w, x, y, z order) in the
//!   top bits, then the other three in order, 10 bits each, as `(q/1023 − 0.5)·√2`;
//!   `packed_color` = R, G, B, A bytes from the top; RGB are fractions of the chunk's colour
//!   range when the chunk has one (else the colour itself), A is the opacity;
//! - optional element `sh` with `uchar f_rest_*`: byte b → t = 0 (b = 0), 1 (b = 255) or
//!   (b + 0.5)/256, and coefficient = (t − 0.5)·8.

use std::path::Path;

use super::ply::{self, Element, Encoding, Header, ScalarType};
use super::splat::opacity_logit;
use crate::scene::{SH_C0, bands_for_rest_count};
use crate::{Error, Result, Scene};

/// Vertices per chunk row.
pub const CHUNK_SIZE: usize = 256;

/// True when the header has the compressed layout (a `chunk` element and packed vertex words).
pub fn is_compressed(header: &Header) -> bool {
    header.element("chunk").is_some()
        && header
            .element("vertex")
            .is_some_and(|(_, v)| v.property("packed_position").is_some())
}

/// Where one property of an element's rows is, to read it from rows of the raw payload.
struct Field {
    row: usize,
    offset: usize,
    big_endian: bool,
}

impl Field {
    /// The word in row `i` of `bytes` (rows of this field's element).
    fn u32(&self, bytes: &[u8], i: usize) -> u32 {
        let at = i * self.row + self.offset;
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn f32(&self, bytes: &[u8], i: usize) -> f32 {
        f32::from_bits(self.u32(bytes, i))
    }

    /// The byte in row `i` of `bytes`.
    fn u8(&self, bytes: &[u8], i: usize) -> u8 {
        bytes[i * self.row + self.offset]
    }
}

/// Finds `name` in `element` with one of the `allowed` types.
fn field(
    path: &Path,
    element: &Element,
    big_endian: bool,
    name: &str,
    allowed: &[ScalarType],
) -> Result<Field> {
    let (index, property) = element.property(name).ok_or_else(|| {
        Error::parse(
            path,
            "header",
            format!("element `{}` has no property `{name}`", element.name),
        )
    })?;
    if property.list_count.is_some() || !allowed.contains(&property.ty) {
        return Err(Error::parse(
            path,
            format!("element `{}`, property `{name}`", element.name),
            format!(
                "has type {}; a compressed PLY stores it as {}",
                property.ty.name(),
                allowed[0].name()
            ),
        ));
    }
    let offset = element.properties[..index]
        .iter()
        .map(|p| p.ty.size())
        .sum();
    Ok(Field {
        row: element.row_size().unwrap_or(0) as usize,
        offset,
        big_endian,
    })
}

/// A fraction from the `bits`-bit field of `word` starting at bit `shift`.
fn unorm(word: u32, shift: u32, bits: u32) -> f32 {
    let max = (1u32 << bits) - 1;
    ((word >> shift) & max) as f32 / max as f32
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a * (1.0 - t) + b * t
}

/// Decodes a `packed_rotation` word to (w, x, y, z).
pub fn unpack_rotation(word: u32) -> [f32; 4] {
    let small = |shift| (unorm(word, shift, 10) - 0.5) * std::f32::consts::SQRT_2;
    let (a, b, c) = (small(20), small(10), small(0));
    let largest = (1.0 - (a * a + b * b + c * c)).max(0.0).sqrt();
    match word >> 30 {
        0 => [largest, a, b, c],
        1 => [a, largest, b, c],
        2 => [a, b, largest, c],
        _ => [a, b, c, largest],
    }
}

/// The SH coefficient for a stored `sh` byte.
pub fn sh_from_byte(b: u8) -> f32 {
    let t = match b {
        0 => 0.0,
        255 => 1.0,
        _ => (f32::from(b) + 0.5) / 256.0,
    };
    (t - 0.5) * 8.0
}

/// Reads a compressed PLY into a scene, streaming the vertex and `sh` rows in blocks.
pub fn read(path: &Path) -> Result<Scene> {
    read_in_blocks(path, ply::BLOCK_BYTES)
}

/// [`read`] with blocks of about `block_bytes` (tests use small ones).
pub(crate) fn read_in_blocks(path: &Path, block_bytes: usize) -> Result<Scene> {
    let header = ply::read_header_from_path(path)?;
    let big_endian = header.encoding == Encoding::BinaryBigEndian;
    let element = |name: &str| {
        header.element(name).ok_or_else(|| {
            Error::parse(
                path,
                "header",
                format!("no element `{name}`: expected `chunk` and `vertex` elements in a compressed PLY"),
            )
        })
    };
    let (chunk_index, chunk) = element("chunk")?;
    let (vertex_index, vertex) = element("vertex")?;
    let mut elements = ply::FixedElements::open(path, &header)?;
    let n = vertex.count as usize;
    let chunks_needed = n.div_ceil(CHUNK_SIZE) as u64;
    if chunk.count < chunks_needed {
        return Err(Error::parse(
            path,
            "element `chunk`",
            format!(
                "has {} rows; {n} vertices need {chunks_needed} (one per {CHUNK_SIZE})",
                chunk.count
            ),
        ));
    }
    let float = [ScalarType::F32];
    let words = [ScalarType::U32, ScalarType::I32];
    let cf = |name| field(path, chunk, big_endian, name, &float);
    let vf = |name| field(path, vertex, big_endian, name, &words);
    let min_pos = [cf("min_x")?, cf("min_y")?, cf("min_z")?];
    let max_pos = [cf("max_x")?, cf("max_y")?, cf("max_z")?];
    let min_scale = [cf("min_scale_x")?, cf("min_scale_y")?, cf("min_scale_z")?];
    let max_scale = [cf("max_scale_x")?, cf("max_scale_y")?, cf("max_scale_z")?];
    let colour_range = if chunk.property("min_r").is_some() {
        Some((
            [cf("min_r")?, cf("min_g")?, cf("min_b")?],
            [cf("max_r")?, cf("max_g")?, cf("max_b")?],
        ))
    } else {
        None
    };
    let position = vf("packed_position")?;
    let rotation = vf("packed_rotation")?;
    let scale = vf("packed_scale")?;
    let colour = vf("packed_color")?;

    let chunk_bytes = elements.read_element(chunk_index)?;
    let chunk_bytes = &chunk_bytes[..];

    let mut scene = Scene::with_capacity(n, 0, header.model.unwrap_or_default());
    let unpack_111011 = |w: u32| [unorm(w, 21, 11), unorm(w, 11, 10), unorm(w, 0, 11)];
    elements.read_rows(vertex_index, block_bytes, |first, bytes| {
        for j in 0..bytes.len() / position.row {
            let c = (first + j) / CHUNK_SIZE;
            let range = |lo: &[Field; 3], hi: &[Field; 3], t: [f32; 3]| {
                [0, 1, 2].map(|k| lerp(lo[k].f32(chunk_bytes, c), hi[k].f32(chunk_bytes, c), t[k]))
            };
            scene.positions.push(range(
                &min_pos,
                &max_pos,
                unpack_111011(position.u32(bytes, j)),
            ));
            scene.log_scales.push(range(
                &min_scale,
                &max_scale,
                unpack_111011(scale.u32(bytes, j)),
            ));
            scene
                .rotations
                .push(unpack_rotation(rotation.u32(bytes, j)));
            let word = colour.u32(bytes, j);
            let rgb = [unorm(word, 24, 8), unorm(word, 16, 8), unorm(word, 8, 8)];
            let rgb = match &colour_range {
                Some((lo, hi)) => range(lo, hi, rgb),
                None => rgb,
            };
            scene.sh_dc.push(rgb.map(|v| (v - 0.5) / SH_C0));
            scene.opacities.push(opacity_logit((word & 0xff) as u8));
        }
        Ok(())
    })?;

    if let Some((sh_index, sh)) = header.element("sh") {
        read_sh(path, &mut scene, sh, sh_index, &mut elements, block_bytes)?;
    }
    Ok(scene)
}

/// Decodes the optional `sh` element (uchar `f_rest_*`, one row per vertex).
fn read_sh(
    path: &Path,
    scene: &mut Scene,
    sh: &Element,
    sh_index: usize,
    elements: &mut ply::FixedElements<'_>,
    block_bytes: usize,
) -> Result<()> {
    let count = sh
        .properties
        .iter()
        .filter(|p| p.name.starts_with("f_rest_"))
        .count();
    let bands = bands_for_rest_count(count).ok_or_else(|| {
        Error::parse(
            path,
            "header",
            format!("element `sh` has {count} f_rest properties: expected 0, 9, 24 or 45"),
        )
    })?;
    if sh.count != scene.len() as u64 {
        return Err(Error::parse(
            path,
            "element `sh`",
            format!(
                "has {} rows; expected one per vertex ({})",
                sh.count,
                scene.len()
            ),
        ));
    }
    let fields = (0..count)
        .map(|j| field(path, sh, false, &format!("f_rest_{j}"), &[ScalarType::U8]))
        .collect::<Result<Vec<_>>>()?;
    scene.sh_rest = Vec::with_capacity(scene.len() * count);
    if let Some(first) = fields.first() {
        let sh_rest = &mut scene.sh_rest;
        elements.read_rows(sh_index, block_bytes, |_, bytes| {
            for i in 0..bytes.len() / first.row {
                for f in &fields {
                    sh_rest.push(sh_from_byte(f.u8(bytes, i)));
                }
            }
            Ok(())
        })?;
    }
    scene.sh_bands = bands;
    Ok(())
}

#[cfg(test)]
mod tests;
