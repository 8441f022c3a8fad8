//! A worker process: fuzzes one reader for a time slice. Before each case it writes the case's
//! files and `case.txt` (the counters so far, then how the case was made) into its work folder,
//! so that when a guard ends the process the driver knows what ran and saves it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::case::{self, Outcome};
use crate::findings;
use crate::readers::{self, Form, Reader};
use crate::seeds;
use crate::stats::Stats;

/// What a worker is asked to do.
#[derive(Debug, Clone)]
pub struct Job {
    /// The reader fuzzed.
    pub reader: &'static Reader,
    /// Seconds to run.
    pub seconds: f64,
    /// Case `i` uses seed `base + i`.
    pub base: u64,
    /// The run's output folder (seeds, findings).
    pub out: PathBuf,
    /// Where the worker's files go.
    pub work: PathBuf,
    /// Shared real data, if any.
    pub data: Option<PathBuf>,
    /// Per-case time limit.
    pub timeout: Duration,
    /// Fixed part of the allocation cap, MiB.
    pub cap_mib: usize,
}

/// The name of the progress file in a work folder.
pub const CASE_TXT: &str = "case.txt";
/// The name of the final counters in a work folder.
pub const DONE_JSON: &str = "done.json";
/// The case folder inside a work folder.
pub const CASE_DIR: &str = "case";

/// Runs the job; returns the process's exit code (0, or 1 when it could not start).
pub fn run(job: &Job) -> i32 {
    let seeds = seeds::load(job.reader, &job.out.join("seeds"), job.data.as_deref());
    if seeds.is_empty() {
        eprintln!("splatpress-fuzz: no seeds for reader {}", job.reader.name);
        return 1;
    }
    case::quiet_panics();
    crate::guard::start_watchdog();
    let start = Instant::now();
    let mut stats = Stats {
        workers: 1,
        ..Stats::default()
    };
    let case_dir = job.work.join(CASE_DIR);
    let mut i = 0u64;
    while start.elapsed().as_secs_f64() < job.seconds {
        let case_seed = job.base.wrapping_add(i);
        i += 1;
        let case = case::make(job.reader, &seeds, case_seed);
        let path = match case::write(job.reader, &case, &case_dir) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("splatpress-fuzz: cannot write the case: {e}");
                return 1;
            }
        };
        stats.seconds = start.elapsed().as_secs_f64();
        if write_progress(&job.work, &stats, &case.log).is_err() {
            eprintln!(
                "splatpress-fuzz: cannot write {}",
                job.work.join(CASE_TXT).display()
            );
            return 1;
        }
        let bytes: usize = case.files.iter().map(|(_, b)| b.len()).sum();
        let (outcome, peak, took) = case::read(
            &path,
            case::cap_for(bytes, job.cap_mib),
            case::limit_for(bytes, job.timeout),
        );
        stats.cases += 1;
        if peak as u64 > stats.peak_bytes {
            stats.peak_bytes = peak as u64;
            stats.peak_case = Some(format!("{case_seed:#018x}"));
        }
        stats.slowest_ms = stats.slowest_ms.max(took.as_millis() as u64);
        match outcome {
            Outcome::Ok => stats.ok += 1,
            Outcome::Err { message, named } => {
                stats.err += 1;
                if !named {
                    stats.err_unnamed += 1;
                    stats.err_unnamed_example.get_or_insert(message);
                }
            }
            Outcome::Panic { message, location } => {
                let signature = format!("panic at {location}: {}", first_line(&message));
                record(job, &mut stats, "panic", signature, &case, &message);
            }
            Outcome::BadScene(message) => {
                let signature = format!("bad scene: {message}");
                record(job, &mut stats, "bad-scene", signature, &case, &message);
            }
        }
    }
    stats.seconds = start.elapsed().as_secs_f64();
    let _ = std::fs::write(job.work.join(DONE_JSON), stats.to_json().to_string());
    0
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Counts an in-process finding and saves its input.
fn record(
    job: &Job,
    stats: &mut Stats,
    kind: &str,
    signature: String,
    case: &case::Case,
    message: &str,
) {
    let description = format!("message: {message}\n\n{}", case.log.join("\n"));
    findings::save(
        &job.out,
        job.reader,
        kind,
        &signature,
        &case.files,
        &description,
    );
    stats.finding(kind, signature);
}

/// Writes `case.txt`: the counters before this case on the first line, then the case's log.
fn write_progress(work: &Path, stats: &Stats, log: &[String]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(work.join(CASE_TXT))?;
    writeln!(f, "{}", stats.to_json())?;
    for line in log {
        writeln!(f, "{line}")?;
    }
    Ok(())
}

/// Reads `case.txt` back: (counters before the case, the case's log).
pub fn read_progress(work: &Path) -> Option<(Stats, String)> {
    let text = std::fs::read_to_string(work.join(CASE_TXT)).ok()?;
    let (first, rest) = text.split_once('\n')?;
    let value = serde_json::from_str(first).ok()?;
    Some((Stats::from_json(&value), rest.to_string()))
}

/// The name of the file or folder the reader reads in a case folder, for saving it.
pub fn first_file(reader: &Reader) -> &'static str {
    match reader.form {
        Form::File(name) | Form::MetaFile(name) => name,
        Form::Folder => "meta.json",
    }
}

/// Reads `path` once under the guards and prints the outcome (`--replay`); the exit code is 0
/// for Ok or Err, 1 for a panic or an inconsistent scene (a guard exits with its own code).
pub fn replay(path: &Path, timeout: Duration, cap_mib: usize) -> i32 {
    case::quiet_panics();
    crate::guard::start_watchdog();
    let bytes = input_bytes(path);
    let bytes = bytes as usize;
    let (outcome, peak, took) = case::read(
        path,
        case::cap_for(bytes, cap_mib),
        case::limit_for(bytes, timeout),
    );
    let status = match &outcome {
        Outcome::Ok | Outcome::Err { .. } => 0,
        _ => 1,
    };
    println!(
        "{}: {outcome:?} (peak {:.1} MiB above the start, {:.3} s)",
        path.display(),
        peak as f64 / (1 << 20) as f64,
        took.as_secs_f64()
    );
    status
}

/// Bytes of a file, or of the files in a folder (and beside a meta file).
fn input_bytes(path: &Path) -> u64 {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else if path.to_string_lossy().ends_with(".json") {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        return std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    };
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Rebuilds case `case_seed` of `reader` from the seeds under `out` and replays it
/// (`--reproduce`): the same seeds give the same bytes.
pub fn reproduce(
    reader: &str,
    case_seed: u64,
    out: &Path,
    data: Option<&Path>,
    timeout: Duration,
    cap_mib: usize,
) -> i32 {
    let Some(reader) = readers::by_name(reader) else {
        eprintln!("splatpress-fuzz: unknown reader `{reader}`");
        return 2;
    };
    let seeds = seeds::load(reader, &out.join("seeds"), data);
    if seeds.is_empty() {
        eprintln!(
            "splatpress-fuzz: no seeds for {} under {}",
            reader.name,
            out.join("seeds").display()
        );
        return 2;
    }
    let case = case::make(reader, &seeds, case_seed);
    let dir = out.join("repro").join(reader.name);
    let path = match case::write(reader, &case, &dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("splatpress-fuzz: cannot write {}: {e}", dir.display());
            return 2;
        }
    };
    println!("{}", case.log.join("\n"));
    replay(&path, timeout, cap_mib)
}
