//! 3DGS PLY: header parser, bulk binary reader, ASCII and big-endian fallbacks, and a writer.
//! STUB: owned by the io-readers helper.

use std::path::Path;

use crate::{Result, Scene};

/// Storage format named on the `format` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Ascii,
    BinaryLittleEndian,
    BinaryBigEndian,
}

/// Scalar type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

/// One `property` line (list properties keep their count and item types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub ty: ScalarType,
    /// For `property list COUNT ITEM name`: the count type; `ty` is then the item type.
    pub list_count: Option<ScalarType>,
}

/// One `element` with its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub count: u64,
    pub properties: Vec<Property>,
}

/// A parsed PLY header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub encoding: Encoding,
    pub elements: Vec<Element>,
    /// Byte length of the header, including the `end_header` line: the payload starts here.
    pub len: u64,
}

/// Reads and parses the header of the PLY at `path`.
pub fn read_header_from_path(path: &Path) -> Result<Header> {
    let _ = path;
    todo!()
}

/// Reads a 3DGS PLY into a scene.
pub fn read(path: &Path) -> Result<Scene> {
    let _ = path;
    todo!()
}

/// Writes `scene` as a binary little-endian 3DGS PLY in the INRIA property order, atomically.
pub fn write(path: &Path, scene: &Scene) -> Result<()> {
    let _ = (path, scene);
    todo!()
}
