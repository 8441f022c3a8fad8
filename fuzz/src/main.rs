//! splatpress-fuzz: a mutation fuzzer for every splatpress reader, on stable Rust.
//!
//! Real and generated seed files are mutated (bit flips, interesting values, truncations,
//! PLY header edits, meta.json and glTF JSON edits, huge counts in binary headers, ZIP header
//! fields, repacked ZIP entries, recompressed SPZ streams) and read through
//! `splatpress::formats::read` in worker processes, each case under an allocation cap and a
//! time limit. A panic, an inconsistent scene, a hang, an allocation past the cap or a crash is
//! a finding, saved under `<out>/findings/<reader>/` with how it was made.
//!
//! ```text
//! splatpress-fuzz [--seconds N] [--jobs J] [--reader NAME]... [--out DIR] [--data DIR]
//!                 [--timeout S] [--cap-mib M] [--seed S] [--json]
//! splatpress-fuzz --replay PATH              read one file (or SOG folder) under the guards
//! splatpress-fuzz --reproduce READER SEED    rebuild case SEED from the seeds under --out
//! splatpress-fuzz --list                     the readers
//! ```
//!
//! `cargo xtask fuzz` builds this binary and runs it with `--out <target>/fuzz` and
//! `--data ../shared/data`.

mod case;
mod containers;
mod driver;
mod edits;
mod findings;
mod guard;
mod mutate;
mod readers;
mod rng;
mod seeds;
mod stats;
mod worker;

use std::path::PathBuf;
use std::time::Duration;

#[global_allocator]
static ALLOC: guard::Counting = guard::Counting;

/// Address-space ceiling of a worker (catches C allocations the counting allocator cannot see).
const ADDRESS_SPACE: u64 = 8 << 30;

const USAGE: &str = "\
usage: splatpress-fuzz [--seconds N] [--jobs J] [--reader NAME]... [--out DIR] [--data DIR]
                       [--timeout S] [--cap-mib M] [--seed S] [--json]
       splatpress-fuzz --replay PATH [--timeout S] [--cap-mib M]
       splatpress-fuzz --reproduce READER CASE_SEED [--out DIR] [--data DIR]
       splatpress-fuzz --list

  --seconds N    wall-clock seconds of fuzzing, split evenly over the readers (default 120)
  --jobs J       worker processes at once (default: available cores)
  --reader NAME  fuzz only this reader (repeatable; see --list)
  --out DIR      seeds, findings and summary.json (default target/fuzz)
  --data DIR     shared real scenes used as seeds when present (default ../shared/data)
  --timeout S    per-case time limit in seconds (default 10)
  --cap-mib M    allocation cap of a case: M MiB + 32 x its input bytes (default 512)
  --seed S       seed of the run (default: from the clock); cases are named by their own seed
  --json         print the summary as JSON
Exit status: 0 nothing found, 1 findings, 2 usage or setup error.";

fn main() {
    std::process::exit(run(std::env::args().skip(1).collect()));
}

fn run(args: Vec<String>) -> i32 {
    let mut settings = driver::Settings {
        seconds: 120.0,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        readers: Vec::new(),
        out: PathBuf::from("target/fuzz"),
        data: Some(PathBuf::from("../shared/data")),
        timeout: Duration::from_secs(10),
        cap_mib: 512,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        json: false,
    };
    let mut worker: Option<String> = None;
    let mut work = PathBuf::new();
    let mut case_seed = 0u64;
    let mut replay: Option<PathBuf> = None;
    let mut reproduce: Option<(String, u64)> = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let parsed: Result<(), String> = (|| {
            match arg.as_str() {
                "--seconds" => settings.seconds = number(&value("--seconds")?)?,
                "--jobs" => settings.jobs = number::<usize>(&value("--jobs")?)?.max(1),
                "--reader" => settings.readers.push(value("--reader")?),
                "--out" => settings.out = PathBuf::from(value("--out")?),
                "--data" => settings.data = Some(PathBuf::from(value("--data")?)),
                "--timeout" => {
                    settings.timeout = Duration::from_secs_f64(number(&value("--timeout")?)?)
                }
                "--cap-mib" => settings.cap_mib = number(&value("--cap-mib")?)?,
                "--seed" => settings.seed = number(&value("--seed")?)?,
                "--json" => settings.json = true,
                "--worker" => worker = Some(value("--worker")?),
                "--work" => work = PathBuf::from(value("--work")?),
                "--case-seed" => case_seed = number(&value("--case-seed")?)?,
                "--replay" => replay = Some(PathBuf::from(value("--replay")?)),
                "--reproduce" => {
                    let reader = value("--reproduce")?;
                    let seed = value("--reproduce")?;
                    let seed = match seed.strip_prefix("0x") {
                        Some(hex) => u64::from_str_radix(hex, 16)
                            .map_err(|e| format!("case seed `{seed}`: {e}"))?,
                        None => number(&seed)?,
                    };
                    reproduce = Some((reader, seed));
                }
                "--list" => {
                    for r in readers::READERS {
                        println!("{}", r.name);
                    }
                    for (name, why) in readers::PENDING {
                        println!("{name} (not applicable yet: {why})");
                    }
                    std::process::exit(0);
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument `{other}`")),
            }
            Ok(())
        })();
        if let Err(m) = parsed {
            eprintln!("splatpress-fuzz: {m}\n{USAGE}");
            return 2;
        }
    }
    if settings.data.as_ref().is_some_and(|d| !d.is_dir()) {
        settings.data = None;
    }
    if let Some(path) = replay {
        return worker::replay(&path, settings.timeout, settings.cap_mib);
    }
    if let Some((reader, seed)) = reproduce {
        return worker::reproduce(
            &reader,
            seed,
            &settings.out,
            settings.data.as_deref(),
            settings.timeout,
            settings.cap_mib,
        );
    }
    if let Some(name) = worker {
        let Some(reader) = readers::by_name(&name) else {
            eprintln!("splatpress-fuzz: unknown reader `{name}`");
            return 2;
        };
        guard::limit_address_space(ADDRESS_SPACE);
        return worker::run(&worker::Job {
            reader,
            seconds: settings.seconds,
            base: case_seed,
            out: settings.out,
            work,
            data: settings.data,
            timeout: settings.timeout,
            cap_mib: settings.cap_mib,
        });
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("splatpress-fuzz: cannot find my own executable: {e}");
            return 2;
        }
    };
    driver::run(&settings, &exe)
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| format!("`{text}`: {e}"))
}
