//! `batch`: many scenes, one call. Plans the jobs (a folder, a manifest or one scene), runs
//! them on workers (one per CUDA device, else wgpu or CPU workers) that each keep their
//! backend open, isolates every scene's failure, and writes `summary.json` beside the outputs.

mod plan;
mod resume;
mod workers;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::backends::Backends;
use super::compress::{Input, Options, Report, compress_on};
use crate::backend::select::Choice;
use crate::formats::atomic;
use crate::progress::{Event, Progress};
use crate::scene::Sanitized;
use crate::{Error, Result};

pub use plan::{Job, SUMMARY_NAME};
pub use workers::{Counts as WorkerCounts, Kind as WorkerKind, Machine};

/// Settings of a batch.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Every scene's settings (a manifest's JSON line may override some), the backend choice
    /// included.
    pub compress: Options,
    /// Scenes in flight; `None`: one per CUDA device, else one wgpu worker on a machine with a
    /// hardware GPU, else one CPU worker per four threads.
    pub jobs: Option<usize>,
    /// Skip scenes whose output is already complete (read back and checked, not assumed).
    pub resume: bool,
}

/// What happened to one scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Compressed now.
    Ok,
    /// Not compressed; `error` says why.
    Failed,
    /// Left alone under `--resume`: its output was complete.
    Skipped,
}

/// One scene's line of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct SceneSummary {
    pub input: String,
    pub output: String,
    pub status: Status,
    /// Why it failed, or why it was skipped.
    pub error: Option<String>,
    /// Size of the input on disk.
    pub bytes_in: Option<u64>,
    /// Size of the output on disk (a bundle: the whole ZIP).
    pub bytes_out: Option<u64>,
    /// `bytes_in / bytes_out`.
    pub ratio: Option<f64>,
    /// Splats written.
    pub splats: Option<usize>,
    /// Seconds spent on this scene (compression, or the completeness check).
    pub seconds: f64,
    /// The backend that ran it: `cuda`, `wgpu` or `cpu`.
    pub backend: Option<&'static str>,
    /// Its device in one line.
    pub device: Option<String>,
    /// The worker (index into the summary's workers) that took it.
    pub worker: Option<usize>,
    /// Splats dropped or repaired before encoding.
    pub sanitized: Option<Sanitized>,
}

/// Sums over the scenes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub scenes: usize,
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Input bytes of the scenes compressed now.
    pub bytes_in: u64,
    /// Output bytes of the scenes compressed now.
    pub bytes_out: u64,
    /// Wall-clock seconds of the whole batch.
    pub seconds: f64,
}

/// The batch's report: what `summary.json` holds and `splatpress batch --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub inputs: String,
    pub output_dir: String,
    /// The backend asked for.
    pub backend: Choice,
    /// How many workers of each kind ran.
    pub workers: WorkerCounts,
    pub totals: Totals,
    /// Every scene, in plan order (sorted paths, or manifest order).
    pub scenes: Vec<SceneSummary>,
}

impl Summary {
    /// True when no scene failed.
    pub fn all_ok(&self) -> bool {
        self.totals.failed == 0
    }

    /// Where the summary is written.
    pub fn path(&self) -> PathBuf {
        Path::new(&self.output_dir).join(SUMMARY_NAME)
    }
}

/// Compresses every scene `inputs` names into `output_dir` (created if missing) and writes
/// `output_dir/summary.json`. A scene that fails is recorded and leaves no output; the others
/// go on. Errors only for the batch as a whole: unreadable inputs, a bad manifest, two scenes
/// with one output, `--backend cuda` without a device, an output folder that cannot be made.
///
/// `progress` gets a `scenes` stage with one step and one note per scene (the scenes' own
/// stages are not reported: several run at once).
pub fn batch(
    inputs: &Path,
    output_dir: &Path,
    options: &BatchOptions,
    progress: &dyn Progress,
) -> Result<Summary> {
    let start = Instant::now();
    let jobs = plan::plan(inputs, output_dir)?;
    std::fs::create_dir_all(output_dir).map_err(|e| Error::io(output_dir, e))?;
    let kinds = workers::plan(options.compress.backend, options.jobs, probe(options)).map_err(
        |message| Error::Backend {
            backend: "cuda",
            message,
        },
    )?;
    progress.event(Event::Note(&format!(
        "{} scenes, {} workers ({})",
        jobs.len(),
        kinds.len(),
        describe(&kinds)
    )));
    let run = Run {
        jobs: &jobs,
        options,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        results: Mutex::new(vec![None; jobs.len()]),
        progress: Mutex::new(progress),
    };
    run.report(Event::Start {
        stage: "scenes",
        total: Some(jobs.len() as u64),
    });
    std::thread::scope(|scope| {
        for (index, kind) in kinds.iter().enumerate() {
            let run = &run;
            scope.spawn(move || run.worker(index, *kind));
        }
    });
    run.report(Event::Finish {
        stage: "scenes",
        secs: start.elapsed().as_secs_f64(),
    });
    let scenes: Vec<SceneSummary> = run
        .results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every job was taken by a worker"))
        .collect();
    let summary = Summary {
        inputs: inputs.display().to_string(),
        output_dir: output_dir.display().to_string(),
        backend: options.compress.backend,
        workers: WorkerCounts::of(&kinds),
        totals: totals(&scenes, start.elapsed().as_secs_f64()),
        scenes,
    };
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| Error::Scene(format!("serialising the batch summary: {e}")))?;
    atomic::write_bytes(&summary.path(), &json)?;
    Ok(summary)
}

/// What planning needs to know of the machine; only asks what the choice can use.
fn probe(options: &BatchOptions) -> Machine {
    let choice = options.compress.backend;
    let cuda_devices = match choice {
        Choice::Auto | Choice::Cuda => crate::backend::cuda_device_count().unwrap_or(0),
        _ => 0,
    };
    let gpu_adapter = choice == Choice::Auto
        && cuda_devices == 0
        && crate::backend::wgpu_adapters().iter().any(|a| !a.is_cpu);
    Machine {
        cuda_devices,
        gpu_adapter,
        cpu_threads: rayon::current_num_threads(),
    }
}

fn describe(kinds: &[WorkerKind]) -> String {
    let counts = WorkerCounts::of(kinds);
    let mut parts = Vec::new();
    if counts.cuda > 0 {
        parts.push(format!("cuda on devices {:?}", counts.cuda_devices));
    }
    if counts.wgpu > 0 {
        parts.push(format!("{} wgpu", counts.wgpu));
    }
    if counts.cpu > 0 {
        parts.push(format!("{} cpu", counts.cpu));
    }
    parts.join(", ")
}

fn totals(scenes: &[SceneSummary], seconds: f64) -> Totals {
    let mut totals = Totals {
        scenes: scenes.len(),
        seconds,
        ..Totals::default()
    };
    for scene in scenes {
        match scene.status {
            Status::Ok => {
                totals.ok += 1;
                totals.bytes_in += scene.bytes_in.unwrap_or(0);
                totals.bytes_out += scene.bytes_out.unwrap_or(0);
            }
            Status::Failed => totals.failed += 1,
            Status::Skipped => totals.skipped += 1,
        }
    }
    totals
}

/// The state the workers share.
struct Run<'a> {
    jobs: &'a [Job],
    options: &'a BatchOptions,
    next: AtomicUsize,
    done: AtomicUsize,
    results: Mutex<Vec<Option<SceneSummary>>>,
    progress: Mutex<&'a dyn Progress>,
}

impl Run<'_> {
    /// Passes an event on, one at a time (the `Progress` contract).
    fn report(&self, event: Event<'_>) {
        let progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        progress.event(event);
    }

    /// Takes jobs until none is left. The worker's backends are opened on its first scene
    /// and kept; a panic while compressing fails that scene only.
    fn worker(&self, index: usize, kind: WorkerKind) {
        let cuda_device = match kind {
            WorkerKind::Cuda(ordinal) => ordinal,
            WorkerKind::Wgpu | WorkerKind::Cpu => 0,
        };
        let base = &self.options.compress;
        let new_backends = || Backends::new(base.backend, cuda_device, base.hooks);
        let mut backends = new_backends();
        loop {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = self.jobs.get(n) else { break };
            let start = Instant::now();
            let mut summary = if self.options.resume
                && let Some(complete) = resume::complete(job)
            {
                skipped(job, complete)
            } else {
                let mut options = job.overrides.apply(base);
                options.cuda_device = cuda_device;
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    compress_job(&mut backends, job, &options)
                }));
                let outcome = outcome.unwrap_or_else(|panic| {
                    backends = new_backends();
                    Err(Error::Scene(format!(
                        "internal error (please report it): {}",
                        panic_message(&panic)
                    )))
                });
                match outcome {
                    Ok(report) => compressed(job, report, index),
                    Err(error) => failed(job, error, index),
                }
            };
            summary.seconds = start.elapsed().as_secs_f64();
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            self.report(Event::Note(&line(&summary, done, self.jobs.len())));
            self.report(Event::Step { done: done as u64 });
            self.results.lock().unwrap_or_else(|e| e.into_inner())[n] = Some(summary);
        }
    }
}

/// Compresses one job, making its output's folders (and removing the ones it made when the
/// scene fails, so a failure leaves nothing behind).
fn compress_job(backends: &mut Backends, job: &Job, options: &Options) -> Result<Report> {
    let parent = job.output.parent().unwrap_or(Path::new(""));
    let missing: Vec<&Path> = parent.ancestors().take_while(|p| !p.exists()).collect();
    if let Some(top) = missing.last() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(top, e))?;
    }
    let input = Input::File(job.input.clone());
    let result = compress_on(backends, &input, &job.output, options, &());
    if result.is_err() {
        for dir in &missing {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

fn blank(job: &Job, status: Status) -> SceneSummary {
    SceneSummary {
        input: job.input.display().to_string(),
        output: job.output.display().to_string(),
        status,
        error: None,
        bytes_in: None,
        bytes_out: None,
        ratio: None,
        splats: None,
        seconds: 0.0,
        backend: None,
        device: None,
        worker: None,
        sanitized: None,
    }
}

fn compressed(job: &Job, report: Report, worker: usize) -> SceneSummary {
    // On disk: a bundle adds ZIP headers to the textures' total.
    let bytes_out = crate::formats::size_on_disk(&job.output);
    SceneSummary {
        bytes_in: report.input_bytes,
        bytes_out: Some(bytes_out),
        ratio: report
            .input_bytes
            .map(|i| i as f64 / bytes_out.max(1) as f64),
        splats: Some(report.encoder.splats),
        backend: Some(report.backend.chosen),
        device: Some(report.backend.device),
        worker: Some(worker),
        sanitized: Some(report.sanitized),
        ..blank(job, Status::Ok)
    }
}

fn failed(job: &Job, error: Error, worker: usize) -> SceneSummary {
    SceneSummary {
        error: Some(error.to_string()),
        bytes_in: Some(crate::formats::size_on_disk(&job.input)).filter(|b| *b > 0),
        worker: Some(worker),
        ..blank(job, Status::Failed)
    }
}

fn skipped(job: &Job, complete: resume::Complete) -> SceneSummary {
    SceneSummary {
        error: Some("output complete from an earlier run (--resume)".into()),
        bytes_in: Some(complete.bytes_in),
        bytes_out: Some(complete.bytes_out),
        ratio: Some(complete.bytes_in as f64 / complete.bytes_out.max(1) as f64),
        splats: Some(complete.splats),
        ..blank(job, Status::Skipped)
    }
}

/// The progress line of a finished scene.
fn line(scene: &SceneSummary, done: usize, total: usize) -> String {
    let head = format!("[{done}/{total}]");
    match scene.status {
        Status::Ok => format!(
            "{head} ok      {} → {} ({} bytes, {:.1}x) {:.1} s on {}",
            scene.input,
            scene.output,
            scene.bytes_out.unwrap_or(0),
            scene.ratio.unwrap_or(0.0),
            scene.seconds,
            scene.device.as_deref().unwrap_or("?")
        ),
        Status::Skipped => format!("{head} skipped {} (output complete)", scene.input),
        Status::Failed => {
            // Input errors already start with the file's path.
            let error = scene.error.as_deref().unwrap_or("");
            if error.starts_with(&scene.input) {
                format!("{head} FAILED  {error}")
            } else {
                format!("{head} FAILED  {}: {error}", scene.input)
            }
        }
    }
}
