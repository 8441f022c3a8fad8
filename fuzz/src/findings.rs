//! Saving a finding: the case's files under `<out>/findings/<reader>/<kind>-<sig>-<hash>`, and
//! a `.txt` beside them with the outcome and how the case was made (enough to replay it).

use std::path::{Path, PathBuf};

use crate::readers::{Form, Reader};
use crate::rng::fnv1a;

/// At most this many inputs are kept per reader, kind and signature.
const KEEP_PER_SIGNATURE: usize = 3;

/// Saves a finding unless enough of its signature are kept already; returns the saved path
/// (the file to replay, or the folder for folder forms).
pub fn save(
    out: &Path,
    reader: &Reader,
    kind: &str,
    signature: &str,
    files: &[(String, Vec<u8>)],
    description: &str,
) -> Option<PathBuf> {
    let dir = out.join("findings").join(reader.name);
    std::fs::create_dir_all(&dir).ok()?;
    let sig = format!("{:08x}", fnv1a([signature.as_bytes()]) as u32);
    let prefix = format!("{kind}-{sig}-");
    let kept = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(&prefix) && n.ends_with(".txt")
                })
                .count()
        })
        .unwrap_or(0);
    if kept >= KEEP_PER_SIGNATURE {
        return None;
    }
    let hash = fnv1a(files.iter().map(|(_, b)| b.as_slice()));
    let stem = format!("{prefix}{:08x}", hash as u32);
    let saved = match reader.form {
        Form::File(name) => {
            let ext = name.split_once('.').map_or("bin", |(_, e)| e);
            let path = dir.join(format!("{stem}.{ext}"));
            std::fs::write(&path, &files.first()?.1).ok()?;
            path
        }
        Form::Folder | Form::MetaFile(_) => {
            let folder = dir.join(&stem);
            std::fs::create_dir_all(&folder).ok()?;
            for (name, bytes) in files {
                std::fs::write(folder.join(name), bytes).ok()?;
            }
            match reader.form {
                Form::MetaFile(name) => folder.join(name),
                _ => folder,
            }
        }
    };
    let text = format!(
        "{kind}: {signature}\nreplay: splatpress-fuzz --replay {}\n\n{description}\n",
        saved.display()
    );
    std::fs::write(dir.join(format!("{stem}.txt")), text).ok()?;
    Some(saved)
}

/// Reads the files of a case folder (as the worker left them), meta or single file first.
pub fn read_case_dir(dir: &Path, first: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let bytes = std::fs::read(e.path()).ok()?;
                    Some((e.file_name().to_string_lossy().into_owned(), bytes))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by_key(|(n, _)| (n != first, n.clone()));
    files
}
