//! The streamed SOG job (`compress … out/lod-meta.json`): the coarser levels by decimation on
//! the backend, the plan (manifest tree and file units, `formats::lod::plan`), then each unit
//! encoded on its own, in order, and written into place (`formats::lod::write`), manifest
//! last. One unit's encoded scene is in memory at a time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::backends::{Backends, Job};
use super::compress::{BackendReport, Options, Report};
use crate::backend::Backend;
use crate::encode::decimate::{self, Strategy};
use crate::encode::{self, Encoded, Order};
use crate::formats::WriteReport;
use crate::formats::lod::plan::{self, Chunking};
use crate::formats::lod::write::{Header, Writer, manifest_json, write_chunk};
use crate::formats::sog::meta::GENERATOR;
use crate::progress::{Event, Progress};
use crate::scene::Sanitized;
use crate::{Error, Result, Scene};

/// Most levels of detail a streamed SOG output may have.
pub const MAX_LEVELS: usize = 16;

/// Splats (thousands, ×1024) below which a node is not split for its extent: splat-transform's
/// `--lod-chunk-min` default, fixed here.
pub const CHUNK_MIN: u32 = 8;

/// Threads writing chunk SOGs while the next unit is encoded (each WebP-encodes its textures
/// in parallel too, on the writers' own thread pool).
const WRITERS: usize = 3;

/// The thread pool the chunk writers' WebP encodes run on. Lossless WebP encodes are long
/// single-threaded tasks (a second or more for a 512k-splat texture); queued on the global
/// pool they would hold its threads while the encoder's parallel steps (gathers, codebooks)
/// wait behind them. On a pool of their own the operating system shares the cores instead.
fn writer_pool(output: &Path) -> Result<rayon::ThreadPool> {
    let threads = std::thread::available_parallelism().map_or(4, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("sog-writer-{i}"))
        .build()
        .map_err(|e| {
            Error::output(
                output,
                format!("cannot start the chunk writers' threads: {e}"),
            )
        })
}

/// The levels and chunking of a streamed SOG output. `Default`: 4 levels, 512 thousand splats
/// or 16 world units a chunk, adaptive decimation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LodOptions {
    /// Levels of detail, 1 to 16: level 0 is every splat of the scene, each
    /// further level about half the splats of the one before, made by decimation.
    pub levels: usize,
    /// Thousands (×1024) of splats per chunk file (`--lod-chunk-count`).
    pub chunk_count: u32,
    /// Widest a chunk of more than 8 thousand splats may be, in world units.
    pub chunk_extent: f64,
    /// How merges are spread when decimating.
    pub decimate: Strategy,
}

impl Default for LodOptions {
    fn default() -> Self {
        let chunking = Chunking::default();
        LodOptions {
            levels: 4,
            chunk_count: chunking.count,
            chunk_extent: chunking.extent,
            decimate: Strategy::default(),
        }
    }
}

impl LodOptions {
    /// Refuses settings that cannot make a streamed SOG.
    pub(crate) fn check(&self) -> Result<()> {
        if !(1..=MAX_LEVELS).contains(&self.levels) {
            return Err(Error::Scene(format!(
                "{} levels of detail: a streamed SOG has 1 to {MAX_LEVELS}",
                self.levels
            )));
        }
        if self.chunk_count == 0 {
            return Err(Error::Scene(
                "a chunk holds at least 1 thousand splats (chunk count 0)".into(),
            ));
        }
        if !(self.chunk_extent.is_finite() && self.chunk_extent > 0.0) {
            return Err(Error::Scene(format!(
                "chunk extent {}: expected a positive number of world units",
                self.chunk_extent
            )));
        }
        Ok(())
    }

    fn chunking(&self) -> Chunking {
        Chunking {
            count: self.chunk_count,
            extent: self.chunk_extent,
            min: CHUNK_MIN,
        }
    }
}

/// What a streamed SOG output holds.
#[derive(Debug, Clone, Serialize)]
pub struct LodReport {
    /// Levels of detail written.
    pub levels: usize,
    /// Splats of each level, level 0 (every input splat) first.
    pub counts: Vec<u64>,
    /// The decimation that made levels 1 and on.
    pub decimate: Strategy,
    /// Thousands (×1024) of splats per chunk.
    pub chunk_count: u32,
    /// Widest chunk (world units) of more than `chunk_min` thousand splats.
    pub chunk_extent: f64,
    /// Thousands (×1024) of splats below which a chunk is not split for extent.
    pub chunk_min: u32,
    /// Leaves of the manifest tree.
    pub leaves: usize,
    /// Every chunk SOG, in the manifest's `filenames` order.
    pub units: Vec<UnitReport>,
    /// Bytes on disk: every chunk and the manifest.
    pub bytes: u64,
}

/// One chunk SOG of a streamed SOG.
#[derive(Debug, Clone, Serialize)]
pub struct UnitReport {
    /// Its name in the manifest (`0_0/meta.json`).
    pub file: String,
    /// Its level.
    pub level: u32,
    /// Splats it holds.
    pub splats: usize,
    /// Leaves whose ranges it holds.
    pub runs: usize,
    /// Texture width and height.
    pub width: u32,
    pub height: u32,
    /// SH palette entries.
    pub palette: usize,
    /// Its files' bytes.
    pub bytes: u64,
    /// The backend that encoded it.
    pub backend: &'static str,
    /// Seconds to encode and write it.
    pub seconds: f64,
}

/// Decimation as a backend job (started again on the next backend after a failure).
struct DecimateJob<'a> {
    scene: &'a Scene,
    levels: usize,
    strategy: Strategy,
}

impl Job for DecimateJob<'_> {
    type Output = Vec<Scene>;

    fn run<B: Backend>(&mut self, backend: &B, progress: &dyn Progress) -> Result<Vec<Scene>> {
        decimate::coarser_levels(backend, self.scene, self.levels, self.strategy, progress)
    }
}

/// Writes `scene` (sanitised) as a streamed SOG at `output` (a `lod-meta.json`). The caller
/// fills the report's input and total seconds.
pub(crate) fn compress(
    backends: &mut Backends,
    mut scene: Scene,
    sanitized: Sanitized,
    output: &Path,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report> {
    let lod = options.lod;
    lod.check()?;
    if let Some(bands) = options.sh_bands {
        scene.truncate_bands(bands); // as each unit's encoder would; saves decimating them
    }
    let mut stages: Vec<(String, f64)> = Vec::new();
    let mut backend: Option<BackendReport> = None;

    let coarser = if lod.levels > 1 {
        let start = Instant::now();
        let mut job = DecimateJob {
            scene: &scene,
            levels: lod.levels,
            strategy: lod.decimate,
        };
        let (coarser, chosen) = backends.run(&mut job, progress)?;
        stages.push(("decimate".into(), start.elapsed().as_secs_f64()));
        backend = Some(chosen);
        coarser
    } else {
        Vec::new()
    };
    let levels: Vec<&Scene> = std::iter::once(&scene).chain(&coarser).collect();

    let start = Instant::now();
    progress.event(Event::Start {
        stage: "plan",
        total: None,
    });
    let plan = plan::plan(&levels, lod.chunking()).map_err(|m| Error::output(output, m))?;
    let secs = start.elapsed().as_secs_f64();
    progress.event(Event::Finish {
        stage: "plan",
        secs,
    });
    stages.push(("plan".into(), secs));
    let leaves = count_leaves(&plan.tree);
    progress.event(Event::Note(&format!(
        "{} levels ({} splats), {} chunks, {leaves} leaves",
        levels.len(),
        plan.counts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" / "),
        plan.units.len()
    )));

    let encode_options = encode::Options {
        order: Order::Given,
        ..options.encode()
    };
    let mut writer = Writer::create(output)?;
    let mut units = Vec::with_capacity(plan.units.len());
    let mut encoder_stages: Vec<(String, f64)> = Vec::new();
    let mut write_secs = 0.0;
    let (mut bands, mut splats) = (0u8, 0usize);
    // Units are encoded here, one after another (the kernels run on one device), and written
    // by WRITERS threads meanwhile (WebP encoding is CPU work that would leave the device
    // idle): at most WRITERS + 1 encoded units are in memory at once.
    let effort = options.write.webp_effort;
    let pool = writer_pool(output)?;
    let (to_write, jobs) = std::sync::mpsc::sync_channel::<(usize, PathBuf, Encoded)>(1);
    let jobs = std::sync::Mutex::new(jobs);
    let (done, results) = std::sync::mpsc::channel();
    let written: Vec<Option<(Result<WriteReport>, f64)>> = std::thread::scope(|threads| {
        for _ in 0..WRITERS {
            let (jobs, done, pool) = (&jobs, done.clone(), &pool);
            threads.spawn(move || {
                loop {
                    let job = jobs
                        .lock()
                        .map_err(|_| ())
                        .and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((k, path, encoded)) = job else { break };
                    let start = Instant::now();
                    let report = pool.install(|| write_chunk(&path, &encoded, effort));
                    drop(encoded);
                    if done
                        .send((k, report, start.elapsed().as_secs_f64()))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(done);
        let encoded_all = (|| -> Result<()> {
            for (k, unit) in plan.units.iter().enumerate() {
                let unit_start = Instant::now();
                let folder = unit.folder();
                progress.event(Event::Note(&format!(
                    "chunk {}/{} {folder}: level {}, {} splats",
                    k + 1,
                    plan.units.len(),
                    unit.level,
                    unit.len()
                )));
                let level = levels[unit.level as usize];
                let chunk = unit_scene(level, &unit.runs);
                let (encoded, report, chosen) =
                    backends.encode(&chunk, &encode_options, progress)?;
                drop(chunk);
                for (name, secs) in &report.stages {
                    match encoder_stages.iter_mut().find(|(n, _)| n == name) {
                        Some((_, total)) => *total += secs,
                        None => encoder_stages.push((name.clone(), *secs)),
                    }
                }
                bands = bands.max(report.sh_bands);
                splats += report.splats;
                units.push(UnitReport {
                    file: unit.filename(),
                    level: unit.level,
                    splats: report.splats,
                    runs: unit.runs.len(),
                    width: report.width,
                    height: report.height,
                    palette: report.palette,
                    bytes: 0,
                    backend: chosen.chosen,
                    seconds: unit_start.elapsed().as_secs_f64(),
                });
                backend = Some(merge(backend.take(), chosen));
                if to_write
                    .send((k, writer.chunk_path(&folder), encoded))
                    .is_err()
                {
                    break; // a writer thread is gone: its error is collected below
                }
            }
            Ok(())
        })();
        drop(to_write);
        let mut out: Vec<Option<(Result<WriteReport>, f64)>> =
            (0..plan.units.len()).map(|_| None).collect();
        for (k, report, secs) in results {
            out[k] = Some((report, secs));
        }
        encoded_all.map(|()| out)
    })?;
    for (k, (unit, result)) in plan.units.iter().zip(written).enumerate() {
        let (report, secs) = result.ok_or_else(|| {
            Error::output(
                output,
                format!(
                    "chunk {} was not written (a writer thread stopped)",
                    unit.folder()
                ),
            )
        })?;
        let report = report?;
        write_secs += secs;
        units[k].bytes = report.total_bytes;
        units[k].seconds += secs;
        writer.record(&unit.folder(), report);
    }

    let start = Instant::now();
    progress.event(Event::Start {
        stage: "write",
        total: None,
    });
    let header = Header {
        generator: GENERATOR,
        model: scene.model.sog_name(),
        extras: scene.extras.as_ref(),
    };
    let done = writer.finish(&manifest_json(&plan, &header))?;
    write_secs += start.elapsed().as_secs_f64();
    progress.event(Event::Finish {
        stage: "write",
        secs: start.elapsed().as_secs_f64(),
    });
    stages.extend(encoder_stages);
    stages.push(("write".into(), write_secs));

    let backend = backend.expect("a streamed SOG has at least one chunk");
    let mut files: Vec<(String, u64)> = done
        .chunks
        .iter()
        .map(|(folder, r)| (format!("{folder}/"), r.total_bytes))
        .collect();
    files.push((
        output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        done.manifest_bytes,
    ));
    Ok(Report {
        input: None,
        input_bytes: None,
        output: output.display().to_string(),
        sanitized,
        encoder: encode::Report {
            splats,
            width: 0,
            height: 0,
            sh_bands: bands,
            palette: 0,
            backend: backend.chosen.to_string(),
            stages,
        },
        backend,
        written: WriteReport {
            files,
            total_bytes: done.total_bytes,
        },
        lod: Some(LodReport {
            levels: levels.len(),
            counts: plan.counts.clone(),
            decimate: lod.decimate,
            chunk_count: lod.chunk_count,
            chunk_extent: lod.chunk_extent,
            chunk_min: CHUNK_MIN,
            leaves,
            units,
            bytes: done.total_bytes,
        }),
        seconds: 0.0,
    })
}

/// A unit's splats in storage order: each run (a leaf's splats of this level) in Morton order
/// over its own box, runs one after another, so the manifest's offsets address them. The
/// manifest carries the extras; chunks carry only the model.
fn unit_scene(level: &Scene, runs: &[Vec<u32>]) -> Scene {
    use rayon::prelude::*;
    let sorted: Vec<Vec<u32>> = runs
        .par_iter()
        .map(|run| {
            let positions: Vec<[f32; 3]> =
                run.iter().map(|&i| level.positions[i as usize]).collect();
            encode::order::morton(&positions)
                .into_iter()
                .map(|j| run[j as usize])
                .collect()
        })
        .collect();
    let order = sorted.concat();
    let mut chunk = level.select(&order);
    chunk.extras = None;
    chunk
}

fn count_leaves(node: &plan::Node) -> usize {
    match node {
        plan::Node::Leaf { .. } => 1,
        plan::Node::Inner { children, .. } => children.iter().map(count_leaves).sum(),
    }
}

/// The job's backend report: the first stage's backend, with every hand-over seen since.
fn merge(first: Option<BackendReport>, next: BackendReport) -> BackendReport {
    let Some(mut report) = first else {
        return next;
    };
    for passed in next.passed_over {
        let seen = report
            .passed_over
            .iter()
            .any(|p| p.backend == passed.backend && p.reason == passed.reason);
        if !seen {
            report.passed_over.push(passed);
        }
    }
    report
}
