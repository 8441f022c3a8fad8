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

use backend::select::{self, AnyBackend, Choice};
use progress::{Event, Progress};

/// Compresses a sanitised scene on the backend `choice` names. Under [`Choice::Auto`] a
/// backend that is unavailable, or fails while running (device lost, out of memory), hands
/// over to the next one; each hand-over is reported as a [`Event::Note`].
pub fn compress(
    scene: &Scene,
    options: &encode::Options,
    choice: Choice,
    progress: &dyn Progress,
) -> Result<(io::sog::Sog, encode::Report)> {
    let under_auto = choice == Choice::Auto;
    let mut last_error = None;
    for which in select::candidates(choice) {
        let backend = match select::open(which, under_auto) {
            Ok(b) => b,
            Err(e) if under_auto => {
                progress.event(Event::Note(&format!(
                    "{} unavailable: {}",
                    which.name(),
                    select::reason(&e)
                )));
                continue;
            }
            Err(e) => return Err(e),
        };
        progress.event(Event::Note(&format!("backend: {}", backend.describe())));
        let result = match &backend {
            AnyBackend::Cpu(b) => encode::pipeline::compress_with(b, scene, options, progress),
            AnyBackend::Wgpu(b) => {
                encode::pipeline::compress_with(b.as_ref(), scene, options, progress)
            }
            AnyBackend::Cuda(b) => {
                encode::pipeline::compress_with(b.as_ref(), scene, options, progress)
            }
        };
        match result {
            Err(e @ Error::Backend { .. }) if under_auto => {
                progress.event(Event::Note(&format!(
                    "{} failed: {}; falling back to the next backend",
                    backend.name(),
                    select::reason(&e)
                )));
                last_error = Some(e);
            }
            other => return other,
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Scene("no backend could run".into())))
}
