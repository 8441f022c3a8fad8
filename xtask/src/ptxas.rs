//! `--validate`: the committed PTX's headers, and every module assembled by each ptxas for
//! each of [`PTXAS_ARCHS`] (in parallel), with per-kernel registers and shared memory.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ptx::{PTX_ISA, PTX_TARGET, PTXAS_ARCHS, header_problem, ptx_files, run_tool};

/// One ptxas binary and the version it reported (checked against the wheel it came from).
pub struct Ptxas {
    path: PathBuf,
    version: &'static str,
}

impl Ptxas {
    /// Checks that `ptxas --version` at `path` reports `V{version}`.
    pub fn new(path: PathBuf, version: &'static str) -> Result<Self, String> {
        let out = run_tool(
            Command::new(&path).arg("--version"),
            &format!("{} --version", path.display()),
        )?;
        if !out.contains(&format!("V{version}")) {
            return Err(format!(
                "{} is not ptxas {version}: it says\n{}",
                path.display(),
                out.trim()
            ));
        }
        Ok(Ptxas { path, version })
    }
}

/// Checks every committed module's header, then assembles it with each ptxas for each of
/// [`PTXAS_ARCHS`]; reports every failure before failing.
pub fn validate_with_ptxas(
    assemblers: &[Ptxas],
    root: &Path,
    out_dir: &Path,
) -> Result<(), String> {
    let files = ptx_files(out_dir)?;
    if files.is_empty() {
        return Err(format!("no PTX in {}", out_dir.display()));
    }
    let mut failures = Vec::new();
    for file in &files {
        let shown = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("reading {}: {e}", file.display()))?;
        match header_problem(&text) {
            None => println!("header {shown}: .version {PTX_ISA}, .target {PTX_TARGET}: ok"),
            Some(problem) => {
                println!("header {shown}: FAILED: {problem}");
                failures.push(format!("{shown}: {problem}"));
            }
        }
    }
    // Every (ptxas, module, arch) job, assembled on all cores; reported in this order.
    let jobs: Vec<(usize, &Path, &str)> = (0..assemblers.len())
        .flat_map(|a| {
            files
                .iter()
                .flat_map(move |f| PTXAS_ARCHS.map(|arch| (a, f.as_path(), arch)))
        })
        .collect();
    let results = run_parallel(&jobs, |&(a, file, arch)| {
        run_tool(
            Command::new(&assemblers[a].path)
                .arg(format!("-arch={arch}"))
                .arg("-v")
                .arg(file)
                .args(["-o", "/dev/null"]),
            &format!(
                "ptxas {} -arch={arch} {}",
                assemblers[a].version,
                file.display()
            ),
        )
    });
    for (&(a, file, arch), result) in jobs.iter().zip(results) {
        let version = assemblers[a].version;
        let shown = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        let report = match result {
            Ok(report) => report,
            Err(error) => {
                println!("ptxas {version} {shown} {arch}: FAILED");
                eprintln!("{}", first_lines(&error, 12));
                failures.push(format!("ptxas {version} {shown} {arch}"));
                continue;
            }
        };
        println!("ptxas {version} {shown} {arch}: ok");
        // Per-kernel resources only from the last (newest) ptxas, to keep the log short.
        if a + 1 != assemblers.len() {
            continue;
        }
        // Per kernel: its name, then registers / shared memory / spills.
        let mut kernel = String::new();
        for line in report.lines() {
            if let Some(rest) = line.split("Compiling entry function '").nth(1) {
                kernel = rest.split('\'').next().unwrap_or("").to_string();
            } else if line.contains("Used") || line.contains("spill") {
                let info = line.split(" : ").nth(1).unwrap_or(line).trim();
                println!("  {kernel}: {info}");
            }
        }
    }
    if !failures.is_empty() {
        return Err(format!(
            "PTX validation failed ({} of {} checks): {}",
            failures.len(),
            files.len() * (1 + assemblers.len() * PTXAS_ARCHS.len()),
            failures.join("; ")
        ));
    }
    println!(
        "ptx: {} module(s) declare ISA {PTX_ISA} and assemble with ptxas {} for {}",
        files.len(),
        assemblers
            .iter()
            .map(|p| p.version)
            .collect::<Vec<_>>()
            .join(" and "),
        PTXAS_ARCHS.join(" and ")
    );
    Ok(())
}

/// The first `n` lines of `text`, and how many were left out.
fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= n {
        return text.trim_end().to_string();
    }
    format!(
        "{}\n… ({} more lines)",
        lines[..n].join("\n"),
        lines.len() - n
    )
}

/// `work` applied to every job on up to `available_parallelism` threads; results in job order.
fn run_parallel<J: Sync, R: Send>(jobs: &[J], work: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(jobs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        done.push((i, work(job)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("ptxas worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
