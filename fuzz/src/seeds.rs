//! Seeds: small files generated through the library's writers (or written here, for the
//! formats splatpress only reads), and the shared real captures when they are present.
//!
//! Generated seeds live in `<out>/seeds/<reader>/<seed>/<files>`; the driver writes them once
//! and every worker loads them. Shared files are read in place and never copied.

use std::path::{Path, PathBuf};

use splatpress::formats::sog::bundle;
use splatpress::formats::{self, WriteOptions};
use splatpress::{BackendChoice, Input, Options, Scene};

use crate::readers::{Form, Reader};

/// A seed: its name and its files (one for single-file forms; meta + textures for SOG forms).
#[derive(Debug, Clone)]
pub struct Seed {
    /// Where it came from (a generated seed's folder name, or a shared path).
    pub name: String,
    /// (file name, bytes); for SOG forms the `.json` file is the meta.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Seed {
    /// Total bytes of its files.
    pub fn bytes(&self) -> usize {
        self.files.iter().map(|(_, b)| b.len()).sum()
    }
}

fn put(dir: &Path, seed: &str, file: &str, bytes: &[u8]) -> Result<(), String> {
    let d = dir.join(seed);
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    std::fs::write(d.join(file), bytes).map_err(|e| format!("{}: {e}", d.join(file).display()))
}

fn sample(n: usize, bands: u8, seed: u64) -> Scene {
    splatpress::sample::scene(n, bands, seed)
}

/// Binary PLYs: the library's writer (three sizes and band counts), big-endian, doubles, and a
/// `face` element before `vertex`.
pub fn ply_binary(dir: &Path) -> Result<usize, String> {
    let tmp = dir.join("tmp.ply");
    for (i, (n, bands)) in [(40, 0u8), (17, 3), (1, 1)].into_iter().enumerate() {
        formats::write_scene(&tmp, &sample(n, bands, i as u64), &WriteOptions::default())
            .map_err(|e| e.to_string())?;
        let bytes = std::fs::read(&tmp).map_err(|e| e.to_string())?;
        put(dir, &format!("writer-{n}-sh{bands}"), "x.ply", &bytes)?;
    }
    let _ = std::fs::remove_file(&tmp);
    let s = sample(12, 1, 7);
    put(
        dir,
        "big-endian",
        "x.ply",
        &ply_text(&s, "binary_big_endian", "float", false),
    )?;
    put(
        dir,
        "double-face",
        "x.ply",
        &ply_text(&s, "binary_little_endian", "double", true),
    )?;
    Ok(5)
}

/// ASCII PLYs (floats, doubles, a `face` element first).
pub fn ply_ascii(dir: &Path) -> Result<usize, String> {
    put(
        dir,
        "ascii-20-sh0",
        "x.ply",
        &ply_text(&sample(20, 0, 1), "ascii", "float", false),
    )?;
    put(
        dir,
        "ascii-5-sh3",
        "x.ply",
        &ply_text(&sample(5, 3, 2), "ascii", "double", false),
    )?;
    put(
        dir,
        "ascii-face",
        "x.ply",
        &ply_text(&sample(3, 1, 3), "ascii", "float", true),
    )?;
    Ok(3)
}

/// A 3DGS PLY written here (independently of the library's writer) in any encoding, every
/// property of type `ty` (`float` or `double`), optionally after a `face` element.
pub fn ply_text(scene: &Scene, format: &str, ty: &str, face: bool) -> Vec<u8> {
    let rest = scene.rest_len();
    let mut names: Vec<String> = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2"]
        .map(String::from)
        .to_vec();
    names.extend((0..rest).map(|j| format!("f_rest_{j}")));
    names.extend(
        [
            "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3",
        ]
        .map(String::from),
    );
    let mut out = format!("ply\nformat {format} 1.0\ncomment written by splatpress-fuzz\n");
    if face {
        out.push_str("element face 2\nproperty list uchar int vertex_indices\n");
    }
    out.push_str(&format!("element vertex {}\n", scene.len()));
    for n in &names {
        out.push_str(&format!("property {ty} {n}\n"));
    }
    out.push_str("end_header\n");
    let mut bytes = out.into_bytes();
    let ascii = format == "ascii";
    let be = format == "binary_big_endian";
    if face {
        for _ in 0..2 {
            if ascii {
                bytes.extend_from_slice(b"3 0 1 2\n");
            } else {
                bytes.push(3);
                for v in [0i32, 1, 2] {
                    bytes.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
                }
            }
        }
    }
    for i in 0..scene.len() {
        let mut row: Vec<f32> = scene.positions[i].to_vec();
        row.extend(scene.sh_dc[i]);
        row.extend_from_slice(scene.rest(i));
        row.push(scene.opacities[i]);
        row.extend(scene.log_scales[i]);
        row.extend(scene.rotations[i]);
        if ascii {
            let text: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            bytes.extend_from_slice(text.join(" ").as_bytes());
            bytes.push(b'\n');
            continue;
        }
        for v in row {
            match (ty, be) {
                ("double", false) => bytes.extend_from_slice(&f64::from(v).to_le_bytes()),
                ("double", true) => bytes.extend_from_slice(&f64::from(v).to_be_bytes()),
                (_, false) => bytes.extend_from_slice(&v.to_le_bytes()),
                (_, true) => bytes.extend_from_slice(&v.to_be_bytes()),
            }
        }
    }
    bytes
}

/// `.splat` files: 32-byte records (position, linear scale, RGBA, rotation bytes).
pub fn splat(dir: &Path) -> Result<usize, String> {
    for (n, seed) in [(50usize, 1u64), (1, 2)] {
        let s = sample(n, 0, seed);
        let mut bytes = Vec::with_capacity(n * 32);
        for i in 0..n {
            for v in s.positions[i].iter().chain(&s.log_scales[i].map(f32::exp)) {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            let unit = |v: f32| (v.clamp(0.0, 1.0) * 255.0) as u8;
            let c = s.sh_dc[i].map(|d| unit(0.5 + 0.282_094_8 * d));
            let a = unit(1.0 / (1.0 + (-s.opacities[i]).exp()));
            bytes.extend_from_slice(&[c[0], c[1], c[2], a]);
            let r = s.rotations[i];
            let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
            bytes.extend(r.map(|v| (v / norm * 128.0 + 128.0).clamp(0.0, 255.0) as u8));
        }
        put(dir, &format!("splat-{n}"), "x.splat", &bytes)?;
    }
    Ok(2)
}

/// PlayCanvas compressed PLYs written per the layout in `formats/compressed_ply.rs`: two chunks,
/// with and without colour ranges, with and without an `sh` element.
pub fn compressed_ply(dir: &Path) -> Result<usize, String> {
    let mut rng = crate::rng::Rng::new(5);
    for (name, n, colour, sh) in [
        ("plain", 300usize, false, false),
        ("colour-sh1", 40, true, true),
    ] {
        let chunks = n.div_ceil(256);
        let mut h = String::from("ply\nformat binary_little_endian 1.0\n");
        h.push_str(&format!("element chunk {chunks}\n"));
        let mut chunk_props = vec!["min_x", "min_y", "min_z", "max_x", "max_y", "max_z"];
        chunk_props.extend([
            "min_scale_x",
            "min_scale_y",
            "min_scale_z",
            "max_scale_x",
            "max_scale_y",
            "max_scale_z",
        ]);
        if colour {
            chunk_props.extend(["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"]);
        }
        for p in &chunk_props {
            h.push_str(&format!("property float {p}\n"));
        }
        h.push_str(&format!("element vertex {n}\n"));
        for p in [
            "packed_position",
            "packed_rotation",
            "packed_scale",
            "packed_color",
        ] {
            h.push_str(&format!("property uint {p}\n"));
        }
        if sh {
            h.push_str(&format!("element sh {n}\n"));
            for j in 0..9 {
                h.push_str(&format!("property uchar f_rest_{j}\n"));
            }
        }
        h.push_str("end_header\n");
        let mut bytes = h.into_bytes();
        for _ in 0..chunks {
            for (k, _) in chunk_props.iter().enumerate() {
                let v: f32 = if k % 6 < 3 {
                    -1.0 - k as f32
                } else {
                    1.0 + k as f32
                };
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        for _ in 0..n * 4 {
            bytes.extend_from_slice(&(rng.next_u64() as u32).to_le_bytes());
        }
        if sh {
            bytes.extend((0..n * 9).map(|_| rng.next_u64() as u8));
        }
        put(dir, name, "x.compressed.ply", &bytes)?;
    }
    Ok(2)
}

/// Compresses a sample scene with the CPU encoder into `out` (form chosen by its name).
fn compress_sample(out: &Path, count: usize, bands: u8) -> Result<(), String> {
    let options = Options {
        backend: BackendChoice::Cpu,
        sh_iterations: 2,
        ..Options::default()
    };
    splatpress::compress_file(&Input::Sample { count, bands }, out, &options, &())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `.sog` bundles from the CPU encoder (SH0 and SH2).
pub fn sog_bundle(dir: &Path) -> Result<usize, String> {
    for (count, bands) in [(100usize, 0u8), (400, 2)] {
        let seed = dir.join(format!("sog-{count}-sh{bands}"));
        std::fs::create_dir_all(&seed).map_err(|e| e.to_string())?;
        compress_sample(&seed.join("x.sog"), count, bands)?;
    }
    Ok(2)
}

/// SOG folders (meta.json + WebPs) from the CPU encoder (SH0 and SH2).
pub fn sog_folder(dir: &Path) -> Result<usize, String> {
    for (count, bands) in [(100usize, 0u8), (400, 2)] {
        compress_sample(&dir.join(format!("sog-{count}-sh{bands}")), count, bands)?;
    }
    Ok(2)
}

/// Streamed SOGs: a lod-meta.json and its chunks as `.sog` bundles beside it (a case folder is
/// flat). Level 0 spans two chunks, level 1 shares one chunk between both leaves.
pub fn lod_meta(dir: &Path) -> Result<usize, String> {
    let seed = dir.join("lod-2-levels");
    std::fs::create_dir_all(&seed).map_err(|e| e.to_string())?;
    for (name, count, bands) in [
        ("0_0.sog", 60usize, 1u8),
        ("0_1.sog", 40, 1),
        ("1_0.sog", 30, 1),
    ] {
        compress_sample(&seed.join(name), count, bands)?;
    }
    let bound = serde_json::json!({"min": [-5, -5, -5], "max": [5, 5, 5]});
    let manifest = serde_json::json!({
        "version": 1,
        "asset": {"generator": "splatpress-fuzz"},
        "count": 130,
        "counts": [100, 30],
        "lodLevels": 2,
        "filenames": ["0_0.sog", "0_1.sog", "1_0.sog"],
        "tree": {"bound": bound, "children": [
            {"bound": bound, "lods": {"0": {"file": 0, "offset": 0, "count": 60}, "1": {"file": 2, "offset": 0, "count": 15}}},
            {"bound": bound, "lods": {"0": {"file": 1, "offset": 0, "count": 40}, "1": {"file": 2, "offset": 15, "count": 15}}},
        ]},
    });
    let bytes = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
    std::fs::write(seed.join("lod-meta.json"), bytes).map_err(|e| e.to_string())?;
    Ok(1)
}

/// Writes scenes through `write_scene` under `file` (the suffix picks the format).
fn through_writer(dir: &Path, file: &str, versions: &[u8]) -> Result<usize, String> {
    let tmp = dir.join(file);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut written = 0;
    for &version in versions {
        for (n, bands) in [(30usize, 0u8), (20, 3)] {
            let options = WriteOptions {
                spz_version: version,
                ..WriteOptions::default()
            };
            formats::write_scene(&tmp, &sample(n, bands, u64::from(version)), &options)
                .map_err(|e| e.to_string())?;
            let bytes = std::fs::read(&tmp).map_err(|e| e.to_string())?;
            put(dir, &format!("v{version}-{n}-sh{bands}"), file, &bytes)?;
            written += 1;
        }
    }
    let _ = std::fs::remove_file(&tmp);
    Ok(written)
}

/// SPZ files through the library's writer (versions 3 and 4), when it is built.
pub fn spz(dir: &Path) -> Result<usize, String> {
    through_writer(dir, "x.spz", &[3, 4])
}

/// `.glb` files through the library's writer, when it is built.
pub fn glb(dir: &Path) -> Result<usize, String> {
    through_writer(dir, "x.glb", &[0])
}

/// The files of a folder, `.json` first, sorted by name.
fn folder_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|p| (!p.to_string_lossy().ends_with(".json"), p.clone()));
    names
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), bytes))
        })
        .collect()
}

/// Turns a seed folder into a seed for `reader`: a single file for file forms (a SOG folder is
/// zipped into a bundle, as the writer would), the files for folder forms.
fn as_seed(reader: &Reader, name: String, dir: &Path) -> Option<Seed> {
    let mut files = folder_files(dir);
    if files.is_empty() {
        return None;
    }
    if matches!(reader.form, Form::File(_)) && files.len() > 1 {
        // A SOG folder: zip it, meta.json last.
        files.rotate_left(1);
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let mut zip = Vec::new();
        bundle::write_zip(&mut zip, &refs).ok()?;
        files = vec![("x.sog".into(), zip)];
    }
    Some(Seed { name, files })
}

/// Every seed of `reader`: generated ones under `seeds_dir/<reader>`, then shared real files
/// under `data_dir` (skipped when absent).
pub fn load(reader: &Reader, seeds_dir: &Path, data_dir: Option<&Path>) -> Vec<Seed> {
    let mut out = Vec::new();
    let mine = seeds_dir.join(reader.name);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&mine)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    for d in dirs {
        let name = format!(
            "generated/{}",
            d.file_name().unwrap_or_default().to_string_lossy()
        );
        out.extend(as_seed(reader, name, &d));
    }
    for rel in reader.shared {
        let Some(path) = data_dir.map(|d| d.join(rel)) else {
            continue;
        };
        if path.is_dir() {
            out.extend(as_seed(reader, format!("shared/{rel}"), &path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            let file = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            out.push(Seed {
                name: format!("shared/{rel}"),
                files: vec![(file, bytes)],
            });
        }
    }
    out
}

/// Generates the seeds of each reader into `seeds_dir/<reader>` (afresh); returns per reader
/// the number written or why there are none.
pub fn generate(
    readers: &[&Reader],
    seeds_dir: &Path,
) -> Vec<(&'static str, Result<usize, String>)> {
    readers
        .iter()
        .map(|r| {
            let dir = seeds_dir.join(r.name);
            let _ = std::fs::remove_dir_all(&dir);
            let made = std::fs::create_dir_all(&dir)
                .map_err(|e| format!("{}: {e}", dir.display()))
                .and_then(|()| (r.generate)(&dir));
            (r.name, made)
        })
        .collect()
}
