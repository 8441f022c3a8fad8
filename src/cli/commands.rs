//! The subcommands: each turns its arguments into library options, calls the library once,
//! and prints the report as text or (`--json`) as the report itself.

use std::path::Path;

use crate::{
    DecimateStrategy, Devices, Error, Info, Input, LodOptions, Options, Order, PlasOptions,
    PlasQuality, Quality, Report, Result, WriteOptions,
};
use clap::CommandFactory;
use serde::Serialize;

use super::progress::Reporter;
use super::{
    Cli, CompressArgs, DecimateArg, EncodeArgs, Failure, LodArgs, OrderArg, PlasQualityArg,
    QualityArg, SampleArgs,
};

/// Default lossless WebP effort (see BENCHMARKS.md for the size/time trade-off).
pub const DEFAULT_WEBP_EFFORT: u8 = crate::formats::DEFAULT_WEBP_EFFORT;

/// A usage error worded by clap (exit status 2).
fn usage_error(message: &str) -> Failure {
    Failure::Usage(Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message))
}

pub fn print_json(value: &impl Serialize) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| Error::io("<stdout>", e.into()))?;
    writeln!(out).map_err(|e| Error::io("<stdout>", e))
}

pub fn print_text(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("<stdout>", e))
}

pub fn compress(args: CompressArgs) -> Result<(), Failure> {
    let reporter = Reporter::new(args.quiet || args.json);
    let (input, output) = match (args.sample, args.paths.as_slice()) {
        (true, [out]) => (
            Input::Sample {
                count: args.sample_args.count,
                bands: args.sample_args.bands,
            },
            out.as_path(),
        ),
        (false, [input, out]) => (Input::File(input.clone()), out.as_path()),
        (true, _) => return Err(usage_error("with --sample, give only OUTPUT")),
        (false, _) => return Err(usage_error("give INPUT and OUTPUT, or --sample OUTPUT")),
    };
    if args.sample && args.lod.is_some() {
        return Err(usage_error(
            "--lod reads one level of a streamed SOG INPUT (lod-meta.json), not of --sample",
        ));
    }
    let mut options = options(&args.encode)?;
    options.input_lod = args.lod;
    options.lod = lod_options(&args.lod_output, output, args.encode.order)?;
    let report = crate::compress_file(&input, output, &options, &reporter)?;
    if args.json {
        return Ok(print_json(&report)?);
    }
    if args.quiet {
        return Ok(());
    }
    Ok(print_text(&compress_text(&report))?)
}

/// The streamed SOG settings; refused unless the output is a `lod-meta.json`.
fn lod_options(args: &LodArgs, output: &Path, order: OrderArg) -> Result<LodOptions, Failure> {
    let streamed = crate::formats::output_format(output) == crate::Format::LodMeta;
    let given: Vec<&str> = [
        (args.lod_levels.is_some(), "--lod-levels"),
        (args.lod_chunk_count.is_some(), "--lod-chunk-count"),
        (args.lod_chunk_extent.is_some(), "--lod-chunk-extent"),
        (args.decimate.is_some(), "--decimate"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect();
    if !streamed && !given.is_empty() {
        return Err(usage_error(&format!(
            "{} shape a streamed SOG: name OUTPUT lod-meta.json (e.g. out/lod-meta.json) to write one",
            given.join(", ")
        )));
    }
    if streamed && order == OrderArg::Plas {
        return Err(usage_error(
            "--order plas does not apply to a streamed SOG: each chunk keeps Morton order within its tree leaves, which the manifest's ranges address",
        ));
    }
    let defaults = LodOptions::default();
    Ok(LodOptions {
        levels: args.lod_levels.map_or(defaults.levels, |l| l as usize),
        chunk_count: args.lod_chunk_count.unwrap_or(defaults.chunk_count),
        chunk_extent: args.lod_chunk_extent.unwrap_or(defaults.chunk_extent),
        decimate: match args.decimate {
            None => defaults.decimate,
            Some(DecimateArg::Uniform) => DecimateStrategy::Uniform,
            Some(DecimateArg::Adaptive) => DecimateStrategy::Adaptive,
        },
    })
}

/// The library's options for the shared compress settings.
pub fn options(args: &EncodeArgs) -> Result<Options, Failure> {
    Ok(Options {
        sh_iterations: args.sh_iterations,
        sh_bands: args.sh_bands,
        seed: args.seed,
        order: order(args.order, args.plas_quality),
        quality: match args.quality {
            QualityArg::Max => Quality::Max,
            QualityArg::Balanced => Quality::Balanced,
            QualityArg::Small => Quality::Small,
        },
        backend: args.backend,
        write: WriteOptions {
            webp_effort: args.webp_effort,
            ..WriteOptions::default()
        },
        hooks: hooks(args)?,
        ..Options::default()
    })
}

/// The human summary of a compression.
fn compress_text(report: &Report) -> String {
    if let Some(lod) = &report.lod {
        let counts: Vec<String> = lod.counts.iter().map(u64::to_string).collect();
        let mut text = format!(
            "wrote {}: {} levels of detail ({} splats), {} chunks, {} bytes in {:.1} s\n",
            report.output,
            lod.levels,
            counts.join(" / "),
            lod.units.len(),
            lod.bytes,
            report.seconds
        );
        for unit in &lod.units {
            text += &format!(
                "  {:20} level {} {:>9} splats {:>10} bytes\n",
                unit.file, unit.level, unit.splats, unit.bytes
            );
        }
        return text;
    }
    let encoder = &report.encoder;
    let written = &report.written;
    let mut text = format!(
        "wrote {}: {} bytes, {:.2} bytes/splat, {}x{} texels, {} SH bands, palette {}",
        report.output,
        written.total_bytes,
        written.total_bytes as f64 / encoder.splats as f64,
        encoder.width,
        encoder.height,
        encoder.sh_bands,
        encoder.palette
    );
    if let Some(bytes) = report.input_bytes.filter(|b| *b > 0) {
        text += &format!(
            ", {:.1}x smaller than the input",
            bytes as f64 / written.total_bytes as f64
        );
    }
    text += &format!(" in {:.1} s\n", report.seconds);
    for (name, bytes) in &written.files {
        text += &format!("  {name:20} {bytes:>10}\n");
    }
    text
}

pub fn convert(input: &Path, output: &Path, lod: Option<u32>, spz_version: u8) -> Result<()> {
    let options = WriteOptions {
        spz_version,
        ..WriteOptions::default()
    };
    let report = crate::decode_file_lod(input, lod, output, &options)?;
    for note in &report.read_notes {
        eprintln!("note: {}: {note}", input.display());
    }
    for lost in &report.not_kept {
        eprintln!("warning: not kept in {}: {lost}", report.output);
    }
    eprintln!(
        "wrote {}: {} splats, {} SH bands",
        report.output, report.splats, report.sh_bands
    );
    Ok(())
}

pub fn eval(original: &Path, compressed: &Path, lod: Option<u32>, json: bool) -> Result<()> {
    let reporter = Reporter::new(json);
    let evaluation = crate::evaluate_lod(original, compressed, lod, &reporter)?;
    if json {
        print_json(&evaluation)
    } else {
        print_text(&evaluation.table())
    }
}

pub fn info(input: &Path, lod: Option<u32>, json: bool) -> Result<()> {
    let info = crate::inspect_lod(input, lod)?;
    if json {
        return print_json(&info);
    }
    print_text(&info_text(&info))
}

/// The human summary of `info`: the statistics table and, for SOG, the engine's verdict.
fn info_text(info: &Info) -> String {
    let mut text = info.stats.table();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if let Some(generator) = &info.generator {
        text += &format!("written by: {generator}\n");
    }
    if let Some(extras) = &info.extras {
        text += &format!("extras: {extras}\n");
    }
    if let Some(lod) = &info.lod {
        let counts: Vec<String> = lod.counts.iter().map(u64::to_string).collect();
        text += &format!(
            "levels of detail: {} ({} splats), {} chunks; shown: level {}\n",
            lod.counts.len(),
            counts.join(" / "),
            lod.chunks,
            lod.level
        );
    }
    match &info.sog_conformance_problems {
        Some(problems) if problems.is_empty() => text += "SOG conformance (engine rules): ok\n",
        Some(problems) => {
            text += &format!(
                "SOG conformance (engine rules): {} problems\n",
                problems.len()
            );
            for p in problems {
                text += &format!("  {p}\n");
            }
        }
        None => {}
    }
    text
}

pub fn sample(output: &Path, args: &SampleArgs) -> Result<()> {
    let scene = crate::sample::scene(args.count, args.bands, 0);
    crate::formats::write_scene(output, &scene, &WriteOptions::default())?;
    eprintln!(
        "wrote {}: {} splats, {} SH bands",
        output.display(),
        scene.len(),
        scene.sh_bands
    );
    Ok(())
}

pub fn devices(json: bool) -> Result<()> {
    let devices = crate::devices();
    if json {
        return print_json(&devices);
    }
    print_text(&devices_text(&devices))
}

/// The human listing of `devices`.
fn devices_text(devices: &Devices) -> String {
    let mut text = String::from("backends:\n");
    for b in &devices.backends {
        text += &match (&b.device, &b.reason) {
            (Some(device), _) => format!("  {:5} available: {device}\n", b.backend),
            (None, reason) => format!(
                "  {:5} unavailable: {}\n",
                b.backend,
                reason.as_deref().unwrap_or("")
            ),
        };
    }
    if let Some(need) = &devices.cuda_requirement {
        text += &format!(
            "cuda kernels: machine code for sm_75/80/86/89/90, and PTX ISA {} (compute_75) JIT-compiled by driver {}+ (CUDA {}+) for other GPUs\n",
            need.ptx_isa, need.min_driver, need.min_driver_cuda
        );
    }
    match &devices.cuda_devices {
        crate::CudaDevices::List(list) => {
            text += &format!("cuda devices ({}):\n", list.len());
            for d in list {
                text += &format!(
                    "  {}: {} (compute {}, {} MiB, {} SMs) driver {} (CUDA {}), mode {}, PTX {}, {}\n",
                    d.ordinal,
                    d.name,
                    d.compute_capability,
                    d.memory_bytes >> 20,
                    d.multiprocessors,
                    d.driver_version.as_deref().unwrap_or("?"),
                    d.driver_cuda_version,
                    d.compute_mode,
                    if d.ptx_loads {
                        "loads"
                    } else {
                        "does NOT load"
                    },
                    match &d.machine_code {
                        Some(arch) => format!("runs embedded {arch} machine code (no JIT)"),
                        None => "no machine code for it: PTX JIT".to_string(),
                    },
                );
            }
        }
        crate::CudaDevices::Error { error } => text += &format!("cuda devices: none ({error})\n"),
    }
    text += &format!("wgpu adapters ({}):\n", devices.wgpu_adapters.len());
    for a in &devices.wgpu_adapters {
        text += &format!(
            "  {} [{}{}, {}] driver {} {}\n    max storage binding {} MiB, max buffer {} MiB, workgroup memory {} KiB, shader-f16 {}, subgroups {}\n",
            a.name,
            a.device_type,
            if a.is_cpu {
                ", software: used only with --backend wgpu"
            } else {
                ""
            },
            a.backend,
            a.driver,
            a.driver_info,
            a.max_storage_buffer_binding_size >> 20,
            a.max_buffer_size >> 20,
            a.max_compute_workgroup_storage_size >> 10,
            a.shader_f16,
            a.subgroup
        );
    }
    text += &format!("--backend auto would choose: {}\n", devices.auto);
    text
}

/// The encoder's order for `--order` and `--plas-quality`.
fn order(order: OrderArg, quality: PlasQualityArg) -> Order {
    match order {
        OrderArg::Morton => Order::Morton,
        OrderArg::Plas => Order::Plas(PlasOptions {
            quality: match quality {
                PlasQualityArg::Fast => PlasQuality::Fast,
                PlasQualityArg::Default => PlasQuality::Default,
                PlasQualityArg::Best => PlasQuality::Best,
            },
            ..PlasOptions::default()
        }),
    }
}

/// The test hooks asked for on the command line (feature `test-hooks` only).
#[cfg(feature = "test-hooks")]
fn hooks(args: &EncodeArgs) -> Result<crate::Hooks, Failure> {
    use crate::backend::faulty::InjectedFailure;
    let Some(spec) = &args.inject_failure else {
        return Ok(crate::Hooks::default());
    };
    let parsed = spec.split_once(':').and_then(|(backend, calls)| {
        let backend = ["cuda", "wgpu", "cpu"]
            .into_iter()
            .find(|b| *b == backend)?;
        Some(InjectedFailure {
            backend,
            after_calls: calls.parse().ok()?,
        })
    });
    match parsed {
        Some(fail) => Ok(crate::Hooks {
            inject_failure: Some(fail),
        }),
        None => Err(usage_error(
            "--inject-failure takes BACKEND:CALLS, e.g. wgpu:5",
        )),
    }
}

#[cfg(not(feature = "test-hooks"))]
fn hooks(_: &EncodeArgs) -> Result<crate::Hooks, Failure> {
    Ok(crate::Hooks::default())
}
