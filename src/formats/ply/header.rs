//! The PLY header: `ply`, `format`, `comment`/`obj_info`, `element`, `property`, `end_header`.

use std::io::BufRead;
use std::path::Path;

use super::{Element, Encoding, Header, Property, ScalarType};
use crate::scene::Model;
use crate::{Error, Result};

/// Headers longer than this are rejected: real ones are a few kilobytes, and a file without
/// `end_header` must not be read to its end line by line.
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Parses the header at the start of `reader`.
pub(super) fn parse(reader: impl BufRead, path: &Path) -> Result<Header> {
    let mut reader = reader.take(MAX_HEADER_BYTES);
    let mut line = Vec::new();
    let mut len = 0u64;
    let mut line_no = 0usize;
    let mut encoding = None;
    let mut elements: Vec<Element> = Vec::new();
    let mut model = None;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(path, e))?;
        line_no += 1;
        let context = || format!("header line {line_no}");
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(if line_no == 1 && n == 0 {
                Error::parse(path, "header", "empty file: expected a PLY header")
            } else if len + n as u64 >= MAX_HEADER_BYTES {
                Error::parse(
                    path,
                    context(),
                    format!("no `end_header` line in the first {MAX_HEADER_BYTES} bytes"),
                )
            } else {
                Error::parse(
                    path,
                    context(),
                    format!(
                        "the file ends at byte {} before an `end_header` line",
                        len + n as u64
                    ),
                )
            });
        }
        len += n as u64;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if line_no == 1 {
            if text.trim_end() != "ply" {
                let shown: String = text.chars().take(40).collect();
                return Err(Error::parse(
                    path,
                    "header line 1",
                    format!("not a PLY file: expected the line `ply`, found `{shown}`"),
                ));
            }
            continue;
        }
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        match words.first().copied() {
            Some("comment") => {
                if let Some(named) = model_in_comment(&words[1..]) {
                    model = Some(named);
                }
            }
            None | Some("obj_info") => {}
            Some("format") => {
                encoding = Some(parse_format(&words).ok_or_else(|| {
                    Error::parse(
                        path,
                        context(),
                        format!(
                            "bad format line `{text}`: expected `format ascii|binary_little_endian|binary_big_endian 1.0`"
                        ),
                    )
                })?);
            }
            Some("element") => {
                let count = match words.as_slice() {
                    [_, _, count] => count.parse::<u64>().ok(),
                    _ => None,
                };
                let count = count.ok_or_else(|| {
                    Error::parse(
                        path,
                        context(),
                        format!("bad element line `{text}`: expected `element NAME COUNT`"),
                    )
                })?;
                elements.push(Element {
                    name: words[1].to_string(),
                    count,
                    properties: Vec::new(),
                });
            }
            Some("property") => {
                let property = parse_property(&words).map_err(|m| {
                    Error::parse(path, context(), format!("bad property line `{text}`: {m}"))
                })?;
                let element = elements.last_mut().ok_or_else(|| {
                    Error::parse(path, context(), "`property` before any `element` line")
                })?;
                if element.property(&property.name).is_some() {
                    return Err(Error::parse(
                        path,
                        context(),
                        format!(
                            "element `{}` declares property `{}` twice",
                            element.name, property.name
                        ),
                    ));
                }
                element.properties.push(property);
            }
            Some("end_header") => break,
            Some(other) => {
                return Err(Error::parse(
                    path,
                    context(),
                    format!(
                        "unknown header keyword `{other}`: expected format, element, property, comment or end_header"
                    ),
                ));
            }
        }
    }
    let encoding = encoding.ok_or_else(|| {
        Error::parse(
            path,
            "header",
            "no `format` line: expected `format binary_little_endian 1.0` (or ascii / binary_big_endian)",
        )
    })?;
    Ok(Header {
        encoding,
        elements,
        len,
        model,
    })
}

/// The splat model a comment's words name: Brush writes `SplatRenderMode: default|mip|2dgs`,
/// Postshot `antialiased 0|1`. Other comments name none.
fn model_in_comment(words: &[&str]) -> Option<Model> {
    match words {
        ["SplatRenderMode:", mode] => match *mode {
            "default" => Some(Model::Default),
            "mip" => Some(Model::Antialiased),
            "2dgs" => Some(Model::TwoD),
            _ => None,
        },
        ["antialiased", "0"] => Some(Model::Default),
        ["antialiased", "1"] => Some(Model::Antialiased),
        _ => None,
    }
}

/// The comment line that records `model` in a PLY header (Brush's spelling, which
/// splat-transform writes too); `None` for plain 3DGS.
pub(super) fn model_comment(model: Model) -> Option<&'static str> {
    match model {
        Model::Default => None,
        Model::Antialiased => Some("comment SplatRenderMode: mip\n"),
        Model::TwoD => Some("comment SplatRenderMode: 2dgs\n"),
    }
}

fn parse_format(words: &[&str]) -> Option<Encoding> {
    let [_, name, version] = words else {
        return None;
    };
    if !version.starts_with('1') {
        return None;
    }
    Some(match *name {
        "ascii" => Encoding::Ascii,
        "binary_little_endian" => Encoding::BinaryLittleEndian,
        "binary_big_endian" => Encoding::BinaryBigEndian,
        _ => return None,
    })
}

fn parse_property(words: &[&str]) -> Result<Property, String> {
    let ty = |name: &str| {
        ScalarType::from_name(name).ok_or_else(|| {
            format!(
                "unsupported type `{name}`: expected char, uchar, short, ushort, int, uint, float or double"
            )
        })
    };
    match words {
        [_, "list", count, item, name] => Ok(Property {
            name: name.to_string(),
            ty: ty(item)?,
            list_count: Some(ty(count)?),
        }),
        [_, "list", ..] => Err("expected `property list COUNT_TYPE ITEM_TYPE NAME`".into()),
        [_, scalar, name] => Ok(Property {
            name: name.to_string(),
            ty: ty(scalar)?,
            list_count: None,
        }),
        _ => Err("expected `property TYPE NAME`".into()),
    }
}
