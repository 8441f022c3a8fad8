//! Scene → `.glb`: one node, one mesh, one POINTS primitive with the extension; one buffer (the
//! BIN chunk) with one tightly packed buffer view per attribute, each 4-byte aligned. The JSON
//! is built first (POSITION needs its min/max), then the BIN chunk is streamed attribute by
//! attribute into the atomic writer, so memory holds one attribute at a time.

use std::io::Write;
use std::path::Path;

use serde_json::{Map, json};

use super::convert;
use super::document::{
    ARRAY_BUFFER, Accessor, Asset, Buffer, BufferView, EXTENSION, Gltf, Mesh, Node, POINTS,
    Primitive, SceneNodes, Splats, component,
};
use super::{
    COLOR_SPACE, KERNEL, OPACITY, PROJECTION, ROTATION, SCALE, SORTING_METHOD, model_extras,
    sh_attribute,
};
use crate::formats::atomic;
use crate::scene::Model;
use crate::{Error, Result, Scene};

/// What one attribute holds, in the order it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Position,
    /// The `COLOR_0` point-cloud fallback.
    Color,
    Rotation,
    Scale,
    Opacity,
    /// `SH_DEGREE_0_COEF_0`.
    Dc,
    /// SH coefficient `j` (0..15) of every channel.
    Rest(usize),
}

impl Column {
    fn semantic(self) -> String {
        match self {
            Column::Position => "POSITION".into(),
            Column::Color => "COLOR_0".into(),
            Column::Rotation => ROTATION.into(),
            Column::Scale => SCALE.into(),
            Column::Opacity => OPACITY.into(),
            Column::Dc => sh_attribute(0, 0),
            Column::Rest(j) => {
                let (degree, first) = match j {
                    0..3 => (1, 0),
                    3..8 => (2, 3),
                    _ => (3, 8),
                };
                sh_attribute(degree, j - first)
            }
        }
    }

    /// (accessor type, component type, normalized, bytes per element).
    fn format(self) -> (&'static str, u32, bool, usize) {
        match self {
            Column::Color => ("VEC4", component::UNSIGNED_BYTE, true, 4),
            Column::Rotation => ("VEC4", component::FLOAT, false, 16),
            Column::Opacity => ("SCALAR", component::FLOAT, false, 4),
            _ => ("VEC3", component::FLOAT, false, 12),
        }
    }

    /// Appends splat `i`'s value to `out`; `Err` names a value glTF cannot hold.
    fn push(self, scene: &Scene, i: usize, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        let floats = |out: &mut Vec<u8>, what: &str, v: &[f32]| {
            if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
                return Err(format!(
                    "splat {i}: the {what} has the non-finite value {bad}; glTF accessors hold finite numbers only (`compress` drops such splats)"
                ));
            }
            v.iter().for_each(|x| out.extend(x.to_le_bytes()));
            Ok(())
        };
        match self {
            Column::Position => floats(out, "position", &convert::position(scene.positions[i])),
            Column::Color => {
                out.extend(convert::fallback_color(scene.sh_dc[i], scene.opacities[i]));
                Ok(())
            }
            Column::Rotation => floats(
                out,
                "rotation",
                &convert::rotation_to_gltf(scene.rotations[i]),
            ),
            Column::Scale => floats(
                out,
                "scale (exp of the log-scale)",
                &scene.log_scales[i].map(convert::linear_scale),
            ),
            Column::Opacity => floats(out, "opacity", &[convert::alpha(scene.opacities[i])]),
            Column::Dc => floats(out, "SH DC coefficient", &scene.sh_dc[i]),
            Column::Rest(j) => {
                let k = scene.sh_coeffs();
                let rest = scene.rest(i);
                let sign = convert::sh_sign(j);
                let v = [0, 1, 2].map(|c| sign * rest[c * k + j]);
                floats(out, "SH coefficient", &v)
            }
        }
    }
}

/// Writes `scene` as a `.glb` (see the module docs of [`super`] for the conventions).
pub fn write(path: &Path, scene: &Scene) -> Result<()> {
    scene
        .check_columns()
        .map_err(|m| Error::output(path, format!("inconsistent scene: {m}")))?;
    if scene.is_empty() {
        return Err(Error::output(
            path,
            "the scene has no splats, and a glTF accessor needs at least one element",
        ));
    }
    let n = scene.len();
    let mut columns = vec![
        Column::Position,
        Column::Color,
        Column::Rotation,
        Column::Scale,
        Column::Opacity,
        Column::Dc,
    ];
    columns.extend((0..scene.sh_coeffs()).map(Column::Rest));

    // POSITION's min and max (required by glTF), checking every position on the way.
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    let mut scratch = Vec::with_capacity(16);
    for i in 0..n {
        scratch.clear();
        Column::Position
            .push(scene, i, &mut scratch)
            .map_err(|m| Error::output(path, m))?;
        let p = convert::position(scene.positions[i]);
        for a in 0..3 {
            min[a] = min[a].min(p[a]);
            max[a] = max[a].max(p[a]);
        }
    }

    let mut doc = document(scene, &columns, min, max);
    let bin_len = doc.buffers[0].byte_length as usize;
    let bytes_of = |c: Column| c.format().3 * n;
    doc.extras = scene.extras.clone();
    let json = serde_json::to_vec(&doc)
        .map_err(|e| Error::output(path, format!("cannot serialise the glTF JSON: {e}")))?;
    let head = super::container::head(&json, bin_len).map_err(|m| Error::output(path, m))?;

    atomic::write_file(path, |w| {
        let io = |e| Error::io(path, e);
        w.write_all(&head).map_err(io)?;
        w.write_all(&super::container::bin_chunk_header(bin_len))
            .map_err(io)?;
        let mut buf = Vec::new();
        for &column in &columns {
            buf.clear();
            buf.reserve(bytes_of(column));
            for i in 0..n {
                column
                    .push(scene, i, &mut buf)
                    .map_err(|m| Error::output(path, m))?;
            }
            w.write_all(&buf).map_err(io)?;
        }
        Ok(())
    })
}

/// The glTF JSON for `columns` of `scene` (buffer views back to back in column order; every
/// element is 4 or a multiple of 4 bytes, so every view starts 4-byte aligned).
fn document(scene: &Scene, columns: &[Column], min: [f32; 3], max: [f32; 3]) -> Gltf {
    let n = scene.len();
    let mut offset = 0u64;
    let mut accessors = Vec::with_capacity(columns.len());
    let mut views = Vec::with_capacity(columns.len());
    let mut attributes = std::collections::BTreeMap::new();
    for (index, &column) in columns.iter().enumerate() {
        let (kind, component_type, normalized, bytes) = column.format();
        let length = (bytes * n) as u64;
        views.push(BufferView {
            buffer: 0,
            byte_offset: offset,
            byte_length: length,
            byte_stride: None,
            target: Some(ARRAY_BUFFER),
        });
        let bounds = |v: [f32; 3]| Some(v.iter().map(|&x| f64::from(x)).collect());
        let is_position = column == Column::Position;
        accessors.push(Accessor {
            buffer_view: Some(index as u32),
            byte_offset: 0,
            component_type,
            normalized,
            count: n as u64,
            kind: kind.into(),
            min: if is_position { bounds(min) } else { None },
            max: if is_position { bounds(max) } else { None },
            sparse: None,
        });
        attributes.insert(column.semantic(), index as u32);
        offset += length.div_ceil(4) * 4;
    }
    let splats = Splats {
        kernel: Some(KERNEL.into()),
        color_space: Some(COLOR_SPACE.into()),
        sorting_method: Some(SORTING_METHOD.into()),
        projection: Some(PROJECTION.into()),
        extensions: None,
        extras: (scene.model != Model::Default).then(|| model_extras(scene.model)),
    };
    let mut extensions = Map::new();
    extensions.insert(
        EXTENSION.into(),
        serde_json::to_value(splats).unwrap_or_else(|_| json!({})),
    );
    Gltf {
        asset: Asset {
            version: "2.0".into(),
            generator: Some(crate::formats::sog::meta::GENERATOR.into()),
            min_version: None,
        },
        extensions_used: vec![EXTENSION.into()],
        extensions_required: Vec::new(),
        scene: Some(0),
        scenes: vec![SceneNodes { nodes: vec![0] }],
        nodes: vec![Node {
            mesh: Some(0),
            ..Node::default()
        }],
        meshes: vec![Mesh {
            primitives: vec![Primitive {
                attributes,
                mode: Some(POINTS),
                extensions: Some(extensions),
                extras: None,
            }],
        }],
        accessors,
        buffer_views: views,
        buffers: vec![Buffer {
            byte_length: offset,
            uri: None,
        }],
        extras: None,
    }
}
