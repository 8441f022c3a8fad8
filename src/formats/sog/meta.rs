//! meta.json of SOG v2 (`sog-format.md` §3.7), and the v1 form read for input (§2.6).
//! Field order matches splat-transform's so the JSON reads the same.

use serde::{Deserialize, Serialize};

/// The generator string written to `asset.generator`.
pub const GENERATOR: &str = concat!("splatpress v", env!("CARGO_PKG_VERSION"));

/// SOG v2 meta.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Always 2.
    pub version: u32,
    /// Who wrote the file (an empty generator when a file read has no `asset`).
    #[serde(default = "Asset::missing")]
    pub asset: Asset,
    /// Number of splats; texels at index ≥ count are padding.
    pub count: u32,
    /// `"2dgs"` or `"antialiased"` when not plain 3DGS; ignored by the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Positions: per-axis range of the symmetric-log positions, 16 bits over two textures.
    pub means: Means,
    /// Log-scales through a 256-entry codebook.
    pub scales: Codebooked,
    /// Smallest-three quaternions.
    pub quats: Files,
    /// DC colour through a 256-entry codebook; opacity in alpha.
    pub sh0: Codebooked,
    /// Higher SH bands as a palette; absent for SH0 scenes.
    #[serde(rename = "shN", default, skip_serializing_if = "Option::is_none")]
    pub sh_n: Option<ShN>,
    /// Free-form metadata (a JSON object) passed through from the source; the engine ignores
    /// it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<serde_json::Value>,
}

/// `asset` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// Name and version of the writer.
    pub generator: String,
}

impl Asset {
    /// The `asset` of a file that has none: no generator named.
    fn missing() -> Asset {
        Asset {
            generator: String::new(),
        }
    }
}

impl Default for Asset {
    fn default() -> Self {
        Asset {
            generator: GENERATOR.to_string(),
        }
    }
}

/// `means`: log-domain per-axis mins and maxs; files = [low bytes, high bytes].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Means {
    pub mins: [f64; 3],
    pub maxs: [f64; 3],
    pub files: Vec<String>,
}

/// An attribute stored as byte indices into a 256-entry codebook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Codebooked {
    pub codebook: Vec<f32>,
    pub files: Vec<String>,
}

/// An attribute with files only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Files {
    pub files: Vec<String>,
}

/// `shN`: palette size, band count, codebook of centroid values; files = [centroids, labels].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShN {
    pub count: u32,
    pub bands: u8,
    pub codebook: Vec<f32>,
    pub files: Vec<String>,
}

impl Meta {
    /// Every file the meta names, in bundle order (meta.json itself excluded).
    pub fn files(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for list in [
            &self.means.files,
            &self.quats.files,
            &self.scales.files,
            &self.sh0.files,
        ] {
            out.extend(list.iter().map(String::as_str));
        }
        if let Some(sh) = &self.sh_n {
            out.extend(sh.files.iter().map(String::as_str));
        }
        out
    }
}
