//! Reading and writing SOG on disk, as a `.sog` bundle or as a folder (meta.json + WebPs).
//!
//! The output form follows the name, as splat-transform does: `*.sog` → one ZIP bundle;
//! `*.json` → that meta file with the textures beside it; anything else → a directory that
//! receives `meta.json` and the textures. Writes are atomic: every file goes to a temporary
//! name first and is renamed into place only when all are written (meta.json last).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::webp;
use super::{Image, Meta, Sog, bundle};
use crate::formats::atomic;
use crate::{Error, Result};

/// The meta file's name inside a bundle or a SOG directory.
pub const META_NAME: &str = "meta.json";

/// What was written: each file's name and size in bytes (meta.json last), and the total.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct WriteReport {
    /// (file name, bytes) in write order; inside a bundle these are the entry sizes.
    pub files: Vec<(String, u64)>,
    /// Sum of `files` (a bundle adds ZIP headers on top of this).
    pub total_bytes: u64,
}

/// The three on-disk forms, chosen from the name.
enum Form {
    /// `x.sog`: one ZIP.
    Bundle,
    /// `dir/name.json`: meta under that name, textures in `dir`.
    MetaFile { dir: PathBuf, meta_name: String },
    /// A directory holding `meta.json` and the textures.
    Directory,
}

fn form_of(path: &Path) -> Form {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_lowercase();
    if lower.ends_with(".sog") {
        Form::Bundle
    } else if lower.ends_with(".json") {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Form::MetaFile {
            dir,
            meta_name: name,
        }
    } else {
        Form::Directory
    }
}

/// Writes `sog` to `path`: a bundle when the name ends in `.sog`, else a folder form
/// (`…/meta.json`, or a directory that receives `meta.json`). Atomic: nothing partial is left.
pub fn write(path: &Path, sog: &Sog, webp_effort: u8) -> Result<WriteReport> {
    let names = sog.meta.files();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty()
            || name.contains(['/', '\\'])
            || *name == "."
            || *name == ".."
            || name.eq_ignore_ascii_case(META_NAME)
        {
            return Err(Error::output(
                path,
                format!("texture name `{name}` must be a plain file name other than meta.json"),
            ));
        }
        if names[..i].contains(name) {
            return Err(Error::output(
                path,
                format!("texture name `{name}` is used twice"),
            ));
        }
    }
    let images: Vec<(&str, &Image)> = names
        .iter()
        .map(|name| {
            sog.image(name).map(|img| (*name, img)).ok_or_else(|| {
                Error::output(
                    path,
                    format!("meta names `{name}` but the SOG has no such image"),
                )
            })
        })
        .collect::<Result<_>>()?;
    // Encode everything before touching the disk.
    let encoded: Vec<(String, Vec<u8>)> = images
        .par_iter()
        .map(|(name, img)| {
            webp::encode(img, webp_effort)
                .map(|bytes| (name.to_string(), bytes))
                .map_err(|e| Error::output(path, format!("encoding `{name}`: {e}")))
        })
        .collect::<Result<_>>()?;
    let meta_json = serde_json::to_vec(&sog.meta)
        .map_err(|e| Error::output(path, format!("serialising meta.json: {e}")))?;

    let (meta_name, dir, may_create) = match form_of(path) {
        Form::Bundle => {
            let mut entries: Vec<(&str, &[u8])> = encoded
                .iter()
                .map(|(n, b)| (n.as_str(), b.as_slice()))
                .collect();
            entries.push((META_NAME, &meta_json));
            atomic::write_file(path, |w| {
                bundle::write_zip(w, &entries).map_err(|e| Error::io(path, e))
            })?;
            return Ok(report(&encoded, META_NAME, &meta_json));
        }
        Form::MetaFile { dir, meta_name } => (meta_name, dir, false),
        Form::Directory => (META_NAME.to_string(), path.to_path_buf(), true),
    };
    // Only the directory form creates its folder (like a bundle, a meta file's folder must exist).
    let created_dir = may_create && !dir.exists();
    if created_dir {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    let mut files: Vec<(&str, &[u8])> = encoded
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    files.push((&meta_name, &meta_json));
    let result = write_folder(&dir, &files);
    if result.is_err() && created_dir {
        let _ = std::fs::remove_dir(&dir); // only succeeds when empty, which is what we want
    }
    result?;
    Ok(report(&encoded, &meta_name, &meta_json))
}

fn report(encoded: &[(String, Vec<u8>)], meta_name: &str, meta: &[u8]) -> WriteReport {
    let mut files: Vec<(String, u64)> = encoded
        .iter()
        .map(|(n, b)| (n.clone(), b.len() as u64))
        .collect();
    files.push((meta_name.to_string(), meta.len() as u64));
    let total_bytes = files.iter().map(|(_, s)| s).sum();
    WriteReport { files, total_bytes }
}

/// Writes every file to a temporary name, then renames them all into place in order (the
/// meta last). On failure the temporaries are removed, and so is any file the renames had
/// already created that did not exist before.
fn write_folder(dir: &Path, files: &[(&str, &[u8])]) -> Result<()> {
    let targets: Vec<PathBuf> = files.iter().map(|(n, _)| dir.join(n)).collect();
    for t in &targets {
        if t.is_dir() {
            return Err(Error::output(
                t,
                "a directory is in the way of this output file",
            ));
        }
    }
    let temps: Vec<PathBuf> = targets.iter().map(|t| atomic::temp_path(t)).collect();
    let existed: Vec<bool> = targets.iter().map(|t| t.exists()).collect();
    let mut renamed = 0;
    let result = (|| {
        for ((_, bytes), tmp) in files.iter().zip(&temps) {
            std::fs::write(tmp, bytes).map_err(|e| Error::io(tmp, e))?;
        }
        for (tmp, target) in temps.iter().zip(&targets) {
            std::fs::rename(tmp, target).map_err(|e| Error::io(target, e))?;
            renamed += 1;
        }
        Ok(())
    })();
    if result.is_err() {
        for tmp in &temps[renamed..] {
            let _ = std::fs::remove_file(tmp);
        }
        for (target, existed) in targets[..renamed].iter().zip(&existed) {
            if !existed {
                let _ = std::fs::remove_file(target);
            }
        }
    }
    result
}

/// Reads a `.sog` bundle, a `meta.json` (textures beside it) or a folder holding `meta.json`.
pub fn read(path: &Path) -> Result<Sog> {
    if path.is_dir() {
        return read_folder(&path.join(META_NAME));
    }
    match form_of(path) {
        Form::Bundle => read_bundle(path),
        _ => read_folder(path),
    }
}

fn read_bundle(path: &Path) -> Result<Sog> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut entries = bundle::read_zip(&bytes).map_err(|m| Error::parse(path, "ZIP", m))?;
    let meta_at = entries
        .iter()
        .position(|(n, _)| n == META_NAME)
        .ok_or_else(|| Error::parse(path, "ZIP", "the bundle has no `meta.json` entry"))?;
    let meta = parse_meta(&entries[meta_at].1, path, "meta.json")?;
    let names: Vec<String> = meta.files().into_iter().map(String::from).collect();
    let mut blobs = Vec::with_capacity(names.len());
    for name in &names {
        let at = entries.iter().position(|(n, _)| n == name).ok_or_else(|| {
            Error::parse(
                path,
                "meta.json",
                format!("meta.json names `{name}` but the bundle has no such entry"),
            )
        })?;
        blobs.push(std::mem::take(&mut entries[at].1));
    }
    let images = decode_all(&names, &blobs, |name, message| {
        Error::parse(path, format!("entry `{name}`"), message)
    })?;
    finish(path, meta, names, images)
}

fn read_folder(meta_path: &Path) -> Result<Sog> {
    let bytes = std::fs::read(meta_path).map_err(|e| Error::io(meta_path, e))?;
    let meta = parse_meta(&bytes, meta_path, "JSON")?;
    let dir = meta_path.parent().unwrap_or(Path::new("."));
    let names: Vec<String> = meta.files().into_iter().map(String::from).collect();
    let mut blobs = Vec::with_capacity(names.len());
    for name in &names {
        let file = dir.join(name);
        if Path::new(name).is_absolute() || name.split(['/', '\\']).any(|c| c == "..") {
            return Err(Error::parse(
                meta_path,
                "meta.json",
                format!("texture name `{name}` leaves the SOG folder"),
            ));
        }
        let data = std::fs::read(&file).map_err(|e| {
            Error::parse(
                meta_path,
                "meta.json",
                format!(
                    "names `{name}`, which cannot be read ({}): {e}",
                    file.display()
                ),
            )
        })?;
        blobs.push(data);
    }
    let images = decode_all(&names, &blobs, |name, message| {
        Error::parse(dir.join(name), "WebP", message)
    })?;
    finish(meta_path, meta, names, images)
}

/// Decodes the WebPs in parallel; `error` turns (file name, decoder message) into the error.
fn decode_all(
    names: &[String],
    blobs: &[Vec<u8>],
    error: impl Fn(&str, String) -> Error + Sync,
) -> Result<Vec<Image>> {
    names
        .par_iter()
        .zip(blobs.par_iter())
        .map(|(name, blob)| webp::decode(blob).map_err(|m| error(name, m)))
        .collect()
}

/// Parses meta.json: v2 only, with serde's line/column on syntax errors.
fn parse_meta(bytes: &[u8], path: &Path, context: &str) -> Result<Meta> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::parse(path, context, format!("invalid JSON: {e}")))?;
    let Some(obj) = value.as_object() else {
        return Err(Error::parse(
            path,
            context,
            "meta.json must be a JSON object",
        ));
    };
    match obj.get("version") {
        None => {
            return Err(Error::parse(
                path,
                context,
                "SOG v1 (a meta.json without `version`) is not supported as input; \
                 convert it to v2 first (e.g. with splat-transform)",
            ));
        }
        Some(v) if v.as_u64() != Some(2) => {
            return Err(Error::parse(
                path,
                "meta.json key `version`",
                format!("version {v} is not supported; expected 2"),
            ));
        }
        Some(_) => {}
    }
    // Parse the bytes again (not the Value) so schema errors carry serde's line and column.
    let meta = serde_json::from_slice::<Meta>(bytes)
        .map_err(|e| Error::parse(path, context, format!("not a SOG v2 meta: {e}")))?;
    check_file_counts(&meta).map_err(|m| Error::parse(path, context, m))?;
    Ok(meta)
}

/// Rejects `files` arrays longer than SOG v2 defines (means 2, scales 1, quats 1, sh0 1, shN 2)
/// before any is read: every name is read into memory, so a meta naming one texture 100,000
/// times would otherwise take 100,000 copies of it. Shorter arrays are reported by `decode`.
fn check_file_counts(meta: &Meta) -> std::result::Result<(), String> {
    let mut lists = vec![
        ("means", &meta.means.files, 2),
        ("scales", &meta.scales.files, 1),
        ("quats", &meta.quats.files, 1),
        ("sh0", &meta.sh0.files, 1),
    ];
    if let Some(sh) = &meta.sh_n {
        lists.push(("shN", &sh.files, 2));
    }
    for (key, files, most) in lists {
        if files.len() > most {
            return Err(format!(
                "key `{key}.files` lists {} files; SOG v2 has {most}",
                files.len()
            ));
        }
    }
    Ok(())
}

/// Pairs the images with their names and checks that per-splat textures agree in size.
fn finish(path: &Path, meta: Meta, names: Vec<String>, images: Vec<Image>) -> Result<Sog> {
    let sog = Sog {
        images: names.into_iter().zip(images).collect(),
        meta,
    };
    let mut per_splat: Vec<&String> = vec![
        &sog.meta.means.files[0..sog.meta.means.files.len().min(2)],
        &sog.meta.quats.files[..sog.meta.quats.files.len().min(1)],
        &sog.meta.scales.files[..sog.meta.scales.files.len().min(1)],
        &sog.meta.sh0.files[..sog.meta.sh0.files.len().min(1)],
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(sh) = &sog.meta.sh_n {
        per_splat.extend(sh.files.get(1));
    }
    if let Some(first) = per_splat.first() {
        let base = sog
            .image(first)
            .map(|i| (i.width, i.height))
            .unwrap_or_default();
        for name in &per_splat[1..] {
            let size = sog
                .image(name)
                .map(|i| (i.width, i.height))
                .unwrap_or_default();
            if size != base {
                return Err(Error::parse(
                    path,
                    format!("texture `{name}`"),
                    format!(
                        "is {}x{} but `{first}` is {}x{}; per-splat textures must have one size",
                        size.0, size.1, base.0, base.1
                    ),
                ));
            }
        }
        if (base.0 as u64) * (base.1 as u64) < u64::from(sog.meta.count) {
            return Err(Error::parse(
                path,
                "meta.json key `count`",
                format!(
                    "count {} exceeds the {}x{} textures' {} texels",
                    sog.meta.count,
                    base.0,
                    base.1,
                    base.0 as u64 * base.1 as u64
                ),
            ));
        }
    }
    Ok(sog)
}
