//! SOG v2 in memory and on disk: `Sog` is meta.json plus decoded RGBA textures. The encoder
//! builds one, `write` stores it as a `.sog` bundle or a folder, `read` loads either form,
//! and `decode` turns one back into a `Scene` with the engine's formulas.

pub mod bundle;
pub mod check;
pub mod decode;
pub mod meta;
mod store;
pub mod textures;
pub mod webp;

pub use meta::Meta;
pub use store::{META_NAME, WriteReport, read, write};

/// An 8-bit RGBA image, row 0 first (the top row of the WebP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

impl Image {
    /// An all-zero (transparent black) image.
    pub fn zeroed(width: u32, height: u32) -> Self {
        Image {
            width,
            height,
            rgba: vec![0; width as usize * height as usize * 4],
        }
    }

    /// The four bytes of texel `i` (row-major).
    pub fn texel(&self, i: usize) -> [u8; 4] {
        self.rgba[i * 4..i * 4 + 4].try_into().unwrap()
    }
}

/// A SOG file in memory: its meta and its textures by file name.
#[derive(Debug, Clone, PartialEq)]
pub struct Sog {
    pub meta: Meta,
    /// Textures in bundle order: means_l, means_u, quats, scales, sh0, [shN_centroids, shN_labels].
    pub images: Vec<(String, Image)>,
}

impl Sog {
    /// The texture stored under `name`.
    pub fn image(&self, name: &str) -> Option<&Image> {
        self.images
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, img)| img)
    }
}
