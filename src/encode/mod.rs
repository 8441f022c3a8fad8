//! Scene → SOG, independent of file formats and of the backend the kernels run on.

pub mod codebook;
pub mod kmeans;
pub mod order;
pub mod pipeline;
pub mod plas;
pub mod rng;
pub mod textures;

pub use pipeline::{Options, Order, Report, compress};
