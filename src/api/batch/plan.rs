//! Which scenes a batch compresses and where each output goes: every scene under a folder
//! (outputs mirror the input paths), the lines of a manifest, or a single scene.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::api::Options;
use crate::encode::plas::{PlasOptions, Quality as PlasQuality};
use crate::encode::{Order, Quality};
use crate::formats::FORMATS;
use crate::{Error, Result};

/// One scene of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The scene to compress.
    pub input: PathBuf,
    /// Where its SOG goes.
    pub output: PathBuf,
    /// Settings that differ from the batch's (a manifest's JSON line).
    pub overrides: Overrides,
}

/// Per-scene settings of a JSON-lines manifest; unset fields keep the batch's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub sh_iterations: Option<u32>,
    pub sh_bands: Option<u8>,
    pub seed: Option<u64>,
    pub order: Option<Order>,
    pub webp_effort: Option<u8>,
    /// `--quality`: how much of the error margin is spent on size.
    pub quality: Option<Quality>,
}

impl Overrides {
    /// `base` with these overrides applied.
    pub fn apply(&self, base: &Options) -> Options {
        let mut options = base.clone();
        options.sh_iterations = self.sh_iterations.unwrap_or(base.sh_iterations);
        options.sh_bands = self.sh_bands.or(base.sh_bands);
        options.seed = self.seed.unwrap_or(base.seed);
        options.order = self.order.unwrap_or(base.order);
        options.write.webp_effort = self.webp_effort.unwrap_or(base.write.webp_effort);
        options.quality = self.quality.unwrap_or(base.quality);
        options
    }
}

/// A manifest line in JSON: the input, optionally the output (relative to the output folder)
/// and any of the compress options under their command-line names with `_` for `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestLine {
    input: PathBuf,
    output: Option<PathBuf>,
    sh_iterations: Option<u32>,
    sh_bands: Option<u8>,
    seed: Option<u64>,
    order: Option<String>,
    plas_quality: Option<String>,
    webp_effort: Option<u8>,
    quality: Option<String>,
}

/// The file name every batch writes its summary to, in the output folder.
pub const SUMMARY_NAME: &str = "summary.json";

/// The jobs for `inputs` (a folder, a manifest or one scene) into `output_dir`, in a stable
/// order (sorted paths; manifest order). Fails naming the file, line and field on a bad
/// manifest, and on two scenes that would write the same output.
pub fn plan(inputs: &Path, output_dir: &Path) -> Result<Vec<Job>> {
    let metadata = std::fs::metadata(inputs).map_err(|e| Error::io(inputs, e))?;
    let jobs = if metadata.is_dir() {
        let mut jobs = Vec::new();
        let skip = std::fs::canonicalize(output_dir).ok();
        walk(inputs, inputs, output_dir, skip.as_deref(), &mut jobs)?;
        jobs
    } else if let Some(stem) = scene_stem(inputs) {
        vec![Job {
            input: inputs.to_path_buf(),
            output: output_dir.join(format!("{stem}.sog")),
            overrides: Overrides::default(),
        }]
    } else {
        manifest(inputs, output_dir)?
    };
    check_outputs(&jobs, output_dir)?;
    Ok(jobs)
}

/// The name of a scene file without its format suffix (`x.compressed.ply` → `x`), or `None`
/// when the file is not a scene input (a `meta.json` counts through its folder).
pub fn scene_stem(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_lowercase();
    FORMATS
        .iter()
        .filter(|f| f.reads)
        .flat_map(|f| f.suffixes.iter())
        .filter(|s| **s != ".json")
        .find(|s| lower.ends_with(*s) && lower.len() > s.len())
        .map(|s| name[..name.len() - s.len()].to_string())
}

/// Adds every scene under `dir` (sorted; hidden entries and `skip`, the output folder,
/// left out). A folder holding `meta.json` is one SOG scene.
fn walk(
    root: &Path,
    dir: &Path,
    output_dir: &Path,
    skip: Option<&Path>,
    jobs: &mut Vec<Job>,
) -> Result<()> {
    if dir.join("meta.json").is_file() {
        let rel = dir.strip_prefix(root).unwrap_or(dir);
        let name = match rel.file_name().or(dir.file_name()) {
            Some(name) => name.to_string_lossy().into_owned(),
            None => "scene".into(),
        };
        jobs.push(Job {
            input: dir.to_path_buf(),
            output: output_dir
                .join(rel.parent().unwrap_or(Path::new("")))
                .join(format!("{name}.sog")),
            overrides: Overrides::default(),
        });
        return Ok(());
    }
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        entries.push(entry.path());
    }
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || skip.is_some_and(|s| std::fs::canonicalize(&path).ok().as_deref() == Some(s)) {
            continue;
        }
        // Symbolic links to folders are not followed (no cycles); links to files are.
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if path.is_dir() {
            // The output folder may lie inside the inputs: its SOGs are not inputs.
            let is_output =
                skip.is_some_and(|s| std::fs::canonicalize(&path).ok().as_deref() == Some(s));
            if !is_link && !is_output {
                walk(root, &path, output_dir, skip, jobs)?;
            }
        } else if let Some(stem) = scene_stem(&path) {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            jobs.push(Job {
                output: output_dir
                    .join(rel.parent().unwrap_or(Path::new("")))
                    .join(format!("{stem}.sog")),
                input: path,
                overrides: Overrides::default(),
            });
        }
    }
    Ok(())
}

/// The jobs of a manifest: one scene per line, as a path or a JSON object; blank lines and
/// lines starting with `#` are skipped; relative inputs are relative to the manifest.
fn manifest(path: &Path, output_dir: &Path) -> Result<Vec<Job>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut jobs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let context = format!("line {}", index + 1);
        let parsed: ManifestLine = if line.starts_with('{') {
            serde_json::from_str(line).map_err(|e| Error::parse(path, &context, e.to_string()))?
        } else {
            ManifestLine {
                input: PathBuf::from(line),
                ..ManifestLine::default()
            }
        };
        let input = base.join(&parsed.input);
        let output = match &parsed.output {
            Some(output) => output_dir.join(output),
            None => default_output(&input, base, output_dir)
                .ok_or_else(|| Error::parse(path, &context, "input: not a scene file name (expected .ply, .compressed.ply, .splat, .spz, .glb, .sog or a SOG folder); name the output with \"output\""))?,
        };
        jobs.push(Job {
            input,
            output,
            overrides: overrides(&parsed).map_err(|m| Error::parse(path, &context, m))?,
        });
    }
    if jobs.is_empty() {
        return Err(Error::parse(path, "manifest", "names no scene"));
    }
    Ok(jobs)
}

/// A manifest input's output: its path relative to the manifest's folder (or its file name
/// when it lies elsewhere) with the format suffix replaced by `.sog`.
fn default_output(input: &Path, base: &Path, output_dir: &Path) -> Option<PathBuf> {
    let rel = input
        .strip_prefix(base)
        .ok()
        .filter(|r| !r.as_os_str().is_empty())
        .unwrap_or(Path::new(input.file_name()?));
    let stem = match scene_stem(rel) {
        Some(stem) => stem,
        // A SOG folder, or its meta.json: named after the folder.
        None if input.is_dir() => rel.file_name()?.to_string_lossy().into_owned(),
        None if rel.file_name()? == "meta.json" => {
            let folder = rel.parent()?.file_name()?.to_string_lossy().into_owned();
            let parent = rel.parent()?.parent().unwrap_or(Path::new(""));
            return Some(output_dir.join(parent).join(format!("{folder}.sog")));
        }
        None => return None,
    };
    Some(
        output_dir
            .join(rel.parent().unwrap_or(Path::new("")))
            .join(format!("{stem}.sog")),
    )
}

/// The checked per-scene settings of a JSON line.
fn overrides(line: &ManifestLine) -> std::result::Result<Overrides, String> {
    if line.sh_bands.is_some_and(|b| b > 3) {
        return Err("sh_bands: expected 0 to 3".into());
    }
    if line.webp_effort.is_some_and(|e| e > 9) {
        return Err("webp_effort: expected 0 to 9".into());
    }
    let quality = match line.plas_quality.as_deref() {
        None | Some("default") => PlasQuality::Default,
        Some("fast") => PlasQuality::Fast,
        Some("best") => PlasQuality::Best,
        Some(other) => {
            return Err(format!(
                "plas_quality: unknown `{other}`, expected fast, default or best"
            ));
        }
    };
    let order = match (line.order.as_deref(), &line.plas_quality) {
        (Some("morton"), None) => Some(Order::Morton),
        (Some("plas"), _) => Some(Order::Plas(PlasOptions {
            quality,
            ..PlasOptions::default()
        })),
        (None, None) => None,
        (Some("morton") | None, Some(_)) => {
            return Err("plas_quality: needs \"order\": \"plas\" on the same line".into());
        }
        (Some(other), _) => {
            return Err(format!("order: unknown `{other}`, expected morton or plas"));
        }
    };
    let quality = match line.quality.as_deref() {
        None => None,
        Some("max") => Some(Quality::Max),
        Some("balanced") => Some(Quality::Balanced),
        Some("small") => Some(Quality::Small),
        Some(other) => {
            return Err(format!(
                "quality: unknown `{other}`, expected max, balanced or small"
            ));
        }
    };
    Ok(Overrides {
        sh_iterations: line.sh_iterations,
        sh_bands: line.sh_bands,
        seed: line.seed,
        order,
        webp_effort: line.webp_effort,
        quality,
    })
}

/// Two scenes writing one output, or an output on the summary or an input, is an error
/// before any work starts.
fn check_outputs(jobs: &[Job], output_dir: &Path) -> Result<()> {
    let summary = output_dir.join(SUMMARY_NAME);
    let mut seen: HashMap<&Path, &Path> = HashMap::new();
    for job in jobs {
        if job.output == summary {
            return Err(Error::output(
                &job.output,
                "is the batch summary's path; name another output",
            ));
        }
        if job.output == job.input {
            return Err(Error::output(
                &job.output,
                "output would overwrite the input",
            ));
        }
        if let Some(first) = seen.insert(&job.output, &job.input) {
            return Err(Error::output(
                &job.output,
                format!(
                    "both {} and {} would be written here; rename one, or list them in a manifest with \"output\"",
                    first.display(),
                    job.input.display()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scene_stems_strip_the_format_suffix() {
        let stem = |s: &str| scene_stem(Path::new(s));
        assert_eq!(stem("a/x.compressed.ply").as_deref(), Some("x"));
        assert_eq!(stem("x.PLY").as_deref(), Some("x"));
        assert_eq!(stem("x.splat").as_deref(), Some("x"));
        assert_eq!(stem("x.sog").as_deref(), Some("x"));
        assert_eq!(stem("meta.json"), None);
        assert_eq!(stem("notes.txt"), None);
        assert_eq!(stem(".ply"), None);
    }

    #[test]
    fn json_lines_are_checked_field_by_field() {
        let line = |json: &str| serde_json::from_str::<ManifestLine>(json);
        assert!(line(r#"{"input": "a.ply", "sead": 1}"#).is_err());
        let parse = |json: &str| overrides(&line(json).unwrap());
        assert!(
            parse(r#"{"input": "a.ply", "sh_bands": 4}"#)
                .unwrap_err()
                .starts_with("sh_bands")
        );
        assert!(
            parse(r#"{"input": "a.ply", "order": "z"}"#)
                .unwrap_err()
                .starts_with("order")
        );
        assert!(parse(r#"{"input": "a.ply", "plas_quality": "best"}"#).is_err());
        let o = parse(r#"{"input": "a.ply", "seed": 9, "order": "plas", "plas_quality": "fast"}"#)
            .unwrap();
        assert_eq!(o.seed, Some(9));
        assert!(matches!(o.order, Some(Order::Plas(p)) if p.quality == PlasQuality::Fast));
        let applied = o.apply(&Options::default());
        assert_eq!((applied.seed, applied.sh_iterations), (9, 10));
    }

    #[test]
    fn a_manifest_line_may_set_the_quality() {
        let parse = |json: &str| overrides(&serde_json::from_str::<ManifestLine>(json).unwrap());
        let o = parse(r#"{"input": "a.ply", "quality": "small"}"#).unwrap();
        assert_eq!(o.quality, Some(Quality::Small));
        assert_eq!(o.apply(&Options::default()).quality, Quality::Small);
        let kept = parse(r#"{"input": "a.ply"}"#).unwrap();
        assert_eq!(kept.apply(&Options::default()).quality, Quality::Max);
        let bad = parse(r#"{"input": "a.ply", "quality": "tiny"}"#).unwrap_err();
        assert!(bad.starts_with("quality"), "{bad}");
    }
}
