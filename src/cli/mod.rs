//! Command-line definitions (clap) and the subcommands. The library does the work and
//! reports; this module decides what the user sees.

mod batch;
mod commands;
mod progress;
mod render;

use std::path::PathBuf;

use crate::BackendChoice as Choice;
use clap::{Args, Parser, Subcommand};

fn parse_choice(s: &str) -> Result<Choice, String> {
    s.parse()
}

/// Exit status: 0 success, 1 any failure (input, output, runtime), 2 usage error.
#[derive(Parser)]
#[command(
    name = "splatpress",
    version,
    about = "Compress 3D Gaussian Splatting scenes into PlayCanvas SOG (.sog bundle or meta.json + WebP)",
    long_about = "Compress 3D Gaussian Splatting scenes (.ply from the INRIA trainer, gsplat, nerfstudio; \
PlayCanvas .compressed.ply; antimatter15 .splat; Niantic .spz; glTF .glb; SOG) into \
PlayCanvas SOG v2, which the PlayCanvas engine and the SuperSplat viewer load; `convert` \
writes PLY, SPZ and glb.\n\n\
Start with `splatpress compress --sample sample.sog` (no input needed), then \
`splatpress eval <input> <output>` to see what was lost.\n\n\
Exit status: 0 success, 1 failure (bad input, output, runtime), 2 usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compress a scene to SOG: `.sog` → one bundle; `meta.json` or a folder → meta.json + WebPs;
    /// `lod-meta.json` → a streamed SOG with levels of detail.
    #[command(
        override_usage = "splatpress compress [OPTIONS] <INPUT> <OUTPUT>\n       splatpress compress [OPTIONS] --sample <OUTPUT>",
        long_about = COMPRESS_ABOUT
    )]
    Compress(CompressArgs),
    /// Compress many scenes: every scene under a folder, or those a manifest lists, on every
    /// GPU; writes OUTPUT_DIR/summary.json. A failing scene never stops the others.
    #[command(long_about = BATCH_ABOUT)]
    Batch(BatchArgs),
    /// Convert any supported input to a scene file: binary 3DGS PLY, SPZ or glTF (.glb with
    /// KHR_gaussian_splatting), chosen by the output's name. `decode` is the same command.
    #[command(visible_alias = "decode", long_about = CONVERT_ABOUT)]
    Convert {
        /// Input: .ply, .compressed.ply, .splat, .spz, .glb, .sog, meta.json, a SOG folder or a
        /// streamed SOG's lod-meta.json.
        input: PathBuf,
        /// Output: .ply, .spz or .glb (the splat model travels where the format can hold it).
        output: PathBuf,
        /// Level of detail to read from a streamed SOG (lod-meta.json): 0 is full detail (the
        /// default).
        #[arg(long, value_name = "N")]
        lod: Option<u32>,
        /// SPZ version to write: 4 (ZSTD streams; readers from 2025 on) or 3 (gzip; older
        /// readers).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(3..=4))]
        spz_version: u8,
    },
    /// Measure what compression lost: per-attribute errors of COMPRESSED against ORIGINAL, or
    /// with --render PSNR and SSIM of their renders (and pictures with --images).
    Eval {
        /// The source scene.
        original: PathBuf,
        /// The compressed scene (any readable format, usually .sog or meta.json).
        compressed: PathBuf,
        /// Level of detail of COMPRESSED when it is a streamed SOG (lod-meta.json): 0 is full
        /// detail (the default). Coarser levels hold merged splats, so their errors measure the
        /// merging as well as the compression.
        #[arg(long, value_name = "N")]
        lod: Option<u32>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        render: render::RenderArgs,
    },
    /// Summarise a scene: count, SH bands, bounds, ranges, non-finite values; SOG conformance.
    Info {
        /// Any supported input.
        input: PathBuf,
        /// Level of detail to summarise of a streamed SOG (lod-meta.json): 0 is full detail
        /// (the default).
        #[arg(long, value_name = "N")]
        lod: Option<u32>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List every backend: whether it is available and why not, each GPU adapter, and what
    /// `--backend auto` would choose. Run this first on a new machine or container.
    Devices {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the built-in sample scene as a PLY.
    Sample {
        /// Output .ply.
        output: PathBuf,
        #[command(flatten)]
        sample: SampleArgs,
    },
}

const COMPRESS_ABOUT: &str = "\
Compress a scene to PlayCanvas SOG v2, in the form the output's name selects: `x.sog` one
bundle; `x.json` (e.g. meta.json) that meta file with its WebP textures beside it; any other
name a folder receiving meta.json and the textures.

An output named `lod-meta.json` (e.g. `out/lod-meta.json`; the folder is created) is a
streamed SOG, which the PlayCanvas engine (2.22+) and SuperSplat load chunk by chunk under a
splat budget: `lod-meta.json` plus one SOG folder per chunk and level,
`out/<level>_<chunk>/meta.json`, as splat-transform writes it. Level 0 is every splat of the
scene; each further level keeps about half the splats of the one before (4 levels: 100%, 50%,
25%, 12.5%), made by decimation: neighbouring splats merged into one that keeps their mass,
mean and covariance. The splats of all levels are cut into chunks by a kd-tree: a chunk holds
at most --lod-chunk-count thousand splats, and one wider than --lod-chunk-extent is split
further while it holds more than 8 thousand. Each chunk is encoded on its own (Morton order
within each tree leaf, its own codebooks and SH palette). --order does not apply to it.";

const CONVERT_ABOUT: &str = "\
Convert any supported input to a scene file, chosen by the output's name: .ply (binary 3DGS
PLY), .spz (Niantic SPZ) or .glb (glTF with KHR_gaussian_splatting). A SOG input is decoded as
the PlayCanvas engine decodes it. `decode` is the same command. SOG is written by `compress`.

The splat model (antialiased \"mip\" splats, 2DGS) travels to every output that can hold it:
PLY `comment SplatRenderMode: mip|2dgs`, the SPZ antialiased flag, the glTF extension's
extras. Free-form extras (SOG meta.json or glTF `extras`) go to glb and SOG. What an output
cannot hold is named in a warning, never dropped silently.

SPZ: versions 2 to 4 are read, 4 (ZSTD) or 3 (gzip) written. Coordinates are stored in RUB (y
up), as the Niantic reference defines, converted from and to the PLY's axes; splat-transform
stores PLY coordinates unconverted, so its .spz files read here rotated 180° about x, and ours
there. SH band 4 of a degree-4 file is dropped (a note says so). SPZ cannot mark 2DGS: such a
scene is written as 3DGS with the smallest third scale.

glb: positions, unit quaternions, linear scales, opacities after the sigmoid and SH by degree,
in glTF's axes (a 180° turn about z from the PLY's, as splat-transform writes), with COLOR_0 as
a linear-colour fallback. Reading joins every splat primitive of the scene; node translations
and uniform scales are applied, rotations refused.";

const BATCH_ABOUT: &str = "Compress many scenes into OUTPUT_DIR: every scene under a folder \
(recursively; outputs mirror the input paths, `a/b/x.ply` → `OUTPUT_DIR/a/b/x.sog`), those a \
manifest lists, or one scene.\n\n\
A manifest has one scene a line: a path (relative to the manifest), or a JSON object with \
\"input\", optionally \"output\" (relative to OUTPUT_DIR) and any of \"seed\", \
\"sh_iterations\", \"sh_bands\", \"order\", \"plas_quality\", \"webp_effort\", \"quality\", which \
override the options below for that scene:\n\n\
    scenes/garden.ply\n\
    {\"input\": \"scenes/bike.ply\", \"output\": \"bike-small.sog\", \"sh_bands\": 1}\n\n\
Every visible GPU works: one worker per CUDA device (CUDA_VISIBLE_DEVICES respected), each \
keeping its device open across scenes; without CUDA, wgpu or CPU workers (--jobs). Each output \
is complete or absent. OUTPUT_DIR/summary.json lists every scene (status, error, bytes in \
and out, ratio, seconds, backend) and the workers of each kind.\n\n\
Exit status: 0 when every scene was compressed (or skipped by --resume), 1 when any failed \
or the batch could not start, 2 usage error.";

#[derive(Args)]
struct SampleArgs {
    /// Splats in the built-in sample scene (with --sample).
    #[arg(long, default_value_t = crate::sample::DEFAULT_COUNT)]
    count: usize,
    /// SH bands of the built-in sample scene, 0-3 (with --sample).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    bands: u8,
}

#[derive(Args)]
struct CompressArgs {
    /// `INPUT OUTPUT`, or only `OUTPUT` with --sample. OUTPUT ending in .sog is a bundle;
    /// ending in .json is a meta.json with textures beside it; anything else is a folder.
    #[arg(required = true, num_args = 1..=2, value_names = ["INPUT", "OUTPUT"])]
    paths: Vec<PathBuf>,
    /// Compress the built-in sample scene instead of an input file.
    #[arg(long)]
    sample: bool,
    #[command(flatten)]
    sample_args: SampleArgs,
    /// Level of detail to read from a streamed SOG input (lod-meta.json): 0 is full detail
    /// (the default).
    #[arg(long, value_name = "N")]
    lod: Option<u32>,
    #[command(flatten)]
    encode: EncodeArgs,
    /// Print a JSON report on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    lod_output: LodArgs,
}

/// The settings of a streamed SOG output (OUTPUT named lod-meta.json).
#[derive(Args)]
#[command(next_help_heading = "Streamed SOG output (OUTPUT named lod-meta.json)")]
struct LodArgs {
    /// Levels of detail, 1-16 [default: 4]. Level 0 is every splat; each further level keeps
    /// about half the splats of the one before (4 levels: 100%, 50%, 25%, 12.5%).
    #[arg(long, value_name = "L", value_parser = clap::value_parser!(u32).range(1..=16))]
    lod_levels: Option<u32>,
    /// Thousands of splats (×1024) per chunk [default: 512]: a leaf of the manifest's tree holds
    /// at most this many, and a chunk file (one SOG) takes leaves until it holds more. Smaller
    /// chunks stream in finer steps.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    lod_chunk_count: Option<u32>,
    /// Widest extent of a chunk in world units (metres for most captures) [default: 16]; a
    /// wider one is split while it holds more than 8 thousand splats.
    #[arg(long, value_name = "M", value_parser = parse_extent, allow_negative_numbers = true)]
    lod_chunk_extent: Option<f64>,
    /// How levels 1 and on are decimated [default: adaptive]: adaptive merges where it costs
    /// least over the whole scene (dense, small, faint, similar splats first), keeping detail
    /// where it shows; uniform thins every region by the same fraction.
    #[arg(long, value_enum, value_name = "HOW")]
    decimate: Option<DecimateArg>,
}

/// `--decimate` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum DecimateArg {
    Uniform,
    Adaptive,
}

fn parse_extent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!("{v} is not a positive number of world units")),
        Err(e) => Err(format!("`{s}`: {e}")),
    }
}

#[derive(Args)]
struct BatchArgs {
    /// A folder (every .ply, .compressed.ply, .splat, .spz, .glb, .sog and SOG folder under it,
    /// recursively; hidden entries skipped), a manifest (any other file: one scene path a line,
    /// or a JSON object a line with per-scene options), or one scene.
    inputs: PathBuf,
    /// Where the outputs go (created if missing): each scene's .sog at its path relative to
    /// INPUTS (or to the manifest), and summary.json.
    output_dir: PathBuf,
    /// Scenes in flight. Default: one per CUDA device (CUDA_VISIBLE_DEVICES respected);
    /// without CUDA, one wgpu worker on a hardware GPU, else one CPU worker per 4 threads.
    /// Two per GPU overlap one scene's CPU stages with another's kernels (1.7x on an H200)
    /// at the cost of host memory (about 0.7 GiB more per worker for 1M-splat SH3 scenes).
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Skip scenes whose output is already complete: newer than the input, a conforming SOG
    /// with the input's splat count (read back, not assumed). Options are not compared:
    /// delete outputs to redo them with other options.
    #[arg(long)]
    resume: bool,
    #[command(flatten)]
    encode: EncodeArgs,
    /// Print the summary JSON on stdout instead of text (it is written to
    /// OUTPUT_DIR/summary.json either way).
    #[arg(long)]
    json: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

/// The settings of one compression, shared by `compress` and `batch`.
#[derive(Args)]
struct EncodeArgs {
    /// Lloyd iterations of the SH palette k-means.
    #[arg(short = 'i', long, default_value_t = 10)]
    sh_iterations: u32,
    /// Keep at most this many SH bands (0-3).
    #[arg(short = 'H', long, value_parser = clap::value_parser!(u8).range(0..=3))]
    sh_bands: Option<u8>,
    /// Seed for every random choice: same input and seed give identical output bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Lossless WebP effort, 0 (fastest) to 9 (smallest). The default, 2, writes a few tenths of
    /// a percent more than 4 and encodes 2.5-4x faster; 9 saves under 0.1 % more than 4.
    #[arg(long, default_value_t = commands::DEFAULT_WEBP_EFFORT, value_parser = clap::value_parser!(u8).range(0..=9))]
    webp_effort: u8,
    /// Texel order: morton (fast, splat-transform's order) or plas (a self-organising sort
    /// that puts similar splats next to each other: smaller files, seconds on a GPU, a minute
    /// per million splats on the CPU).
    #[arg(long, value_enum, default_value_t = OrderArg::Morton)]
    order: OrderArg,
    /// PLAS schedule: fast (fewer passes), default, or best (slowest, smallest). With --order plas.
    #[arg(long, value_enum, default_value_t = PlasQualityArg::Default)]
    plas_quality: PlasQualityArg,
    /// Error against size: max (the default: positions, rotations and opacity rounded to the
    /// nearest code, half splat-transform's RMS error, files no larger than its), balanced
    /// (half of that margin spent on size) or small (codes moved within one step to even
    /// values in whole texture blocks while each attribute's error stays under
    /// splat-transform's: smaller files). Scales, colours and SH are unchanged by it.
    #[arg(long, value_enum, default_value_t = QualityArg::Max)]
    quality: QualityArg,
    /// Where the k-means, PLAS and decimation kernels run: auto (CUDA, then a hardware GPU through wgpu, then the CPU),
    /// cuda, wgpu (any adapter, software ones included) or cpu. See `splatpress devices`.
    #[arg(long, default_value = "auto", value_parser = parse_choice)]
    backend: Choice,
    /// Test hook: make BACKEND fail after CALLS calls, as a GPU lost mid-job (`cuda:40`).
    #[cfg(feature = "test-hooks")]
    #[arg(long, hide = true, value_name = "BACKEND:CALLS")]
    inject_failure: Option<String>,
}

/// `--order` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OrderArg {
    Morton,
    Plas,
}

/// `--quality` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum QualityArg {
    Max,
    Balanced,
    Small,
}

/// `--plas-quality` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PlasQualityArg {
    Fast,
    Default,
    Best,
}

/// Runs the `splatpress` command with `args` (the program name first, as `std::env::args_os`
/// gives them) and returns its exit status: 0 success, 1 failure (printed once, as
/// `splatpress: error: …`), 2 usage error (printed by clap). The binary and the Python
/// module's console command both call this.
pub fn main_with_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> std::process::ExitCode {
    let runtime_dir = quiet_mesa();
    let code = match Cli::try_parse_from(args) {
        Err(usage) => {
            let _ = usage.print();
            std::process::ExitCode::from(if usage.use_stderr() { 2 } else { 0 })
        }
        Ok(cli) => match run(cli) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(Failure::Usage(usage)) => {
                let _ = usage.print();
                std::process::ExitCode::from(2)
            }
            Err(Failure::Run(err)) if is_broken_pipe(&err) => std::process::ExitCode::SUCCESS,
            Err(Failure::Run(err)) => {
                eprintln!("splatpress: error: {err}");
                std::process::ExitCode::from(1)
            }
        },
    };
    if let Some(dir) = runtime_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    code
}

/// Mesa's drivers print "error: XDG_RUNTIME_DIR is invalid or not set" on every GPU probe
/// of a headless server or container, which reads like a failure of ours. Give them a
/// private, empty runtime folder for the life of the command when none is set. (The command
/// is a front end: the library itself neither reads nor sets environment variables.)
#[cfg(unix)]
fn quiet_mesa() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("splatpress-runtime-{}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).ok()?;
    // SAFETY: set before any GPU probe; the command's other threads (rayon's pool) do not
    // read the environment.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    Some(dir)
}

#[cfg(not(unix))]
fn quiet_mesa() -> Option<std::path::PathBuf> {
    None
}

/// Why a command failed: its usage (exit 2) or its work (exit 1).
enum Failure {
    Usage(clap::Error),
    Run(crate::Error),
}

impl From<crate::Error> for Failure {
    fn from(err: crate::Error) -> Self {
        Failure::Run(err)
    }
}

/// Runs the parsed subcommand.
fn run(cli: Cli) -> Result<(), Failure> {
    let done = match cli.command {
        Command::Compress(args) => return commands::compress(args),
        Command::Batch(args) => return batch::batch(args),
        Command::Convert {
            input,
            output,
            lod,
            spz_version,
        } => commands::convert(&input, &output, lod, spz_version),
        Command::Eval {
            original,
            compressed,
            lod,
            json,
            render,
        } if render.render => render::eval_render(&original, &compressed, lod, json, &render),
        Command::Eval {
            original,
            compressed,
            lod,
            json,
            ..
        } => commands::eval(&original, &compressed, lod, json),
        Command::Info { input, lod, json } => commands::info(&input, lod, json),
        Command::Devices { json } => commands::devices(json),
        Command::Sample { output, sample } => commands::sample(&output, &sample),
    };
    Ok(done?)
}

/// True for an error caused by stdout closing early (`splatpress info x | head`).
fn is_broken_pipe(err: &crate::Error) -> bool {
    matches!(err, crate::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}
