//! `.glb` → Scene: container, JSON, the nodes that place splat meshes, then each primitive's
//! accessors, bounds-checked before anything is allocated. See [`super`] for what is accepted.

use std::path::Path;

use super::document::{Accessor, EXTENSION, Gltf, Primitive, Splats, component};
use super::nodes::{Placement, instances};
use super::{OPACITY, ROTATION, SCALE, container, convert, document, model_in, sh_attribute};
use crate::scene::{Model, sh_coeffs};
use crate::{Error, Result, Scene};

/// More splats than any one file holds; a count past this is corrupt, not large.
pub const MAX_SPLATS: u64 = 1 << 31;
/// Extensions a file may require that this reader handles (integer attribute types).
const UNDERSTOOD: &[&str] = &[EXTENSION, "KHR_mesh_quantization"];

/// Reads the file at `path`.
pub fn read(path: &Path) -> Result<Scene> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, &bytes)
}

/// Reads a `.glb` held in `bytes` (`path` names it in errors).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Scene> {
    let chunks = container::parse(path, bytes)?;
    let doc = document::parse(path, chunks.json)?;
    if let Some(ext) = doc
        .extensions_required
        .iter()
        .find(|e| !UNDERSTOOD.contains(&e.as_str()))
    {
        return Err(Error::parse(
            path,
            "extensionsRequired",
            format!("the file requires the extension {ext}, which splatpress does not read"),
        ));
    }
    let data = Data::new(path, &doc, chunks.bin);
    let mut parts: Vec<(String, Scene)> = Vec::new();
    for instance in instances(path, &doc)? {
        let mesh = &doc.meshes[instance.mesh];
        for (p, primitive) in mesh.primitives.iter().enumerate() {
            let at = format!("meshes[{}].primitives[{p}]", instance.mesh);
            let Some(splats) = primitive.splats() else {
                continue;
            };
            let splats = splats
                .map_err(|m| Error::parse(path, format!("{at}.extensions.{EXTENSION}"), m))?;
            let part = data.primitive(&at, primitive, &splats, instance.place)?;
            // Primitives (or node instances) that share accessors would multiply memory
            // without the file growing: every splat must own at least the 3 bytes of the
            // smallest POSITION element.
            let total = parts.iter().map(|(_, p)| p.len()).sum::<usize>() + part.len();
            let bin_len = chunks.bin.map_or(0, <[u8]>::len);
            if total > bin_len / 3 {
                return Err(Error::parse(
                    path,
                    at,
                    format!(
                        "the primitives hold {total} splats, more than a {bin_len}-byte BIN chunk can store: accessors shared between primitives or nodes are not read"
                    ),
                ));
            }
            parts.push((at, part));
        }
    }
    let mut scene = concatenate(path, parts)?;
    scene.extras = doc.extras.filter(|e| e.is_object());
    Ok(scene)
}

/// Access to the file's buffers.
struct Data<'a> {
    path: &'a Path,
    doc: &'a Gltf,
    /// Each buffer's bytes, or why it cannot be read (reported only when it is used).
    buffers: Vec<std::result::Result<&'a [u8], String>>,
}

/// Decodes one component at the start of `b` as f32 (glTF 2.0 §3.11 for normalised values).
type Decode = fn(&[u8], bool) -> f32;

fn component_format(component_type: u32) -> Option<(usize, Decode)> {
    Some(match component_type {
        component::FLOAT => (4, |b, _| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        component::BYTE => (1, |b, n| {
            let v = f32::from(b[0] as i8);
            if n { (v / 127.0).max(-1.0) } else { v }
        }),
        component::UNSIGNED_BYTE => (1, |b, n| {
            let v = f32::from(b[0]);
            if n { v / 255.0 } else { v }
        }),
        component::SHORT => (2, |b, n| {
            let v = f32::from(i16::from_le_bytes([b[0], b[1]]));
            if n { (v / 32767.0).max(-1.0) } else { v }
        }),
        component::UNSIGNED_SHORT => (2, |b, n| {
            let v = f32::from(u16::from_le_bytes([b[0], b[1]]));
            if n { v / 65535.0 } else { v }
        }),
        component::UNSIGNED_INT => (4, |b, _| {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32
        }),
        _ => return None,
    })
}

impl<'a> Data<'a> {
    fn new(path: &'a Path, doc: &'a Gltf, bin: Option<&'a [u8]>) -> Data<'a> {
        let buffers = doc
            .buffers
            .iter()
            .enumerate()
            .map(|(i, b)| match (&b.uri, i, bin) {
                (Some(uri), _, _) => {
                    let kind = if uri.starts_with("data:") {
                        "a data URI"
                    } else {
                        "an external file"
                    };
                    Err(format!(
                        "buffers[{i}] is {kind}; only a .glb's embedded BIN chunk is read"
                    ))
                }
                (None, 0, None) => Err("buffers[0] is the BIN chunk, but the .glb has none".into()),
                (None, 0, Some(bin)) if b.byte_length > bin.len() as u64 => Err(format!(
                    "buffers[0].byteLength is {} but the BIN chunk has only {} bytes",
                    b.byte_length,
                    bin.len()
                )),
                (None, 0, Some(bin)) => Ok(&bin[..b.byte_length as usize]),
                (None, _, _) => Err(format!(
                    "buffers[{i}] has no uri, which only the first buffer of a .glb may omit"
                )),
            })
            .collect();
        Data { path, doc, buffers }
    }

    fn err(&self, context: impl Into<String>, message: impl Into<String>) -> Error {
        Error::parse(self.path, context, message)
    }

    /// The values of the accessor that `semantic` names in the primitive at `at`, as
    /// `width` floats per element; every index, range and type is checked first.
    fn floats(
        &self,
        at: &str,
        primitive: &Primitive,
        semantic: &str,
        width: usize,
    ) -> Result<Vec<f32>> {
        let index = *primitive.attributes.get(semantic).ok_or_else(|| {
            self.err(
                format!("{at}.attributes"),
                format!("no attribute {semantic}"),
            )
        })?;
        let accessors = &self.doc.accessors;
        let acc: &Accessor = accessors.get(index as usize).ok_or_else(|| {
            self.err(
                format!("{at}.attributes[\"{semantic}\"]"),
                format!(
                    "accessor index {index} out of range ({} accessors)",
                    accessors.len()
                ),
            )
        })?;
        let context = format!("accessors[{index}] ({semantic})");
        let want = match width {
            1 => "SCALAR",
            3 => "VEC3",
            _ => "VEC4",
        };
        if acc.kind != want {
            return Err(self.err(context, format!("type is {}, expected {want}", acc.kind)));
        }
        if acc.sparse.is_some() {
            return Err(self.err(context, "sparse accessors are not read"));
        }
        let (size, decode) = component_format(acc.component_type).ok_or_else(|| {
            self.err(
                &context,
                format!(
                    "componentType {} is not a glTF attribute component type",
                    acc.component_type
                ),
            )
        })?;
        let normalized = acc.normalized;
        if normalized
            && matches!(
                acc.component_type,
                component::FLOAT | component::UNSIGNED_INT
            )
        {
            return Err(self.err(
                context,
                "normalized is true for a float or unsigned int accessor",
            ));
        }
        if acc.count == 0 || acc.count > MAX_SPLATS {
            return Err(self.err(
                context,
                format!("count {} is outside 1..={MAX_SPLATS}", acc.count),
            ));
        }
        let view_index = acc.buffer_view.ok_or_else(|| {
            self.err(
                &context,
                "no bufferView (zero-filled accessors are not read)",
            )
        })?;
        let view = self
            .doc
            .buffer_views
            .get(view_index as usize)
            .ok_or_else(|| {
                self.err(
                    &context,
                    format!(
                        "bufferView index {view_index} out of range ({} buffer views)",
                        self.doc.buffer_views.len()
                    ),
                )
            })?;
        let view_context = format!("bufferViews[{view_index}]");
        let buffer = match self.buffers.get(view.buffer as usize) {
            None => {
                return Err(self.err(
                    view_context,
                    format!(
                        "buffer index {} out of range ({} buffers)",
                        view.buffer,
                        self.buffers.len()
                    ),
                ));
            }
            Some(Err(why)) => return Err(self.err(view_context, why.clone())),
            Some(Ok(bytes)) => *bytes,
        };
        let view_end = view.byte_offset.checked_add(view.byte_length);
        if view_end.is_none_or(|end| end > buffer.len() as u64) {
            return Err(self.err(
                view_context,
                format!(
                    "bytes {}..+{} lie past the end of buffer {} ({} bytes)",
                    view.byte_offset,
                    view.byte_length,
                    view.buffer,
                    buffer.len()
                ),
            ));
        }
        let bytes =
            &buffer[view.byte_offset as usize..(view.byte_offset + view.byte_length) as usize];
        let element = (size * width) as u64;
        let stride = view.byte_stride.unwrap_or(element);
        if stride < element {
            return Err(self.err(
                view_context,
                format!(
                    "byteStride {stride} is smaller than the {element}-byte elements of {context}"
                ),
            ));
        }
        let needed = stride
            .checked_mul(acc.count - 1)
            .and_then(|v| v.checked_add(element))
            .and_then(|v| v.checked_add(acc.byte_offset));
        if needed.is_none_or(|n| n > bytes.len() as u64) {
            return Err(self.err(
                context,
                format!(
                    "{} elements of {element} bytes every {stride} bytes from byteOffset {} run past the end of bufferView {view_index} ({} bytes)",
                    acc.count,
                    acc.byte_offset,
                    bytes.len()
                ),
            ));
        }
        let (count, stride, start) = (
            acc.count as usize,
            stride as usize,
            acc.byte_offset as usize,
        );
        let mut out = Vec::with_capacity(count * width);
        for i in 0..count {
            let at = start + i * stride;
            for c in 0..width {
                out.push(decode(&bytes[at + c * size..], normalized));
            }
        }
        Ok(out)
    }

    /// Reads one splat primitive into a scene in PLY conventions.
    fn primitive(
        &self,
        at: &str,
        primitive: &Primitive,
        splats: &Splats,
        place: Option<Placement>,
    ) -> Result<Scene> {
        let missing = |name: &str| {
            let mut message = format!("the required attribute {name} is missing");
            if let Some(exts) = splats.extensions.as_ref().filter(|e| !e.is_empty()) {
                let names: Vec<&str> = exts.keys().map(String::as_str).collect();
                message += &format!(
                    "; the primitive uses {}, which splatpress does not read",
                    names.join(", ")
                );
            }
            self.err(format!("{at}.attributes"), message)
        };
        for name in ["POSITION", ROTATION, SCALE, OPACITY, &sh_attribute(0, 0)] {
            if !primitive.attributes.contains_key(name) {
                return Err(missing(name));
            }
        }
        let bands = sh_bands(self.path, at, primitive)?;
        let positions = self.floats(at, primitive, "POSITION", 3)?;
        let n = positions.len() / 3;
        let read = |semantic: &str, width: usize| -> Result<Vec<f32>> {
            let values = self.floats(at, primitive, semantic, width)?;
            if values.len() != n * width {
                let index = primitive.attributes[semantic];
                return Err(self.err(
                    format!("accessors[{index}] ({semantic})"),
                    format!("count {} differs from POSITION's {n}", values.len() / width),
                ));
            }
            Ok(values)
        };
        let rotations = read(ROTATION, 4)?;
        let scales = read(SCALE, 3)?;
        let opacities = read(OPACITY, 1)?;
        let dc = read(&sh_attribute(0, 0), 3)?;
        let k = sh_coeffs(bands);
        let mut rest = Vec::with_capacity(k);
        for j in 0..k {
            let (degree, coef) = match j {
                0..3 => (1, j),
                3..8 => (2, j - 3),
                _ => (3, j - 8),
            };
            rest.push(read(&sh_attribute(degree, coef), 3)?);
        }
        let bad = |semantic: &str, i: usize, what: String| {
            let index = primitive.attributes[semantic];
            self.err(format!("accessors[{index}] ({semantic}), splat {i}"), what)
        };

        let model = model_in(splats.extras.as_ref())
            .or_else(|| model_in(primitive.extras.as_ref()))
            .unwrap_or(Model::Default);
        let mut scene = Scene::with_capacity(n, bands, model);
        let (s, t) = place.map_or((1.0, [0.0; 3]), |p| (p.scale, p.translation));
        let log_s = s.ln() as f32;
        for i in 0..n {
            let p = [0, 1, 2].map(|a| (f64::from(positions[3 * i + a]) * s + t[a]) as f32);
            scene.positions.push(convert::position(p));
            let q = [0, 1, 2, 3].map(|c| rotations[4 * i + c]);
            scene.rotations.push(convert::rotation_from_gltf(q));
            let sc = [0, 1, 2].map(|a| scales[3 * i + a]);
            if let Some(neg) = sc.iter().find(|v| **v < 0.0) {
                return Err(bad(
                    SCALE,
                    i,
                    format!("negative scale {neg} (scales are linear and must not be negative)"),
                ));
            }
            scene
                .log_scales
                .push(sc.map(|v| convert::log_scale(v) + log_s));
            let a = opacities[i];
            if !(a.is_nan() || (0.0..=1.0).contains(&a)) {
                return Err(bad(OPACITY, i, format!("opacity {a} outside [0, 1]")));
            }
            scene.opacities.push(convert::logit(a));
            scene.sh_dc.push([0, 1, 2].map(|c| dc[3 * i + c]));
            for c in 0..3 {
                for (j, coef) in rest.iter().enumerate() {
                    scene.sh_rest.push(convert::sh_sign(j) * coef[3 * i + c]);
                }
            }
        }
        Ok(scene)
    }
}

/// The SH bands a primitive carries: degree l counts when all 2l+1 of its coefficients are
/// present; a partial degree, or a degree above a missing one, is an error (the spec forbids
/// both).
fn sh_bands(path: &Path, at: &str, primitive: &Primitive) -> Result<u8> {
    let mut bands = 0;
    for degree in 1..=3u8 {
        let total = 2 * degree as usize + 1;
        let present: Vec<bool> = (0..total)
            .map(|c| primitive.attributes.contains_key(&sh_attribute(degree, c)))
            .collect();
        let count = present.iter().filter(|p| **p).count();
        if count == 0 {
            continue;
        }
        if count < total {
            let gap = present.iter().position(|p| !p).unwrap_or(0);
            return Err(Error::parse(
                path,
                format!("{at}.attributes"),
                format!(
                    "SH degree {degree} is partial: {} is missing (degrees must be complete)",
                    sh_attribute(degree, gap)
                ),
            ));
        }
        if bands + 1 != degree {
            return Err(Error::parse(
                path,
                format!("{at}.attributes"),
                format!(
                    "SH degree {degree} is present but degree {} is not",
                    bands + 1
                ),
            ));
        }
        bands = degree;
    }
    Ok(bands)
}

/// Joins the primitives' scenes: the highest SH degree wins (missing coefficients are 0); the
/// models must agree.
fn concatenate(path: &Path, parts: Vec<(String, Scene)>) -> Result<Scene> {
    let Some(first_model) = parts.first().map(|(_, s)| s.model) else {
        return Err(Error::parse(path, "meshes", "no splat primitive"));
    };
    if let Some((at, s)) = parts.iter().find(|(_, s)| s.model != first_model) {
        return Err(Error::parse(
            path,
            at.as_str(),
            format!(
                "training model {:?} differs from the first splat primitive's {first_model:?}; one scene has one model",
                s.model
            ),
        ));
    }
    if parts.len() == 1 {
        return Ok(parts.into_iter().next().map(|(_, s)| s).unwrap_or_default());
    }
    let total = parts.iter().map(|(_, s)| s.len()).sum();
    let bands = parts.iter().map(|(_, s)| s.sh_bands).max().unwrap_or(0);
    let k = sh_coeffs(bands);
    let mut out = Scene::with_capacity(total, bands, first_model);
    for (_, s) in parts {
        let ks = s.sh_coeffs();
        for i in 0..s.len() {
            let row = s.rest(i);
            for c in 0..3 {
                out.sh_rest.extend_from_slice(&row[c * ks..(c + 1) * ks]);
                out.sh_rest.extend(std::iter::repeat_n(0.0, k - ks));
            }
        }
        out.positions.extend(s.positions);
        out.rotations.extend(s.rotations);
        out.log_scales.extend(s.log_scales);
        out.opacities.extend(s.opacities);
        out.sh_dc.extend(s.sh_dc);
    }
    Ok(out)
}
