//! Pictures for a person to look at (`eval --render --images DIR`): per view the original
//! render, the compressed render and their difference amplified, side by side, and one contact
//! sheet of every view. Written as 8-bit RGB PNG by a small encoder of our own (zlib stream
//! and CRC from flate2; an adaptive filter per row).

use std::io::Write as _;
use std::path::Path;

use crate::{Error, Result};

/// An 8-bit RGB picture, row-major from the top left.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb8 {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 3 bytes a pixel.
    pub data: Vec<u8>,
}

impl Rgb8 {
    /// A black picture.
    pub fn black(width: u32, height: u32) -> Rgb8 {
        Rgb8 {
            width,
            height,
            data: vec![0; width as usize * height as usize * 3],
        }
    }

    /// Colours in [0, 1] (clamped) to bytes, rounded.
    pub fn from_rgb(width: u32, height: u32, rgb: &[[f32; 3]]) -> Rgb8 {
        Rgb8 {
            width,
            height,
            data: rgb
                .iter()
                .flat_map(|p| p.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8))
                .collect(),
        }
    }

    /// Copies `other` with its top left corner at (`x`, `y`) (clipped to this picture).
    pub fn paste(&mut self, other: &Rgb8, x: u32, y: u32) {
        for row in 0..other.height.min(self.height.saturating_sub(y)) {
            let width = other.width.min(self.width.saturating_sub(x)) as usize;
            let src = (row * other.width) as usize * 3;
            let dst = (((y + row) * self.width) + x) as usize * 3;
            self.data[dst..dst + width * 3].copy_from_slice(&other.data[src..src + width * 3]);
        }
    }

    /// Shrunk by an integer `factor` (each output pixel the mean of a factor × factor block).
    pub fn shrink(&self, factor: u32) -> Rgb8 {
        if factor <= 1 {
            return self.clone();
        }
        let (w, h) = (self.width / factor, self.height / factor);
        let mut out = Rgb8::black(w.max(1), h.max(1));
        for y in 0..out.height {
            for x in 0..out.width {
                for c in 0..3 {
                    let mut sum = 0u32;
                    for dy in 0..factor {
                        for dx in 0..factor {
                            let (sx, sy) = (
                                (x * factor + dx).min(self.width - 1),
                                (y * factor + dy).min(self.height - 1),
                            );
                            sum += u32::from(self.data[((sy * self.width + sx) * 3 + c) as usize]);
                        }
                    }
                    out.data[((y * out.width + x) * 3 + c) as usize] =
                        ((sum + factor * factor / 2) / (factor * factor)) as u8;
                }
            }
        }
        out
    }
}

/// The three panels of one view: original | compressed | |difference| × `gain`, separated by
/// `GAP` pixels of mid grey.
pub fn triptych(
    width: u32,
    height: u32,
    original: &[[f32; 3]],
    compressed: &[[f32; 3]],
    gain: f32,
) -> Rgb8 {
    let diff: Vec<[f32; 3]> = original
        .iter()
        .zip(compressed)
        .map(|(a, b)| [0, 1, 2].map(|c| (a[c].clamp(0.0, 1.0) - b[c].clamp(0.0, 1.0)).abs() * gain))
        .collect();
    let mut out = Rgb8::black(3 * width + 2 * GAP, height);
    out.data.fill(128);
    out.paste(&Rgb8::from_rgb(width, height, original), 0, 0);
    out.paste(&Rgb8::from_rgb(width, height, compressed), width + GAP, 0);
    out.paste(&Rgb8::from_rgb(width, height, &diff), 2 * (width + GAP), 0);
    out
}

/// Pixels between panels and between the rows of the contact sheet.
pub const GAP: u32 = 4;
/// Panels of the contact sheet are shrunk until their longer side is at most this.
pub const SHEET_PANEL: u32 = 192;

/// Every view's triptych, shrunk (integer factor) so that a panel's longer side is at most
/// [`SHEET_PANEL`], one view a row.
pub fn contact_sheet(views: &[Rgb8], panel_long_side: u32) -> Rgb8 {
    let factor = panel_long_side.div_ceil(SHEET_PANEL).max(1);
    let small: Vec<Rgb8> = views.iter().map(|v| v.shrink(factor)).collect();
    let width = small.iter().map(|v| v.width).max().unwrap_or(1);
    let height = small.iter().map(|v| v.height + GAP).sum::<u32>().max(1);
    let mut sheet = Rgb8::black(width, height);
    sheet.data.fill(128);
    let mut y = 0;
    for v in &small {
        sheet.paste(v, 0, y);
        y += v.height + GAP;
    }
    sheet
}

/// The PNG encoding of `image` (8-bit RGB, zlib level 9; per row the filter whose output has
/// the smallest sum of magnitudes, the usual heuristic).
pub fn encode_png(image: &Rgb8) -> Vec<u8> {
    let stride = image.width as usize * 3;
    let mut raw = Vec::with_capacity((stride + 1) * image.height as usize);
    let zeros = vec![0u8; stride];
    let mut previous: &[u8] = &zeros;
    for row in image
        .data
        .chunks_exact(stride.max(1))
        .take(image.height as usize)
    {
        let mut best: Option<(u64, u8, Vec<u8>)> = None;
        for filter in 0..5u8 {
            let line = filter_row(filter, row, previous);
            let cost: u64 = line
                .iter()
                .map(|&b| u64::from((b as i8).unsigned_abs()))
                .sum();
            if best.as_ref().is_none_or(|(c, _, _)| cost < *c) {
                best = Some((cost, filter, line));
            }
        }
        let (_, filter, line) = best.expect("five filters tried");
        raw.push(filter);
        raw.extend_from_slice(&line);
        previous = row;
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(9));
    z.write_all(&raw).expect("writing to memory");
    let compressed = z.finish().expect("writing to memory");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&image.width.to_be_bytes());
    header.extend_from_slice(&image.height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, filter 0, no interlace
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &compressed);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// One row under PNG filter `filter` (0 none, 1 sub, 2 up, 3 average, 4 Paeth), given the
/// row above (`previous`, zeros for the first).
fn filter_row(filter: u8, row: &[u8], previous: &[u8]) -> Vec<u8> {
    (0..row.len())
        .map(|i| {
            let a = if i >= 3 { row[i - 3] } else { 0 };
            let b = previous[i];
            let c = if i >= 3 { previous[i - 3] } else { 0 };
            let predictor = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                _ => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
            };
            row[i].wrapping_sub(predictor)
        })
        .collect()
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// Writes `image` as a PNG at `path`.
pub fn write_png(path: &Path, image: &Rgb8) -> Result<()> {
    std::fs::write(path, encode_png(image)).map_err(|e| Error::io(path, e))
}
