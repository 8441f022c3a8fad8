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

/// Reads one property of every row of an element from the raw payload.
struct Field<'a> {
    bytes: &'a [u8],
    row: usize,
    offset: usize,
    big_endian: bool,
}

impl Field<'_> {
    fn u32(&self, i: usize) -> u32 {
        let at = i * self.row + self.offset;
        let b = [
            self.bytes[at],
            self.bytes[at + 1],
            self.bytes[at + 2],
            self.bytes[at + 3],
        ];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn f32(&self, i: usize) -> f32 {
        f32::from_bits(self.u32(i))
    }
}

/// Finds `name` in `element` with one of the `allowed` types.
fn field<'a>(
    path: &Path,
    element: &Element,
    bytes: &'a [u8],
    big_endian: bool,
    name: &str,
    allowed: &[ScalarType],
) -> Result<Field<'a>> {
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
        bytes,
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

/// Reads a compressed PLY into a scene.
pub fn read(path: &Path) -> Result<Scene> {
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
    let (data, ranges) = ply::read_fixed_elements(path, &header)?;
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
    let chunk_bytes = &data[ranges[chunk_index].clone()];
    let vertex_bytes = &data[ranges[vertex_index].clone()];
    let float = [ScalarType::F32];
    let words = [ScalarType::U32, ScalarType::I32];
    let cf = |name| field(path, chunk, chunk_bytes, big_endian, name, &float);
    let vf = |name| field(path, vertex, vertex_bytes, big_endian, name, &words);
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

    let mut scene = Scene::with_capacity(n, 0, header.model.unwrap_or_default());
    let unpack_111011 = |w: u32| [unorm(w, 21, 11), unorm(w, 11, 10), unorm(w, 0, 11)];
    for i in 0..n {
        let c = i / CHUNK_SIZE;
        let range = |lo: &[Field; 3], hi: &[Field; 3], t: [f32; 3]| {
            [0, 1, 2].map(|k| lerp(lo[k].f32(c), hi[k].f32(c), t[k]))
        };
        scene
            .positions
            .push(range(&min_pos, &max_pos, unpack_111011(position.u32(i))));
        scene
            .log_scales
            .push(range(&min_scale, &max_scale, unpack_111011(scale.u32(i))));
        scene.rotations.push(unpack_rotation(rotation.u32(i)));
        let word = colour.u32(i);
        let rgb = [unorm(word, 24, 8), unorm(word, 16, 8), unorm(word, 8, 8)];
        let rgb = match &colour_range {
            Some((lo, hi)) => range(lo, hi, rgb),
            None => rgb,
        };
        scene.sh_dc.push(rgb.map(|v| (v - 0.5) / SH_C0));
        scene.opacities.push(opacity_logit((word & 0xff) as u8));
    }

    if let Some((sh_index, sh)) = header.element("sh") {
        read_sh(path, &mut scene, sh, &data[ranges[sh_index].clone()])?;
    }
    Ok(scene)
}

/// Decodes the optional `sh` element (uchar `f_rest_*`, one row per vertex).
fn read_sh(path: &Path, scene: &mut Scene, sh: &Element, bytes: &[u8]) -> Result<()> {
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
        .map(|j| {
            field(
                path,
                sh,
                bytes,
                false,
                &format!("f_rest_{j}"),
                &[ScalarType::U8],
            )
        })
        .collect::<Result<Vec<_>>>()?;
    scene.sh_rest = Vec::with_capacity(scene.len() * count);
    for i in 0..scene.len() {
        for f in &fields {
            scene
                .sh_rest
                .push(sh_from_byte(f.bytes[i * f.row + f.offset]));
        }
    }
    scene.sh_bands = bands;
    Ok(())
}

#[cfg(test)]
mod tests;
