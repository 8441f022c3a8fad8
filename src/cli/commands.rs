//! The subcommands: each reads, calls the library, and prints a human or JSON report.

use std::path::Path;
use std::time::Instant;

use clap::CommandFactory;
use splatpress::encode::plas::{PlasOptions, Quality};
use splatpress::{Error, Result, Scene, encode, eval, io, stats};

use super::progress::Reporter;
use super::{Cli, CompressArgs, OrderArg, PlasQualityArg, SampleArgs};

/// Default lossless WebP effort (see BENCHMARKS.md for the size/time trade-off).
pub const DEFAULT_WEBP_EFFORT: u8 = 4;

fn usage_error(message: &str) -> ! {
    Cli::command()
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

fn print_json(value: &serde_json::Value) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| Error::io("<stdout>", e.into()))?;
    writeln!(out).map_err(|e| Error::io("<stdout>", e))
}

fn print_text(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("<stdout>", e))
}

/// Size on disk of a file, or of a SOG folder form (meta.json plus the files it names).
fn size_on_disk(path: &Path) -> u64 {
    let meta_path = if path.is_dir() {
        path.join("meta.json")
    } else {
        path.to_path_buf()
    };
    let own = std::fs::metadata(&meta_path).map(|m| m.len()).unwrap_or(0);
    if !meta_path.to_string_lossy().ends_with(".json") {
        return own;
    }
    let dir = meta_path.parent().unwrap_or(Path::new("."));
    let named: Vec<String> = std::fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<io::sog::Meta>(&b).ok())
        .map(|m| m.files().into_iter().map(String::from).collect())
        .unwrap_or_default();
    own + named
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>()
}

/// Reads and sanitises an input, telling the user what was dropped or repaired.
fn read_clean(path: &Path, reporter: &Reporter) -> Result<(Scene, splatpress::scene::Sanitized)> {
    let start = Instant::now();
    let raw = io::read(path)?;
    let (scene, report) = raw.sanitize();
    reporter.line(&format!(
        "read {}: {} splats, {} SH bands ({:.2} s)",
        path.display(),
        raw.len(),
        raw.sh_bands,
        start.elapsed().as_secs_f64()
    ));
    let dropped = [
        (report.dropped_position, "a NaN or infinite position"),
        (report.dropped_opacity, "a NaN opacity"),
        (report.dropped_scale, "a NaN or +inf scale"),
        (report.dropped_color, "a NaN or infinite colour/SH value"),
        (report.dropped_rotation, "a NaN or infinite rotation"),
    ];
    for (count, why) in dropped {
        if count > 0 {
            reporter.line(&format!("  dropped {count} splats with {why}"));
        }
    }
    if report.zero_rotations > 0 {
        reporter.line(&format!(
            "  {} zero-length quaternions replaced by the identity rotation",
            report.zero_rotations
        ));
    }
    if scene.is_empty() {
        let why = if raw.is_empty() {
            "the file holds no splats".to_string()
        } else {
            format!("all {} splats were dropped as invalid", raw.len())
        };
        return Err(Error::parse(
            path,
            "splats",
            format!("nothing to compress: {why}"),
        ));
    }
    Ok((scene, report))
}

pub fn compress(args: CompressArgs) -> Result<()> {
    let reporter = Reporter::new(args.quiet || args.json);
    let (input, output) = match (args.sample, args.paths.as_slice()) {
        (true, [out]) => (None, out.as_path()),
        (false, [input, out]) => (Some(input.as_path()), out.as_path()),
        (true, _) => usage_error("with --sample, give only OUTPUT"),
        (false, _) => usage_error("give INPUT and OUTPUT, or --sample OUTPUT"),
    };
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(Error::output(
            output,
            format!("folder {} does not exist", parent.display()),
        ));
    }
    if input.is_some_and(|i| i == output) {
        return Err(Error::output(output, "output would overwrite the input"));
    }
    let start = Instant::now();
    let (scene, sanitized) = match input {
        Some(path) => read_clean(path, &reporter)?,
        None => {
            let s = splatpress::sample::scene(
                args.sample_args.count,
                args.sample_args.bands,
                args.seed,
            );
            reporter.line(&format!(
                "sample scene: {} splats, {} SH bands",
                s.len(),
                s.sh_bands
            ));
            s.sanitize()
        }
    };
    if scene.is_empty() {
        return Err(Error::Scene(
            "the sample scene needs at least one splat (--count)".into(),
        ));
    }
    let options = encode::Options {
        sh_iterations: args.sh_iterations,
        sh_bands: args.sh_bands,
        seed: args.seed,
        order: order(args.order, args.plas_quality),
    };
    let (sog, mut report) = splatpress::compress(&scene, &options, args.backend, &reporter)?;
    let write_start = Instant::now();
    let written = io::sog::write(output, &sog, args.webp_effort)?;
    report
        .stages
        .push(("write".into(), write_start.elapsed().as_secs_f64()));
    reporter.line(&format!(
        "  {:10} {:.2} s",
        "write",
        write_start.elapsed().as_secs_f64()
    ));
    let seconds = start.elapsed().as_secs_f64();
    let input_bytes = input.map(size_on_disk);
    if args.json {
        return print_json(&serde_json::json!({
            "input": input.map(|p| p.display().to_string()),
            "input_bytes": input_bytes,
            "output": output.display().to_string(),
            "sanitized": sanitized,
            "encoder": report,
            "written": written,
            "seconds": seconds,
        }));
    }
    if args.quiet {
        return Ok(());
    }
    let per_splat = written.total_bytes as f64 / scene.len() as f64;
    let mut text = format!(
        "wrote {}: {} bytes, {:.2} bytes/splat, {}x{} texels, {} SH bands, palette {}",
        output.display(),
        written.total_bytes,
        per_splat,
        report.width,
        report.height,
        report.sh_bands,
        report.palette
    );
    if let Some(bytes) = input_bytes.filter(|b| *b > 0) {
        text += &format!(
            ", {:.1}x smaller than the input",
            bytes as f64 / written.total_bytes as f64
        );
    }
    text += &format!(" in {seconds:.1} s\n");
    for (name, bytes) in &written.files {
        text += &format!("  {name:20} {bytes:>10}\n");
    }
    print_text(&text)
}

pub fn decode(input: &Path, output: &Path) -> Result<()> {
    let scene = io::read(input)?;
    io::ply::write(output, &scene)?;
    eprintln!(
        "wrote {}: {} splats, {} SH bands",
        output.display(),
        scene.len(),
        scene.sh_bands
    );
    Ok(())
}

pub fn eval(original: &Path, compressed: &Path, json: bool) -> Result<()> {
    let reporter = Reporter::new(json);
    let (source, _) = read_clean(original, &reporter)?;
    let decoded = io::read(compressed)?;
    let mut evaluation = eval::evaluate(&source, &decoded)?;
    evaluation.sizes = Some(eval::sizes(
        size_on_disk(original),
        size_on_disk(compressed),
        decoded.len(),
    ));
    if json {
        print_json(&serde_json::to_value(&evaluation).map_err(|e| Error::Scene(e.to_string()))?)
    } else {
        print_text(&evaluation.table())
    }
}

pub fn info(input: &Path, json: bool) -> Result<()> {
    // SOG inputs are also checked against the engine's rules (sog-format.md §5.4).
    let (scene, conformance) = if io::detect(input)? == io::Format::Sog {
        let sog = io::sog::read(input)?;
        let problems = io::sog::check::check(&sog);
        let scene = io::sog::decode::decode(&sog).map_err(|m| Error::parse(input, "SOG", m))?;
        (scene, Some(problems))
    } else {
        (io::read(input)?, None)
    };
    let summary = stats::stats(&scene);
    if json {
        let mut value = serde_json::to_value(&summary).map_err(|e| Error::Scene(e.to_string()))?;
        if let (Some(problems), Some(map)) = (&conformance, value.as_object_mut()) {
            map.insert(
                "sog_conformance_problems".into(),
                serde_json::json!(problems),
            );
        }
        return print_json(&value);
    }
    let mut text = summary.table();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match conformance {
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
    print_text(&text)
}

pub fn sample(output: &Path, args: &SampleArgs) -> Result<()> {
    let scene = splatpress::sample::scene(args.count, args.bands, 0);
    io::ply::write(output, &scene)?;
    eprintln!(
        "wrote {}: {} splats, {} SH bands",
        output.display(),
        scene.len(),
        scene.sh_bands
    );
    Ok(())
}

pub fn devices(json: bool) -> Result<()> {
    use splatpress::backend::select::{self, Choice};
    use splatpress::backend::wgpu;
    let adapters = wgpu::adapters();
    let backends: Vec<serde_json::Value> = [Choice::Cuda, Choice::Wgpu, Choice::Cpu]
        .into_iter()
        .map(|which| match select::open(which, true) {
            Ok(b) => serde_json::json!({"backend": which.name(), "available": true, "device": b.describe()}),
            Err(e) => serde_json::json!({"backend": which.name(), "available": false, "reason": select::reason(&e)}),
        })
        .collect();
    let auto = select::select(Choice::Auto)?.0.name();
    let cuda = splatpress::backend::cuda::devices();
    if json {
        let cuda_devices = match &cuda {
            Ok(list) => serde_json::json!(list),
            Err(e) => serde_json::json!({"error": select::reason(e)}),
        };
        return print_json(&serde_json::json!({
            "backends": backends, "cuda_devices": cuda_devices, "wgpu_adapters": adapters, "auto": auto
        }));
    }
    let mut text = String::from("backends:\n");
    for b in &backends {
        let line = if b["available"] == true {
            format!(
                "  {:5} available: {}\n",
                b["backend"].as_str().unwrap_or(""),
                b["device"].as_str().unwrap_or("")
            )
        } else {
            format!(
                "  {:5} unavailable: {}\n",
                b["backend"].as_str().unwrap_or(""),
                b["reason"].as_str().unwrap_or("")
            )
        };
        text += &line;
    }
    match &cuda {
        Ok(list) => {
            text += &format!("cuda devices ({}):\n", list.len());
            for d in list {
                text += &format!(
                    "  {}: {} (compute {}, {} MiB, {} SMs) driver {} (CUDA {}), mode {}, PTX {}\n",
                    d.ordinal,
                    d.name,
                    d.compute_capability,
                    d.memory_bytes >> 20,
                    d.multiprocessors,
                    d.driver_version.as_deref().unwrap_or("?"),
                    d.driver_cuda_version,
                    d.compute_mode,
                    if d.ptx_loads {
                        "loads".to_string()
                    } else {
                        "does NOT load".to_string()
                    },
                );
            }
        }
        Err(e) => text += &format!("cuda devices: none ({})\n", select::reason(e)),
    }
    text += &format!("wgpu adapters ({}):\n", adapters.len());
    for a in &adapters {
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
    text += &format!("--backend auto would choose: {auto}\n");
    print_text(&text)
}

/// The encoder's order for `--order` and `--plas-quality`.
fn order(order: OrderArg, quality: PlasQualityArg) -> encode::Order {
    match order {
        OrderArg::Morton => encode::Order::Morton,
        OrderArg::Plas => encode::Order::Plas(PlasOptions {
            quality: match quality {
                PlasQualityArg::Fast => Quality::Fast,
                PlasQualityArg::Default => Quality::Default,
                PlasQualityArg::Best => Quality::Best,
            },
            ..PlasOptions::default()
        }),
    }
}
