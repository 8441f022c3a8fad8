//! The parts of the glTF JSON that splats use, as serde types for both directions. Reading
//! goes through [`parse`], which deserialises each array element on its own so that an error
//! names it (`accessors[3]: missing field count`). Unknown properties are ignored.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// The extension's name, also the prefix of its attribute semantics.
pub const EXTENSION: &str = "KHR_gaussian_splatting";

/// `accessor.componentType` values (glTF 2.0 §5.1.3).
pub mod component {
    /// `BYTE` (i8).
    pub const BYTE: u32 = 5120;
    /// `UNSIGNED_BYTE` (u8).
    pub const UNSIGNED_BYTE: u32 = 5121;
    /// `SHORT` (i16).
    pub const SHORT: u32 = 5122;
    /// `UNSIGNED_SHORT` (u16).
    pub const UNSIGNED_SHORT: u32 = 5123;
    /// `UNSIGNED_INT` (u32).
    pub const UNSIGNED_INT: u32 = 5125;
    /// `FLOAT` (f32).
    pub const FLOAT: u32 = 5126;
}

/// `bufferView.target` for vertex attributes.
pub const ARRAY_BUFFER: u32 = 34962;
/// `primitive.mode` POINTS, which the extension requires.
pub const POINTS: u32 = 0;

fn is_false(b: &bool) -> bool {
    !*b
}

/// The root object (only what splats use).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gltf {
    /// `asset`.
    pub asset: Asset,
    /// `extensionsUsed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions_used: Vec<String>,
    /// `extensionsRequired`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions_required: Vec<String>,
    /// `scene`: the default scene.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<u32>,
    /// `scenes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scenes: Vec<SceneNodes>,
    /// `nodes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<Node>,
    /// `meshes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub meshes: Vec<Mesh>,
    /// `accessors`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accessors: Vec<Accessor>,
    /// `bufferViews`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buffer_views: Vec<BufferView>,
    /// `buffers`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buffers: Vec<Buffer>,
    /// `extras` of the root: the scene's free-form metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extras: Option<Value>,
}

/// `asset`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// `version`, "2.0".
    pub version: String,
    /// `generator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// `minVersion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
}

/// A `scenes` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SceneNodes {
    /// `nodes`: the root nodes.
    #[serde(default)]
    pub nodes: Vec<u32>,
}

/// A `nodes` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `mesh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<u32>,
    /// `children`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<u32>,
    /// `matrix`, column-major.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<[f64; 16]>,
    /// `translation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translation: Option<[f64; 3]>,
    /// `rotation` (x, y, z, w).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<[f64; 4]>,
    /// `scale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<[f64; 3]>,
}

/// A `meshes` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mesh {
    /// `primitives`.
    pub primitives: Vec<Primitive>,
}

/// A mesh primitive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Primitive {
    /// `attributes`: semantic → accessor index.
    pub attributes: BTreeMap<String, u32>,
    /// `mode` (default 4, TRIANGLES).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// `extensions`, kept as JSON; [`Primitive::splats`] reads ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
    /// `extras`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Value>,
}

/// The `KHR_gaussian_splatting` object of a primitive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Splats {
    /// `kernel` (required by the spec; "ellipse" is the only one defined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// `colorSpace` (required by the spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_space: Option<String>,
    /// `sortingMethod` (default "cameraDistance").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorting_method: Option<String>,
    /// `projection` (default "perspective").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<String>,
    /// `extensions` of the extension object (e.g. compression extensions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
    /// `extras`: where splatpress keeps the training model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Value>,
}

impl Primitive {
    /// The primitive's `KHR_gaussian_splatting` object: `None` without one, `Err` (a message)
    /// when it is not an object of the right shape.
    pub fn splats(&self) -> Option<std::result::Result<Splats, String>> {
        let value = self.extensions.as_ref()?.get(EXTENSION)?;
        Some(Splats::deserialize(value).map_err(|e| e.to_string()))
    }
}

/// An `accessors` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accessor {
    /// `bufferView` (absent: all zeros, or sparse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer_view: Option<u32>,
    /// `byteOffset` within the buffer view.
    #[serde(default)]
    pub byte_offset: u64,
    /// `componentType`.
    pub component_type: u32,
    /// `normalized`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub normalized: bool,
    /// `count`.
    pub count: u64,
    /// `type`: "SCALAR", "VEC3", "VEC4"…
    #[serde(rename = "type")]
    pub kind: String,
    /// `min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Vec<f64>>,
    /// `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Vec<f64>>,
    /// `sparse` (not read: its presence is an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse: Option<Value>,
}

/// A `bufferViews` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BufferView {
    /// `buffer`.
    pub buffer: u32,
    /// `byteOffset`.
    #[serde(default)]
    pub byte_offset: u64,
    /// `byteLength`.
    pub byte_length: u64,
    /// `byteStride` (vertex attributes only; absent: tightly packed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_stride: Option<u64>,
    /// `target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<u32>,
}

/// A `buffers` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buffer {
    /// `byteLength`.
    pub byte_length: u64,
    /// `uri` (absent: the GLB's BIN chunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// Parses the JSON chunk. Errors name the property: `JSON chunk`, `asset.version`,
/// `meshes[0]`…
pub fn parse(path: &Path, json: &[u8]) -> Result<Gltf> {
    let root: Value = serde_json::from_slice(json)
        .map_err(|e| Error::parse(path, "JSON chunk", format!("not valid JSON: {e}")))?;
    let Value::Object(mut root) = root else {
        return Err(Error::parse(
            path,
            "JSON chunk",
            "the top level is not a JSON object",
        ));
    };
    let asset: Asset = match root.remove("asset") {
        None => return Err(Error::parse(path, "asset", "missing (glTF requires it)")),
        Some(v) => one(path, "asset", v)?,
    };
    if asset.version.split('.').next() != Some("2") {
        return Err(Error::parse(
            path,
            "asset.version",
            format!("glTF version {:?}; only glTF 2.x is read", asset.version),
        ));
    }
    let scene = match root.remove("scene") {
        None => None,
        Some(v) => Some(one(path, "scene", v)?),
    };
    Ok(Gltf {
        asset,
        extensions_used: list(path, &mut root, "extensionsUsed")?,
        extensions_required: list(path, &mut root, "extensionsRequired")?,
        scene,
        scenes: list(path, &mut root, "scenes")?,
        nodes: list(path, &mut root, "nodes")?,
        meshes: list(path, &mut root, "meshes")?,
        accessors: list(path, &mut root, "accessors")?,
        buffer_views: list(path, &mut root, "bufferViews")?,
        buffers: list(path, &mut root, "buffers")?,
        extras: root.remove("extras"),
    })
}

fn one<T: DeserializeOwned>(path: &Path, context: &str, value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::parse(path, context, e.to_string()))
}

/// The array `root[key]` (empty when absent), each element deserialised on its own.
fn list<T: DeserializeOwned>(
    path: &Path,
    root: &mut Map<String, Value>,
    key: &str,
) -> Result<Vec<T>> {
    match root.remove(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| one(path, &format!("{key}[{i}]"), v))
            .collect(),
        Some(_) => Err(Error::parse(path, key, "not an array")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(json: &str) -> Result<Gltf> {
        parse(Path::new("x.glb"), json.as_bytes())
    }

    #[test]
    fn errors_name_the_element() {
        let e = parse_str(r#"{"asset":{"version":"2.0"},"accessors":[{"componentType":5126,"count":1,"type":"VEC3"},{"componentType":5126,"type":"VEC3"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("accessors[1]") && e.contains("count"), "{e}");
        let e = parse_str(r#"{"asset":{"version":"1.0"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("asset.version"), "{e}");
        let e = parse_str(r#"{"meshes":[]}"#).unwrap_err().to_string();
        assert!(e.contains("asset: missing"), "{e}");
        let e = parse_str(r#"{"asset":{"version":"2.0"},"nodes":[{"mesh":-1}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nodes[0]"), "{e}");
        let e = parse_str("[1,").unwrap_err().to_string();
        assert!(e.contains("JSON chunk"), "{e}");
    }

    #[test]
    fn writes_what_it_reads() {
        let doc = Gltf {
            asset: Asset {
                version: "2.0".into(),
                generator: Some("t".into()),
                min_version: None,
            },
            extensions_used: vec![EXTENSION.into()],
            meshes: vec![Mesh {
                primitives: vec![Primitive {
                    attributes: [("POSITION".to_string(), 0)].into(),
                    mode: Some(POINTS),
                    ..Primitive::default()
                }],
            }],
            accessors: vec![Accessor {
                buffer_view: Some(0),
                component_type: component::FLOAT,
                count: 1,
                kind: "VEC3".into(),
                min: Some(vec![0.1f32 as f64; 3]),
                ..Accessor::default()
            }],
            ..Gltf::default()
        };
        let json = serde_json::to_vec(&doc).unwrap();
        assert_eq!(parse(Path::new("x.glb"), &json).unwrap(), doc);
    }
}
