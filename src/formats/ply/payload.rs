//! The data after the header: the bulk little-endian float path, and a general decoder (any
//! scalar type, either byte order, ASCII, list properties, elements before `vertex`) that
//! produces the same row-major `f32` matrix.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use super::columns::{ColumnsMut, VertexLayout};
use super::{Element, Encoding, Header, ScalarType, ascii};
use crate::{Error, Result, Scene};

/// Bytes read per block on the fast path: big enough for few system calls, small enough to
/// stay in cache while its rows are scattered.
const FAST_BLOCK_BYTES: usize = 4 << 20;

/// Reads the `vertex` element (index `vertex_index`) into a scene laid out by `layout`.
pub(super) fn read_vertices(
    path: &Path,
    header: &Header,
    vertex_index: usize,
    layout: &VertexLayout,
) -> Result<Scene> {
    let vertex = &header.elements[vertex_index];
    let preceding = &header.elements[..vertex_index];
    let all_float = vertex
        .properties
        .iter()
        .all(|p| p.ty == ScalarType::F32 && p.list_count.is_none());
    let fixed_before = preceding.iter().all(|e| e.row_size().is_some());
    if header.encoding == Encoding::BinaryLittleEndian && all_float && fixed_before {
        return read_float_rows_le(path, header, vertex_index, layout);
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    let header_len = header.len as usize;
    if data.len() < header_len {
        return Err(Error::parse(
            path,
            "header",
            "the file shrank while it was being read",
        ));
    }
    let rows = match header.encoding {
        Encoding::Ascii => ascii::vertex_rows(path, &data, header, vertex_index, layout.stride)?,
        Encoding::BinaryLittleEndian | Encoding::BinaryBigEndian => {
            let mut cursor = Binary {
                data: &data,
                pos: header_len,
                big_endian: header.encoding == Encoding::BinaryBigEndian,
            };
            for element in preceding {
                cursor.skip_element(path, element)?;
            }
            cursor.vertex_rows(path, vertex, layout.stride)?
        }
    };
    let count = vertex.count as usize;
    let mut scene = layout.empty_scene(count);
    layout.scatter(&rows, ColumnsMut::new(&mut scene));
    Ok(scene)
}

/// The fast path: binary little-endian, every vertex property a `float`, and only fixed-size
/// elements before `vertex`, so the vertex rows sit at a known offset.
fn read_float_rows_le(
    path: &Path,
    header: &Header,
    vertex_index: usize,
    layout: &VertexLayout,
) -> Result<Scene> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let ranges = element_ranges(path, header, file_len, vertex_index + 1)?;
    let range = &ranges[vertex_index];
    let vertex = &header.elements[vertex_index];
    let count = vertex.count as usize;
    let mut scene = layout.empty_scene(count);
    if count == 0 {
        return Ok(scene);
    }
    file.seek(SeekFrom::Start(range.start))
        .map_err(|e| Error::io(path, e))?;
    let stride = layout.stride;
    let block_rows = (FAST_BLOCK_BYTES / (4 * stride)).max(1);
    let mut block = vec![0f32; block_rows.min(count) * stride];
    let mut rest = ColumnsMut::new(&mut scene);
    let mut done = 0;
    while done < count {
        let rows = block_rows.min(count - done);
        let values = &mut block[..rows * stride];
        file.read_exact(bytemuck::cast_slice_mut(values))
            .map_err(|e| Error::io(path, e))?;
        if cfg!(target_endian = "big") {
            for v in values.iter_mut() {
                *v = f32::from_bits(u32::from_le(v.to_bits()));
            }
        }
        let (head, tail) = rest.split_at(rows);
        layout.scatter(values, head);
        rest = tail;
        done += rows;
    }
    Ok(scene)
}

/// Byte ranges of the first `upto` elements of a binary file whose elements have fixed-size
/// rows, checked against `file_len` before anything is allocated.
fn element_ranges(
    path: &Path,
    header: &Header,
    file_len: u64,
    upto: usize,
) -> Result<Vec<Range<u64>>> {
    let mut ranges = Vec::with_capacity(upto);
    let mut offset = header.len;
    for element in &header.elements[..upto] {
        let row = element.row_size().ok_or_else(|| {
            Error::parse(
                path,
                format!("element `{}`", element.name),
                "has a list property; expected fixed-size rows here",
            )
        })?;
        let bytes = element.count.checked_mul(row);
        let end = bytes.and_then(|b| b.checked_add(offset));
        match end {
            Some(end) if end <= file_len => {
                ranges.push(offset..end);
                offset = end;
            }
            _ => {
                let total = bytes.map_or_else(|| "more than 2^64".to_string(), |b| b.to_string());
                return Err(Error::parse(
                    path,
                    format!("element `{}`", element.name),
                    format!(
                        "truncated: expected {} {} × {row} bytes = {total} bytes after the header at offset {offset}, found {}: the file is {file_len} bytes long",
                        element.count,
                        if element.name == "vertex" {
                            "vertices"
                        } else {
                            "rows"
                        },
                        file_len.saturating_sub(offset)
                    ),
                ));
            }
        }
    }
    Ok(ranges)
}

/// Reads a binary PLY whose elements all have fixed-size rows, for readers that decode the
/// rows themselves (the compressed PLY). Returns the whole file and each element's byte range.
pub fn read_fixed_elements(path: &Path, header: &Header) -> Result<(Vec<u8>, Vec<Range<usize>>)> {
    if header.encoding == Encoding::Ascii {
        return Err(Error::parse(
            path,
            "header",
            "format is ascii; expected a binary PLY here",
        ));
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let ranges = element_ranges(path, header, file_len, header.elements.len())?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    let ranges = ranges
        .into_iter()
        .map(|r| r.start as usize..r.end as usize)
        .collect::<Vec<_>>();
    if ranges.last().is_some_and(|r| r.end > data.len()) {
        return Err(Error::parse(
            path,
            "payload",
            "the file shrank while it was being read",
        ));
    }
    Ok((data, ranges))
}

/// A read position in a binary payload.
struct Binary<'a> {
    data: &'a [u8],
    pos: usize,
    big_endian: bool,
}

impl Binary<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.data.get(self.pos..self.pos + N)?;
        self.pos += N;
        bytes.try_into().ok()
    }

    /// One value converted to `f32` (integers by value), or `None` at the end of the data.
    fn value(&mut self, ty: ScalarType) -> Option<f32> {
        macro_rules! num {
            ($t:ty) => {{
                let b = self.take::<{ std::mem::size_of::<$t>() }>()?;
                if self.big_endian {
                    <$t>::from_be_bytes(b)
                } else {
                    <$t>::from_le_bytes(b)
                }
            }};
        }
        Some(match ty {
            ScalarType::I8 => num!(i8) as f32,
            ScalarType::U8 => num!(u8) as f32,
            ScalarType::I16 => num!(i16) as f32,
            ScalarType::U16 => num!(u16) as f32,
            ScalarType::I32 => num!(i32) as f32,
            ScalarType::U32 => num!(u32) as f32,
            ScalarType::F32 => num!(f32),
            ScalarType::F64 => num!(f64) as f32,
        })
    }

    /// A list length, which must be a whole non-negative number.
    fn list_len(&mut self, ty: ScalarType) -> Option<Result<usize, String>> {
        let v = self.value(ty)?;
        Some(if v >= 0.0 && v.fract() == 0.0 {
            Ok(v as usize)
        } else {
            Err(format!("list length {v} is not a non-negative integer"))
        })
    }

    fn ends(&self, path: &Path, element: &Element, row: u64, property: &str) -> Error {
        Error::parse(
            path,
            format!(
                "element `{}` row {row}, property `{property}`",
                element.name
            ),
            format!(
                "truncated: the file ends at byte {}; expected {} rows",
                self.data.len(),
                element.count
            ),
        )
    }

    /// Moves past every row of `element`.
    fn skip_element(&mut self, path: &Path, element: &Element) -> Result<()> {
        if let Some(row) = element.row_size() {
            let end = element
                .count
                .checked_mul(row)
                .and_then(|b| b.checked_add(self.pos as u64))
                .filter(|&end| end <= self.data.len() as u64);
            return match end {
                Some(end) => {
                    self.pos = end as usize;
                    Ok(())
                }
                None => Err(Error::parse(
                    path,
                    format!("element `{}`", element.name),
                    format!(
                        "truncated: expected {} rows × {row} bytes from offset {}, but the file is {} bytes long",
                        element.count,
                        self.pos,
                        self.data.len()
                    ),
                )),
            };
        }
        for row in 0..element.count {
            for p in &element.properties {
                match p.list_count {
                    None => self.pos += p.ty.size(),
                    Some(count_ty) => {
                        let len = self
                            .list_len(count_ty)
                            .ok_or_else(|| self.ends(path, element, row, &p.name))?
                            .map_err(|m| {
                                Error::parse(
                                    path,
                                    format!(
                                        "element `{}` row {row}, property `{}`",
                                        element.name, p.name
                                    ),
                                    m,
                                )
                            })?;
                        self.pos = self.pos.saturating_add(len.saturating_mul(p.ty.size()));
                    }
                }
                if self.pos > self.data.len() {
                    return Err(self.ends(path, element, row, &p.name));
                }
            }
        }
        Ok(())
    }

    /// Decodes the vertex rows into a row-major matrix of its scalar properties.
    fn vertex_rows(&mut self, path: &Path, vertex: &Element, stride: usize) -> Result<Vec<f32>> {
        let remaining = (self.data.len() - self.pos) as u64;
        let min_row: u64 = vertex
            .properties
            .iter()
            .map(|p| p.list_count.unwrap_or(p.ty).size() as u64)
            .sum();
        let needed = vertex.count.checked_mul(min_row);
        if needed.is_none_or(|n| n > remaining) {
            let fixed = vertex.row_size().is_some();
            let total = needed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
            return Err(Error::parse(
                path,
                format!("element `{}`", vertex.name),
                format!(
                    "truncated: expected {} vertices × {}{min_row} bytes = {}{total} bytes from offset {} (after the header), found {remaining}",
                    vertex.count,
                    if fixed { "" } else { "at least " },
                    if fixed { "" } else { "at least " },
                    self.pos
                ),
            ));
        }
        let count = vertex.count as usize;
        let mut rows = Vec::with_capacity(count * stride);
        for row in 0..vertex.count {
            for p in &vertex.properties {
                match p.list_count {
                    None => {
                        let v = self
                            .value(p.ty)
                            .ok_or_else(|| self.ends(path, vertex, row, &p.name))?;
                        rows.push(v);
                    }
                    Some(count_ty) => {
                        let len = self
                            .list_len(count_ty)
                            .ok_or_else(|| self.ends(path, vertex, row, &p.name))?
                            .map_err(|m| {
                                Error::parse(
                                    path,
                                    format!(
                                        "element `{}` row {row}, property `{}`",
                                        vertex.name, p.name
                                    ),
                                    m,
                                )
                            })?;
                        self.pos = self.pos.saturating_add(len.saturating_mul(p.ty.size()));
                        if self.pos > self.data.len() {
                            return Err(self.ends(path, vertex, row, &p.name));
                        }
                    }
                }
            }
        }
        Ok(rows)
    }
}
