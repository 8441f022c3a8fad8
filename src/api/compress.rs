//! `compress_file`: read → sanitise → encode (backend choice and fallback) → atomic write.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::backends::Backends;
use super::lod::{LodOptions, LodReport};
use crate::backend::select::{Choice, PassedOver};
use crate::encode::{self, Encoded, Order, Quality};
use crate::formats::{self, Format, WriteOptions, WriteReport};
use crate::progress::{Event, Progress};
use crate::scene::Sanitized;
use crate::{Error, Result, Scene};

/// What to compress.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A scene file (any format `formats::read` accepts).
    File(PathBuf),
    /// The built-in sample scene: `count` splats with `bands` SH bands, drawn from the seed.
    Sample { count: usize, bands: u8 },
}

/// Every setting of a compression. `Default` gives the CLI's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lloyd iterations of the SH palette k-means.
    pub sh_iterations: u32,
    /// Keep at most this many SH bands (`None`: all the scene has).
    pub sh_bands: Option<u8>,
    /// Seed of every random choice: the same input and seed give the same bytes.
    pub seed: u64,
    /// Texel order: Morton (fast) or PLAS (smaller files, slower).
    pub order: Order,
    /// How much of the error margin over splat-transform to spend on size: `Max` (the
    /// default, today's codes) keeps half its RMS error; `Small` goes to just under it.
    pub quality: Quality,
    /// Where the kernels run; `Auto` falls back to the next backend on failure.
    pub backend: Choice,
    /// The CUDA device (an ordinal among those `CUDA_VISIBLE_DEVICES` leaves) when CUDA runs.
    pub cuda_device: usize,
    /// How the output file is encoded.
    pub write: WriteOptions,
    /// The level of detail read from a streamed SOG input (`lod-meta.json`): `None` level 0,
    /// the full detail; refused for other inputs.
    pub input_lod: Option<u32>,
    /// Levels and chunks of a streamed SOG output (an output named `lod-meta.json`).
    pub lod: LodOptions,
    /// Test hooks (feature `test-hooks`); empty otherwise.
    #[doc(hidden)]
    pub hooks: Hooks,
}

/// Test hooks: with the `test-hooks` feature, a backend can be made to fail mid-job.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Hooks {
    /// Fail this backend after so many calls; under `auto` a software wgpu adapter is then
    /// accepted too, so that machines without a GPU exercise the fallback.
    #[cfg(feature = "test-hooks")]
    pub inject_failure: Option<crate::backend::faulty::InjectedFailure>,
}

impl Hooks {
    /// Whether `auto` may open a software wgpu adapter (only to inject a failure into it).
    pub(crate) fn auto_accepts_software_wgpu(&self) -> bool {
        #[cfg(feature = "test-hooks")]
        return self.inject_failure.is_some_and(|f| f.backend == "wgpu");
        #[cfg(not(feature = "test-hooks"))]
        return false;
    }
}

impl Default for Options {
    fn default() -> Self {
        let encode = encode::Options::default();
        Options {
            sh_iterations: encode.sh_iterations,
            sh_bands: encode.sh_bands,
            seed: encode.seed,
            order: encode.order,
            quality: encode.quality,
            backend: Choice::Auto,
            cuda_device: 0,
            write: WriteOptions::default(),
            input_lod: None,
            lod: LodOptions::default(),
            hooks: Hooks::default(),
        }
    }
}

impl Options {
    pub(crate) fn encode(&self) -> encode::Options {
        encode::Options {
            sh_iterations: self.sh_iterations,
            sh_bands: self.sh_bands,
            seed: self.seed,
            order: self.order,
            quality: self.quality,
        }
    }
}

/// Which backend ran the kernels, and why the ones tried before it were passed over.
#[derive(Debug, Clone, Serialize)]
pub struct BackendReport {
    /// `cuda`, `wgpu` or `cpu`.
    pub chosen: &'static str,
    /// The device in one line.
    pub device: String,
    /// Backends tried first (under `auto`) with the reason each was not used.
    pub passed_over: Vec<PassedOver>,
}

/// Everything a compression did: the `--json` output of `splatpress compress`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The input file (`None` for the sample scene).
    pub input: Option<String>,
    /// Its size on disk (a SOG folder counts its files).
    pub input_bytes: Option<u64>,
    /// The output written.
    pub output: String,
    /// Splats dropped or repaired before encoding.
    pub sanitized: Sanitized,
    /// The backend used and those passed over.
    pub backend: BackendReport,
    /// The encoder: splats, grid, bands, palette, seconds per stage.
    pub encoder: encode::Report,
    /// Files written and their sizes (for a streamed SOG: each chunk folder's total, then
    /// the manifest).
    pub written: WriteReport,
    /// For a streamed SOG output: its levels and chunks. The encoder entry then sums every
    /// chunk (splats of all levels, seconds of each stage; no single grid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lod: Option<LodReport>,
    /// Seconds from start to the output being in place.
    pub seconds: f64,
}

/// Compresses `input` into `output` (`*.sog` bundle, `*.json` meta file, or a folder; a
/// `lod-meta.json` is a streamed SOG with levels of detail, see [`LodOptions`]). The output is
/// complete or absent: it is written to temporary files and renamed into place.
pub fn compress_file(
    input: &Input,
    output: &Path,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report> {
    let mut backends = Backends::new(options.backend, options.cuda_device, options.hooks);
    compress_on(&mut backends, input, output, options, progress)
}

/// [`compress_file`] on backends opened earlier (a batch worker keeps its own across scenes);
/// `options.backend`, `cuda_device` and `hooks` are those of `backends`.
pub(crate) fn compress_on(
    backends: &mut Backends,
    input: &Input,
    output: &Path,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report> {
    let start = Instant::now();
    check_output(input, output)?;
    if formats::output_format(output) == Format::LodMeta {
        options.lod.check()?;
    }
    let (scene, sanitized) = match input {
        Input::File(path) => super::read_clean(path, options.input_lod, progress)?,
        Input::Sample { count, bands } => {
            let scene = crate::sample::scene(*count, *bands, options.seed);
            progress.event(Event::Note(&format!(
                "sample scene: {} splats, {} SH bands",
                scene.len(),
                scene.sh_bands
            )));
            if scene.is_empty() {
                return Err(Error::Scene(
                    "the sample scene needs at least one splat (count)".into(),
                ));
            }
            scene.sanitize()
        }
    };
    let input_path = match input {
        Input::File(path) => Some(path),
        Input::Sample { .. } => None,
    };
    if formats::output_format(output) == Format::LodMeta {
        let mut report =
            super::lod::compress(backends, scene, sanitized, output, options, progress)?;
        report.input = input_path.map(|p| p.display().to_string());
        report.input_bytes = input_path.map(|p| formats::size_on_disk(p));
        report.seconds = start.elapsed().as_secs_f64();
        return Ok(report);
    }
    let (encoded, mut encoder, backend) = backends.encode(&scene, &options.encode(), progress)?;
    // The textures are final: the scene goes before the WebP encoders take their memory
    // (at 3M SH3 splats the write held 0.74 GB of scene beside ~0.7 GB of encoder state).
    drop(scene);
    let write_start = Instant::now();
    progress.event(Event::Start {
        stage: "write",
        total: None,
    });
    let written = formats::write_encoded(output, &encoded, &options.write)?;
    let write_secs = write_start.elapsed().as_secs_f64();
    progress.event(Event::Finish {
        stage: "write",
        secs: write_secs,
    });
    encoder.stages.push(("write".into(), write_secs));
    Ok(Report {
        input: input_path.map(|p| p.display().to_string()),
        input_bytes: input_path.map(|p| formats::size_on_disk(p)),
        output: output.display().to_string(),
        sanitized,
        backend,
        encoder,
        written,
        lod: None,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Refuses outputs that cannot be written before any work is done.
fn check_output(input: &Input, output: &Path) -> Result<()> {
    let format = formats::output_format(output);
    // A streamed SOG's folder is created (it holds many chunk folders); its parent must exist.
    let must_exist = match format {
        Format::LodMeta => output.parent().and_then(Path::parent),
        _ => output.parent(),
    };
    if let Some(parent) = must_exist.filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(Error::output(
            output,
            format!("folder {} does not exist", parent.display()),
        ));
    }
    if !format.info().writes_encoded {
        return Err(Error::output(
            output,
            format!(
                "compress writes SOG (.sog, meta.json, a folder, or lod-meta.json for a streamed SOG); for {} use `splatpress convert`",
                format.info().name
            ),
        ));
    }
    if matches!(input, Input::File(path) if path == output) {
        return Err(Error::output(output, "output would overwrite the input"));
    }
    Ok(())
}

/// Encodes an in-memory, sanitised scene on the backend `choice` names (CUDA device 0). Under
/// [`Choice::Auto`] a backend that is unavailable, or fails while running (device lost, out of
/// memory), hands over to the next one; each hand-over is a [`Event::Note`] and an entry of
/// [`BackendReport::passed_over`].
pub fn encode_on(
    choice: Choice,
    scene: &Scene,
    options: &encode::Options,
    progress: &dyn Progress,
) -> Result<(Encoded, encode::Report, BackendReport)> {
    Backends::new(choice, 0, Hooks::default()).encode(scene, options, progress)
}
