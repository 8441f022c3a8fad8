//! `splatpress._splatpress`: the compiled half of the `splatpress` Python package.
//!
//! Each job function turns its keyword arguments into library options, runs the library with
//! the GIL released, and returns the report serialised with `serde_json`: the exact text the
//! CLI prints with `--json`. The Python half (`python/python/splatpress/__init__.py`) parses it
//! with `json.loads`, and carries the signatures, defaults and docstrings users see.
//!
//! Errors become `splatpress.InputError`, `OutputError` or `BackendUnavailableError` (all
//! subclasses of `SplatpressError`) with the library error's `Display` as the message, the
//! same text the CLI prints after `splatpress: error: `. Bad keyword values raise
//! `ValueError` before any work starts.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOverflowError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use splatpress::{
    BackendChoice, BatchOptions, Error, Event, Input, Options, Order, PlasOptions, PlasQuality,
    Progress, Quality, RenderBackend, RenderKernel, RenderOptions, WriteOptions,
};

create_exception!(
    splatpress,
    SplatpressError,
    PyException,
    "Base class of every error splatpress raises; the message is the one the CLI prints."
);
create_exception!(
    splatpress,
    InputError,
    SplatpressError,
    "An input is missing, unreadable, malformed, or holds nothing to compress."
);
create_exception!(
    splatpress,
    OutputError,
    SplatpressError,
    "The output cannot be written (missing folder, would overwrite the input, I/O error)."
);
create_exception!(
    splatpress,
    BackendUnavailableError,
    SplatpressError,
    "The requested compute backend is unavailable here, or failed while running."
);

/// The files a job reads and writes, to tell an I/O error on an input from one on the output.
struct Job<'a> {
    inputs: &'a [&'a Path],
    output: Option<&'a Path>,
}

impl Job<'_> {
    /// Whether an I/O error on `path` is the output's: the output itself, a file inside an
    /// output folder, a temporary file the atomic writer put beside it, or (for a `meta.json`
    /// output) a texture beside it. Anything else a job with an output touches that is not
    /// one of its inputs is on the output side too.
    fn writes(&self, path: &Path) -> bool {
        let Some(output) = self.output else {
            return false;
        };
        let beside = |file: &Path| path.parent() == file.parent();
        let is_temp = path.file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            n.starts_with('.') && n.ends_with(".tmp")
        });
        if path.starts_with(output) || (beside(output) && is_temp) {
            return true;
        }
        if self.inputs.iter().any(|input| path.starts_with(input)) {
            return false;
        }
        let is_meta = |file: &Path| file.extension().is_some_and(|e| e == "json");
        if is_meta(output) && beside(output) {
            return true;
        }
        !self
            .inputs
            .iter()
            .any(|input| is_meta(input) && beside(input))
    }

    /// The Python exception for a library error: its class by variant (and, for I/O, by
    /// which side of the job failed), its message the error's `Display`.
    fn error(&self, err: Error) -> PyErr {
        let message = err.to_string();
        match err {
            Error::Io { path, .. } if self.writes(&path) => OutputError::new_err(message),
            Error::Io { .. } | Error::Parse { .. } | Error::Scene(_) => {
                InputError::new_err(message)
            }
            Error::Output { .. } => OutputError::new_err(message),
            Error::Backend { .. } => BackendUnavailableError::new_err(message),
            _ => SplatpressError::new_err(message),
        }
    }
}

/// A Python callable as a [`Progress`]: each event becomes a dict, passed with the GIL held.
/// The first exception the callable raises is kept (and the callable is not called again);
/// [`Callback::finish`] raises it once the job is over, since the library cannot be stopped
/// half-way.
struct Callback {
    callable: Option<Py<PyAny>>,
    error: Mutex<Option<PyErr>>,
}

impl Callback {
    /// The callback for a job's `progress=` keyword: a callable or `None` (a `TypeError`
    /// otherwise, before any work starts).
    fn new(py: Python<'_>, callable: Option<Py<PyAny>>) -> PyResult<Self> {
        if callable.as_ref().is_some_and(|p| !p.bind(py).is_callable()) {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "progress must be a callable taking one dict, or None",
            ));
        }
        Ok(Callback {
            callable,
            error: Mutex::new(None),
        })
    }

    fn failed(&self) -> bool {
        self.error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// The job's result, with a stored callback exception raised in its place (or, when the
    /// job failed too, attached to the job's exception as `__context__`).
    fn finish<T>(self, py: Python<'_>, result: PyResult<T>) -> PyResult<T> {
        let stored = self.error.into_inner().unwrap_or_else(|e| e.into_inner());
        match (result, stored) {
            (result, None) => result,
            (Ok(_), Some(callback_error)) => Err(callback_error),
            (Err(job_error), Some(callback_error)) => {
                let _ = job_error
                    .value(py)
                    .setattr("__context__", callback_error.value(py));
                Err(job_error)
            }
        }
    }
}

impl Progress for Callback {
    fn event(&self, event: Event<'_>) {
        let Some(callable) = &self.callable else {
            return;
        };
        if self.failed() {
            return;
        }
        let outcome = Python::attach(|py| -> PyResult<()> {
            let dict = PyDict::new(py);
            match event {
                Event::Start { stage, total } => {
                    dict.set_item("event", "start")?;
                    dict.set_item("stage", stage)?;
                    dict.set_item("total", total)?;
                }
                Event::Step { done } => {
                    dict.set_item("event", "step")?;
                    dict.set_item("done", done)?;
                }
                Event::Finish { stage, secs } => {
                    dict.set_item("event", "finish")?;
                    dict.set_item("stage", stage)?;
                    dict.set_item("secs", secs)?;
                }
                Event::Note(text) => {
                    dict.set_item("event", "note")?;
                    dict.set_item("text", text)?;
                }
                // A kind of event this module does not know yet: not passed on.
                #[allow(unreachable_patterns)]
                _ => return Ok(()),
            }
            callable.call1(py, (dict,))?;
            Ok(())
        });
        if let Err(err) = outcome {
            let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
            slot.get_or_insert(err);
        }
    }
}

/// An integer keyword argument in `0..=max`: out of range (negative included) is a
/// `ValueError`, not an int a `TypeError`.
fn ranged(name: &str, value: &Bound<'_, PyAny>, max: u64) -> PyResult<u64> {
    let out_of_range = || {
        PyValueError::new_err(format!(
            "{name} must be an integer from 0 to {max}, got {value}"
        ))
    };
    match value.extract::<u64>() {
        Ok(v) if v <= max => Ok(v),
        Ok(_) => Err(out_of_range()),
        Err(e) if e.is_instance_of::<PyOverflowError>(value.py()) => Err(out_of_range()),
        Err(e) => Err(e),
    }
}

/// An optional [`ranged`] argument (`None` stays `None`).
fn ranged_opt(name: &str, value: Option<&Bound<'_, PyAny>>, max: u64) -> PyResult<Option<u64>> {
    value
        .filter(|v| !v.is_none())
        .map(|v| ranged(name, v, max))
        .transpose()
}

/// The texel order for `order=` and `plas_quality=` (the CLI's `--order`, `--plas-quality`).
fn texel_order(order: &str, plas_quality: &str) -> PyResult<Order> {
    let quality = match plas_quality {
        "fast" => PlasQuality::Fast,
        "default" => PlasQuality::Default,
        "best" => PlasQuality::Best,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown plas_quality `{other}`: expected fast, default or best"
            )));
        }
    };
    match order {
        "morton" => Ok(Order::Morton),
        "plas" => Ok(Order::Plas(PlasOptions {
            quality,
            ..PlasOptions::default()
        })),
        other => Err(PyValueError::new_err(format!(
            "unknown order `{other}`: expected morton or plas"
        ))),
    }
}

/// The encoder setting for `quality=` (the CLI's `--quality`).
fn encoder_quality(quality: &str) -> PyResult<Quality> {
    match quality {
        "max" => Ok(Quality::Max),
        "balanced" => Ok(Quality::Balanced),
        "small" => Ok(Quality::Small),
        other => Err(PyValueError::new_err(format!(
            "unknown quality `{other}`: expected max, balanced or small"
        ))),
    }
}

/// A report as the CLI's `--json` text.
fn to_json(report: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(report)
        .map_err(|e| SplatpressError::new_err(format!("serialising the report: {e}")))
}

/// Compresses `input` (or, with `input=None`, the built-in sample scene) into `output`;
/// returns the `splatpress compress --json` report as JSON text.
#[pyfunction]
#[pyo3(signature = (
    input, output, *, backend, sh_iterations, sh_bands, seed, order, plas_quality, quality,
    webp_effort, sample_count, sample_bands, progress
))]
// One Rust argument per keyword.
#[allow(clippy::too_many_arguments)]
fn compress(
    py: Python<'_>,
    input: Option<PathBuf>,
    output: PathBuf,
    backend: &str,
    sh_iterations: &Bound<'_, PyAny>,
    sh_bands: Option<&Bound<'_, PyAny>>,
    seed: &Bound<'_, PyAny>,
    order: &str,
    plas_quality: &str,
    quality: &str,
    webp_effort: &Bound<'_, PyAny>,
    sample_count: Option<&Bound<'_, PyAny>>,
    sample_bands: &Bound<'_, PyAny>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let backend: BackendChoice = backend.parse().map_err(PyValueError::new_err)?;
    let sample_count = ranged_opt("sample_count", sample_count, usize::MAX as u64)?;
    let sample_bands = ranged("sample_bands", sample_bands, 3)? as u8;
    let input = match (input, sample_count) {
        (Some(path), None) => Input::File(path),
        (None, count) => Input::Sample {
            count: count.map_or(splatpress::sample::DEFAULT_COUNT, |c| c as usize),
            bands: sample_bands,
        },
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err(
                "sample_count is for the built-in sample scene: pass input=None with it",
            ));
        }
    };
    let options = options(
        backend,
        sh_iterations,
        sh_bands,
        seed,
        order,
        plas_quality,
        quality,
        webp_effort,
    )?;
    let callback = Callback::new(py, progress)?;
    let result = py.detach(|| splatpress::compress_file(&input, &output, &options, &callback));
    let inputs: Vec<&Path> = match &input {
        Input::File(path) => vec![path.as_path()],
        _ => Vec::new(),
    };
    let job = Job {
        inputs: &inputs,
        output: Some(&output),
    };
    let result = result.map_err(|e| job.error(e)).and_then(|r| to_json(&r));
    callback.finish(py, result)
}

/// The library's options for the compress keywords shared by `compress` and `batch`.
// `..Default::default()` is kept although every field is set today: the library may add some.
// One Rust argument per keyword.
#[allow(clippy::needless_update, clippy::too_many_arguments)]
fn options(
    backend: BackendChoice,
    sh_iterations: &Bound<'_, PyAny>,
    sh_bands: Option<&Bound<'_, PyAny>>,
    seed: &Bound<'_, PyAny>,
    order: &str,
    plas_quality: &str,
    quality: &str,
    webp_effort: &Bound<'_, PyAny>,
) -> PyResult<Options> {
    Ok(Options {
        sh_iterations: ranged("sh_iterations", sh_iterations, u32::MAX.into())? as u32,
        sh_bands: ranged_opt("sh_bands", sh_bands, 3)?.map(|b| b as u8),
        seed: ranged("seed", seed, u64::MAX)?,
        order: texel_order(order, plas_quality)?,
        quality: encoder_quality(quality)?,
        backend,
        write: WriteOptions {
            webp_effort: ranged("webp_effort", webp_effort, 9)? as u8,
            ..WriteOptions::default()
        },
        ..Options::default()
    })
}

/// Compresses every scene `inputs` names (a folder, a manifest or one scene) into
/// `output_dir`; returns the `splatpress batch --json` summary as JSON text (also written to
/// `output_dir/summary.json`). Scenes that fail are in the summary, not raised.
#[pyfunction]
#[pyo3(signature = (
    inputs, output_dir, *, jobs, resume, backend, sh_iterations, sh_bands, seed, order,
    plas_quality, quality, webp_effort, progress
))]
#[allow(clippy::too_many_arguments)]
fn batch(
    py: Python<'_>,
    inputs: PathBuf,
    output_dir: PathBuf,
    jobs: Option<&Bound<'_, PyAny>>,
    resume: bool,
    backend: &str,
    sh_iterations: &Bound<'_, PyAny>,
    sh_bands: Option<&Bound<'_, PyAny>>,
    seed: &Bound<'_, PyAny>,
    order: &str,
    plas_quality: &str,
    quality: &str,
    webp_effort: &Bound<'_, PyAny>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let backend: BackendChoice = backend.parse().map_err(PyValueError::new_err)?;
    let jobs = match ranged_opt("jobs", jobs, 4096)? {
        Some(0) => return Err(PyValueError::new_err("jobs must be at least 1, or None")),
        other => other.map(|j| j as usize),
    };
    let options = BatchOptions {
        compress: options(
            backend,
            sh_iterations,
            sh_bands,
            seed,
            order,
            plas_quality,
            quality,
            webp_effort,
        )?,
        jobs,
        resume,
    };
    let callback = Callback::new(py, progress)?;
    let result = py.detach(|| splatpress::batch(&inputs, &output_dir, &options, &callback));
    let job = Job {
        inputs: &[&inputs],
        output: Some(&output_dir),
    };
    let result = result.map_err(|e| job.error(e)).and_then(|r| to_json(&r));
    callback.finish(py, result)
}

/// Decodes `input` (any readable format) to a binary 3DGS PLY at `output`; returns the
/// report (`output`, `splats`, `sh_bands`) as JSON text.
#[pyfunction]
fn decode(py: Python<'_>, input: PathBuf, output: PathBuf) -> PyResult<String> {
    let result = py.detach(|| splatpress::decode_file(&input, &output, &WriteOptions::default()));
    let job = Job {
        inputs: &[&input],
        output: Some(&output),
    };
    result.map_err(|e| job.error(e)).and_then(|r| to_json(&r))
}

/// What compression lost, `compressed` (level `lod` of a streamed SOG) against `original`:
/// the `splatpress eval --json` report as JSON text.
#[pyfunction]
#[pyo3(signature = (original, compressed, progress, *, lod=None))]
fn evaluate(
    py: Python<'_>,
    original: PathBuf,
    compressed: PathBuf,
    progress: Option<Py<PyAny>>,
    lod: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let lod = ranged_opt("lod", lod, u32::MAX.into())?.map(|l| l as u32);
    let callback = Callback::new(py, progress)?;
    let result = py.detach(|| splatpress::evaluate_lod(&original, &compressed, lod, &callback));
    let job = Job {
        inputs: &[&original, &compressed],
        output: None,
    };
    let result = result.map_err(|e| job.error(e)).and_then(|r| to_json(&r));
    callback.finish(py, result)
}

/// What compression cost in pictures: `original` and `compressed` (level `lod` of a streamed
/// SOG) rendered from the same cameras and compared per view; the
/// `splatpress eval --render --json` report as JSON text.
#[pyfunction]
#[pyo3(signature = (
    original, compressed, *, views, size, cameras, images, kernel, render_backend, lod, progress
))]
#[allow(clippy::too_many_arguments)]
fn evaluate_render(
    py: Python<'_>,
    original: PathBuf,
    compressed: PathBuf,
    views: &Bound<'_, PyAny>,
    size: &Bound<'_, PyAny>,
    cameras: Option<PathBuf>,
    images: Option<PathBuf>,
    kernel: &str,
    render_backend: &str,
    lod: Option<&Bound<'_, PyAny>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let views = match ranged("views", views, u32::MAX.into())? {
        0 => return Err(PyValueError::new_err("views must be at least 1")),
        v => v as usize,
    };
    let size = ranged("size", size, u32::MAX.into())? as u32;
    if !(16..=8192).contains(&size) {
        return Err(PyValueError::new_err(format!(
            "size must be from 16 to 8192 pixels, got {size}"
        )));
    }
    let kernel = match kernel {
        "playcanvas" => RenderKernel::PlayCanvas,
        "standard" => RenderKernel::Standard,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown kernel `{other}`: expected playcanvas or standard"
            )));
        }
    };
    let backend = match render_backend {
        "auto" => RenderBackend::Auto,
        "wgpu" => RenderBackend::Wgpu,
        "cpu" => RenderBackend::Cpu,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown render_backend `{other}`: expected auto, wgpu or cpu"
            )));
        }
    };
    let lod = ranged_opt("lod", lod, u32::MAX.into())?.map(|l| l as u32);
    let options = RenderOptions {
        views,
        size,
        cameras: cameras.clone(),
        images: images.clone(),
        backend,
        kernel,
        ..RenderOptions::default()
    };
    let callback = Callback::new(py, progress)?;
    let result =
        py.detach(|| splatpress::evaluate_render(&original, &compressed, lod, &options, &callback));
    let mut inputs: Vec<&Path> = vec![&original, &compressed];
    inputs.extend(cameras.as_deref());
    let job = Job {
        inputs: &inputs,
        output: images.as_deref(),
    };
    let result = result.map_err(|e| job.error(e)).and_then(|r| to_json(&r));
    callback.finish(py, result)
}

/// A summary of any readable scene: the `splatpress info --json` report as JSON text.
#[pyfunction]
fn info(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let result = py.detach(|| splatpress::inspect(&path));
    let job = Job {
        inputs: &[&path],
        output: None,
    };
    result.map_err(|e| job.error(e)).and_then(|r| to_json(&r))
}

/// Every backend and device: the `splatpress devices --json` report as JSON text.
#[pyfunction]
fn devices(py: Python<'_>) -> PyResult<String> {
    to_json(&py.detach(splatpress::devices))
}

/// Runs the `splatpress` command with `argv` (program name first) and returns its exit
/// status (0 success, 1 failure, 2 usage error). The command prints to the process's own
/// stdout and stderr.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    let code = py.detach(|| splatpress::cli::main_with_args(argv));
    exit_status(code)
}

/// The number behind an [`ExitCode`] (std keeps it private; it does implement `PartialEq`).
fn exit_status(code: ExitCode) -> u8 {
    (0..=u8::MAX)
        .find(|n| ExitCode::from(*n) == code)
        .unwrap_or(1)
}

#[pymodule]
fn _splatpress(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SplatpressError", py.get_type::<SplatpressError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("OutputError", py.get_type::<OutputError>())?;
    m.add(
        "BackendUnavailableError",
        py.get_type::<BackendUnavailableError>(),
    )?;
    m.add_function(wrap_pyfunction!(compress, m)?)?;
    m.add_function(wrap_pyfunction!(batch, m)?)?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_render, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add_function(wrap_pyfunction!(devices, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    Ok(())
}
