//! 3DGS PLY: header parser, bulk binary reader, ASCII and big-endian fallbacks, and a writer.
//!
//! Properties are found by name, never by position. Binary little-endian files whose vertex
//! rows are all `float` take a fast path: the payload is read in large blocks straight into an
//! `f32` buffer and scattered into the scene's columns. Everything else (ASCII, big-endian,
//! other scalar types, list properties, elements with lists before `vertex`) is decoded into the
//! same row-major `f32` matrix first, so one scatter serves both. Binary payloads of either kind
//! stream: a block of rows is read and scattered at a time, so a file larger than memory's
//! spare room reads in the columns' space plus a block or two.

mod ascii;
mod columns;
mod header;
mod payload;
mod writer;

use std::path::Path;

use crate::scene::Model;
use crate::{Error, Result, Scene};

pub use payload::{BLOCK_BYTES, FixedElements, read_fixed_elements};

/// Storage format named on the `format` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Whitespace-separated decimal text, one element row per line.
    Ascii,
    /// Packed binary rows, little-endian (what every 3DGS trainer writes).
    BinaryLittleEndian,
    /// Packed binary rows, big-endian.
    BinaryBigEndian,
}

/// Scalar type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    /// `char` / `int8`.
    I8,
    /// `uchar` / `uint8`.
    U8,
    /// `short` / `int16`.
    I16,
    /// `ushort` / `uint16`.
    U16,
    /// `int` / `int32`.
    I32,
    /// `uint` / `uint32`.
    U32,
    /// `float` / `float32`.
    F32,
    /// `double` / `float64`.
    F64,
}

impl ScalarType {
    /// Size of one value in binary encodings, in bytes.
    pub fn size(self) -> usize {
        match self {
            ScalarType::I8 | ScalarType::U8 => 1,
            ScalarType::I16 | ScalarType::U16 => 2,
            ScalarType::I32 | ScalarType::U32 | ScalarType::F32 => 4,
            ScalarType::F64 => 8,
        }
    }

    /// Parses a PLY type name, including the sized aliases (`float32`, `uint8`…).
    pub fn from_name(name: &str) -> Option<ScalarType> {
        Some(match name {
            "char" | "int8" => ScalarType::I8,
            "uchar" | "uint8" => ScalarType::U8,
            "short" | "int16" => ScalarType::I16,
            "ushort" | "uint16" => ScalarType::U16,
            "int" | "int32" => ScalarType::I32,
            "uint" | "uint32" => ScalarType::U32,
            "float" | "float32" => ScalarType::F32,
            "double" | "float64" => ScalarType::F64,
            _ => return None,
        })
    }

    /// The canonical PLY name of the type (as written by the INRIA trainer).
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::I8 => "char",
            ScalarType::U8 => "uchar",
            ScalarType::I16 => "short",
            ScalarType::U16 => "ushort",
            ScalarType::I32 => "int",
            ScalarType::U32 => "uint",
            ScalarType::F32 => "float",
            ScalarType::F64 => "double",
        }
    }
}

/// One `property` line (list properties keep their count and item types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Property name, e.g. `opacity`.
    pub name: String,
    /// Value type; for a list, the item type.
    pub ty: ScalarType,
    /// For `property list COUNT ITEM name`: the count type; `ty` is then the item type.
    pub list_count: Option<ScalarType>,
}

/// One `element` with its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Element name, e.g. `vertex`.
    pub name: String,
    /// Number of rows, as declared (not yet checked against the file).
    pub count: u64,
    /// Properties in row order.
    pub properties: Vec<Property>,
}

impl Element {
    /// Bytes per row in binary encodings, or `None` when a list property makes rows vary.
    pub fn row_size(&self) -> Option<u64> {
        self.properties
            .iter()
            .map(|p| p.list_count.is_none().then_some(p.ty.size() as u64))
            .sum()
    }

    /// The property called `name` and its index in the row, if any.
    pub fn property(&self, name: &str) -> Option<(usize, &Property)> {
        self.properties
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == name)
    }
}

/// A parsed PLY header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Storage format of the payload.
    pub encoding: Encoding,
    /// Elements in file order.
    pub elements: Vec<Element>,
    /// Byte length of the header, including the `end_header` line: the payload starts here.
    pub len: u64,
    /// The splat model the header's comments name, if any: Brush's `comment SplatRenderMode:
    /// default|mip|2dgs` or Postshot's `comment antialiased 0|1`; the last such comment wins.
    pub model: Option<Model>,
}

impl Header {
    /// The element called `name` and its index, if any.
    pub fn element(&self, name: &str) -> Option<(usize, &Element)> {
        self.elements
            .iter()
            .enumerate()
            .find(|(_, e)| e.name == name)
    }

    /// Parses a header from the start of `reader`; `path` only names the file in errors.
    pub fn parse(reader: impl std::io::BufRead, path: &Path) -> Result<Header> {
        header::parse(reader, path)
    }
}

/// Reads and parses the header of the PLY at `path`.
pub fn read_header_from_path(path: &Path) -> Result<Header> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Header::parse(std::io::BufReader::new(file), path)
}

/// Reads a 3DGS PLY into a scene (values as stored: NaN and ±∞ are kept).
pub fn read(path: &Path) -> Result<Scene> {
    read_in_blocks(path, BLOCK_BYTES)
}

/// [`read`], streaming a binary payload in blocks of about `block_bytes` (tests use small ones).
pub(crate) fn read_in_blocks(path: &Path, block_bytes: usize) -> Result<Scene> {
    let header = read_header_from_path(path)?;
    let (vertex_index, vertex) = header.element("vertex").ok_or_else(|| {
        Error::parse(
            path,
            "header",
            "no element `vertex`: a 3DGS PLY stores one splat per vertex",
        )
    })?;
    let layout = columns::VertexLayout::new(vertex, path)?;
    let mut scene = payload::read_vertices(path, &header, vertex_index, &layout, block_bytes)?;
    // A PLY without `scale_2` is 2DGS whatever its comments say.
    if scene.model != Model::TwoD
        && let Some(model) = header.model
    {
        scene.model = model;
    }
    Ok(scene)
}

/// Writes `scene` as a binary little-endian 3DGS PLY in the INRIA property order, atomically.
pub fn write(path: &Path, scene: &Scene) -> Result<()> {
    writer::write(path, scene)
}

#[cfg(test)]
mod tests;
