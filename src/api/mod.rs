//! The library's entry points, one per job. Every front end (the CLI, the Python module,
//! `batch`) calls these and adds only presentation; each returns a serialisable report that
//! *is* the CLI's `--json` output.

mod backends;
mod batch;
mod compress;
mod decode;
mod devices;
mod evaluate;
mod inspect;
mod lod;
mod render_eval;

pub use batch::{
    BatchOptions, SceneSummary, Status as SceneStatus, Summary as BatchSummary,
    Totals as BatchTotals, WorkerCounts, batch,
};
pub use compress::{BackendReport, Hooks, Input, Options, Report, compress_file, encode_on};
pub use decode::{DecodeReport, decode_file, decode_file_lod};
pub use devices::{BackendStatus, CudaDevices, CudaRequirement, Devices, devices};
pub use evaluate::{evaluate, evaluate_lod};
pub use inspect::{Info, LodInfo, inspect, inspect_lod};
pub use lod::{LodOptions, LodReport, UnitReport};
pub use render_eval::{
    MeanQuality, RenderBackend, RenderEvaluation, RenderOptions, ViewQuality, evaluate_render,
};

use std::path::Path;

use crate::progress::{Event, Progress};
use crate::scene::Sanitized;
use crate::{Error, Result, Scene, formats};

/// Reads and sanitises an input (level `lod` of a streamed SOG; see [`formats::read_lod`]),
/// telling `progress` what was dropped or repaired. Fails when nothing is left to compress.
fn read_clean(
    path: &Path,
    lod: Option<u32>,
    progress: &dyn Progress,
) -> Result<(Scene, Sanitized)> {
    let start = std::time::Instant::now();
    let (raw, notes) = formats::read_lod(path, lod)?;
    for note in &notes {
        progress.event(Event::Note(&format!("{}: {note}", path.display())));
    }
    let (read, bands) = (raw.len(), raw.sh_bands);
    let (scene, report) = raw.sanitize();
    progress.event(Event::Note(&format!(
        "read {}: {read} splats, {bands} SH bands ({:.2} s)",
        path.display(),
        start.elapsed().as_secs_f64()
    )));
    note_sanitized(&report, progress);
    if scene.is_empty() {
        let why = if read == 0 {
            "the file holds no splats".to_string()
        } else {
            format!("all {read} splats were dropped as invalid")
        };
        return Err(Error::parse(
            path,
            "splats",
            format!("nothing to compress: {why}"),
        ));
    }
    Ok((scene, report))
}

/// One note per kind of splat dropped or repaired.
fn note_sanitized(report: &Sanitized, progress: &dyn Progress) {
    let dropped = [
        (report.dropped_position, "a NaN or infinite position"),
        (report.dropped_opacity, "a NaN opacity"),
        (report.dropped_scale, "a NaN or +inf scale"),
        (report.dropped_color, "a NaN or infinite colour/SH value"),
        (report.dropped_rotation, "a NaN or infinite rotation"),
    ];
    for (count, why) in dropped {
        if count > 0 {
            progress.event(Event::Note(&format!("dropped {count} splats with {why}")));
        }
    }
    if report.zero_rotations > 0 {
        progress.event(Event::Note(&format!(
            "{} zero-length quaternions replaced by the identity rotation",
            report.zero_rotations
        )));
    }
}
