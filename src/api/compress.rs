//! `compress_file`: read → sanitise → encode (backend choice and fallback) → atomic write.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::backend::Backend;
use crate::backend::select::{self, AnyBackend, Choice, PassedOver};
use crate::encode::{self, Encoded, Order};
use crate::formats::{self, WriteOptions, WriteReport};
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
    /// Where the kernels run; `Auto` falls back to the next backend on failure.
    pub backend: Choice,
    /// How the output file is encoded.
    pub write: WriteOptions,
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
    fn auto_accepts_software_wgpu(&self) -> bool {
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
            backend: Choice::Auto,
            write: WriteOptions::default(),
            hooks: Hooks::default(),
        }
    }
}

impl Options {
    fn encode(&self) -> encode::Options {
        encode::Options {
            sh_iterations: self.sh_iterations,
            sh_bands: self.sh_bands,
            seed: self.seed,
            order: self.order,
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
    /// Files written and their sizes.
    pub written: WriteReport,
    /// Seconds from start to the output being in place.
    pub seconds: f64,
}

/// Compresses `input` into `output` (`*.sog` bundle, `*.json` meta file, or a folder). The
/// output is complete or absent: it is written to temporary files and renamed into place.
pub fn compress_file(
    input: &Input,
    output: &Path,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report> {
    let start = Instant::now();
    check_output(input, output)?;
    let (scene, sanitized) = match input {
        Input::File(path) => super::read_clean(path, progress)?,
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
    let (encoded, mut encoder, backend) = encode_with_hooks(
        options.backend,
        &scene,
        &options.encode(),
        progress,
        &options.hooks,
    )?;
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
    let input_path = match input {
        Input::File(path) => Some(path),
        Input::Sample { .. } => None,
    };
    Ok(Report {
        input: input_path.map(|p| p.display().to_string()),
        input_bytes: input_path.map(|p| formats::size_on_disk(p)),
        output: output.display().to_string(),
        sanitized,
        backend,
        encoder,
        written,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Refuses outputs that cannot be written before any work is done.
fn check_output(input: &Input, output: &Path) -> Result<()> {
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(Error::output(
            output,
            format!("folder {} does not exist", parent.display()),
        ));
    }
    if matches!(input, Input::File(path) if path == output) {
        return Err(Error::output(output, "output would overwrite the input"));
    }
    Ok(())
}

/// Encodes an in-memory, sanitised scene on the backend `choice` names. Under [`Choice::Auto`] a backend that is
/// unavailable, or fails while running (device lost, out of memory), hands over to the next
/// one; each hand-over is a [`Event::Note`] and an entry of [`BackendReport::passed_over`].
pub fn encode_on(
    choice: Choice,
    scene: &Scene,
    options: &encode::Options,
    progress: &dyn Progress,
) -> Result<(Encoded, encode::Report, BackendReport)> {
    encode_with_hooks(choice, scene, options, progress, &Hooks::default())
}

fn encode_with_hooks(
    choice: Choice,
    scene: &Scene,
    options: &encode::Options,
    progress: &dyn Progress,
    hooks: &Hooks,
) -> Result<(Encoded, encode::Report, BackendReport)> {
    let under_auto = choice == Choice::Auto;
    let mut passed_over = Vec::new();
    let mut last_error = None;
    for which in select::candidates(choice) {
        let software_ok = which == Choice::Wgpu && hooks.auto_accepts_software_wgpu();
        let backend = match select::open(which, under_auto && !software_ok) {
            Ok(b) => b,
            Err(e) if under_auto => {
                let reason = select::reason(&e);
                progress.event(Event::Note(&format!(
                    "{} unavailable: {reason}",
                    which.name()
                )));
                passed_over.push(PassedOver {
                    backend: which.name(),
                    reason,
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        let device = backend.describe();
        progress.event(Event::Note(&format!("backend: {device}")));
        let result = match &backend {
            AnyBackend::Cpu(b) => encode_hooked(b, scene, options, progress, hooks),
            #[cfg(feature = "wgpu")]
            AnyBackend::Wgpu(b) => encode_hooked(b.as_ref(), scene, options, progress, hooks),
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => encode_hooked(b.as_ref(), scene, options, progress, hooks),
        };
        match result {
            Ok((encoded, report)) => {
                let chosen = BackendReport {
                    chosen: backend.name(),
                    device,
                    passed_over,
                };
                return Ok((encoded, report, chosen));
            }
            Err(e @ Error::Backend { .. }) if under_auto => {
                let reason = format!("failed while running: {}", select::reason(&e));
                progress.event(Event::Note(&format!(
                    "{} {reason}; falling back to the next backend",
                    backend.name()
                )));
                passed_over.push(PassedOver {
                    backend: backend.name(),
                    reason,
                });
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Scene("no backend could run".into())))
}

/// Encodes on `backend`, through the failure-injecting wrapper when a hook names it.
fn encode_hooked<B: Backend>(
    backend: &B,
    scene: &Scene,
    options: &encode::Options,
    progress: &dyn Progress,
    hooks: &Hooks,
) -> Result<(Encoded, encode::Report)> {
    #[cfg(feature = "test-hooks")]
    if let Some(fail) = hooks.inject_failure.filter(|f| f.backend == backend.name()) {
        let faulty = crate::backend::faulty::Faulty::new(backend, fail.after_calls);
        return encode::encode_with(&faulty, scene, options, progress);
    }
    let _ = hooks;
    encode::encode_with(backend, scene, options, progress)
}
