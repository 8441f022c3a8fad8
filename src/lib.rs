//! splatpress: compress 3D Gaussian Splatting scenes into PlayCanvas SOG v2.
//!
//! The flow runs one way:
//!
//! ```text
//! input file ──► io::read ──► Scene ──► encode::compress ──► Sog ──► io::sog::write
//! ```
//!
//! Readers know nothing of encoding, the encoder knows nothing of file formats, and the
//! k-means kernels run on a [`backend::Backend`].

pub mod backend;
pub mod encode;
pub mod error;
pub mod eval;
pub mod io;
pub mod progress;
pub mod sample;
pub mod scene;
pub mod stats;

pub use error::{Error, Result};
pub use scene::Scene;
