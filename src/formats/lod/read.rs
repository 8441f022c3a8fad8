//! Reading a streamed SOG: the manifest, then each chunk SOG it names once, then the leaves'
//! ranges of the selected levels gathered in tree order.

use std::collections::BTreeMap;
use std::path::Path;

use super::manifest::{Manifest, Range};
use crate::formats::sog;
use crate::scene::Model;
use crate::{Error, Result, Scene};

/// Largest manifest read: a tree of a billion-splat scene is a few MiB, and the parsed JSON
/// takes up to about 20 times its text (the fuzzer's widest trees), so this bounds the memory
/// a manifest can claim before any check.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Reads and checks the manifest at `path` (nothing else).
pub fn manifest(path: &Path) -> Result<Manifest> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if size > MAX_MANIFEST_BYTES {
        return Err(Error::parse(
            path,
            "lod-meta.json",
            format!("{size} bytes: more than a manifest ({MAX_MANIFEST_BYTES} bytes at most)"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Manifest::parse(&bytes).map_err(|(field, message)| Error::parse(path, field, message))
}

/// See [`super::read`].
pub fn read(path: &Path, level: Option<u32>) -> Result<Scene> {
    read_with(path, &manifest(path)?, level)
}

/// `read` with the manifest at `path` already read and checked.
pub fn read_with(path: &Path, manifest: &Manifest, level: Option<u32>) -> Result<Scene> {
    let levels: Vec<u32> = match level {
        Some(n) if n >= manifest.levels() => {
            return Err(Error::parse(
                path,
                "lodLevels",
                format!(
                    "level {n} asked for, but the manifest has {} (0 to {})",
                    manifest.levels(),
                    manifest.levels() - 1
                ),
            ));
        }
        Some(n) => vec![n],
        None => (0..manifest.levels()).collect(),
    };
    // Every chunk must be there, read or not: a container with a hole is broken at any level.
    let dir = path.parent().unwrap_or(Path::new("."));
    for (file, name) in manifest.filenames.iter().enumerate() {
        let chunk = dir.join(name);
        if !chunk.exists() {
            return Err(Error::parse(
                path,
                format!("filenames[{file}]"),
                format!("chunk `{name}` is missing ({})", chunk.display()),
            ));
        }
    }
    // The ranges read, in output order: levels ascending, leaves in tree order.
    let mut wanted: Vec<(String, u32, Range)> = Vec::new();
    for &l in &levels {
        for leaf in &manifest.leaves {
            for &(at, range) in &leaf.lods {
                if at == l && range.count > 0 {
                    wanted.push((leaf.field.clone(), at, range));
                }
            }
        }
    }
    // Each chunk read once, in file order; its ranges cut out as it is read (the manifest
    // check made the ranges of a chunk disjoint, so the pieces never outgrow the chunks).
    let mut by_file: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, (_, _, range)) in wanted.iter().enumerate() {
        by_file.entry(range.file).or_default().push(i);
    }
    let mut pieces: Vec<Option<Scene>> = vec![None; wanted.len()];
    let mut first: Option<(Model, Option<serde_json::Value>)> = None;
    for (file, uses) in by_file {
        let name = &manifest.filenames[file];
        let chunk = read_chunk(path, &dir.join(name), file, name)?;
        if first.is_none() {
            first = Some((chunk.model, chunk.extras.clone()));
        }
        for i in uses {
            let (field, at, range) = &wanted[i];
            let end = range.offset + range.count;
            if end > chunk.len() as u64 {
                return Err(Error::parse(
                    path,
                    format!("{field}.lods.{at}"),
                    format!(
                        "offset {} + count {} = {end} is past the {} splats of filenames[{file}] (`{name}`)",
                        range.offset,
                        range.count,
                        chunk.len()
                    ),
                ));
            }
            let indices: Vec<u32> = (range.offset as u32..end as u32).collect();
            pieces[i] = Some(chunk.select(&indices));
        }
    }
    let pieces: Vec<Scene> = pieces.into_iter().flatten().collect();
    let bands = pieces.iter().map(|p| p.sh_bands).min().unwrap_or(0);
    let total = pieces.iter().map(Scene::len).sum();
    let (chunk_model, chunk_extras) = first.unwrap_or_default();
    let model = match &manifest.model {
        Some(name) => Model::from_sog_name(Some(name)),
        None => chunk_model,
    };
    let mut scene = Scene::with_capacity(total, bands, model);
    for mut piece in pieces {
        piece.truncate_bands(bands);
        scene.positions.append(&mut piece.positions);
        scene.rotations.append(&mut piece.rotations);
        scene.log_scales.append(&mut piece.log_scales);
        scene.opacities.append(&mut piece.opacities);
        scene.sh_dc.append(&mut piece.sh_dc);
        scene.sh_rest.append(&mut piece.sh_rest);
    }
    scene.extras = manifest.extras.clone().or(chunk_extras);
    scene
        .check_columns()
        .map_err(|m| Error::parse(path, "lod-meta.json", m))?;
    Ok(scene)
}

/// Reads and decodes chunk `filenames[file]`; errors name the manifest field and the file.
fn read_chunk(manifest: &Path, chunk: &Path, file: usize, name: &str) -> Result<Scene> {
    let field = format!("filenames[{file}]");
    let sog = sog::read(chunk)
        .map_err(|e| Error::parse(manifest, &field, format!("chunk `{name}`: {e}")))?;
    sog::decode::decode(&sog)
        .map_err(|m| Error::parse(manifest, &field, format!("chunk `{name}`: SOG: {m}")))
}
