//! One case: a seed mutated by a `u64`, written to disk in the reader's form, read through
//! `formats::read` under the guards, and classified.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::containers;
use crate::edits;
use crate::guard;
use crate::mutate::{self, Focus};
use crate::readers::{Form, Reader, Shape};
use crate::rng::Rng;
use crate::seeds::Seed;

/// A mutated input: its files (named as they are written) and how it was made.
#[derive(Debug, Clone)]
pub struct Case {
    /// (file name, bytes); the read path is the first file, or the folder for [`Form::Folder`].
    pub files: Vec<(String, Vec<u8>)>,
    /// The seed and every mutation, one line each.
    pub log: Vec<String>,
}

/// Builds case `case_seed` of `reader` from one of `seeds` (chosen by the seed too).
pub fn make(reader: &Reader, seeds: &[Seed], case_seed: u64) -> Case {
    let mut rng = Rng::new(case_seed);
    let seed = &seeds[pick_seed(&mut rng, seeds)];
    let mut log = vec![
        format!("reader {}", reader.name),
        format!("seed {} ({} bytes)", seed.name, seed.bytes()),
        format!("case seed {case_seed:#018x}"),
    ];
    let mut files = seed.files.clone();
    // Names as the form wants them: the meta first under its form's name.
    match reader.form {
        Form::File(name) => files[0].0 = name.to_string(),
        Form::Folder => files[0].0 = "meta.json".into(),
        Form::MetaFile(name) => files[0].0 = name.to_string(),
    }
    let main = &mut files[0].1;
    match reader.shape {
        Shape::Ply | Shape::PlyAscii => {
            let ascii = reader.shape == Shape::PlyAscii;
            let done = match rng.below(10) {
                0..=3 => edits::ply_header(&mut rng, main, &mut log),
                4 | 5 if ascii => edits::ply_ascii_token(&mut rng, main, &mut log),
                _ => false,
            };
            if !done || rng.chance(1, 4) {
                let focus = Focus {
                    hot: edits::ply_header_len(main).unwrap_or(512),
                    points: edits::ply_points(main),
                };
                mutate::havoc(&mut rng, main, &focus, &mut log);
            }
        }
        Shape::Records(size) => {
            let len = main.len();
            let focus = Focus {
                hot: size * 4,
                points: vec![
                    len.saturating_sub(size),
                    len.saturating_sub(1),
                    size,
                    size - 1,
                    size + 1,
                ],
            };
            mutate::havoc(&mut rng, main, &focus, &mut log);
        }
        Shape::Zip => {
            let done = match rng.below(10) {
                0..=2 => containers::zip_field(&mut rng, main, &mut log),
                3..=6 => containers::zip_repack(&mut rng, main, &mut log),
                _ => false,
            };
            if !done || rng.chance(1, 8) {
                let points = containers::zip_fields(main)
                    .into_iter()
                    .map(|f| f.0)
                    .collect();
                mutate::havoc(&mut rng, main, &Focus { hot: 0, points }, &mut log);
            }
        }
        Shape::Glb => {
            let done = rng.chance(2, 3) && containers::glb(&mut rng, main, &mut log);
            if !done || rng.chance(1, 8) {
                let points = containers::glb_fields(main)
                    .into_iter()
                    .map(|f| f.0)
                    .collect();
                mutate::havoc(&mut rng, main, &Focus { hot: 64, points }, &mut log);
            }
        }
        Shape::Streams => {
            let done = rng.chance(2, 3) && containers::stream(&mut rng, main, &mut log);
            if !done || rng.chance(1, 8) {
                let fields: Vec<(usize, &str)> = (0..16).map(|i| (i * 4, "header word")).collect();
                if rng.chance(1, 2) {
                    mutate::huge_field(&mut rng, main, &fields, &mut log);
                } else {
                    let focus = Focus {
                        hot: 64,
                        points: (0..16).map(|i| i * 4).collect(),
                    };
                    mutate::havoc(&mut rng, main, &focus, &mut log);
                }
            }
        }
        Shape::SogFiles => sog_files(&mut rng, &mut files, &mut log),
        Shape::LodFiles => lod_files(&mut rng, &mut files, &mut log),
    }
    Case { files, log }
}

/// Seeds over 1 MiB (real captures) take most of the time per case (a playbot SOG ~250 ms, a
/// small seed ~1 ms): they get a tenth of the cases between them, the small ones the rest.
fn pick_seed(rng: &mut Rng, seeds: &[Seed]) -> usize {
    let small: Vec<usize> = (0..seeds.len())
        .filter(|&i| seeds[i].bytes() <= 1 << 20)
        .collect();
    if small.is_empty() || small.len() == seeds.len() || rng.chance(1, 10) {
        let large: Vec<usize> = (0..seeds.len()).filter(|i| !small.contains(i)).collect();
        if large.is_empty() {
            return rng.below(seeds.len());
        }
        return *rng.pick(&large);
    }
    *rng.pick(&small)
}

/// SOG folder forms: mostly meta.json edits, else a texture's bytes, or a texture removed.
fn sog_files(rng: &mut Rng, files: &mut Vec<(String, Vec<u8>)>, log: &mut Vec<String>) {
    let textures = files.len() - 1;
    match rng.below(20) {
        0..=12 => {
            if !edits::json(rng, &mut files[0].1, log) {
                mutate::havoc(rng, &mut files[0].1, &Focus::default(), log);
            }
        }
        13 | 14 => mutate::havoc(rng, &mut files[0].1, &Focus::default(), log),
        19 if textures > 0 => {
            let (name, _) = files.remove(1 + rng.below(textures));
            log.push(format!("removed texture `{name}`"));
        }
        _ if textures > 0 => {
            let i = 1 + rng.below(textures);
            // RIFF size, VP8L size, and the 14-bit width/height fields.
            let focus = Focus {
                hot: 40,
                points: vec![4, 16, 20, 21, 22, 23, 24],
            };
            let mut sub = Vec::new();
            mutate::havoc(rng, &mut files[i].1, &focus, &mut sub);
            let name = files[i].0.clone();
            log.extend(sub.into_iter().map(|m| format!("texture `{name}`: {m}")));
        }
        _ => mutate::havoc(rng, &mut files[0].1, &Focus::default(), log),
    }
}

/// Streamed SOG forms: mostly manifest edits (any field, or the tree's shape), else a chunk
/// bundle's ZIP fields or bytes, or a chunk removed.
fn lod_files(rng: &mut Rng, files: &mut Vec<(String, Vec<u8>)>, log: &mut Vec<String>) {
    let chunks = files.len() - 1;
    match rng.below(20) {
        0..=9 => {
            if !edits::json(rng, &mut files[0].1, log) {
                mutate::havoc(rng, &mut files[0].1, &Focus::default(), log);
            }
        }
        10..=13 => {
            if !edits::lod_tree(rng, &mut files[0].1, log) {
                mutate::havoc(rng, &mut files[0].1, &Focus::default(), log);
            }
        }
        14 => mutate::havoc(rng, &mut files[0].1, &Focus::default(), log),
        19 if chunks > 0 => {
            let (name, _) = files.remove(1 + rng.below(chunks));
            log.push(format!("removed chunk `{name}`"));
        }
        _ if chunks > 0 => {
            let i = 1 + rng.below(chunks);
            let name = files[i].0.clone();
            let mut sub = Vec::new();
            let data = &mut files[i].1;
            if !(rng.chance(1, 2) && containers::zip_field(rng, data, &mut sub)) {
                let points = containers::zip_fields(data)
                    .into_iter()
                    .map(|f| f.0)
                    .collect();
                mutate::havoc(rng, data, &Focus { hot: 0, points }, &mut sub);
            }
            log.extend(sub.into_iter().map(|m| format!("chunk `{name}`: {m}")));
        }
        _ => mutate::havoc(rng, &mut files[0].1, &Focus::default(), log),
    }
}

/// Writes `case` into `dir` (emptied first) and returns the path to read.
pub fn write(reader: &Reader, case: &Case, dir: &Path) -> std::io::Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in &case.files {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(match reader.form {
        Form::Folder => dir.to_path_buf(),
        _ => dir.join(&case.files[0].0),
    })
}

/// How a read ended (hangs and over-allocation end the process instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A scene with consistent columns.
    Ok,
    /// An error; `named` is whether its message names the file (or folder) read.
    Err { message: String, named: bool },
    /// The reader panicked: message and `file:line`.
    Panic { message: String, location: String },
    /// The reader returned a scene whose columns disagree in length.
    BadScene(String),
}

/// What the panic hook saw last: (message, location).
static LAST_PANIC: Mutex<Option<(String, String)>> = Mutex::new(None);

/// Replaces the panic hook with one that records the message quietly (a worker prints none).
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(non-string panic payload)".into());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some((message, location));
        }
    }));
}

/// Reads `path` with `formats::read` under the guards: at most `cap` bytes allocated above
/// the current level and `limit` of time (either ends the process). Returns the outcome,
/// the peak bytes and the time taken.
pub fn read(path: &Path, cap: usize, limit: Duration) -> (Outcome, usize, Duration) {
    let start = Instant::now();
    guard::arm_timer(limit);
    guard::arm_alloc(cap);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| splatpress::formats::read(path)));
    let peak = guard::disarm_alloc();
    guard::disarm_timer();
    let took = start.elapsed();
    let outcome = match result {
        Ok(Ok(scene)) => match scene.check_columns() {
            Ok(()) => Outcome::Ok,
            Err(m) => Outcome::BadScene(m),
        },
        Ok(Err(e)) => {
            let message = e.to_string();
            // The file itself, or (SOG folder forms, whose errors may name a texture) its folder.
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let folder = path.parent().unwrap_or(path).to_string_lossy();
            let named = message.contains(name.as_ref()) || message.contains(folder.as_ref());
            Outcome::Err { message, named }
        }
        Err(_) => {
            let (message, location) = LAST_PANIC
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .unwrap_or_default();
            Outcome::Panic { message, location }
        }
    };
    (outcome, peak, took)
}

/// The time limit of a case of `input_bytes`: `base` plus a second per 4 MiB of input, so a
/// large input read at a sane speed is not taken for a hang.
pub fn limit_for(input_bytes: usize, base: Duration) -> Duration {
    base + Duration::from_secs_f64(input_bytes as f64 / f64::from(4u32 << 20))
}

/// The allocation cap of a case of `input_bytes`: `base_mib` MiB plus 32 bytes per input byte.
/// A reader may hold its input, the scene (about 60 bytes a splat; every format but SOG spends
/// at least 8 bytes of input on a splat, and SOG's textures hold 4 bytes a texel) and decoding
/// buffers; more than this for one case is an allocation the input does not justify.
pub fn cap_for(input_bytes: usize, base_mib: usize) -> usize {
    (base_mib << 20).saturating_add(input_bytes.saturating_mul(32))
}
