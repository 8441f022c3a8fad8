//! The driver: generates the seeds, splits the time over the readers, runs `jobs` worker
//! processes at once (restarting after a hang, an over-allocation or a crash, whose case it
//! saves), merges the counters, prints a table and writes `<out>/summary.json`.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::findings;
use crate::guard::{EXIT_ALLOC, EXIT_TIMEOUT};
use crate::readers::{self, PENDING, Reader};
use crate::rng::mix;
use crate::seeds;
use crate::stats::Stats;
use crate::worker::{self, CASE_DIR, DONE_JSON};

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Wall-clock seconds of fuzzing (seed generation not included).
    pub seconds: f64,
    /// Worker processes at once.
    pub jobs: usize,
    /// Readers to fuzz (all when empty).
    pub readers: Vec<String>,
    /// Output folder: seeds, findings, summary.json.
    pub out: PathBuf,
    /// Shared real data, if present.
    pub data: Option<PathBuf>,
    /// Per-case time limit.
    pub timeout: Duration,
    /// Fixed part of the allocation cap, MiB.
    pub cap_mib: usize,
    /// Seed of the whole run.
    pub seed: u64,
    /// Print the summary as JSON instead of a table.
    pub json: bool,
}

/// Longest time one worker process runs before a fresh one takes over.
const SLICE_SECONDS: f64 = 60.0;

/// A slice of a reader's time, waiting for a slot.
struct Task {
    reader: &'static Reader,
    seconds: f64,
}

/// A running worker.
struct Running {
    task: Task,
    child: Child,
    work: PathBuf,
    started: Instant,
}

/// Runs the whole fuzzing session; returns the exit code (0 clean, 1 findings, 2 usage).
pub fn run(settings: &Settings, exe: &Path) -> i32 {
    let chosen: Vec<&'static Reader> = if settings.readers.is_empty() {
        readers::READERS.iter().collect()
    } else {
        let mut v = Vec::new();
        for name in &settings.readers {
            match readers::by_name(name) {
                Some(r) => v.push(r),
                None => {
                    let known: Vec<&str> = readers::READERS.iter().map(|r| r.name).collect();
                    eprintln!(
                        "splatpress-fuzz: unknown reader `{name}` (known: {})",
                        known.join(", ")
                    );
                    return 2;
                }
            }
        }
        v
    };
    let seeds_dir = settings.out.join("seeds");
    let t0 = Instant::now();
    let generated = seeds::generate(&chosen, &seeds_dir);
    eprintln!(
        "splatpress-fuzz: seeds generated in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let mut skipped: BTreeMap<&str, String> = BTreeMap::new();
    let mut seed_counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut active = Vec::new();
    for (reader, (_, made)) in chosen.iter().zip(&generated) {
        let n = seeds::load(reader, &seeds_dir, settings.data.as_deref()).len();
        seed_counts.insert(reader.name, n);
        if n == 0 {
            let why = match made {
                Err(e) => format!("no seeds: the writer failed ({e})"),
                Ok(_) => "no seeds".to_string(),
            };
            skipped.insert(reader.name, why);
        } else {
            if let Err(e) = made {
                eprintln!(
                    "splatpress-fuzz: {}: generated seeds failed ({e}); shared seeds only",
                    reader.name
                );
            }
            active.push(*reader);
        }
    }
    let mut stats: BTreeMap<&str, Stats> =
        active.iter().map(|r| (r.name, Stats::default())).collect();
    let mut queue = schedule(&active, settings.seconds, settings.jobs);
    let scratch = scratch_dir();
    let mut running: Vec<Running> = Vec::new();
    let mut started = 0u64;
    let start = Instant::now();
    eprintln!(
        "splatpress-fuzz: {} readers, {} jobs, {:.0} s, run seed {}; findings in {}",
        active.len(),
        settings.jobs,
        settings.seconds,
        settings.seed,
        settings.out.join("findings").display()
    );
    while !queue.is_empty() || !running.is_empty() {
        while running.len() < settings.jobs
            && start.elapsed().as_secs_f64() < settings.seconds + 5.0
        {
            let Some(task) = queue.pop_front() else { break };
            started += 1;
            let work = scratch.join(format!("w{started}"));
            let base = mix(settings.seed ^ mix(started)) & !0xffff_ffff;
            match spawn(exe, settings, &task, &work, base) {
                Ok(child) => running.push(Running {
                    task,
                    child,
                    work,
                    started: Instant::now(),
                }),
                Err(e) => {
                    eprintln!("splatpress-fuzz: cannot start a worker: {e}");
                    return 2;
                }
            }
        }
        if running.is_empty() && start.elapsed().as_secs_f64() >= settings.seconds + 5.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        let mut i = 0;
        while i < running.len() {
            let limit = running[i].task.seconds + settings.timeout.as_secs_f64() + 15.0;
            let status = match running[i].child.try_wait() {
                Ok(Some(status)) => Some(status.code()),
                Ok(None) if running[i].started.elapsed().as_secs_f64() > limit => {
                    let _ = running[i].child.kill();
                    let _ = running[i].child.wait();
                    Some(Some(EXIT_TIMEOUT))
                }
                Ok(None) => None,
                Err(_) => Some(None),
            };
            let Some(code) = status else {
                i += 1;
                continue;
            };
            let done = running.swap_remove(i);
            let elapsed = done.started.elapsed().as_secs_f64();
            let reader = done.task.reader;
            let entry = stats
                .get_mut(reader.name)
                .expect("stats for every active reader");
            if let Some(rest) = finish(settings, &done.task, code, &done.work, elapsed, entry)
                && rest > 1.0
            {
                queue.push_front(Task {
                    reader,
                    seconds: rest,
                });
            }
            let _ = std::fs::remove_dir_all(&done.work);
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    report(
        settings,
        &stats,
        &skipped,
        &seed_counts,
        start.elapsed().as_secs_f64(),
    )
}

/// Splits `seconds × jobs` worker-seconds evenly over the readers, in slices of at most a
/// minute, interleaved so that every reader gets going early. The number of slices is a
/// multiple of `jobs`, so that every slot stays busy to the end.
fn schedule(readers: &[&'static Reader], seconds: f64, jobs: usize) -> VecDeque<Task> {
    let mut queue = VecDeque::new();
    if readers.is_empty() {
        return queue;
    }
    let each = seconds * jobs as f64 / readers.len() as f64;
    let step = jobs / gcd(jobs, readers.len());
    let at_least = (each / SLICE_SECONDS).ceil().max(1.0) as usize;
    let slices = at_least.div_ceil(step) * step;
    for _ in 0..slices {
        for &reader in readers {
            queue.push_back(Task {
                reader,
                seconds: each / slices as f64,
            });
        }
    }
    queue
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

/// A scratch folder in memory when possible: /dev/shm, else the temp dir.
fn scratch_dir() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("splatpress-fuzz-{}", std::process::id()))
}

fn spawn(exe: &Path, s: &Settings, task: &Task, work: &Path, base: u64) -> std::io::Result<Child> {
    std::fs::create_dir_all(work)?;
    let log = std::fs::File::create(work.join("stderr.log"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--worker")
        .arg(task.reader.name)
        .args(["--seconds", &format!("{:.3}", task.seconds)])
        .args(["--case-seed", &base.to_string()])
        .arg("--out")
        .arg(&s.out)
        .arg("--work")
        .arg(work)
        .args(["--timeout", &s.timeout.as_secs_f64().to_string()])
        .args(["--cap-mib", &s.cap_mib.to_string()]);
    if let Some(data) = &s.data {
        cmd.arg("--data").arg(data);
    }
    // One rayon thread a worker: the jobs are the parallelism, and a case's time is its own.
    cmd.env("RAYON_NUM_THREADS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
}

/// Merges a finished worker's counters; for a guard exit or crash, saves the case and returns
/// the time left of the slice (to run on a fresh worker).
fn finish(
    s: &Settings,
    task: &Task,
    code: Option<i32>,
    work: &Path,
    elapsed: f64,
    stats: &mut Stats,
) -> Option<f64> {
    let reader = task.reader;
    if code == Some(0)
        && let Some(v) = std::fs::read_to_string(work.join(DONE_JSON))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
    {
        stats.merge(&Stats::from_json(&v));
        return None;
    }
    let stderr = std::fs::read_to_string(work.join("stderr.log")).unwrap_or_default();
    let tail: String = stderr
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    let Some((mut before, log)) = worker::read_progress(work) else {
        eprintln!(
            "splatpress-fuzz: a {} worker exited ({code:?}) before its first case:\n{tail}",
            reader.name
        );
        stats.finding(
            "crash",
            format!("worker exited {code:?} before its first case"),
        );
        return None;
    };
    let kind = match code {
        Some(EXIT_ALLOC) => "alloc",
        Some(EXIT_TIMEOUT) => "timeout",
        _ => "crash",
    };
    before.cases += 1;
    before.seconds = elapsed;
    before.workers = 1;
    let signature = match kind {
        "crash" => format!(
            "crash (exit {code:?}): {}",
            tail.lines().last().unwrap_or("")
        ),
        other => other.to_string(),
    };
    before.finding(kind, signature.clone());
    stats.merge(&before);
    let files = findings::read_case_dir(&work.join(CASE_DIR), worker::first_file(reader));
    let description = format!("worker stderr:\n{tail}\n\n{log}");
    let saved = findings::save(&s.out, reader, kind, &signature, &files, &description);
    eprintln!(
        "splatpress-fuzz: {}: {kind} finding{}",
        reader.name,
        saved
            .map(|p| format!(" saved as {}", p.display()))
            .unwrap_or_default()
    );
    Some((task.seconds - elapsed).max(0.0))
}

/// Prints the table (or JSON), writes summary.json; returns 1 when anything was found.
fn report(
    s: &Settings,
    stats: &BTreeMap<&str, Stats>,
    skipped: &BTreeMap<&str, String>,
    seeds: &BTreeMap<&str, usize>,
    wall: f64,
) -> i32 {
    let mut total = Stats::default();
    for st in stats.values() {
        total.merge(st);
    }
    let summary = json!({
        "seconds": s.seconds,
        "wall_seconds": wall,
        "jobs": s.jobs,
        "timeout": format!("{} s + 1 s per 4 MiB of input", s.timeout.as_secs_f64()),
        "cap": format!("{} MiB + 32 x input bytes", s.cap_mib),
        "seed": s.seed,
        "readers": stats.iter().map(|(k, v)| {
            let mut j = v.to_json();
            j["seeds"] = json!(seeds.get(k));
            (k.to_string(), j)
        }).collect::<BTreeMap<_, _>>(),
        "skipped": skipped,
        "not_applicable": PENDING.iter().map(|(n, why)| (n.to_string(), why.to_string())).collect::<BTreeMap<_, _>>(),
        "total": total.to_json(),
    });
    let _ = std::fs::create_dir_all(&s.out);
    let path = s.out.join("summary.json");
    let _ = std::fs::write(
        &path,
        serde_json::to_string_pretty(&summary).unwrap_or_default(),
    );
    if s.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    } else {
        println!(
            "\n{:<15} {:>6} {:>9} {:>7} {:>9} {:>9} {:>8} {:>9}  findings",
            "reader", "seeds", "cases", "ok", "err", "unnamed", "peak MiB", "slow ms"
        );
        for (name, st) in stats {
            let found = if st.findings.is_empty() {
                "none".to_string()
            } else {
                st.findings
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "{name:<15} {:>6} {:>9} {:>7} {:>9} {:>9} {:>8.1} {:>9}  {found}",
                seeds.get(name).copied().unwrap_or(0),
                st.cases,
                st.ok,
                st.err,
                st.err_unnamed,
                st.peak_bytes as f64 / (1 << 20) as f64,
                st.slowest_ms
            );
        }
        for (name, why) in skipped {
            println!("{name:<15} skipped: {why}");
        }
        for (name, why) in PENDING {
            println!("{name:<15} not applicable yet: {why}");
        }
        println!(
            "{:<15} {:>6} {:>9} {:>7} {:>9} {:>9}",
            "total", "", total.cases, total.ok, total.err, total.err_unnamed
        );
        for (name, st) in stats {
            for (sig, n) in &st.signatures {
                println!("  {name}: {n} x {sig}");
            }
            if let Some(m) = &st.err_unnamed_example {
                println!("  {name}: an error that does not name the file: {m}");
            }
        }
        println!("summary: {}", path.display());
    }
    i32::from(total.total_findings() > 0)
}
