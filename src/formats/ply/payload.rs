//! The data after the header: the bulk little-endian float path, and a general decoder (any
//! scalar type, either byte order, ASCII, list properties, elements before `vertex`) that
//! produces the same row-major `f32` matrix.
//!
//! Binary payloads stream: they are read in blocks of whole rows of about [`BLOCK_BYTES`], and
//! each block is converted into the scene's columns before the next is read, so the peak is
//! the columns plus a block or two whatever the file's size. ASCII payloads are read whole.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use super::columns::{ColumnsMut, VertexLayout};
use super::{Element, Encoding, Header, ScalarType, ascii};
use crate::{Error, Result, Scene};

/// Bytes read per block of a binary payload: big enough for few system calls and for the
/// block's conversion to spread over the cores, small enough not to count beside the columns.
pub const BLOCK_BYTES: usize = 16 << 20;

/// Reads the `vertex` element (index `vertex_index`) into a scene laid out by `layout`,
/// streaming binary payloads in blocks of about `block_bytes`.
pub(super) fn read_vertices(
    path: &Path,
    header: &Header,
    vertex_index: usize,
    layout: &VertexLayout,
    block_bytes: usize,
) -> Result<Scene> {
    let block_bytes = block_bytes.max(1);
    let vertex = &header.elements[vertex_index];
    let preceding = &header.elements[..vertex_index];
    let all_float = vertex
        .properties
        .iter()
        .all(|p| p.ty == ScalarType::F32 && p.list_count.is_none());
    let fixed_before = preceding.iter().all(|e| e.row_size().is_some());
    if header.encoding == Encoding::BinaryLittleEndian && all_float && fixed_before {
        return read_float_rows_le(path, header, vertex_index, layout, block_bytes);
    }
    if header.encoding == Encoding::Ascii {
        return read_ascii(path, header, vertex_index, layout);
    }
    let mut stream = Stream::open(
        path,
        header.len,
        block_bytes,
        header.encoding == Encoding::BinaryBigEndian,
    )?;
    for element in preceding {
        stream.skip_element(element)?;
    }
    stream.vertices(vertex, layout)
}

/// An ASCII payload: the whole file is read and decoded into one row matrix.
fn read_ascii(
    path: &Path,
    header: &Header,
    vertex_index: usize,
    layout: &VertexLayout,
) -> Result<Scene> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    if data.len() < header.len as usize {
        return Err(shrank(path, "header"));
    }
    let rows = ascii::vertex_rows(path, &data, header, vertex_index, layout.stride)?;
    drop(data);
    let count = header.elements[vertex_index].count as usize;
    let mut scene = layout.empty_scene(count);
    layout.scatter(&rows, ColumnsMut::new(&mut scene));
    Ok(scene)
}

fn shrank(path: &Path, context: &str) -> Error {
    Error::parse(path, context, "the file shrank while it was being read")
}

/// Fills `buf` from `file`; a file that ends first has shrunk since its length was checked.
fn read_block(path: &Path, file: &mut File, buf: &mut [u8]) -> Result<()> {
    file.read_exact(buf).map_err(|e| match e.kind() {
        ErrorKind::UnexpectedEof => shrank(path, "payload"),
        _ => Error::io(path, e),
    })
}

/// The fast path: binary little-endian, every vertex property a `float`, and only fixed-size
/// elements before `vertex`, so the vertex rows sit at a known offset. The next block is read
/// while the last one is scattered.
fn read_float_rows_le(
    path: &Path,
    header: &Header,
    vertex_index: usize,
    layout: &VertexLayout,
    block_bytes: usize,
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
    let block_rows = (block_bytes / (4 * stride)).max(1).min(count);
    let mut read = |values: &mut [f32]| -> Result<()> {
        read_block(path, &mut file, bytemuck::cast_slice_mut(values))?;
        if cfg!(target_endian = "big") {
            for v in values.iter_mut() {
                *v = f32::from_bits(u32::from_le(v.to_bits()));
            }
        }
        Ok(())
    };
    let mut current = vec![0f32; block_rows * stride];
    let mut next = vec![0f32; if count > block_rows { current.len() } else { 0 }];
    read(&mut current)?;
    let mut rest = ColumnsMut::new(&mut scene);
    let mut done = 0;
    while done < count {
        let rows = block_rows.min(count - done);
        let following = block_rows.min(count - done - rows);
        let (head, tail) = rest.split_at(rows);
        let values = &current[..rows * stride];
        let (_, got) = rayon::join(
            || layout.scatter(values, head),
            || match following {
                0 => Ok(()),
                _ => read(&mut next[..following * stride]),
            },
        );
        got?;
        std::mem::swap(&mut current, &mut next);
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

fn require_binary(path: &Path, header: &Header) -> Result<()> {
    if header.encoding == Encoding::Ascii {
        return Err(Error::parse(
            path,
            "header",
            "format is ascii; expected a binary PLY here",
        ));
    }
    Ok(())
}

/// Reads a binary PLY whose elements all have fixed-size rows, for readers that decode the
/// rows themselves. Returns the whole file and each element's byte range; readers of files
/// that may be large use [`FixedElements`], which reads an element in blocks.
pub fn read_fixed_elements(path: &Path, header: &Header) -> Result<(Vec<u8>, Vec<Range<usize>>)> {
    require_binary(path, header)?;
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
        return Err(shrank(path, "payload"));
    }
    Ok((data, ranges))
}

/// A binary PLY whose elements all have fixed-size rows, open for readers that decode the rows
/// themselves (the compressed PLY): each element is read whole or in blocks of whole rows.
pub struct FixedElements<'a> {
    path: &'a Path,
    file: File,
    ranges: Vec<Range<u64>>,
    row_sizes: Vec<u64>,
}

impl<'a> FixedElements<'a> {
    /// Opens `path` and checks that every element of `header` has fixed-size rows and lies
    /// within the file, with the same errors as [`read_fixed_elements`].
    pub fn open(path: &'a Path, header: &Header) -> Result<FixedElements<'a>> {
        require_binary(path, header)?;
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let ranges = element_ranges(path, header, file_len, header.elements.len())?;
        let row_sizes = header
            .elements
            .iter()
            .map(|e| e.row_size().unwrap_or(0))
            .collect();
        Ok(FixedElements {
            path,
            file,
            ranges,
            row_sizes,
        })
    }

    /// The byte range of element `index` in the file.
    pub fn range(&self, index: usize) -> Range<u64> {
        self.ranges[index].clone()
    }

    /// All of element `index`'s rows (for small elements).
    pub fn read_element(&mut self, index: usize) -> Result<Vec<u8>> {
        let range = self.range(index);
        let mut bytes = vec![0; (range.end - range.start) as usize];
        self.file
            .seek(SeekFrom::Start(range.start))
            .map_err(|e| Error::io(self.path, e))?;
        read_block(self.path, &mut self.file, &mut bytes)?;
        Ok(bytes)
    }

    /// Element `index`'s rows in order, in blocks of whole rows of about `block_bytes`: calls
    /// `each(first_row, bytes)` per block.
    pub fn read_rows(
        &mut self,
        index: usize,
        block_bytes: usize,
        mut each: impl FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let range = self.range(index);
        let row = self.row_sizes[index] as usize;
        let total = (range.end - range.start) as usize;
        if row == 0 || total == 0 {
            return Ok(());
        }
        let block_rows = (block_bytes / row).max(1).min(total / row);
        let mut block = vec![0u8; block_rows * row];
        self.file
            .seek(SeekFrom::Start(range.start))
            .map_err(|e| Error::io(self.path, e))?;
        let mut done = 0;
        while done * row < total {
            let rows = block_rows.min(total / row - done);
            let bytes = &mut block[..rows * row];
            read_block(self.path, &mut self.file, bytes)?;
            each(done, bytes)?;
            done += rows;
        }
        Ok(())
    }
}

/// One binary value converted to `f32` (integers by value).
fn decode(ty: ScalarType, big_endian: bool, bytes: &[u8]) -> f32 {
    macro_rules! num {
        ($t:ty) => {{
            let b = bytes[..std::mem::size_of::<$t>()].try_into().unwrap();
            if big_endian {
                <$t>::from_be_bytes(b)
            } else {
                <$t>::from_le_bytes(b)
            }
        }};
    }
    match ty {
        ScalarType::I8 => num!(i8) as f32,
        ScalarType::U8 => num!(u8) as f32,
        ScalarType::I16 => num!(i16) as f32,
        ScalarType::U16 => num!(u16) as f32,
        ScalarType::I32 => num!(i32) as f32,
        ScalarType::U32 => num!(u32) as f32,
        ScalarType::F32 => num!(f32),
        ScalarType::F64 => num!(f64) as f32,
    }
}

/// A read position in a binary payload, over a window of at most about one block of the file.
/// Offsets are file offsets; `len` is the file's length (lowered if the file shrinks while it is
/// read, so that errors then say where it ended).
struct Stream<'a> {
    path: &'a Path,
    file: File,
    /// Where the file's cursor is.
    file_pos: u64,
    /// The window: `buf[..filled]` holds the bytes from file offset `buf_at`.
    buf: Vec<u8>,
    buf_at: u64,
    filled: usize,
    block: usize,
    pos: u64,
    len: u64,
    big_endian: bool,
}

impl<'a> Stream<'a> {
    /// Opens `path` at `start` (the end of the header).
    fn open(path: &'a Path, start: u64, block: usize, big_endian: bool) -> Result<Stream<'a>> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len < start {
            return Err(shrank(path, "header"));
        }
        Ok(Stream {
            path,
            file,
            file_pos: 0,
            buf: Vec::new(),
            buf_at: start,
            filled: 0,
            block,
            pos: start,
            len,
            big_endian,
        })
    }

    /// Brings bytes `pos..pos + n` into the window; false when the data ends first.
    fn fill(&mut self, n: usize) -> Result<bool> {
        let Some(end) = self.pos.checked_add(n as u64) else {
            return Ok(false);
        };
        let window_end = self.buf_at + self.filled as u64;
        if self.pos >= self.buf_at && end <= window_end {
            return Ok(true);
        }
        if end > self.len {
            return Ok(false);
        }
        if self.pos >= self.buf_at && self.pos < window_end {
            let from = (self.pos - self.buf_at) as usize;
            self.buf.copy_within(from..self.filled, 0);
            self.filled -= from;
        } else {
            self.filled = 0;
        }
        self.buf_at = self.pos;
        // At least `n` (`end <= len`), at most a block or `n`, never past the end of the file.
        let want = (self.block.max(n) as u64).min(self.len - self.buf_at) as usize;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let next = self.buf_at + self.filled as u64;
        if self.file_pos != next {
            self.file
                .seek(SeekFrom::Start(next))
                .map_err(|e| Error::io(self.path, e))?;
            self.file_pos = next;
        }
        while self.filled < want {
            match self.file.read(&mut self.buf[self.filled..want]) {
                Ok(0) => {
                    self.len = self.buf_at + self.filled as u64;
                    break;
                }
                Ok(k) => {
                    self.filled += k;
                    self.file_pos += k as u64;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(self.path, e)),
            }
        }
        Ok(end <= self.buf_at + self.filled as u64)
    }

    /// The `n` bytes at `pos`, which `fill(n)` has brought into the window.
    fn window(&self, n: usize) -> &[u8] {
        let from = (self.pos - self.buf_at) as usize;
        &self.buf[from..from + n]
    }

    /// One value converted to `f32` (integers by value), or `None` at the end of the data.
    fn value(&mut self, ty: ScalarType) -> Result<Option<f32>> {
        if !self.fill(ty.size())? {
            return Ok(None);
        }
        let v = decode(ty, self.big_endian, self.window(ty.size()));
        self.pos += ty.size() as u64;
        Ok(Some(v))
    }

    /// A list length, which must be a whole non-negative number.
    fn list_len(
        &mut self,
        ty: ScalarType,
        element: &Element,
        row: u64,
        property: &str,
    ) -> Result<u64> {
        let v = self
            .value(ty)?
            .ok_or_else(|| self.ends(element, row, property))?;
        if v >= 0.0 && v.fract() == 0.0 {
            Ok(v as usize as u64)
        } else {
            Err(Error::parse(
                self.path,
                format!(
                    "element `{}` row {row}, property `{property}`",
                    element.name
                ),
                format!("list length {v} is not a non-negative integer"),
            ))
        }
    }

    /// Moves past `bytes` bytes of list items, failing if that passes the end of the data.
    fn skip_items(
        &mut self,
        bytes: u64,
        element: &Element,
        row: u64,
        property: &str,
    ) -> Result<()> {
        self.pos = self.pos.saturating_add(bytes);
        if self.pos > self.len {
            return Err(self.ends(element, row, property));
        }
        Ok(())
    }

    fn ends(&self, element: &Element, row: u64, property: &str) -> Error {
        Error::parse(
            self.path,
            format!(
                "element `{}` row {row}, property `{property}`",
                element.name
            ),
            format!(
                "truncated: the file ends at byte {}; expected {} rows",
                self.len, element.count
            ),
        )
    }

    /// Moves past every row of `element`.
    fn skip_element(&mut self, element: &Element) -> Result<()> {
        if let Some(row) = element.row_size() {
            let end = element
                .count
                .checked_mul(row)
                .and_then(|b| b.checked_add(self.pos))
                .filter(|&end| end <= self.len);
            return match end {
                Some(end) => {
                    self.pos = end;
                    Ok(())
                }
                None => Err(Error::parse(
                    self.path,
                    format!("element `{}`", element.name),
                    format!(
                        "truncated: expected {} rows × {row} bytes from offset {}, but the file is {} bytes long",
                        element.count, self.pos, self.len
                    ),
                )),
            };
        }
        for row in 0..element.count {
            for p in &element.properties {
                let bytes = match p.list_count {
                    None => p.ty.size() as u64,
                    Some(count_ty) => {
                        let len = self.list_len(count_ty, element, row, &p.name)?;
                        len.saturating_mul(p.ty.size() as u64)
                    }
                };
                self.skip_items(bytes, element, row, &p.name)?;
            }
        }
        Ok(())
    }

    /// Decodes the vertex rows into a scene laid out by `layout`, a block of rows at a time.
    fn vertices(&mut self, vertex: &Element, layout: &VertexLayout) -> Result<Scene> {
        let remaining = self.len - self.pos;
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
                self.path,
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
        let stride = layout.stride;
        let mut scene = layout.empty_scene(count);
        if count == 0 {
            return Ok(scene);
        }
        // Rows a block: about `block` bytes of the file or of the row matrix, whichever is more.
        let row_bytes = vertex.row_size().unwrap_or(min_row).max(4 * stride as u64) as usize;
        let block_rows = (self.block / row_bytes.max(1)).max(1).min(count);
        let mut matrix = vec![0f32; block_rows * stride];
        let mut rest = ColumnsMut::new(&mut scene);
        let mut done = 0;
        while done < count {
            let rows = block_rows.min(count - done);
            let values = &mut matrix[..rows * stride];
            match vertex.row_size() {
                Some(row) => self.fixed_rows(vertex, row as usize, values)?,
                None => self.varied_rows(vertex, done as u64, rows, values)?,
            }
            let (head, tail) = rest.split_at(rows);
            layout.scatter(values, head);
            rest = tail;
            done += rows;
        }
        Ok(scene)
    }

    /// Decodes fixed-size rows into `values` (a whole number of rows), in parallel. The caller
    /// has checked that the file holds them all.
    fn fixed_rows(&mut self, vertex: &Element, row: usize, values: &mut [f32]) -> Result<()> {
        let scalars: Vec<(usize, ScalarType)> = {
            let mut offset = 0;
            let mut out = Vec::with_capacity(vertex.properties.len());
            for p in &vertex.properties {
                out.push((offset, p.ty));
                offset += p.ty.size();
            }
            out
        };
        let stride = scalars.len();
        let rows = values.len() / stride;
        if !self.fill(rows * row)? {
            return Err(shrank(self.path, "payload"));
        }
        let big_endian = self.big_endian;
        let bytes = self.window(rows * row);
        values
            .par_chunks_mut(stride * 1024)
            .zip(bytes.par_chunks(row * 1024))
            .for_each(|(out, bytes)| {
                for (out, bytes) in out.chunks_exact_mut(stride).zip(bytes.chunks_exact(row)) {
                    for (v, &(offset, ty)) in out.iter_mut().zip(&scalars) {
                        *v = decode(ty, big_endian, &bytes[offset..]);
                    }
                }
            });
        self.pos += (rows * row) as u64;
        Ok(())
    }

    /// Decodes rows with list properties (whose items are skipped) into `values`, one value at
    /// a time; `first` numbers the first row in errors.
    fn varied_rows(
        &mut self,
        vertex: &Element,
        first: u64,
        rows: usize,
        values: &mut [f32],
    ) -> Result<()> {
        let mut out = values.iter_mut();
        for row in first..first + rows as u64 {
            for p in &vertex.properties {
                match p.list_count {
                    None => {
                        let v = self
                            .value(p.ty)?
                            .ok_or_else(|| self.ends(vertex, row, &p.name))?;
                        *out.next().expect("a slot per scalar property") = v;
                    }
                    Some(count_ty) => {
                        let len = self.list_len(count_ty, vertex, row, &p.name)?;
                        let bytes = len.saturating_mul(p.ty.size() as u64);
                        self.skip_items(bytes, vertex, row, &p.name)?;
                    }
                }
            }
        }
        Ok(())
    }
}
