//! splatpress: compress 3D Gaussian Splatting scenes into PlayCanvas SOG v2.
//!
//! One call per job, the same ones the `splatpress` command, the Python module and `batch`
//! use; each returns a report that serialises to the command's `--json` output:
//!
//! ```no_run
//! use splatpress::{Input, Options, compress_file};
//! # fn main() -> splatpress::Result<()> {
//! let report = compress_file(
//!     &Input::File("scene.ply".into()),
//!     "scene.sog".as_ref(),
//!     &Options::default(),
//!     &(), // no progress reporting
//! )?;
//! println!("{} bytes on {}", report.written.total_bytes, report.backend.chosen);
//! # Ok(())
//! # }
//! ```
//!
//! Data flows one way (`ARCHITECTURE.md` draws the map):
//!
//! ```text
//! input ──formats::read──► Scene ──sanitize──► encode (order · quantize · k-means) ──► Encoded ──formats::write──► output
//!                                                 kernels on one Backend: cpu, wgpu, cuda
//! ```
//!
//! The library never prints and never reads environment variables: diagnostics arrive as
//! [`Event`]s through a [`Progress`], settings through [`Options`].
//!
//! The modules hidden from the documentation (`backend`, `encode`, `formats`, …) are public
//! only so that this repository's integration tests and benchmarks can reach the kernels;
//! they are not part of the API and change without notice.

mod api;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
mod error;
mod progress;

#[doc(hidden)]
pub mod backend;
#[doc(hidden)]
pub mod encode;
#[doc(hidden)]
pub mod eval;
#[doc(hidden)]
pub mod formats;
#[doc(hidden)]
pub mod render;
#[doc(hidden)]
pub mod sample;
#[doc(hidden)]
pub mod scene;
#[doc(hidden)]
pub mod stats;

#[doc(hidden)]
pub use api::encode_on as encode_scene;
pub use api::{
    BackendReport, BackendStatus, BatchOptions, BatchSummary, BatchTotals, CudaDevices,
    CudaRequirement, DecodeReport, Devices, Hooks, Info, Input, LodInfo, LodOptions, LodReport,
    Options, Report, SceneStatus, SceneSummary, UnitReport, WorkerCounts, batch, compress_file,
    decode_file, decode_file_lod, devices, evaluate, evaluate_lod, inspect, inspect_lod,
};
pub use api::{
    MeanQuality, RenderBackend, RenderEvaluation, RenderOptions, ViewQuality, evaluate_render,
};
pub use backend::select::{Choice as BackendChoice, PassedOver};
pub use backend::{AdapterReport, CudaDeviceReport};
pub use encode::Order;
pub use encode::Quality;
pub use encode::decimate::Strategy as DecimateStrategy;
pub use encode::plas::{PlasOptions, Quality as PlasQuality};
pub use error::{Error, Result};
pub use eval::{Evaluation, Sizes};
pub use formats::{Format, WriteOptions, WriteReport};
pub use progress::{Event, Progress};
pub use render::Kernel as RenderKernel;
pub use scene::{Sanitized, Scene};
pub use stats::Stats;
