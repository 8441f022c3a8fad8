//! Scene → [`Encoded`]: order, quantisation, codebooks and the SH palette, independent of
//! file formats (nothing here imports `formats`; `tests/layout.rs` enforces it) and of the
//! backend the kernels run on (the drivers are generic over [`crate::backend::Backend`]).

pub mod codebook;
pub mod decimate;
pub mod encoded;
pub mod kmeans;
pub mod order;
pub mod pipeline;
pub mod plas;
pub mod quantize;
pub mod rate;
pub mod rng;

pub use encoded::{Encoded, ShPalette};
pub use pipeline::{Options, Order, Report, encode, encode_with};
pub use rate::Quality;
