//! Binary glTF (`.glb`) with `KHR_gaussian_splatting` (Khronos, Release Candidate): writing
//! and reading.
//!
//! # What is written
//!
//! One scene, one node (no transform), one mesh, one primitive with `mode` POINTS (0) and the
//! extension object `{"kernel": "ellipse", "colorSpace": "srgb_rec709_display",
//! "sortingMethod": "cameraDistance", "projection": "perspective"}`, as splat-transform 3.10.2
//! writes it; `asset.generator` is splatpress's name and version. One buffer, the BIN chunk,
//! with one tightly packed, 4-byte aligned buffer view per attribute:
//!
//! | attribute | accessor | value (from our PLY-convention [`Scene`]) |
//! |---|---|---|
//! | `POSITION` | VEC3 float, with min/max | (−x, −y, z) |
//! | `COLOR_0` | VEC4 unsigned byte normalised | fallback colour: 0.5 + SH_C0·f_dc clamped, sRGB → linear; alpha = opacity |
//! | `KHR_gaussian_splatting:ROTATION` | VEC4 float | r ⊗ q, normalised, in (x, y, z, w) order |
//! | `KHR_gaussian_splatting:SCALE` | VEC3 float | exp(log-scale): linear |
//! | `KHR_gaussian_splatting:OPACITY` | SCALAR float | sigmoid(logit): in [0, 1] |
//! | `KHR_gaussian_splatting:SH_DEGREE_0_COEF_0` | VEC3 float | f_dc (R, G, B) |
//! | `KHR_gaussian_splatting:SH_DEGREE_l_COEF_n` | VEC3 float | coefficient n of band l per channel, × (−1)^m |
//!
//! Axes: glTF is Y-up, right-handed, +Z forward (LUF: +X left, +Y up, +Z forward); the INRIA
//! PLY is RDF. Like splat-transform (its `Transform.PLY`), we turn the scene 180° about Z:
//! positions (x, y, z) → (−x, −y, z), rotations are pre-multiplied by r = 180° about Z, and SH
//! coefficients of order m change sign by (−1)^m (`convert.rs`). Reading undoes all three.
//!
//! The training model has no field in the extension (its only kernel is `"ellipse"`), so a
//! non-default model is kept in the extension object's `extras`:
//! `"extras": {"splatpress": {"model": "antialiased"}}` (or `"2dgs"`, the SOG names); plain
//! 3DGS writes none. The scene's free-form metadata ([`Scene::extras`]) goes to the root
//! `extras`. Values glTF cannot hold are refused with the splat's index: an empty scene,
//! NaN or ±∞ in any written value (−∞ log-scales are fine: scale 0). Zero-length quaternions
//! are written as the identity, as [`Scene::sanitize`] does.
//!
//! # What is read
//!
//! Any `.glb` whose mesh primitives carry the extension, as we and splat-transform write them:
//! - the primitives of every node of the default scene (`scene`, else scene 0; without scenes,
//!   every root node) that has a mesh, in node order, **concatenated** into one scene; when no
//!   such node instantiates a splat primitive, every splat primitive of every mesh, untransformed.
//!   Primitives without the extension are skipped. With differing SH degrees the scene takes the
//!   highest and fills missing coefficients with 0; differing models are an error.
//! - node transforms (world matrices, from `matrix` or TRS through the parents) are applied
//!   when they are a translation and a uniform positive scale; a rotation or an uneven scale
//!   is refused with the node named (turning splats would also need their SH rotated).
//! - accessors: float, and (normalised or not) byte, unsigned byte, short, unsigned short,
//!   plus unsigned int, with `byteOffset` and `byteStride`, each checked against its buffer
//!   view, and the view against the buffer and the BIN chunk, before anything is allocated.
//!   Sparse accessors, accessors without a buffer view, and buffers with a `uri` (external
//!   files, data URIs) are refused with the accessor or buffer named.
//! - `kernel`, `colorSpace`, `projection` and `sortingMethod` are not checked (the PlayCanvas
//!   engine, too, renders every kernel as an ellipse); an unknown entry of `extensionsRequired`
//!   is refused (compression extensions, for instance).
//! - values: opacity outside [0, 1] or a negative scale (invalid by the spec) is an error
//!   naming the accessor and splat; opacity 0 and 1 read as logits ∓40 (as the SOG reader);
//!   scale 0 reads as log-scale −∞; NaN is passed through for [`Scene::sanitize`].

mod container;
mod convert;
mod document;
mod nodes;
mod read;
mod write;

#[cfg(test)]
mod tests;

use std::path::Path;

use serde_json::{Value, json};

use crate::scene::Model;
use crate::{Result, Scene};

pub use document::EXTENSION;

/// The only kernel the extension defines.
pub const KERNEL: &str = "ellipse";
/// The colour space written: 3DGS is trained on sRGB images.
pub const COLOR_SPACE: &str = "srgb_rec709_display";
/// The sorting method written (the extension's default).
pub const SORTING_METHOD: &str = "cameraDistance";
/// The projection written (the extension's default).
pub const PROJECTION: &str = "perspective";
/// The rotation attribute.
pub const ROTATION: &str = "KHR_gaussian_splatting:ROTATION";
/// The (linear) scale attribute.
pub const SCALE: &str = "KHR_gaussian_splatting:SCALE";
/// The (post-sigmoid) opacity attribute.
pub const OPACITY: &str = "KHR_gaussian_splatting:OPACITY";
/// The key under `extras` that holds splatpress's own fields.
pub const EXTRAS_KEY: &str = "splatpress";

/// The attribute of SH coefficient `coef` of degree `degree` (`SH_DEGREE_0_COEF_0` is f_dc).
pub fn sh_attribute(degree: u8, coef: usize) -> String {
    format!("{EXTENSION}:SH_DEGREE_{degree}_COEF_{coef}")
}

/// `{"splatpress": {"model": …}}`: how a non-default model is recorded.
fn model_extras(model: Model) -> Value {
    json!({ EXTRAS_KEY: { "model": model.sog_name() } })
}

/// The model recorded in an `extras` value by [`model_extras`], if any.
fn model_in(extras: Option<&Value>) -> Option<Model> {
    let name = extras?.get(EXTRAS_KEY)?.get("model")?.as_str();
    Some(Model::from_sog_name(name))
}

/// Reads a `.glb` with `KHR_gaussian_splatting` primitives into one scene (see the module
/// docs for what is accepted).
pub fn read(path: &Path) -> Result<Scene> {
    read::read(path)
}

/// Writes `scene` as a `.glb` with one `KHR_gaussian_splatting` primitive, atomically.
pub fn write(path: &Path, scene: &Scene) -> Result<()> {
    write::write(path, scene)
}
