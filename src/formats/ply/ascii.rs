//! ASCII PLY payloads: whitespace-separated tokens, errors located by line number.

use std::path::Path;

use super::{Element, Header};
use crate::{Error, Result};

/// A token reader over the whole file that knows its line number (1-based, as an editor shows).
struct Tokens<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Tokens<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        while let Some(&b) = self.data.get(self.pos) {
            if !b.is_ascii_whitespace() {
                break;
            }
            if b == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        let start = self.pos;
        while self
            .data
            .get(self.pos)
            .is_some_and(|b| !b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.data[start..self.pos])
    }

    /// The next token of `element` row `row`, property `property`, parsed by `parse`.
    fn parse<T>(
        &mut self,
        path: &Path,
        element: &Element,
        row: u64,
        property: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T> {
        let Some(token) = self.next() else {
            return Err(Error::parse(
                path,
                format!("line {}", self.line),
                format!(
                    "the file ends in element `{}` row {row}, property `{property}`: expected {} rows",
                    element.name, element.count
                ),
            ));
        };
        let text = String::from_utf8_lossy(token);
        parse(&text).ok_or_else(|| {
            let shown: String = text.chars().take(40).collect();
            Error::parse(
                path,
                format!("line {}", self.line),
                format!(
                    "`{shown}` is not {what} (element `{}` row {row}, property `{property}`)",
                    element.name
                ),
            )
        })
    }

    fn list_len(
        &mut self,
        path: &Path,
        element: &Element,
        row: u64,
        property: &str,
    ) -> Result<u64> {
        self.parse(path, element, row, property, "a list length", |t| {
            t.parse::<u64>().ok()
        })
    }

    fn value(&mut self, path: &Path, element: &Element, row: u64, property: &str) -> Result<f32> {
        self.parse(path, element, row, property, "a number", |t| {
            t.parse::<f32>().ok()
        })
    }

    fn skip_element(&mut self, path: &Path, element: &Element) -> Result<()> {
        // Rows without properties hold no tokens: counting through 2^64 of them would hang.
        if element.properties.is_empty() {
            return Ok(());
        }
        for row in 0..element.count {
            for p in &element.properties {
                let items = match p.list_count {
                    None => 1,
                    Some(_) => self.list_len(path, element, row, &p.name)?,
                };
                for _ in 0..items {
                    self.value(path, element, row, &p.name)?;
                }
            }
        }
        Ok(())
    }
}

/// Decodes the vertex element of an ASCII PLY (`data` is the whole file) into a row-major
/// matrix of its scalar properties, `stride` values a row.
pub(super) fn vertex_rows(
    path: &Path,
    data: &[u8],
    header: &Header,
    vertex_index: usize,
    stride: usize,
) -> Result<Vec<f32>> {
    let header_len = header.len as usize;
    let mut tokens = Tokens {
        data,
        pos: header_len,
        line: 1 + data[..header_len].iter().filter(|&&b| b == b'\n').count(),
    };
    for element in &header.elements[..vertex_index] {
        tokens.skip_element(path, element)?;
    }
    let vertex = &header.elements[vertex_index];
    // Every value takes at least two bytes (a digit and a separator), so this bounds the
    // allocation by the file's size whatever count the header claims.
    let values = vertex
        .count
        .saturating_mul(vertex.properties.len().max(1) as u64);
    let remaining = (data.len() - tokens.pos) as u64;
    if values.saturating_mul(2) > remaining + 1 {
        return Err(Error::parse(
            path,
            format!("line {}", tokens.line),
            format!(
                "truncated: element `vertex` declares {} vertices × {} properties, but only {remaining} bytes of text follow (at least 2 bytes a value)",
                vertex.count,
                vertex.properties.len()
            ),
        ));
    }
    let mut rows = Vec::with_capacity(vertex.count as usize * stride);
    for row in 0..vertex.count {
        for p in &vertex.properties {
            match p.list_count {
                None => rows.push(tokens.value(path, vertex, row, &p.name)?),
                Some(_) => {
                    let items = tokens.list_len(path, vertex, row, &p.name)?;
                    for _ in 0..items {
                        tokens.value(path, vertex, row, &p.name)?;
                    }
                }
            }
        }
    }
    Ok(rows)
}
